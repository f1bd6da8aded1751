//! Backends: one actor per configured MCP server.
//!
//! A [`Backend`] owns its connection ([`Connection`] = a [`Peer`] for ids and
//! waiters plus a transport link), its lifecycle state, and its cached tool
//! list. The actor connects, initialises, lists tools, then serves events
//! until the link dies, when it marks itself failed, fails calls in flight at
//! once, and reconnects with capped exponential backoff. One backend's
//! trouble never touches another's task.

mod backend;
mod cancel;
mod connection;
pub mod era;
pub mod failsafe;
mod http;
mod peer;
mod pool;
mod sse;
mod stdio;

/// Newline-delimited reading with a hard cap, shared with the stdio front.
pub(crate) use stdio::{BoundedLines, Line};
mod ws;

use std::sync::Arc;
use std::time::Duration;

use mcp_wire::{Json, Message};
use tokio::sync::oneshot;

pub use backend::{Backend, State, Status};
pub use cancel::Cancel;

/// How a backend reaches the rest of the gateway.
#[derive(Clone)]
pub struct Hooks {
    /// After every change of status or tools (the catalog rebuilds).
    pub changed: Arc<dyn Fn() + Send + Sync>,
    /// Backend notifications that belong to no call and that the backend
    /// does not handle itself (resources/updated, tasks/status, ...).
    pub notified: Arc<dyn Fn(Message) + Send + Sync>,
    /// Backend requests that belong to no call: the answer of the one
    /// client that can give it, or None when no single client can.
    #[allow(clippy::type_complexity)]
    pub asked: Arc<dyn Fn(Message) -> Option<oneshot::Receiver<Reply>> + Send + Sync>,
}

/// A client's answer to a backend's request: its result, or an error object.
pub type Reply = Result<Json, Json>;
pub use connection::{Connection, InitInfo};
pub use peer::{CallContext, Peer, Related, Sink};

/// Knobs every link gets.
#[derive(Debug, Clone)]
pub struct LinkOptions {
    /// Largest message accepted from a backend.
    pub max_message_size: usize,
    /// Deadline for connecting and initialising.
    pub connect_timeout: Duration,
}

impl UpstreamError {
    /// Whether this outcome says the backend is unhealthy (for the breaker).
    /// A JSON-RPC error answer is not a failure: the backend is alive.
    pub fn is_backend_failure(&self) -> bool {
        match self {
            UpstreamError::Http { status, .. } => *status >= 500,
            UpstreamError::Cancelled
            | UpstreamError::RateLimited { .. }
            | UpstreamError::CircuitOpen { .. } => false,
            _ => true,
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    #[error("backend {backend} could not start: {reason}")]
    Start { backend: String, reason: String },
    #[error("backend {backend} is not available: {reason}")]
    Unavailable { backend: String, reason: String },
    #[error("backend {backend} connection lost: {reason}")]
    Closed { backend: String, reason: String },
    #[error("backend {backend} did not answer within {}", humantime::format_duration(*after))]
    Timeout { backend: String, after: Duration },
    #[error("could not send to backend: {0}")]
    Send(String),
    #[error("backend answered HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("the client cancelled the request")]
    Cancelled,
    #[error("backend {backend} is rate limited (failsafe.rate_limit); retry after {} ms", retry_after.as_millis())]
    RateLimited {
        backend: String,
        retry_after: Duration,
    },
    #[error("backend {backend} is overloaded: {in_flight} calls in flight and {queued} waiting (failsafe.concurrency)")]
    Overloaded {
        backend: String,
        in_flight: u32,
        queued: u32,
    },
    #[error("backend {backend} is failing: its circuit breaker is open; next try in {} ms", retry_in.as_millis())]
    CircuitOpen { backend: String, retry_in: Duration },
    #[error("backend session expired")]
    SessionExpired,
    #[error("backend message larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("backend broke the protocol: {0}")]
    Protocol(String),
}
