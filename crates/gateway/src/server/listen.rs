//! The accept loop: hyper on every connection (HTTP/1.1, or HTTP/2 with
//! prior knowledge, as the client starts it). A POST to `/mcp`
//! or `/mcp/{backend}` (every tool call) goes straight to its handler;
//! everything else goes through the axum router ([`super::app`]), whose
//! matching, boxing and glue cost about 4k instructions per call.
//!
//! Shutdown: stop accepting, tell open streams to end (`App::closing`), let
//! every connection finish the requests it is serving.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::{Method, Request};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

use super::App;

/// Serve until `shutdown` resolves, then stop accepting and let in-flight
/// requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let router = super::app(state.clone());
    let connections = GracefulShutdown::new();
    let http = auto::Builder::new(TokioExecutor::new());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    pause_after(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small JSON-RPC answers must not wait for Nagle.
        let _ = tcp.set_nodelay(true);
        let (app, router) = (state.clone(), router.clone());
        let service =
            hyper::service::service_fn(move |req| route(app.clone(), router.clone(), req));
        let conn = http.serve_connection(TokioIo::new(tcp), service);
        let conn = connections.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::trace!("connection ended: {e}");
            }
        });
    }
    drop(listener);
    state.closing.send_replace(true);
    connections.shutdown().await;
    Ok(())
}

async fn route(
    app: Arc<App>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response, Infallible> {
    let (parts, body) = req.into_parts();
    if parts.method == Method::POST {
        if let Some(backend) = post_target(parts.uri.path()) {
            return Ok(super::http::post_direct(app, backend, parts.headers, body).await);
        }
    }
    router.oneshot(Request::from_parts(parts, body)).await
}

/// The endpoint a POST path names when it can skip the router: `/mcp`
/// (`Some(None)`), or `/mcp/{backend}` with a segment of the characters
/// backend names are made of (`Some(Some(name))`). Anything else, a
/// percent-encoded name included, is the router's.
fn post_target(path: &str) -> Option<Option<&str>> {
    let rest = path.strip_prefix("/mcp")?;
    if rest.is_empty() {
        return Some(None);
    }
    let name = rest.strip_prefix('/')?;
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    (!name.is_empty() && name.bytes().all(plain)).then_some(Some(name))
}

/// After a failed accept: go on at once when only that connection failed;
/// otherwise (out of file descriptors, say) log and wait a second rather
/// than spin.
async fn pause_after(e: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accepting a connection failed: {e}; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

#[cfg(test)]
mod tests {
    use super::post_target;

    #[test]
    fn only_plain_endpoint_paths_skip_the_router() {
        assert_eq!(post_target("/mcp"), Some(None));
        assert_eq!(post_target("/mcp/echo-http_2"), Some(Some("echo-http_2")));
        for routed in [
            "/mcp/",
            "/mcp/a/b",
            "/mcp/echo%2Dhttp",
            "/mcpx",
            "/mcp.json",
            "/message",
            "/sse",
            "/health",
            "/",
        ] {
            assert_eq!(post_target(routed), None, "{routed}");
        }
    }
}
