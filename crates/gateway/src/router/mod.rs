//! Method dispatch: every client request lands here after the front has
//! checked the transport rules and found the session.
//!
//! - [`meta`]: the four meta-tools (meta mode on `/mcp`).
//! - [`direct`]: backend tools exposed directly (`meta_mcp.enabled: false`),
//!   and `/mcp/{backend}`, which forwards everything to one backend.

mod direct;
mod error;
mod lists;
mod meta;
mod tasks;

use std::sync::Arc;

use futures_util::FutureExt;
use mcp_wire::{raw, version, Json, Kind, Message, Params};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

pub use error::GatewayError;
pub use meta::meta_tools;

use crate::gateway::Gateway;
use crate::session::{Scope, Session};
use crate::upstream::{Backend, CallContext, Related};

pub type Outcome = Result<Json, GatewayError>;

/// What `initialize` settled.
pub struct Initialized {
    pub result: Json,
    pub version: &'static str,
    pub client_capabilities: Option<Json>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitParams {
    #[serde(default)]
    protocol_version: Option<String>,
    #[serde(default)]
    capabilities: Option<Json>,
}

/// What `/mcp` offers: tools (meta or prefixed), and the backends'
/// resources, prompts and completions merged.
fn merged_capabilities() -> serde_json::Value {
    json!({
        "tools": {"listChanged": true},
        "resources": {"listChanged": true, "subscribe": true},
        "prompts": {"listChanged": true},
        "completions": {},
        "logging": {},
        "tasks": {"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}},
    })
}

/// What `scope` offers: its capabilities and instructions (a backend's
/// own on `/mcp/{backend}`, starting it if lazy).
pub async fn describe(gw: &Gateway, scope: &Scope) -> (serde_json::Value, Option<String>) {
    match scope {
        Scope::Meta => (merged_capabilities(), Some(meta::INSTRUCTIONS.to_owned())),
        Scope::Direct => (merged_capabilities(), None),
        Scope::Backend(name) => {
            #[derive(Deserialize)]
            struct Init {
                capabilities: serde_json::Value,
                instructions: Option<String>,
            }
            match direct::initialize_backend(gw, name, version::LATEST).await {
                Ok(r) => serde_json::from_str::<Init>(r.get())
                    .map(|i| (i.capabilities, i.instructions))
                    .unwrap_or_else(|_| (json!({}), None)),
                Err(e) => {
                    tracing::warn!(backend = %name, "describing the backend failed: {e}");
                    (json!({}), None)
                }
            }
        }
    }
}

/// Answer `initialize` for a new session on `scope`.
pub async fn initialize(
    gw: &Gateway,
    scope: &Scope,
    msg: &Message,
) -> Result<Initialized, GatewayError> {
    let p: InitParams = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let version = version::negotiate(p.protocol_version.as_deref());
    let server_info = json!({"name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION")});
    let result = match scope {
        Scope::Meta => raw(&json!({
            "protocolVersion": version,
            "capabilities": merged_capabilities(),
            "serverInfo": server_info,
            "instructions": meta::INSTRUCTIONS,
        })),
        Scope::Direct => raw(&json!({
            "protocolVersion": version,
            "capabilities": merged_capabilities(),
            "serverInfo": server_info,
        })),
        Scope::Backend(name) => direct::initialize_backend(gw, name, version).await?,
    };
    Ok(Initialized {
        result,
        version,
        client_capabilities: p.capabilities,
    })
}

/// Handle one request of an initialised session.
pub async fn request(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: &Message,
    ctx: &CallContext,
) -> Outcome {
    match (&session.scope, msg.method()) {
        (_, "ping") => Ok(raw(&json!({}))),
        (Scope::Backend(name), m @ ("resources/subscribe" | "resources/unsubscribe")) => {
            let uri = msg
                .parse_params::<UriParam>()
                .map_err(|e| GatewayError::InvalidParams(e.to_string()))?
                .uri;
            lists::subscription(gw, session, name, m, msg.params.clone(), &uri, &uri, ctx).await
        }
        (Scope::Backend(name), _) => direct::forward(gw, session, name, msg, ctx).await,
        (Scope::Meta, "tools/list") => Ok(meta::list(gw)),
        (Scope::Meta, "tools/call") => meta::call(gw, session, msg, ctx).await,
        (Scope::Direct, "tools/list") => Ok(direct::list_all(gw)),
        (Scope::Direct, "tools/call") => direct::call_prefixed(gw, session, msg, ctx).await,
        (_, m @ ("resources/list" | "resources/templates/list" | "prompts/list")) => {
            lists::list(&gw.catalog(), msg, m)
        }
        (_, "resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
            lists::by_uri(gw, session, msg, ctx).await
        }
        (_, "prompts/get") => lists::prompt(gw, msg, ctx).await,
        (_, "completion/complete") => lists::complete(gw, msg, ctx).await,
        (_, "logging/setLevel") => set_level(gw, msg).await,
        (_, "tasks/get" | "tasks/result" | "tasks/cancel") => {
            tasks::route(gw, session, msg, ctx).await
        }
        (_, "tasks/list") => tasks::list(gw, session, ctx).await,
        (_, "initialize") => Err(GatewayError::InvalidParams(
            "the session is already initialised".into(),
        )),
        (_, m) => Err(GatewayError::MethodNotFound(m.to_owned())),
    }
}

#[derive(Deserialize)]
struct UriParam {
    uri: String,
}

/// logging/setLevel on `/mcp`: passed to every ready backend that offers
/// logging; their log messages about a call then reach its client.
async fn set_level(gw: &Gateway, msg: &Message) -> Outcome {
    let cat = gw.catalog();
    let with_logging = cat.entries.iter().filter(|e| {
        e.is_ready()
            && e.status
                .init
                .as_ref()
                .is_some_and(|i| i.capabilities.get().contains("\"logging\""))
    });
    let sends = with_logging
        .filter_map(|e| gw.backend(&e.name))
        .map(|b| async move {
            if let Err(e) = b.request("logging/setLevel", msg.params.as_ref()).await {
                tracing::warn!(backend = %b.name(), "logging/setLevel failed: {e}");
            }
        });
    futures_util::future::join_all(sends).await;
    Ok(raw(&json!({})))
}

/// Handle a client notification (no answer is ever sent).
pub async fn notification(gw: &Gateway, session: &Session, msg: &Message) {
    match (&session.scope, msg.method()) {
        (_, "notifications/initialized") => {}
        // The call's own future sends the backend a cancel under its upstream id.
        (_, "notifications/cancelled") => {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Cancelled {
                request_id: mcp_wire::Id,
                #[serde(default)]
                reason: Option<String>,
            }
            if let Ok(c) = msg.parse_params::<Cancelled>() {
                let reason = c.reason.unwrap_or_else(|| "cancelled by the client".into());
                if !session.cancel(&c.request_id, reason) {
                    tracing::debug!(session = %session.id, id = %c.request_id, "cancel for no call in flight");
                }
            }
        }
        // The backends may then ask for the roots (see Gateway::ask_one_client).
        (scope, m @ "notifications/roots/list_changed") => {
            let cat = gw.catalog();
            let ready = cat
                .entries
                .iter()
                .filter(|e| e.is_ready() && scope.covers(&e.name))
                .filter_map(|e| gw.backend(&e.name));
            futures_util::future::join_all(ready.map(|b| {
                let params = msg.params.clone();
                async move { b.notify(m, params).await }
            }))
            .await;
        }
        (_, m) => tracing::debug!(method = m, "client notification ignored"),
    }
}

/// The params of a `tools/call`, borrowed from the request: what the
/// gateway reads, and what it passes on raw (`_meta`, a `task` to run the
/// call as). Serialised, it is the backend's params.
#[derive(Deserialize, serde::Serialize)]
pub(crate) struct ToolCall<'a> {
    #[serde(borrow)]
    pub name: std::borrow::Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<&'a RawValue>,
    #[serde(
        borrow,
        default,
        rename = "_meta",
        skip_serializing_if = "Option::is_none"
    )]
    pub meta: Option<&'a RawValue>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub task: Option<&'a RawValue>,
}

