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

use std::sync::Arc;

use mcp_wire::{codes, raw, version, ErrorObject, Kind, Message};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

pub use error::GatewayError;
pub use meta::meta_tools;

use crate::gateway::Gateway;
use crate::session::{Scope, Session};
use crate::upstream::{CallContext, Related};

pub type Outcome = Result<Box<RawValue>, GatewayError>;

/// What `initialize` settled.
pub struct Initialized {
    pub result: Box<RawValue>,
    pub version: &'static str,
    pub client_capabilities: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitParams {
    #[serde(default)]
    protocol_version: Option<String>,
    #[serde(default)]
    capabilities: Option<Box<RawValue>>,
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
    })
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
        (Scope::Backend(name), _) => direct::forward(gw, name, msg, ctx).await,
        (Scope::Meta, "tools/list") => Ok(meta::list(gw)),
        (Scope::Meta, "tools/call") => meta::call(gw, msg, ctx).await,
        (Scope::Direct, "tools/list") => Ok(direct::list_all(gw)),
        (Scope::Direct, "tools/call") => direct::call_prefixed(gw, msg, ctx).await,
        (_, m @ ("resources/list" | "resources/templates/list" | "prompts/list")) => {
            lists::list(&gw.catalog(), msg, m)
        }
        (_, "resources/read" | "resources/subscribe" | "resources/unsubscribe") => {
            lists::by_uri(gw, session, msg, ctx).await
        }
        (_, "prompts/get") => lists::prompt(gw, msg, ctx).await,
        (_, "completion/complete") => lists::complete(gw, msg, ctx).await,
        (_, "logging/setLevel") => set_level(gw, msg).await,
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
    let sends = with_logging.filter_map(|e| gw.backend(&e.name)).map(|b| {
        let params = msg.params.clone();
        async move {
            if let Err(e) = b.request("logging/setLevel", params).await {
                tracing::warn!(backend = %b.name(), "logging/setLevel failed: {e}");
            }
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
        (Scope::Backend(name), m @ "notifications/roots/list_changed") => {
            if let Some(b) = gw.backend(name) {
                let _ = b.notify(m, msg.params.clone()).await;
            }
        }
        (_, m) => tracing::debug!(method = m, "client notification ignored"),
    }
}

/// The params of a `tools/call`, borrowed from the request.
#[derive(Deserialize)]
pub(crate) struct CallParams<'a> {
    name: String,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "_meta")]
    meta: Option<&'a RawValue>,
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

