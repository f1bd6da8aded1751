//! The pure cores of resilience: a circuit breaker, a token bucket and
//! backoff with full jitter. Time is passed in, so tests drive it.

use std::time::{Duration, Instant};

use crate::config::{BreakerConfig, RateLimitConfig, RetryConfig};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Circuit {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { successes: u32 },
}

impl Circuit {
    pub fn name(&self) -> &'static str {
        match self {
            Circuit::Closed { .. } => "closed",
            Circuit::Open { .. } => "open",
            Circuit::HalfOpen { .. } => "half_open",
        }
    }
}

#[derive(Debug)]
pub struct Breaker {
    cfg: BreakerConfig,
    pub state: Circuit,
}

impl Breaker {
    pub fn new(cfg: BreakerConfig) -> Breaker {
        Breaker {
            cfg,
            state: Circuit::Closed { failures: 0 },
        }
    }

    /// May a call go out now? `Err(wait)` while open.
    pub fn admit(&mut self, now: Instant) -> Result<(), Duration> {
        if !self.cfg.enabled {
            return Ok(());
        }
        match self.state {
            Circuit::Open { until } if now < until => Err(until - now),
            Circuit::Open { .. } => {
                self.state = Circuit::HalfOpen { successes: 0 };
                Ok(())
            }
            _ => Ok(()),
        }
    }

    pub fn record(&mut self, success: bool, now: Instant) {
        if !self.cfg.enabled {
            return;
        }
        self.state = match (self.state, success) {
            (Circuit::Closed { .. }, true) => Circuit::Closed { failures: 0 },
            (Circuit::Closed { failures }, false) if failures + 1 >= self.cfg.failure_threshold => {
                Circuit::Open {
                    until: now + self.cfg.reset_timeout,
                }
            }
            (Circuit::Closed { failures }, false) => Circuit::Closed {
                failures: failures + 1,
            },
            (Circuit::HalfOpen { successes }, true)
                if successes + 1 >= self.cfg.success_threshold =>
            {
                Circuit::Closed { failures: 0 }
            }
            (Circuit::HalfOpen { successes }, true) => Circuit::HalfOpen {
                successes: successes + 1,
            },
            (Circuit::HalfOpen { .. }, false) => Circuit::Open {
                until: now + self.cfg.reset_timeout,
            },
            (open @ Circuit::Open { .. }, _) => open,
        };
    }
}

#[derive(Debug)]
pub struct TokenBucket {
    cfg: RateLimitConfig,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(cfg: RateLimitConfig, now: Instant) -> TokenBucket {
        TokenBucket {
            tokens: f64::from(cfg.burst_size),
            cfg,
            last: now,
        }
    }

    /// Take one token, or say how long until one is there.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        if !self.cfg.enabled {
            return Ok(());
        }
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.cfg.requests_per_second)
            .min(f64::from(self.cfg.burst_size));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.cfg.requests_per_second,
            ))
        }
    }
}

/// The pause before retry number `retry` (1 = the first retry): a uniform
/// random share (`unit` in [0, 1)) of the capped exponential ("full jitter").
pub fn backoff(cfg: &RetryConfig, retry: u32, unit: f64) -> Duration {
    let exp =
        cfg.initial_backoff.as_secs_f64() * cfg.multiplier.powi(retry.saturating_sub(1) as i32);
    Duration::from_secs_f64(exp.min(cfg.max_backoff.as_secs_f64()) * unit.clamp(0.0, 1.0))
}

/// A random number in [0, 1) from the OS.
pub fn unit_random() -> f64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Methods that read and may be sent again without changing anything.
pub fn is_read_method(method: &str) -> bool {
    matches!(
        method,
        "ping"
            | "tools/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
            | "prompts/list"
            | "prompts/get"
            | "completion/complete"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker(enabled: bool) -> Breaker {
        Breaker::new(BreakerConfig {
            enabled,
            failure_threshold: 3,
            success_threshold: 2,
            reset_timeout: Duration::from_secs(10),
        })
    }

    #[test]
    fn breaker_opens_half_opens_and_closes() {
        let t0 = Instant::now();
        let mut b = breaker(true);
        for _ in 0..2 {
            b.record(false, t0);
            assert!(b.admit(t0).is_ok());
        }
        b.record(true, t0); // a success resets the count
        for _ in 0..3 {
            assert!(b.admit(t0).is_ok());
            b.record(false, t0);
        }
        assert_eq!(
            b.admit(t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6)),
            "open: fail fast, say when"
        );
        assert!(
            b.admit(t0 + Duration::from_secs(10)).is_ok(),
            "half-open after reset_timeout"
        );
        assert_eq!(b.state.name(), "half_open");
        b.record(false, t0 + Duration::from_secs(10));
        assert_eq!(b.state.name(), "open", "a failed trial opens it again");
        let t1 = t0 + Duration::from_secs(20);
        assert!(b.admit(t1).is_ok());
        b.record(true, t1);
        assert_eq!(b.state.name(), "half_open");
        b.record(true, t1);
        assert_eq!(
            b.state.name(),
            "closed",
            "success_threshold successes close it"
        );
    }

    #[test]
    fn disabled_breaker_never_opens() {
        let t0 = Instant::now();
        let mut b = breaker(false);
        for _ in 0..10 {
            b.record(false, t0);
        }
        assert!(b.admit(t0).is_ok());
    }

    #[test]
    fn bucket_allows_bursts_then_refills_at_the_rate() {
        let t0 = Instant::now();
        let mut tb = TokenBucket::new(
            RateLimitConfig {
                enabled: true,
                requests_per_second: 10.0,
                burst_size: 3,
            },
            t0,
        );
        assert!((0..3).all(|_| tb.take(t0).is_ok()));
        let wait = tb.take(t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(tb.take(t0 + Duration::from_millis(100)).is_ok());
        assert!(tb.take(t0 + Duration::from_millis(100)).is_err());
    }

    #[test]
    fn backoff_is_capped_exponential_with_full_jitter() {
        let cfg = RetryConfig {
            enabled: true,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
            multiplier: 2.0,
        };
        assert_eq!(backoff(&cfg, 1, 1.0), Duration::from_millis(100));
        assert_eq!(backoff(&cfg, 2, 1.0), Duration::from_millis(200));
        assert_eq!(backoff(&cfg, 3, 1.0), Duration::from_millis(300), "capped");
        assert_eq!(backoff(&cfg, 3, 0.5), Duration::from_millis(150));
        assert_eq!(backoff(&cfg, 2, 0.0), Duration::ZERO);
        let u = unit_random();
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn read_methods_are_safe_to_repeat() {
        assert!(is_read_method("resources/read") && is_read_method("tools/list"));
        assert!(!is_read_method("tools/call") && !is_read_method("resources/subscribe"));
    }
}
