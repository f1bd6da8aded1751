//! A live link to one backend: send requests with deadlines, notifications,
//! answers to server requests; the initialize handshake.

use std::sync::Arc;
use std::time::Duration;

use mcp_wire::object::{member_at, with_member_at};
use mcp_wire::{
    codes, raw, version, Call, ErrorObject, Id, Json, Message, Outgoing, Params, Valid,
};
use serde::Deserialize;
use serde_json::json;

use super::era::{self, Era};
use super::http::HttpLink;
use super::peer::{CallContext, Peer};
use super::sse::SseLink;
use super::stdio::StdioLink;
use super::ws::WsLink;
use super::{LinkOptions, UpstreamError};
use crate::catalog::Tool;
use crate::config::Transport;
use crate::mention::Mention;

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
    pub capabilities: Json,
    pub server_info: Json,
    pub instructions: Option<String>,
}

pub struct Connection {
    pub peer: Arc<Peer>,
    pub link: Link,
    pub era: Era,
    /// The level a session-era client set with logging/setLevel, sent to a
    /// stateless backend on every request.
    log_level: std::sync::Mutex<Option<String>>,
    /// Stateless backends: the listen request behind each resource
    /// subscription, by URI.
    listens: std::sync::Mutex<std::collections::HashMap<String, i64>>,
    /// Request deadlines, kept between calls.
    deadlines: crate::timers::Timers,
}

/// How long a `server/discover` probe waits before deciding "session era".
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

