//! The 2026-07-28 era: stateless requests that carry their protocol
//! version and the client's capabilities in `_meta`, served beside the
//! session-based era on the same endpoints.
//!
//! - this file: telling the eras apart, and a request's envelope;
//! - [`headers`]: the routing headers, checked against the body;
//! - [`result`]: what results and errors look like to a modern client;
//! - [`state`]: the sealed `requestState` of a multi round-trip request;
//! - [`held`]: backend calls held open while the client answers their
//!   questions (MRTR), and the driver of one round;
//! - [`listen`]: the `subscriptions/listen` streams.
//!
//! The HTTP rules around them (statuses, streams) live in `server/modern.rs`.

pub mod headers;
pub mod held;
pub mod listen;
pub mod result;
pub mod state;

use mcp_wire::{codes, version, ErrorObject, Json, Message, Param};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::mention::Mention;

pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub const META_SUBSCRIPTION: &str = "io.modelcontextprotocol/subscriptionId";
pub const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

/// A request of the stateless era: its `MCP-Protocol-Version` header names
/// a version no handshake uses, or its `_meta` names a protocol version.
/// Anything else (an envelope-less initialize above all) is the session era.
pub fn is_modern(header_version: Option<&str>, msg: &Message) -> bool {
    if header_version.is_some_and(|v| !version::is_supported(v)) {
        return true;
    }
    // Every session-era request passes here: parse only when the key can be
    // there, in `params._meta` as the parse found it (or anywhere in the
    // params when that is not known).
    let text = match msg.param(Param::Meta) {
        Some(None) => return false,
        Some(Some(meta)) => meta.get(),
        None => msg.params.as_ref().map_or("", Json::get),
    };
    static VERSION_KEY: Mention = Mention::new(META_VERSION);
    if !VERSION_KEY.in_text(text) {
        return false;
    }
    #[derive(Deserialize)]
    struct P<'a> {
        #[serde(rename = "_meta", borrow)]
        meta: Option<M<'a>>,
    }
    #[derive(Deserialize)]
    struct M<'a> {
        #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow)]
        version: Option<&'a RawValue>,
    }
    msg.parse_params::<P>()
        .ok()
        .and_then(|p| p.meta)
        .is_some_and(|m| m.version.is_some())
}

/// What every modern request says about itself.
#[derive(Debug)]
pub struct Envelope {
    pub version: String,
    pub capabilities: Json,
    pub log_level: Option<String>,
}

impl Envelope {
    /// The envelope of `msg`, or the -32602 a request without one gets.
    pub fn of(msg: &Message) -> Result<Envelope, ErrorObject> {
        #[derive(Deserialize)]
        struct P {
            #[serde(rename = "_meta")]
            meta: Option<M>,
        }
        #[derive(Deserialize)]
        struct M {
            #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
            version: Option<String>,
            #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
            capabilities: Option<Json>,
            #[serde(rename = "io.modelcontextprotocol/logLevel")]
            log_level: Option<String>,
        }
        let missing = |what: &str| {
            ErrorObject::new(
                codes::INVALID_PARAMS,
                format!(
                    "params._meta[\"{what}\"] is required on every request of protocol version {}",
                    version::MODERN
                ),
            )
        };
        let meta = msg
            .parse_params::<P>()
            .map_err(|e| ErrorObject::new(codes::INVALID_PARAMS, format!("params: {e}")))?
            .meta
            .ok_or_else(|| missing(META_VERSION))?;
        let version = meta.version.ok_or_else(|| missing(META_VERSION))?;
        let capabilities = meta
            .capabilities
            .filter(|c| c.get().trim_start().starts_with('{'))
            .ok_or_else(|| missing(META_CAPABILITIES))?;
        if let Some(level) = &meta.log_level {
            if log_rank(level).is_none() {
                return Err(ErrorObject::new(
                    codes::INVALID_PARAMS,
                    format!("unknown log level {level:?}"),
                ));
            }
        }
        Ok(Envelope {
            version,
            capabilities,
            log_level: meta.log_level,
        })
    }

