//! Markdown tables from a run's records: every gateway number next to its
//! ratio to the direct baseline of the same run, and the target
//! beside it, marked met or missed.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::record::Record;

/// The baseline group: the echo backend called directly.
pub const DIRECT: &str = "direct";

/// The targets for tool-call rows: (group, throughput ratio at conc 8).
const RATIO_TARGETS: &[(&str, f64)] = &[
    ("invoke-stdio", 0.60),
    ("invoke-http", 0.45),
    ("passthrough", 0.60),
    ("passthrough-stdio", 0.60),
];
/// Added p50 latency at concurrency 1, µs.
const ADDED_P50_TARGET_US: f64 = 30.0;
const RSS_TARGET_BYTES: f64 = 25e6;
const SESSION_TARGET_BYTES: f64 = 10e3;
const FIRST_CALL_TARGET_MS: f64 = 100.0;

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

fn payload(bytes: Option<u64>) -> String {
    match bytes.unwrap_or(0) {
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} B"),
    }
}

fn mark(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "**missed**"
    }
}

fn errors(r: &Record) -> String {
    let (e, t) = (r.errors.unwrap_or(0), r.tool_errors.unwrap_or(0));
    match (e, t) {
        (0, 0) => "0".into(),
        _ => format!("{e} + {t} tool"),
    }
}

/// Position of each group in the order it first appears.
fn group_order(records: &[&Record]) -> BTreeMap<String, usize> {
    let mut order = BTreeMap::new();
    for r in records {
        let n = order.len();
        order.entry(r.group.clone()).or_insert(n);
    }
    order
}

/// `gateway / backend / loadgen` CPU µs per call, `-` for what was not watched.
fn cpu(r: &Record) -> String {
    ["gateway", "backend", "loadgen"]
        .map(|k| num(r.cpu_us_per_op.get(k).copied(), 0))
        .join(" / ")
}

/// The reference rows: `mcp-relay`, the thinnest proxy, in the gateway's
/// seat in front of the HTTP backend and (`--stdio`) the stdio one. No
/// target: they show what one more hop costs on the machine.
pub const RELAYS: [&str; 2] = ["relay", "relay-stdio"];

fn is_main_call_group(g: &str) -> bool {
    g == DIRECT || RELAYS.contains(&g) || RATIO_TARGETS.iter().any(|(t, _)| *t == g)
}

/// All tables, in the order: tool calls, other calls, session setup, startup, memory, size.
pub fn render(records: &[Record]) -> String {
    let mut out = String::new();
    calls_table(&mut out, records);
    instructions_table(&mut out, records);
    other_calls(&mut out, records);
    setup_table(&mut out, records);
    startup_table(&mut out, records);
    memory_table(&mut out, records);
    size_table(&mut out, records);
    out
}

fn calls_table(out: &mut String, records: &[Record]) {
    let mut rows: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == "calls" && is_main_call_group(&r.group))
        .collect();
    if rows.is_empty() {
        return;
    }
    let order = group_order(&rows);
    rows.sort_by_key(|r| (r.payload_bytes, r.concurrency, order[&r.group]));
    let base = |r: &Record| {
        records.iter().find(|b| {
            b.kind == "calls"
                && b.group == DIRECT
                && b.concurrency == r.concurrency
                && b.payload_bytes == r.payload_bytes
        })
    };
    out.push_str("### tools/call, closed loop\n\n");
    out.push_str("| path | conc | argument | calls/s | × direct | p50 µs | p90 µs | p99 µs | added p50 µs | CPU µs/call gw / backend / loadgen | target | errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
    for r in rows {
        let b = base(r).filter(|_| r.group != DIRECT);
        let ratio = b.and_then(|b| Some(r.throughput? / b.throughput?));
        let added = b.and_then(|b| Some(r.p50_us? - b.p50_us?));
        let target = match (
            r.concurrency,
            RATIO_TARGETS.iter().find(|(g, _)| *g == r.group),
        ) {
            (Some(8), Some((_, t))) => ratio.map_or(format!("≥ {t:.2}x"), |x| {
                format!("≥ {t:.2}x: {}", mark(x >= *t))
            }),
            (Some(1), Some(_)) => {
                added.map_or(format!("+p50 ≤ {ADDED_P50_TARGET_US} µs"), |a| {
                    format!(
                        "+p50 ≤ {ADDED_P50_TARGET_US:.0} µs: {}",
                        mark(a <= ADDED_P50_TARGET_US)
                    )
                })
            }
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.concurrency.unwrap_or(0),
            payload(r.payload_bytes),
            num(r.throughput, 0),
            ratio.map_or("-".into(), |x| format!("{x:.2}x")),
            num(r.p50_us, 0),
            num(r.p90_us, 0),
            num(r.p99_us, 0),
            added.map_or("-".into(), |a| format!("{a:+.0}")),
            cpu(r),
            target,
            errors(r)
        );
    }
    out.push('\n');
}

