//! Client sessions: what each client negotiated, and where its
//! server-initiated messages go.
//!
//! The store is bounded (`server.max_sessions`): when full, the session idle
//! the longest is evicted (its client gets 404 and re-initialises, as the
//! spec prescribes). Ids are 128 random bits from the OS, hex encoded.
//!
//! - [`outbox`]: one resumable SSE answer stream of a session.

pub mod outbox;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mcp_wire::{codes, ErrorObject, Id, Json, Message};

use self::outbox::Outbox;
use crate::config::RateLimitConfig;
use crate::upstream::failsafe::TokenBucket;
use crate::upstream::{Cancel, Related, Reply};
use tokio::sync::{mpsc, oneshot};

/// Which surface a session talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `/mcp` with meta-tools on: the four meta-tools.
    Meta,
    /// `/mcp` with meta-tools off: every backend tool, prefixed.
    Direct,
    /// `/mcp/{backend}`: one backend, names unchanged.
    Backend(String),
}

impl Scope {
    /// Whether a session on this scope uses `backend`.
    pub fn covers(&self, backend: &str) -> bool {
        match self {
            Scope::Meta | Scope::Direct => true,
            Scope::Backend(name) => name == backend,
        }
    }
}

pub struct Session {
    pub id: String,
    pub scope: Scope,
    /// Negotiated protocol version.
    pub version: String,
    /// The client's `capabilities` from initialize, raw.
    pub client_capabilities: Option<Json>,
    /// When it was last used, as a place in the order of all uses (not a
    /// clock: uses within one millisecond must still be ordered).
    last_used: AtomicU64,
    /// The open server-to-client stream (GET /mcp, legacy /sse, stdio), if any.
    outbound: Mutex<Option<mpsc::Sender<Message>>>,
    /// Requests sent to this client (sampling, elicitation, roots) waiting
    /// for its answer, by the id the gateway gave them.
    asked: Mutex<HashMap<String, oneshot::Sender<Message>>>,
    next_ask: AtomicU64,
    /// Calls in flight, by the client's request id: firing one cancels it.
    inflight: Mutex<HashMap<Id, Cancel>>,
    bucket: ClientLimit,
    /// Answer streams that are open, or broke and may be resumed.
    streams: Mutex<HashMap<u64, Arc<Outbox>>>,
    next_stream: AtomicU64,
    /// A quick call's relay channel, kept for this session's next call.
    spare_relay: Mutex<Option<RelayChannel>>,
}

/// Where a call's backend messages wait to be relayed to its client (see
/// `router::respond`).
pub type RelayChannel = (mpsc::Sender<Related>, mpsc::Receiver<Related>);

/// Messages about one call that may wait for its client.
const RELAY_CAPACITY: usize = 64;

/// One client's `failsafe.client_rate_limit` bucket, made on first use.
#[derive(Default)]
pub struct ClientLimit(Mutex<Option<TokenBucket>>);

impl ClientLimit {
    /// Take a token, or say how long to wait.
    pub fn admit(&self, cfg: &RateLimitConfig) -> Result<(), std::time::Duration> {
        if !cfg.enabled {
            return Ok(());
        }
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        b.get_or_insert_with(|| TokenBucket::new(cfg.clone(), Instant::now()))
            .take(Instant::now())
    }
}

/// A session's lock, even after a panic elsewhere held it.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Most answer streams a session keeps for resumption at once.
const MAX_STREAMS: usize = 64;

impl Session {
    pub fn new(
        id: String,
        scope: Scope,
        version: &str,
        client_capabilities: Option<Json>,
    ) -> Session {
        Session {
            id,
            scope,
            version: version.to_owned(),
            client_capabilities,
            last_used: AtomicU64::new(next_use()),
            outbound: Mutex::new(None),
            asked: Mutex::new(HashMap::new()),
            next_ask: AtomicU64::new(1),
            inflight: Mutex::new(HashMap::new()),
            bucket: ClientLimit::default(),
            streams: Mutex::new(HashMap::new()),
            next_stream: AtomicU64::new(1),
            spare_relay: Mutex::new(None),
        }
    }

