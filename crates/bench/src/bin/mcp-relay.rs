//! `mcp-relay`: the thinnest proxy we can write from the gateway's own
//! building blocks (tokio with one worker, hyper HTTP/1.1), in the gateway's
//! seat, for the benchmark's reference rows. What a gateway costs beyond this
//! relay is the gateway's own work; what this relay costs is the price of one
//! more hop on the machine.
//!
//! - `--to HOST:PORT`: an HTTP backend. Each client connection gets a backend
//!   connection of its own; requests and answers go through as they are (head
//!   and body streamed, nothing parsed, no MCP, no pool).
//! - `--stdio COMMAND [ARGS...]` (last on the line): a stdio backend, one
//!   child shared by every client, as a gateway runs it. Each request body
//!   goes to the child as one line and the child's next line is its answer:
//!   answers are matched to requests by order alone (a stdio server that
//!   answers in order, like `mcp-echo`, is required), and lines waiting to
//!   be written go out in one write. The only look into a body is whether it
//!   holds an `"id"` member: without one it is a notification, answered 202
//!   with nothing read back. Nothing is parsed.
#![forbid(unsafe_code)]

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{ChildStdin, ChildStdout, Command};
use tokio::sync::{mpsc, oneshot, Mutex};

#[derive(Parser)]
#[command(
    version,
    about = "The thinnest relay, to an HTTP or a stdio backend: a reference point for the gateway's benchmark"
)]
struct Args {
    /// Port on 127.0.0.1 to listen on (0: any free port; the address is printed on stderr).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// An HTTP backend, HOST:PORT; request targets (`/mcp`) are kept as they are.
    #[arg(long, required_unless_present = "stdio")]
    to: Option<String>,
    /// A stdio backend: the command to run and its arguments (the rest of the line).
    #[arg(long, num_args = 1.., allow_hyphen_values = true, conflicts_with = "to")]
    stdio: Option<Vec<String>>,
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
    if let Some(command) = args.stdio {
        eprintln!(
            "mcp-relay: listening on {} -> stdio {}",
            listener.local_addr()?,
            command.join(" ")
        );
        return serve_stdio(listener, &command).await;
    }
    let to = args.to.context("--to or --stdio")?;
    eprintln!("mcp-relay: listening on {} -> {to}", listener.local_addr()?);
    let to = Arc::new(to);
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

/// A line for the child, and where its answer goes (none for a notification).
type Line = (Bytes, Option<oneshot::Sender<Bytes>>);

/// Every client connection relayed to one child process.
async fn serve_stdio(listener: TcpListener, command: &[String]) -> anyhow::Result<()> {
    let (program, args) = command.split_first().context("an empty --stdio command")?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("spawn {program}"))?;
    let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
    let waiting = Arc::new(std::sync::Mutex::new(VecDeque::new()));
    let (lines, queue) = mpsc::unbounded_channel::<Line>();
    tokio::spawn(write_lines(stdin.context("stdin")?, queue, waiting.clone()));
    tokio::spawn(read_lines(stdout.context("stdout")?, waiting));
    loop {
        let (inbound, _) = listener.accept().await?;
        inbound.set_nodelay(true)?;
        let lines = lines.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| forward_line(lines.clone(), req));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(inbound), service)
                .await
            {
                eprintln!("mcp-relay: {e:#}");
            }
        });
    }
}

/// One request as one line; its answer is the line the child writes for it.
async fn forward_line(
    lines: mpsc::UnboundedSender<Line>,
    req: Request<Incoming>,
) -> anyhow::Result<Response<Full<Bytes>>> {
    let body = req.into_body().collect().await?.to_bytes();
    // Built once: making a searcher costs more than a small body's search.
    static ID: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"id\""));
    let answer = ID.find(&body).map(|_| oneshot::channel());
    let (tx, rx) = answer.unzip();
    lines
        .send((body, tx))
        .ok()
        .context("the child's writer stopped")?;
    let Some(rx) = rx else {
        return Ok(Response::builder()
            .status(StatusCode::ACCEPTED)
            .body(Full::default())?);
    };
    let line = rx.await.context("the child closed its stdout")?;
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(line))?)
}

/// Writes lines in the order they come, each answer's sender queued in the
/// same order; flushes when no more lines are waiting.
async fn write_lines(
    stdin: ChildStdin,
    mut queue: mpsc::UnboundedReceiver<Line>,
    waiting: Arc<std::sync::Mutex<VecDeque<oneshot::Sender<Bytes>>>>,
) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(256 * 1024, stdin);
    while let Some((line, answer)) = queue.recv().await {
        let mut next = Some((line, answer));
        while let Some((line, answer)) = next.take() {
            if let Some(answer) = answer {
                waiting.lock().expect("not poisoned").push_back(answer);
            }
            out.write_all(&line).await?;
            out.write_all(b"\n").await?;
            next = queue.try_recv().ok();
        }
        out.flush().await?;
    }
    Ok(())
}

/// Each line the child writes answers the oldest request still waiting.
async fn read_lines(
    stdout: ChildStdout,
    waiting: Arc<std::sync::Mutex<VecDeque<oneshot::Sender<Bytes>>>>,
) -> std::io::Result<()> {
    let mut input = BufReader::with_capacity(256 * 1024, stdout);
    let mut line = Vec::with_capacity(64 * 1024);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if line.ends_with(b"\n") {
            line.pop();
        }
        let next = waiting.lock().expect("not poisoned").pop_front();
        if let Some(answer) = next {
            let _ = answer.send(Bytes::copy_from_slice(&line));
        }
    }
}
