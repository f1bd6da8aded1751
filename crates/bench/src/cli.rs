//! The command line of `mcp-bench`: subcommands, their flags, and the
//! parsers for durations, `NAME=PID` and `PID=OUT_FILE` values.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

use crate::callgrind;

#[derive(Parser)]
#[command(
    version,
    about = "MCP benchmark: closed-loop load over Streamable HTTP, and friends"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// tools/call in a closed loop: throughput and latency.
    Calls(CallsArgs),
    /// Session setup (initialize + notifications/initialized) in a closed loop.
    Setup(LoadArgs),
    /// Open COUNT sessions, keep them, and measure the RSS they add to --pid.
    Sessions(SessionsArgs),
    /// Time from exec to a usable gateway (spawns and stops it).
    Startup(StartupArgs),
    /// Read a process's VmRSS.
    Rss(RssArgs),
    /// The size of a file.
    Size(SizeArgs),
    /// Markdown tables from a file of JSON records.
    Report { file: PathBuf },
    /// Print a free TCP port on 127.0.0.1.
    FreePort,
    /// Wait until URL accepts connections; with --health, until its /health
    /// reports every backend ready.
    Wait(WaitArgs),
}

#[derive(Args)]
pub struct WaitArgs {
    pub url: reqwest::Url,
    #[arg(long)]
    pub health: bool,
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub timeout: Duration,
}

#[derive(Args, Clone)]
pub struct Output {
    /// Print one JSON line instead of a human summary.
    #[arg(long)]
    pub json: bool,
    /// Also append the JSON line to this file.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Group of the measurement (`direct` is the baseline others are compared with).
    #[arg(long, default_value = "")]
    pub group: String,
    /// Name of the measurement in reports.
    #[arg(long, default_value = "")]
    pub label: String,
    /// The round of an interleaved run this measurement belongs to: the
    /// report takes the median over a point's rounds, each compared with
    /// the baseline of its own round.
    #[arg(long)]
    pub round: Option<u64>,
}

#[derive(Args)]
pub struct LoadArgs {
    /// The MCP endpoint (Streamable HTTP).
    #[arg(long, default_value = "http://127.0.0.1:39400/mcp")]
    pub url: reqwest::Url,
    /// Parallel sessions, each one request at a time.
    #[arg(long, short = 'c', default_value_t = 1)]
    pub concurrency: usize,
    /// Measured time (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = duration)]
    pub duration: Duration,
    /// Unmeasured time before it.
    #[arg(long, default_value = "2s", value_parser = duration)]
    pub warmup: Duration,
    /// Load generator threads (1: a single-threaded runtime).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Per-request timeout.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub timeout: Duration,
    /// Sample this process's CPU time over the measured window: NAME=PID (repeatable).
    #[arg(long, value_parser = watch)]
    pub watch: Vec<(String, u32)>,
    /// Count the instructions of a process under valgrind --tool=callgrind over
    /// the measured window: PID=OUT_FILE (its --callgrind-out-file, %p expanded).
    #[arg(long, value_parser = callgrind_target)]
    pub callgrind: Option<callgrind::Target>,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Args)]
pub struct CallsArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Size of the string argument, in bytes.
    #[arg(long, default_value_t = 16)]
    pub payload_bytes: usize,
    /// Tool to call.
    #[arg(long, default_value = "echo")]
    pub tool: String,
    /// Arguments as JSON; $PAYLOAD becomes the payload string (quoted).
    #[arg(long = "args", default_value = r#"{"message":$PAYLOAD}"#)]
    pub args_template: String,
    /// Call through the gateway's meta-tool: gateway_invoke {server, tool, arguments}.
    /// A comma-separated list spreads the calls over several servers.
    #[arg(long, value_name = "SERVER[,SERVER...]")]
    pub invoke: Option<String>,
    /// Do not check that the echo comes back unchanged.
    #[arg(long)]
    pub no_verify: bool,
    /// Ask for progress: each call's params carry `_meta.progressToken`.
    #[arg(long)]
    pub progress_token: bool,
}

#[derive(Args)]
pub struct SessionsArgs {
    #[arg(long, default_value = "http://127.0.0.1:39400/mcp")]
    pub url: reqwest::Url,
    /// Sessions to open.
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Sessions opened in parallel.
    #[arg(long, short = 'c', default_value_t = 8)]
    pub concurrency: usize,
    /// The gateway's process id.
    #[arg(long)]
    pub pid: u32,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Args)]
pub struct StartupArgs {
    /// The gateway's /mcp URL (its port must match the command's).
    #[arg(long)]
    pub url: reqwest::Url,
    /// The backend gateway_invoke calls (tool echo).
    #[arg(long)]
    pub server: String,
    /// Starts to measure (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    #[arg(long, default_value = "60s", value_parser = duration)]
    pub timeout: Duration,
    /// Append the gateway's stderr to this file.
    #[arg(long)]
    pub log: Option<PathBuf>,
    #[command(flatten)]
    pub out: Output,
    /// The gateway command line, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Args)]
pub struct RssArgs {
    #[arg(long)]
    pub pid: u32,
    #[command(flatten)]
    pub out: Output,
}

#[derive(Args)]
pub struct SizeArgs {
    pub file: PathBuf,
    #[command(flatten)]
    pub out: Output,
}

/// `10s`, `250ms`, `2m`, or plain seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num.parse().map_err(|_| format!("bad duration {text:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("bad duration unit in {text:?} (ms, s, m)")),
    };
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

pub fn watch(text: &str) -> Result<(String, u32), String> {
    let (name, pid) = text.split_once('=').ok_or("expected NAME=PID")?;
    Ok((name.to_owned(), pid.parse().map_err(|_| "bad PID")?))
}

pub fn callgrind_target(text: &str) -> Result<callgrind::Target, String> {
    let (pid, file) = text.split_once('=').ok_or("expected PID=OUT_FILE")?;
    Ok(callgrind::Target {
        pid: pid.parse().map_err(|_| "bad PID")?,
        out_file: PathBuf::from(file),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse() {
        assert_eq!(duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(duration("5h").is_err() && duration("x").is_err());
        assert_eq!(watch("gw=12").unwrap(), ("gw".into(), 12));
        let t = callgrind_target("7=/tmp/cg.7").unwrap();
        assert_eq!((t.pid, t.out_file), (7, PathBuf::from("/tmp/cg.7")));
        assert!(callgrind_target("x").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