/// `tools/call` params for a backend: its own tool name, the caller's
/// arguments and `_meta` passed through raw.
pub fn call_params(
    tool: &str,
    arguments: Option<&RawValue>,
    meta: Option<&RawValue>,
) -> Box<RawValue> {
    // Written out directly: one allocation of the right size, the raw parts copied once.
    let raw_len = |r: Option<&RawValue>| r.map_or(0, |r| r.get().len());
    let mut out = String::with_capacity(48 + tool.len() + raw_len(arguments) + raw_len(meta));
    out.push_str(r#"{"name":"#);
    out.push_str(&serde_json::to_string(tool).expect("strings serialise"));
    if let Some(a) = arguments {
        out.push_str(r#","arguments":"#);
        out.push_str(a.get());
    }
    if let Some(m) = meta {
        out.push_str(r#","_meta":"#);
        out.push_str(m.get());
    }
    out.push('}');
    RawValue::from_string(out).expect("built from valid JSON")
}

/// The text of a tool result: `{"content":[{"type":"text","text":…}], …}`.
pub fn text_result(
    text: &str,
    structured: Option<&serde_json::Value>,
    is_error: bool,
) -> Box<RawValue> {
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
/// roots) go to `out`, the call's own stream; without one they are dropped
/// and the backend's requests get an error.
pub async fn handle(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: Message,
    out: Option<mpsc::Sender<Message>>,
) -> Option<Message> {
    match msg.kind() {
        Kind::Request => {
            let id = msg.id.clone()?;
            if msg.method() != "ping" {
                if let Err(wait) = session.admit(&gw.config().client_rate_limit) {
                    return Some(GatewayError::ClientRateLimited(wait).into_message(id));
                }
            }
            let cancelled = Some(session.begin_call(&id));
            let outcome = match out {
                None => {
                    let ctx = CallContext {
                        sink: None,
                        cancelled,
                        repeatable: false,
                    };
                    let outcome = request(gw, session, &msg, &ctx).await;
                    session.end_call(&id);
                    outcome
                }
                // The relay runs inside this task, next to the call: no task
                // spawned per call (most calls never send anything related).
                Some(out) => {
                    let (sink, related) = mpsc::channel::<Related>(64);
                    let ctx = CallContext {
                        sink: Some(sink),
                        cancelled,
                        repeatable: false,
                    };
                    // The context (and its sink) is dropped when the call ends.
                    let call = async move { request(gw, session, &msg, &ctx).await };
                    let mut call = std::pin::pin!(call);
                    let mut relayed = std::pin::pin!(relay(session, out, related));
                    let outcome = tokio::select! {
                        biased;
                        outcome = &mut call => outcome,
                        () = &mut relayed => call.await,
                    };
                    session.end_call(&id);
                    // Everything the backend sent about the call goes out before its answer.
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), relayed).await;
                    outcome
                }
            };
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
const CLIENT_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Carry a call's related backend messages to the client: notifications as
/// they are, requests under a gateway id with the answer routed back. A
/// request needing a capability the client did not declare is refused
/// here, so the backend gets a clear error. Ends when every sender of the
/// call's sink is dropped; `handle` waits for it so nothing trails the answer.
async fn relay(
    session: &Arc<Session>,
    out: mpsc::Sender<Message>,
    mut rx: mpsc::Receiver<Related>,
) {
    while let Some(related) = rx.recv().await {
        match related {
            Related::Notification(m) => {
                let _ = out.send(m).await;
            }
            Related::Request { msg, reply } => {
                let needs = match msg.method() {
                    "sampling/createMessage" => Some("sampling"),
                    "elicitation/create" => Some("elicitation"),
                    "roots/list" => Some("roots"),
                    _ => None,
                };
                if let Some(cap) = needs.filter(|c| !session.declared(c)) {
                    let e = ErrorObject::new(codes::METHOD_NOT_FOUND, format!("the client did not declare the {cap} capability, so mcp-gateway cannot forward {}", msg.method()));
                    let _ = reply.send(Err(e.to_raw()));
                    continue;
                }
                let (id, answer) = session.ask();
                if out
                    .send(Message {
                        id: Some(id.clone()),
                        ..msg
                    })
                    .await
                    .is_err()
                {
                    session.forget_ask(&id);
                    let _ = reply.send(Err(ErrorObject::new(
                        codes::INTERNAL_ERROR,
                        "the client's stream is closed",
                    )
                    .to_raw()));
                    continue;
                }
                let session = session.clone();
                tokio::spawn(async move {
                    let result = match tokio::time::timeout(CLIENT_ANSWER_TIMEOUT, answer).await {
                        Ok(Ok(a)) => match (a.result, a.error) {
                            (Some(r), _) => Ok(r),
                            (None, Some(e)) => Err(e),
                            (None, None) => Err(ErrorObject::new(
                                codes::INTERNAL_ERROR,
                                "empty answer from the client",
                            )
                            .to_raw()),
                        },
                        _ => {
                            session.forget_ask(&id);
                            Err(ErrorObject::new(
                                codes::REQUEST_TIMEOUT,
                                "the client did not answer",
                            )
                            .to_raw())
                        }
                    };
                    let _ = reply.send(result);
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_params_carry_name_arguments_and_meta_verbatim() {
        let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
        let args = raw(r#"{"a":[1,2.50,null],"b":"\u00e9"}"#);
        let meta = raw(r#"{"progressToken":"t"}"#);
        let check = |tool: &str, a: Option<&RawValue>, m: Option<&RawValue>, want: &str| {
            let got = call_params(tool, a, m);
            assert_eq!(got.get(), want);
            serde_json::from_str::<serde_json::Value>(got.get()).unwrap();
        };
        check(
            "echo",
            Some(&args),
            Some(&meta),
            r#"{"name":"echo","arguments":{"a":[1,2.50,null],"b":"\u00e9"},"_meta":{"progressToken":"t"}}"#,
        );
        check(r#"say "hi"\"#, None, None, r#"{"name":"say \"hi\"\\"}"#);
    }
}
