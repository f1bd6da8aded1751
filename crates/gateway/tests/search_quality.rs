//! Search quality on real tool definitions (bench/search): a floor under
//! today's numbers, so a change that makes ranking worse fails. The numbers
//! themselves are printed by `cargo run --release -p mcp-gateway --example
//! search_quality` (CI runs it) and recorded in BENCHMARKS.md.

use mcp_gateway::search::eval::{catalog_from, evaluate, CatalogFile, Query};

fn load<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../bench/search")
        .join(name);
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
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
        let r = evaluate(&catalog, &queries);
        println!(
            "{file}: top-1 {:.3} top-5 {:.3} MRR {:.3}",
            r.top1, r.top5, r.mrr
        );
        assert!(
            r.top1 >= top1 && r.top5 >= top5 && r.mrr >= mrr,
            "{file}: {r:?}"
        );
    }
}
