//! A live link to one backend: send requests with deadlines, notifications,
//! answers to server requests; the initialize handshake.

use std::sync::Arc;
use std::time::Duration;

use mcp_wire::{raw, version, Id, Message, Outgoing};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::http::HttpLink;
use super::peer::{CallContext, Peer};
use super::sse::SseLink;
use super::stdio::StdioLink;
use super::ws::WsLink;
use super::{LinkOptions, UpstreamError};
use crate::config::Transport;

/// The transports behind one closed enum, so dispatch is a match, not a vtable.
pub enum Link {
    Stdio(Arc<StdioLink>),
    Http(Arc<HttpLink>),
    Sse(Arc<SseLink>),
    Ws(Arc<WsLink>),
}

impl Link {
    async fn send(&self, msg: Outgoing<'_>) -> Result<(), UpstreamError> {
        match self {
            Link::Stdio(l) => l.send(msg).await,
            Link::Http(l) => l.send(msg).await,
            Link::Sse(l) => l.send(msg).await,
            Link::Ws(l) => l.send(msg).await,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Link::Stdio(_) => "stdio",
            Link::Http(_) => "http",
            Link::Sse(_) => "sse",
            Link::Ws(_) => "websocket",
        }
    }
}

/// What the backend said about itself in its initialize result.
#[derive(Debug, Clone)]
pub struct InitInfo {
    pub protocol_version: String,
    pub capabilities: Box<RawValue>,
    pub server_info: Box<RawValue>,
    pub instructions: Option<String>,
}

pub struct Connection {
    pub peer: Arc<Peer>,
    pub link: Link,
}

impl Connection {
    /// Open the transport and run the initialize handshake.
    pub async fn open(
        transport: &Transport,
        peer: Arc<Peer>,
        client: &reqwest::Client,
        opts: &LinkOptions,
    ) -> Result<(Connection, InitInfo), UpstreamError> {
        let link = match transport {
            Transport::Stdio { .. } => {
                Link::Stdio(StdioLink::spawn(transport, peer.clone(), opts).await?)
            }
            Transport::Http { url, headers } => {
                let link = HttpLink::new(
                    client.clone(),
                    url,
                    header_map(peer.backend(), headers)?,
                    peer.clone(),
                    opts,
                )?;
                let conn = Connection {
                    peer: peer.clone(),
                    link: Link::Http(link),
                };
                match conn.initialize(opts.connect_timeout).await {
                    Ok(info) => return Ok((conn, info)),
                    // The spec's fallback: a 2024-11-05 server rejects the POST; try its SSE stream.
                    Err(UpstreamError::Http {
                        status: 400 | 404 | 405,
                        ..
                    }) => {
                        tracing::info!(backend = %peer.backend(), "POST initialize rejected; trying the legacy HTTP+SSE transport");
                        legacy_sse(client, url, headers, &peer, opts).await?
                    }
                    Err(e) => return Err(e),
                }
            }
            Transport::Sse { url, headers } => {
                legacy_sse(client, url, headers, &peer, opts).await?
            }
            Transport::WebSocket { url, headers } => {
                Link::Ws(WsLink::connect(url, headers, peer.clone(), opts).await?)
            }
        };
        let conn = Connection { peer, link };
        let info = conn.initialize(opts.connect_timeout).await;
        match info {
            Ok(info) => Ok((conn, info)),
            Err(e) => {
                conn.shutdown().await;
                Err(e)
            }
        }
    }

