//! `mcp-bench`: closed-loop MCP load over Streamable HTTP (tools/call,
//! session setup), plus the measurements `scripts/bench.sh` needs around it
//! (startup, RSS, open sessions, file size) and the markdown report.
//! Every measurement prints a human summary, or one JSON line with `--json`,
//! and can append its JSON line to a file with `--record`.
#![forbid(unsafe_code)]

use anyhow::{anyhow, bail, Context, Result};
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcp_bench::cli::{
    CallsArgs, Cli, Command, LoadArgs, Output, SessionsArgs, StartupArgs, WaitArgs,
};
use mcp_bench::client::http_client;
use mcp_bench::load::{self, Plan};
use mcp_bench::record::Record;
use mcp_bench::{procinfo, report, startup};

fn emit(out: &Output, rec: &Record) -> Result<()> {
    let rec = &Record {
        round: out.round,
        ..rec.clone()
    };
    if out.json {
        println!("{}", rec.to_line());
    } else {
        println!("{}", rec.human());
    }
    if let Some(path) = &out.record {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{}", rec.to_line())?;
    }
    Ok(())
}

fn runtime(threads: usize) -> Result<tokio::runtime::Runtime> {
    let rt = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()?
    };
    Ok(rt)
}

/// The payload string: `n` printable ASCII bytes, no JSON escapes needed.
fn payload(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n)
        .map(|i| ALPHABET[(i * 7 + i / 61) % ALPHABET.len()] as char)
        .collect()
}

fn plan(l: &LoadArgs) -> Plan {
    Plan {
        url: l.url.clone(),
        concurrency: l.concurrency.max(1),
        warmup: l.warmup,
        duration: l.duration,
        watch: l.watch.clone(),
        callgrind: l.callgrind.clone(),
    }
}

fn calls(a: CallsArgs) -> Result<bool> {
    let text = payload(a.payload_bytes);
    let args = a
        .args_template
        .replace("$PAYLOAD", &serde_json::to_string(&text)?);
    serde_json::from_str::<serde_json::Value>(&args).context("--args is not valid JSON")?;
    let requests = load::call_requests(&a.tool, &args, a.invoke.as_deref(), a.progress_token);
    let verify = !a.no_verify && a.tool == "echo" && a.args_template.contains("$PAYLOAD");
    let expect = verify.then(|| Arc::new(text));
    let l = &a.load;
    let http = http_client(l.concurrency, l.timeout)?;
    let plan = plan(l);
    let outcome =
        runtime(l.threads)?.block_on(load::calls(&http, &plan, Arc::new(requests), expect))?;
    // Under callgrind only the instruction count means anything.
    let kind = if l.callgrind.is_some() {
        "instructions"
    } else {
        "calls"
    };
    let mut rec = Record::new(kind, &l.out.group, &l.out.label).with_outcome(&outcome);
    rec.concurrency = Some(plan.concurrency as u64);
    rec.payload_bytes = Some(a.payload_bytes as u64);
    rec.cpu_us_per_op = outcome.cpu_us_per_op();
    rec.instructions_per_op = outcome.instructions_per_op();
    emit(&l.out, &rec)?;
    Ok(outcome.ok > 0)
}

fn setup(l: LoadArgs) -> Result<bool> {
    let http = http_client(l.concurrency, l.timeout)?;
    let plan = plan(&l);
    let outcome = runtime(l.threads)?.block_on(load::setups(&http, &plan))?;
    let mut rec = Record::new("setup", &l.out.group, &l.out.label).with_outcome(&outcome);
    rec.concurrency = Some(plan.concurrency as u64);
    rec.cpu_us_per_op = outcome.cpu_us_per_op();
    emit(&l.out, &rec)?;
    Ok(outcome.ok > 0)
}

fn sessions(a: SessionsArgs) -> Result<bool> {
    let http = http_client(a.concurrency, Duration::from_secs(30))?;
    let rt = runtime(1)?;
    let (before, _) = procinfo::rss_kib(a.pid)?;
    let opened = rt.block_on(load::open_many(&http, &a.url, a.count, a.concurrency))?;
    // Let allocator caches and lazily touched pages settle.
    std::thread::sleep(Duration::from_millis(300));
    let (after, hwm) = procinfo::rss_kib(a.pid)?;
    let mut rec = Record::new("sessions", &a.out.group, &a.out.label);
    rec.sessions = Some(opened.len() as u64);
    rec.rss_before_kib = Some(before);
    rec.rss_kib = Some(after);
    rec.hwm_kib = Some(hwm);
    rec.bytes_per_session =
        Some((after as f64 - before as f64) * 1024.0 / opened.len().max(1) as f64);
    emit(&a.out, &rec)?;
    rt.block_on(async {
        for s in opened {
            let _ = s.close().await;
        }
    });
    Ok(true)
}

