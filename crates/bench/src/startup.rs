//! Time from exec to usable: spawn the gateway, then poll (every millisecond)
//! `/health` until it answers and until every backend is ready, and, in
//! parallel, open a session and retry `gateway_invoke` until it succeeds.
//! The gateway is then stopped with SIGTERM (SIGKILL after a grace period).

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::client::{classify, http_client, Answer, Session};

pub struct Plan {
    pub program: PathBuf,
    pub args: Vec<String>,
    /// The gateway's `/mcp` URL.
    pub url: reqwest::Url,
    /// The backend `gateway_invoke` calls (its `echo` tool).
    pub server: String,
    pub timeout: Duration,
    /// Where the gateway's stderr goes (appended).
    pub log: Option<PathBuf>,
}

/// Milestones of one start, measured from just before the exec.
#[derive(Debug, Clone, Copy)]
pub struct Times {
    pub listen: Duration,
    pub first_call: Duration,
    pub all_ready: Duration,
    pub backends: u64,
}

const POLL: Duration = Duration::from_millis(1);
const STOP_GRACE: Duration = Duration::from_secs(15);

/// One start of the gateway, measured, then stopped.
pub async fn once(plan: &Plan) -> Result<Times> {
    let stderr = match &plan.log {
        Some(path) => Stdio::from(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening {}", path.display()))?,
        ),
        None => Stdio::null(),
    };
    let http = http_client(4, Duration::from_secs(10))?;
    let started = Instant::now();
    let mut child = Command::new(&plan.program)
        .args(&plan.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", plan.program.display()))?;
    let measured = async {
        tokio::try_join!(
            first_call(&http, plan, started),
            readiness(&http, plan, started)
        )
    };
    let result = tokio::select! {
        r = tokio::time::timeout(plan.timeout, measured) => match r {
            Ok(r) => r,
            Err(_) => Err(anyhow!("the gateway was not ready within {:?}", plan.timeout)),
        },
        status = child.wait() => Err(anyhow!("the gateway exited during startup: {status:?}")),
    };
    stop(&mut child).await;
    let (first_call, (listen, all_ready, backends)) = result?;
    Ok(Times {
        listen,
        first_call,
        all_ready,
        backends,
    })
}

async fn first_call(http: &reqwest::Client, plan: &Plan, started: Instant) -> Result<Duration> {
    let mut session = loop {
        if let Ok(s) = Session::open(http, &plan.url).await {
            break s;
        }
        tokio::time::sleep(POLL).await;
    };
    let server = serde_json::to_string(&plan.server)?;
    let request = format!(
        r#""method":"tools/call","params":{{"name":"gateway_invoke","arguments":{{"server":{server},"tool":"echo","arguments":{{"message":"hello"}}}}}}}}"#
    );
    loop {
        if let Ok(Answer::Ok) = session.request(&request).await.and_then(|a| classify(&a)) {
            return Ok(started.elapsed());
        }
        tokio::time::sleep(POLL).await;
    }
}

#[derive(Deserialize)]
struct Health {
    backends_ready: u64,
    backends_total: u64,
}

/// (first answer of /health, every backend ready, how many backends).
async fn readiness(
    http: &reqwest::Client,
    plan: &Plan,
    started: Instant,
) -> Result<(Duration, Duration, u64)> {
    let url = plan.url.join("/health")?;
    let mut listen = None;
    loop {
        if let Ok(resp) = http.get(url.clone()).send().await {
            listen.get_or_insert_with(|| started.elapsed());
            let body = resp.bytes().await.unwrap_or_default();
            if let Ok(h) = serde_json::from_slice::<Health>(&body) {
                if h.backends_total > 0 && h.backends_ready == h.backends_total {
                    let listen = listen.unwrap_or_default();
                    return Ok((listen, started.elapsed(), h.backends_total));
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

/// SIGTERM, wait, SIGKILL.
pub async fn stop(child: &mut Child) {
    if let Some(pid) = child.id() {
        let pid = nix::unistd::Pid::from_raw(pid as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

/// Runs `runs` starts and returns their times, or the first failure.
pub async fn repeat(plan: &Plan, runs: usize) -> Result<Vec<Times>> {
    if runs == 0 {
        bail!("--runs must be at least 1");
    }
    let mut all = Vec::with_capacity(runs);
    for _ in 0..runs {
        all.push(once(plan).await?);
        // Let the previous gateway's port and children go.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(all)
}

/// The median of some durations, in milliseconds.
pub fn median_ms(mut values: Vec<Duration>) -> f64 {
    values.sort();
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2].as_secs_f64() * 1000.0,
        n => (values[n / 2 - 1] + values[n / 2]).as_secs_f64() * 500.0,
    }
}
