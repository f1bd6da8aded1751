//! Streamable HTTP transport: `POST /mcp` answers with `application/json`
//! (or, with `--sse`, one-event `text/event-stream` bodies); `initialize`
//! hands out a session id; notifications get 202. Session ids are not
//! checked: the baseline does the least work a conforming server can.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::protocol::Echo;

struct Shared {
    echo: Echo,
    sse: bool,
    sessions: AtomicU64,
}

/// Serves on `listener` until the process ends.
pub async fn run(echo: Echo, sse: bool, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(echo, sse)).await
}

/// The routes of `/mcp`, for [`run`] (and tests that serve them their own way).
pub fn router(echo: Echo, sse: bool) -> Router {
    let shared = Arc::new(Shared {
        echo,
        sse,
        sessions: AtomicU64::new(0),
    });
    Router::new()
        .route("/mcp", post(post_mcp).get(get_mcp).delete(delete_mcp))
        .with_state(shared)
}

async fn post_mcp(State(st): State<Arc<Shared>>, body: Bytes) -> Response {
    let Some(reply) = st.echo.handle(&body) else {
        return StatusCode::ACCEPTED.into_response();
    };
    let mut resp = if st.sse {
        let body = format!("event: message\ndata: {}\n\n", reply.text);
        ([(header::CONTENT_TYPE, "text/event-stream")], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], reply.text).into_response()
    };
    if reply.initialize {
        let n = st.sessions.fetch_add(1, Ordering::Relaxed);
        let id = HeaderValue::from_str(&format!("echo-{n:016x}")).expect("ascii");
        resp.headers_mut().insert("mcp-session-id", id);
    }
    resp
}

async fn get_mcp() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        [(header::ALLOW, "POST, DELETE")],
    )
        .into_response()
}

async fn delete_mcp() -> StatusCode {
    StatusCode::OK
}
