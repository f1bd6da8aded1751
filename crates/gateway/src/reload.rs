//! Hot reload: the config file is watched (its content polled twice a
//! second, which also sees editors that save by renaming a new file into
//! place), and SIGHUP or `POST /admin/reload` reload it at once. A config
//! that fails to load or validate is rejected with a log line and the
//! running one stays.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::{self, Config};
use crate::gateway::{Gateway, ReloadReport};
use crate::server::admin::Reloader;

/// What to reload from, and the command-line settings that stay on top.
pub struct Source {
    pub path: PathBuf,
    /// Applied after every load (e.g. `--host`, `--port`).
    pub overrides: Box<dyn Fn(&mut Config) + Send + Sync>,
}

const POLL: Duration = Duration::from_millis(500);

/// Start watching; returns the handle `POST /admin/reload` uses.
pub fn spawn(gw: Arc<Gateway>, source: Source) -> Reloader {
    let (tx, mut requests) =
        mpsc::channel::<tokio::sync::oneshot::Sender<Result<ReloadReport, String>>>(8);
    // Installed before returning, so a SIGHUP sent once the gateway listens
    // never meets the default action (which would end the process).
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    tokio::spawn(async move {
        let mut last = std::fs::read(&source.path).ok();
        let mut tick = tokio::time::interval(POLL);
        loop {
            let answer = tokio::select! {
                _ = tick.tick() => {
                    let now = std::fs::read(&source.path).ok();
                    if now.is_none() || now == last {
                        continue;
                    }
                    last = now;
                    tracing::info!(path = %source.path.display(), "config file changed; reloading");
                    None
                }
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => {
                    tracing::info!("SIGHUP: reloading the config");
                    None
                }
                Some(reply) = requests.recv() => Some(reply),
            };
            let result = reload(&gw, &source).await;
            if let Some(reply) = answer {
                let _ = reply.send(result);
            }
        }
    });
    tx
}

async fn reload(gw: &Gateway, source: &Source) -> Result<ReloadReport, String> {
    let env = |name: &str| std::env::var(name).ok();
    match config::load(Some(&source.path), &env) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                tracing::warn!("{w}");
            }
            let mut next = loaded.config;
            (source.overrides)(&mut next);
            let report = gw.reload(next).await;
            if !report.needs_restart.is_empty() {
                tracing::warn!(sections = ?report.needs_restart, "these settings changed but take effect only after a restart");
            }
            Ok(report)
        }
        Err(e) => {
            tracing::error!("config reload rejected, the running config stays: {e}");
            Err(e.to_string())
        }
    }
}
