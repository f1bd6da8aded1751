//! The JSON-RPC client half every transport shares.
//!
//! A [`Peer`] allocates upstream ids, remembers which caller waits for which
//! id, and sorts everything that arrives: responses go to their waiter,
//! notifications and server-to-client requests go to the backend's event
//! channel. Transports only move bytes; they hand every inbound message to
//! [`Peer::dispatch`] and call [`Peer::close`] when the link is gone, which
//! fails every waiting call at once instead of letting it hang.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use mcp_wire::{Id, Json, Kind, Message};
use tokio::sync::{mpsc, oneshot, watch};

use super::UpstreamError;

type Waiter = oneshot::Sender<Result<Message, UpstreamError>>;

/// Where a backend's messages about one in-flight call go: the relay of
/// the client session that made the call.
pub type Sink = mpsc::Sender<Related>;

/// A backend message that belongs to a client's call. Boxed, so the
/// channel each call creates allocates a small block (32 slots of this).
pub enum Related {
    /// Progress (its token already mapped back), log messages, ...
    Notification(Box<Message>),
    /// sampling/createMessage, elicitation/create, roots/list, ping: the
    /// answer (a result, or an error object) goes back to the backend.
    Request {
        msg: Box<Message>,
        reply: oneshot::Sender<Result<Json, Json>>,
    },
}

/// What a client's call brings along upstream.
#[derive(Clone, Default)]
pub struct CallContext {
    /// Where the backend's messages about the call go.
    pub sink: Option<Sink>,
    /// Becomes `Some(reason)` when the client cancels the call.
    pub cancelled: Option<super::Cancel>,
    /// The tool says it is read-only or idempotent, so a failed call may be
    /// sent again (reads are always safe; other calls never are).
    pub repeatable: bool,
    /// Set while the call waits for its client to come back with answers
    /// (a 2026-07-28 client between rounds): it asks nothing new then, so a
    /// question without an association is not its.
    pub parked: Option<Arc<AtomicBool>>,
    /// Which client session makes the call (any value unique among the
    /// sessions alive while it runs): a question that could belong to any
    /// of several calls of one session is still that session's.
    pub owner: usize,
}

/// Whose a message from the backend is.
pub enum Owner {
    /// A client's call in flight: its relay.
    Call(Sink),
    /// No call in flight could have sent it.
    Nobody,
    /// A request that could be about any of this many calls, made by
    /// different client sessions (stdio and WebSocket carry no
    /// association): asking any one of them would be a guess.
    Unclear(usize),
}

/// An event for the backend's actor.
pub type Event = (Message, Owner);

struct Route {
    sink: Sink,
    /// The client's own progress token, restored on the way back.
    progress_token: Option<Json>,
    parked: Option<Arc<AtomicBool>>,
    owner: usize,
    /// The call's questions its client has not answered yet: a call
    /// blocked on an answer is not the one asking something new.
    asking: usize,
}

/// By the ids this gateway gives its requests to a backend: they count up
/// from 1 and a peer never chooses them (an answer with another id only
/// misses), so a multiply hashes them as well as SipHash, for far less.
type IdMap<V> = HashMap<i64, V, BuildHasherDefault<IdHasher>>;

#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the odd constant spreads each id over the
        // high bits (hashbrown's tag) and keeps the low ones distinct.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Default)]
struct Routes {
    calls: IdMap<Route>,
    /// Backend request id → the call it was put to.
    questions: HashMap<Id, i64>,
}

impl Route {
    fn parked(&self) -> bool {
        self.parked
            .as_ref()
            .is_some_and(|p| p.load(Ordering::Relaxed))
    }
}

pub struct Peer {
    backend: String,
    next_id: AtomicI64,
    pending: Mutex<IdMap<Waiter>>,
    /// In-flight calls whose related messages go to a client.
    routes: Mutex<Routes>,
    /// Notifications and requests from the backend, for the backend's actor.
    events: mpsc::Sender<Event>,
    /// `Some(reason)` once the link is gone.
    closed: watch::Sender<Option<String>>,
}

impl Peer {
    pub fn new(backend: &str, events: mpsc::Sender<Event>) -> Self {
        Peer {
            backend: backend.to_owned(),
            next_id: AtomicI64::new(1),
            pending: Mutex::new(IdMap::default()),
            routes: Mutex::new(Routes::default()),
            events,
            closed: watch::Sender::new(None),
        }
    }

