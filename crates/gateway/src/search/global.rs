//! The catalog-wide index: the per-backend indexes (built when each
//! backend's tools change) merged under global document ids, with the
//! statistics ranking needs and a deletion index for typo lookups.
//! Rebuilt with every catalog snapshot; merging is linear in the postings,
//! the expensive text analysis is not redone.

use std::collections::HashMap;

use super::index::{Posting, FIELDS};
use crate::catalog::Entry;

#[derive(Default)]
pub struct GlobalIndex {
    pub postings: HashMap<String, Vec<Posting>>,
    pub field_len: Vec<[u16; FIELDS]>,
    pub avg_len: [f64; FIELDS],
    /// Global document id -> (entry index, tool index).
    pub docs: Vec<(u32, u32)>,
    /// Every term with one character deleted -> terms (for typo lookups).
    deletes: HashMap<String, Vec<u32>>,
    terms: Vec<String>,
}

impl GlobalIndex {
    /// Merge the indexes of the ready entries; hidden tools are left out.
    pub fn build(entries: &[Entry]) -> GlobalIndex {
        let mut g = GlobalIndex::default();
        for (ei, e) in entries.iter().enumerate().filter(|(_, e)| e.is_ready()) {
            let idx = &e.index;
            // Local doc -> global doc, None for hidden tools.
            let map: Vec<Option<u32>> = e
                .tools
                .iter()
                .enumerate()
                .map(|(ti, t)| {
                    e.visible(t).then(|| {
                        g.docs.push((ei as u32, ti as u32));
                        g.field_len.push(idx.field_len[ti]);
                        (g.docs.len() - 1) as u32
                    })
                })
                .collect();
            for (term, list) in &idx.postings {
                let out = g.postings.entry(term.clone()).or_default();
                out.extend(
                    list.iter()
                        .filter_map(|p| map[p.doc as usize].map(|doc| Posting { doc, tf: p.tf })),
                );
            }
        }
        g.postings.retain(|_, l| !l.is_empty());
        let n = g.docs.len().max(1) as f64;
        for f in 0..FIELDS {
            let total: u64 = g.field_len.iter().map(|l| u64::from(l[f])).sum();
            g.avg_len[f] = (total as f64 / n).max(1.0);
        }
        g.terms = g.postings.keys().cloned().collect();
        for (i, t) in g.terms.iter().enumerate() {
            for d in deletions(t) {
                g.deletes.entry(d).or_default().push(i as u32);
            }
        }
        g
    }

    pub fn doc_count(&self) -> usize {
        self.docs.len()
    }

    /// Vocabulary terms within `max` edits of `term` (found through shared
    /// one-character deletions, then checked exactly), excluding `term`.
    pub fn near(&self, term: &str, max: usize) -> Vec<&str> {
        let mut keys = deletions(term);
        keys.push(term.to_owned());
        let mut out: Vec<&str> = Vec::new();
        for k in &keys {
            let candidates = self
                .deletes
                .get(k)
                .into_iter()
                .flatten()
                .map(|i| self.terms[*i as usize].as_str());
            let exact = self
                .postings
                .get_key_value(k.as_str())
                .map(|(t, _)| t.as_str());
            for c in candidates.chain(exact) {
                if c != term && !out.contains(&c) && strsim::damerau_levenshtein(term, c) <= max {
                    out.push(c);
                }
            }
        }
        out
    }
}

fn deletions(term: &str) -> Vec<String> {
    let chars: Vec<char> = term.chars().collect();
    if chars.len() < 3 {
        return Vec::new();
    }
    (0..chars.len())
        .map(|i| {
            chars
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, c)| *c)
                .collect()
        })
        .collect()
}
