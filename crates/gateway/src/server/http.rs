//! Streamable HTTP (2025-11-25) on `/mcp` and `/mcp/{backend}`.
//!
//! The checks run in the spec's order and each failure has its status:
//! Origin (403), Accept (406), Content-Type (415), body size (413), JSON
//! (400 + -32700), session header (400), unknown session (404), protocol
//! version header (400). A quick answer is one JSON body; a slow one, or
//! one preceded by progress, logs or questions, comes on a resumable SSE
//! stream (priming event, `retry:`, `<stream>-<seq>` event ids;
//! `server.stream_after`); notifications and responses get 202. GET with `Last-Event-ID` resumes a broken answer stream; without,
//! it opens the session's stream for server-initiated messages (409 if one
//! is open). DELETE ends the session.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as HttpBody, Incoming};
use mcp_wire::{codes, sse, version, Kind, Message, Parsed};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;

use super::errors::{http_error, json_response, Reject};
use super::inline::{Inline, Panicked};
use super::App;
use crate::headers;
use crate::modern;
use crate::router;
use crate::session::outbox::{self, Next, Outbox};
use crate::session::{Scope, Session};

fn root_scope(app: &App) -> Scope {
    if app.gw.config().meta_mcp.enabled {
        Scope::Meta
    } else {
        Scope::Direct
    }
}

fn backend_scope(app: &App, name: &str) -> Result<Scope, Reject> {
    if app.gw.backend(name).is_some() {
        return Ok(Scope::Backend(name.to_owned()));
    }
    let names = app.gw.backend_names();
    Err(Reject::new(
        StatusCode::NOT_FOUND,
        codes::INVALID_REQUEST,
        format!("Unknown backend '{name}'. Backends: {}", names.join(", ")),
    ))
}

/// A POST the accept loop took straight from hyper (see `listen.rs`):
/// `backend` is the path's plain `{backend}` segment, if any.
pub async fn post_direct(
    app: Arc<App>,
    backend: Option<&str>,
    headers: HeaderMap,
    body: Incoming,
) -> Response {
    let scope = match backend {
        None => root_scope(&app),
        Some(name) => match backend_scope(&app, name) {
            Ok(scope) => scope,
            Err(r) => return r.into_response(),
        },
    };
    post(app, scope, headers, body).await
}

// Through the router: only paths the accept loop leaves to it
// (a percent-encoded backend name). POST takes the whole request: a
// `HeaderMap` extractor would clone the headers on every call.
pub async fn post_root(State(app): State<Arc<App>>, req: Request) -> Response {
    let scope = root_scope(&app);
    let (parts, body) = req.into_parts();
    post(app, scope, parts.headers, body).await
}

pub async fn post_backend(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    match backend_scope(&app, &name) {
        Ok(scope) => {
            let (parts, body) = req.into_parts();
            post(app, scope, parts.headers, body).await
        }
        Err(r) => r.into_response(),
    }
}

pub async fn get_root(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let scope = root_scope(&app);
    open_stream(app, scope, headers)
}

pub async fn get_backend(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match backend_scope(&app, &name) {
        Ok(scope) => open_stream(app, scope, headers),
        Err(r) => r.into_response(),
    }
}

pub async fn delete_root(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let scope = root_scope(&app);
    delete(app, scope, headers)
}

pub async fn delete_backend(
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match backend_scope(&app, &name) {
        Ok(scope) => delete(app, scope, headers),
        Err(r) => r.into_response(),
    }
}

/// DNS-rebinding defence: a browser page from elsewhere must not reach a
/// local gateway. Loopback origins and configured ones pass.
pub fn check_origin(app: &App, headers: &HeaderMap) -> Result<(), Reject> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or("");
    let allowed = app
        .server
        .allowed_origins
        .iter()
        .any(|o| o == "*" || o == origin)
        || is_loopback_origin(origin);
    if allowed {
        Ok(())
    } else {
        tracing::warn!(origin, "rejected request from a foreign Origin");
        Err(Reject::new(
            StatusCode::FORBIDDEN,
            codes::INVALID_REQUEST,
            format!("Origin {origin} is not allowed (server.allowed_origins)"),
        ))
    }
}

fn is_loopback_origin(origin: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(origin) else {
        return false;
    };
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|part| {
            let t = part.split(';').next().unwrap_or("").trim();
            t == mime || t == "*/*" || (t.ends_with("/*") && mime.starts_with(&t[..t.len() - 1]))
        })
}

/// The session a request names: 400 without the header, 404 when unknown
/// (or belonging to another endpoint).
fn find_session(app: &App, scope: &Scope, headers: &HeaderMap) -> Result<Arc<Session>, Reject> {
    let Some(id) = headers
        .get(headers::SESSION_ID)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(Reject::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            "Bad Request: Mcp-Session-Id header is required (send initialize first)",
        ));
    };
    match app.sessions.get(id) {
        Some(s) if &s.scope == scope => Ok(s),
        _ => Err(Reject::new(
            StatusCode::NOT_FOUND,
            codes::REQUEST_TIMEOUT,
            "Session not found: initialize a new session",
        )),
    }
}