    /// Reserve an id and the channel its answer will arrive on.
    pub fn register(
        &self,
    ) -> Result<(i64, oneshot::Receiver<Result<Message, UpstreamError>>), UpstreamError> {
        if let Some(reason) = self.closed.borrow().clone() {
            return Err(UpstreamError::Closed {
                backend: self.backend.clone(),
                reason,
            });
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.lock().insert(id, tx);
        Ok((id, rx))
    }

    /// Stop waiting for `id` (timeout, send failure).
    pub fn forget(&self, id: i64) {
        self.lock().remove(&id);
    }

    /// Whether the answer to `id` is still awaited.
    pub fn is_waiting(&self, id: i64) -> bool {
        self.lock().contains_key(&id)
    }

    /// Fail one waiting call, e.g. when the HTTP response for it failed.
    pub fn fail(&self, id: i64, err: UpstreamError) {
        if let Some(w) = self.lock().remove(&id) {
            let _ = w.send(Err(err));
        }
    }

    /// Route one inbound message.
    pub fn dispatch(&self, msg: Message) {
        self.dispatch_on(None, msg)
    }

    /// Route one inbound message that arrived on the response stream of
    /// request `on` (Streamable HTTP), if known.
    pub fn dispatch_on(&self, on: Option<i64>, msg: Message) {
        match msg.kind() {
            Kind::Response | Kind::Error => {
                let waiter = match &msg.id {
                    Some(Id::Num(n)) => self.lock().remove(n),
                    _ => None,
                };
                match waiter {
                    Some(w) => {
                        let _ = w.send(Ok(msg));
                    }
                    None => {
                        tracing::debug!(backend = %self.backend, id = ?msg.id, "response for no waiting request (late or unknown); dropped")
                    }
                }
            }
            Kind::Notification => {
                let routes = self.routes();
                match route_of(&routes.calls, on, &msg).map(|call| &routes.calls[&call]) {
                    Ok(route) => {
                        let msg = match &route.progress_token {
                            Some(t) => restore_progress_token(msg, t),
                            None => msg,
                        };
                        let _ = route.sink.try_send(Related::Notification(Box::new(msg)));
                    }
                    // List changes and the like; unrouted logs are dropped there.
                    Err(_) => {
                        drop(routes);
                        self.to_actor(msg, Owner::Nobody)
                    }
                }
            }
            Kind::Request => {
                let mut routes = self.routes();
                let owner = match route_of(&routes.calls, on, &msg) {
                    Ok(call) => {
                        let route = routes.calls.get_mut(&call).expect("route_of found it");
                        route.asking += 1;
                        let sink = route.sink.clone();
                        if let Some(q) = msg.id.clone() {
                            routes.questions.insert(q, call);
                        }
                        Owner::Call(sink)
                    }
                    Err(0) => Owner::Nobody,
                    Err(calls) => Owner::Unclear(calls),
                };
                drop(routes);
                self.to_actor(msg, owner)
            }
        }
    }

    fn to_actor(&self, msg: Message, owner: Owner) {
        if let Err(e) = self.events.try_send((msg, owner)) {
            tracing::warn!(backend = %self.backend, "backend event queue full; dropping {}", e.into_inner().0.method());
        }
    }

    /// Send related messages of call `id` to `sink` until [`Peer::detach`].
    pub fn attach(&self, id: i64, sink: Sink, progress_token: Option<Json>, ctx: &CallContext) {
        let route = Route {
            sink,
            progress_token,
            parked: ctx.parked.clone(),
            owner: ctx.owner,
            asking: 0,
        };
        self.routes().calls.insert(id, route);
    }

    pub fn detach(&self, id: i64) {
        let mut routes = self.routes();
        if routes.calls.remove(&id).is_some_and(|r| r.asking > 0) {
            routes.questions.retain(|_, call| *call != id);
        }
    }

    /// The backend's request `question` has been answered.
    pub fn answered(&self, question: &Id) {
        let mut routes = self.routes();
        let call = routes.questions.remove(question);
        if let Some(route) = call.and_then(|c| routes.calls.get_mut(&c)) {
            route.asking = route.asking.saturating_sub(1);
        }
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The link is gone: fail every waiting call now and refuse new ones.
    pub fn close(&self, reason: &str) {
        self.closed.send_if_modified(|r| {
            if r.is_some() {
                return false;
            }
            *r = Some(reason.to_owned());
            true
        });
        let waiters: Vec<Waiter> = self.lock().drain().map(|(_, w)| w).collect();
        for w in waiters {
            let _ = w.send(Err(UpstreamError::Closed {
                backend: self.backend.clone(),
                reason: reason.to_owned(),
            }));
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.borrow().is_some()
    }

    /// Resolves with the reason once the link is gone.
    pub async fn closed(&self) -> String {
        let mut rx = self.closed.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                return "peer dropped".into();
            }
        }
    }

    pub fn backend(&self) -> &str {
        &self.backend
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdMap<Waiter>> {
        // A poisoned map only means a panic elsewhere mid-insert; the map itself is fine.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Which call a backend message belongs to: the request whose stream
/// carried it, the call whose progress token it names, or — for a log
/// message or a request, since stdio and WebSocket carry no other
/// association — the call found by elimination. A call parked or blocked
/// on an answer is not the one asking (unless no other could be), and what
/// is left must be one call, or calls of one client session.
/// `Err(n)`: no call (`n` = 0), or `n` calls of different sessions.
fn route_of(calls: &IdMap<Route>, on: Option<i64>, msg: &Message) -> Result<i64, usize> {
    if let Some(on) = on.filter(|id| calls.contains_key(id)) {
        return Ok(on);
    }
    if msg.method() == "notifications/progress" {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct P {
            progress_token: Option<i64>,
        }
        let token = msg.parse_params::<P>().ok().and_then(|p| p.progress_token);
        return token.filter(|t| calls.contains_key(t)).ok_or(0);
    }
    // Only log messages and requests may be about a call; list changes,
    // resource updates and task status never are.
    if msg.method() != "notifications/message" && msg.id.is_none() {
        return Err(0);
    }
    let active = || calls.iter().filter(|(_, r)| !r.parked());
    let free: Vec<_> = active().filter(|(_, r)| r.asking == 0).collect();
    let candidates = if free.is_empty() {
        active().collect()
    } else {
        free
    };
    match candidates.split_first() {
        None => Err(0),
        Some(((id, first), rest)) if rest.iter().all(|(_, r)| r.owner == first.owner) => Ok(**id),
        Some(_) => Err(candidates.len()),
    }
}

/// Put the client's own token back into a progress notification.
fn restore_progress_token(msg: Message, token: &Json) -> Message {
    let Some(params) = &msg.params else {
        return msg;
    };
    match mcp_wire::object::with_member(params, "progressToken", token) {
        Some(p) => Message {
            params: Some(p),
            ..msg
        },
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Message {
        Message::parse_one(s.as_bytes()).unwrap()
    }

    #[test]
    fn counted_ids_hash_apart_in_both_the_tag_and_the_bucket_bits() {
        use std::hash::BuildHasher;
        let hasher = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (1..=4096i64).map(|id| hasher.hash_one(id)).collect();
        let distinct = |bits: fn(u64) -> u64| {
            let mut v: Vec<u64> = hashes.iter().map(|h| bits(*h)).collect();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        assert_eq!(distinct(|h| h), 4096);
        assert_eq!(distinct(|h| h & 4095), 4096, "bucket bits");
        assert_eq!(distinct(|h| h >> 57), 128, "hashbrown's 7-bit tag");
    }

    #[tokio::test]
    async fn responses_reach_their_waiter_and_events_the_channel() {
        let (tx, mut rx) = mpsc::channel(4);
        let peer = Peer::new("b", tx);
        let (id, waiter) = peer.register().unwrap();
        peer.dispatch(msg(
            r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
        ));
        peer.dispatch(msg(&format!(
            r#"{{"jsonrpc":"2.0","id":{id},"result":{{"x":1}}}}"#
        )));
        let got = waiter.await.unwrap().unwrap();
        assert_eq!(got.result.unwrap().get(), r#"{"x":1}"#);
        assert_eq!(
            rx.recv().await.unwrap().0.method(),
            "notifications/tools/list_changed"
        );
    }

    #[tokio::test]
    async fn with_one_call_in_flight_only_its_logs_and_requests_go_to_it() {
        let (tx, mut events) = mpsc::channel(4);
        let peer = Peer::new("b", tx);
        let (sink, mut related) = mpsc::channel(4);
        peer.attach(1, sink, None, &CallContext::default());
        for m in [
            r#"{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":"t"}}"#,
        ] {
            peer.dispatch(msg(m));
        }
        match related.try_recv().unwrap() {
            Related::Notification(m) => assert_eq!(m.method(), "notifications/message"),
            Related::Request { .. } => panic!("not a request"),
        }
        assert!(related.try_recv().is_err());
        let (a, b) = (
            events.recv().await.unwrap().0,
            events.recv().await.unwrap().0,
        );
        assert_eq!(
            [a.method(), b.method()],
            [
                "notifications/tools/list_changed",
                "notifications/tasks/status"
            ]
        );
    }

    fn of(owner: usize, parked: Option<Arc<AtomicBool>>) -> CallContext {
        CallContext {
            owner,
            parked,
            ..CallContext::default()
        }
    }

    fn ask(id: &str) -> Message {
        msg(&format!(
            r#"{{"jsonrpc":"2.0","id":"{id}","method":"sampling/createMessage","params":{{}}}}"#
        ))
    }

    /// Which relay the actor is told to ask: its index in `sinks`, or the
    /// number of calls it could not choose between (negative), or None.
    async fn asked(events: &mut mpsc::Receiver<Event>, sinks: &[&Sink]) -> Option<isize> {
        match events.recv().await.unwrap().1 {
            Owner::Call(s) => sinks
                .iter()
                .position(|k| k.same_channel(&s))
                .map(|i| i as isize),
            Owner::Unclear(n) => Some(-(n as isize)),
            Owner::Nobody => None,
        }
    }

    #[tokio::test]
    async fn a_question_goes_to_the_one_call_that_is_not_parked() {
        let (tx, mut events) = mpsc::channel(4);
        let peer = Peer::new("b", tx);
        let (held, _held_rx) = mpsc::channel(4);
        let (live, _live_rx) = mpsc::channel(4);
        let parked = Arc::new(AtomicBool::new(true));
        peer.attach(1, held.clone(), None, &of(1, Some(parked.clone())));
        peer.attach(2, live.clone(), None, &of(2, None));
        peer.dispatch(ask("q1"));
        assert_eq!(asked(&mut events, &[&held, &live]).await, Some(1));
        // With no call parked, the one not waiting for an answer asks.
        parked.store(false, Ordering::Relaxed);
        peer.dispatch(ask("q2"));
        assert_eq!(asked(&mut events, &[&held, &live]).await, Some(0));
    }

    #[tokio::test]
    async fn a_call_waiting_for_an_answer_is_not_the_one_asking() {
        let (tx, mut events) = mpsc::channel(8);
        let peer = Peer::new("b", tx);
        let (first, _first_rx) = mpsc::channel(4);
        let (second, _second_rx) = mpsc::channel(4);
        let sinks = [&first, &second];
        peer.attach(1, first.clone(), None, &of(1, None));
        peer.dispatch(ask("q1"));
        assert_eq!(asked(&mut events, &sinks).await, Some(0));
        peer.attach(2, second.clone(), None, &of(2, None));
        peer.dispatch(ask("q2"));
        assert_eq!(asked(&mut events, &sinks).await, Some(1));
        // Both blocked: two calls of different sessions, and no way to know.
        peer.dispatch(ask("q3"));
        assert_eq!(asked(&mut events, &sinks).await, Some(-2));
        // q1 answered: the first call is free again, so it is the one.
        peer.answered(&Id::Str("q1".into()));
        peer.dispatch(ask("q4"));
        assert_eq!(asked(&mut events, &sinks).await, Some(0));
        // Both free: a guess either way, so none is made.
        peer.answered(&Id::Str("q4".into()));
        peer.answered(&Id::Str("q2".into()));
        peer.dispatch(ask("q5"));
        assert_eq!(asked(&mut events, &sinks).await, Some(-2));
        // Once one ends, the other is the only call left.
        peer.detach(2);
        peer.dispatch(ask("q6"));
        assert_eq!(asked(&mut events, &sinks).await, Some(0));
        peer.detach(1);
        peer.dispatch(ask("q7"));
        assert_eq!(asked(&mut events, &sinks).await, None);
    }

    #[tokio::test]
    async fn calls_of_one_session_share_its_questions() {
        let (tx, mut events) = mpsc::channel(4);
        let peer = Peer::new("b", tx);
        let (a, _a_rx) = mpsc::channel(4);
        let (b, _b_rx) = mpsc::channel(4);
        peer.attach(1, a.clone(), None, &of(7, None));
        peer.attach(2, b.clone(), None, &of(7, None));
        peer.dispatch(ask("q"));
        assert!(asked(&mut events, &[&a, &b]).await.is_some_and(|i| i >= 0));
    }

    #[tokio::test]
    async fn close_fails_waiters_at_once_and_refuses_new_calls() {
        let (tx, _rx) = mpsc::channel(4);
        let peer = Peer::new("b", tx);
        let (_, waiter) = peer.register().unwrap();
        peer.close("process exited with status 5");
        let err = waiter.await.unwrap().unwrap_err();
        assert!(err.to_string().contains("exited with status 5"), "{err}");
        assert!(peer.register().is_err());
        assert_eq!(peer.closed().await, "process exited with status 5");
    }
}
