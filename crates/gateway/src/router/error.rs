//! What can go wrong while handling a client message. Turned into wire
//! errors in exactly one place: `server::errors`.

use mcp_wire::Json;

use crate::upstream::UpstreamError;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("method not found: {0}")]
    MethodNotFound(String),
    #[error("invalid params: {0}")]
    InvalidParams(String),
    #[error("rate limited (failsafe.client_rate_limit); retry after {} ms", .0.as_millis())]
    ClientRateLimited(std::time::Duration),
    #[error("resource not found: {0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    /// The backend's own JSON-RPC error object, forwarded verbatim.
    #[error("backend error")]
    Backend(Json),
    #[error("internal error: {0}")]
    Internal(String),
}
