//! Search quality and speed on real tool definitions.
//!
//! `cargo run --release -p mcp-gateway --example search_quality [-- DIR]`
//! reads `bench/search/catalog.json` (tools dumped from real MCP servers)
//! and the query sets `queries.json` (used while developing),
//! `queries-holdout.json`, `queries-blind.json` and `queries-blind-2.json`
//! (never tuned against; the last two written by sessions that never ran
//! the search), and `queries-dev-2.json` and `queries-dev-3.json` (written
//! the same way, for choices the first set is too small to settle), prints
//! top-1, top-5 and
//! MRR for each, then search latency over catalogs grown to 1k and 10k
//! tools by repeating the real servers under new names.
//!
//! With `EMBEDDINGS_URL` set (an OpenAI-compatible embeddings endpoint;
//! `EMBEDDINGS_MODEL`, `EMBEDDINGS_QUERY_PREFIX`, `EMBEDDINGS_DOCUMENT_PREFIX`
//! and `EMBEDDINGS_WEIGHT` optional) it also ranks by words and meaning,
//! through the gateway's own embedder, and times that. `EMBEDDINGS_CACHE`
//! (a file) keeps the tools' vectors between runs; `EMBEDDINGS_INPUT_TYPE=false`
//! sends no `input_type` (`meta_mcp.embeddings.input_type: false`); `SHOW_MISSES` prints the
//! development sets' queries whose tool was not in the top five (never the
//! held-out and blind sets'); `QUALITY_ONLY` skips the
//! timings. Each ranking's top-1 / top-5 is also printed by kind of query
//! (natural, keyword, typo, terse).

use std::path::PathBuf;
use std::time::Instant;

use mcp_gateway::catalog::{parse_tools_page, Catalog, Entry};
use mcp_gateway::config::Embeddings;
use mcp_gateway::embed::Embedder;
use mcp_gateway::search::eval::{catalog_from, evaluate, evaluate_by, CatalogFile, Query, Report};
use mcp_gateway::search::meaning::Meaning;
use mcp_gateway::search::{search, search_with_meaning};

/// The query sets, the development set first.
const QUERY_SETS: [&str; 6] = [
    "queries.json",
    "queries-holdout.json",
    "queries-blind.json",
    "queries-blind-2.json",
    "queries-dev-2.json",
    "queries-dev-3.json",
];

/// The sets whose misses may be read (`SHOW_MISSES`): the ones to develop on.
const DEVELOPMENT: [&str; 3] = ["queries.json", "queries-dev-2.json", "queries-dev-3.json"];

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
    let mut kinds = Vec::new();
    for name in QUERY_SETS {
        let queries: Vec<Query> =
            serde_json::from_slice(&std::fs::read(dir.join(name)).expect(name))
                .expect("queries parse");
        let r = evaluate(&catalog, &queries);
        kinds.push(row(name, &r));
        all.extend(queries);
    }
    println!();
    for line in kinds {
        println!("{line}");
    }
    if let Ok(url) = std::env::var("EMBEDDINGS_URL") {
        with_meaning(&catalog, &dump, &dir, url);
    }
    if std::env::var_os("QUALITY_ONLY").is_some() {
        return;
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
        println!("{} |", latency_row(big.tool_count(), times));
    }
    // A new snapshot merges the backends' indexes (each built once, when its
    // tools change): what a list_changed or a reload costs the catalog.
    println!();
    for target in [1_000, 10_000] {
        let entries = grown(&dump, target).entries;
        let mut ms: Vec<f64> = (0..5)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(Catalog::build(entries.clone()));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        println!(
            "catalog snapshot at {target} tools (indexes merged): median {:.1} ms",
            ms[2]
        );
    }
}

/// Print `r`'s table row (and, with `SHOW_MISSES`, its misses); returns its
/// line by kind of query, printed after the table.
fn row(name: &str, r: &Report) -> String {
    println!(
        "| {name} | {} | {:.3} | {:.3} | {:.3} |",
        r.queries, r.top1, r.top5, r.mrr
    );
    // The held-out sets' misses are never printed: reading them would tune
    // the ranking to them.
    if DEVELOPMENT.contains(&name) && std::env::var_os("SHOW_MISSES").is_some() {
        eprintln!("{name}, not in the top five:");
        for (q, got) in &r.misses {
            eprintln!("  miss: {q:?} -> {got}");
        }
    }
    format!("{name} by kind (top-1 / top-5): {}", r.kinds_line())
}

