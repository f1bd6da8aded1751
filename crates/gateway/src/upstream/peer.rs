//! The JSON-RPC client half every transport shares.
//!
//! A [`Peer`] allocates upstream ids, remembers which caller waits for which
//! id, and sorts everything that arrives: responses go to their waiter,
//! notifications and server-to-client requests go to the backend's event
//! channel. Transports only move bytes; they hand every inbound message to
//! [`Peer::dispatch`] and call [`Peer::close`] when the link is gone, which
//! fails every waiting call at once instead of letting it hang.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use mcp_wire::{Id, Kind, Message};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};

use super::UpstreamError;

type Waiter = oneshot::Sender<Result<Message, UpstreamError>>;

/// Where a backend's messages about one in-flight call go: the relay of
/// the client session that made the call.
pub type Sink = mpsc::Sender<Related>;

/// A backend message that belongs to a client's call.
pub enum Related {
    /// Progress (its token already mapped back), log messages, ...
    Notification(Message),
    /// sampling/createMessage, elicitation/create, roots/list, ping: the
    /// answer (a result, or an error object) goes back to the backend.
    Request {
        msg: Message,
        reply: oneshot::Sender<Result<Box<RawValue>, Box<RawValue>>>,
    },
}

/// What a client's call brings along upstream.
#[derive(Clone, Default)]
pub struct CallContext {
    /// Where the backend's messages about the call go.
    pub sink: Option<Sink>,
    /// Becomes `Some(reason)` when the client cancels the call.
    pub cancelled: Option<watch::Receiver<Option<String>>>,
    /// The tool says it is read-only or idempotent, so a failed call may be
    /// sent again (reads are always safe; other calls never are).
    pub repeatable: bool,
    /// Set while the call waits for its client to come back with answers
    /// (a 2026-07-28 client between rounds): it asks nothing new then, so a
    /// question without an association is not its.
    pub parked: Option<Arc<AtomicBool>>,
}

/// An event for the backend's actor; requests carry the caller's sink
/// when the call they belong to is known.
pub type Event = (Message, Option<Sink>);

struct Route {
    sink: Sink,
    /// The client's own progress token, restored on the way back.
    progress_token: Option<Box<RawValue>>,
    parked: Option<Arc<AtomicBool>>,
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
    pending: Mutex<HashMap<i64, Waiter>>,
    /// In-flight calls whose related messages go to a client.
    routes: Mutex<HashMap<i64, Route>>,
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
            pending: Mutex::new(HashMap::new()),
            routes: Mutex::new(HashMap::new()),
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
            Kind::Notification => match self.route_of(on, &msg) {
                Some((sink, token)) => {
                    let msg = match token {
                        Some(t) => restore_progress_token(msg, &t),
                        None => msg,
                    };
                    let _ = sink.try_send(Related::Notification(msg));
                }
                None => self.to_actor(msg, None),
            },
            Kind::Request => {
                let sink = self.route_of(on, &msg).map(|(s, _)| s);
                self.to_actor(msg, sink)
            }
        }
    }

    fn to_actor(&self, msg: Message, sink: Option<Sink>) {
        if let Err(e) = self.events.try_send((msg, sink)) {
            tracing::warn!(backend = %self.backend, "backend event queue full; dropping {}", e.into_inner().0.method());
        }
    }

    /// Which call a backend message belongs to: the request whose stream
    /// carried it, the call whose progress token it names, or — for a log
    /// message or a request — the only call in flight that is not parked
    /// (stdio and WebSocket carry no other association).
    fn route_of(&self, on: Option<i64>, msg: &Message) -> Option<(Sink, Option<Box<RawValue>>)> {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let pick = |id: &i64| {
            routes
                .get(id)
                .map(|r| (r.sink.clone(), r.progress_token.clone()))
        };
        if let Some(found) = on.as_ref().and_then(pick) {
            return Some(found);
        }
        if msg.method() == "notifications/progress" {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct P {
                progress_token: Option<i64>,
            }
            let token = msg.parse_params::<P>().ok().and_then(|p| p.progress_token);
            return token.as_ref().and_then(pick);
        }
        // Only log messages and requests may be about a call; list changes,
        // resource updates and task status never are.
        let about_a_call = msg.method() == "notifications/message" || msg.id.is_some();
        let mut active = routes.values().filter(|r| !r.parked());
        if let (true, Some(only), None) = (about_a_call, active.next(), active.next()) {
            return Some((only.sink.clone(), None));
        }
        None
    }

    /// Send related messages of call `id` to `sink` until [`Peer::detach`].
    pub fn attach(
        &self,
        id: i64,
        sink: Sink,
        progress_token: Option<Box<RawValue>>,
        parked: Option<Arc<AtomicBool>>,
    ) {
        let route = Route {
            sink,
            progress_token,
            parked,
        };
        self.routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, route);
    }

    pub fn detach(&self, id: i64) {
        self.routes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Waiter>> {
        // A poisoned map only means a panic elsewhere mid-insert; the map itself is fine.
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Put the client's own token back into a progress notification.
fn restore_progress_token(msg: Message, token: &RawValue) -> Message {
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
        peer.attach(1, sink, None, None);
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

    #[tokio::test]
    async fn a_question_goes_to_the_one_call_that_is_not_parked() {
        let (tx, mut events) = mpsc::channel(4);
        let peer = Peer::new("b", tx);
        let (held, _held_rx) = mpsc::channel(4);
        let (live, _live_rx) = mpsc::channel(4);
        let parked = Arc::new(AtomicBool::new(true));
        peer.attach(1, held, None, Some(parked.clone()));
        peer.attach(2, live.clone(), None, None);
        let ask = r#"{"jsonrpc":"2.0","id":"q","method":"elicitation/create","params":{}}"#;
        peer.dispatch(msg(ask));
        let (_, sink) = events.recv().await.unwrap();
        assert!(sink.is_some_and(|s| s.same_channel(&live)));
        // Both active: nobody can tell which call asks; no sink, no guess.
        parked.store(false, Ordering::Relaxed);
        peer.dispatch(msg(ask));
        assert!(events.recv().await.unwrap().1.is_none());
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
