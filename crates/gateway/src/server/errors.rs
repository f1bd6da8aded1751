//! The one place errors become wire errors: JSON-RPC error objects for
//! failed requests, HTTP statuses for broken transport rules.
//!
//! Internal detail is logged, never sent; what the client reads says what
//! failed and what to do about it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_wire::{codes, ErrorObject, Id, Json, Message};

use crate::router::GatewayError;
use crate::upstream::UpstreamError;

impl GatewayError {
    /// The `error` member for a response to this failure.
    pub fn to_wire(&self) -> Json {
        let obj = match self {
            GatewayError::Backend(raw) => return raw.clone(),
            GatewayError::MethodNotFound(m) => {
                ErrorObject::new(codes::METHOD_NOT_FOUND, format!("Method not found: {m}"))
            }
            e @ GatewayError::ClientRateLimited(wait) => {
                ErrorObject::new(codes::CONNECTION_CLOSED, e.to_string())
                    .with_data(&serde_json::json!({ "retryAfterMs": wait.as_millis() as u64 }))
            }
            GatewayError::ResourceNotFound(uri) => ErrorObject::new(
                codes::RESOURCE_NOT_FOUND,
                format!("Resource not found: {uri}"),
            )
            .with_data(&serde_json::json!({ "uri": uri })),
            GatewayError::InvalidParams(m) => {
                ErrorObject::new(codes::INVALID_PARAMS, format!("Invalid params: {m}"))
            }
            GatewayError::Upstream(
                e @ (UpstreamError::RateLimited {
                    retry_after: wait, ..
                }
                | UpstreamError::CircuitOpen { retry_in: wait, .. }),
            ) => ErrorObject::new(codes::CONNECTION_CLOSED, e.to_string())
                .with_data(&serde_json::json!({ "retryAfterMs": wait.as_millis() as u64 })),
            GatewayError::Upstream(e @ UpstreamError::Cancelled) => {
                ErrorObject::new(codes::REQUEST_CANCELLED, e.to_string())
            }
            GatewayError::Upstream(e @ UpstreamError::Timeout { .. }) => {
                ErrorObject::new(codes::REQUEST_TIMEOUT, e.to_string())
            }
            GatewayError::Upstream(e) => ErrorObject::new(codes::CONNECTION_CLOSED, e.to_string()),
            GatewayError::Internal(m) => {
                tracing::error!("internal error: {m}");
                ErrorObject::new(codes::INTERNAL_ERROR, "Internal error")
            }
        };
        obj.to_raw()
    }

    pub fn into_message(self, id: Id) -> Message {
        Message::error_raw(Some(id), self.to_wire())
    }
}

/// A request refused by a transport rule: its status and what the client is told.
#[derive(Debug)]
pub struct Reject {
    pub status: StatusCode,
    pub code: i64,
    pub message: String,
}

impl Reject {
    pub fn new(status: StatusCode, code: i64, message: impl Into<String>) -> Reject {
        Reject {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        http_error(self.status, self.code, self.message)
    }
}

/// An HTTP error whose body is a JSON-RPC error (id null), as SDK clients expect.
pub fn http_error(status: StatusCode, code: i64, message: impl Into<String>) -> Response {
    let body = Message::error(None, &ErrorObject::new(code, message)).to_bytes();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The HTTP status of a 2026-07-28 error answer: 400 for a request that
/// is malformed or refused by its headers, version or capabilities, 404 for
/// a method that does not exist, 200 for the rest (a JSON-RPC error that
/// the call itself produced).
pub fn modern_status(code: i64) -> StatusCode {
    match code {
        codes::PARSE_ERROR
        | codes::INVALID_REQUEST
        | codes::INVALID_PARAMS
        | codes::HEADER_MISMATCH
        | codes::MISSING_REQUIRED_CLIENT_CAPABILITY
        | codes::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        codes::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    }
}

/// A message as a JSON body: its parts, a large result shared, not copied.
pub fn json_response(msg: &Message) -> Response {
    let json = HeaderValue::from_static("application/json");
    let body = axum::body::Body::new(super::body::Parts(msg.to_chunks()));
    ([(header::CONTENT_TYPE, json)], body).into_response()
}