fn check_version_header(headers: &HeaderMap) -> Result<(), Reject> {
    match headers
        .get(headers::PROTOCOL_VERSION)
        .map(|v| v.to_str().unwrap_or(""))
    {
        Some(v) if !version::is_supported(v) => Err(Reject::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            format!(
                "Unsupported MCP-Protocol-Version {v:?}; supported: {}",
                version::SUPPORTED.join(", ")
            ),
        )),
        _ => Ok(()),
    }
}

/// The header checks, then the body read within `server.max_body_size`;
/// generic over the body (hyper's own, or the router's) and small: the
/// rest is [`post_body`].
async fn post<B>(app: Arc<App>, scope: Scope, headers: HeaderMap, body: B) -> Response
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if let Err(r) = check_post_headers(&app, &headers) {
        return r.into_response();
    }
    let max = app.server.max_body_size;
    let Ok(body) = Limited::new(body, max).collect().await else {
        return http_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::INVALID_REQUEST,
            format!("Request body larger than {max} bytes (server.max_body_size)"),
        );
    };
    post_body(app, scope, headers, body.to_bytes()).await
}

/// Origin, Accept and Content-Type, in the spec's order.
fn check_post_headers(app: &App, headers: &HeaderMap) -> Result<(), Reject> {
    check_origin(app, headers)?;
    // What every SDK sends, checked in one lookup without splitting (the hot path).
    const USUAL: &[u8] = b"application/json, text/event-stream";
    let usual = headers
        .get(header::ACCEPT)
        .is_some_and(|v| v.as_bytes() == USUAL);
    let both = || accepts(headers, "application/json") && accepts(headers, "text/event-stream");
    if !(usual || both()) {
        return Err(Reject::new(
            StatusCode::NOT_ACCEPTABLE,
            codes::INVALID_REQUEST,
            "Not Acceptable: Accept must list application/json and text/event-stream",
        ));
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ctype
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
    {
        return Err(Reject::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            codes::INVALID_REQUEST,
            "Unsupported Media Type: Content-Type must be application/json",
        ));
    }
    Ok(())
}

/// A POST body: one message (initialize, a 2026-07-28 request, a request,
/// notification or response of a session) or a batch.
async fn post_body(app: Arc<App>, scope: Scope, headers: HeaderMap, bytes: Bytes) -> Response {
    let parsed = match Message::parse(bytes) {
        Ok(p) => p,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, json_response(&e.to_response())).into_response()
        }
    };
    let version_header = headers
        .get(headers::PROTOCOL_VERSION)
        .and_then(|v| v.to_str().ok());
    match parsed {
        // Boxed: rare next to calls, and their futures would make every
        // request's future (moved several times per request) larger.
        Parsed::Single(msg) if modern::is_modern(version_header, &msg) => {
            Box::pin(super::modern::post(app, scope, headers, msg)).await
        }
        Parsed::Single(msg) if msg.method() == "initialize" => {
            Box::pin(initialize(&app, scope, msg)).await
        }
        Parsed::Single(msg) => {
            let session = match find_session(&app, &scope, &headers)
                .and_then(|s| check_version_header(&headers).map(|_| s))
            {
                Ok(s) => s,
                Err(r) => return r.into_response(),
            };
            match msg.kind() {
                Kind::Request => answer_request(&app, session, msg).await,
                _ => {
                    let gw = app.gw.clone();
                    tokio::spawn(async move { router::handle(&gw, &session, msg, None).await });
                    StatusCode::ACCEPTED.into_response()
                }
            }
        }
        Parsed::Batch(items) => {
            let session = match find_session(&app, &scope, &headers) {
                Ok(s) => s,
                Err(r) => return r.into_response(),
            };
            if !version::allows_batches(&session.version) {
                return http_error(
                    StatusCode::BAD_REQUEST,
                    codes::INVALID_REQUEST,
                    format!(
                        "JSON-RPC batches are not part of protocol version {}",
                        session.version
                    ),
                );
            }
            batch(&app, &session, items).await
        }
    }
}