fn instructions_table(out: &mut String, records: &[Record]) {
    let is = |r: &&Record| r.kind == "instructions";
    let rows: Vec<&Record> = records.iter().filter(is).collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Instructions per tools/call (callgrind, concurrency 1)\n\n");
    out.push_str("Counted in the one process under valgrind: the echo backend for `direct`, the relay for the relay rows (not its stdio child), the gateway otherwise.\n\n");
    out.push_str("| path | argument | instructions/call | × direct echo |\n|---|---:|---:|---:|\n");
    for r in rows {
        let base = records
            .iter()
            .filter(is)
            .find(|b| b.group == DIRECT && b.payload_bytes == r.payload_bytes && r.group != DIRECT);
        let ratio = base.and_then(|b| Some(r.instructions_per_op? / b.instructions_per_op?));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.label,
            payload(r.payload_bytes),
            num(r.instructions_per_op, 0),
            ratio.map_or("-".into(), |x| format!("{x:.1}x"))
        );
    }
    out.push('\n');
}

fn other_calls(out: &mut String, records: &[Record]) {
    let rows: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == "calls" && !is_main_call_group(&r.group))
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Other gateway calls\n\n");
    out.push_str(
        "| call | conc | calls/s | p50 µs | p90 µs | p99 µs | gateway CPU µs/call | errors |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.concurrency.unwrap_or(0),
            num(r.throughput, 0),
            num(r.p50_us, 0),
            num(r.p90_us, 0),
            num(r.p99_us, 0),
            num(r.cpu_us_per_op.get("gateway").copied(), 0),
            errors(r)
        );
    }
    out.push('\n');
}

fn setup_table(out: &mut String, records: &[Record]) {
    let rows: Vec<&Record> = records.iter().filter(|r| r.kind == "setup").collect();
    if rows.is_empty() {
        return;
    }
    out.push_str(
        "### Session setup (initialize + notifications/initialized; then DELETE, untimed)\n\n",
    );
    out.push_str(
        "| endpoint | conc | sessions/s | × direct | p50 µs | p90 µs | p99 µs | errors |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in rows {
        let base = records
            .iter()
            .find(|b| b.kind == "setup" && b.group == DIRECT && b.concurrency == r.concurrency);
        let ratio = base
            .filter(|_| r.group != DIRECT)
            .and_then(|b| Some(r.throughput? / b.throughput?));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.concurrency.unwrap_or(0),
            num(r.throughput, 0),
            ratio.map_or("-".into(), |x| format!("{x:.2}x")),
            num(r.p50_us, 0),
            num(r.p90_us, 0),
            num(r.p99_us, 0),
            errors(r)
        );
    }
    out.push('\n');
}

