//! Lossless MCP framing.
//!
//! The only place the gateway's wire types live. A JSON-RPC message is parsed
//! down to its envelope — `id`, `method` — while `params`, `result` and
//! `error` stay as the text they were sent as ([`Json`], checked once as the
//! message is read), so anything the gateway does not need to understand
//! (unknown fields, `_meta`, new content types) is forwarded byte-for-byte.
//!
//! - [`message`]: the envelope, parsing (single and batch), serialisation.
//! - [`chunks`]: a message written as parts, its large values shared, for a vectored write.
//! - [`error`]: JSON-RPC / MCP error codes and the error object.
//! - [`json`]: JSON text checked once and owned ([`Json`]), and the checker.
//! - [`object`]: a raw object's members, read without a parse or edited one by one.
//! - [`params`]: a request's params as they go upstream, as sent or composed from checked parts.
//! - [`sse`]: an incremental `text/event-stream` decoder and an encoder.
//! - [`version`]: the protocol versions and how to negotiate them.
#![forbid(unsafe_code)]

pub mod chunks;
pub mod error;
pub mod json;
pub mod message;
pub mod object;
pub mod params;
pub mod sse;
#[cfg(test)]
mod testing;
pub mod version;

pub use chunks::Chunks;
pub use error::{codes, ErrorObject};
pub use json::{Json, SyntaxError};
pub use message::{
    raw, Id, Input, Kind, Message, Outgoing, Param, ParamsIndex, ParseError, Parsed,
};
pub use object::Valid;
pub use params::{Call, Params};