    async fn initialize(&self, deadline: Duration) -> Result<InitInfo, UpstreamError> {
        let params = raw(&json!({
            "protocolVersion": version::LATEST,
            "capabilities": {"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": true}},
            "clientInfo": {"name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION")},
        }));
        let resp = self.request("initialize", Some(&params), deadline).await?;
        let result = result_of(resp)?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct InitResult {
            protocol_version: String,
            #[serde(default)]
            capabilities: Option<Box<RawValue>>,
            #[serde(default)]
            server_info: Option<Box<RawValue>>,
            #[serde(default)]
            instructions: Option<String>,
        }
        let init: InitResult = serde_json::from_str(result.get())
            .map_err(|e| UpstreamError::Protocol(format!("bad initialize result: {e}")))?;
        if !version::is_supported(&init.protocol_version) {
            return Err(UpstreamError::Protocol(format!(
                "backend speaks protocol version {:?}, which the gateway does not",
                init.protocol_version
            )));
        }
        if let Link::Http(l) = &self.link {
            l.set_protocol_version(&init.protocol_version);
        }
        self.notify("notifications/initialized", None).await?;
        if let Link::Http(l) = &self.link {
            l.spawn_get_stream();
        }
        Ok(InitInfo {
            protocol_version: init.protocol_version,
            capabilities: init.capabilities.unwrap_or_else(|| raw(&json!({}))),
            server_info: init.server_info.unwrap_or_else(|| raw(&json!({}))),
            instructions: init.instructions,
        })
    }

    /// Send a request under a fresh upstream id and wait for its answer (a
    /// response or an error message). On timeout the backend is told to
    /// cancel.
    pub async fn request(
        &self,
        method: &str,
        params: Option<&RawValue>,
        deadline: Duration,
    ) -> Result<Message, UpstreamError> {
        self.request_with(method, params, deadline, CallContext::default())
            .await
    }

    /// A request whose related messages (progress, logs, server requests)
    /// go to `sink`. The client's progress token is swapped for the upstream
    /// id (unique on this connection) and restored on the way back.
    pub async fn request_with(
        &self,
        method: &str,
        params: Option<&RawValue>,
        deadline: Duration,
        ctx: CallContext,
    ) -> Result<Message, UpstreamError> {
        let (id, rx) = self.peer.register()?;
        let mut rewritten = None;
        if let Some(sink) = ctx.sink {
            // Parse only when the text can hold a token (hot path: most calls have none).
            let token = params
                .filter(|p| memchr::memmem::find(p.get().as_bytes(), b"progressToken").is_some())
                .and_then(progress_token);
            if token.is_some() {
                rewritten = params.and_then(|p| with_progress_token(p, id));
            }
            self.peer.attach(id, sink, token);
        }
        let _route = DetachOnDrop(&self.peer, id);
        let upstream_id = Id::Num(id);
        let msg = Outgoing::request(&upstream_id, method, rewritten.as_deref().or(params));
        let exchange = async {
            self.link.send(msg).await?;
            rx.await.unwrap_or_else(|_| {
                Err(UpstreamError::Closed {
                    backend: self.peer.backend().into(),
                    reason: "dropped".into(),
                })
            })
        };
        let cancelled = async {
            let Some(mut rx) = ctx.cancelled else {
                return std::future::pending::<String>().await;
            };
            let fired = rx.wait_for(Option::is_some).await.is_ok();
            if !fired {
                return std::future::pending().await;
            }
            let reason = rx.borrow().clone().unwrap_or_default();
            reason
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout(deadline, exchange) => r,
            reason = cancelled => {
                self.peer.forget(id);
                let cancel = raw(&json!({"requestId": id, "reason": reason}));
                let _ = self.notify("notifications/cancelled", Some(cancel)).await;
                tracing::debug!(backend = %self.peer.backend(), upstream_id = id, "client cancelled; sent notifications/cancelled upstream");
                return Err(UpstreamError::Cancelled);
            }
        };
        match outcome {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => {
                self.peer.forget(id);
                Err(e)
            }
            Err(_) => {
                self.peer.forget(id);
                if method != "initialize" {
                    let cancel =
                        raw(&json!({"requestId": id, "reason": "mcp-gateway: request timed out"}));
                    let _ = self.notify("notifications/cancelled", Some(cancel)).await;
                }
                Err(UpstreamError::Timeout {
                    backend: self.peer.backend().into(),
                    after: deadline,
                })
            }
        }
    }

    pub async fn notify(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
    ) -> Result<(), UpstreamError> {
        self.link
            .send(Message::notification(method, params).outgoing())
            .await
    }

    /// Answer a request the backend sent us.
    pub async fn respond(&self, id: Id, answer: Result<Box<RawValue>, Box<RawValue>>) {
        let msg = match answer {
            Ok(result) => Message::response(id, result),
            Err(error) => Message {
                id: Some(id),
                method: None,
                params: None,
                result: None,
                error: Some(error),
            },
        };
        if let Err(e) = self.link.send(msg.outgoing()).await {
            tracing::debug!(backend = %self.peer.backend(), "could not answer a backend request: {e}");
        }
    }

    pub async fn shutdown(&self) {
        match &self.link {
            Link::Stdio(l) => l.shutdown().await,
            Link::Http(l) => l.shutdown().await,
            Link::Sse(l) => l.shutdown().await,
            Link::Ws(l) => l.shutdown().await,
        }
        self.peer.close("backend stopped");
    }
}

struct DetachOnDrop<'a>(&'a Peer, i64);

impl Drop for DetachOnDrop<'_> {
    fn drop(&mut self) {
        self.0.detach(self.1);
    }
}

fn progress_token(params: &RawValue) -> Option<Box<RawValue>> {
    #[derive(Deserialize)]
    struct P {
        #[serde(rename = "_meta")]
        meta: Option<M>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct M {
        progress_token: Option<Box<RawValue>>,
    }
    serde_json::from_str::<P>(params.get())
        .ok()?
        .meta?
        .progress_token
}

fn with_progress_token(params: &RawValue, id: i64) -> Option<Box<RawValue>> {
    #[derive(Deserialize)]
    struct P<'a> {
        #[serde(borrow, rename = "_meta")]
        meta: &'a RawValue,
    }
    let p: P = serde_json::from_str(params.get()).ok()?;
    let meta = mcp_wire::object::with_member(p.meta, "progressToken", &raw(&id))?;
    mcp_wire::object::with_member(params, "_meta", &meta)
}

/// A legacy HTTP+SSE link (forced by config, or the spec's fallback).
async fn legacy_sse(
    client: &reqwest::Client,
    url: &str,
    headers: &std::collections::BTreeMap<String, String>,
    peer: &Arc<Peer>,
    opts: &LinkOptions,
) -> Result<Link, UpstreamError> {
    let headers = header_map(peer.backend(), headers)?;
    Ok(Link::Sse(
        SseLink::connect(client.clone(), url, headers, peer.clone(), opts).await?,
    ))
}

/// The result of a response, or the backend's error as a protocol failure.
pub fn result_of(msg: Message) -> Result<Box<RawValue>, UpstreamError> {
    if let Some(r) = msg.result {
        return Ok(r);
    }
    let e = msg.error.map(|e| e.get().to_owned()).unwrap_or_default();
    Err(UpstreamError::Protocol(format!(
        "backend answered with an error: {e}"
    )))
}

fn header_map(
    backend: &str,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<reqwest::header::HeaderMap, UpstreamError> {
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in headers {
        let bad = |what: &str| UpstreamError::Start {
            backend: backend.into(),
            reason: format!("header {k:?}: invalid {what}"),
        };
        let name =
            reqwest::header::HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad("name"))?;
        let mut value = reqwest::header::HeaderValue::from_str(v).map_err(|_| bad("value"))?;
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}
