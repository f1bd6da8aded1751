//! Closed-loop load: N workers, each with its own MCP session, send the next
//! request as soon as the previous answer arrived. Only calls that complete
//! inside the measured window (after the warm-up) are counted.

use anyhow::{anyhow, bail, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

use crate::callgrind;
use crate::client::{classify, first_text, Answer, Session};
use crate::histogram::Histogram;
use crate::procinfo;

/// What to measure and for how long.
#[derive(Clone)]
pub struct Plan {
    pub url: reqwest::Url,
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// Processes whose CPU time is sampled over the measured window, by name.
    pub watch: Vec<(String, u32)>,
    /// A process under callgrind whose instructions are counted over the window.
    pub callgrind: Option<callgrind::Target>,
}

/// Counts and latencies of one measured window.
#[derive(Default)]
pub struct Outcome {
    pub latency: Histogram,
    /// Answers that were a success.
    pub ok: u64,
    /// tools/call results with `isError: true`.
    pub tool_errors: u64,
    /// Transport failures, HTTP errors, JSON-RPC errors.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Length of the measured window.
    pub seconds: f64,
    /// CPU seconds each watched process used in the window.
    pub cpu: BTreeMap<String, f64>,
    /// Instructions the callgrind target executed in the window.
    pub instructions: Option<u64>,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.latency.merge(&other.latency);
        self.ok += other.ok;
        self.tool_errors += other.tool_errors;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    fn failed(&mut self, what: String) {
        self.errors += 1;
        self.first_error.get_or_insert(what);
    }

    /// Successful operations per second of the measured window.
    pub fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Instructions of the callgrind target per successful operation.
    pub fn instructions_per_op(&self) -> Option<f64> {
        self.instructions.map(|n| n as f64 / self.ok.max(1) as f64)
    }

    /// CPU µs per successful operation of each watched process.
    pub fn cpu_us_per_op(&self) -> BTreeMap<String, f64> {
        self.cpu
            .iter()
            .map(|(name, s)| (name.clone(), s * 1e6 / self.ok.max(1) as f64))
            .collect()
    }
}

/// The measured window every worker shares: it opens after the warm-up.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn from_now(plan: &Plan) -> Window {
        let start = Instant::now() + plan.warmup;
        Window {
            start,
            end: start + plan.duration,
        }
    }
}

/// What was sampled at the window's edges.
struct Sampled {
    cpu: BTreeMap<String, f64>,
    instructions: Option<u64>,
}

/// Samples the CPU time of the watched processes, and of this load
/// generator as `loadgen`, at the window's edges; zeroes and dumps the
/// callgrind target's counters there too.
fn sample_window(plan: &Plan, w: Window) -> JoinHandle<Result<Sampled>> {
    let mut watch = plan.watch.clone();
    watch.push(("loadgen".into(), std::process::id()));
    let cg = plan.callgrind.clone();
    tokio::spawn(async move {
        let read = |watch: &[(String, u32)]| -> Vec<f64> {
            watch
                .iter()
                .map(|(_, pid)| procinfo::cpu_seconds(*pid).unwrap_or(f64::NAN))
                .collect()
        };
        tokio::time::sleep_until(w.start.into()).await;
        if let Some(cg) = &cg {
            cg.zero().await?;
        }
        let before = read(&watch);
        tokio::time::sleep_until(w.end.into()).await;
        let after = read(&watch);
        let instructions = match &cg {
            Some(cg) => Some(cg.dump().await?),
            None => None,
        };
        let cpu = watch
            .into_iter()
            .zip(before.into_iter().zip(after))
            .filter(|(_, (b, a))| a.is_finite() && b.is_finite())
            .map(|((name, _), (b, a))| (name, a - b))
            .collect();
        Ok(Sampled { cpu, instructions })
    })
}

/// The `tools/call` request texts for [`calls`]: `tool` with `arguments`
/// (raw JSON) directly, or, with `invoke` (backend names, comma-separated),
/// through `gateway_invoke`, one text per backend. With `progress_token`
/// the params carry `_meta.progressToken` (the meta-tool call's own, which
/// the gateway passes on).
pub fn call_requests(
    tool: &str,
    arguments: &str,
    invoke: Option<&str>,
    progress_token: bool,
) -> Vec<String> {
    let quoted = |s: &str| serde_json::Value::from(s).to_string();
    let meta = if progress_token {
        r#","_meta":{"progressToken":"bench"}"#
    } else {
        ""
    };
    let call = |name: &str, arguments: &str| {
        format!(
            r#""method":"tools/call","params":{{"name":{},"arguments":{arguments}{meta}}}}}"#,
            quoted(name)
        )
    };
    match invoke {
        None => vec![call(tool, arguments)],
        Some(servers) => servers
            .split(',')
            .map(|s| {
                let inner = format!(
                    r#"{{"server":{},"tool":{},"arguments":{arguments}}}"#,
                    quoted(s.trim()),
                    quoted(tool)
                );
                call("gateway_invoke", &inner)
            })
            .collect(),
    }
}

