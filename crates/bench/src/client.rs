//! A minimal MCP client over Streamable HTTP, made for load: one pooled
//! reqwest client, requests built from pre-serialised pieces, and answers that
//! may come as `application/json` or as a `text/event-stream` whose first
//! JSON-RPC response is taken.

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::time::Duration;

use crate::sse;

/// The protocol version the load generator asks for.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
const SESSION_HEADER: &str = "mcp-session-id";
const VERSION_HEADER: &str = "mcp-protocol-version";
const ACCEPT_BOTH: &str = "application/json, text/event-stream";
/// Largest answer the load generator reads.
const MAX_ANSWER: usize = 64 << 20;

/// A reqwest client for `concurrency` parallel sessions on loopback:
/// HTTP/1.1 keep-alive, no proxy, Nagle off.
///
/// The pool keeps two idle connections per session. A connection goes back
/// to the pool from its own task, which may not have run yet when the
/// session sends its next request; with one idle connection per session,
/// the pool then opened a second connection and closed one. From about
/// 16 KiB answers on that happened every third call or so, and every
/// server measured paid a TCP accept and close on top of the call.
pub fn http_client(concurrency: usize, timeout: Duration) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(2 * concurrency.max(1))
        .timeout(timeout)
        .build()?)
}

/// What a JSON-RPC answer said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A result (for tools/call: without `isError: true`).
    Ok,
    /// A tools/call result with `isError: true`.
    ToolError(String),
    /// A JSON-RPC error object.
    RpcError(String),
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolResult<'a> {
    #[serde(default, rename = "isError")]
    is_error: bool,
    #[serde(default, borrow)]
    content: Vec<Content<'a>>,
}

#[derive(Deserialize)]
struct Content<'a> {
    #[serde(default, borrow)]
    text: Option<std::borrow::Cow<'a, str>>,
    #[serde(rename = "type", default)]
    _kind: IgnoredAny,
}

/// Classifies one JSON-RPC answer (the whole message text).
pub fn classify(message: &[u8]) -> Result<Answer> {
    let env: Envelope = serde_json::from_slice(message).context("answer is not JSON-RPC")?;
    match (env.result, env.error) {
        (Some(r), _) => {
            if r.get().contains("\"isError\"") {
                let res: ToolResult = serde_json::from_str(r.get())?;
                if res.is_error {
                    let text = res.content.first().and_then(|c| c.text.as_deref());
                    return Ok(Answer::ToolError(shorten(text.unwrap_or("isError"))));
                }
            }
            Ok(Answer::Ok)
        }
        (None, Some(e)) => Ok(Answer::RpcError(shorten(e.get()))),
        (None, None) => bail!("answer has neither result nor error"),
    }
}

/// The text of the first content item of a tools/call result.
pub fn first_text(message: &[u8]) -> Result<String> {
    let env: Envelope = serde_json::from_slice(message)?;
    let r = env.result.ok_or_else(|| anyhow!("no result"))?;
    let res: ToolResult = serde_json::from_str(r.get())?;
    res.content
        .first()
        .and_then(|c| c.text.as_deref())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no text content"))
}

fn shorten(s: &str) -> String {
    s.chars().take(300).collect()
}

/// One client session on one MCP endpoint.
pub struct Session {
    http: reqwest::Client,
    url: reqwest::Url,
    id: Option<HeaderValue>,
    version: HeaderValue,
    next_id: u64,
}

impl Session {
    /// `initialize`, then `notifications/initialized`.
    pub async fn open(http: &reqwest::Client, url: &reqwest::Url) -> Result<Session> {
        let mut s = Session {
            http: http.clone(),
            url: url.clone(),
            id: None,
            version: HeaderValue::from_static(PROTOCOL_VERSION),
            next_id: 1,
        };
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{PROTOCOL_VERSION}","capabilities":{{}},"clientInfo":{{"name":"mcp-bench","version":"{}"}}}}}}"#,
            env!("CARGO_PKG_VERSION")
        );
        let resp = s.post(Bytes::from(init)).await?;
        s.id = resp.headers().get(SESSION_HEADER).cloned();
        let answer = read_answer(resp).await.context("initialize")?;
        #[derive(Deserialize)]
        struct Init {
            result: InitResult,
        }
        #[derive(Deserialize)]
        struct InitResult {
            #[serde(rename = "protocolVersion")]
            protocol_version: String,
        }
        let init: Init = serde_json::from_slice(&answer).with_context(|| {
            format!(
                "initialize answer: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(300)])
            )
        })?;
        s.version = HeaderValue::from_str(&init.result.protocol_version)?;
        let note = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let resp = s.post(Bytes::from_static(note.as_bytes())).await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("notifications/initialized: HTTP {status}");
        }
        drain(resp).await?;
        Ok(s)
    }

    async fn post(&self, body: Bytes) -> Result<reqwest::Response> {
        let mut req = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, ACCEPT_BOTH)
            .header(VERSION_HEADER, self.version.clone());
        if let Some(id) = &self.id {
            req = req.header(SESSION_HEADER, id.clone());
        }
        req.body(body).send().await.map_err(describe)
    }

    /// Sends one request built as `{"jsonrpc":"2.0","id":N,` + `rest` and
    /// returns the text of the JSON-RPC answer.
    pub async fn request(&mut self, rest: &str) -> Result<Bytes> {
        let id = self.next_id;
        self.next_id += 1;
        let mut body = Vec::with_capacity(rest.len() + 32);
        body.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        body.extend_from_slice(id.to_string().as_bytes());
        body.push(b',');
        body.extend_from_slice(rest.as_bytes());
        let resp = self.post(Bytes::from(body)).await?;
        read_answer(resp).await
    }

    /// DELETE the session (best effort: errors are returned, not fatal).
    pub async fn close(self) -> Result<()> {
        let Some(id) = &self.id else { return Ok(()) };
        let resp = self
            .http
            .delete(self.url.clone())
            .header(SESSION_HEADER, id.clone())
            .header(VERSION_HEADER, self.version.clone())
            .send()
            .await
            .map_err(describe)?;
        drain(resp).await
    }
}

