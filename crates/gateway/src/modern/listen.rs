//! `subscriptions/listen`: one long-lived stream per request, carrying the
//! notifications the client opted into — tool, prompt and resource list
//! changes, and updates of the resources it names (subscribed at their
//! backends for as long as the stream lives). The acknowledgement comes
//! first; every message carries the listen request's id as
//! `_meta["io.modelcontextprotocol/subscriptionId"]`.

use std::sync::Arc;

use mcp_wire::object::with_member;
use mcp_wire::{raw, Id, Json, Message};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};

use super::META_SUBSCRIPTION;
use crate::gateway::Gateway;
use crate::router;
use crate::session::Session;
use crate::upstream::CallContext;

/// What the client opted into.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Filter {
    tools_list_changed: bool,
    prompts_list_changed: bool,
    resources_list_changed: bool,
    resource_subscriptions: Vec<String>,
}

impl Filter {
    /// The filter of a listen request (`params.notifications`).
    pub fn of(msg: &Message) -> Filter {
        #[derive(Deserialize)]
        struct P {
            #[serde(default)]
            notifications: Filter,
        }
        msg.parse_params::<P>()
            .map(|p| p.notifications)
            .unwrap_or_default()
    }
}

/// Serve one listen request on `out` until the client goes away or the
/// gateway shuts down (then the closing result goes out).
pub async fn run(
    gw: Arc<Gateway>,
    session: Arc<Session>,
    id: Id,
    filter: Filter,
    out: mpsc::Sender<Message>,
    mut closing: watch::Receiver<bool>,
) {
    let (updates_tx, mut updates) = mpsc::channel(256);
    session.attach_stream(updates_tx);
    let mut subscribed = Vec::new();
    for uri in &filter.resource_subscriptions {
        let sub = uri_request("resources/subscribe", uri);
        match router::request(&gw, &session, &sub, &CallContext::default()).await {
            Ok(_) => subscribed.push(uri.clone()),
            Err(e) => tracing::debug!(uri, "listen: cannot subscribe: {e}"),
        }
    }
    let honoured = serde_json::json!({
        "toolsListChanged": filter.tools_list_changed,
        "promptsListChanged": filter.prompts_list_changed,
        "resourcesListChanged": filter.resources_list_changed,
        "resourceSubscriptions": subscribed,
    });
    let tag = raw(&serde_json::json!({ META_SUBSCRIPTION: &id }));
    let ack = raw(&serde_json::json!({ "_meta": &tag, "notifications": honoured }));
    let mut tools = gw.subscribe_tools_changed();
    let mut lists = gw.subscribe_lists_changed();
    tools.mark_unchanged();
    lists.mark_unchanged();
    let mut open = out
        .send(Message::notification(
            "notifications/subscriptions/acknowledged",
            Some(ack),
        ))
        .await
        .is_ok();
    while open {
        let methods: Vec<Message> = tokio::select! {
            _ = out.closed() => break,
            _ = async { closing.wait_for(|c| *c).await.map(|_| ()) } => {
                let done = raw(&serde_json::json!({"resultType": "complete", "_meta": &tag}));
                let _ = out.send(Message::response(id.clone(), done)).await;
                break;
            }
            r = tools.changed() => match r {
                Ok(()) if filter.tools_list_changed => vec![note("notifications/tools/list_changed")],
                Ok(()) => vec![],
                Err(_) => break,
            },
            r = lists.changed() => match r {
                Ok(()) => [
                    (filter.resources_list_changed, "notifications/resources/list_changed"),
                    (filter.prompts_list_changed, "notifications/prompts/list_changed"),
                ]
                .into_iter()
                .filter(|(wanted, _)| *wanted)
                .map(|(_, m)| note(m))
                .collect(),
                Err(_) => break,
            },
            Some(update) = updates.recv() => vec![update],
        };
        for m in methods {
            if out.send(tagged(m, &tag)).await.is_err() {
                open = false;
                break;
            }
        }
    }
    for uri in subscribed {
        let unsub = uri_request("resources/unsubscribe", &uri);
        let _ = router::request(&gw, &session, &unsub, &CallContext::default()).await;
    }
}

fn note(method: &str) -> Message {
    Message::notification(method, None)
}

fn uri_request(method: &str, uri: &str) -> Message {
    let params = raw(&serde_json::json!({ "uri": uri }));
    Message::request(Id::Num(0), method, Some(params))
}

/// `m` with the subscription id in its `params._meta`.
fn tagged(m: Message, tag: &Json) -> Message {
    let params = match m.params.as_ref() {
        None => Some(raw(&serde_json::json!({ "_meta": tag }))),
        Some(p) => {
            #[derive(Deserialize)]
            struct Meta<'a> {
                #[serde(rename = "_meta", borrow)]
                meta: Option<&'a RawValue>,
            }
            let meta = serde_json::from_str::<Meta>(p.get())
                .ok()
                .and_then(|m| m.meta)
                .and_then(|existing| {
                    let id = serde_json::from_str::<serde_json::Value>(tag.get()).ok()?;
                    with_member(existing, META_SUBSCRIPTION, &raw(&id[META_SUBSCRIPTION]))
                })
                .unwrap_or_else(|| tag.to_owned());
            with_member(p, "_meta", &meta)
        }
    };
    Message { params, ..m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_carries_the_subscription_id() {
        let tag = raw(&serde_json::json!({ META_SUBSCRIPTION: 7 }));
        let bare = tagged(note("notifications/tools/list_changed"), &tag);
        assert_eq!(
            bare.params.unwrap().get(),
            r#"{"_meta":{"io.modelcontextprotocol/subscriptionId":7}}"#
        );
        let update = Message::notification(
            "notifications/resources/updated",
            Some(raw(
                &serde_json::json!({"uri": "test://a", "_meta": {"k": 1}}),
            )),
        );
        let v: serde_json::Value =
            serde_json::from_str(tagged(update, &tag).params.unwrap().get()).unwrap();
        assert_eq!(v["uri"], "test://a");
        assert_eq!(v["_meta"]["k"], 1);
        assert_eq!(v["_meta"][META_SUBSCRIPTION], 7);
    }

    #[test]
    fn the_filter_is_opt_in() {
        let m = Message::parse_one(br#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true,"resourceSubscriptions":["test://a"]}}}"#).unwrap();
        let f = Filter::of(&m);
        assert!(f.tools_list_changed && !f.prompts_list_changed);
        assert_eq!(f.resource_subscriptions, ["test://a"]);
    }
}
