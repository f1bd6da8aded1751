//! Legacy HTTP+SSE backends (2024-11-05).
//!
//! One long GET carries everything the server sends; its first event,
//! `endpoint`, names the URL every client message is POSTed to. The link is
//! alive exactly as long as that stream.

use std::sync::Arc;
use std::time::Duration;

use mcp_wire::Outgoing;
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_TYPE};
use reqwest::Url;
use tokio::sync::oneshot;

use super::http::{describe, dispatch_data, pump_sse, read_limited};
use super::peer::Peer;
use super::{LinkOptions, UpstreamError};

pub struct SseLink {
    client: reqwest::Client,
    endpoint: Url,
    headers: HeaderMap,
    task: tokio::task::AbortHandle,
}

impl SseLink {
    pub async fn connect(
        client: reqwest::Client,
        url: &str,
        headers: HeaderMap,
        peer: Arc<Peer>,
        opts: &LinkOptions,
    ) -> Result<Arc<Self>, UpstreamError> {
        let start_err = |reason: String| UpstreamError::Start {
            backend: peer.backend().into(),
            reason,
        };
        let base = Url::parse(url).map_err(|e| start_err(e.to_string()))?;
        let resp = client
            .get(base.clone())
            .headers(headers.clone())
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| start_err(describe(&e)))?;
        let ctype = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !resp.status().is_success() || !ctype.starts_with("text/event-stream") {
            return Err(start_err(format!(
                "GET {url} answered {} ({ctype}), not an SSE stream",
                resp.status()
            )));
        }
        let (endpoint_tx, endpoint_rx) = oneshot::channel::<String>();
        let pump_peer = peer.clone();
        let max = opts.max_message_size;
        let task = tokio::spawn(async move {
            let mut endpoint_tx = Some(endpoint_tx);
            let result = pump_sse(reqwest::Body::from(resp), max, |ev| {
                match ev.event.as_deref() {
                    Some("endpoint") => {
                        if let Some(tx) = endpoint_tx.take() {
                            let _ = tx.send(ev.data);
                        }
                    }
                    None | Some("message") => dispatch_data(&pump_peer, &ev.data),
                    Some(_) => {}
                }
            })
            .await;
            let reason = match result {
                Ok(()) => "the SSE stream ended".to_owned(),
                Err(e) => format!("the SSE stream failed: {e}"),
            };
            pump_peer.close(&reason);
        });
        let endpoint = match tokio::time::timeout(opts.connect_timeout, endpoint_rx).await {
            Ok(Ok(e)) => e,
            _ => {
                task.abort();
                return Err(start_err("no endpoint event on the SSE stream".into()));
            }
        };
        let endpoint = base
            .join(endpoint.trim())
            .map_err(|e| start_err(format!("bad endpoint {endpoint:?}: {e}")))?;
        Ok(Arc::new(SseLink {
            client,
            endpoint,
            headers,
            task: task.abort_handle(),
        }))
    }

    pub async fn send(&self, msg: Outgoing<'_>) -> Result<(), UpstreamError> {
        let resp = self
            .client
            .post(self.endpoint.clone())
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(msg.to_bytes())
            .send()
            .await
            .map_err(|e| UpstreamError::Send(describe(&e)))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            let body = read_limited(reqwest::Body::from(resp), 512)
                .await
                .unwrap_or_default();
            return Err(UpstreamError::Http {
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        Ok(())
    }

    pub async fn shutdown(&self) {
        self.task.abort();
        tokio::time::sleep(Duration::ZERO).await;
    }
}

impl Drop for SseLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}
