//! A call polled inside the HTTP request's own task instead of a task of
//! its own: most calls answer within `server.stream_after`, and spawning one
//! task per request (moving its future into it, waking the handler through a
//! join handle) was a measurable share of the hot path.
//!
//! A dropped connection is not a cancel: when the request's task is dropped
//! (the client went away) before the call ends, the call is spawned and
//! runs to its end on its own, exactly as if it had been spawned from the start.
//! A panic in the call becomes an error value, not a dead connection.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;

type Call<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What polling the call gives: its output, or that it panicked.
pub type Outcome<T> = Result<T, Panicked>;

#[derive(Debug)]
pub struct Panicked;

pub struct Inline<T: Send + 'static> {
    call: Option<Call<Outcome<T>>>,
}

impl<T: Send + 'static> Inline<T> {
    pub fn new(call: impl Future<Output = T> + Send + 'static) -> Self {
        let call = AssertUnwindSafe(call)
            .catch_unwind()
            .map(|r| r.map_err(|_| Panicked));
        Self {
            call: Some(Box::pin(call)),
        }
    }

    /// Hand the unfinished call over (to a task that goes on with it).
    /// Panics if the call has finished: its outcome was already returned by
    /// polling, and asking for the call after that is a bug of the caller.
    pub fn into_call(mut self) -> impl Future<Output = Outcome<T>> + Send {
        self.call
            .take()
            .expect("Inline::into_call after the call finished")
    }
}

impl<T: Send + 'static> Future for Inline<T> {
    type Output = Outcome<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(call) = self.call.as_mut() else {
            return Poll::Pending; // finished: never polled again by select!
        };
        let out = call.as_mut().poll(cx);
        if out.is_ready() {
            self.call = None;
        }
        out
    }
}

impl<T: Send + 'static> Drop for Inline<T> {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            // Outside a runtime (shutdown already tore it down) there is
            // nothing left to finish the call on.
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(call);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_quick_call_answers_in_place() {
        let out = Inline::new(async { 7 }).await;
        assert_eq!(out.unwrap(), 7);
    }

    #[tokio::test]
    async fn a_dropped_request_leaves_its_call_running_to_the_end() {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut call = Inline::new(async move {
            rx.await.ok();
            flag.store(true, Ordering::SeqCst);
        });
        // Polled once (it waits), then the request goes away.
        let waited = tokio::time::timeout(Duration::from_millis(10), &mut call).await;
        assert!(waited.is_err());
        drop(call);
        tx.send(()).unwrap();
        for _ in 0..100 {
            if done.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the call was dropped with its request instead of running on");
    }

    #[tokio::test]
    async fn an_unfinished_call_can_be_handed_over() {
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let mut call = Inline::new(async move { rx.await.unwrap() });
        let waited = tokio::time::timeout(Duration::from_millis(10), &mut call).await;
        assert!(waited.is_err());
        let rest = tokio::spawn(call.into_call());
        tx.send(3).unwrap();
        assert_eq!(rest.await.unwrap().unwrap(), 3);
    }

    #[tokio::test]
    async fn a_panicking_call_is_an_error_not_a_dead_task() {
        let out = Inline::new(async {
            if true {
                panic!("boom");
            }
        })
        .await;
        assert!(out.is_err());
    }
}
