//! One backend's inverted index. Built once when that backend's tool list
//! changes, so a change in one backend never re-indexes the others. The
//! catalog-wide statistics (document frequencies, average field lengths)
//! and each posting's BM25F frequency against them are worked out when the
//! indexes are merged for a catalog snapshot ([`super::global`]).

use std::collections::HashMap;

use serde_json::Value;

use super::text::{is_stop_word, stem, words};
use crate::catalog::Tool;

/// The fields of a tool document, in [`FIELD_WEIGHTS`] order.
pub const NAME: usize = 0;
pub const DESCRIPTION: usize = 1;
pub const PARAMS: usize = 2;
pub const SERVER: usize = 3;
pub const FIELDS: usize = 4;

/// How much a hit in each field counts (BM25F field weights).
pub const FIELD_WEIGHTS: [f64; FIELDS] = [3.0, 1.0, 0.5, 0.6];
/// How much each field's length tempers its hits (BM25F `b`, by field):
/// names a little, the server's words not at all (every tool of a
/// server shares them).
pub const B: [f64; FIELDS] = [0.3, 0.75, 0.75, 0.0];

/// How much each field of a document `lens` long tempers a hit in it,
/// against the catalog's average field lengths: BM25F's `1 - b + b * len / avg`.
pub fn length_norms(lens: &[u16; FIELDS], avg_len: &[f64; FIELDS]) -> [f64; FIELDS] {
    std::array::from_fn(|f| 1.0 - B[f] + B[f] * f64::from(lens[f]) / avg_len[f])
}

/// A term's BM25F frequency in one document: its count in each field,
/// weighted by field and tempered by the document's [`length_norms`].
pub fn weighted_tf(tf: &[u16; FIELDS], norms: &[f64; FIELDS]) -> f64 {
    (0..FIELDS)
        .filter(|&f| tf[f] > 0)
        .map(|f| FIELD_WEIGHTS[f] * f64::from(tf[f]) / norms[f])
        .sum()
}

#[derive(Debug, Clone, Copy)]
pub struct Posting {
    pub doc: u32,
    pub tf: [u16; FIELDS],
}

#[derive(Debug, Default)]
pub struct DocIndex {
    pub postings: HashMap<String, Vec<Posting>>,
    pub field_len: Vec<[u16; FIELDS]>,
    pub total_len: [u64; FIELDS],
    /// Words as the tools spell them that their stems do not
    /// ("directions" -> `direct`), for typo lookups: "directons" is one
    /// edit from the word, two from the stem.
    pub spellings: HashMap<String, String>,
}

impl DocIndex {
    pub fn build(server: &str, server_description: &str, tools: &[Tool]) -> DocIndex {
        let mut idx = DocIndex::default();
        let mut spellings = HashMap::new();
        // The text's terms (`text::terms`), noting the words their stems change.
        let mut terms = |text: &str| -> Vec<String> {
            words(text)
                .into_iter()
                .filter(|w| !is_stop_word(w))
                .map(|w| {
                    let term = stem(&w);
                    if term != w {
                        spellings.entry(w).or_insert_with(|| term.clone());
                    }
                    term
                })
                .collect()
        };
        let server_terms = terms(&format!("{server} {server_description}"));
        for (doc, tool) in tools.iter().enumerate() {
            let fields: [Vec<String>; FIELDS] = [
                terms(&format!(
                    "{} {}",
                    tool.name,
                    tool.title.as_deref().unwrap_or("")
                )),
                terms(&tool.description),
                terms(&schema_text(&tool.input_schema)),
                server_terms.clone(),
            ];
            let mut tf: HashMap<&str, [u16; FIELDS]> = HashMap::new();
            let mut lens = [0u16; FIELDS];
            for (f, words) in fields.iter().enumerate() {
                lens[f] = words.len().min(u16::MAX as usize) as u16;
                idx.total_len[f] += u64::from(lens[f]);
                for w in words {
                    let e = tf.entry(w.as_str()).or_insert([0; FIELDS]);
                    e[f] = e[f].saturating_add(1);
                }
            }
            idx.field_len.push(lens);
            for (term, tf) in tf {
                idx.postings
                    .entry(term.to_owned())
                    .or_default()
                    .push(Posting {
                        doc: doc as u32,
                        tf,
                    });
            }
        }
        idx.spellings = spellings;
        idx
    }

    pub fn docs(&self) -> usize {
        self.field_len.len()
    }
}

/// Parameter names and descriptions of an input schema (top level and one
/// level of nesting), as text.
fn schema_text(schema: &serde_json::value::RawValue) -> String {
    let Ok(v) = serde_json::from_str::<Value>(schema.get()) else {
        return String::new();
    };
    let mut out = String::new();
    collect(&v, 0, &mut out);
    out
}

fn collect(schema: &Value, depth: usize, out: &mut String) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, p) in props {
        out.push_str(name);
        out.push(' ');
        if let Some(d) = p.get("description").and_then(Value::as_str) {
            out.push_str(d);
            out.push(' ');
        }
        if depth < 1 {
            collect(p, depth + 1, out);
            if let Some(items) = p.get("items") {
                collect(items, depth + 1, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terms_frequency_is_weighted_by_field_and_tempered_by_length() {
        let avg = [2.0, 10.0, 4.0, 6.0];
        // A document of average lengths: no field is tempered.
        let norms = length_norms(&[2, 10, 4, 6], &avg);
        assert_eq!(norms, [1.0; FIELDS]);
        let once_each = weighted_tf(&[1, 1, 1, 1], &norms);
        assert!((once_each - FIELD_WEIGHTS.iter().sum::<f64>()).abs() < 1e-12);
        assert_eq!(
            weighted_tf(&[0, 2, 0, 0], &norms),
            2.0 * FIELD_WEIGHTS[DESCRIPTION]
        );
        // A description twice the average counts a hit for less; the
        // server's words, shared by every tool of a server, never are.
        let long = length_norms(&[2, 20, 4, 12], &avg);
        assert!(weighted_tf(&[0, 1, 0, 0], &long) < FIELD_WEIGHTS[DESCRIPTION]);
        assert_eq!(weighted_tf(&[0, 0, 0, 1], &long), FIELD_WEIGHTS[SERVER]);
        assert_eq!(weighted_tf(&[0; FIELDS], &long), 0.0);
    }
}