/// Answer a request: one JSON body when the answer comes within
/// `server.stream_after` and nothing about the call comes before it;
/// otherwise a resumable SSE stream carrying the call's progress, logs and
/// questions first and the answer last.
async fn answer_request(app: &Arc<App>, session: Arc<Session>, msg: Message) -> Response {
    // The messages about the call are relayed here, not by the router: a
    // quick call needs one channel, not two, and hands it to the next call.
    let (sink, mut related) = session.relay_channel();
    let kept = sink.clone();
    let gw = app.gw.clone();
    let s = session.clone();
    let mut call = Inline::new(async move { router::respond(&gw, &s, msg, Some(sink)).await });
    let mut first = None;
    let wait = app.server.stream_after;
    if !wait.is_zero() {
        // Messages about the call win over its answer, so none is lost to a JSON reply.
        tokio::select! {
            biased;
            Some(m) = related.recv() => first = Some(m),
            done = &mut call => {
                session.spare_relay((kept, related));
                return match done {
                    Ok(Some(answer)) => json_response(&answer),
                    Ok(None) => StatusCode::ACCEPTED.into_response(),
                    Err(Panicked) => http_error(StatusCode::INTERNAL_SERVER_ERROR, codes::INTERNAL_ERROR, "request handler failed"),
                };
            }
            () = app.stream_timers.start(wait) => {}
        }
    }
    drop(kept);
    let outbox = session.open_stream(app.server.sse_resume_buffer, app.server.sse_resume_window);
    let producer = outbox.clone();
    let call = call.into_call();
    let relaying = session.clone();
    // The call goes on when the client's connection breaks (that is not a
    // cancel): its messages wait in the outbox for a resume.
    tokio::spawn(async move {
        let (out, mut rx) = mpsc::channel::<Message>(64);
        // The call runs here from now on, beside the messages about it.
        let mut relay = std::pin::pin!(router::relay(&relaying, out, first, related));
        let mut call = std::pin::pin!(call);
        let mut relayed = false;
        let outcome = loop {
            tokio::select! {
                biased;
                Some(m) = rx.recv() => producer.push(&m),
                () = &mut relay, if !relayed => relayed = true,
                outcome = &mut call => break outcome,
            }
        };
        // Everything the backend sent about the call goes out before its answer.
        if !relayed {
            let mut rest = std::pin::pin!(tokio::time::timeout(router::RELAY_GRACE, relay));
            loop {
                tokio::select! {
                    biased;
                    Some(m) = rx.recv() => producer.push(&m),
                    _ = &mut rest => break,
                }
            }
        }
        while let Ok(m) = rx.try_recv() {
            producer.push(&m);
        }
        if let Ok(Some(answer)) = outcome {
            producer.push(&answer);
        }
        producer.finish();
    });
    let priming = primes(&session.version);
    stream_response(app, session, outbox, 0, priming)
}

/// The priming event (an id, empty data) and `retry:` came with 2025-11-25;
/// older clients would read the empty event as a broken message.
fn primes(version: &str) -> bool {
    version >= "2025-11-25"
}

/// An answer stream as SSE, from the event after `after`: every event
/// carries its `<stream>-<seq>` id, and a comment keeps a quiet stream
/// alive. When the last event of the finished stream has gone out, the
/// session forgets it; a broken connection leaves it for a resume.
fn stream_response(
    app: &App,
    session: Arc<Session>,
    outbox: Arc<Outbox>,
    after: u64,
    priming: bool,
) -> Response {
    let stream_id = outbox.id;
    let prime = priming.then(|| {
        sse_bytes(sse::Event {
            id: Some(outbox::event_id(stream_id, 0)),
            retry_ms: Some(app.server.sse_retry.as_millis() as u64),
            ..sse::Event::default()
        })
    });
    let events = futures_util::stream::unfold(after, move |cursor| {
        let (outbox, session) = (outbox.clone(), session.clone());
        async move {
            let next = tokio::time::timeout(KEEP_ALIVE, outbox.next_after(cursor)).await;
            match next {
                Err(_) => Some((Bytes::from_static(b":\n\n"), cursor)),
                Ok(Next::Event(seq, data)) => {
                    let event = sse_bytes(sse::Event {
                        event: Some("message".into()),
                        id: Some(outbox::event_id(stream_id, seq)),
                        data: data.to_string(),
                        retry_ms: None,
                    });
                    Some((event, seq))
                }
                Ok(Next::End) => {
                    session.forget_stream(stream_id);
                    None
                }
            }
        }
    });
    let body = futures_util::stream::iter(prime)
        .chain(events)
        .map(Ok::<_, Infallible>);
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        // Not cut at shutdown: an answer in flight is worth waiting for
        // (up to server.shutdown_timeout).
        Body::from_stream(body),
    )
        .into_response()
}

/// How long an answer stream may stay silent before a keep-alive comment.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(15);

fn sse_bytes(ev: sse::Event) -> Bytes {
    let mut out = Vec::with_capacity(ev.data.len() + 48);
    sse::encode(&ev, &mut out);
    out.into()
}

