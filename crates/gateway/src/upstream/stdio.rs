//! stdio backends: a child process speaking newline-delimited JSON-RPC.
//!
//! One writer task owns stdin, one reader task owns stdout, one task turns
//! stderr into log lines tagged with the backend name. The child runs in its
//! own process group so `npx`-style wrappers and their children are stopped
//! together: close stdin, wait, SIGTERM the group, wait, SIGKILL the group.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use mcp_wire::{Message, Outgoing};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, Mutex};

use super::peer::Peer;
use super::{LinkOptions, UpstreamError};
use crate::config::Transport;

/// How long the child gets after stdin closes, and again after SIGTERM.
const GRACE: Duration = Duration::from_secs(2);
/// The exit reason when the gateway itself stopped the process.
const STOPPED: &str = "stopped";

pub struct StdioLink {
    /// Lines to write, each with its newline; `None` once closed.
    tx: std::sync::Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    child: Mutex<Option<Child>>,
    pgid: Option<Pid>,
}

impl StdioLink {
    pub async fn spawn(
        transport: &Transport,
        peer: Arc<Peer>,
        opts: &LinkOptions,
    ) -> Result<Arc<Self>, UpstreamError> {
        let Transport::Stdio {
            program,
            args,
            env,
            cwd,
        } = transport
        else {
            unreachable!("spawn is only called for stdio transports")
        };
        let backend = peer.backend().to_owned();
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(env)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|e| UpstreamError::Start {
            backend: backend.clone(),
            reason: format!("cannot run {program:?}: {e}"),
        })?;
        let pgid = child.id().map(|id| Pid::from_raw(id as i32));
        let (stdin, stdout, stderr) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(mut stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) else {
            unreachable!("all three pipes were requested")
        };

        let (tx, mut rx) = mpsc::channel::<Vec<u8>>(1024);
        let link = Arc::new(StdioLink {
            tx: std::sync::Mutex::new(Some(tx)),
            child: Mutex::new(Some(child)),
            pgid,
        });

        // Writer: one write per line, or whatever is queued batched into one.
        tokio::spawn(async move {
            let mut buf = Vec::new();
            while let Some(line) = rx.recv().await {
                let out = match rx.try_recv() {
                    Err(_) => &line,
                    Ok(more) => {
                        buf.clear();
                        buf.extend_from_slice(&line);
                        buf.extend_from_slice(&more);
                        while let Ok(more) = rx.try_recv() {
                            buf.extend_from_slice(&more);
                        }
                        &buf
                    }
                };
                if stdin.write_all(out).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
            // Dropping stdin closes it: the child's cue to exit.
        });

        tokio::spawn(log_stderr(backend.clone(), stderr));

        // Reader: one message per line; garbage is logged and skipped.
        let reader_link = link.clone();
        let max = opts.max_message_size;
        tokio::spawn(async move {
            let mut lines = BoundedLines::new(stdout, max);
            loop {
                match lines.next().await {
                    Ok(Some(Line::Json(bytes))) => match Message::parse_one(bytes) {
                        Ok(msg) => peer.dispatch(msg),
                        Err(e) => {
                            tracing::warn!(backend = %backend, "ignoring invalid JSON-RPC line from stdout: {e}")
                        }
                    },
                    Ok(Some(Line::Garbage(preview))) => {
                        tracing::warn!(backend = %backend, "ignoring non-JSON line on stdout: {preview:?}")
                    }
                    Ok(Some(Line::TooLong)) => {
                        tracing::warn!(backend = %backend, "dropped a stdout line larger than {max} bytes")
                    }
                    Ok(None) | Err(_) => break,
                }
            }
            let reason = reader_link.exit_reason().await;
            if reason == STOPPED {
                // Our own doing: shutdown or reload.
                tracing::debug!(backend = %backend, "backend process stopped");
            } else {
                tracing::warn!(backend = %backend, "backend stopped: {reason}");
            }
            peer.close(&reason);
        });
        Ok(link)
    }

