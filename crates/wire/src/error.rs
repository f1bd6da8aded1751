//! JSON-RPC and MCP error codes, and the `error` member of a response.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Error codes used on the wire. Numbers come from JSON-RPC 2.0 and the MCP spec.
pub mod codes {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    /// Transport / connection closed (SDK convention); the gateway uses it for
    /// "backend unavailable".
    pub const CONNECTION_CLOSED: i64 = -32000;
    /// Request timeout (SDK convention).
    pub const REQUEST_TIMEOUT: i64 = -32001;
    /// The request was cancelled by its sender (as in LSP; answered only
    /// where a transport needs some answer, e.g. an open HTTP POST).
    pub const REQUEST_CANCELLED: i64 = -32800;
    /// MCP: resource not found (2025-11-25).
    pub const RESOURCE_NOT_FOUND: i64 = -32002;
    /// 2026-07-28: routing headers missing, malformed or not matching the body.
    pub const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: the request needs a client capability it did not declare.
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: i64 = -32021;
    /// 2026-07-28: the protocol version in the request is not served.
    pub const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// The `error` member of a JSON-RPC response. `data` stays raw so a backend's
/// error details pass through untouched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorObject {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

impl ErrorObject {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        ErrorObject {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attach structured data (serialised once, here).
    pub fn with_data(mut self, data: &impl Serialize) -> Self {
        self.data = serde_json::value::to_raw_value(data).ok();
        self
    }

    pub fn to_raw(&self) -> crate::Json {
        // An ErrorObject always serialises: it holds a number, a string and raw JSON.
        crate::Json::to(self).expect("ErrorObject serialises")
    }
}
