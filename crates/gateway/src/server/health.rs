//! `GET /health`: overall status, every backend's state and, when it is
//! on, how search by meaning is doing. Never secrets: only names, states,
//! reasons, counts.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::json;

use super::App;
use crate::upstream::State as BackendState;

pub async fn health(State(app): State<Arc<App>>) -> impl IntoResponse {
    let cat = app.gw.catalog();
    let enabled = cat
        .entries
        .iter()
        .filter(|e| e.status.state != BackendState::Disabled)
        .count();
    let ready = cat.ready_count();
    let status = match (enabled, ready) {
        (0, _) => "ok",
        (_, 0) => "unavailable",
        (n, r) if r < n => "degraded",
        _ => "ok",
    };
    let mut backends = serde_json::Map::new();
    for e in &cat.entries {
        let mut b = json!({
            "state": e.status.state,
            "transport": e.status.transport,
            "tools": if e.is_ready() { e.visible_tools().count() } else { 0 },
            "connects": e.status.connects,
            "circuit": app.gw.backend(&e.name).map_or("closed", |b| b.circuit()),
        });
        if let Some(r) = &e.status.reason {
            b["reason"] = json!(r);
        }
        if let Some(i) = &e.status.init {
            b["protocol_version"] = json!(i.protocol_version);
        }
        backends.insert(e.name.clone(), b);
    }
    let code = if status == "unavailable" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut body = json!({
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "backends_ready": ready,
        "backends_total": enabled,
        "tools": cat.tool_count(),
        "sessions": app.sessions.len(),
        "worker_threads": tokio::runtime::Handle::current().metrics().num_workers(),
        "backends": backends,
    });
    if let Some(meaning) = app.gw.embedder().status(&cat) {
        body["search_by_meaning"] = json!(meaning);
    }
    (code, Json(body))
}