/// `| tools | p50 | p99 | max` (µs) of `times`, without the closing bar.
fn latency_row(tools: usize, mut times: Vec<f64>) -> String {
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    format!(
        "| {tools} | {:.0} | {:.0} | {:.0}",
        pct(0.5),
        pct(0.99),
        times[times.len() - 1]
    )
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

/// The query sets ranked by words and meaning, through the gateway's embedder.
fn with_meaning(catalog: &Catalog, dump: &CatalogFile, dir: &std::path::Path, url: String) {
    let env = |k: &str| std::env::var(k).unwrap_or_default();
    let defaults = Embeddings::new(url);
    let config = Embeddings {
        model: env("EMBEDDINGS_MODEL"),
        weight: env("EMBEDDINGS_WEIGHT").parse().unwrap_or(defaults.weight),
        timeout: std::time::Duration::from_secs(10),
        query_prefix: env("EMBEDDINGS_QUERY_PREFIX"),
        document_prefix: env("EMBEDDINGS_DOCUMENT_PREFIX"),
        cache: std::env::var_os("EMBEDDINGS_CACHE").map(PathBuf::from),
        input_type: env("EMBEDDINGS_INPUT_TYPE") != "false",
        ..defaults
    };
    let weight = config.weight;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let embedder = Embedder::new(reqwest::Client::new(), Some(config));
    let t = Instant::now();
    let n = rt
        .block_on(embedder.refresh(catalog))
        .expect("tools embedded");
    println!();
    println!(
        "words + meaning (weight {weight}): {n} texts (tools and servers) embedded in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    println!();
    println!("| query set | queries | top-1 | top-5 | MRR |");
    println!("|---|---|---|---|---|");
    let mut times = Vec::new();
    let mut kinds = Vec::new();
    for name in QUERY_SETS {
        let queries: Vec<Query> =
            serde_json::from_slice(&std::fs::read(dir.join(name)).expect(name))
                .expect("queries parse");
        let r = evaluate_by(&queries, |q| {
            let t = Instant::now();
            let (tools, vector) = rt
                .block_on(embedder.for_query(catalog, q))
                .expect("query embedded");
            let meaning = Meaning {
                query: &vector,
                docs: &tools.vectors,
                weight: tools.weight,
            };
            let hits = search_with_meaning(catalog, q, &meaning, 10);
            times.push(t.elapsed().as_secs_f64() * 1e3);
            hits
        });
        kinds.push(row(name, &r));
    }
    println!();
    for line in kinds {
        println!("{line}");
    }
    if std::env::var_os("QUALITY_ONLY").is_some() {
        return;
    }
    times.sort_by(f64::total_cmp);
    println!();
    println!(
        "search with the query embedded (the endpoint's time included): p50 {:.1} ms, p99 {:.1} ms",
        times[times.len() / 2],
        times[(times.len() - 1) * 99 / 100]
    );
    // The ranking alone, with the queries' vectors made beforehand.
    let queries: Vec<String> = QUERY_SETS
        .iter()
        .flat_map(|name| {
            let q: Vec<Query> = serde_json::from_slice(&std::fs::read(dir.join(name)).expect(name))
                .expect("queries");
            q.into_iter().map(|q| q.query)
        })
        .collect();
    println!();
    println!("| tools | p50 µs | p99 µs | max µs | (words and meaning, ranking alone) |");
    println!("|---|---|---|---|---|");
    for target in [1_000, 10_000] {
        let big = grown(dump, target);
        rt.block_on(embedder.refresh(&big)).expect("tools embedded");
        let asked: Vec<_> = queries
            .iter()
            .map(|q| {
                rt.block_on(embedder.for_query(&big, q))
                    .expect("query embedded")
            })
            .collect();
        let mut times = Vec::new();
        for _ in 0..5 {
            for (q, (tools, vector)) in queries.iter().zip(&asked) {
                let meaning = Meaning {
                    query: vector,
                    docs: &tools.vectors,
                    weight: tools.weight,
                };
                let t = Instant::now();
                let hits = search_with_meaning(&big, q, &meaning, 5);
                times.push(t.elapsed().as_secs_f64() * 1e6);
                std::hint::black_box(hits);
            }
        }
        println!("{} | |", latency_row(big.tool_count(), times));
    }
}
