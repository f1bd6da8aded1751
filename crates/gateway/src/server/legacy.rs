//! The 2024-11-05 HTTP+SSE front for old clients: `GET /sse` opens the
//! session's stream and names the POST endpoint in its first event;
//! `POST /message?sessionId=…` is answered 202 and the response travels
//! back on the stream. The session ends when the stream does.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use mcp_wire::{codes, version, Message, Parsed};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::errors::http_error;
use super::http::{check_origin, events, spawn_list_changed};
use super::App;
use crate::router;
use crate::session::Scope;

pub async fn open(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_origin(&app, &headers) {
        return r.into_response();
    }
    let scope = if app.gw.config().meta_mcp.enabled {
        Scope::Meta
    } else {
        Scope::Direct
    };
    let session = app.sessions.create(scope, "2024-11-05", None);
    app.gw.register_client(&session);
    let (tx, rx) = mpsc::channel(256);
    session.attach_stream(tx.clone());
    spawn_list_changed(&app, &session, tx.clone());
    let (app2, id) = (app.clone(), session.id.clone());
    tokio::spawn(async move {
        tx.closed().await;
        app2.sessions.remove(&id);
        tracing::info!(session = %id, "legacy SSE client disconnected");
    });
    tracing::info!(session = %session.id, "legacy SSE client connected");
    let endpoint = Event::default()
        .event("endpoint")
        .data(format!("/message?sessionId={}", session.id));
    let stream = stream::once(async move { Ok(endpoint) }).chain(events(&app, rx));
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

#[derive(Deserialize)]
pub struct SessionQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

pub async fn message(
    State(app): State<Arc<App>>,
    Query(q): Query<SessionQuery>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = check_origin(&app, &headers) {
        return r.into_response();
    }
    let Some(session) = app.sessions.get(&q.session_id) else {
        return http_error(
            StatusCode::NOT_FOUND,
            codes::REQUEST_TIMEOUT,
            "Session not found: reconnect to /sse",
        );
    };
    let max = app.server.max_body_size;
    let Ok(bytes) = to_bytes(body, max).await else {
        return http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::INVALID_REQUEST,
            format!("Request body larger than {max} bytes"),
        );
    };
    let msg = match Message::parse(bytes) {
        Ok(Parsed::Single(m)) => m,
        Ok(Parsed::Batch(_)) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                codes::INVALID_REQUEST,
                "batches are not accepted on /message",
            )
        }
        Err(e) => return http_error(StatusCode::BAD_REQUEST, e.code(), e.to_string()),
    };
    tokio::spawn(async move {
        let answer = if msg.method() == "initialize" && msg.id.is_some() {
            let id = msg.id.clone().expect("checked");
            match router::initialize(&app.gw, &session.scope, &msg).await {
                Ok(init) => {
                    debug_assert!(version::is_supported(init.version));
                    Some(Message::response(id, init.result))
                }
                Err(e) => Some(e.into_message(id)),
            }
        } else {
            router::handle(&app.gw, &session, msg, session.stream()).await
        };
        if let Some(a) = answer {
            session.push(a);
        }
    });
    StatusCode::ACCEPTED.into_response()
}
