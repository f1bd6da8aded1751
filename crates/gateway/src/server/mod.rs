//! The fronts clients talk to, and the HTTP rules of the Streamable HTTP
//! transport.
//!
//! - [`listen`]: the accept loop; tool-call POSTs skip the router.
//! - [`http`]: POST/GET/DELETE `/mcp` and `/mcp/{backend}` (2025-11-25 rules).
//! - [`modern`]: the same endpoints for stateless 2026-07-28 requests.
//! - [`legacy`]: `GET /sse` + `POST /message` (2024-11-05 clients).
//! - [`health`]: `GET /health`.
//! - [`admin`]: `POST /admin/reload` (what `mcp-gateway reload` calls).
//! - [`stdio`]: the same gateway over stdin/stdout.
//! - [`errors`]: the only place errors become statuses and JSON-RPC errors.

pub mod admin;
mod body;
mod errors;
mod health;
mod http;
mod inline;
mod legacy;
mod listen;
mod modern;
pub mod stdio;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::config::ServerConfig;
use crate::gateway::Gateway;
use crate::session::SessionStore;

/// What every handler shares.
pub struct App {
    pub gw: Arc<Gateway>,
    pub sessions: SessionStore,
    pub server: ServerConfig,
    /// Asks the config watcher to reload now (`POST /admin/reload`).
    pub reloader: Option<admin::Reloader>,
    /// Set when shutdown starts: open SSE streams end, so draining is quick.
    pub closing: tokio::sync::watch::Sender<bool>,
    /// Calls of 2026-07-28 clients held between rounds (MRTR).
    pub held: Arc<crate::modern::held::Held>,
    /// `failsafe.client_rate_limit` for 2026-07-28 requests: they carry no
    /// session to tell clients apart, so they share one bucket.
    pub stateless_limit: crate::session::ClientLimit,
    /// The `server.stream_after` timers of quick calls, kept between calls.
    pub stream_timers: crate::timers::Timers,
}

impl App {
    pub fn new(gw: Arc<Gateway>, reloader: Option<admin::Reloader>) -> Arc<App> {
        let server = gw.config().server.clone();
        Arc::new(App {
            sessions: SessionStore::new(server.max_sessions),
            held: crate::modern::held::Held::new(server.request_state_ttl, server.max_held_calls),
            server,
            gw,
            reloader,
            closing: tokio::sync::watch::Sender::new(false),
            stateless_limit: Default::default(),
            stream_timers: Default::default(),
        })
    }
}

/// All HTTP routes (POSTs to `/mcp` and plain `/mcp/{backend}` reach
/// their handler without it: see [`listen`]).
pub fn app(state: Arc<App>) -> Router {
    Router::new()
        .route(
            "/mcp",
            post(http::post_root)
                .get(http::get_root)
                .delete(http::delete_root),
        )
        .route(
            "/mcp/{backend}",
            post(http::post_backend)
                .get(http::get_backend)
                .delete(http::delete_backend),
        )
        .route("/sse", get(legacy::open))
        .route("/message", post(legacy::message))
        .route("/health", get(health::health))
        .route("/admin/reload", post(admin::reload))
        .with_state(state)
}

pub use listen::serve;