impl Connection {
    /// Open the transport and find the backend's era unless `era` knows it
    /// (the verdict is written there as soon as it is known): a stateless
    /// backend answers `server/discover`; any other backend gets the
    /// initialize handshake.
    pub async fn open(
        transport: &Transport,
        peer: Arc<Peer>,
        client: &reqwest::Client,
        opts: &LinkOptions,
        era: &std::sync::Mutex<Option<Era>>,
    ) -> Result<(Connection, InitInfo), UpstreamError> {
        let known = *era.lock().unwrap_or_else(|p| p.into_inner());
        let learn = |verdict: Era| *era.lock().unwrap_or_else(|p| p.into_inner()) = Some(verdict);
        let link = match transport {
            Transport::Stdio { .. } => {
                let stdio = StdioLink::spawn(transport, peer.clone(), opts).await?;
                let modern = match known {
                    Some(era) => era == Era::Stateless,
                    None => {
                        // The spec's probe, on the process that will serve: a
                        // session-era server answers it with an error (or not at
                        // all) and then takes `initialize`. One that exits instead
                        // fails this connect; the next starts knowing its era.
                        let probe = Connection::new(
                            peer.clone(),
                            Link::Stdio(stdio.clone()),
                            Era::Stateless,
                        );
                        let modern = probe
                            .ask_discover(opts)
                            .await
                            .ok()
                            .and_then(|a| a.result)
                            .is_some_and(|r| era::discovered(&r).is_some());
                        tracing::debug!(backend = %peer.backend(), modern, "server/discover probe");
                        modern
                    }
                };
                learn(if modern { Era::Stateless } else { Era::Session });
                let link = Link::Stdio(stdio);
                if modern {
                    return Connection::new(peer, link, Era::Stateless)
                        .discover(opts)
                        .await;
                }
                link
            }
            Transport::Http { url, headers } => {
                let link = HttpLink::new(
                    client.clone(),
                    url,
                    header_map(peer.backend(), headers)?,
                    peer.clone(),
                    opts,
                )?;
                if known != Some(Era::Session) {
                    link.set_stateless(true);
                    let conn =
                        Connection::new(peer.clone(), Link::Http(link.clone()), Era::Stateless);
                    match conn.discover(opts).await {
                        Ok(found) => {
                            learn(Era::Stateless);
                            return Ok(found);
                        }
                        Err(e) if known == Some(Era::Stateless) => return Err(e),
                        // Not reached at all: no verdict yet.
                        Err(e @ (UpstreamError::Send(_) | UpstreamError::Closed { .. })) => {
                            return Err(e)
                        }
                        Err(e) => {
                            tracing::debug!(backend = %peer.backend(), "no server/discover ({e}): session era")
                        }
                    }
                    link.set_stateless(false);
                    learn(Era::Session);
                }
                let conn = Connection::new(peer.clone(), Link::Http(link), Era::Session);
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
        let conn = Connection::new(peer, link, Era::Session);
        let info = conn.initialize(opts.connect_timeout).await;
        match info {
            Ok(info) => Ok((conn, info)),
            Err(e) => {
                conn.shutdown().await;
                Err(e)
            }
        }
    }

    fn new(peer: Arc<Peer>, link: Link, era: Era) -> Connection {
        Connection {
            peer,
            link,
            era,
            log_level: std::sync::Mutex::new(None),
            listens: std::sync::Mutex::new(std::collections::HashMap::new()),
            deadlines: Default::default(),
        }
    }

    /// A stateless backend's `server/discover`, as what initialize would
    /// have told; then a listen for its list changes.
    async fn discover(self, opts: &LinkOptions) -> Result<(Connection, InitInfo), UpstreamError> {
        let result = result_of(self.ask_discover(opts).await?)?;
        let Some((capabilities, server_info, instructions)) = era::discovered(&result) else {
            return Err(UpstreamError::Protocol(
                "server/discover did not name protocol version 2026-07-28".into(),
            ));
        };
        let (id, _) = self.peer.register()?;
        self.peer.forget(id); // its notifications go to the actor; no answer is awaited
        let filter = raw(
            &json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true}}),
        );
        let listen = Message::request(
            Id::Num(id),
            "subscriptions/listen",
            Some(era::stamp(Some(&filter), None)),
        );
        if let Err(e) = self.link.send(listen.outgoing()).await {
            tracing::debug!(backend = %self.peer.backend(), "no list-change subscription: {e}");
        }
        let info = InitInfo {
            protocol_version: version::MODERN.into(),
            capabilities,
            server_info,
            instructions,
        };
        Ok((self, info))
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
            capabilities: Option<Json>,
            #[serde(default)]
            server_info: Option<Json>,
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
        params: Option<&Json>,
        deadline: Duration,
    ) -> Result<Message, UpstreamError> {
        let params = params.map(Params::Raw);
        self.request_with(method, params, deadline, CallContext::default())
            .await
    }

    /// A request whose related messages (progress, logs, server requests)
    /// go to `sink`. The client's progress token is swapped for the upstream
    /// id (unique on this connection) and restored on the way back.
    pub async fn request_with(
        &self,
        method: &str,
        params: Option<Params<'_>>,
        deadline: Duration,
        ctx: CallContext,
    ) -> Result<Message, UpstreamError> {
        match self.era {
            Era::Session => self.exchange(method, params, deadline, ctx).await,
            Era::Stateless => self.stateless(method, params, deadline, ctx).await,
        }
    }

    /// A request to a stateless backend for a client of any era: the
    /// session-era methods it lacks are emulated; the envelope goes on every
    /// request; each round of questions is put to the calling client and
    /// the request retried with its answers.
    async fn stateless(
        &self,
        method: &str,
        params: Option<Params<'_>>,
        deadline: Duration,
        ctx: CallContext,
    ) -> Result<Message, UpstreamError> {
        let params = params.map(Params::to_raw);
        let params = params.as_deref();
        let done = |result: serde_json::Value| Ok(Message::response(Id::Num(0), raw(&result)));
        match method {
            "ping" => return done(json!({})),
            "logging/setLevel" => {
                #[derive(Deserialize)]
                struct L {
                    level: String,
                }
                let level = params.and_then(|p| serde_json::from_str::<L>(p.get()).ok());
                *self.log_level.lock().unwrap_or_else(|p| p.into_inner()) = level.map(|l| l.level);
                return done(json!({}));
            }
            "resources/subscribe" | "resources/unsubscribe" => {
                return self
                    .subscription(method, params)
                    .await
                    .and_then(|()| done(json!({})));
            }
            _ => {}
        }
        let level = self
            .log_level
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let original = era::stamp(params, level.as_deref());
        let mut params = original.clone();
        for _ in 0..era::MAX_ROUNDS {
            let answer = self
                .exchange(method, Some(Params::Raw(&params)), deadline, ctx.clone())
                .await?;
            let Some(questions) = answer.result.as_ref().and_then(era::questions) else {
                return Ok(hop_errors_hidden(answer));
            };
            let answers = self.ask_client(questions.requests, &ctx).await?;
            params = era::retry_params(&original, &answers, questions.state.as_deref());
        }
        Err(UpstreamError::Protocol(format!(
            "{method}: still asking after {} rounds",
            era::MAX_ROUNDS
        )))
    }

    /// Put a round of a stateless backend's questions to the calling client
    /// (as ordinary server-to-client requests), all at once.
    async fn ask_client(
        &self,
        requests: Vec<(String, Message)>,
        ctx: &CallContext,
    ) -> Result<Vec<(String, Json)>, UpstreamError> {
        let Some(sink) = &ctx.sink else {
            return Err(UpstreamError::Protocol(
                "the backend asks the client something, but no client can be asked".into(),
            ));
        };
        let mut waiting = Vec::new();
        for (key, msg) in requests {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if sink
                .send(super::Related::Request {
                    msg: Box::new(msg),
                    reply,
                })
                .await
                .is_err()
            {
                return Err(UpstreamError::Protocol("the calling client is gone".into()));
            }
            waiting.push((key, answer));
        }
        let mut answers = Vec::new();
        for (key, answer) in waiting {
            match answer.await {
                Ok(Ok(result)) => answers.push((key, result)),
                Ok(Err(error)) => {
                    return Err(UpstreamError::Protocol(format!(
                        "the client could not answer the backend's question: {}",
                        error.get()
                    )))
                }
                Err(_) => return Err(UpstreamError::Protocol("the calling client is gone".into())),
            }
        }
        Ok(answers)
    }

    /// resources/subscribe for a stateless backend: a listen request for
    /// that resource, left open until resources/unsubscribe.
    async fn subscription(&self, method: &str, params: Option<&Json>) -> Result<(), UpstreamError> {
        #[derive(Deserialize)]
        struct U {
            uri: String,
        }
        let uri = params
            .and_then(|p| serde_json::from_str::<U>(p.get()).ok())
            .map(|u| u.uri)
            .ok_or_else(|| UpstreamError::Protocol(format!("{method} needs a uri")))?;
        let listens = || self.listens.lock().unwrap_or_else(|p| p.into_inner());
        if method == "resources/unsubscribe" {
            let listen = listens().remove(&uri);
            if let Some(id) = listen {
                let cancel = raw(&json!({"requestId": id, "reason": "unsubscribed"}));
                let _ = self.notify("notifications/cancelled", Some(cancel)).await;
            }
            return Ok(());
        }
        if listens().contains_key(&uri) {
            return Ok(());
        }
        let (id, _) = self.peer.register()?;
        self.peer.forget(id);
        let filter = raw(&json!({"notifications": {"resourceSubscriptions": [&uri]}}));
        let listen = Message::request(
            Id::Num(id),
            "subscriptions/listen",
            Some(era::stamp(Some(&filter), None)),
        );
        self.link.send(listen.outgoing()).await?;
        listens().insert(uri, id);
        Ok(())
    }

    /// `server/discover`, within the probe's deadline. Asked again once
    /// when refused as an unsupported version while naming 2026-07-28 as
    /// supported: the retry with a supported version the spec asks for.
    async fn ask_discover(&self, opts: &LinkOptions) -> Result<Message, UpstreamError> {
        let deadline = opts.connect_timeout.min(PROBE_TIMEOUT);
        let params = era::stamp(None, None);
        let ask = || {
            self.exchange(
                "server/discover",
                Some(Params::Raw(&params)),
                deadline,
                CallContext::default(),
            )
        };
        let answer = ask().await?;
        if era::supports_modern_after_all(&answer) {
            return ask().await;
        }
        Ok(answer)
    }

    /// One request and its answer.
    async fn exchange(
        &self,
        method: &str,
        params: Option<Params<'_>>,
        deadline: Duration,
        mut ctx: CallContext,
    ) -> Result<Message, UpstreamError> {
        static PROGRESS_TOKEN: Mention = Mention::new("progressToken");
        let (id, rx) = self.peer.register()?;
        let mut rewritten = None;
        if let Some(sink) = ctx.sink.take() {
            // Parse only when the text can hold a token (hot path: most calls have none).
            let token = params
                .filter(|p| p.meta_text().is_some_and(|t| PROGRESS_TOKEN.in_text(t)))
                .and_then(progress_token);
            if token.is_some() {
                rewritten = params.and_then(|p| token_swapped(p, id));
            }
            self.peer.attach(id, sink, token, &ctx);
        }
        let _route = DetachOnDrop(&self.peer, id);
        let upstream_id = Id::Num(id);
        let params = match (params, rewritten.as_ref()) {
            (Some(Params::Call(call)), Some(meta)) => Some(Params::Call(Call {
                meta: Some(meta.as_valid()),
                ..call
            })),
            (Some(_), Some(whole)) => Some(Params::Edited(whole.as_valid())),
            (params, _) => params,
        };
        let msg = Outgoing::request(&upstream_id, method, params);
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
            match &ctx.cancelled {
                Some(cancel) => cancel.fired().await.to_owned(),
                None => std::future::pending().await,
            }
        };
        let timeout = async {
            tokio::select! {
                biased;
                r = exchange => Ok(r),
                () = self.deadlines.start(deadline) => Err(()),
            }
        };
        let outcome = tokio::select! {
            r = timeout => r,
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

    pub async fn notify(&self, method: &str, params: Option<Json>) -> Result<(), UpstreamError> {
        if self.era == Era::Stateless && method == "notifications/roots/list_changed" {
            return Ok(()); // roots are asked for per request in that era
        }
        self.link
            .send(Message::notification(method, params).outgoing())
            .await
    }

    /// Answer a request the backend sent us.
    /// Keep the tools a client may call: over Streamable HTTP in the
    /// stateless era, a tool whose `x-mcp-header` annotations are invalid is
    /// dropped (as the spec asks of clients) and the others' are remembered
    /// for the `Mcp-Param-*` headers of their calls.
    pub fn usable_tools(&self, tools: Vec<Tool>) -> Vec<Tool> {
        let Link::Http(http) = &self.link else {
            return tools;
        };
        if self.era != Era::Stateless {
            return tools;
        }
        let mut declared = std::collections::HashMap::new();
        let kept = tools
            .into_iter()
            .filter(|t| {
                let schema = serde_json::from_str(t.input_schema.get()).unwrap_or_default();
                match crate::modern::headers::declared(&schema) {
                    Ok(params) if params.is_empty() => true,
                    Ok(params) => {
                        declared.insert(t.name.clone(), params);
                        true
                    }
                    Err(why) => {
                        tracing::warn!(backend = %self.peer.backend(), tool = %t.name, "tool left out: {why}");
                        false
                    }
                }
            })
            .collect();
        http.set_param_headers(declared);
        kept
    }

    pub async fn respond(&self, id: Id, answer: Result<Json, Json>) {
        self.peer.answered(&id);
        let msg = match answer {
            Ok(result) => Message::response(id, result),
            Err(error) => Message::error_raw(Some(id), error),
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

/// A stateless backend's header, capability and version errors are about
/// the gateway's hop, never the client's request: they become internal
/// errors.
fn hop_errors_hidden(answer: Message) -> Message {
    let hop = answer.error_object().filter(|e| {
        matches!(
            e.code,
            codes::HEADER_MISMATCH
                | codes::MISSING_REQUIRED_CLIENT_CAPABILITY
                | codes::UNSUPPORTED_PROTOCOL_VERSION
        )
    });
    match hop {
        Some(e) => {
            let hidden = ErrorObject::new(
                codes::INTERNAL_ERROR,
                format!(
                    "the backend refused the gateway's request: {} ({})",
                    e.message, e.code
                ),
            );
            Message {
                error: Some(hidden.to_raw()),
                ..answer
            }
        }
        None => answer,
    }
}

struct DetachOnDrop<'a>(&'a Peer, i64);

impl Drop for DetachOnDrop<'_> {
    fn drop(&mut self) {
        self.0.detach(self.1);
    }
}

/// The client's `_meta.progressToken`, found without parsing the params
/// (whose arguments may be large).
fn progress_token(params: Params<'_>) -> Option<Json> {
    let (holder, path) = token_place(params)?;
    let token = member_at(holder, path).filter(|t| !t.is_null())?;
    serde_json::from_str(token.get()).ok()
}

/// With ours in place of the client's progress token: the params, or for a
/// composed call its `_meta` alone (the arguments are not copied). Put
/// together from checked text, so not checked again.
fn token_swapped(params: Params<'_>, id: i64) -> Option<Json> {
    let (holder, path) = token_place(params)?;
    with_member_at(holder, path, &raw(&id))
}

/// Where the token is: the params at `_meta.progressToken`, or a composed
/// call's `_meta` at `progressToken`.
fn token_place(params: Params<'_>) -> Option<(Valid<'_>, &'static [&'static str])> {
    const IN_PARAMS: &[&str] = &["_meta", "progressToken"];
    match params {
        Params::Raw(raw) | Params::Sent(raw, _) => Some((raw.into(), IN_PARAMS)),
        Params::Edited(text) => Some((text, IN_PARAMS)),
        Params::Call(call) => Some((call.meta?, &["progressToken"])),
    }
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
pub fn result_of(msg: Message) -> Result<Json, UpstreamError> {
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

#[cfg(test)]
mod tests {
    use super::{progress_token, token_swapped};
    use mcp_wire::{Call, Json, Params};

    #[test]
    fn the_clients_progress_token_is_found_and_replaced_in_place() {
        let args = format!(r#"{{"text":"{}"}}"#, "x".repeat(20_000));
        let params = mcp_wire::raw(&serde_json::json!({
            "name": "t",
            "arguments": serde_json::from_str::<serde_json::Value>(&args).unwrap(),
            "_meta": {"progressToken": "client-1", "com.example/trace": 3},
        }));
        let sent = Params::Raw(&params);
        assert_eq!(progress_token(sent).unwrap().get(), r#""client-1""#);
        let ours = token_swapped(sent, 42).unwrap();
        let v: serde_json::Value = serde_json::from_str(ours.as_valid().get()).unwrap();
        assert_eq!(v["_meta"]["progressToken"], 42);
        assert_eq!(v["_meta"]["com.example/trace"], 3);
        assert_eq!(v["arguments"]["text"].as_str().unwrap().len(), 20_000);
        for none in [
            r#"{"_meta":{"progressToken":null}}"#,
            r#"{"_meta":{}}"#,
            r#"{"progressToken":1}"#,
        ] {
            let p: Json = serde_json::from_str(none).unwrap();
            assert!(progress_token(Params::Raw(&p)).is_none(), "{none}");
        }
    }

    #[test]
    fn a_composed_calls_token_is_swapped_in_its_meta_alone() {
        let meta: Json = serde_json::from_str(r#"{"progressToken":7,"k":"v"}"#).unwrap();
        let args = mcp_wire::raw(&serde_json::json!({"text": "x".repeat(1_000)}));
        let parts = Call {
            name: "echo",
            arguments: Some((&args).into()),
            meta: Some((&meta).into()),
            task: None,
            within: None,
        };
        let call = Params::Call(parts);
        assert_eq!(progress_token(call).unwrap().get(), "7");
        let ours = token_swapped(call, 42).unwrap();
        assert_eq!(ours.as_valid().get(), r#"{"progressToken":42,"k":"v"}"#);
        let bare = Params::Call(Call {
            meta: None,
            ..parts
        });
        assert!(progress_token(bare).is_none());
        assert!(token_swapped(bare, 1).is_none());
    }
}
