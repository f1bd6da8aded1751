//! Streamable HTTP backends (2025-03-26 and later).
//!
//! Every message is a POST. The answer is 202 (notifications, responses),
//! one JSON message, or an SSE stream that carries the response and anything
//! related to it. The session id from the initialize response and the
//! negotiated protocol version ride along on every later request. After
//! initialisation a GET stream is opened for server-initiated messages when
//! the server offers one.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::StreamExt;
use mcp_wire::{Message, Parsed};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::{Response, StatusCode, Url};

use super::peer::Peer;
use super::{LinkOptions, UpstreamError};

pub const SESSION_HEADER: &str = "mcp-session-id";
pub const VERSION_HEADER: &str = "mcp-protocol-version";

pub struct HttpLink {
    client: reqwest::Client,
    url: Url,
    headers: HeaderMap,
    session: RwLock<Option<HeaderValue>>,
    version: RwLock<Option<HeaderValue>>,
    peer: Arc<Peer>,
    max: usize,
    /// The backend speaks 2026-07-28: routing headers on every POST, no
    /// session, errors as JSON bodies of 4xx answers.
    stateless: std::sync::atomic::AtomicBool,
}

impl HttpLink {
    pub fn new(
        client: reqwest::Client,
        url: &str,
        headers: HeaderMap,
        peer: Arc<Peer>,
        opts: &LinkOptions,
    ) -> Result<Arc<Self>, UpstreamError> {
        let url = Url::parse(url).map_err(|e| UpstreamError::Start {
            backend: peer.backend().into(),
            reason: e.to_string(),
        })?;
        Ok(Arc::new(HttpLink {
            client,
            url,
            headers,
            session: RwLock::new(None),
            version: RwLock::new(None),
            peer,
            max: opts.max_message_size,
            stateless: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Speak 2026-07-28 to this backend (or stop).
    pub fn set_stateless(&self, on: bool) {
        self.stateless
            .store(on, std::sync::atomic::Ordering::Relaxed);
        let version = on.then(|| HeaderValue::from_static(mcp_wire::version::MODERN));
        *self.version.write().unwrap_or_else(|p| p.into_inner()) = version;
    }

    fn is_stateless(&self) -> bool {
        self.stateless.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every later request carries the negotiated version.
    pub fn set_protocol_version(&self, v: &str) {
        *self.version.write().unwrap_or_else(|p| p.into_inner()) = HeaderValue::from_str(v).ok();
    }

    fn request_headers(&self) -> HeaderMap {
        let mut h = self.headers.clone();
        if let Some(s) = self
            .session
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            h.insert(HeaderName::from_static(SESSION_HEADER), s);
        }
        if let Some(v) = self
            .version
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            h.insert(HeaderName::from_static(VERSION_HEADER), v);
        }
        h
    }

    pub async fn send(&self, msg: &Message) -> Result<(), UpstreamError> {
        let mut req = self
            .client
            .post(self.url.clone())
            .headers(self.request_headers())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        let stateless = self.is_stateless();
        if stateless {
            for (name, value) in super::era::routing_headers(msg) {
                req = req.header(name, value);
            }
        }
        let resp = req
            .body(msg.to_bytes())
            .send()
            .await
            .map_err(|e| UpstreamError::Send(describe(&e)))?;
        if msg.method() == "initialize" {
            if let Some(s) = resp.headers().get(SESSION_HEADER) {
                *self.session.write().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
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
            && content_type(&resp).starts_with("application/json")
        {
            // A stateless backend's JSON-RPC error: the answer to this request.
            let body = read_limited(resp, self.max).await.unwrap_or_default();
            return match Message::parse_one(&body) {
                Ok(answer) if answer.id.is_some() && answer.id == msg.id => {
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
            let body = read_limited(resp, 512).await.unwrap_or_default();
            return Err(UpstreamError::Http {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let is_sse = content_type(&resp).starts_with("text/event-stream");
        if is_sse {
            let peer = self.peer.clone();
            let max = self.max;
            let id = match &msg.id {
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
                let mut result = pump_sse(resp, max, |ev| cursor.on_event(&peer, id, ev)).await;
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
                        .header("last-event-id", event_id)
                        .send()
                        .await;
                    match resp {
                        Ok(r)
                            if r.status().is_success()
                                && content_type(&r).starts_with("text/event-stream") =>
                        {
                            tracing::debug!(backend = %peer.backend(), attempts, "resumed a response stream");
                            result = pump_sse(r, max, |ev| cursor.on_event(&peer, id, ev)).await;
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
        let body = read_limited(resp, self.max).await?;
        if !body.iter().all(u8::is_ascii_whitespace) {
            dispatch_data(&self.peer, &String::from_utf8_lossy(&body));
        }
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
                    req = req.header("last-event-id", id.as_str());
                }
                let resp = tokio::select! {
                    r = req.send() => r,
                    _ = link.peer.closed() => return,
                };
                match resp {
                    Ok(r)
                        if r.status().is_success()
                            && content_type(&r).starts_with("text/event-stream") =>
                    {
                        delay = Duration::from_millis(500);
                        let peer = link.peer.clone();
                        let mut retry = None;
                        let pump = pump_sse(r, link.max, |ev| {
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

fn content_type(resp: &Response) -> &str {
    resp.headers()
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
    if data.trim().is_empty() {
        return; // priming events carry no data
    }
    match Message::parse(data.as_bytes()) {
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

/// Read a whole body, refusing more than `max` bytes.
pub async fn read_limited(resp: Response, max: usize) -> Result<Vec<u8>, UpstreamError> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| UpstreamError::Send(describe(&e)))?;
        if out.len() + chunk.len() > max {
            return Err(UpstreamError::TooLarge { limit: max });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Feed an SSE response through the decoder until it ends.
pub async fn pump_sse(
    resp: Response,
    max: usize,
    mut on_event: impl FnMut(mcp_wire::sse::Event),
) -> Result<(), String> {
    let mut decoder = mcp_wire::sse::Decoder::new(max);
    let mut stream = resp.bytes_stream();
    let mut events = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| describe(&e))?;
        decoder
            .feed(&chunk, &mut events)
            .map_err(|e| e.to_string())?;
        for ev in events.drain(..) {
            on_event(ev);
        }
    }
    Ok(())
}

/// reqwest errors print their whole source chain only through `{:#}`-like walking.
pub fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
