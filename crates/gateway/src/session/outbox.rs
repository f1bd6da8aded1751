//! One resumable SSE stream of a session: the stream a POST is answered on.
//!
//! The call's messages (progress, logs, requests to the client, then the
//! answer) are appended with increasing sequence numbers; a reader walks
//! them with a cursor, so the producer never waits for the network. Event
//! ids are `<stream>-<seq>`; `<stream>-0` is the priming event, which
//! carries no message.
//!
//! When the client's connection breaks, the events stay, so a GET with
//! `Last-Event-ID: <stream>-<seq>` replays what followed — from this stream
//! only — and goes on live. The buffer is bounded in bytes (the oldest
//! events give way); once a reader has sent the last event of a finished
//! stream, the session forgets it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mcp_wire::Message;
use tokio::sync::watch;

pub struct Outbox {
    pub id: u64,
    /// Most bytes of event data held for replay.
    cap: usize,
    state: Mutex<State>,
    /// Ticks on every push and on finish; readers wait on it.
    tick: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    events: VecDeque<(u64, Arc<str>)>,
    /// Sequence number of the last event pushed (0: none yet).
    last: u64,
    bytes: usize,
    /// When the answer went in: nothing follows it.
    finished: Option<Instant>,
}

/// What a reader gets next.
#[derive(Debug, PartialEq)]
pub enum Next {
    Event(u64, Arc<str>),
    /// The stream is finished and the reader has had everything.
    End,
}

impl Outbox {
    pub fn new(id: u64, cap: usize) -> Outbox {
        Outbox {
            id,
            cap,
            state: Mutex::new(State::default()),
            tick: watch::Sender::new(0),
        }
    }

    /// Append a message. Past the byte cap the oldest events are dropped
    /// (the newest one always stays).
    pub fn push(&self, msg: &Message) {
        let data: Arc<str> = msg.to_json_string().into();
        {
            let mut s = self.lock();
            s.last += 1;
            let seq = s.last;
            s.bytes += data.len();
            s.events.push_back((seq, data));
            while s.bytes > self.cap && s.events.len() > 1 {
                if let Some((dropped, d)) = s.events.pop_front() {
                    s.bytes -= d.len();
                    tracing::warn!(
                        stream = self.id,
                        seq = dropped,
                        "SSE replay buffer full (server.sse_resume_buffer); oldest event dropped"
                    );
                }
            }
        }
        self.tick.send_modify(|t| *t += 1);
    }

    /// Nothing more will be pushed.
    pub fn finish(&self) {
        self.lock().finished = Some(Instant::now());
        self.tick.send_modify(|t| *t += 1);
    }

    /// When the stream finished, if it has.
    pub fn finished_at(&self) -> Option<Instant> {
        self.lock().finished
    }

    /// The first event after `cursor`, waiting for one if needed; `End`
    /// once the stream is finished and the reader is past its last event.
    pub async fn next_after(&self, cursor: u64) -> Next {
        let mut tick = self.tick.subscribe();
        loop {
            if let Some(next) = self.peek_after(cursor) {
                return next;
            }
            if tick.changed().await.is_err() {
                return Next::End;
            }
        }
    }

    fn peek_after(&self, cursor: u64) -> Option<Next> {
        let s = self.lock();
        if let Some((seq, data)) = s.events.iter().find(|(seq, _)| *seq > cursor) {
            return Some(Next::Event(*seq, data.clone()));
        }
        s.finished.map(|_| Next::End)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `<stream>-<seq>` as sent in SSE `id:` fields.
pub fn event_id(stream: u64, seq: u64) -> String {
    format!("{stream}-{seq}")
}

/// The stream and sequence number a `Last-Event-ID` names.
pub fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (stream, seq) = id.trim().split_once('-')?;
    Some((stream.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(n: u32) -> Message {
        Message::notification("notifications/progress", Some(mcp_wire::raw(&n)))
    }

    fn seq(next: Next) -> u64 {
        match next {
            Next::Event(seq, _) => seq,
            Next::End => 0,
        }
    }

    #[tokio::test]
    async fn a_reader_sees_every_event_in_order_then_the_end() {
        let ob = Arc::new(Outbox::new(7, 1 << 20));
        let reader = {
            let ob = ob.clone();
            tokio::spawn(async move {
                let (mut cursor, mut got) = (0, vec![]);
                while let Next::Event(seq, data) = ob.next_after(cursor).await {
                    got.push(data.to_string());
                    cursor = seq;
                }
                got
            })
        };
        for n in 0..3 {
            ob.push(&note(n));
            tokio::task::yield_now().await;
        }
        ob.finish();
        let got = reader.await.unwrap();
        assert_eq!(got.len(), 3);
        assert!(got[2].contains("\"params\":2"), "{got:?}");
    }

    #[tokio::test]
    async fn a_resumed_reader_replays_only_what_followed() {
        let ob = Outbox::new(1, 1 << 20);
        for n in 0..4 {
            ob.push(&note(n));
        }
        ob.finish();
        assert_eq!(seq(ob.next_after(2).await), 3);
        assert_eq!(seq(ob.next_after(3).await), 4);
        assert_eq!(ob.next_after(4).await, Next::End);
        assert!(ob.finished_at().is_some());
    }

    #[tokio::test]
    async fn the_buffer_is_bounded_and_keeps_the_newest() {
        let one = note(0).to_json_string().len();
        let ob = Outbox::new(1, one * 2);
        for n in 0..5 {
            ob.push(&note(n));
        }
        // Events 1..=3 gave way; a reader from the start resumes at 4.
        assert_eq!(seq(ob.next_after(0).await), 4);
        let tiny = Outbox::new(1, 1);
        tiny.push(&note(9));
        assert_eq!(seq(tiny.next_after(0).await), 1, "the newest always stays");
    }

    #[test]
    fn event_ids_round_trip() {
        assert_eq!(parse_event_id(&event_id(3, 41)), Some((3, 41)));
        assert_eq!(parse_event_id("garbage"), None);
        assert_eq!(parse_event_id("1-x"), None);
    }
}
