//! Streamable HTTP backends (2025-03-26 and later).
//!
//! Every message is a POST. The answer is 202 (notifications, responses),
//! one JSON message, or an SSE stream that carries the response and anything
//! related to it. The session id from the initialize response and the
//! negotiated protocol version ride along on every later request. After
//! initialisation a GET stream is opened for server-initiated messages when
//! the server offers one.
//!
//! POSTs to a plain `http://` URL go through our own keep-alive pool of bare
//! hyper connections (`pool.rs`; the hot path: no URL re-parsing, redirect or
//! proxy layers per call); `https://` URLs, URLs with credentials in them, any
//! URL while a proxy is configured in the environment, the long GET streams and a POST answered with a redirect
//! use reqwest.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full};
use mcp_wire::{Chunks, Input, Message, Outgoing, Params, Parsed};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use super::peer::Peer;
use super::pool::Pool;
use super::{LinkOptions, UpstreamError};
use crate::headers;
use crate::modern::headers::ParamHeader;

/// A response body from either client.
pub type Body = Either<hyper::body::Incoming, reqwest::Body>;
type Response = http::Response<Body>;

pub struct HttpLink {
    client: reqwest::Client,
    /// The hot-path client for plain `http://` backends (see the module docs).
    plain: Option<Pool>,
    /// The backend answered a POST with a redirect (said once in the log).
    redirected: std::sync::atomic::AtomicBool,
    url: Url,
    headers: HeaderMap,
    session: RwLock<Option<HeaderValue>>,
    version: RwLock<Option<HeaderValue>>,
    /// Everything a POST carries: the configured headers, session, version,
    /// content type and accept; rebuilt when the session or version changes.
    post_headers: RwLock<HeaderMap>,
    peer: Arc<Peer>,
    max: usize,
    /// The backend speaks 2026-07-28: routing headers on every POST, no
    /// session, errors as JSON bodies of 4xx answers.
    stateless: std::sync::atomic::AtomicBool,
    /// Stateless era: tool name -> the arguments it mirrors into `Mcp-Param-*`.
    param_headers: arc_swap::ArcSwap<HashMap<String, Vec<ParamHeader>>>,
}

