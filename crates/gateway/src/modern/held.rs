//! Multi round-trip requests (MRTR) over session-era backends.
//!
//! A modern client cannot be sent requests. When a backend asks something
//! in the middle of a call (elicitation, sampling, roots), the gateway
//! answers the client with an `input_required` result listing the
//! questions, keeps the backend call open, and parks it under a handle the
//! sealed `requestState` names. The client's retry carries the answers;
//! they go to the backend under its own request ids and the call goes on —
//! possibly to another round. A call nobody comes back for is cancelled
//! upstream when its state expires; so is a call whose client goes away.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mcp_wire::{codes, raw, ErrorObject, Json, Message};
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::state::Sealer;
use super::Envelope;
use crate::gateway::Gateway;
use crate::router::{self, GatewayError, Outcome};
use crate::session::{capability_for, Session};
use crate::upstream::{CallContext, Cancel, Related, Reply};

/// How long a call waits for more questions once the backend asked one, so
/// questions asked together reach the client in one round.
const GATHER: Duration = Duration::from_millis(20);

/// One backend call of a modern client, running or held.
pub struct Call {
    events: mpsc::Receiver<Related>,
    events_open: bool,
    task: JoinHandle<Outcome>,
    cancel: Cancel,
    /// Set while the call is held between rounds (see `CallContext::parked`).
    parked: Arc<AtomicBool>,
    /// Questions asked of the client, not answered yet.
    asked: Vec<Asked>,
    /// Notifications that came while questions were being gathered.
    notes: std::collections::VecDeque<Message>,
    next_key: u32,
    done: bool,
}

struct Asked {
    key: String,
    /// `{"method": …, "params": …}` as the client sees it.
    request: Json,
    reply: oneshot::Sender<Reply>,
}

/// What a call has for its client next.
pub enum Step {
    /// Progress, or a log message at a level the client asked for.
    Note(Message),
    /// The call needs answers: `{key: {method, params}}`.
    Input(Json),
    /// The call is over.
    Done(Outcome),
    /// The backend asked for a capability this request did not declare (-32021).
    Refused(ErrorObject),
}

impl Call {
    /// Start `msg` on the backends for `session`.
    pub fn start(gw: Arc<Gateway>, session: Arc<Session>, msg: Message) -> Call {
        let (sink, events) = mpsc::channel(64);
        let cancel = Cancel::default();
        let cancelled = cancel.clone();
        let parked = Arc::new(AtomicBool::new(false));
        let flag = parked.clone();
        let task = tokio::spawn(async move {
            let ctx = CallContext {
                sink: Some(sink),
                cancelled: Some(cancelled),
                repeatable: false,
                parked: Some(flag),
                owner: session.key(),
            };
            router::request(&gw, &session, &msg, &ctx).await
        });
        Call {
            events,
            events_open: true,
            task,
            cancel,
            parked,
            asked: Vec::new(),
            notes: Default::default(),
            next_key: 1,
            done: false,
        }
    }

    /// Run the call until it has something for the client.
    pub async fn next(&mut self, env: &Envelope) -> Step {
        if let Some(note) = self.notes.pop_front() {
            return Step::Note(note);
        }
        if !self.asked.is_empty() {
            return Step::Input(self.input_requests());
        }
        loop {
            tokio::select! {
                biased;
                ev = self.events.recv(), if self.events_open => match ev {
                    Some(Related::Notification(m)) => {
                        if passes(&m, env) {
                            return Step::Note(*m);
                        }
                    }
                    Some(Related::Request { msg, reply }) => {
                        if let Err(refused) = self.ask(*msg, reply, env) {
                            return Step::Refused(refused);
                        }
                        self.gather(env).await;
                        if let Some(note) = self.notes.pop_front() {
                            return Step::Note(note);
                        }
                        if !self.asked.is_empty() {
                            return Step::Input(self.input_requests());
                        }
                    }
                    None => self.events_open = false,
                },
                out = &mut self.task => {
                    self.done = true;
                    return Step::Done(out.unwrap_or_else(|e| {
                        Err(GatewayError::Internal(format!("call task failed: {e}")))
                    }));
                }
            }
        }
    }

    /// Questions the backend asks right after the first go in the same round.
    async fn gather(&mut self, env: &Envelope) {
        while let Ok(Some(ev)) = tokio::time::timeout(GATHER, self.events.recv()).await {
            match ev {
                Related::Request { msg, reply } => {
                    let _ = self.ask(*msg, reply, env);
                }
                Related::Notification(m) if passes(&m, env) => self.notes.push_back(*m),
                Related::Notification(_) => {}
            }
        }
    }