/// A backend's answer as an outcome: its result, or its own error object
/// (forwarded verbatim).
pub fn answer_of(answer: Message) -> Outcome {
    match (answer.result, answer.error) {
        (Some(r), _) => Ok(r),
        (None, Some(e)) => Err(GatewayError::Backend(e)),
        (None, None) => Err(GatewayError::Internal("empty backend answer".into())),
    }
}

/// tools/call on a backend for a client, `params` ready for the backend.
/// A task the call creates (`task`: the client asked for one) is
/// remembered with its backend and session (see [`tasks`]).
pub(crate) async fn call_tool(
    gw: &Gateway,
    session: &Arc<Session>,
    backend: &Backend,
    params: Params<'_>,
    task: bool,
    repeatable: bool,
    ctx: &CallContext,
) -> Outcome {
    let ctx = &CallContext {
        repeatable,
        ..ctx.clone()
    };
    let answer = backend
        .request_with("tools/call", Some(params), ctx)
        .await?;
    let result = answer_of(answer)?;
    if task {
        tasks::remember(gw, session, backend.name(), &result);
    }
    Ok(result)
}

/// A client's tools/call of backend tool `tool` of `backend`, which the
/// client knows under another name: the client's params renamed; a failed
/// call is sent again only when the tool says that is safe.
pub(crate) async fn call_listed(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: &Message,
    call: &ToolCall<'_>,
    backend: &str,
    tool: &crate::catalog::Tool,
    ctx: &CallContext,
) -> Outcome {
    let b = gw
        .backend(backend)
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown tool: {}", call.name)))?;
    let params = renamed(msg, call, &tool.name);
    let repeatable = tool.read_only || tool.idempotent;
    call_tool(
        gw,
        session,
        &b,
        Params::Raw(&params),
        call.task.is_some(),
        repeatable,
        ctx,
    )
    .await
}

