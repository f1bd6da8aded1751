//! The gateway over stdin/stdout, for clients that only spawn processes.
//!
//! One implicit session. Each request is handled in its own task so a slow
//! tool never blocks the next message; one writer owns stdout so lines never
//! interleave. Logs go to stderr. EOF on stdin ends the gateway.

use std::sync::Arc;

use mcp_wire::{Message, Parsed};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::http::spawn_list_changed;
use super::App;
use crate::router;
use crate::session::{Scope, Session};

pub async fn run(app: Arc<App>, scope: Scope) -> std::io::Result<()> {
    let (tx, mut rx) = mpsc::channel::<Message>(1024);
    let writer = tokio::spawn(async move {
        let mut out = tokio::io::stdout();
        let mut buf = Vec::new();
        while let Some(msg) = rx.recv().await {
            buf.clear();
            msg.write_to(&mut buf);
            buf.push(b'\n');
            while let Ok(more) = rx.try_recv() {
                more.write_to(&mut buf);
                buf.push(b'\n');
            }
            if out.write_all(&buf).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
    });

    let mut session: Option<Arc<Session>> = None;
    let max = app.server.max_body_size;
    let mut lines = BufReader::with_capacity(64 * 1024, tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > max {
            let err = mcp_wire::ErrorObject::new(
                mcp_wire::codes::INVALID_REQUEST,
                format!("message larger than {max} bytes"),
            );
            let _ = tx.send(Message::error(None, &err)).await;
            continue;
        }
        let msg = match Message::parse(line.as_bytes()) {
            Ok(Parsed::Single(m)) => m,
            Ok(Parsed::Batch(items)) => {
                for item in items {
                    match item {
                        Ok(m) => spawn_handle(&app, &scope, session.clone(), m, tx.clone()),
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
                    spawn_list_changed(&app, &s, tx.clone());
                    session = Some(s);
                    Message::response(id, init.result)
                }
                Err(e) => e.into_message(id),
            };
            let _ = tx.send(answer).await;
            continue;
        }
        spawn_handle(&app, &scope, session.clone(), msg, tx.clone());
    }
    drop(tx);
    let _ = writer.await;
    Ok(())
}

fn spawn_handle(
    app: &Arc<App>,
    scope: &Scope,
    session: Option<Arc<Session>>,
    msg: Message,
    tx: mpsc::Sender<Message>,
) {
    let app = app.clone();
    let scope = scope.clone();
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
    });
}
