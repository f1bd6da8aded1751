//! Search-quality evaluation: top-1, top-5 and mean reciprocal rank of a
//! query set against a catalog of real tool definitions
//! (`bench/search/`). Used by the `search_quality` example, which CI runs,
//! and by a regression test.

use serde::Deserialize;

use super::{search, Match};
use crate::catalog::{parse_tools_page, Catalog, Entry};

#[derive(Deserialize)]
pub struct CatalogFile {
    pub servers: Vec<ServerDump>,
}

#[derive(Deserialize)]
pub struct ServerDump {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub tools: Vec<serde_json::Value>,
}

#[derive(Deserialize, Clone)]
pub struct Query {
    pub query: String,
    pub expected: Vec<Expected>,
    /// The kind of query (`natural`, `keyword`, `typo`, `terse`), when known.
    #[serde(default)]
    pub category: String,
}

#[derive(Deserialize, Clone, PartialEq)]
pub struct Expected {
    pub server: String,
    pub tool: String,
}

/// Build a catalog of ready backends from a dump.
pub fn catalog_from(dump: &CatalogFile) -> Catalog {
    let entries = dump
        .servers
        .iter()
        .map(|s| {
            let page = parse_tools_page(&mcp_wire::raw(&serde_json::json!({ "tools": s.tools })))
                .expect("dumped tools parse");
            Entry::offline(&s.name, &s.description, page.tools)
        })
        .collect();
    Catalog::build(entries)
}

#[derive(Debug, Default)]
pub struct Report {
    pub queries: usize,
    pub top1: f64,
    pub top5: f64,
    pub mrr: f64,
    /// Queries whose expected tools were not in the top 5, with what came first.
    pub misses: Vec<(String, String)>,
    /// By kind of query: (queries, top-1, top-5).
    pub by_kind: std::collections::BTreeMap<String, (usize, f64, f64)>,
}

impl Report {
    /// "natural 57: 0.25 / 0.53; keyword 18: …" (top-1 / top-5 by kind of query).
    pub fn kinds_line(&self) -> String {
        self.by_kind
            .iter()
            .map(|(kind, (n, top1, top5))| format!("{kind} {n}: {top1:.2} / {top5:.2}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// How [`search`] ranks `queries` over `catalog`.
pub fn evaluate(catalog: &Catalog, queries: &[Query]) -> Report {
    evaluate_by(queries, |q| search(catalog, q, 10))
}

/// How `rank` (a query -> its best ten matches) ranks `queries`.
pub fn evaluate_by<'a>(queries: &[Query], mut rank: impl FnMut(&str) -> Vec<Match<'a>>) -> Report {
    let mut r = Report {
        queries: queries.len(),
        ..Report::default()
    };
    for q in queries {
        let (top1, top5) = (r.top1, r.top5);
        let hits = rank(&q.query);
        let rank = hits.iter().position(|m| {
            q.expected
                .iter()
                .any(|e| e.server == m.entry.name && e.tool == m.tool.name)
        });
        match rank {
            Some(0) => {
                r.top1 += 1.0;
                r.top5 += 1.0;
                r.mrr += 1.0;
            }
            Some(k) => {
                if k < 5 {
                    r.top5 += 1.0;
                } else {
                    r.misses.push((q.query.clone(), top_name(&hits)));
                }
                r.mrr += 1.0 / (k as f64 + 1.0);
            }
            None => r.misses.push((q.query.clone(), top_name(&hits))),
        }
        if !q.category.is_empty() {
            let kind = r.by_kind.entry(q.category.clone()).or_default();
            kind.0 += 1;
            kind.1 += r.top1 - top1;
            kind.2 += r.top5 - top5;
        }
    }
    for (n, top1, top5) in r.by_kind.values_mut() {
        *top1 /= *n as f64;
        *top5 /= *n as f64;
    }
    let n = queries.len().max(1) as f64;
    r.top1 /= n;
    r.top5 /= n;
    r.mrr /= n;
    r
}

fn top_name(hits: &[Match]) -> String {
    hits.first().map_or("(nothing)".into(), |m| {
        format!("{}/{}", m.entry.name, m.tool.name)
    })
}