/// Runs requests in a closed loop, one session per worker. `requests` are
/// the request texts without the leading `{"jsonrpc":"2.0","id":N,`; worker
/// `i` starts at `requests[i % len]` and cycles through them. With `expect`,
/// each worker first checks that an answer's text is exactly that.
pub async fn calls(
    http: &reqwest::Client,
    plan: &Plan,
    requests: Arc<Vec<String>>,
    expect: Option<Arc<String>>,
) -> Result<Outcome> {
    let mut sessions = open_many(http, &plan.url, plan.concurrency, plan.concurrency).await?;
    if let Some(want) = &expect {
        for (i, s) in sessions.iter_mut().enumerate() {
            let answer = s.request(&requests[i % requests.len()]).await?;
            let got = first_text(&answer)
                .map_err(|e| anyhow!("{e}: {}", String::from_utf8_lossy(&answer)))?;
            if got != **want {
                bail!(
                    "the echo came back different: {} bytes sent, {} received: {:?}",
                    want.len(),
                    got.len(),
                    got.chars().take(200).collect::<String>()
                );
            }
        }
    }
    let w = Window::from_now(plan);
    let sampled = sample_window(plan, w);
    let mut tasks = Vec::new();
    for (worker, mut session) in sessions.into_iter().enumerate() {
        let requests = requests.clone();
        tasks.push(tokio::spawn(async move {
            call_loop(&mut session, &requests, worker, w).await
        }));
    }
    let mut total = Outcome::default();
    for t in tasks {
        total.merge(t.await?);
    }
    total.seconds = plan.duration.as_secs_f64();
    let sampled = sampled.await??;
    total.cpu = sampled.cpu;
    total.instructions = sampled.instructions;
    Ok(total)
}

async fn call_loop(
    session: &mut Session,
    requests: &[String],
    worker: usize,
    w: Window,
) -> Outcome {
    let mut out = Outcome::default();
    let mut n = worker;
    loop {
        let sent = Instant::now();
        if sent >= w.end {
            break;
        }
        let answer = session.request(&requests[n % requests.len()]).await;
        n += 1;
        let done = Instant::now();
        if done < w.start || done > w.end {
            continue;
        }
        match answer.and_then(|a| classify(&a)) {
            Ok(Answer::Ok) => {
                out.ok += 1;
                out.latency.record(nanos(done - sent));
            }
            Ok(Answer::ToolError(e)) => {
                out.tool_errors += 1;
                out.first_error.get_or_insert(format!("tool error: {e}"));
            }
            Ok(Answer::RpcError(e)) => out.failed(format!("JSON-RPC error: {e}")),
            Err(e) => {
                out.failed(format!("{e:#}"));
                // Do not spin on a dead server.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
    out
}

/// Session setup in a closed loop: `initialize` + `notifications/initialized`
/// is timed; the session is then deleted (untimed, but inside the loop, so
/// the rate counts whole session lifecycles).
pub async fn setups(http: &reqwest::Client, plan: &Plan) -> Result<Outcome> {
    let w = Window::from_now(plan);
    let sampled = sample_window(plan, w);
    let mut tasks = Vec::new();
    for _ in 0..plan.concurrency {
        let (http, url) = (http.clone(), plan.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Outcome::default();
            while Instant::now() < w.end {
                let sent = Instant::now();
                let session = Session::open(&http, &url).await;
                let done = Instant::now();
                let closed = match session {
                    Ok(s) => s.close().await,
                    Err(e) => Err(e),
                };
                let finished = Instant::now();
                if done < w.start || finished > w.end {
                    continue;
                }
                match closed {
                    Ok(()) => {
                        out.ok += 1;
                        out.latency.record(nanos(done - sent));
                    }
                    Err(e) => {
                        out.failed(format!("{e:#}"));
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            out
        }));
    }
    let mut total = Outcome::default();
    for t in tasks {
        total.merge(t.await?);
    }
    total.seconds = plan.duration.as_secs_f64();
    let sampled = sampled.await??;
    total.cpu = sampled.cpu;
    total.instructions = sampled.instructions;
    Ok(total)
}

/// Opens `count` sessions, `concurrency` at a time, and keeps them.
pub async fn open_many(
    http: &reqwest::Client,
    url: &reqwest::Url,
    count: usize,
    concurrency: usize,
) -> Result<Vec<Session>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < count {
                mine.push(Session::open(&http, &url).await?);
            }
            anyhow::Ok(mine)
        }));
    }
    let mut all = Vec::with_capacity(count);
    for t in tasks {
        all.extend(t.await??);
    }
    Ok(all)
}

fn nanos(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A request text as the session sends it.
    fn sent(text: &str) -> Value {
        serde_json::from_str(&format!(r#"{{"jsonrpc":"2.0","id":1,{text}"#)).unwrap()
    }

    #[test]
    fn calls_go_direct_or_through_gateway_invoke_with_or_without_a_progress_token() {
        let args = r#"{"message":"a\"b"}"#;
        let direct = call_requests("echo", args, None, false);
        assert_eq!(direct.len(), 1);
        assert_eq!(
            sent(&direct[0])["params"],
            json!({"name": "echo", "arguments": {"message": "a\"b"}})
        );

        let invoked = call_requests("echo", args, Some("one, two"), true);
        let params: Vec<Value> = invoked.iter().map(|t| sent(t)["params"].clone()).collect();
        for (p, server) in params.iter().zip(["one", "two"]) {
            assert_eq!(p["name"], "gateway_invoke");
            assert_eq!(
                p["arguments"],
                json!({"server": server, "tool": "echo", "arguments": {"message": "a\"b"}})
            );
            assert_eq!(p["_meta"], json!({"progressToken": "bench"}));
        }
        let with_token = call_requests("echo", args, None, true);
        assert_eq!(
            sent(&with_token[0])["params"]["_meta"]["progressToken"],
            "bench"
        );
        assert!(sent(&direct[0])["params"].get("_meta").is_none());
    }
}
