//! The gateway over stdin/stdout, for clients that only spawn processes.
//!
//! One implicit session. Each request is handled in its own task so a slow
//! tool never blocks the next message; one writer owns stdout so lines never
//! interleave. Logs go to stderr. EOF on stdin ends the gateway.

use std::sync::Arc;

use mcp_wire::{Message, Parsed};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::http::spawn_list_changed;
use super::App;
use crate::router;
use crate::session::{Scope, Session};
use crate::upstream::{BoundedLines, Line};

pub async fn run(app: Arc<App>, scope: Scope) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    // Fires when stdin is done and the answers in flight are written: the
    // writer then flushes what is queued and ends (other holders of `tx`,
    // such as the list_changed task, must not keep the process alive).
    let (done_tx, mut done) = tokio::sync::watch::channel(false);
    let writer = tokio::spawn(async move {
        let mut out = tokio::io::stdout();
        let mut buf = Vec::new();
        loop {
            let first = tokio::select! {
                m = rx.recv() => m,
                _ = done.wait_for(|d| *d) => None,
            };
            buf.clear();
            if let Some(msg) = &first {
                msg.write_to(&mut buf);
                buf.push(b'\n');
            }
            while let Ok(more) = rx.try_recv() {
                more.write_to(&mut buf);
                buf.push(b'\n');
            }
            if out.write_all(&buf).await.is_err() || out.flush().await.is_err() {
                break;
            }
            if first.is_none() && *done.borrow() {
                break;
            }
        }
    });
    let inflight = Arc::new(std::sync::atomic::AtomicUsize::new(0));

    let mut session: Option<Arc<Session>> = None;
    let max = app.server.max_body_size;
    // Lines are capped at max_body_size: an oversize one is skipped, never buffered whole.
    let mut lines = BoundedLines::new(tokio::io::stdin(), max);
    while let Some(line) = lines.next().await? {
        let line = match line {
            Line::Json(bytes) => bytes,
            Line::Garbage(preview) => {
                let err = mcp_wire::ErrorObject::new(
                    mcp_wire::codes::PARSE_ERROR,
                    format!("parse error: not JSON: {preview:?}"),
                );
                let _ = tx.send(Message::error(None, &err)).await;
                continue;
            }
            Line::TooLong => {
                let err = mcp_wire::ErrorObject::new(
                    mcp_wire::codes::INVALID_REQUEST,
                    format!("message larger than {max} bytes (server.max_body_size)"),
                );
                let _ = tx.send(Message::error(None, &err)).await;
                continue;
            }
        };
        let msg = match Message::parse(line) {
            Ok(Parsed::Single(m)) => m,
            Ok(Parsed::Batch(items)) => {
                for item in items {
                    match item {
                        Ok(m) => {
                            spawn_handle(&app, &scope, &inflight, session.clone(), m, tx.clone())
                        }
                        Err(e) => {
                            let _ = tx.send(e.to_response()).await;
                        }
                    }
                }
                continue;
            }
            Err(e) => {
                let _ = tx.send(e.to_response()).await;
                continue;
            }
        };
        if msg.method() == "initialize" {
            let Some(id) = msg.id.clone() else { continue };
            let answer = match router::initialize(&app.gw, &scope, &msg).await {
                Ok(init) => {
                    let s = Arc::new(Session::new(
                        "stdio".into(),
                        scope.clone(),
                        init.version,
                        init.client_capabilities,
                    ));
                    s.attach_stream(tx.clone());
                    app.gw.register_client(&s);
                    spawn_list_changed(&app, &s, tx.clone());
                    session = Some(s);
                    Message::response(id, init.result)
                }
                Err(e) => e.into_message(id),
            };
            let _ = tx.send(answer).await;
            continue;
        }
        spawn_handle(&app, &scope, &inflight, session.clone(), msg, tx.clone());
    }
    // stdin closed: let the calls in flight answer (bounded), then stop.
    let deadline = tokio::time::Instant::now() + app.server.shutdown_timeout;
    while inflight.load(std::sync::atomic::Ordering::Acquire) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    drop(tx);
    done_tx.send_replace(true);
    let _ = writer.await;
    Ok(())
}

fn spawn_handle(
    app: &Arc<App>,
    scope: &Scope,
    inflight: &Arc<std::sync::atomic::AtomicUsize>,
    session: Option<Arc<Session>>,
    msg: Message,
    tx: mpsc::Sender<Message>,
) {
    let app = app.clone();
    let scope = scope.clone();
    let inflight = inflight.clone();
    inflight.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    tokio::spawn(async move {
        let session = match session {
            Some(s) => s,
            // Lenient: a client that skips initialize still gets served.
            None => Arc::new(Session::new(
                "stdio".into(),
                scope,
                mcp_wire::version::LATEST,
                None,
            )),
        };
        if let Some(answer) = router::handle(&app.gw, &session, msg, Some(tx.clone())).await {
            let _ = tx.send(answer).await;
        }
        inflight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    });
}
