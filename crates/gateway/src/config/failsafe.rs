//! `failsafe:` and its per-backend overrides, resolved field by field into
//! the settings one backend runs with.

use std::time::Duration;

use serde::Serialize;

use super::model::parse_duration;
use super::raw::{
    RawBreaker, RawConcurrency, RawFailsafe, RawHealthCheck, RawRateLimit, RawRestart, RawRetry,
};
use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failsafe {
    pub circuit_breaker: BreakerConfig,
    pub retry: RetryConfig,
    pub rate_limit: RateLimitConfig,
    pub health_check: HealthCheckConfig,
    pub restart: RestartConfig,
    pub concurrency: ConcurrencyConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConcurrencyConfig {
    /// Calls a backend is given at once.
    pub max_in_flight: u32,
    /// Calls waiting for a slot; past this, callers get an overload error at once.
    pub max_queued: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthCheckConfig {
    pub enabled: bool,
    /// How often a ready backend is pinged.
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub interval: Duration,
    /// A ping unanswered this long counts as a failed check; two in a row
    /// and the backend is restarted.
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RestartConfig {
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub initial_backoff: Duration,
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub max_backoff: Duration,
    /// More failures than this within `window` and the backend stays failed.
    pub max_restarts: u32,
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub window: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakerConfig {
    pub enabled: bool,
    /// Consecutive failures that open the circuit.
    pub failure_threshold: u32,
    /// Successes in half-open state that close it again.
    pub success_threshold: u32,
    /// How long the circuit stays open before a trial call.
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub reset_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryConfig {
    pub enabled: bool,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub initial_backoff: Duration,
    #[serde(serialize_with = "super::model::serialize_duration")]
    pub max_backoff: Duration,
    pub multiplier: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RateLimitConfig {
    pub enabled: bool,
    pub requests_per_second: f64,
    pub burst_size: u32,
}

fn invalid(path: String, message: &str) -> ConfigError {
    ConfigError::Invalid {
        path,
        message: message.to_owned(),
    }
}

/// Resolve `failsafe:` with one backend's overrides (`over`), reporting errors
/// under `path` (the backend's key path, or `failsafe`).
/// One backend's overrides, by section.
pub type Overrides<'a> = (
    &'a Option<RawBreaker>,
    &'a Option<RawRetry>,
    &'a Option<RawRateLimit>,
    &'a Option<RawHealthCheck>,
    &'a Option<RawRestart>,
    &'a Option<RawConcurrency>,
);

pub fn resolve(global: &RawFailsafe, over: Overrides, path: &str) -> Result<Failsafe, ConfigError> {
    let dur = |key: &str,
               a: &Option<String>,
               b: &Option<String>,
               default: Duration|
     -> Result<Duration, ConfigError> {
        match a.as_ref().or(b.as_ref()) {
            Some(s) => parse_duration(&format!("{path}.{key}"), s),
            None => Ok(default),
        }
    };
    let (gb, gr, gl) = (
        global.circuit_breaker.clone().unwrap_or_default(),
        global.retry.clone().unwrap_or_default(),
        global.rate_limit.clone().unwrap_or_default(),
    );
    let (ob, or, ol) = (
        over.0.clone().unwrap_or_default(),
        over.1.clone().unwrap_or_default(),
        over.2.clone().unwrap_or_default(),
    );

    let circuit_breaker = BreakerConfig {
        enabled: ob.enabled.or(gb.enabled).unwrap_or(true),
        failure_threshold: ob.failure_threshold.or(gb.failure_threshold).unwrap_or(5),
        success_threshold: ob.success_threshold.or(gb.success_threshold).unwrap_or(1),
        reset_timeout: dur(
            "circuit_breaker.reset_timeout",
            &ob.reset_timeout,
            &gb.reset_timeout,
            Duration::from_secs(30),
        )?,
    };
    if circuit_breaker.failure_threshold == 0 || circuit_breaker.success_threshold == 0 {
        return Err(invalid(
            format!("{path}.circuit_breaker"),
            "failure_threshold and success_threshold must be at least 1",
        ));
    }
    let retry = RetryConfig {
        enabled: or.enabled.or(gr.enabled).unwrap_or(true),
        max_attempts: or.max_attempts.or(gr.max_attempts).unwrap_or(3),
        initial_backoff: dur(
            "retry.initial_backoff",
            &or.initial_backoff,
            &gr.initial_backoff,
            Duration::from_millis(100),
        )?,
        max_backoff: dur(
            "retry.max_backoff",
            &or.max_backoff,
            &gr.max_backoff,
            Duration::from_secs(5),
        )?,
        multiplier: or.multiplier.or(gr.multiplier).unwrap_or(2.0),
    };
    if retry.max_attempts == 0 || retry.max_attempts > 10 {
        return Err(invalid(
            format!("{path}.retry.max_attempts"),
            "must be 1 to 10 (it counts the first attempt)",
        ));
    }
    if !(1.0..=10.0).contains(&retry.multiplier) {
        return Err(invalid(
            format!("{path}.retry.multiplier"),
            "must be between 1 and 10",
        ));
    }
    let rate_limit = RateLimitConfig {
        enabled: ol.enabled.or(gl.enabled).unwrap_or(false),
        requests_per_second: ol
            .requests_per_second
            .or(gl.requests_per_second)
            .unwrap_or(100.0),
        burst_size: ol.burst_size.or(gl.burst_size).unwrap_or(100),
    };
    if rate_limit.requests_per_second.is_nan()
        || rate_limit.requests_per_second <= 0.0
        || rate_limit.burst_size == 0
    {
        return Err(invalid(
            format!("{path}.rate_limit"),
            "requests_per_second must be above 0 and burst_size at least 1",
        ));
    }
    let (gh, oh) = (
        global.health_check.clone().unwrap_or_default(),
        over.3.clone().unwrap_or_default(),
    );
    let health_check = HealthCheckConfig {
        enabled: oh.enabled.or(gh.enabled).unwrap_or(true),
        interval: dur(
            "health_check.interval",
            &oh.interval,
            &gh.interval,
            Duration::from_secs(30),
        )?,
        timeout: dur(
            "health_check.timeout",
            &oh.timeout,
            &gh.timeout,
            Duration::from_secs(5),
        )?,
    };
    if health_check.interval < Duration::from_millis(10) {
        return Err(invalid(
            format!("{path}.health_check.interval"),
            "must be at least 10ms",
        ));
    }
    let (gs, os) = (
        global.restart.clone().unwrap_or_default(),
        over.4.clone().unwrap_or_default(),
    );
    let restart = RestartConfig {
        initial_backoff: dur(
            "restart.initial_backoff",
            &os.initial_backoff,
            &gs.initial_backoff,
            Duration::from_millis(500),
        )?,
        max_backoff: dur(
            "restart.max_backoff",
            &os.max_backoff,
            &gs.max_backoff,
            Duration::from_secs(30),
        )?,
        max_restarts: os.max_restarts.or(gs.max_restarts).unwrap_or(8),
        window: dur(
            "restart.window",
            &os.window,
            &gs.window,
            Duration::from_secs(600),
        )?,
    };
    if restart.max_restarts == 0 || restart.initial_backoff.is_zero() {
        return Err(invalid(
            format!("{path}.restart"),
            "max_restarts must be at least 1 and initial_backoff above 0",
        ));
    }
    let (gc, oc) = (
        global.concurrency.clone().unwrap_or_default(),
        over.5.clone().unwrap_or_default(),
    );
    let concurrency = ConcurrencyConfig {
        max_in_flight: oc.max_in_flight.or(gc.max_in_flight).unwrap_or(64),
        max_queued: oc.max_queued.or(gc.max_queued).unwrap_or(256),
    };
    if concurrency.max_in_flight == 0 {
        return Err(invalid(
            format!("{path}.concurrency.max_in_flight"),
            "must be at least 1",
        ));
    }
    Ok(Failsafe {
        circuit_breaker,
        retry,
        rate_limit,
        health_check,
        restart,
        concurrency,
    })
}

/// `failsafe.client_rate_limit`: one token bucket per client session, over
/// all its requests (ping excepted). Off unless enabled.
pub fn client_rate_limit(global: &RawFailsafe) -> Result<RateLimitConfig, ConfigError> {
    let c = global.client_rate_limit.clone().unwrap_or_default();
    let cfg = RateLimitConfig {
        enabled: c.enabled.unwrap_or(false),
        requests_per_second: c.requests_per_second.unwrap_or(20.0),
        burst_size: c.burst_size.unwrap_or(40),
    };
    if cfg.requests_per_second.is_nan() || cfg.requests_per_second <= 0.0 || cfg.burst_size == 0 {
        return Err(invalid(
            "failsafe.client_rate_limit".into(),
            "requests_per_second must be above 0 and burst_size at least 1",
        ));
    }
    Ok(cfg)
}
