//! `POST /admin/reload`: re-read the config file now and apply it, answering
//! with what changed. `mcp-gateway reload` calls it; the file watcher and
//! SIGHUP do the same without it. Browser origins are refused as everywhere.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tokio::sync::{mpsc, oneshot};

use super::http::check_origin;
use super::App;
use crate::gateway::ReloadReport;

/// A request to reload, answered with the report or why the new config was rejected.
pub type Reloader = mpsc::Sender<oneshot::Sender<Result<ReloadReport, String>>>;

pub async fn reload(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_origin(&app, &headers) {
        return r.into_response();
    }
    let Some(reloader) = &app.reloader else {
        return (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": "this gateway runs without a config file to reload"})),
        )
            .into_response();
    };
    let (tx, rx) = oneshot::channel();
    if reloader.send(tx).await.is_err() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "the config watcher is not running"})),
        )
            .into_response();
    }
    match rx.await {
        Ok(Ok(report)) => Json(report).into_response(),
        Ok(Err(e)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"error": e})),
        )
            .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"error": "reload was dropped"})),
        )
            .into_response(),
    }
}