/// The client's own tools/call params with the tool under its backend
/// name: every other member (arguments, `_meta`, `task`, extensions)
/// stays as the client sent it.
pub(crate) fn renamed(msg: &Message, call: &ToolCall<'_>, tool: &str) -> Json {
    msg.params
        .as_ref()
        .and_then(|p| mcp_wire::object::with_member(p, "name", &raw(&tool)))
        .unwrap_or_else(|| {
            raw(&ToolCall {
                name: tool.into(),
                ..*call
            })
        })
}

/// The text of a tool result: `{"content":[{"type":"text","text":…}], …}`.
pub fn text_result(text: &str, structured: Option<&serde_json::Value>, is_error: bool) -> Json {
    let mut v = json!({"content": [{"type": "text", "text": text}]});
    if let Some(s) = structured {
        v["structuredContent"] = s.clone();
    }
    if is_error {
        v["isError"] = json!(true);
    }
    raw(&v)
}

/// Handle one message of an initialised session: the response for a
/// request (under the client's own id), nothing for anything else. Messages
/// a backend sends about the call (progress, logs, sampling, elicitation,
/// roots) go to `out`, the call's own stream, all of them before the answer;
/// without one they are dropped and the backend's requests get an error.
pub async fn handle(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    out: Option<mpsc::Sender<Message>>,
) -> Option<Message> {
    // The relay runs inside this task, next to the call: no task spawned
    // per call (most calls never send anything related).
    let (sink, relayed) = match out.filter(|_| msg.kind() == Kind::Request) {
        Some(out) => {
            let (sink, related) = session.relay_channel();
            (Some(sink), Some(relay(session, out, None, related)))
        }
        None => (None, None),
    };
    // One call future on every path (two would each get their own room in
    // this future's state, doubling its size).
    let mut call = std::pin::pin!(respond(gw, session, msg, sink));
    let Some(relayed) = relayed else {
        return call.await;
    };
    let mut relayed = std::pin::pin!(relayed);
    let answer = tokio::select! {
        biased;
        answer = &mut call => answer,
        // Not while the call holds its sink; never polled again if it did.
        () = &mut relayed => return call.await,
    };
    // Mostly done already (the call's sink is gone): a timer only when it is not.
    if relayed.as_mut().now_or_never().is_none() {
        let _ = tokio::time::timeout(RELAY_GRACE, relayed).await;
    }
    answer
}

