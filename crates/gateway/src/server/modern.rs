//! Streamable HTTP for 2026-07-28 requests on `/mcp` and `/mcp/{backend}`.
//!
//! No sessions: each request is checked on its own — its envelope
//! (-32602), its routing headers (-32020), its version (-32022), its method
//! (404 + -32601) — in that order, every error a JSON body with the
//! request's id and a 4xx status. A request is answered with one JSON body,
//! or with an SSE stream when progress or log messages come before the
//! answer; never with requests (those become `input_required` results).
//! A client that closes its stream cancels its call upstream.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use mcp_wire::{codes, raw, sse, version, ErrorObject, Id, Json, Kind, Message};
use serde::Deserialize;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::App;
use crate::mention::Mention;
use crate::modern::held::{Call, Step};
use crate::modern::{self, headers, listen, result, state, Envelope};
use crate::router;
use crate::session::{Scope, Session};
use crate::upstream::CallContext;

/// Serve one request of the stateless era.
pub async fn post(app: Arc<App>, scope: Scope, hdrs: HeaderMap, msg: Message) -> Response {
    let Some(id) = msg.id.clone() else {
        // Notifications carry nothing a stateless server keeps; responses
        // have no request of ours to answer.
        return match msg.kind() {
            Kind::Notification => StatusCode::ACCEPTED.into_response(),
            _ => error(
                None,
                ErrorObject::new(
                    codes::INVALID_REQUEST,
                    "clients do not send responses in protocol version 2026-07-28",
                ),
            ),
        };
    };
    let env = match check(&app, &scope, &hdrs, &msg) {
        Ok(env) => env,
        Err(e) => return error(Some(id), e),
    };
    let session = Arc::new(Session::new(
        "stateless".into(),
        scope.clone(),
        version::MODERN,
        Some(env.capabilities.clone()),
    ));
    // A retry that brings answers continues a call already admitted.
    let fresh =
        msg.method() != "server/discover" && !(modern::may_ask(msg.method()) && is_retry(&msg));
    if fresh {
        if let Err(wait) = app
            .stateless_limit
            .admit(&app.gw.config().client_rate_limit)
        {
            let e = router::GatewayError::ClientRateLimited(wait);
            return json(answer(id, msg.method(), Err(e), None));
        }
    }
    match msg.method() {
        "server/discover" => json(Message::response(id, discover(&app, &scope).await)),
        "subscriptions/listen" => listen_stream(&app, session, id, &msg),
        m if modern::may_ask(m) => round(app, session, env, msg, id).await,
        m => {
            let m = m.to_owned();
            let outcome = router::request(&app.gw, &session, &msg, &CallContext::default()).await;
            json(answer(id, &m, outcome, None))
        }
    }
}

/// The checks every modern request passes, in the spec's order; its envelope.
fn check(
    app: &App,
    scope: &Scope,
    hdrs: &HeaderMap,
    msg: &Message,
) -> Result<Envelope, ErrorObject> {
    let env = Envelope::of(msg)?;
    let text = |name: &str| hdrs.get(name).and_then(|v| v.to_str().ok());
    let params: Vec<(&str, &str)> = hdrs
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().strip_prefix("mcp-param-")?, v.to_str().ok()?)))
        .collect();
    let routing = headers::Routing {
        version: text("mcp-protocol-version"),
        method: text("mcp-method"),
        name: text("mcp-name"),
        params,
    };
    headers::check(&routing, msg, &env.version)?;
    env.check_version()?;
    if !modern::serves(msg.method()) {
        return Err(ErrorObject::new(
            codes::METHOD_NOT_FOUND,
            format!(
                "Method not found: {} (not part of protocol version {})",
                msg.method(),
                version::MODERN
            ),
        ));
    }
    if msg.method() == "tools/call" {
        if let Some(schema) = input_schema(app, scope, msg) {
            headers::check_params(&routing, &schema, headers::arguments(msg).as_ref())?;
        }
    }
    Ok(env)
}

/// The inputSchema of the backend tool a tools/call names, when the name
/// is a backend tool's (direct mode and `/mcp/{backend}`).
fn input_schema(app: &App, scope: &Scope, msg: &Message) -> Option<serde_json::Value> {
    #[derive(Deserialize)]
    struct P {
        name: String,
    }
    let name = msg.parse_params::<P>().ok()?.name;
    let cat = app.gw.catalog();
    let tool = match scope {
        Scope::Backend(b) => cat.tool(b, &name).map(|(_, t)| t)?,
        Scope::Direct => cat.resolve_exposed(&name).map(|(_, t)| t)?,
        Scope::Meta => return None,
    };
    serde_json::from_str(tool.raw.get())
        .ok()
        .and_then(|v: serde_json::Value| v.get("inputSchema").cloned())
}

/// server/discover: what this endpoint offers, for both eras.
async fn discover(app: &App, scope: &Scope) -> Json {
    let (capabilities, instructions) = router::describe(&app.gw, scope).await;
    let body = serde_json::json!({
        "supportedVersions": version::DISCOVERABLE,
        "capabilities": modern::capabilities(capabilities),
        "instructions": instructions,
        "_meta": { modern::META_SERVER_INFO: {"name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION")} },
    });
    result::complete("server/discover", raw(&body))
}

/// The answer to request `id` of `method` for a modern client.
fn answer(id: Id, method: &str, outcome: router::Outcome, uri: Option<&str>) -> Message {
    match outcome {
        Ok(r) => Message::response(id, result::complete(method, r)),
        Err(e) => Message::error_raw(Some(id), result::error(e.to_wire(), uri)),
    }
}

