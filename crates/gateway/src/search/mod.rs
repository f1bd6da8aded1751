//! Tool search over a catalog snapshot. Pure: no I/O, no tokio.
//!
//! A field-weighted term match: query words against the words of the tool
//! name (split on case and punctuation), its description, and its server's
//! name and description. Exact word hits count fully, prefix hits partly.

use crate::catalog::{Catalog, Entry, Tool};

pub struct Match<'a> {
    pub entry: &'a Entry,
    pub tool: &'a Tool,
    pub score: f64,
}

const NAME: f64 = 3.0;
const SERVER: f64 = 1.5;
const DESCRIPTION: f64 = 1.0;

/// The best `limit` tools for `query`, best first; ties keep catalog order.
pub fn search<'a>(catalog: &'a Catalog, query: &str, limit: usize) -> Vec<Match<'a>> {
    let terms = words(query);
    if terms.is_empty() {
        return Vec::new();
    }
    let mut matches = Vec::new();
    for entry in catalog.entries.iter().filter(|e| e.is_ready()) {
        let server_words = words(&format!("{} {}", entry.name, entry.description));
        for tool in entry.tools.iter() {
            let name_words = words(&tool.name);
            let desc_words = words(&tool.description);
            let score: f64 = terms
                .iter()
                .map(|t| {
                    NAME * hit(t, &name_words)
                        + DESCRIPTION * hit(t, &desc_words)
                        + SERVER * hit(t, &server_words)
                })
                .sum();
            if score > 0.0 {
                matches.push(Match {
                    entry,
                    tool,
                    score: (score / terms.len() as f64 * 100.0).round() / 100.0,
                });
            }
        }
    }
    matches.sort_by(|a, b| b.score.total_cmp(&a.score));
    matches.truncate(limit);
    matches
}

/// 1 for an exact word, 0.5 for a prefix (either way) of at least 3 letters.
fn hit(term: &str, field: &[String]) -> f64 {
    let mut best: f64 = 0.0;
    for w in field {
        if w == term {
            return 1.0;
        }
        let (short, long) = if w.len() < term.len() {
            (w.as_str(), term)
        } else {
            (term, w.as_str())
        };
        if short.len() >= 3 && long.starts_with(short) {
            best = 0.5;
        }
    }
    best
}

/// Lower-case words, split on non-alphanumerics and camelCase boundaries.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            flush(&mut cur, &mut out);
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            flush(&mut cur, &mut out);
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        cur.extend(c.to_lowercase());
    }
    flush(&mut cur, &mut out);
    out
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if !cur.is_empty() {
        out.push(std::mem::take(cur));
    }
}

#[cfg(test)]
mod tests;

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