/// How long the messages a backend sent about a call may take to reach the
/// client after the call ended, before its answer goes out without them.
pub const RELAY_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// [`handle`] for a caller that relays the messages about the call itself:
/// they go to `sink`, to be passed to [`relay`]. The call's sink is dropped
/// when the call ends.
pub async fn respond(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    sink: Option<mpsc::Sender<Related>>,
) -> Option<Message> {
    match msg.kind() {
        Kind::Request => {
            let id = msg.id.clone()?;
            if msg.method() != "ping" {
                if let Err(wait) = session.admit(&gw.config().client_rate_limit) {
                    return Some(GatewayError::ClientRateLimited(wait).into_message(id));
                }
            }
            let ctx = CallContext {
                sink,
                cancelled: Some(session.begin_call(&id)),
                owner: session.key(),
                ..CallContext::default()
            };
            let outcome = request(gw, session, &msg, &ctx).await;
            drop(ctx);
            session.end_call(&id);
            Some(match outcome {
                Ok(result) => Message::response(id, result),
                Err(e) => e.into_message(id),
            })
        }
        Kind::Notification => {
            notification(gw, session, &msg).await;
            None
        }
        Kind::Response | Kind::Error => {
            if !session.answer(msg) {
                tracing::debug!(session = %session.id, "answer to no request of ours; dropped");
            }
            None
        }
    }
}

/// How long a client gets to answer a sampling/elicitation/roots request.
pub const CLIENT_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Carry a call's related backend messages to the client (`first`, then
/// the rest): notifications as they are, requests under a gateway id with
/// the answer routed back (see [`Session::ask_on`]). Ends when every sender
/// of the call's sink is dropped; the answer waits for it so nothing trails it.
pub async fn relay(
    session: &Arc<Session>,
    out: mpsc::Sender<Message>,
    first: Option<Related>,
    mut rx: mpsc::Receiver<Related>,
) {
    if let Some(related) = first {
        relay_one(session, &out, related).await;
    }
    while let Some(related) = rx.recv().await {
        relay_one(session, &out, related).await;
    }
}

async fn relay_one(session: &Arc<Session>, out: &mpsc::Sender<Message>, related: Related) {
    match related {
        Related::Notification(m) => {
            let _ = out.send(*m).await;
        }
        Related::Request { msg, reply } => match session.ask_on(out, *msg).await {
            Err(refused) => {
                let _ = reply.send(refused);
            }
            Ok((id, answer)) => {
                let session = session.clone();
                tokio::spawn(async move {
                    let answer = session.answer_of(id, answer, CLIENT_ANSWER_TIMEOUT);
                    let _ = reply.send(answer.await);
                });
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_calls_keep_every_member_of_the_clients_params() {
        let msg = Message::parse_one(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x__echo","arguments":{"a":[1,2.50,null],"b":"\u00e9"},"_meta":{"progressToken":"t"},"x-ext":1}}"#,
        )
        .unwrap();
        let call: ToolCall = msg.parse_params().unwrap();
        let got = renamed(&msg, &call, "echo");
        assert_eq!(
            got.get(),
            r#"{"name":"echo","arguments":{"a":[1,2.50,null],"b":"\u00e9"},"_meta":{"progressToken":"t"},"x-ext":1}"#
        );
        // gateway_invoke builds the backend's params from parts, raw ones verbatim.
        let args = serde_json::value::RawValue::from_string(r#"{"a":[1,2.50]}"#.into()).unwrap();
        let built = raw(&ToolCall {
            name: r#"say "hi"\"#.into(),
            arguments: Some(&args),
            meta: None,
            task: None,
        });
        assert_eq!(
            built.get(),
            r#"{"name":"say \"hi\"\\","arguments":{"a":[1,2.50]}}"#
        );
    }
}
