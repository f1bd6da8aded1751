//! One backend's actor: lifecycle, reconnects, tool-list cache, events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, ArcSwapOption};
use mcp_wire::{codes, raw, ErrorObject, Json, Message, Params};
use serde_json::json;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch, Notify};

use super::connection::{result_of, Connection, InitInfo};
use super::failsafe::{backoff, is_read_method, unit_random, Breaker, TokenBucket};
use super::peer::{CallContext, Event, Owner, Peer, Related};
use super::{Hooks, LinkOptions, UpstreamError};
use crate::catalog::listing::{self, Item, Lists};
use crate::catalog::{parse_tools_page, Tool};
use crate::config::BackendConfig;
use crate::search::index::DocIndex;

/// Characters of a server's own title and description kept as its description.
const SELF_DESCRIPTION_CHARS: usize = 300;

/// A server's words about itself in `serverInfo` (`Implementation`): its
/// title (else its name), then its description (2025-11-25), cut to
/// [`SELF_DESCRIPTION_CHARS`]; empty when it says nothing usable.
pub fn self_description(server_info: &Json) -> String {
    #[derive(serde::Deserialize)]
    struct Said {
        name: Option<String>,
        title: Option<String>,
        description: Option<String>,
    }
    let Ok(said) = serde_json::from_str::<Said>(server_info.get()) else {
        return String::new();
    };
    let text = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let parts: Vec<String> = [text(said.title).or(text(said.name)), text(said.description)]
        .into_iter()
        .flatten()
        .collect();
    parts
        .join(". ")
        .chars()
        .take(SELF_DESCRIPTION_CHARS)
        .collect()
}

/// The close reason that makes the actor start a new session at once.
const SESSION_EXPIRED: &str = "backend session expired";

/// Most pages of tools/list followed for one backend, and most tools kept.
const MAX_PAGES: usize = 100;
const MAX_TOOLS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// `enabled: false` in the config.
    Disabled,
    /// `lazy: true` and nobody has asked for it yet.
    Idle,
    Starting,
    Ready,
    Failed,
    Stopped,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Disabled => "disabled",
            State::Idle => "idle",
            State::Starting => "starting",
            State::Ready => "ready",
            State::Failed => "failed",
            State::Stopped => "stopped",
        }
    }
}

/// A snapshot of a backend's condition, swapped whole on every change.
#[derive(Debug, Clone)]
pub struct Status {
    pub state: State,
    /// Why it failed (or last failed), for /health and gateway_list_servers.
    pub reason: Option<String>,
    pub init: Option<InitInfo>,
    pub transport: &'static str,
    /// Successful (re)connects since the gateway started.
    pub connects: u32,
}

pub struct Backend {
    pub config: BackendConfig,
    /// `config.disabled_tools`, shared with every catalog snapshot.
    pub hidden: Arc<Vec<String>>,
    status: ArcSwap<Status>,
    conn: ArcSwapOption<Connection>,
    tools: ArcSwap<Vec<Tool>>,
    index: ArcSwap<DocIndex>,
    lists: ArcSwap<Lists>,
    /// Wakes a lazy backend.
    demand: Notify,
    stop: watch::Sender<bool>,
    hooks: Hooks,
    /// The era the backend speaks, once found (kept across reconnects).
    era: std::sync::Mutex<Option<super::era::Era>>,
    client: reqwest::Client,
    opts: LinkOptions,
    breaker: std::sync::Mutex<Breaker>,
    /// `failsafe.concurrency`: slots for calls, and how many wait for one.
    slots: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicU32,
    bucket: std::sync::Mutex<TokenBucket>,
    tool_ttl: Duration,
}

