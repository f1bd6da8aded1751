//! The catalog-wide index: the per-backend indexes (built when each
//! backend's tools change) merged under global document ids, with the
//! statistics ranking needs and a deletion index for typo lookups.
//! Rebuilt with every catalog snapshot; merging is linear in the postings,
//! the expensive text analysis is not redone.

use std::collections::HashMap;

use super::index::{length_norms, weighted_tf, FIELDS, NAME};
use crate::catalog::Entry;

/// A term in one document, as a query reads it: the BM25F frequency is
/// worked out once per snapshot, not once per query.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub doc: u32,
    /// The term is in the tool's name.
    pub in_name: bool,
    /// [`weighted_tf`] against this snapshot's average field lengths.
    pub tf: f64,
}

#[derive(Default)]
pub struct GlobalIndex {
    pub postings: HashMap<String, Vec<Hit>>,
    pub field_len: Vec<[u16; FIELDS]>,
    pub avg_len: [f64; FIELDS],
    /// Global document id -> (entry index, tool index).
    pub docs: Vec<(u32, u32)>,
    /// (hash, spelling) for every spelling whole and with each one
    /// character deleted, sorted (for typo lookups; a collision only adds
    /// a candidate, which is then measured exactly).
    deletes: Vec<(u64, u32)>,
    /// (spelling, term): every term as itself, and the words the tools
    /// spell that stem to it.
    spellings: Vec<(String, String)>,
}

impl GlobalIndex {
    /// Merge the indexes of the ready entries; hidden tools are left out.
    pub fn build(entries: &[Entry]) -> GlobalIndex {
        let mut g = GlobalIndex::default();
        let ready = || entries.iter().enumerate().filter(|(_, e)| e.is_ready());
        // Local doc -> global doc by entry, None for hidden tools.
        let maps: Vec<Vec<Option<u32>>> = ready()
            .map(|(ei, e)| {
                e.tools
                    .iter()
                    .enumerate()
                    .map(|(ti, t)| {
                        e.visible(t).then(|| {
                            g.docs.push((ei as u32, ti as u32));
                            g.field_len.push(e.index.field_len[ti]);
                            (g.docs.len() - 1) as u32
                        })
                    })
                    .collect()
            })
            .collect();
        let n = g.docs.len().max(1) as f64;
        for f in 0..FIELDS {
            let total: u64 = g.field_len.iter().map(|l| u64::from(l[f])).sum();
            g.avg_len[f] = (total as f64 / n).max(1.0);
        }
        let norms: Vec<_> = g
            .field_len
            .iter()
            .map(|lens| length_norms(lens, &g.avg_len))
            .collect();
        for ((_, e), map) in ready().zip(&maps) {
            for (term, list) in &e.index.postings {
                let hits = list.iter().filter_map(|p| {
                    let doc = map[p.doc as usize]?;
                    Some(Hit {
                        doc,
                        in_name: p.tf[NAME] > 0,
                        tf: weighted_tf(&p.tf, &norms[doc as usize]),
                    })
                });
                // Most terms are known by now: no key is allocated for them.
                match g.postings.get_mut(term) {
                    Some(list) => list.extend(hits),
                    None => {
                        g.postings.insert(term.clone(), hits.collect());
                    }
                }
            }
        }
        g.postings.retain(|_, l| !l.is_empty());
        g.spellings = g.postings.keys().map(|t| (t.clone(), t.clone())).collect();
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for e in entries.iter().filter(|e| e.is_ready()) {
            for (word, term) in &e.index.spellings {
                // A hidden tool's words stay out with its postings.
                if g.postings.contains_key(term) && seen.insert(word) {
                    g.spellings.push((word.clone(), term.clone()));
                }
            }
        }
        let mut keys = Vec::new();
        for (i, (spelling, _)) in g.spellings.iter().enumerate() {
            deletion_keys(spelling, &mut keys);
            g.deletes.extend(keys.drain(..).map(|k| (k, i as u32)));
        }
        g.deletes.sort_unstable();
        g
    }

    pub fn doc_count(&self) -> usize {
        self.docs.len()
    }

    /// The terms of the spellings within `max` edits of `word` (found
    /// through shared one-character deletions, then checked exactly),
    /// closest first, `word` itself excluded.
    pub fn near(&self, word: &str, max: usize) -> Vec<&str> {
        let mut found: Vec<(usize, &str)> = Vec::new();
        for (d, _, term) in self.spellings_near(word, max) {
            match found.iter_mut().find(|(_, t)| *t == term) {
                Some(seen) => seen.0 = seen.0.min(d),
                None => found.push((d, term)),
            }
        }
        found.sort_by_key(|(d, _)| *d);
        found.into_iter().map(|(_, t)| t).collect()
    }

    /// The word the tools spell that `word` is a slip of, among the
    /// spellings within `max` edits, by what makes a slip likely: an
    /// English word before a stem or a name ("schedual" -> "schedule", not
    /// `schedul`), then the fewest edits, then the same first letter
    /// ("comit" -> "commit", not "omit"), then the same letters in another
    /// order ("taks" -> "task", not "takes"), then the word of the most tools.
    pub fn nearest_spelling(&self, word: &str, max: usize) -> Option<&str> {
        let tools = |term: &str| self.postings.get(term).map_or(0, Vec::len);
        let letters = |w: &str| {
            let mut l: Vec<char> = w.chars().collect();
            l.sort_unstable();
            l
        };
        let (first, mine) = (word.chars().next(), letters(word));
        self.spellings_near(word, max)
            .into_iter()
            .min_by_key(|&(d, spelling, term)| {
                (
                    !super::english::is_word(spelling),
                    d,
                    spelling.chars().next() != first,
                    letters(spelling) != mine,
                    std::cmp::Reverse(tools(term)),
                )
            })
            .map(|(_, spelling, _)| spelling)
    }

    /// (edits, spelling, term) of every spelling within `max` edits of
    /// `word`, `word` itself excluded; a spelling may come twice.
    fn spellings_near(&self, word: &str, max: usize) -> Vec<(usize, &str, &str)> {
        let mut keys = Vec::new();
        deletion_keys(word, &mut keys);
        let mut found = Vec::new();
        for k in keys {
            let from = self.deletes.partition_point(|(h, _)| *h < k);
            for (_, i) in self.deletes[from..].iter().take_while(|(h, _)| *h == k) {
                let (spelling, term) = &self.spellings[*i as usize];
                if spelling == word {
                    continue;
                }
                let d = strsim::damerau_levenshtein(word, spelling);
                if d <= max {
                    found.push((d, spelling.as_str(), term.as_str()));
                }
            }
        }
        found
    }
}

/// The hashes of `word` whole and, from three characters on, of `word`
/// with each one character deleted, into `out`.
fn deletion_keys(word: &str, out: &mut Vec<u64>) {
    let chars: Vec<char> = word.chars().collect();
    let hash = |skip: Option<usize>| {
        // FNV-1a over the characters kept.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for (_, c) in chars.iter().enumerate().filter(|(j, _)| Some(*j) != skip) {
            h ^= u64::from(*c);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    out.push(hash(None));
    if chars.len() >= 3 {
        out.extend((0..chars.len()).map(|i| hash(Some(i))));
    }
}
