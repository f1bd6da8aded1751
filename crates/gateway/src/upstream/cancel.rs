//! A call's cancellation: fired at most once, with a reason, and awaited
//! by every clone. One `Arc` and one `Notify`, made for every call: a
//! `watch` channel allocated eight notifiers and woke them all on drop.

use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

#[derive(Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Default)]
struct Inner {
    reason: OnceLock<String>,
    notify: Notify,
}

impl Cancel {
    /// Fire with `reason`. False if it had fired already (the first reason stays).
    pub fn fire(&self, reason: String) -> bool {
        let first = self.0.reason.set(reason).is_ok();
        self.0.notify.notify_waiters();
        first
    }

    /// Resolves with the reason once fired; never if it never is.
    pub async fn fired(&self) -> &str {
        loop {
            let notified = self.0.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so a fire in between is not missed.
            notified.as_mut().enable();
            if let Some(reason) = self.0.reason.get() {
                return reason;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Cancel;

    #[tokio::test]
    async fn every_clone_sees_the_first_reason() {
        let cancel = Cancel::default();
        let (a, b) = (cancel.clone(), cancel.clone());
        let waiting = tokio::spawn(async move { a.fired().await.to_owned() });
        tokio::task::yield_now().await;
        assert!(cancel.fire("first".into()));
        assert!(!cancel.fire("second".into()));
        assert_eq!(waiting.await.unwrap(), "first");
        // Fired before anyone waits: resolves at once.
        assert_eq!(b.fired().await, "first");
    }

    #[tokio::test]
    async fn an_unfired_cancel_stays_pending() {
        let cancel = Cancel::default();
        let waited = tokio::time::timeout(Duration::from_millis(20), cancel.fired()).await;
        assert!(waited.is_err());
    }
}
