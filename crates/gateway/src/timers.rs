//! Timers kept between calls. A call that waits on its backend arms two
//! deadlines (the `server.stream_after` switch and the request timeout);
//! a fresh tokio timer for each takes the timer wheel's lock twice (in and
//! out) and, when the runtime's driver sleeps with no earlier timer, wakes
//! it through its eventfd: a system call per call at concurrency 1. A
//! kept timer that is still armed is moved to a later deadline with one
//! atomic store, so calls in a steady stream neither lock the wheel nor
//! wake the driver. Like tokio's own, a timer is armed only when first
//! polled: a call that answers at once touches none.
//!
//! A timer returned to its pool forgets the task that last waited on it
//! (it is polled once with a no-op waker), so a finished request's task is
//! not kept alive by a timer that has not fired yet.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// Timers kept for reuse; more than this many idle ones are dropped.
const KEPT: usize = 64;

#[derive(Default)]
pub struct Timers {
    idle: Mutex<Vec<Pin<Box<Sleep>>>>,
}

impl Timers {
    /// A timer that fires `after` from now. Nothing is armed until it is
    /// first polled (a call that answers at once never touches a timer);
    /// then a kept timer is moved to the deadline, or a new one made.
    pub fn start(&self, after: Duration) -> Timer<'_> {
        Timer {
            deadline: Instant::now() + after,
            sleep: None,
            home: self,
        }
    }
}

/// One timer; armed when first polled, back to its pool when dropped.
pub struct Timer<'a> {
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    home: &'a Timers,
}

impl Future for Timer<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        let home = self.home;
        let sleep = self.sleep.get_or_insert_with(|| {
            let kept = home.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match kept {
                Some(mut sleep) => {
                    sleep.as_mut().reset(deadline);
                    sleep
                }
                None => Box::pin(tokio::time::sleep_until(deadline)),
            }
        });
        sleep.as_mut().poll(cx)
    }
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        // Polling while a panic unwinds could panic again (a runtime that is
        // going away refuses timer polls): then the timer just goes.
        let Some(mut sleep) = self.sleep.take().filter(|_| !std::thread::panicking()) else {
            return;
        };
        // Forget the waiting task's waker.
        let _ = sleep.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        let mut idle = self.home.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEPT {
            idle.push(sleep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_kept_timer_fires_at_its_new_deadline_not_its_old_one() {
        let timers = Timers::default();
        let start = Instant::now();
        // A timer never polled arms nothing and keeps nothing.
        drop(timers.start(Duration::from_millis(50)));
        assert!(timers.idle.lock().unwrap().is_empty());
        // Armed for 50 ms, abandoned after 20: kept, still armed.
        let first = timers.start(Duration::from_millis(50));
        let abandoned = tokio::time::timeout(Duration::from_millis(20), first).await;
        assert!(abandoned.is_err());
        assert_eq!(timers.idle.lock().unwrap().len(), 1);
        // Reused for another 50 ms: not before 70 ms (tokio timers never fire early).
        timers.start(Duration::from_millis(50)).await;
        assert!(
            start.elapsed() >= Duration::from_millis(70),
            "{:?}",
            start.elapsed()
        );
        // A fired timer is reused too, and fires again; so does one moved
        // to an earlier deadline than it had.
        timers.start(Duration::from_millis(5)).await;
        let hour = tokio::time::timeout(
            Duration::from_millis(1),
            timers.start(Duration::from_secs(3600)),
        );
        assert!(hour.await.is_err());
        let soon = tokio::time::timeout(
            Duration::from_secs(5),
            timers.start(Duration::from_millis(1)),
        );
        assert!(
            soon.await.is_ok(),
            "kept at an hour, it still fired in 1 ms"
        );
        assert_eq!(timers.idle.lock().unwrap().len(), 1, "one timer served all");
    }

    #[tokio::test]
    async fn concurrent_timers_are_separate_and_the_pool_is_bounded() {
        let timers = Timers::default();
        let mut many: Vec<_> = (0..KEPT + 10)
            .map(|i| Box::pin(timers.start(Duration::from_secs(i as u64 + 1))))
            .collect();
        for t in &mut many {
            let armed = t.as_mut().poll(&mut Context::from_waker(Waker::noop()));
            assert!(armed.is_pending());
        }
        drop(many);
        assert_eq!(timers.idle.lock().unwrap().len(), KEPT);
        let (soon, late) = (
            timers.start(Duration::from_millis(3)),
            timers.start(Duration::from_secs(5)),
        );
        tokio::select! {
            () = soon => {}
            () = late => panic!("the later timer fired first"),
        }
    }

    struct Task;
    impl std::task::Wake for Task {
        fn wake(self: std::sync::Arc<Self>) {}
    }

    #[tokio::test]
    async fn a_returned_timer_forgets_the_task_that_waited_on_it() {
        let timers = Timers::default();
        let task = std::sync::Arc::new(Task);
        let waker = Waker::from(task.clone());
        let mut timer = timers.start(Duration::from_secs(3600));
        let waiting = Pin::new(&mut timer).poll(&mut Context::from_waker(&waker));
        assert!(waiting.is_pending());
        drop(waker);
        assert_eq!(
            std::sync::Arc::strong_count(&task),
            2,
            "armed, it holds the waker"
        );
        drop(timer);
        assert_eq!(timers.idle.lock().unwrap().len(), 1);
        assert_eq!(
            std::sync::Arc::strong_count(&task),
            1,
            "kept, it holds none"
        );
    }
}