fn startup_table(out: &mut String, records: &[Record]) {
    let rows: Vec<&Record> = records.iter().filter(|r| r.kind == "startup").collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Startup (median ms from exec)\n\n");
    out.push_str("| configuration | runs | listening | first gateway_invoke OK | all backends ready | target |\n");
    out.push_str("|---|---:|---:|---:|---:|---|\n");
    for r in rows {
        let both = r.first_call_ms.zip(r.all_ready_ms).map(|(a, b)| a.max(b));
        let target = match both {
            Some(ms) => format!(
                "first call ≤ {FIRST_CALL_TARGET_MS:.0} ms: {}",
                mark(ms <= FIRST_CALL_TARGET_MS)
            ),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            r.label,
            r.runs.unwrap_or(0),
            num(r.listen_ms, 1),
            num(r.first_call_ms, 1),
            num(r.all_ready_ms, 1),
            target
        );
    }
    out.push('\n');
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

fn memory_table(out: &mut String, records: &[Record]) {
    let rows: Vec<&Record> = records
        .iter()
        .filter(|r| r.kind == "rss" || r.kind == "sessions")
        .collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Gateway memory (VmRSS; MB = 10^6 bytes)\n\n");
    out.push_str("| state | RSS MB | peak MB | per session | target |\n");
    out.push_str("|---|---:|---:|---:|---|\n");
    for r in rows {
        let rss = r.rss_kib.map(mb);
        let per = r.bytes_per_session;
        let target = if r.kind == "sessions" {
            per.map(|b| {
                format!(
                    "≤ 10 KB per idle session: {}",
                    mark(b <= SESSION_TARGET_BYTES)
                )
            })
        } else if r.group == "after-load" {
            rss.map(|m| format!("≤ 25 MB: {}", mark(m * 1e6 <= RSS_TARGET_BYTES)))
        } else {
            None
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            r.label,
            num(rss, 1),
            num(r.hwm_kib.map(mb), 1),
            per.map_or("-".into(), |b| format!("{:.1} KB", b / 1000.0)),
            target.unwrap_or_default()
        );
    }
    out.push('\n');
}

fn size_table(out: &mut String, records: &[Record]) {
    let rows: Vec<&Record> = records.iter().filter(|r| r.kind == "size").collect();
    if rows.is_empty() {
        return;
    }
    out.push_str("### Release binary\n\n| file | bytes | MB |\n|---|---:|---:|\n");
    for r in rows {
        let b = r.bytes.unwrap_or(0);
        let _ = writeln!(out, "| {} | {b} | {:.1} |", r.label, b as f64 / 1e6);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(group: &str, conc: u64, tput: f64, p50: f64) -> Record {
        Record {
            concurrency: Some(conc),
            payload_bytes: Some(16),
            throughput: Some(tput),
            p50_us: Some(p50),
            ..Record::new("calls", group, group)
        }
    }

    #[test]
    fn ratios_and_targets() {
        let records = vec![
            calls(DIRECT, 8, 10000.0, 100.0),
            calls("invoke-stdio", 8, 7000.0, 150.0),
            calls("invoke-http", 8, 4000.0, 200.0),
            calls(DIRECT, 1, 5000.0, 100.0),
            calls("passthrough", 1, 4000.0, 120.0),
            calls(RELAYS[0], 8, 4600.0, 180.0),
            calls(RELAYS[1], 8, 7500.0, 140.0),
            calls("search-1k", 1, 900.0, 1000.0),
        ];
        let md = render(&records);
        // The relay is a reference: in the main table, compared, no target.
        assert!(md.contains("| relay | 8 | 16 B | 4600 | 0.46x |"), "{md}");
        assert!(
            md.contains("| relay-stdio | 8 | 16 B | 7500 | 0.75x |"),
            "{md}"
        );
        for relay in RELAYS {
            let row = md
                .lines()
                .find(|l| l.starts_with(&format!("| {relay} |")))
                .unwrap();
            assert!(row.ends_with("|  | 0 |") && !row.contains("met"), "{row}");
        }
        assert!(
            md.contains("| invoke-stdio | 8 | 16 B | 7000 | 0.70x |"),
            "{md}"
        );
        assert!(md.contains("≥ 0.60x: met"));
        assert!(md.contains("≥ 0.45x: **missed**"));
        assert!(md.contains("| +20 |") && md.contains("+p50 ≤ 30 µs: met"));
        assert!(md.contains("### Other gateway calls"));
        let direct_row = md.lines().find(|l| l.starts_with("| direct | 1 ")).unwrap();
        assert!(direct_row.contains("| - |"));
    }
}
