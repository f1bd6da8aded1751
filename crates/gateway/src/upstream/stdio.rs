//! stdio backends: a child process speaking newline-delimited JSON-RPC.
//!
//! One writer task owns stdin, one reader task owns stdout, one task turns
//! stderr into log lines tagged with the backend name. The child runs in its
//! own process group so `npx`-style wrappers and their children are stopped
//! together: close stdin, wait, SIGTERM the group, wait, SIGKILL the group.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use mcp_wire::{Chunks, Message, Outgoing};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
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
    tx: std::sync::Mutex<Option<mpsc::Sender<Chunks>>>,
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

        let (tx, mut rx) = mpsc::channel::<Chunks>(1024);
        let link = Arc::new(StdioLink {
            tx: std::sync::Mutex::new(Some(tx)),
            child: Mutex::new(Some(child)),
            pgid,
        });

        // Writer: a line, or every line queued, in one vectored write of
        // their parts (a large argument goes from the client's request
        // to the pipe without a copy).
        tokio::spawn(async move {
            while let Some(mut out) = rx.recv().await {
                while let Ok(more) = rx.try_recv() {
                    out.append(more);
                }
                if stdin.write_all_buf(&mut out).await.is_err() || stdin.flush().await.is_err() {
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
                .send(msg.to_line_chunks())
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
    /// A line that may be JSON, without its newline: a slice of the buffer
    /// it was read into, not a copy.
    Json(Bytes),
    Garbage(String),
    TooLong,
}

/// How much room a read is given.
const READ_SIZE: usize = 64 * 1024;
/// Lines from this size on are split off the read buffer, not copied: a
/// shorter one is copied into its own, so the read buffer stays unshared
/// and is used again.
const SPLIT_FROM: usize = 4096;

/// Newline-delimited reading with a hard cap on line length: an oversize
/// line is skipped up to its newline, never buffered whole.
pub(crate) struct BoundedLines<R> {
    reader: R,
    /// Read and not yet handed out; lines are split off its front.
    buf: BytesMut,
    /// How much of `buf` is known to hold no newline.
    searched: usize,
    /// Inside a line too long to keep, dropping it up to its newline.
    skipping: bool,
    max: usize,
}

impl<R: AsyncRead + Unpin> BoundedLines<R> {
    pub(crate) fn new(reader: R, max: usize) -> Self {
        BoundedLines {
            reader,
            buf: BytesMut::new(),
            searched: 0,
            skipping: false,
            max,
        }
    }

    pub(crate) async fn next(&mut self) -> std::io::Result<Option<Line>> {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.buf[self.searched..]) {
                let end = self.searched + i;
                self.searched = 0;
                let text = &self.buf[..end];
                let line = if std::mem::take(&mut self.skipping) || end > self.max {
                    Some(Line::TooLong)
                } else if text.iter().all(u8::is_ascii_whitespace) {
                    None // blank
                } else if end < SPLIT_FROM {
                    Some(classify(Bytes::copy_from_slice(text)))
                } else {
                    let line = self.buf.split_to(end).freeze();
                    self.buf.advance(1);
                    return Ok(Some(classify(line)));
                };
                self.buf.advance(end + 1);
                match line {
                    Some(line) => return Ok(Some(line)),
                    None => continue,
                }
            }
            self.searched = self.buf.len();
            if self.searched > self.max {
                self.buf.clear();
                self.searched = 0;
                self.skipping = true;
            }
            self.buf.reserve(READ_SIZE);
            if self.reader.read_buf(&mut self.buf).await? == 0 {
                // The end: what is left is a last line without its newline.
                let last = self.buf.split().freeze();
                self.searched = 0;
                return Ok(if std::mem::take(&mut self.skipping) {
                    Some(Line::TooLong)
                } else if last.iter().all(u8::is_ascii_whitespace) {
                    None
                } else {
                    Some(classify(last))
                });
            }
        }
    }
}

fn classify(line: Bytes) -> Line {
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
        let kinds = kinds(BoundedLines::new(&input[..], 20)).await;
        assert_eq!(
            kinds,
            ["{\"a\":1}", "garbage:not json", "too-long", "{\"b\":2}"]
        );
    }

    /// Every line read, as text (`garbage:` and `too-long` marked).
    async fn kinds(mut lines: BoundedLines<impl AsyncRead + Unpin>) -> Vec<String> {
        let mut kinds = Vec::new();
        while let Some(l) = lines.next().await.unwrap() {
            kinds.push(match l {
                Line::Json(b) => String::from_utf8(b.to_vec()).unwrap(),
                Line::Garbage(g) => format!("garbage:{g}"),
                Line::TooLong => "too-long".into(),
            });
        }
        kinds
    }

    /// Hands out at most `step` bytes a read, as a pipe under load may.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            let n = self.step.min(self.data.len()).min(buf.remaining());
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn lines_split_across_reads_and_an_oversize_one_skipped_across_reads() {
        let input = b"{\"a\":12345}\n{\"long\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n  \n{\"b\":2}\n{\"c\":3}";
        for step in [1, 3, 7, input.len()] {
            let kinds = kinds(BoundedLines::new(Trickle { data: input, step }, 20)).await;
            let want = ["{\"a\":12345}", "too-long", "{\"b\":2}", "{\"c\":3}"];
            assert_eq!(kinds, want, "{step} bytes a read");
        }
    }

    #[tokio::test]
    async fn long_lines_are_slices_of_the_read_buffer_and_short_ones_copies() {
        let long = |c: char| format!(r#"{{"{c}":"{}"}}"#, "x".repeat(SPLIT_FROM));
        let input = format!("{}\n{}\n{{\"c\":1}}\n{}", long('a'), long('b'), long('d'));
        // All of it in one read, as a backend writing quickly may.
        let mut lines = BoundedLines::new(input.as_bytes(), 2 * SPLIT_FROM);
        let mut got = Vec::new();
        while let Some(Line::Json(line)) = lines.next().await.unwrap() {
            got.push(line);
        }
        let text: Vec<_> = got
            .iter()
            .map(|l| String::from_utf8(l.to_vec()).unwrap())
            .collect();
        assert_eq!(text, [long('a'), long('b'), r#"{"c":1}"#.into(), long('d')]);
        let (a, b) = (&got[0], &got[1]);
        assert_eq!(
            a.as_ptr() as usize + a.len() + 1,
            b.as_ptr() as usize,
            "a long line was copied out of the read buffer"
        );
        assert_ne!(got[2].as_ptr() as usize, b.as_ptr() as usize + b.len() + 1);
    }
}