    pub async fn send(&self, msg: Outgoing<'_>) -> Result<(), UpstreamError> {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match tx {
            Some(tx) => tx
                .send(msg.to_line())
                .await
                .map_err(|_| UpstreamError::Send("stdin is closed".into())),
            None => Err(UpstreamError::Send("stdin is closed".into())),
        }
    }

    /// Wait (briefly) for the child to exit and describe how it ended.
    /// Why the process's stdout ended: [`STOPPED`] when the gateway stopped it.
    async fn exit_reason(&self) -> String {
        let mut guard = self.child.lock().await;
        let Some(child) = guard.as_mut() else {
            return STOPPED.into();
        };
        match tokio::time::timeout(Duration::from_millis(500), child.wait()).await {
            Ok(Ok(status)) => match status.code() {
                Some(code) => format!("process exited with status {code}"),
                None => format!("process was killed ({status})"),
            },
            Ok(Err(e)) => format!("process state unknown: {e}"),
            Err(_) => "process closed its stdout".into(),
        }
    }

    /// Close stdin, then SIGTERM, then SIGKILL the whole process group.
    pub async fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        let mut guard = self.child.lock().await;
        let Some(mut child) = guard.take() else {
            return;
        };
        if tokio::time::timeout(GRACE, child.wait()).await.is_ok() {
            self.signal_group(Signal::SIGKILL); // reap stragglers of the group
            return;
        }
        self.signal_group(Signal::SIGTERM);
        if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
            self.signal_group(Signal::SIGKILL);
            let _ = child.kill().await;
        }
        self.signal_group(Signal::SIGKILL);
    }

    fn signal_group(&self, sig: Signal) {
        if let Some(pgid) = self.pgid {
            let _ = killpg(pgid, sig);
        }
    }
}

impl Drop for StdioLink {
    fn drop(&mut self) {
        // Last resort (e.g. the gateway is unwinding): never leave orphans.
        self.signal_group(Signal::SIGKILL);
    }
}

async fn log_stderr(backend: String, stderr: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let line: String = line.chars().take(2000).collect();
        tracing::info!(target: "backend", backend = %backend, "{line}");
    }
}

pub(crate) enum Line {
    Json(Vec<u8>),
    Garbage(String),
    TooLong,
}

/// Newline-delimited reading with a hard cap on line length: an oversize
/// line is skipped up to its newline, never buffered whole.
pub(crate) struct BoundedLines<R> {
    reader: BufReader<R>,
    max: usize,
}

impl<R: AsyncRead + Unpin> BoundedLines<R> {
    pub(crate) fn new(r: R, max: usize) -> Self {
        BoundedLines {
            reader: BufReader::with_capacity(64 * 1024, r),
            max,
        }
    }

    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Line>> {
        let mut line = Vec::new();
        let mut too_long = false;
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                return Ok(if line.is_empty() && !too_long {
                    None
                } else {
                    Some(classify(line, too_long))
                });
            }
            let (chunk, found) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            if !too_long {
                if line.len() + chunk.len() > self.max {
                    too_long = true;
                    line = Vec::new();
                } else {
                    line.extend_from_slice(chunk);
                }
            }
            let used = found.unwrap_or(buf.len());
            self.reader.consume(used);
            if found.is_some() {
                if !too_long && line.iter().all(u8::is_ascii_whitespace) {
                    line.clear();
                    continue; // blank line
                }
                return Ok(Some(classify(line, too_long)));
            }
        }
    }
}

fn classify(line: Vec<u8>, too_long: bool) -> Line {
    if too_long {
        return Line::TooLong;
    }
    match line.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => Line::Json(line),
        _ => Line::Garbage(String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_lines_skip_garbage_blank_and_oversize_lines() {
        let input = b"{\"a\":1}\n\nnot json\n{\"big\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n{\"b\":2}".to_vec();
        let mut lines = BoundedLines::new(&input[..], 20);
        let mut kinds = Vec::new();
        while let Some(l) = lines.next().await.unwrap() {
            kinds.push(match l {
                Line::Json(b) => String::from_utf8(b).unwrap(),
                Line::Garbage(g) => format!("garbage:{g}"),
                Line::TooLong => "too-long".into(),
            });
        }
        assert_eq!(
            kinds,
            ["{\"a\":1}", "garbage:not json", "too-long", "{\"b\":2}"]
        );
    }
}