fn startup_cmd(a: StartupArgs) -> Result<bool> {
    let (program, args) = a
        .command
        .split_first()
        .ok_or_else(|| anyhow!("no gateway command after --"))?;
    let plan = startup::Plan {
        program: PathBuf::from(program),
        args: args.to_vec(),
        url: a.url,
        server: a.server,
        timeout: a.timeout,
        log: a.log,
    };
    let times = runtime(2)?.block_on(startup::repeat(&plan, a.runs))?;
    let pick = |f: fn(&startup::Times) -> Duration| times.iter().map(f).collect::<Vec<_>>();
    let mut rec = Record::new("startup", &a.out.group, &a.out.label);
    rec.runs = Some(times.len() as u64);
    rec.listen_ms = Some(startup::median_ms(pick(|t| t.listen)));
    rec.first_call_ms = Some(startup::median_ms(pick(|t| t.first_call)));
    rec.all_ready_ms = Some(startup::median_ms(pick(|t| t.all_ready)));
    rec.backends = times.first().map(|t| t.backends);
    emit(&a.out, &rec)?;
    Ok(true)
}

fn main() {
    let result = match Cli::parse().command {
        Command::Calls(a) => calls(a),
        Command::Setup(a) => setup(a),
        Command::Sessions(a) => sessions(a),
        Command::Startup(a) => startup_cmd(a),
        Command::Rss(a) => procinfo::rss_kib(a.pid).and_then(|(rss, hwm)| {
            let mut rec = Record::new("rss", &a.out.group, &a.out.label);
            rec.rss_kib = Some(rss);
            rec.hwm_kib = Some(hwm);
            emit(&a.out, &rec).map(|_| true)
        }),
        Command::Size(a) => std::fs::metadata(&a.file)
            .with_context(|| format!("reading {}", a.file.display()))
            .and_then(|m| {
                let mut rec = Record::new("size", &a.out.group, &a.out.label);
                rec.bytes = Some(m.len());
                emit(&a.out, &rec).map(|_| true)
            }),
        Command::Report { file } => report_cmd(&file),
        Command::Wait(a) => runtime(1).and_then(|rt| rt.block_on(wait(a))),
        Command::FreePort => std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| {
                println!("{}", a.port());
                true
            })
            .map_err(Into::into),
    };
    match result {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("mcp-bench: no operation succeeded");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("mcp-bench: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn wait(a: WaitArgs) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + a.timeout;
    let http = http_client(1, Duration::from_secs(5))?;
    let health = a.url.join("/health")?;
    let addr = a
        .url
        .socket_addrs(|| None)?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("{} has no address", a.url))?;
    let mut last = String::from("not tried");
    while tokio::time::Instant::now() < deadline {
        if !a.health {
            match tokio::net::TcpStream::connect(addr).await {
                Ok(_) => return Ok(true),
                Err(e) => last = e.to_string(),
            }
        } else if let Ok(resp) = http.get(health.clone()).send().await {
            let body = resp.bytes().await.unwrap_or_default();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let (ready, total) = (&v["backends_ready"], &v["backends_total"]);
            if ready.is_u64() && ready == total {
                return Ok(true);
            }
            last = String::from_utf8_lossy(&body).chars().take(500).collect();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("{} not ready after {:?}: {last}", a.url, a.timeout)
}

fn report_cmd(file: &PathBuf) -> Result<bool> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let records: Vec<Record> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("line {}", i + 1)))
        .collect::<Result<_>>()?;
    if records.is_empty() {
        bail!("{} holds no records", file.display());
    }
    print!("{}", report::render(&records));
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_need_no_escapes() {
        let p = payload(16 * 1024);
        assert_eq!(p.len(), 16384);
        assert_eq!(serde_json::to_string(&p).unwrap().len(), 16386);
    }
}