    /// A relay channel for a call: the one a quick call left, or a new one.
    /// Most calls never send anything on it, and a new tokio channel is an
    /// allocation aligned to 128 bytes and a block of slots.
    pub fn relay_channel(&self) -> RelayChannel {
        lock(&self.spare_relay)
            .take()
            .unwrap_or_else(|| mpsc::channel(RELAY_CAPACITY))
    }

    /// Keep a finished call's channel for the next call, only when nothing
    /// of that call can reach it any more: `channel.0` the last sender and
    /// nothing queued (a message about one call never reaches another).
    pub fn spare_relay(&self, channel: RelayChannel) {
        let (tx, rx) = &channel;
        if tx.strong_count() == 1 && rx.is_empty() && !rx.is_closed() {
            lock(&self.spare_relay).get_or_insert(channel);
        }
    }

    fn touch(&self) {
        self.last_used.store(next_use(), Ordering::Relaxed);
    }

    /// A cheap key for this session, unique among the sessions alive now
    /// (its address), for telling calls of different sessions apart.
    pub fn key(&self) -> usize {
        std::ptr::from_ref(self) as usize
    }

    /// Attach the stream for server-initiated messages. False when one is
    /// already open (a second GET stream is a conflict).
    pub fn attach_stream(&self, tx: mpsc::Sender<Message>) -> bool {
        let mut g = self.outbound.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_ref().is_some_and(|t| !t.is_closed()) {
            return false;
        }
        *g = Some(tx);
        true
    }

    /// The open stream for server-initiated messages, if any.
    pub fn stream(&self) -> Option<mpsc::Sender<Message>> {
        self.outbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .filter(|t| !t.is_closed())
    }

    /// Send a server-initiated message on the session's stream, if one is open.
    pub fn push(&self, msg: Message) -> bool {
        let tx = self
            .outbound
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        tx.is_some_and(|t| t.try_send(msg).is_ok())
    }
}

impl Session {
    /// Open an answer stream holding up to `cap` bytes for replay. Streams
    /// that finished more than `window` ago without a reader reaching their
    /// end are forgotten now, and past [`MAX_STREAMS`] the oldest go.
    pub fn open_stream(&self, cap: usize, window: std::time::Duration) -> Arc<Outbox> {
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let outbox = Arc::new(Outbox::new(id, cap));
        let mut streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.retain(|_, o| o.finished_at().is_none_or(|t| t.elapsed() < window));
        while streams.len() >= MAX_STREAMS {
            let Some(oldest) = streams.keys().min().copied() else {
                break;
            };
            streams.remove(&oldest);
        }
        streams.insert(id, outbox.clone());
        outbox
    }

    /// A stream a client may resume.
    pub fn resumable(&self, id: u64) -> Option<Arc<Outbox>> {
        let streams = self.streams.lock().unwrap_or_else(|p| p.into_inner());
        streams.get(&id).cloned()
    }

    /// A reader sent the last event of stream `id`: nothing is left to resume.
    pub fn forget_stream(&self, id: u64) {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// Whether the client declared `capability` (e.g. "sampling") at initialize.
    pub fn declared(&self, capability: &str) -> bool {
        let Some(caps) = &self.client_capabilities else {
            return false;
        };
        serde_json::from_str::<HashMap<String, &serde_json::value::RawValue>>(caps.get())
            .is_ok_and(|m| m.contains_key(capability))
    }

    /// Send a backend's request (sampling, elicitation, roots, ping) to
    /// this client on `out`, under a fresh gateway id. Refused with an error
    /// object for the backend when the client did not declare the
    /// capability or its stream is closed. Await the answer with
    /// [`Session::answer_of`].
    pub async fn ask_on(
        &self,
        out: &mpsc::Sender<Message>,
        msg: Message,
    ) -> Result<(Id, oneshot::Receiver<Message>), Reply> {
        if let Some(cap) = capability_for(msg.method()).filter(|c| !self.declared(c)) {
            return Err(Err(ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                format!(
                    "the client did not declare the {cap} capability, so mcp-gateway cannot forward {}",
                    msg.method()
                ),
            )
            .to_raw()));
        }
        let (id, answer) = self.ask();
        let sent = Message {
            id: Some(id.clone()),
            ..msg
        };
        if out.send(sent).await.is_err() {
            self.forget_ask(&id);
            let e = ErrorObject::new(codes::INTERNAL_ERROR, "the client's stream is closed");
            return Err(Err(e.to_raw()));
        }
        Ok((id, answer))
    }

