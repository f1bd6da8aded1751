//! Instruction counts from a process running under `valgrind --tool=callgrind`:
//! zero its counters when the measured window opens, dump them when it
//! closes, and read the total from the newest dump. Unlike times, these
//! counts barely move with the machine's load.

use anyhow::{anyhow, bail, Context, Result};
use std::path::{Path, PathBuf};

/// A process under callgrind started with `--callgrind-out-file=PREFIX.%p`.
#[derive(Clone, Debug)]
pub struct Target {
    pub pid: u32,
    /// The `--callgrind-out-file` value with `%p` already expanded.
    pub out_file: PathBuf,
}

async fn control(args: &[&str], pid: u32) -> Result<()> {
    let status = tokio::process::Command::new("callgrind_control")
        .args(args)
        .arg(pid.to_string())
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .context("running callgrind_control (is valgrind installed?)")?;
    if !status.success() {
        bail!("callgrind_control {args:?} {pid} failed: {status}");
    }
    Ok(())
}

impl Target {
    pub async fn zero(&self) -> Result<()> {
        control(&["-z"], self.pid).await
    }

    /// Dumps the counters and returns the instructions since the last zero.
    pub async fn dump(&self) -> Result<u64> {
        let before = newest_dump(&self.out_file).map(|(n, _)| n);
        control(&["-d"], self.pid).await?;
        // The dump is written asynchronously by the profiled process.
        for _ in 0..100 {
            if let Some((n, path)) = newest_dump(&self.out_file) {
                if Some(n) != before {
                    if let Ok(total) = read_total(&path) {
                        return Ok(total);
                    }
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        bail!("no new callgrind dump next to {}", self.out_file.display())
    }
}

/// The dump with the highest sequence number: `OUT.N` (or `OUT.N-THREAD`).
fn newest_dump(out_file: &Path) -> Option<(u64, PathBuf)> {
    let dir = out_file.parent()?;
    let base = out_file.file_name()?.to_str()?.to_owned() + ".";
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let seq = name.strip_prefix(&base)?.split('-').next()?.parse().ok()?;
            Some((seq, e.path()))
        })
        .max_by_key(|(seq, _)| *seq)
}

/// The `summary:` (or `totals:`) line of a dump: the first event's count.
fn read_total(path: &Path) -> Result<u64> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow!("{} has no summary line", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_dump_and_its_total() {
        let dir = std::env::temp_dir().join(format!("mcp-bench-cg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("cg.out.42");
        std::fs::write(dir.join("cg.out.42.2"), "events: Ir\nsummary: 1234\n").unwrap();
        std::fs::write(dir.join("cg.out.42.10"), "events: Ir\ntotals: 99 1\n").unwrap();
        std::fs::write(dir.join("cg.out.421.50"), "summary: 5\n").unwrap();
        let (n, path) = newest_dump(&out).unwrap();
        assert_eq!(n, 10);
        assert_eq!(read_total(&path).unwrap(), 99);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