/// reqwest honours these; the bare client does not, so it stays out of the way.
fn proxy_configured() -> bool {
    ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

impl HttpLink {
    pub fn new(
        client: reqwest::Client,
        url: &str,
        headers: HeaderMap,
        peer: Arc<Peer>,
        opts: &LinkOptions,
    ) -> Result<Arc<Self>, UpstreamError> {
        let bad = |reason: String| UpstreamError::Start {
            backend: peer.backend().into(),
            reason,
        };
        let url = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        let uri: http::Uri = url.as_str().parse().map_err(|e| bad(format!("{e}")))?;
        // Credentials in the URL are reqwest's to turn into basic auth.
        let has_userinfo = !url.username().is_empty() || url.password().is_some();
        let plain = match url.scheme() == "http" && !proxy_configured() && !has_userinfo {
            true => Pool::new(&uri),
            false => None,
        };
        let link = HttpLink {
            client,
            plain,
            redirected: Default::default(),
            url,
            post_headers: RwLock::new(HeaderMap::new()),
            headers,
            session: RwLock::new(None),
            version: RwLock::new(None),
            peer,
            max: opts.max_message_size,
            stateless: std::sync::atomic::AtomicBool::new(false),
            param_headers: Default::default(),
        };
        link.rebuild_post_headers();
        Ok(Arc::new(link))
    }

    fn rebuild_post_headers(&self) {
        let mut h = self.request_headers();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        *self.post_headers.write().unwrap_or_else(|p| p.into_inner()) = h;
    }

    /// Speak 2026-07-28 to this backend (or stop).
    pub fn set_stateless(&self, on: bool) {
        self.stateless
            .store(on, std::sync::atomic::Ordering::Relaxed);
        let version = on.then(|| HeaderValue::from_static(mcp_wire::version::MODERN));
        *self.version.write().unwrap_or_else(|p| p.into_inner()) = version;
        self.rebuild_post_headers();
    }

    /// The `x-mcp-header` arguments of the backend's tools, as listed last.
    pub fn set_param_headers(&self, declared: HashMap<String, Vec<ParamHeader>>) {
        self.param_headers.store(Arc::new(declared));
    }

    fn is_stateless(&self) -> bool {
        self.stateless.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every later request carries the negotiated version.
    pub fn set_protocol_version(&self, v: &str) {
        *self.version.write().unwrap_or_else(|p| p.into_inner()) = HeaderValue::from_str(v).ok();
        self.rebuild_post_headers();
    }

    fn request_headers(&self) -> HeaderMap {
        let mut h = self.headers.clone();
        if let Some(s) = self
            .session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            h.insert(headers::SESSION_ID, s);
        }
        if let Some(v) = self
            .version
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            h.insert(headers::PROTOCOL_VERSION, v);
        }
        h
    }

    /// POST one message; its parts become the request body without a copy.
    async fn post(
        &self,
        body: Chunks,
        routing: &[(HeaderName, String)],
    ) -> Result<Response, UpstreamError> {
        let headers = || {
            let mut headers = self
                .post_headers
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            for (name, value) in routing {
                if let Ok(v) = HeaderValue::from_str(value) {
                    headers.insert(name.clone(), v);
                }
            }
            headers
        };
        if let Some(plain) = &self.plain {
            let mut req = http::Request::new(Full::new(body.clone()));
            *req.method_mut() = http::Method::POST;
            *req.headers_mut() = headers();
            let resp = plain.send(req).await.map_err(UpstreamError::Send)?;
            if !resp.status().is_redirection() {
                return Ok(resp.map(Either::Left));
            }
            // Rare: reqwest follows redirects (307/308 keep the POST and its body).
            if !self
                .redirected
                .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(backend = %self.peer.backend(), url = %self.url, status = %resp.status(), "the backend redirects its MCP endpoint; following (every call pays a round trip: put the final URL in http_url)");
            }
        }
        let resp = self
            .client
            .post(self.url.clone())
            .headers(headers())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| UpstreamError::Send(describe(&e)))?;
        Ok(http::Response::from(resp).map(Either::Right))
    }

    pub async fn send(&self, msg: Outgoing<'_>) -> Result<(), UpstreamError> {
        let stateless = self.is_stateless();
        let routing = match stateless {
            true => {
                let params = msg.params.map(Params::to_raw);
                let declared = self.param_headers.load();
                super::era::routing_headers(msg.method(), params.as_deref(), &declared)
            }
            false => Vec::new(),
        };
        let resp = self.post(msg.to_chunks(), &routing).await?;
        if msg.method() == "initialize" {
            if let Some(s) = resp.headers().get(headers::SESSION_ID) {
                *self.session.write().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
                self.rebuild_post_headers();
            }
        }
        let status = resp.status();
        if status == StatusCode::ACCEPTED {
            return Ok(());
        }
        if status == StatusCode::NOT_FOUND
            && self
                .session
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
        {
            return Err(UpstreamError::SessionExpired);
        }
        if stateless
            && status.is_client_error()
            && content_type(resp.headers()).starts_with("application/json")
        {
            // A stateless backend's JSON-RPC error: the answer to this request.
            let body = read_limited(resp.into_body(), self.max)
                .await
                .unwrap_or_default();
            return match Message::parse_one(&body[..]) {
                Ok(answer) if answer.id.is_some() && answer.id.as_ref() == msg.id => {
                    self.peer.dispatch(answer);
                    Ok(())
                }
                _ => Err(UpstreamError::Http {
                    status: status.as_u16(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                }),
            };
        }
        if !status.is_success() {
            let body = read_limited(resp.into_body(), 512)
                .await
                .unwrap_or_default();
            return Err(UpstreamError::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let is_sse = content_type(resp.headers()).starts_with("text/event-stream");
        if is_sse {
            let peer = self.peer.clone();
            let max = self.max;
            let id = match msg.id {
                Some(mcp_wire::Id::Num(n)) if msg.method.is_some() => Some(*n),
                _ => None,
            };
            let resume = Resume {
                client: self.client.clone(),
                url: self.url.clone(),
                headers: self.request_headers(),
            };
            tokio::spawn(async move {
                let mut cursor = StreamCursor::default();
                let mut result =
                    pump_sse(resp.into_body(), max, |ev| cursor.on_event(&peer, id, ev)).await;
                // The stream broke before the answer: resume it (GET + Last-Event-ID), as the spec allows.
                let mut attempts = 0;
                while let (Some(req), Some(event_id)) = (id, cursor.last_id.clone()) {
                    if !peer.is_waiting(req) || attempts >= MAX_RESUMES {
                        break;
                    }
                    attempts += 1;
                    tokio::time::sleep(cursor.retry.min(Duration::from_secs(5))).await;
                    let resp = resume
                        .client
                        .get(resume.url.clone())
                        .headers(resume.headers.clone())
                        .header(ACCEPT, "text/event-stream")
                        .header(headers::LAST_EVENT_ID, event_id)
                        .send()
                        .await;
                    match resp {
                        Ok(r)
                            if r.status().is_success()
                                && content_type(r.headers()).starts_with("text/event-stream") =>
                        {
                            tracing::debug!(backend = %peer.backend(), attempts, "resumed a response stream");
                            result = pump_sse(reqwest::Body::from(r), max, |ev| {
                                cursor.on_event(&peer, id, ev)
                            })
                            .await;
                        }
                        _ => break,
                    }
                }
                if let Some(id) = id {
                    let reason = match result {
                        Ok(()) => {
                            "the backend closed the response stream before answering".to_owned()
                        }
                        Err(e) => format!("response stream failed: {e}"),
                    };
                    peer.fail(
                        id,
                        UpstreamError::Closed {
                            backend: peer.backend().into(),
                            reason,
                        },
                    );
                }
            });
            return Ok(());
        }
        let body = read_limited(resp.into_body(), self.max).await?;
        dispatch_bytes(&self.peer, None, body);
        Ok(())
    }

    /// Listen for server-initiated messages on the GET stream, reconnecting
    /// while the backend lives. Servers without one answer 405: then we stop.
    pub fn spawn_get_stream(self: &Arc<Self>) {
        let link = self.clone();
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(500);
            let mut last_event_id: Option<String> = None;
            while !link.peer.is_closed() {
                let mut req = link
                    .client
                    .get(link.url.clone())
                    .headers(link.request_headers())
                    .header(ACCEPT, "text/event-stream");
                if let Some(id) = &last_event_id {
                    req = req.header(headers::LAST_EVENT_ID, id.as_str());
                }
                let resp = tokio::select! {
                    r = req.send() => r,
                    _ = link.peer.closed() => return,
                };
                match resp {
                    Ok(r)
                        if r.status().is_success()
                            && content_type(r.headers()).starts_with("text/event-stream") =>
                    {
                        delay = Duration::from_millis(500);
                        let peer = link.peer.clone();
                        let mut retry = None;
                        let pump = pump_sse(reqwest::Body::from(r), link.max, |ev| {
                            if let Some(id) = &ev.id {
                                last_event_id = Some(id.clone());
                            }
                            if ev.retry_ms.is_some() {
                                retry = ev.retry_ms;
                            }
                            dispatch_data(&peer, &ev.data);
                        });
                        tokio::select! {
                            _ = pump => {},
                            _ = link.peer.closed() => return,
                        }
                        if let Some(ms) = retry {
                            delay = Duration::from_millis(ms.min(30_000));
                        }
                    }
                    Ok(r) if r.status() == StatusCode::METHOD_NOT_ALLOWED => return,
                    Ok(r) if r.status().is_client_error() => {
                        tracing::debug!(backend = %link.peer.backend(), status = %r.status(), "no GET stream");
                        return;
                    }
                    _ => delay = (delay * 2).min(Duration::from_secs(30)),
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {},
                    _ = link.peer.closed() => return,
                }
            }
        });
    }

    /// End the session on the server (best effort) and close the peer.
    pub async fn shutdown(&self) {
        let has_session = self
            .session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if has_session {
            let req = self
                .client
                .delete(self.url.clone())
                .headers(self.request_headers());
            let _ = tokio::time::timeout(Duration::from_secs(2), req.send()).await;
        }
        self.peer.close("backend stopped");
    }
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Resumptions of one broken response stream before the call fails.
const MAX_RESUMES: u32 = 5;

/// What resuming a response stream needs.
struct Resume {
    client: reqwest::Client,
    url: Url,
    headers: HeaderMap,
}

/// The position in a response stream: the last event id and the server's `retry:`.
struct StreamCursor {
    last_id: Option<String>,
    retry: Duration,
}

impl Default for StreamCursor {
    fn default() -> Self {
        StreamCursor {
            last_id: None,
            retry: Duration::from_millis(500),
        }
    }
}

impl StreamCursor {
    fn on_event(&mut self, peer: &Peer, on: Option<i64>, ev: mcp_wire::sse::Event) {
        if let Some(id) = ev.id {
            self.last_id = Some(id);
        }
        if let Some(ms) = ev.retry_ms {
            self.retry = Duration::from_millis(ms);
        }
        dispatch_data_on(peer, on, &ev.data);
    }
}

/// One body or event's data: a message, or a batch of them.
pub fn dispatch_data(peer: &Peer, data: &str) {
    dispatch_data_on(peer, None, data)
}

/// The same, for data that arrived on the response stream of request `on`.
fn dispatch_data_on(peer: &Peer, on: Option<i64>, data: &str) {
    dispatch_bytes(peer, on, data)
}

/// A body or event's data as received: whitespace only is nothing (priming
/// events), anything else is a message or a batch (an owned body becomes
/// its text without a copy).
fn dispatch_bytes(peer: &Peer, on: Option<i64>, data: impl Input + AsRef<[u8]>) {
    if data.as_ref().iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match Message::parse(data) {
        Ok(Parsed::Single(m)) => peer.dispatch_on(on, m),
        Ok(Parsed::Batch(items)) => items
            .into_iter()
            .flatten()
            .for_each(|m| peer.dispatch_on(on, m)),
        Err(e) => {
            tracing::warn!(backend = %peer.backend(), "ignoring invalid message from backend: {e}")
        }
    }
}

/// Read a whole body, refusing more than `max` bytes. A body that arrives
/// in one piece is returned without a copy.
pub async fn read_limited<B>(mut body: B, max: usize) -> Result<Bytes, UpstreamError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut first: Option<Bytes> = None;
    let mut rest = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| UpstreamError::Send(e.to_string()))?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        let len = first.as_ref().map_or(0, Bytes::len) + rest.len();
        if len + chunk.len() > max {
            return Err(UpstreamError::TooLarge { limit: max });
        }
        match &first {
            None => first = Some(chunk),
            Some(f) => {
                if rest.is_empty() {
                    rest.extend_from_slice(f);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if rest.is_empty() {
        first.unwrap_or_default()
    } else {
        Bytes::from(rest)
    })
}

/// Feed an SSE body through the decoder until it ends.
pub async fn pump_sse<B>(
    mut body: B,
    max: usize,
    mut on_event: impl FnMut(mcp_wire::sse::Event),
) -> Result<(), String>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let mut decoder = mcp_wire::sse::Decoder::new(max);
    let mut events = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| e.to_string())?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        decoder
            .feed(&chunk, &mut events)
            .map_err(|e| e.to_string())?;
        for ev in events.drain(..) {
            on_event(ev);
        }
    }
    Ok(())
}

/// Client errors print their whole source chain only through `{:#}`-like walking.
pub fn describe(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