    /// The client's answer to request `id`: its result or its error object,
    /// or a timeout error after `limit`.
    pub async fn answer_of(
        &self,
        id: Id,
        answer: oneshot::Receiver<Message>,
        limit: std::time::Duration,
    ) -> Reply {
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(a)) => match (a.result, a.error) {
                (Some(r), _) => Ok(r),
                (None, Some(e)) => Err(e),
                (None, None) => Err(ErrorObject::new(
                    codes::INTERNAL_ERROR,
                    "empty answer from the client",
                )
                .to_raw()),
            },
            _ => {
                self.forget_ask(&id);
                Err(ErrorObject::new(codes::REQUEST_TIMEOUT, "the client did not answer").to_raw())
            }
        }
    }

    /// A fresh id for a request to this client, and where its answer arrives.
    pub fn ask(&self) -> (Id, oneshot::Receiver<Message>) {
        let key = format!(
            "mcp-gateway-{}",
            self.next_ask.fetch_add(1, Ordering::Relaxed)
        );
        let (tx, rx) = oneshot::channel();
        self.asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone(), tx);
        (Id::Str(key.into()), rx)
    }

    /// Deliver the client's answer to the request it answers. False when no
    /// request of ours has that id.
    pub fn answer(&self, msg: Message) -> bool {
        let Some(Id::Str(key)) = &msg.id else {
            return false;
        };
        let waiter = self
            .asked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&**key);
        waiter.is_some_and(|w| w.send(msg).is_ok())
    }

    /// Take a token from this client's bucket, or say how long to wait.
    pub fn admit(&self, cfg: &RateLimitConfig) -> Result<(), std::time::Duration> {
        self.bucket.admit(cfg)
    }

    /// A call starts: what it gets fires if the client cancels it.
    pub fn begin_call(&self, id: &Id) -> Cancel {
        let cancel = Cancel::default();
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), cancel.clone());
        cancel
    }

    pub fn end_call(&self, id: &Id) {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// The client cancelled request `id`. False when no such call is in flight.
    pub fn cancel(&self, id: &Id, reason: String) -> bool {
        let tx = self
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        tx.is_some_and(|c| c.fire(reason))
    }

    pub fn forget_ask(&self, id: &Id) {
        if let Id::Str(key) = id {
            self.asked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&**key);
        }
    }
}

/// The client capability a server-to-client request needs.
pub fn capability_for(method: &str) -> Option<&'static str> {
    match method {
        "sampling/createMessage" => Some("sampling"),
        "elicitation/create" => Some("elicitation"),
        "roots/list" => Some("roots"),
        _ => None,
    }
}

/// The next place in the order of session uses, for evicting the least
/// recently used.
fn next_use() -> u64 {
    static USES: AtomicU64 = AtomicU64::new(0);
    USES.fetch_add(1, Ordering::Relaxed)
}

pub struct SessionStore {
    max: usize,
    map: Mutex<HashMap<String, Arc<Session>>>,
}

impl SessionStore {
    pub fn new(max: usize) -> Self {
        SessionStore {
            max,
            map: Mutex::new(HashMap::new()),
        }
    }

