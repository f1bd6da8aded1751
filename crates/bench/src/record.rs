//! One measurement as one JSON line: what `--json` prints, what
//! `scripts/bench.sh` collects, and what `mcp-bench report` turns into tables.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::load::Outcome;

/// Every kind of measurement shares this shape; fields a kind does not use stay `None`.
#[derive(Serialize, Deserialize, Default, Clone, Debug)]
pub struct Record {
    /// `calls`, `setup`, `sessions`, `startup`, `rss` or `size`.
    pub kind: String,
    /// What was measured, for grouping and baselines: `direct`, `invoke-stdio`, ...
    #[serde(default)]
    pub group: String,
    /// A human name for the row.
    #[serde(default)]
    pub label: String,
    /// The round of an interleaved run (`--round`): the report pairs each
    /// round's measurement with the baseline's of the same round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_errors: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    /// Successful operations per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean_us: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_us: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90_us: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_us: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_us: Option<f64>,
    /// CPU time per successful operation of each watched process, in µs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cpu_us_per_op: BTreeMap<String, f64>,
    /// Instructions per successful operation of the process under callgrind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions_per_op: Option<f64>,
    /// startup: runs, and the median milliseconds from exec to each milestone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_call_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_ready_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backends: Option<u64>,
    /// rss / sessions: resident memory in KiB (after, for sessions), and the peak.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hwm_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rss_before_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_session: Option<f64>,
    /// size: bytes of a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

fn us(nanos: u64) -> f64 {
    nanos as f64 / 1000.0
}

impl Record {
    pub fn new(kind: &str, group: &str, label: &str) -> Record {
        Record {
            kind: kind.into(),
            group: group.into(),
            label: label.into(),
            ..Record::default()
        }
    }

    /// Counts and latencies of a load run.
    pub fn with_outcome(mut self, o: &Outcome) -> Record {
        let h = &o.latency;
        self.ok = Some(o.ok);
        self.errors = Some(o.errors);
        self.tool_errors = Some(o.tool_errors);
        self.first_error = o.first_error.clone();
        self.seconds = Some(o.seconds);
        self.throughput = Some(o.throughput());
        self.mean_us = Some(h.mean() / 1000.0);
        self.p50_us = Some(us(h.quantile(0.50)));
        self.p90_us = Some(us(h.quantile(0.90)));
        self.p99_us = Some(us(h.quantile(0.99)));
        self.max_us = Some(us(h.max()));
        self
    }

    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("records serialise")
    }

    /// A one-paragraph human summary.
    pub fn human(&self) -> String {
        let mut s = format!("{} [{}] {}", self.kind, self.group, self.label);
        let f = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        if let Some(t) = self.throughput {
            s += &format!(
                "\n  {:.0} ops/s, latency µs: mean {} p50 {} p90 {} p99 {} max {}",
                t,
                f(self.mean_us),
                f(self.p50_us),
                f(self.p90_us),
                f(self.p99_us),
                f(self.max_us)
            );
            s += &format!(
                "\n  ok {} errors {} tool errors {}",
                self.ok.unwrap_or(0),
                self.errors.unwrap_or(0),
                self.tool_errors.unwrap_or(0)
            );
        }
        for (name, cpu) in &self.cpu_us_per_op {
            s += &format!("\n  CPU of {name}: {cpu:.1} µs per op");
        }
        if let Some(i) = self.instructions_per_op {
            s += &format!("\n  {i:.0} instructions per op (callgrind)");
        }
        if let Some(e) = &self.first_error {
            s += &format!("\n  first error: {e}");
        }
        if self.listen_ms.is_some() || self.first_call_ms.is_some() {
            s += &format!(
                "\n  median of {} runs, ms from exec: listening {}, first call {}, all {} backends ready {}",
                self.runs.unwrap_or(0),
                f(self.listen_ms),
                f(self.first_call_ms),
                self.backends.unwrap_or(0),
                f(self.all_ready_ms)
            );
        }
        if let Some(r) = self.rss_kib {
            s += &format!("\n  RSS {r} KiB (peak {} KiB)", self.hwm_kib.unwrap_or(0));
        }
        if let Some(b) = self.bytes_per_session {
            s += &format!(
                "\n  {} sessions: {} -> {} KiB, {b:.0} bytes per session",
                self.sessions.unwrap_or(0),
                self.rss_before_kib.unwrap_or(0),
                self.rss_kib.unwrap_or(0)
            );
        }
        if let Some(b) = self.bytes {
            s += &format!("\n  {b} bytes");
        }
        s
    }
}
