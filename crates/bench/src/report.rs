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

/// Errors and tool errors of a measurement (or of all its rounds).
fn errors(e: u64, t: u64) -> String {
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

/// The median of `values` (the mean of the middle two for an even count).
fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(match v.len() % 2 {
        1 => v[mid],
        _ => (v[mid - 1] + v[mid]) / 2.0,
    })
}

/// One row of the tool-call table: a path at one concurrency and argument
/// size, over the rounds of an interleaved run (`--round`; one round when
/// the run had none).
struct Point<'a> {
    rounds: Vec<&'a Record>,
}

impl<'a> Point<'a> {
    fn first(&self) -> &'a Record {
        self.rounds[0]
    }

    fn median_of(&self, field: impl Fn(&Record) -> Option<f64>) -> Option<f64> {
        median(self.rounds.iter().filter_map(|r| field(r)))
    }

    /// Each round against the baseline's record of the same round.
    fn paired(&self, base: &Point, field: impl Fn(&Record, &Record) -> Option<f64>) -> Vec<f64> {
        self.rounds
            .iter()
            .filter_map(|r| {
                let b = base.rounds.iter().find(|b| b.round == r.round)?;
                field(r, b)
            })
            .collect()
    }

    /// `gateway / backend / loadgen` CPU µs per call, `-` for what was not watched.
    fn cpu(&self) -> String {
        ["gateway", "backend", "loadgen"]
            .map(|k| num(self.median_of(|r| r.cpu_us_per_op.get(k).copied()), 0))
            .join(" / ")
    }

    fn errors(&self) -> String {
        let sum = |f: fn(&Record) -> Option<u64>| self.rounds.iter().filter_map(|r| f(r)).sum();
        errors(sum(|r| r.errors), sum(|r| r.tool_errors))
    }
}

/// The records `keep` keeps, one point per (group, label,
/// concurrency, size), ordered by size, concurrency, then the order the
/// groups first appear in.
fn points<'a>(records: &'a [Record], keep: impl Fn(&Record) -> bool) -> Vec<Point<'a>> {
    let kept: Vec<&Record> = records.iter().filter(|r| keep(r)).collect();
    let order = group_order(&kept);
    let mut points: Vec<Point> = Vec::new();
    for r in kept {
        let same = |p: &&mut Point| {
            let f = p.first();
            (&f.group, &f.label, f.concurrency, f.payload_bytes)
                == (&r.group, &r.label, r.concurrency, r.payload_bytes)
        };
        match points.iter_mut().find(same) {
            Some(p) => p.rounds.push(r),
            None => points.push(Point { rounds: vec![r] }),
        }
    }
    points.sort_by_key(|p| {
        let f = p.first();
        (f.payload_bytes, f.concurrency, order[&f.group])
    });
    points
}

fn calls_table(out: &mut String, records: &[Record]) {
    let points = points(records, |r| {
        r.kind == "calls" && is_main_call_group(&r.group)
    });
    if points.is_empty() {
        return;
    }
    let base = |p: &Point| {
        let f = p.first();
        points.iter().find(|b| {
            let g = b.first();
            g.group == DIRECT
                && g.concurrency == f.concurrency
                && g.payload_bytes == f.payload_bytes
        })
    };
    out.push_str("### tools/call, closed loop\n\n");
    out.push_str("| path | conc | argument | calls/s | × direct | p50 µs | p90 µs | p99 µs | added p50 µs | CPU µs/call gw / backend / loadgen | target | errors |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");
    for p in &points {
        let r = p.first();
        let b = base(p).filter(|_| r.group != DIRECT);
        let ratios = b.map_or(vec![], |b| {
            p.paired(b, |r, b| Some(r.throughput? / b.throughput?))
        });
        let ratio = median(ratios.iter().copied());
        let added = b.and_then(|b| median(p.paired(b, |r, b| Some(r.p50_us? - b.p50_us?))));
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
        let ratio = match ratio {
            None => "-".into(),
            Some(x) if ratios.len() < 2 => format!("{x:.2}x"),
            Some(x) => {
                let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = ratios.iter().copied().fold(0.0, f64::max);
                format!("{x:.2}x ({lo:.2}–{hi:.2})")
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.label,
            r.concurrency.unwrap_or(0),
            payload(r.payload_bytes),
            num(p.median_of(|r| r.throughput), 0),
            ratio,
            num(p.median_of(|r| r.p50_us), 0),
            num(p.median_of(|r| r.p90_us), 0),
            num(p.median_of(|r| r.p99_us), 0),
            added.map_or("-".into(), |a| format!("{a:+.0}")),
            p.cpu(),
            target,
            p.errors()
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
            errors(r.errors.unwrap_or(0), r.tool_errors.unwrap_or(0))
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
            errors(r.errors.unwrap_or(0), r.tool_errors.unwrap_or(0))
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

    #[test]
    fn rounds_are_paired_with_the_baselines_of_their_own_round() {
        let round = |n, group, tput, p50| Record {
            round: Some(n),
            errors: Some(n - 1),
            ..calls(group, 8, tput, p50)
        };
        // The machine slows down in round 2: the gateway's own median
        // throughput (6000) over the baseline's (10000) would say 0.60x;
        // round by round it did 0.70x, 0.75x and 0.80x of the baseline.
        let records = vec![
            round(1, DIRECT, 10000.0, 100.0),
            round(1, "invoke-stdio", 7000.0, 130.0),
            round(2, DIRECT, 4000.0, 300.0),
            round(2, "invoke-stdio", 3000.0, 400.0),
            round(3, DIRECT, 7500.0, 150.0),
            round(3, "invoke-stdio", 6000.0, 170.0),
        ];
        let md = render(&records);
        let row = |g: &str| {
            md.lines()
                .find(|l| l.starts_with(&format!("| {g} |")))
                .unwrap()
                .to_owned()
        };
        // Medians of calls/s and p50; the ratio and the added p50 are
        // medians of each round against its own baseline (+30, +100, +20).
        assert!(
            row("invoke-stdio").starts_with(
                "| invoke-stdio | 8 | 16 B | 6000 | 0.75x (0.70–0.80) | 170 | - | - | +30 |"
            ),
            "{md}"
        );
        assert!(row("invoke-stdio").contains("≥ 0.60x: met"), "{md}");
        assert!(row(DIRECT).starts_with("| direct | 8 | 16 B | 7500 | - | 150 |"));
        // Errors add up over the rounds (0 + 1 + 2).
        assert!(row("invoke-stdio").ends_with("| 3 + 0 tool |"), "{md}");
        assert_eq!(
            md.matches("| invoke-stdio |").count(),
            1,
            "one row per point"
        );
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median([4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median([5.0, f64::NAN, 1.0, 3.0]), Some(3.0));
        assert_eq!(median([]), None);
    }
}
