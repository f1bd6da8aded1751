//! Tool search over a catalog snapshot. Pure: no I/O, no tokio.
//!
//! - [`text`]: identifier splitting, stop words, stemming.
//! - [`synonyms`]: agent vocabulary groups for query expansion.
//! - [`index`]: one inverted index per backend, built when its tools change.
//!
//! Ranking is BM25F over four fields (tool name, description, parameter
//! names and descriptions, server name and description) with query
//! expansion by synonyms (weighted below the word itself), typo tolerance
//! (unknown query terms match vocabulary terms one or two edits away, at a
//! lower weight), and a coverage factor that prefers tools matching more of
//! the query's distinct words.

pub mod eval;
pub mod index;
mod synonyms;
pub mod text;

use std::collections::HashMap;

use index::{DocIndex, FIELDS, FIELD_WEIGHTS};

use crate::catalog::{Catalog, Entry, Tool};

pub use text::words;

pub struct Match<'a> {
    pub entry: &'a Entry,
    pub tool: &'a Tool,
    pub score: f64,
    /// The query words this tool matched, for "why it matched".
    pub matched: Vec<String>,
}

const K1: f64 = 1.2;
const B: [f64; FIELDS] = [0.3, 0.75, 0.75, 0.0];
const TYPO_WEIGHT: f64 = 0.5;

/// One weighted term of the expanded query; `group` is the query word it came from.
struct QueryTerm {
    term: String,
    weight: f64,
    group: usize,
}

/// The best `limit` tools for `query`, best first; ties keep catalog order.
pub fn search<'a>(catalog: &'a Catalog, query: &str, limit: usize) -> Vec<Match<'a>> {
    let ready: Vec<&Entry> = catalog.entries.iter().filter(|e| e.is_ready()).collect();
    let indexes: Vec<&DocIndex> = ready.iter().map(|e| &*e.index).collect();
    let query_words: Vec<String> = text::words(query)
        .into_iter()
        .filter(|w| !text::is_stop_word(w))
        .collect();
    if query_words.is_empty() {
        return Vec::new();
    }
    let expanded = expand(&query_words, &indexes);
    let groups = query_words.len();

    // Global statistics, summed over backends.
    let n_docs: usize = indexes.iter().map(|i| i.docs()).sum();
    if n_docs == 0 {
        return Vec::new();
    }
    let mut avg_len = [0.0; FIELDS];
    for (f, avg) in avg_len.iter_mut().enumerate() {
        let total: u64 = indexes.iter().map(|i| i.total_len[f]).sum();
        *avg = (total as f64 / n_docs as f64).max(1.0);
    }

    // (entry index, doc) -> (score, matched groups bitmask)
    let mut acc: HashMap<(usize, u32), (f64, u64)> = HashMap::new();
    for qt in &expanded {
        let df: usize = indexes
            .iter()
            .map(|i| i.postings.get(&qt.term).map_or(0, Vec::len))
            .sum();
        if df == 0 {
            continue;
        }
        let idf = (1.0 + (n_docs as f64 - df as f64 + 0.5) / (df as f64 + 0.5)).ln();
        for (ei, idx) in indexes.iter().enumerate() {
            let Some(postings) = idx.postings.get(&qt.term) else {
                continue;
            };
            for p in postings {
                let lens = &idx.field_len[p.doc as usize];
                let tf: f64 = (0..FIELDS)
                    .map(|f| {
                        let norm = 1.0 - B[f] + B[f] * f64::from(lens[f]) / avg_len[f];
                        FIELD_WEIGHTS[f] * f64::from(p.tf[f]) / norm
                    })
                    .sum();
                let s = qt.weight * idf * tf / (K1 + tf);
                let e = acc.entry((ei, p.doc)).or_insert((0.0, 0));
                e.0 += s;
                e.1 |= 1 << qt.group.min(63);
            }
        }
    }

    let mut matches: Vec<Match> = acc
        .into_iter()
        .filter(|((ei, doc), _)| ready[*ei].visible(&ready[*ei].tools[*doc as usize]))
        .map(|((ei, doc), (score, mask))| {
            let coverage = f64::from(mask.count_ones()) / groups as f64;
            let entry = ready[ei];
            let matched = (0..groups)
                .filter(|g| mask & (1 << g) != 0)
                .map(|g| query_words[g].clone())
                .collect();
            Match {
                entry,
                tool: &entry.tools[doc as usize],
                score: score * (0.4 + 0.6 * coverage),
                matched,
            }
        })
        .collect();
    matches.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| (&a.entry.name, &a.tool.name).cmp(&(&b.entry.name, &b.tool.name)))
    });
    matches.truncate(limit);
    for m in &mut matches {
        m.score = (m.score * 1000.0).round() / 1000.0;
    }
    matches
}

/// Each query word -> its stem (weight 1), its synonyms, and — when the stem
/// is in no index — vocabulary terms within a small edit distance.
fn expand(query_words: &[String], indexes: &[&DocIndex]) -> Vec<QueryTerm> {
    let mut out: Vec<QueryTerm> = Vec::new();
    let mut push = |term: String, weight: f64, group: usize| match out
        .iter_mut()
        .find(|q| q.term == term && q.group == group)
    {
        Some(q) => q.weight = q.weight.max(weight),
        None => out.push(QueryTerm {
            term,
            weight,
            group,
        }),
    };
    for (g, w) in query_words.iter().enumerate() {
        let s = text::stem(w);
        let known = indexes.iter().any(|i| i.postings.contains_key(&s));
        if !known && w.chars().count() >= 4 {
            for near in near_terms(&s, w.chars().count(), indexes) {
                for syn in synonyms::of(&near) {
                    push(syn.clone(), TYPO_WEIGHT * synonyms::SYNONYM_WEIGHT, g);
                }
                push(near, TYPO_WEIGHT, g);
            }
        }
        for syn in synonyms::of(&s) {
            push(syn.clone(), synonyms::SYNONYM_WEIGHT, g);
        }
        push(s, 1.0, g);
    }
    out
}

/// Vocabulary terms one edit from the stem `term` (two when the typed
/// word is long).
fn near_terms(term: &str, word_len: usize, indexes: &[&DocIndex]) -> Vec<String> {
    let len = term.chars().count();
    let max = if word_len >= 8 { 2 } else { 1 };
    let mut found: Vec<String> = Vec::new();
    for idx in indexes {
        for v in idx.postings.keys() {
            let vl = v.chars().count();
            if vl.abs_diff(len) > max || found.contains(v) {
                continue;
            }
            if strsim::damerau_levenshtein(term, v) <= max {
                found.push(v.clone());
            }
        }
    }
    found
}

/// Up to three names close to `word` (typo distance, or containing it),
/// closest first: the did-you-mean for unknown servers and tools.
pub fn suggest<'a>(word: &str, names: &[&'a str]) -> Vec<&'a str> {
    let w = word.to_lowercase();
    let mut scored: Vec<(usize, &str)> = names
        .iter()
        .filter_map(|n| {
            let l = n.to_lowercase();
            let d = strsim::damerau_levenshtein(&w, &l);
            let close = d <= (l.len().max(w.len()) / 3).max(2);
            let contains = w.len() >= 3 && (l.contains(&w) || w.contains(&l));
            (close || contains).then_some((if close { d } else { d + 10 }, *n))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

#[cfg(test)]
mod tests;
