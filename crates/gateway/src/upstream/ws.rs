//! WebSocket backends: one JSON-RPC message per text frame.

use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use mcp_wire::Outgoing;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as Frame;

use super::http::dispatch_data;
use super::peer::Peer;
use super::{LinkOptions, UpstreamError};

pub struct WsLink {
    tx: mpsc::Sender<Frame>,
}

impl WsLink {
    pub async fn connect(
        url: &str,
        headers: &std::collections::BTreeMap<String, String>,
        peer: Arc<Peer>,
        opts: &LinkOptions,
    ) -> Result<Arc<Self>, UpstreamError> {
        let start_err = |reason: String| UpstreamError::Start {
            backend: peer.backend().into(),
            reason,
        };
        let mut req = url
            .into_client_request()
            .map_err(|e| start_err(e.to_string()))?;
        req.headers_mut()
            .insert("sec-websocket-protocol", HeaderValue::from_static("mcp"));
        for (k, v) in headers {
            let name = tokio_tungstenite::tungstenite::http::HeaderName::try_from(k.as_str())
                .map_err(|e| start_err(format!("header {k}: {e}")))?;
            let value =
                HeaderValue::from_str(v).map_err(|e| start_err(format!("header {k}: {e}")))?;
            req.headers_mut().insert(name, value);
        }
        let config = WebSocketConfig::default()
            .max_message_size(Some(opts.max_message_size))
            .max_frame_size(Some(opts.max_message_size));
        let connect = tokio_tungstenite::connect_async_with_config(req, Some(config), false);
        let (socket, _) = tokio::time::timeout(opts.connect_timeout, connect)
            .await
            .map_err(|_| start_err("WebSocket handshake timed out".into()))?
            .map_err(|e| start_err(e.to_string()))?;
        let (mut sink, mut stream) = socket.split();
        let (tx, mut rx) = mpsc::channel::<Frame>(1024);
        let writer_peer = peer.clone();
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if sink.send(frame).await.is_err() {
                    writer_peer.close("the WebSocket closed");
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let pong_tx = tx.clone();
        tokio::spawn(async move {
            let reason = loop {
                match stream.next().await {
                    Some(Ok(Frame::Text(t))) => dispatch_data(&peer, t.as_str()),
                    Some(Ok(Frame::Binary(b))) => {
                        dispatch_data(&peer, &String::from_utf8_lossy(&b))
                    }
                    Some(Ok(Frame::Ping(p))) => {
                        let _ = pong_tx.try_send(Frame::Pong(p));
                    }
                    Some(Ok(Frame::Close(c))) => {
                        break format!("the WebSocket was closed by the backend ({c:?})")
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => break format!("the WebSocket failed: {e}"),
                    None => break "the WebSocket ended".to_owned(),
                }
            };
            peer.close(&reason);
        });
        Ok(Arc::new(WsLink { tx }))
    }

    pub async fn send(&self, msg: Outgoing<'_>) -> Result<(), UpstreamError> {
        self.tx
            .send(Frame::Text(msg.to_json_string().into()))
            .await
            .map_err(|_| UpstreamError::Send("the WebSocket is closed".into()))
    }

    pub async fn shutdown(&self) {
        let _ = self.tx.send(Frame::Close(None)).await;
    }
}