async fn initialize(app: &App, scope: Scope, msg: Message) -> Response {
    let Some(id) = msg.id.clone() else {
        return http_error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_REQUEST,
            "initialize must be a request",
        );
    };
    match router::initialize(&app.gw, &scope, &msg).await {
        Ok(init) => {
            let session = app
                .sessions
                .create(scope, init.version, init.client_capabilities);
            app.gw.register_client(&session);
            tracing::info!(session = %session.id, version = init.version, "client session started");
            let mut resp = json_response(&Message::response(id, init.result));
            if let Ok(v) = HeaderValue::from_str(&session.id) {
                resp.headers_mut().insert(headers::SESSION_ID, v);
            }
            resp
        }
        Err(e) => json_response(&e.into_message(id)),
    }
}

async fn batch(
    app: &App,
    session: &Arc<Session>,
    items: Vec<Result<Message, mcp_wire::ParseError>>,
) -> Response {
    let answers = futures_util::future::join_all(items.into_iter().map(|item| async move {
        match item {
            Ok(msg) if msg.method() == "initialize" => Some(Message::error(
                msg.id.clone(),
                &mcp_wire::ErrorObject::new(codes::INVALID_REQUEST, "initialize cannot be batched"),
            )),
            Ok(msg) => router::handle(&app.gw, session, msg, None).await,
            Err(e) => Some(e.to_response()),
        }
    }))
    .await;
    let answers: Vec<Message> = answers.into_iter().flatten().collect();
    if answers.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    let mut body = b"[".to_vec();
    for (i, a) in answers.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        a.write_to(&mut body);
    }
    body.push(b']');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn open_stream(app: Arc<App>, scope: Scope, headers: HeaderMap) -> Response {
    if let Err(r) = check_origin(&app, &headers) {
        return r.into_response();
    }
    if !accepts(&headers, "text/event-stream") {
        return http_error(
            StatusCode::NOT_ACCEPTABLE,
            codes::INVALID_REQUEST,
            "Not Acceptable: GET needs Accept: text/event-stream",
        );
    }
    let session = match find_session(&app, &scope, &headers) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    // A resume: replay the broken answer stream after the last event the
    // client saw, and only that stream.
    let resume = headers
        .get(headers::LAST_EVENT_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(outbox::parse_event_id)
        .and_then(|(stream, seq)| Some((session.resumable(stream)?, seq)));
    if let Some((outbox, seq)) = resume {
        tracing::debug!(session = %session.id, stream = outbox.id, after = seq, "answer stream resumed");
        return stream_response(&app, session, outbox, seq, false);
    }
    let (tx, rx) = mpsc::channel(256);
    if !session.attach_stream(tx.clone()) {
        return http_error(
            StatusCode::CONFLICT,
            codes::INVALID_REQUEST,
            "Conflict: this session already has an open GET stream",
        );
    }
    spawn_list_changed(&app, &session, tx);
    Sse::new(events(&app, rx))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Messages of a session's stream as SSE `message` events, until the
/// gateway shuts down.
pub fn events(
    app: &App,
    rx: mpsc::Receiver<Message>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    until_closing(
        app,
        ReceiverStream::new(rx)
            .map(|m| Ok(Event::default().event("message").data(m.to_json_string()))),
    )
}

/// `stream`, ended when the gateway starts shutting down.
fn until_closing<S: Stream>(app: &App, stream: S) -> impl Stream<Item = S::Item> {
    let mut closing = app.closing.subscribe();
    let closed = async move {
        let _ = closing.wait_for(|c| *c).await;
    };
    futures_util::StreamExt::take_until(stream, Box::pin(closed))
}

/// Tell the client its tool list changed, for as long as its stream is open.
pub fn spawn_list_changed(app: &App, session: &Arc<Session>, tx: mpsc::Sender<Message>) {
    let mut tools = app.gw.subscribe_tools_changed();
    let mut lists = app.gw.subscribe_lists_changed();
    tools.mark_unchanged();
    lists.mark_unchanged();
    let session = session.clone();
    tokio::spawn(async move {
        loop {
            let methods: &[&str] = tokio::select! {
                _ = tx.closed() => return,
                r = tools.changed() => match r {
                    Ok(()) => &["notifications/tools/list_changed"],
                    Err(_) => return,
                },
                r = lists.changed() => match r {
                    Ok(()) => &["notifications/resources/list_changed", "notifications/prompts/list_changed"],
                    Err(_) => return,
                },
            };
            for m in methods {
                tracing::debug!(session = %session.id, method = m, "list changed");
                if tx.send(Message::notification(m, None)).await.is_err() {
                    return;
                }
            }
        }
    });
}

fn delete(app: Arc<App>, scope: Scope, headers: HeaderMap) -> Response {
    if let Err(r) = check_origin(&app, &headers) {
        return r.into_response();
    }
    match find_session(&app, &scope, &headers) {
        Ok(s) => {
            app.sessions.remove(&s.id);
            tracing::info!(session = %s.id, "client session ended");
            StatusCode::OK.into_response()
        }
        Err(r) => r.into_response(),
    }
}