    /// Record a backend question, or refuse it when this request's client
    /// did not declare what it needs.
    fn ask(
        &mut self,
        msg: Message,
        reply: oneshot::Sender<Reply>,
        env: &Envelope,
    ) -> Result<(), ErrorObject> {
        let method = msg.method().to_owned();
        let Some(cap) = capability_for(&method) else {
            // ping and the like: the gateway answers them itself.
            let _ = reply.send(Ok(raw(&serde_json::json!({}))));
            return Ok(());
        };
        if !declares(&env.capabilities, cap) {
            let e = ErrorObject::new(
                codes::METHOD_NOT_FOUND,
                format!("the client did not declare {cap} on this request"),
            );
            let _ = reply.send(Err(e.to_raw()));
            return Err(ErrorObject::new(
                codes::MISSING_REQUIRED_CLIENT_CAPABILITY,
                format!("This request needs the client capability {cap:?}"),
            )
            .with_data(&serde_json::json!({ "requiredCapabilities": { cap: {} } })));
        }
        let key = input_key(&msg).unwrap_or_else(|| {
            self.next_key += 1;
            format!("{}-{}", cap, self.next_key - 1)
        });
        let request = raw(&serde_json::json!({
            "method": method,
            "params": msg.params.as_ref(),
        }));
        self.asked.push(Asked {
            key,
            request,
            reply,
        });
        Ok(())
    }

    fn input_requests(&self) -> Json {
        let mut out = String::from("{");
        for (i, a) in self.asked.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&serde_json::to_string(&a.key).expect("a string"));
            out.push(':');
            out.push_str(a.request.get());
        }
        out.push('}');
        Json::parse(out).expect("built from valid JSON")
    }

    /// The client's answers (`inputResponses`): each goes back to the
    /// backend request it answers. Unknown keys are ignored; questions
    /// left unanswered are asked again.
    pub fn answer(&mut self, responses: Option<&Json>) -> Result<(), ErrorObject> {
        let bad =
            |why: String| ErrorObject::new(codes::INVALID_PARAMS, format!("inputResponses: {why}"));
        let Some(responses) = responses else {
            return Ok(());
        };
        let map: HashMap<String, Json> =
            serde_json::from_str(responses.get()).map_err(|e| bad(e.to_string()))?;
        for (key, value) in &map {
            let is_object = value.get().trim_start().starts_with('{');
            if !is_object && self.asked.iter().any(|a| &a.key == key) {
                return Err(bad(format!("{key} must be an object")));
            }
        }
        let asked = std::mem::take(&mut self.asked);
        for a in asked {
            match map.get(&a.key) {
                Some(value) => {
                    let _ = a.reply.send(Ok(value.clone()));
                }
                None => self.asked.push(a),
            }
        }
        Ok(())
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        if !self.done {
            self.cancel
                .fire("the client went away or never came back with its answers".into());
        }
    }
}

/// The key a backend chose for its question: `_meta["mcp-gateway/inputKey"]`
/// (a session-era request has no key of its own; without one the gateway
/// names it `<capability>-<n>`).
fn input_key(msg: &Message) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct P {
        #[serde(rename = "_meta")]
        meta: Option<M>,
    }
    #[derive(serde::Deserialize)]
    struct M {
        #[serde(rename = "mcp-gateway/inputKey")]
        key: Option<String>,
    }
    msg.parse_params::<P>()
        .ok()?
        .meta?
        .key
        .filter(|k| !k.is_empty())
}

/// Whether a client capabilities object declares `cap`.
fn declares(capabilities: &Json, cap: &str) -> bool {
    serde_json::from_str::<HashMap<String, &RawValue>>(capabilities.get())
        .is_ok_and(|m| m.contains_key(cap))
}

/// What of a call's notifications a modern client gets: progress always,
/// log messages only at or above the level this request asked for.
fn passes(m: &Message, env: &Envelope) -> bool {
    if m.method() != "notifications/message" {
        return true;
    }
    #[derive(serde::Deserialize)]
    struct P {
        level: String,
    }
    m.parse_params::<P>().is_ok_and(|p| env.wants_log(&p.level))
}

/// Calls held for their client's next round, by handle.
pub struct Held {
    pub sealer: Sealer,
    max: usize,
    calls: Mutex<HashMap<String, Call>>,
}

impl Held {
    pub fn new(ttl: Duration, max: usize) -> Arc<Held> {
        Arc::new(Held {
            sealer: Sealer::new(ttl),
            max,
            calls: Mutex::new(HashMap::new()),
        })
    }

    /// Park `call` until its client comes back or its state expires; the
    /// handle to seal into the state. None when too many calls are held.
    pub fn park(self: &Arc<Self>, call: Call) -> Option<String> {
        let handle = crate::session::new_session_id();
        {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            if calls.len() >= self.max {
                return None;
            }
            call.parked.store(true, Ordering::Relaxed);
            calls.insert(handle.clone(), call);
        }
        let (me, h, ttl) = (self.clone(), handle.clone(), self.sealer.ttl);
        tokio::spawn(async move {
            tokio::time::sleep(ttl).await;
            if me.take(&h).is_some() {
                tracing::debug!(handle = %h, "requestState expired; held call cancelled");
            }
        });
        Some(handle)
    }

    pub fn take(&self, handle: &str) -> Option<Call> {
        let call = self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(handle);
        if let Some(c) = &call {
            c.parked.store(false, Ordering::Relaxed);
        }
        call
    }

    pub fn len(&self) -> usize {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
