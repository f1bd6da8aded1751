//! Search quality and speed on real tool definitions.
//!
//! `cargo run --release -p mcp-gateway --example search_quality [-- DIR]`
//! reads `bench/search/catalog.json` (tools dumped from real MCP servers)
//! and the query sets `queries.json` (used while developing) and
//! `queries-holdout.json` (never tuned against), prints top-1, top-5 and
//! MRR for each, then search latency over catalogs grown to 1k and 10k
//! tools by repeating the real servers under new names.

use std::path::PathBuf;
use std::time::Instant;

use mcp_gateway::catalog::{parse_tools_page, Catalog, Entry};
use mcp_gateway::search::eval::{catalog_from, evaluate, CatalogFile, Query};
use mcp_gateway::search::search;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../bench/search"))
        });
    let dump: CatalogFile =
        serde_json::from_slice(&std::fs::read(dir.join("catalog.json")).expect("catalog.json"))
            .expect("catalog parses");
    let catalog = catalog_from(&dump);
    println!(
        "catalog: {} servers, {} tools",
        catalog.entries.len(),
        catalog.tool_count()
    );
    if let Ok(q) = std::env::var("EXPLAIN") {
        for m in search(&catalog, &q, 8) {
            println!(
                "{:>8.3}  {}/{}  matched {:?}",
                m.score, m.entry.name, m.tool.name, m.matched
            );
        }
        return;
    }
    println!();
    println!("| query set | queries | top-1 | top-5 | MRR |");
    println!("|---|---|---|---|---|");
    let mut all: Vec<Query> = Vec::new();
    for name in ["queries.json", "queries-holdout.json"] {
        let queries: Vec<Query> =
            serde_json::from_slice(&std::fs::read(dir.join(name)).expect(name))
                .expect("queries parse");
        let r = evaluate(&catalog, &queries);
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} |",
            r.queries, r.top1, r.top5, r.mrr
        );
        if std::env::var_os("SHOW_MISSES").is_some() {
            for (q, got) in &r.misses {
                eprintln!("  miss: {q:?} -> {got}");
            }
        }
        all.extend(queries);
    }
    println!();
    println!("| tools | p50 µs | p99 µs | max µs |");
    println!("|---|---|---|---|");
    for target in [1_000, 10_000] {
        let big = grown(&dump, target);
        let mut times = Vec::new();
        for _ in 0..5 {
            for q in &all {
                let t = Instant::now();
                let hits = search(&big, &q.query, 5);
                times.push(t.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(hits);
            }
        }
        times.sort_by(f64::total_cmp);
        let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
        println!(
            "| {} | {:.0} | {:.0} | {:.0} |",
            big.tool_count(),
            pct(0.5),
            pct(0.99),
            times[times.len() - 1]
        );
    }
}

/// The real servers repeated under new names until the catalog has `target` tools.
fn grown(dump: &CatalogFile, target: usize) -> Catalog {
    let mut entries = Vec::new();
    let mut total = 0;
    let mut round = 0;
    while total < target {
        for s in &dump.servers {
            if total >= target {
                break;
            }
            let take = s.tools.len().min(target - total);
            let page = parse_tools_page(&mcp_wire::raw(
                &serde_json::json!({ "tools": s.tools[..take] }),
            ))
            .expect("tools parse");
            entries.push(Entry::offline(
                &format!("{}-{round}", s.name),
                &s.description,
                page.tools,
            ));
            total += take;
        }
        round += 1;
    }
    Catalog::build(entries)
}
