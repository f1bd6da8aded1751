//! `mcp-relay`: the thinnest HTTP proxy we can write from the gateway's own
//! building blocks (tokio with one worker, hyper HTTP/1.1 on both sides), in
//! the gateway's seat, for the benchmark's reference row. Each client
//! connection gets a backend connection of its own; requests and answers go
//! through as they are (head and body streamed, nothing parsed, no MCP, no
//! pool). What a gateway costs beyond this relay is the gateway's own work;
//! what this relay costs is the price of one more HTTP hop on the machine.
#![forbid(unsafe_code)]

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Mutex;

#[derive(Parser)]
#[command(
    version,
    about = "The thinnest HTTP relay: a reference point for the gateway's benchmark"
)]
struct Args {
    /// Port on 127.0.0.1 to listen on (0: any free port; the address is printed on stderr).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// The backend, HOST:PORT; request targets (`/mcp`) are kept as they are.
    #[arg(long)]
    to: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One worker, as the gateway runs by default.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?
        .block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await?;
    eprintln!(
        "mcp-relay: listening on {} -> {}",
        listener.local_addr()?,
        args.to
    );
    let to = Arc::new(args.to);
    loop {
        let (inbound, _) = listener.accept().await?;
        let to = to.clone();
        tokio::spawn(async move {
            if let Err(e) = relay(inbound, &to).await {
                eprintln!("mcp-relay: {e:#}");
            }
        });
    }
}

/// One client connection, relayed over one backend connection.
async fn relay(inbound: TcpStream, to: &str) -> anyhow::Result<()> {
    inbound.set_nodelay(true)?;
    let outbound = TcpStream::connect(to)
        .await
        .with_context(|| format!("connect {to}"))?;
    outbound.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(outbound)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    // HTTP/1.1 answers one request at a time per connection, so the lock is
    // never contended; it only lends the sender to each request in turn.
    let sender = Arc::new(Mutex::new(sender));
    let service = service_fn(move |req: Request<Incoming>| forward(sender.clone(), req));
    hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(inbound), service)
        .await?;
    Ok(())
}

async fn forward(
    sender: Arc<Mutex<SendRequest<Incoming>>>,
    req: Request<Incoming>,
) -> hyper::Result<Response<Incoming>> {
    let answer = {
        let mut s = sender.lock().await;
        s.ready().await?;
        s.send_request(req)
    };
    answer.await
}
