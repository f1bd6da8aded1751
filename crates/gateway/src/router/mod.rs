//! Method dispatch: every client request lands here after the front has
//! checked the transport rules and found the session.
//!
//! - [`meta`]: the four meta-tools (meta mode on `/mcp`).
//! - [`direct`]: backend tools exposed directly (`meta_mcp.enabled: false`),
//!   and `/mcp/{backend}`, which forwards everything to one backend.

mod direct;
mod error;
mod meta;

use mcp_wire::{raw, version, Kind, Message};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

pub use error::GatewayError;
pub use meta::meta_tools;

use crate::gateway::Gateway;
use crate::session::{Scope, Session};

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
            "capabilities": {"tools": {"listChanged": true}},
            "serverInfo": server_info,
            "instructions": meta::INSTRUCTIONS,
        })),
        Scope::Direct => raw(&json!({
            "protocolVersion": version,
            "capabilities": {"tools": {"listChanged": true}},
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
pub async fn request(gw: &Gateway, session: &Session, msg: &Message) -> Outcome {
    match (&session.scope, msg.method()) {
        (_, "ping") => Ok(raw(&json!({}))),
        (Scope::Backend(name), _) => direct::forward(gw, name, msg).await,
        (Scope::Meta, "tools/list") => Ok(meta::list(gw)),
        (Scope::Meta, "tools/call") => meta::call(gw, msg).await,
        (Scope::Direct, "tools/list") => Ok(direct::list_all(gw)),
        (Scope::Direct, "tools/call") => direct::call_prefixed(gw, msg).await,
        (_, "initialize") => Err(GatewayError::InvalidParams(
            "the session is already initialised".into(),
        )),
        (_, m) => Err(GatewayError::MethodNotFound(m.to_owned())),
    }
}

/// Handle a client notification (no answer is ever sent).
pub async fn notification(gw: &Gateway, session: &Session, msg: &Message) {
    match (&session.scope, msg.method()) {
        (_, "notifications/initialized") => {}
        // Forwarding cancellations needs the id map of the protocol-fidelity work.
        (Scope::Backend(name), m @ "notifications/roots/list_changed") => {
            if let Some(b) = gw.backend(name) {
                let _ = b.notify(m, msg.params.clone()).await;
            }
        }
        (_, m) => tracing::debug!(method = m, "client notification ignored"),
    }
}

/// `tools/call` params for a backend: its own tool name, the caller's
/// arguments and `_meta` passed through raw.
pub fn call_params(
    tool: &str,
    arguments: Option<&RawValue>,
    meta: Option<&RawValue>,
) -> Box<RawValue> {
    #[derive(serde::Serialize)]
    struct Params<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<&'a RawValue>,
        #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
        meta: Option<&'a RawValue>,
    }
    raw(&Params {
        name: tool,
        arguments,
        meta,
    })
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
/// request (under the client's own id), nothing for anything else.
pub async fn handle(gw: &Gateway, session: &Session, msg: Message) -> Option<Message> {
    match msg.kind() {
        Kind::Request => {
            let id = msg.id.clone()?;
            Some(match request(gw, session, &msg).await {
                Ok(result) => Message::response(id, result),
                Err(e) => e.into_message(id),
            })
        }
        Kind::Notification => {
            notification(gw, session, &msg).await;
            None
        }
        // Answers to server-to-client requests: nothing is sent to clients yet.
        Kind::Response | Kind::Error => None,
    }
}