    /// -32022 unless the version is one this gateway serves statelessly.
    pub fn check_version(&self) -> Result<(), ErrorObject> {
        if self.version == version::MODERN {
            return Ok(());
        }
        Err(ErrorObject::new(
            codes::UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version {:?}", self.version),
        )
        .with_data(&serde_json::json!({
            "supported": version::DISCOVERABLE,
            "requested": self.version,
        })))
    }

    /// Whether a log message at `level` may go to this client.
    pub fn wants_log(&self, level: &str) -> bool {
        let wanted = self.log_level.as_deref().and_then(log_rank);
        matches!((wanted, log_rank(level)), (Some(w), Some(l)) if l >= w)
    }
}

/// The severity order of MCP log levels.
fn log_rank(level: &str) -> Option<u8> {
    let levels = [
        "debug",
        "info",
        "notice",
        "warning",
        "error",
        "critical",
        "alert",
        "emergency",
    ];
    levels.iter().position(|l| *l == level).map(|p| p as u8)
}

/// Methods a modern client may call; the rest (initialize, ping,
/// logging/setLevel, resources/subscribe, …) do not exist in this era.
pub fn serves(method: &str) -> bool {
    matches!(
        method,
        "server/discover"
            | "subscriptions/listen"
            | "tools/list"
            | "tools/call"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "prompts/list"
            | "prompts/get"
            | "completion/complete"
    )
}

/// Session-era capabilities as a modern client reads them: tasks (an
/// extension with other methods in this era) are not offered.
pub fn capabilities(mut legacy: serde_json::Value) -> serde_json::Value {
    if let Some(caps) = legacy.as_object_mut() {
        caps.remove("tasks");
    }
    legacy
}

/// Methods whose result may be `input_required` (multi round-trip).
pub fn may_ask(method: &str) -> bool {
    matches!(method, "tools/call" | "prompts/get" | "resources/read")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Message {
        Message::parse_one(s.as_bytes()).unwrap()
    }

    const MODERN_CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},"io.modelcontextprotocol/logLevel":"warning"}}}"#;

    #[test]
    fn the_header_or_the_envelope_makes_a_request_modern() {
        let legacy = msg(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#,
        );
        assert!(!is_modern(None, &legacy));
        assert!(!is_modern(Some("2025-11-25"), &legacy));
        assert!(
            is_modern(Some("2026-07-28"), &legacy),
            "modern header, no envelope"
        );
        assert!(is_modern(None, &msg(MODERN_CALL)));
    }

    #[test]
    fn the_envelope_is_read_and_checked() {
        let e = Envelope::of(&msg(MODERN_CALL)).unwrap();
        assert_eq!(e.version, "2026-07-28");
        assert!(e.check_version().is_ok());
        assert!(e.wants_log("error") && e.wants_log("warning") && !e.wants_log("info"));
        let bare = msg(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#);
        assert_eq!(Envelope::of(&bare).unwrap_err().code, codes::INVALID_PARAMS);
        let no_caps = msg(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        );
        assert!(Envelope::of(&no_caps)
            .unwrap_err()
            .message
            .contains("clientCapabilities"));
        let old = msg(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"v999","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
        );
        let err = Envelope::of(&old).unwrap().check_version().unwrap_err();
        assert_eq!(err.code, codes::UNSUPPORTED_PROTOCOL_VERSION);
        assert!(err.to_raw().get().contains(r#""requested":"v999""#));
        let quiet = msg(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
        );
        assert!(
            !Envelope::of(&quiet).unwrap().wants_log("emergency"),
            "no level, no logs"
        );
    }

    #[test]
    fn removed_methods_are_not_served() {
        for m in [
            "initialize",
            "ping",
            "logging/setLevel",
            "resources/subscribe",
            "tasks/list",
        ] {
            assert!(!serves(m), "{m}");
        }
        assert!(serves("server/discover") && may_ask("prompts/get") && !may_ask("tools/list"));
    }
}