/// Whether `msg` is the retry of a held call: it brings `requestState`
/// (a forged one is refused by [`round`] before any work is done).
fn is_retry(msg: &Message) -> bool {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct P<'a> {
        #[serde(borrow)]
        request_state: Option<&'a RawValue>,
    }
    let text = msg.params.as_ref().map_or("", Json::get);
    static REQUEST_STATE: Mention = Mention::new("requestState");
    REQUEST_STATE.in_text(text)
        && msg
            .parse_params::<P>()
            .is_ok_and(|p| p.request_state.is_some())
}

/// One round of a call that may ask the client things (tools/call,
/// prompts/get, resources/read): a fresh call, or the retry of a held one
/// carrying `requestState` and `inputResponses`.
async fn round(
    app: Arc<App>,
    session: Arc<Session>,
    env: Envelope,
    msg: Message,
    id: Id,
) -> Response {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Retry {
        request_state: Option<String>,
        input_responses: Option<Json>,
        uri: Option<String>,
    }
    let retry: Retry = match msg.parse_params() {
        Ok(r) => r,
        Err(e) => {
            return error(
                Some(id),
                ErrorObject::new(codes::INVALID_PARAMS, e.to_string()),
            )
        }
    };
    let method = msg.method().to_owned();
    let binding = state::binding(&method, msg.params.as_ref());
    let mut call = match &retry.request_state {
        Some(s) => {
            let held = app
                .held
                .sealer
                .open(s, &binding)
                .map_err(|e| e.to_string())
                .and_then(|handle| {
                    app.held
                        .take(&handle)
                        .ok_or_else(|| "the held call is gone (expired)".to_owned())
                });
            match held {
                Ok(call) => call,
                Err(why) => {
                    return error(
                        Some(id),
                        ErrorObject::new(
                            codes::INVALID_PARAMS,
                            format!("Invalid or expired requestState: {why}"),
                        ),
                    )
                }
            }
        }
        None => Call::start(app.gw.clone(), session, msg),
    };
    if let Err(e) = call.answer(retry.input_responses.as_ref()) {
        // The call stays held for a well-formed retry.
        if let Some(handle) = app.held.park(call) {
            tracing::debug!(handle, "malformed inputResponses; call still held");
        }
        return error(Some(id), e);
    }
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let held = app.held.clone();
    let uri = retry.uri;
    tokio::spawn(async move {
        loop {
            let step = tokio::select! {
                _ = tx.closed() => return, // the client went away: dropping the call cancels it
                step = call.next(&env) => step,
            };
            let last = match step {
                Step::Note(m) => {
                    if tx.send(m).await.is_err() {
                        return;
                    }
                    continue;
                }
                Step::Done(outcome) => answer(id, &method, outcome, uri.as_deref()),
                Step::Refused(e) => Message::error(Some(id), &e),
                Step::Input(requests) => match held.park(call) {
                    Some(handle) => {
                        let state = held.sealer.seal(&handle, &binding);
                        let body = serde_json::json!({
                            "resultType": "input_required",
                            "inputRequests": requests,
                            "requestState": state,
                        });
                        Message::response(id, raw(&body))
                    }
                    None => Message::error(
                        Some(id),
                        &ErrorObject::new(
                            codes::INTERNAL_ERROR,
                            "too many calls are waiting for their clients; try again later",
                        ),
                    ),
                },
            };
            let _ = tx.send(last).await;
            return;
        }
    });
    let Some(first) = rx.recv().await else {
        return error(
            None,
            ErrorObject::new(codes::INTERNAL_ERROR, "the call ended without an answer"),
        );
    };
    if first.kind() != Kind::Notification {
        return json(first);
    }
    // Progress or logs before the answer: stream them, answer last.
    let rest = tokio_stream::wrappers::ReceiverStream::new(rx);
    let events = futures_util::stream::once(async move { first })
        .chain(rest)
        .map(|m| Ok::<_, Infallible>(event(&m)));
    sse_response(Body::from_stream(events))
}

fn listen_stream(app: &App, session: Arc<Session>, id: Id, msg: &Message) -> Response {
    let (tx, rx) = mpsc::channel::<Message>(64);
    let filter = listen::Filter::of(msg);
    let closing = app.closing.subscribe();
    tokio::spawn(listen::run(
        app.gw.clone(),
        session,
        id,
        filter,
        tx,
        closing,
    ));
    let events =
        tokio_stream::wrappers::ReceiverStream::new(rx).map(|m| Ok::<_, Infallible>(event(&m)));
    sse_response(Body::from_stream(events))
}

fn event(m: &Message) -> Bytes {
    let mut out = Vec::new();
    sse::encode(
        &sse::Event {
            event: Some("message".into()),
            data: m.to_json_string(),
            ..sse::Event::default()
        },
        &mut out,
    );
    out.into()
}

fn sse_response(body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        [("x-accel-buffering", "no")],
        body,
    )
        .into_response()
}

/// A JSON answer, with the status its error (if any) calls for.
fn json(m: Message) -> Response {
    let status = m
        .error_object()
        .map_or(StatusCode::OK, |e| super::errors::modern_status(e.code));
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        m.to_bytes(),
    )
        .into_response()
}

fn error(id: Option<Id>, e: ErrorObject) -> Response {
    json(Message::error(id, &e))
}
