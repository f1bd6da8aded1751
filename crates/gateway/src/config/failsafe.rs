//! `failsafe:` and its per-backend overrides, resolved field by field into
//! the settings one backend runs with.

use std::time::Duration;

use serde::Serialize;

use super::model::parse_duration;
use super::raw::{RawBreaker, RawFailsafe, RawRateLimit, RawRetry};
use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failsafe {
    pub circuit_breaker: BreakerConfig,
    pub retry: RetryConfig,
    pub rate_limit: RateLimitConfig,
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
pub fn resolve(
    global: &RawFailsafe,
    over: (
        &Option<RawBreaker>,
        &Option<RawRetry>,
        &Option<RawRateLimit>,
    ),
    path: &str,
) -> Result<Failsafe, ConfigError> {
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
    Ok(Failsafe {
        circuit_breaker,
        retry,
        rate_limit,
    })
}
