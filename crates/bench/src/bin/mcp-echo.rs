//! `mcp-echo`: a minimal, fast MCP server with an `echo {message}` tool, the
//! baseline of the benchmark. stdio by default; `--http --port N` serves
//! Streamable HTTP on 127.0.0.1:N/mcp. `--tools N` adds N synthetic tools.
#![forbid(unsafe_code)]

use clap::Parser;
use mcp_bench::echo::{http, protocol::Echo, stdio};

#[derive(Parser)]
#[command(version, about = "A fast MCP echo server (the benchmark baseline)")]
struct Args {
    /// Serve Streamable HTTP instead of stdio.
    #[arg(long)]
    http: bool,
    /// HTTP port on 127.0.0.1 (0: any free port; the URL is printed on stderr).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Answer POSTs with text/event-stream instead of application/json.
    #[arg(long, requires = "http")]
    sse: bool,
    /// Synthetic tools to list besides echo (for search benchmarks; at most 12500).
    #[arg(long, default_value_t = 0)]
    tools: usize,
    /// Tools per tools/list page (0: one page).
    #[arg(long, default_value_t = 0)]
    page_size: usize,
    /// HTTP worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let echo = Echo::new(args.tools, args.page_size);
    if !args.http {
        stdio::run(&echo)?;
        return Ok(());
    }
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if args.threads > 0 {
        rt.worker_threads(args.threads);
    }
    rt.enable_all().build()?.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
        eprintln!(
            "mcp-echo listening on http://{}/mcp",
            listener.local_addr()?
        );
        http::run(echo, args.sse, listener).await?;
        anyhow::Ok(())
    })
}