/// The JSON-RPC answer in a POST response: the body of an
/// `application/json` response, or the first response message of a
/// `text/event-stream` (the stream is dropped after it).
pub async fn read_answer(resp: reqwest::Response) -> Result<Bytes> {
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if status != StatusCode::OK {
        let body = resp.bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        bail!("HTTP {status}: {body}");
    }
    if ctype.starts_with("application/json") {
        return resp.bytes().await.map_err(describe);
    }
    if !ctype.starts_with("text/event-stream") {
        bail!("unexpected Content-Type {ctype:?}");
    }
    let mut decoder = sse::Decoder::default();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(describe)?;
        if decoder.buffered() + chunk.len() > MAX_ANSWER {
            bail!("SSE event larger than {MAX_ANSWER} bytes");
        }
        for data in decoder.feed(&chunk) {
            if is_response(&data) {
                return Ok(Bytes::from(data));
            }
        }
    }
    bail!("the event stream ended without a response")
}

/// True for a JSON-RPC response (it has `result` or `error`), not a
/// notification or request the server sent on the way.
fn is_response(data: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(default, borrow)]
        method: Option<&'a RawValue>,
    }
    match serde_json::from_slice::<Probe>(data) {
        Ok(p) => p.method.is_none(),
        Err(_) => false,
    }
}

async fn drain(resp: reqwest::Response) -> Result<()> {
    resp.bytes().await.map_err(describe)?;
    Ok(())
}

/// reqwest errors with their whole source chain.
pub fn describe(e: reqwest::Error) -> anyhow::Error {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    anyhow!(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified() {
        let ok = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}"#;
        assert_eq!(classify(ok).unwrap(), Answer::Ok);
        assert_eq!(first_text(ok).unwrap(), "hi");
        let tool_err = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"no such"}],"isError":true}}"#;
        assert_eq!(
            classify(tool_err).unwrap(),
            Answer::ToolError("no such".into())
        );
        let not_err = br#"{"jsonrpc":"2.0","id":1,"result":{"isError":false,"content":[]}}"#;
        assert_eq!(classify(not_err).unwrap(), Answer::Ok);
        let rpc = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"x"}}"#;
        assert!(matches!(classify(rpc).unwrap(), Answer::RpcError(_)));
        assert!(classify(b"{}").is_err());
        assert!(classify(b"nope").is_err());
    }

    /// A session keeps its connections: 16 KiB calls, one after another,
    /// over the same one or two connections, not a new one every few calls.
    #[tokio::test]
    async fn a_session_keeps_its_connections_for_large_calls() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        // The echo server, counting the connections it accepts, runs on a
        // thread of its own, as a server would.
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let listener = axum::serve::ListenerExt::tap_io(listener, move |tcp| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    tcp.set_nodelay(true).unwrap();
                });
                let echo = crate::echo::protocol::Echo::new(0, 100);
                axum::serve(listener, crate::echo::http::router(echo, false))
                    .await
                    .unwrap();
            });
        });
        let url: reqwest::Url = format!("http://{}/mcp", rx.recv().unwrap())
            .parse()
            .unwrap();
        let http = http_client(1, Duration::from_secs(10)).unwrap();
        let mut session = Session::open(&http, &url).await.unwrap();
        let payload = "x".repeat(16 * 1024);
        let rest = format!(
            r#""method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{payload}"}}}}}}"#
        );
        // In a task of its own, as `load::calls` runs each session.
        tokio::spawn(async move {
            for _ in 0..60 {
                let answer = session.request(&rest).await.unwrap();
                assert_eq!(classify(&answer).unwrap(), Answer::Ok);
            }
        })
        .await
        .unwrap();
        let opened = accepted.load(Ordering::SeqCst);
        assert!(opened <= 2, "{opened} connections for 62 requests");
    }

    #[test]
    fn responses_are_told_from_server_messages() {
        assert!(is_response(br#"{"jsonrpc":"2.0","id":1,"result":{}}"#));
        assert!(!is_response(
            br#"{"jsonrpc":"2.0","method":"notifications/progress"}"#
        ));
        assert!(!is_response(b""));
    }
}