impl Backend {
    pub fn new(
        config: BackendConfig,
        client: reqwest::Client,
        opts: LinkOptions,
        tool_ttl: Duration,
        hooks: Hooks,
    ) -> Arc<Self> {
        let state = match (config.enabled, config.lazy) {
            (false, _) => State::Disabled,
            (true, true) => State::Idle,
            (true, false) => State::Starting,
        };
        let breaker = Breaker::new(config.failsafe.circuit_breaker.clone());
        let bucket = TokenBucket::new(config.failsafe.rate_limit.clone(), Instant::now());
        let slots = config.failsafe.concurrency.max_in_flight as usize;
        Arc::new(Backend {
            hidden: Arc::new(config.disabled_tools.clone()),
            status: ArcSwap::from_pointee(Status {
                state,
                reason: None,
                init: None,
                transport: config.transport.kind(),
                connects: 0,
            }),
            config,
            conn: ArcSwapOption::empty(),
            tools: ArcSwap::from_pointee(Vec::new()),
            index: ArcSwap::from_pointee(DocIndex::default()),
            lists: ArcSwap::from_pointee(Lists::default()),
            demand: Notify::new(),
            stop: watch::Sender::new(false),
            hooks,
            era: std::sync::Mutex::new(None),
            breaker: std::sync::Mutex::new(breaker),
            slots: tokio::sync::Semaphore::new(slots),
            waiting: std::sync::atomic::AtomicU32::new(0),
            bucket: std::sync::Mutex::new(bucket),
            client,
            opts,
            tool_ttl,
        })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    pub fn status(&self) -> Arc<Status> {
        self.status.load_full()
    }

    pub fn tools(&self) -> Arc<Vec<Tool>> {
        self.tools.load_full()
    }

    pub fn lists(&self) -> Arc<Lists> {
        self.lists.load_full()
    }

    pub fn index(&self) -> Arc<DocIndex> {
        self.index.load_full()
    }

    /// What the backend is for, as search and `gateway_list_servers` tell
    /// it: the config's `description`, else what the server said of itself
    /// when it last initialized ([`self_description`]).
    pub fn description(&self) -> String {
        if !self.config.description.trim().is_empty() {
            return self.config.description.clone();
        }
        self.status()
            .init
            .as_ref()
            .map(|i| self_description(&i.server_info))
            .unwrap_or_default()
    }

    /// Start the actor task.
    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.run().await })
    }

    /// Stop: close the link (stdin, SIGTERM, SIGKILL for children) and end the actor.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        if let Some(conn) = self.conn.swap(None) {
            conn.shutdown().await;
        }
        self.set_status(State::Stopped, None, None);
    }

    /// Send one request and wait for the backend's answer (response or error
    /// message, id still the upstream one).
    pub async fn request(
        &self,
        method: &str,
        params: Option<&Json>,
    ) -> Result<Message, UpstreamError> {
        self.request_with(method, params.map(Params::Raw), &CallContext::default())
            .await
    }

    /// A request on behalf of a client call: rate limit, circuit breaker,
    /// then the call, retried with backoff only when that is safe — a read,
    /// a tool the backend marks read-only or idempotent, or a failure before
    /// the request left the gateway. A call with side effects is never sent twice.
    pub async fn request_with(
        &self,
        method: &str,
        params: Option<Params<'_>>,
        ctx: &CallContext,
    ) -> Result<Message, UpstreamError> {
        let fs = &self.config.failsafe;
        if let Err(retry_after) = lock(&self.bucket).take(Instant::now()) {
            return Err(UpstreamError::RateLimited {
                backend: self.name().into(),
                retry_after,
            });
        }
        let _slot = self.slot().await?;
        let repeatable = is_read_method(method) || (method == "tools/call" && ctx.repeatable);
        let attempts = if fs.retry.enabled {
            fs.retry.max_attempts
        } else {
            1
        };
        let mut attempt = 1;
        let mut resent = false;
        loop {
            if let Err(retry_in) = lock(&self.breaker).admit(Instant::now()) {
                return Err(UpstreamError::CircuitOpen {
                    backend: self.name().into(),
                    retry_in,
                });
            }
            let result = match self.connection().await {
                Ok(conn) => match conn
                    .request_with(method, params, self.config.timeout, ctx.clone())
                    .await
                {
                    // 404 for our session: the request never reached a tool. Start a
                    // new session and send it again, once.
                    Err(UpstreamError::SessionExpired) if !resent => {
                        resent = true;
                        conn.peer.close(SESSION_EXPIRED);
                        continue;
                    }
                    other => other,
                },
                Err(e) => Err(e),
            };
            let failure = result.as_ref().err().filter(|e| e.is_backend_failure());
            lock(&self.breaker).record(failure.is_none(), Instant::now());
            let never_sent = matches!(failure, Some(UpstreamError::Unavailable { .. }));
            if failure.is_some() && attempt < attempts && (repeatable || never_sent) {
                let pause = backoff(&fs.retry, attempt, unit_random());
                tracing::debug!(backend = %self.name(), method, attempt, ?pause, "retrying a safe call");
                tokio::time::sleep(pause).await;
                attempt += 1;
                continue;
            }
            return result;
        }
    }

    /// A read on a given connection (before it is published), retried per
    /// the retry settings: reads are always safe to repeat.
    async fn read_with_retries(
        &self,
        conn: &Connection,
        method: &str,
        params: Option<Json>,
    ) -> Result<Message, UpstreamError> {
        let retry = &self.config.failsafe.retry;
        let attempts = if retry.enabled { retry.max_attempts } else { 1 };
        let mut attempt = 1;
        loop {
            match conn
                .request(method, params.as_ref(), self.config.timeout)
                .await
            {
                Err(e)
                    if e.is_backend_failure() && attempt < attempts && !conn.peer.is_closed() =>
                {
                    tokio::time::sleep(backoff(retry, attempt, unit_random())).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// A call slot: at once when one is free, after waiting in a bounded
    /// queue otherwise; past the queue, an overload error at once.
    async fn slot(&self) -> Result<tokio::sync::SemaphorePermit<'_>, UpstreamError> {
        use std::sync::atomic::Ordering;
        if let Ok(p) = self.slots.try_acquire() {
            return Ok(p);
        }
        let limits = &self.config.failsafe.concurrency;
        let overloaded = |queued| UpstreamError::Overloaded {
            backend: self.name().into(),
            in_flight: limits.max_in_flight,
            queued,
        };
        let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
        if queued >= limits.max_queued {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(overloaded(queued));
        }
        let permit = tokio::time::timeout(self.config.timeout, self.slots.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        match permit {
            Ok(Ok(p)) => Ok(p),
            _ => Err(overloaded(limits.max_queued)),
        }
    }

    /// The circuit breaker's state, for /health and gateway_list_servers.
    pub fn circuit(&self) -> &'static str {
        lock(&self.breaker).state.name()
    }

    pub async fn notify(&self, method: &str, params: Option<Json>) -> Result<(), UpstreamError> {
        self.connection().await?.notify(method, params).await
    }

    /// The live connection; wakes a lazy backend and waits for it to be ready.
    async fn connection(&self) -> Result<Arc<Connection>, UpstreamError> {
        if let Some(c) = self.conn.load_full() {
            if !c.peer.is_closed() {
                return Ok(c);
            }
        }
        let status = self.status();
        // Ready with a dead link: the actor is about to notice and reconnect.
        let reconnecting =
            |s: &Status| matches!(s.state, State::Idle | State::Starting | State::Ready);
        if !reconnecting(&status) {
            return Err(self.unavailable(&status));
        }
        self.demand.notify_one();
        let deadline = Instant::now() + self.opts.connect_timeout;
        // Poll briefly: start-up is rare and bounded by connect_timeout.
        while Instant::now() < deadline {
            if let Some(c) = self.conn.load_full().filter(|c| !c.peer.is_closed()) {
                return Ok(c);
            }
            let s = self.status();
            if !reconnecting(&s) {
                return Err(self.unavailable(&s));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(self.unavailable(&self.status()))
    }

    fn unavailable(&self, status: &Status) -> UpstreamError {
        let reason = match (status.state, &status.reason) {
            (State::Disabled, _) => "it is disabled in the config".to_owned(),
            (state, Some(r)) => format!("{} ({r})", state_word(state)),
            (state, None) => state_word(state).to_owned(),
        };
        UpstreamError::Unavailable {
            backend: self.name().into(),
            reason,
        }
    }

    fn set_status(&self, state: State, reason: Option<String>, init: Option<InitInfo>) {
        let old = self.status.load();
        let connects = old.connects + u32::from(state == State::Ready);
        let init = init.or_else(|| old.init.clone());
        self.status.store(Arc::new(Status {
            state,
            reason,
            init,
            transport: old.transport,
            connects,
        }));
        (self.hooks.changed)();
    }

    /// Ready, with the transport actually in use (an `http_url` may have fallen back to SSE).
    fn set_ready(&self, init: InitInfo, transport: &'static str) {
        let old = self.status.load();
        self.status.store(Arc::new(Status {
            state: State::Ready,
            reason: None,
            init: Some(init),
            transport,
            connects: old.connects + 1,
        }));
        (self.hooks.changed)();
    }

    async fn run(self: Arc<Self>) {
        let mut stop = self.stop.subscribe();
        if !self.config.enabled {
            return;
        }
        if self.config.lazy {
            tokio::select! {
                _ = self.demand.notified() => {},
                _ = stopped(&mut stop) => return,
            }
        }
        let restart = self.config.failsafe.restart.clone();
        let mut backoff = restart.initial_backoff;
        let mut failures: std::collections::VecDeque<Instant> = std::collections::VecDeque::new();
        loop {
            self.set_status(State::Starting, self.status().reason.clone(), None);
            let (events_tx, events_rx) = mpsc::channel(1024);
            let peer = Arc::new(Peer::new(self.name(), events_tx));
            let opened = tokio::select! {
                r = Connection::open(&self.config.transport, peer, &self.client, &self.opts, &self.era) => r,
                _ = stopped(&mut stop) => return,
            };
            match opened {
                Ok((conn, info)) => {
                    backoff = restart.initial_backoff;
                    let conn = Arc::new(conn);
                    self.set_status(State::Starting, None, Some(info.clone()));
                    match self.refresh_tools(&conn).await {
                        Ok(()) => {
                            self.refresh_lists(&conn).await;
                            self.conn.store(Some(conn.clone()));
                            tracing::info!(backend = %self.name(), transport = conn.link.kind(), version = %info.protocol_version, tools = self.tools().len(), "backend ready");
                            self.set_ready(info, conn.link.kind());
                            let reason = self.serve(&conn, events_rx, &mut stop).await;
                            self.conn.store(None);
                            match reason {
                                None => return, // stopping
                                // The server forgot our session: start a new one at once.
                                Some(r) if r == SESSION_EXPIRED => {
                                    tracing::info!(backend = %self.name(), "backend session expired; re-initialising");
                                    conn.shutdown().await;
                                    self.set_status(State::Starting, Some(r), None);
                                    continue;
                                }
                                Some(r) => {
                                    tracing::warn!(backend = %self.name(), "backend failed: {r}");
                                    conn.shutdown().await; // a hung child is killed, not left behind
                                    self.set_status(State::Failed, Some(r), None);
                                }
                            }
                        }
                        Err(e) => {
                            conn.shutdown().await;
                            self.set_status(
                                State::Failed,
                                Some(format!("tools/list failed: {e}")),
                                None,
                            );
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(backend = %self.name(), "{e}");
                    self.set_status(State::Failed, Some(strip_prefix(&e)), None);
                }
            }
            // Restart budget: a backend that keeps failing stays failed.
            let now = Instant::now();
            failures.push_back(now);
            while failures
                .front()
                .is_some_and(|t| now.duration_since(*t) > restart.window)
            {
                failures.pop_front();
            }
            if failures.len() > restart.max_restarts as usize {
                let last = self.status().reason.clone().unwrap_or_default();
                let reason = format!(
                    "gave up after {} failures within {}; last: {last}",
                    failures.len(),
                    humantime::format_duration(restart.window)
                );
                tracing::error!(backend = %self.name(), "{reason}");
                self.set_status(State::Failed, Some(reason), None);
                stopped(&mut stop).await;
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {},
                _ = stopped(&mut stop) => return,
            }
            backoff = (backoff * 2).min(restart.max_backoff);
        }
    }

    /// Handle backend events until the link dies (`Some(reason)`) or we stop (`None`).
    async fn serve(
        &self,
        conn: &Arc<Connection>,
        mut events: mpsc::Receiver<Event>,
        stop: &mut watch::Receiver<bool>,
    ) -> Option<String> {
        let mut ttl = tokio::time::interval(self.tool_ttl);
        ttl.tick().await;
        let hc = &self.config.failsafe.health_check;
        let mut health = tokio::time::interval(hc.interval);
        health.tick().await;
        let mut missed = 0;
        loop {
            tokio::select! {
                reason = conn.peer.closed() => return Some(reason),
                _ = stopped(stop) => return None,
                _ = ttl.tick() => {
                    self.refresh_logged(conn).await;
                    self.refresh_lists(conn).await;
                }
                _ = health.tick(), if hc.enabled => {
                    // Any answer, even an error, shows the backend is alive.
                    match conn.request("ping", None, hc.timeout).await {
                        Err(e) if e.is_backend_failure() => {
                            missed += 1;
                            tracing::warn!(backend = %self.name(), missed, "health check failed: {e}");
                            if missed >= 2 {
                                return Some(format!("stopped answering health checks ({missed} in a row)"));
                            }
                        }
                        _ => missed = 0,
                    }
                }
                Some(ev) = events.recv() => self.on_event(conn, ev).await,
            }
        }
    }

    async fn on_event(&self, conn: &Arc<Connection>, (ev, owner): Event) {
        if let (Some(id), Owner::Unclear(calls)) = (ev.id.clone(), &owner) {
            // Asking any one of them could show one client another's question.
            let err = ErrorObject::new(
                codes::INTERNAL_ERROR,
                format!(
                    "mcp-gateway cannot tell which of {calls} calls in flight from different client sessions this {} belongs to (this transport carries no association); refused rather than guessed",
                    ev.method()
                ),
            );
            tracing::warn!(backend = %self.name(), method = ev.method(), calls, "backend request that could be any of several sessions' calls; refused");
            return conn.respond(id, Err(err.to_raw())).await;
        }
        if let (Some(id), Owner::Call(sink)) = (ev.id.clone(), owner) {
            // A request about a client's call: the client answers it.
            let (reply, answer) = oneshot::channel();
            let conn = conn.clone();
            if sink
                .send(Related::Request {
                    msg: Box::new(ev),
                    reply,
                })
                .await
                .is_ok()
            {
                tokio::spawn(async move {
                    let answer = answer.await.unwrap_or_else(|_| {
                        Err(
                            ErrorObject::new(codes::INTERNAL_ERROR, "the client session ended")
                                .to_raw(),
                        )
                    });
                    conn.respond(id, answer).await;
                });
                return;
            }
            let err = ErrorObject::new(
                codes::INTERNAL_ERROR,
                "the call this request belongs to has ended",
            );
            return conn.respond(id, Err(err.to_raw())).await;
        }
        match (ev.id.clone(), ev.method()) {
            (None, "notifications/tools/list_changed") => self.refresh_logged(conn).await,
            (
                None,
                "notifications/resources/list_changed" | "notifications/prompts/list_changed",
            ) => self.refresh_lists(conn).await,
            (None, _) => (self.hooks.notified)(ev),
            (Some(id), method) => {
                let method = method.to_owned();
                if let Some(answer) = (self.hooks.asked)(ev) {
                    // The one client session that can answer it will.
                    let conn = conn.clone();
                    tokio::spawn(async move {
                        let gone = || {
                            Err(
                                ErrorObject::new(codes::INTERNAL_ERROR, "the client session ended")
                                    .to_raw(),
                            )
                        };
                        conn.respond(id, answer.await.unwrap_or_else(|_| gone()))
                            .await;
                    });
                    return;
                }
                let answer = match method.as_str() {
                    "ping" => Ok(raw(&json!({}))),
                    // No client to ask: the gateway itself has no roots.
                    "roots/list" => Ok(raw(&json!({"roots": []}))),
                    _ => Err(ErrorObject::new(
                        codes::METHOD_NOT_FOUND,
                        format!("mcp-gateway cannot tell which client session this {method} is for: it belongs to no call in flight, and not exactly one connected client can answer it"),
                    )
                    .to_raw()),
                };
                conn.respond(id, answer).await
            }
        }
    }

    async fn refresh_logged(&self, conn: &Arc<Connection>) {
        if let Err(e) = self.refresh_tools(conn).await {
            tracing::warn!(backend = %self.name(), "refreshing tools failed, keeping the previous list: {e}");
        }
    }

    /// Fetch the resources, templates and prompts the backend declares, and
    /// swap them in. Failures keep the previous lists (logged).
    async fn refresh_lists(&self, conn: &Connection) {
        let caps = self
            .status()
            .init
            .as_ref()
            .map(|i| i.capabilities.get().to_owned())
            .unwrap_or_default();
        let declared = |cap: &str| {
            serde_json::from_str::<std::collections::HashMap<String, &RawValue>>(&caps)
                .is_ok_and(|m| m.contains_key(cap))
        };
        let old = self.lists();
        let fetch = |kind: (&'static str, &'static str, &'static str), enabled: bool| {
            let old_items = match kind.0 {
                "resources/list" => old.resources.clone(),
                "resources/templates/list" => old.templates.clone(),
                _ => old.prompts.clone(),
            };
            async move {
                if !enabled {
                    return Vec::new();
                }
                match self.fetch_list(conn, kind).await {
                    Ok(items) => items,
                    Err(e) => {
                        tracing::warn!(backend = %self.name(), method = kind.0, "listing failed, keeping the previous list: {e}");
                        old_items
                    }
                }
            }
        };
        let resources = fetch(listing::RESOURCES, declared("resources")).await;
        let templates = fetch(listing::TEMPLATES, declared("resources")).await;
        let prompts = fetch(listing::PROMPTS, declared("prompts")).await;
        self.lists.store(Arc::new(Lists {
            resources,
            templates,
            prompts,
        }));
        (self.hooks.changed)();
    }

    async fn fetch_list(
        &self,
        conn: &Connection,
        (method, field, key): (&str, &str, &str),
    ) -> Result<Vec<Item>, UpstreamError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map(|c| raw(&json!({ "cursor": c })));
            let result = result_of(self.read_with_retries(conn, method, params).await?)?;
            let (page, next) = listing::parse_page(&result, field, key)
                .map_err(|e| UpstreamError::Protocol(format!("bad {method} result: {e}")))?;
            items.extend(page);
            if items.len() > MAX_TOOLS {
                items.truncate(MAX_TOOLS);
                break;
            }
            match next {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        Ok(items)
    }

    /// Fetch every page of tools/list and swap the cached list.
    async fn refresh_tools(&self, conn: &Connection) -> Result<(), UpstreamError> {
        let mut tools = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = cursor.as_ref().map(|c| raw(&json!({ "cursor": c })));
            let result = result_of(self.read_with_retries(conn, "tools/list", params).await?)?;
            let page = parse_tools_page(&result)
                .map_err(|e| UpstreamError::Protocol(format!("bad tools/list result: {e}")))?;
            tools.extend(page.tools);
            if tools.len() > MAX_TOOLS {
                tracing::warn!(backend = %self.name(), "more than {MAX_TOOLS} tools; keeping the first {MAX_TOOLS}");
                tools.truncate(MAX_TOOLS);
                break;
            }
            match page.next_cursor {
                Some(c) if !c.is_empty() => cursor = Some(c),
                _ => break,
            }
        }
        let tools = conn.usable_tools(tools);
        self.index.store(Arc::new(DocIndex::build(
            self.name(),
            &self.description(),
            &tools,
        )));
        self.tools.store(Arc::new(tools));
        (self.hooks.changed)();
        Ok(())
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Resolves once the backend is told to stop.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Disabled => "disabled",
        State::Idle => "not started",
        State::Starting => "still starting",
        State::Ready => "ready",
        State::Failed => "failed",
        State::Stopped => "stopped",
    }
}

/// "backend x could not start: reason" -> "reason" (the backend is named elsewhere).
fn strip_prefix(e: &UpstreamError) -> String {
    match e {
        UpstreamError::Start { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_describes_itself_by_title_or_name_then_description() {
        let said = |v: serde_json::Value| self_description(&raw(&v));
        assert_eq!(
            said(
                json!({"name": "mcp-servers/everything", "title": "Everything Reference Server", "version": "2"})
            ),
            "Everything Reference Server"
        );
        assert_eq!(
            said(
                json!({"name": "github-mcp-server", "version": "1", "description": " Issues, pull requests and code. "})
            ),
            "github-mcp-server. Issues, pull requests and code."
        );
        assert_eq!(said(json!({"name": "  ", "version": "1"})), "");
        assert_eq!(
            said(json!({"name": 7})),
            "",
            "a server that lies says nothing"
        );
        let long = said(json!({"name": "s", "description": "x".repeat(1000)}));
        assert_eq!(long.chars().count(), SELF_DESCRIPTION_CHARS);
    }
}
