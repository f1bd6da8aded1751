//! Keep-alive HTTP/1.1 connections to one plain `http://` backend: the
//! client on the hot path of every call to a Streamable HTTP backend.
//!
//! hyper's pooled client hashes a pool key per request and, while an answer's
//! body is still being read, spawns a task per request to hand its connection
//! back. Here a connection stays in the pool while it serves a request and is
//! taken by the next caller once hyper says it is ready again; a caller that
//! finds none ready opens one more.
//!
//! - A request that never left the gateway (its connection had just closed)
//!   is sent again on another connection; one that was sent is never resent.
//! - At most [`MAX_POOLED`] connections are kept; more are used once and
//!   closed. A connection given no request for [`IDLE`] is closed when the
//!   pool is next used (an exchange still running on it finishes first).
//! - Nagle is off; connecting gives up after [`CONNECT_TIMEOUT`].

use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::header::HOST;
use http::{HeaderValue, Request, Response, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use mcp_wire::Chunks;

use super::http::describe;

/// A request body: one message, as its parts (hyper sends them with one
/// vectored write).
pub type Body = Full<Chunks>;

pub const MAX_POOLED: usize = 64;
pub const IDLE: Duration = Duration::from_secs(90);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Pool {
    /// `host:port`, as given to connect (a name is resolved per connect).
    addr: String,
    host: HeaderValue,
    /// The request target in origin form (`/mcp?x=1`).
    target: Uri,
    conns: Mutex<Vec<Conn>>,
}

struct Conn {
    tx: SendRequest<Body>,
    last_sent: Instant,
}

impl Pool {
    /// A pool for an `http://` URL; `None` when the URL has no host.
    pub fn new(uri: &Uri) -> Option<Self> {
        let authority = uri.authority()?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority.host();
        let addr = match host.starts_with('[') {
            true => format!("{host}:{port}"),
            false if host.contains(':') => format!("[{host}]:{port}"),
            false => format!("{host}:{port}"),
        };
        let target = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .ok()?;
        // Host is host[:port], never the userinfo an authority may carry.
        let host = match authority.port() {
            Some(port) => HeaderValue::from_str(&format!("{host}:{port}")),
            None => HeaderValue::from_str(host),
        };
        Some(Pool {
            addr,
            host: host.ok()?,
            target,
            conns: Mutex::new(Vec::new()),
        })
    }

    /// Send `req` (its target is set here, and `Host` unless the configured
    /// headers name one) and wait for the head of the answer; the body
    /// streams from the connection.
    pub async fn send(&self, mut req: Request<Body>) -> Result<Response<Incoming>, String> {
        *req.uri_mut() = self.target.clone();
        req.headers_mut()
            .entry(HOST)
            .or_insert_with(|| self.host.clone());
        while let Some(mut tx) = self.ready_conn() {
            let answer = tx.try_send_request(req);
            self.keep(tx);
            match answer.await {
                Ok(resp) => return Ok(resp),
                Err(mut e) => match e.take_message() {
                    Some(unsent) => req = unsent,
                    None => return Err(describe(e.error())),
                },
            }
        }
        let mut tx = self.connect().await?;
        let answer = tx.send_request(req);
        self.keep(tx);
        answer.await.map_err(|e| describe(&e))
    }

    /// A pooled connection ready for a request, dropping closed and stale ones.
    fn ready_conn(&self) -> Option<SendRequest<Body>> {
        let now = Instant::now();
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        conns.retain(|c| !c.tx.is_closed() && now.duration_since(c.last_sent) < IDLE);
        let i = conns.iter().rposition(|c| c.tx.is_ready())?;
        Some(conns.swap_remove(i).tx)
    }

    fn keep(&self, tx: SendRequest<Body>) {
        let mut conns = self.conns.lock().unwrap_or_else(|p| p.into_inner());
        if conns.len() < MAX_POOLED {
            conns.push(Conn {
                tx,
                last_sent: Instant::now(),
            });
        }
    }

    async fn connect(&self) -> Result<SendRequest<Body>, String> {
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&self.addr))
            .await
            .map_err(|_| format!("connecting to {} timed out", self.addr))?
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr))?;
        let _ = tcp.set_nodelay(true);
        let (tx, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
            .await
            .map_err(|e| describe(&e))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("backend connection ended: {e}");
            }
        });
        Ok(tx)
    }

    #[cfg(test)]
    fn pooled(&self) -> usize {
        self.conns.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use http_body_util::BodyExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    fn post(body: &'static str) -> Request<Body> {
        let mut req = Request::new(Full::new(Chunks::from(bytes::Bytes::from_static(
            body.as_bytes(),
        ))));
        *req.method_mut() = http::Method::POST;
        req
    }

    /// A keep-alive server that answers each request with its body, and
    /// closes a connection after `per_conn` answers (0: never).
    async fn echo_server(per_conn: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut answered = 0;
                    loop {
                        let mut chunk = [0u8; 4096];
                        let n = match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).into_owned();
                        let Some(end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let len: usize = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length: ")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len {
                            continue;
                        }
                        assert!(text.starts_with("POST /mcp?x=1 HTTP/1.1\r\n"), "{text}");
                        assert!(
                            text.to_ascii_lowercase().contains(&format!("host: {addr}")),
                            "{text}"
                        );
                        let body = buf[end + 4..end + 4 + len].to_vec();
                        buf.drain(..end + 4 + len);
                        let head =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
                        s.write_all(head.as_bytes()).await.unwrap();
                        s.write_all(&body).await.unwrap();
                        answered += 1;
                        if answered == per_conn {
                            return; // closes the connection
                        }
                    }
                });
            }
        });
        (format!("http://{addr}/mcp?x=1"), accepted)
    }

    async fn text(resp: Response<Incoming>) -> String {
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn one_connection_serves_calls_one_after_another() {
        let (url, accepted) = echo_server(0).await;
        let pool = Pool::new(&url.parse().unwrap()).unwrap();
        for i in 0..5 {
            let resp = pool.send(post(["a", "b", "c", "d", "e"][i])).await.unwrap();
            assert_eq!(text(resp).await, ["a", "b", "c", "d", "e"][i]);
            // hyper marks the connection ready once it has read the answer.
            tokio::task::yield_now().await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
        assert_eq!(pool.pooled(), 1);
    }

    #[tokio::test]
    async fn calls_at_the_same_time_get_connections_of_their_own() {
        let (url, accepted) = echo_server(0).await;
        let pool = Arc::new(Pool::new(&url.parse().unwrap()).unwrap());
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move { text(pool.send(post("x")).await.unwrap()).await })
            })
            .collect();
        for c in calls {
            assert_eq!(c.await.unwrap(), "x");
        }
        let opened = accepted.load(Ordering::SeqCst);
        assert!((1..=4).contains(&opened), "{opened} connections");
        assert_eq!(pool.pooled(), opened);
    }

    #[tokio::test]
    async fn a_connection_the_server_closed_is_replaced() {
        let (url, accepted) = echo_server(1).await;
        let pool = Pool::new(&url.parse().unwrap()).unwrap();
        for _ in 0..3 {
            let resp = pool.send(post("y")).await.unwrap();
            assert_eq!(text(resp).await, "y");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 3);
        assert_eq!(pool.pooled(), 1, "closed connections are dropped");
    }

    #[test]
    fn the_target_is_origin_form_and_host_carries_no_credentials() {
        let pool = Pool::new(&"http://u:p@example.com:8080/a/mcp?x=1".parse().unwrap()).unwrap();
        assert_eq!(pool.addr, "example.com:8080");
        assert_eq!(pool.host, "example.com:8080");
        assert_eq!(pool.target, "/a/mcp?x=1");
        let pool = Pool::new(&"http://[::1]/mcp".parse().unwrap()).unwrap();
        assert_eq!(
            (pool.addr.as_str(), pool.host.to_str().unwrap()),
            ("[::1]:80", "[::1]")
        );
    }

    #[tokio::test]
    async fn a_configured_host_header_is_kept() {
        // A server that answers with the Host header it got.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            while !head.ends_with(b"\r\n\r\n") {
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                head.push(b[0]);
            }
            let head = String::from_utf8(head).unwrap().to_ascii_lowercase();
            let host = head
                .lines()
                .find_map(|l| l.strip_prefix("host: "))
                .unwrap()
                .to_owned();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{host}",
                host.len()
            );
            s.write_all(answer.as_bytes()).await.unwrap();
        });
        let pool = Pool::new(&format!("http://{addr}/mcp").parse().unwrap()).unwrap();
        let mut req = Request::new(Full::new(Chunks::default()));
        req.headers_mut()
            .insert(HOST, HeaderValue::from_static("virtual.example"));
        assert_eq!(text(pool.send(req).await.unwrap()).await, "virtual.example");
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_clear_error() {
        let free = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = free.local_addr().unwrap();
        drop(free);
        let pool = Pool::new(&format!("http://{addr}/mcp").parse().unwrap()).unwrap();
        let err = pool.send(post("z")).await.unwrap_err();
        assert!(err.contains(&format!("cannot connect to {addr}")), "{err}");
    }
}