    pub fn create(&self, scope: Scope, version: &str, caps: Option<Json>) -> Arc<Session> {
        let session = Arc::new(Session::new(new_session_id(), scope, version, caps));
        let mut map = self.lock();
        if map.len() >= self.max {
            if let Some(oldest) = map
                .values()
                .min_by_key(|s| s.last_used.load(Ordering::Relaxed))
                .map(|s| s.id.clone())
            {
                tracing::info!(session = %oldest, "session limit reached; evicting the longest idle session");
                map.remove(&oldest);
            }
        }
        map.insert(session.id.clone(), session.clone());
        session
    }

    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let s = self.lock().get(id).cloned();
        if let Some(s) = &s {
            s.touch();
        }
        s
    }

    pub fn remove(&self, id: &str) -> bool {
        self.lock().remove(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn all(&self) -> Vec<Arc<Session>> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// 128 bits from the OS CSPRNG as 32 hex characters (visible ASCII, as the spec requires).
pub fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relay_channel_goes_to_the_next_call_only_when_nothing_can_reach_it() {
        let s = Session::new("s".into(), Scope::Meta, "2025-11-25", None);
        let note = || Related::Notification(Box::new(Message::notification("n", None)));

        // Clean: the next call gets this very channel.
        let (tx, rx) = s.relay_channel();
        let weak = tx.downgrade();
        s.spare_relay((tx, rx));
        let (again, _rx) = s.relay_channel();
        assert!(
            weak.upgrade().is_some_and(|t| t.same_channel(&again)),
            "a clean channel is reused"
        );
        drop(again);

        // Another sender alive (a backend still asking, say): not kept.
        let (tx, rx) = s.relay_channel();
        let held = tx.clone();
        s.spare_relay((tx, rx));
        assert!(!s.relay_channel().0.same_channel(&held));

        // A message queued for its client: not kept, so it cannot reach another call.
        let (tx, rx) = s.relay_channel();
        let weak = tx.downgrade();
        tx.try_send(note()).unwrap();
        s.spare_relay((tx, rx));
        assert!(weak.upgrade().is_none(), "dropped, not kept");

        // A closed receiver: not kept.
        let (tx, mut rx) = s.relay_channel();
        let weak = tx.downgrade();
        rx.close();
        s.spare_relay((tx, rx));
        assert!(weak.upgrade().is_none(), "dropped, not kept");
    }

    #[test]
    fn ids_are_random_hex_and_the_store_is_bounded() {
        let a = new_session_id();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, new_session_id());

        let store = SessionStore::new(2);
        // No pauses: uses within the same millisecond are ordered too.
        let s1 = store.create(Scope::Meta, "2025-11-25", None);
        let s2 = store.create(Scope::Meta, "2025-11-25", None);
        store.get(&s1.id); // s1 is now the most recent
        let s3 = store.create(Scope::Meta, "2025-11-25", None);
        assert_eq!(store.len(), 2);
        assert!(store.get(&s2.id).is_none(), "longest idle evicted");
        assert!(store.get(&s1.id).is_some() && store.get(&s3.id).is_some());
    }

    #[test]
    fn finished_streams_stay_resumable_for_the_window_only() {
        let s = Session::new("x".into(), Scope::Meta, "2025-11-25", None);
        let window = std::time::Duration::from_millis(20);
        let done = s.open_stream(1024, window);
        done.finish();
        let live = s.open_stream(1024, window);
        assert!(s.resumable(done.id).is_some(), "inside the window");
        std::thread::sleep(std::time::Duration::from_millis(30));
        let _next = s.open_stream(1024, window);
        assert!(
            s.resumable(done.id).is_none(),
            "finished and past the window"
        );
        assert!(s.resumable(live.id).is_some(), "unfinished streams stay");
        s.forget_stream(live.id);
        assert!(s.resumable(live.id).is_none());
    }

    #[test]
    fn only_one_open_stream_per_session() {
        let s = Session::new("x".into(), Scope::Meta, "2025-11-25", None);
        let (tx1, mut rx1) = mpsc::channel(1);
        assert!(s.attach_stream(tx1));
        let (tx2, _rx2) = mpsc::channel(1);
        assert!(!s.attach_stream(tx2.clone()));
        assert!(s.push(Message::notification("n", None)));
        assert_eq!(rx1.try_recv().unwrap().method(), "n");
        drop(rx1);
        assert!(s.attach_stream(tx2), "a closed stream can be replaced");
    }
}
