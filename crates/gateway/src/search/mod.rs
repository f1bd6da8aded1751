//! Tool search over a catalog snapshot. Pure: no I/O, no tokio.
//!
//! - [`text`]: identifier splitting, stop words, stemming.
//! - [`english`]: common English words, to tell a slip from a word.
//! - [`phrasing`]: what a query says beyond its words (values, phrasal verbs, hints).
//! - [`synonyms`]: agent vocabulary groups for query expansion.
//! - [`index`]: one inverted index per backend, built when its tools change.
//! - [`meaning`]: tool and query vectors (made elsewhere) fused with the words.
//!
//! A query's words are its words, phrasal verbs read as what they mean
//! ("pull up" -> show, see [`phrasing::phrasal`]), less stop words, numbers
//! (values for arguments) and repeats, plus any two neighbours the catalog
//! writes as one ("on call" -> `oncall`); the values it gives arguments
//! are cut ([`phrasing::without_values`]), literal tokens give hints instead
//! (see [`phrasing::without_literals`] and [`phrasing::hints`]), and hints alone
//! are enough to search ("17.5% of 2,340" hints at a calculator).
//!
//! Ranking is BM25F over four fields (tool name, description, parameter
//! names and descriptions, server name and description) with query
//! expansion by synonyms (weighted below the word itself), typo tolerance
//! (query terms neither the catalog nor English knows, names aside, match
//! vocabulary terms one or two edits away, at a lower weight), and two
//! coverage factors: one prefers tools matching more of the query's distinct
//! words, the other tools whose name the query covers (its words, synonyms
//! or near spellings of them: "git status" finds `git_status` before a
//! longer name holding both words). [`search_with_meaning`] adds the
//! similarity of the query's vector to the tool's and its server's when an
//! embeddings endpoint is set; the model reads the query's slips spelt as
//! the catalog spells the words ([`spelled_as_the_catalog`]).

mod english;
pub mod eval;
pub mod global;
pub mod index;
pub mod meaning;
pub mod phrasing;
mod synonyms;
pub mod text;

use crate::catalog::{Catalog, Entry, Tool};

pub use global::GlobalIndex;
pub use text::words;

pub struct Match<'a> {
    pub entry: &'a Entry,
    pub tool: &'a Tool,
    pub score: f64,
    /// The query words this tool matched, for "why it matched".
    pub matched: Vec<String>,
    /// The hints from the query's shape it matched (see [`phrasing::hints`]).
    pub hinted: Vec<&'static str>,
    /// Similarity of query and tool by meaning (the mean of the query's
    /// cosines with the tool and its server), when that was ranked on.
    pub similarity: Option<f32>,
}

const K1: f64 = 1.2;
const TYPO_WEIGHT: f64 = 0.5;
/// How much a tool gains when the query covers its whole name (in
/// proportion for part of it): "git status" is `git_status`, not
/// `jira_get_issue_development_info`, which merely mentions both words.
const NAME_COVER_WEIGHT: f64 = 0.5;
/// Weight of a hint drawn from the query's shape (see [`phrasing::hints`]).
const HINT_WEIGHT: f64 = 0.35;
/// Query words beyond this many are ignored (bounded work per query).
const MAX_QUERY_WORDS: usize = 32;
/// A query is read up to this many characters; what follows is not
/// searched for (nor embedded). Bounds the work a huge query can cause.
pub const MAX_QUERY_CHARS: usize = 1000;

/// `query` up to [`MAX_QUERY_CHARS`] characters.
pub fn bounded(query: &str) -> &str {
    match query.char_indices().nth(MAX_QUERY_CHARS) {
        Some((end, _)) => &query[..end],
        None => query,
    }
}

/// The best `limit` tools for `query`, best first; ties keep catalog order.
///
/// Each query word contributes its best-scoring expansion (the word, a
/// synonym, or a near spelling) per tool — a disjunction-max, so a long
/// description matching many synonyms of one word does not outrank a tool
/// that matches the word itself.
pub fn search<'a>(catalog: &'a Catalog, query: &str, limit: usize) -> Vec<Match<'a>> {
    let lexical = Lexical::score(catalog, query);
    let scored = lexical
        .scores
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > 0.0)
        .map(|(d, s)| (*s, d))
        .collect();
    lexical.matches(catalog, top(scored, limit), |_| None)
}

/// [`search`] with meaning fused in (see [`meaning`]): the best `limit`
/// tools by words and by the similarity of their vectors to the query's.
pub fn search_with_meaning<'a>(
    catalog: &'a Catalog,
    query: &str,
    meaning: &meaning::Meaning,
    limit: usize,
) -> Vec<Match<'a>> {
    let lexical = Lexical::score(catalog, query);
    let similarity = meaning.similarities(lexical.scores.len());
    let fused = meaning::fuse(&lexical.scores, &similarity, meaning.weight);
    let scored = fused
        .iter()
        .enumerate()
        .filter(|(_, s)| **s > 0.0)
        .map(|(d, s)| (*s, d))
        .collect();
    lexical.matches(catalog, top(scored, limit), |d| similarity[d])
}

/// The lexical scores of one query over every document of the catalog.
struct Lexical {
    /// The query's words, stop words dropped.
    words: Vec<String>,
    /// What the query's shape hints at; bits after the words' in `mask`.
    hints: Vec<&'static str>,
    /// By global document id; 0 for a document that matched nothing.
    scores: Vec<f64>,
    /// By global document id: bit `i` set when query word `i` matched.
    mask: Vec<u32>,
}

impl Lexical {
    fn score(catalog: &Catalog, query: &str) -> Lexical {
        let query = bounded(query);
        let g = &catalog.search;
        let n_docs = g.doc_count();
        let mut stems: Vec<String> = Vec::new();
        let all = phrasing::phrasal(&text::words(&phrasing::without_literals(
            &phrasing::without_values(query),
        )));
        let words: Vec<String> = all
            .iter()
            .cloned()
            .chain(compounds(&all, g))
            .filter(|w| !text::is_stop_word(w) && !text::is_number(w))
            .filter(|w| {
                let stem = text::stem(w);
                let first = !stems.contains(&stem);
                if first {
                    stems.push(stem);
                }
                first
            })
            .take(MAX_QUERY_WORDS - 4)
            .collect();
        let mut hints = phrasing::hints(query);
        // Words and hints share the 32 bits of a document's mask.
        hints.truncate(MAX_QUERY_WORDS - words.len());
        if (words.is_empty() && hints.is_empty()) || n_docs == 0 {
            return Lexical {
                words,
                hints,
                scores: vec![0.0; n_docs],
                mask: vec![0; n_docs],
            };
        }
        let names = phrasing::names(query);
        let (scores, mask) = bm25f(g, &words, &names, &hints);
        Lexical {
            words,
            hints,
            scores,
            mask,
        }
    }

    /// The ranked `(score, doc)` pairs as matches, with the words each matched.
    fn matches<'a>(
        &self,
        catalog: &'a Catalog,
        ranked: Vec<(f64, usize)>,
        similarity: impl Fn(usize) -> Option<f32>,
    ) -> Vec<Match<'a>> {
        ranked
            .into_iter()
            .map(|(score, d)| {
                let (ei, ti) = catalog.search.docs[d];
                let entry = &catalog.entries[ei as usize];
                let matched = (0..self.words.len())
                    .filter(|w| self.mask[d] & (1 << w) != 0)
                    .map(|w| self.words[w].clone())
                    .collect();
                let n = self.words.len();
                let hinted = (0..self.hints.len())
                    .filter(|h| self.mask[d] & (1 << (n + h)) != 0)
                    .map(|h| self.hints[h])
                    .collect();
                Match {
                    entry,
                    tool: &entry.tools[ti as usize],
                    score: (score * 1000.0).round() / 1000.0,
                    matched,
                    hinted,
                    similarity: similarity(d),
                }
            })
            .collect()
    }
}

/// Two neighbouring query words that the catalog writes as one ("on
/// call" -> `oncall`, "log in" -> `login`), joined: an extra query word
/// beside the two.
fn compounds(words: &[String], g: &GlobalIndex) -> Vec<String> {
    words
        .windows(2)
        .map(|pair| pair.concat())
        .filter(|joined| g.postings.contains_key(&text::stem(joined)))
        .collect()
}

/// The best `limit` of `scored`, best first; ties keep document order.
fn top(mut scored: Vec<(f64, usize)>, limit: usize) -> Vec<(f64, usize)> {
    let by_score = |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if scored.len() > limit && limit > 0 {
        scored.select_nth_unstable_by(limit - 1, by_score);
        scored.truncate(limit);
    }
    scored.sort_by(by_score);
    scored.truncate(limit);
    scored
}

/// BM25F totals with the coverage factors (of the query's words, and of
/// the tool's name by them), and the matched-word masks, by document.
fn bm25f(
    g: &GlobalIndex,
    query_words: &[String],
    names: &[String],
    hints: &[&str],
) -> (Vec<f64>, Vec<u32>) {
    let n_docs = g.doc_count();
    // Hints ride along as extra, lighter groups that do not count toward coverage.
    let groups_in_query = query_words.len();
    let all_groups: Vec<(&str, f64)> = query_words
        .iter()
        .map(|w| (w.as_str(), 1.0))
        .chain(hints.iter().map(|h| (*h, HINT_WEIGHT)))
        .collect();
    let expansions: Vec<Vec<(String, f64)>> = all_groups
        .iter()
        .enumerate()
        .map(|(gi, (word, _))| {
            if gi < groups_in_query {
                expand(word, g, !names.iter().any(|n| n == word))
            } else {
                phrasing::hint_terms(word)
                    .iter()
                    .map(|t| (text::stem(t), 1.0))
                    .collect()
            }
        })
        .collect();
    let mut total = vec![0f64; n_docs];
    let mut mask = vec![0u32; n_docs];
    let mut names = NameCover::new(&expansions[..groups_in_query], n_docs);
    let mut best = vec![0f64; n_docs];
    let mut touched: Vec<usize> = Vec::new();
    for (gi, ((_, group_weight), terms)) in all_groups.iter().zip(expansions).enumerate() {
        for (term, weight) in terms {
            let weight = weight * group_weight;
            let Some(postings) = g.postings.get(&term) else {
                continue;
            };
            // Hints say what a tool does, not what it is named.
            let name_bit = (gi < groups_in_query).then(|| names.bit(&term));
            let df = postings.len() as f64;
            let idf = (1.0 + (n_docs as f64 - df + 0.5) / (df + 0.5)).ln();
            for p in postings {
                let d = p.doc as usize;
                if let Some(bit) = name_bit.filter(|_| p.in_name) {
                    names.hit(d, bit, gi);
                }
                let s = weight * idf * p.tf / (K1 + p.tf);
                if s > best[d] {
                    if best[d] == 0.0 {
                        touched.push(d);
                    }
                    best[d] = s;
                }
            }
        }
        for &d in &touched {
            total[d] += best[d];
            mask[d] |= 1 << gi;
            best[d] = 0.0;
        }
        touched.clear();
    }
    // A query of hints alone ("what is 17.5% of 2,340") covers nothing.
    let groups = groups_in_query.max(1) as f64;
    let real = (1u32 << groups_in_query) - 1;
    for (d, s) in total.iter_mut().enumerate().filter(|(_, s)| **s != 0.0) {
        *s *= 0.4 + 0.6 * f64::from((mask[d] & real).count_ones()) / groups;
        *s *= 1.0 + NAME_COVER_WEIGHT * names.share(d, g.field_len[d][index::NAME]);
    }
    (total, mask)
}

/// How much of each tool's name a query spells, by document: the distinct
/// name terms its words reached (the words themselves, synonyms or near
/// spellings), counted no more often than words reached the name, over the
/// name's length. `pull` reached by "get" (its synonym) and by "pull"
/// covers the name once; "get" reaching both `get` and `view` in
/// `get_page_views` covers one term, not two.
struct NameCover {
    /// The query's expanded terms; the first 64 count.
    terms: Vec<String>,
    /// By document: which of `terms` its name holds.
    terms_hit: Vec<u64>,
    /// By document: which query words reached its name.
    words_hit: Vec<u32>,
}

impl NameCover {
    fn new(expansions: &[Vec<(String, f64)>], docs: usize) -> NameCover {
        let mut terms: Vec<String> = Vec::new();
        for (term, _) in expansions.iter().flatten() {
            if !terms.contains(term) {
                terms.push(term.clone());
            }
        }
        terms.truncate(64);
        NameCover {
            terms,
            terms_hit: vec![0; docs],
            words_hit: vec![0; docs],
        }
    }

    /// The bit of `term` (0 past the first 64 terms).
    fn bit(&self, term: &str) -> u64 {
        self.terms
            .iter()
            .position(|t| t == term)
            .map_or(0, |i| 1 << i)
    }

    /// Query word `word` reached document `d`'s name with the term of `bit`.
    fn hit(&mut self, d: usize, bit: u64, word: usize) {
        self.terms_hit[d] |= bit;
        self.words_hit[d] |= 1 << word;
    }

    /// The share of document `d`'s name (`name_len` terms) the query spells, 0..=1.
    fn share(&self, d: usize, name_len: u16) -> f64 {
        let spelled = self.terms_hit[d]
            .count_ones()
            .min(self.words_hit[d].count_ones());
        (f64::from(spelled) / f64::from(name_len.max(1))).min(1.0)
    }
}

/// One query word -> (term, weight): its stem (1.0), its synonyms, and —
/// when it may be a slip (not a name, and see [`typo_edits`]) — terms one
/// or two edits away.
fn expand(word: &str, g: &GlobalIndex, may_slip: bool) -> Vec<(String, f64)> {
    let stem = text::stem(word);
    let mut out: Vec<(String, f64)> = Vec::new();
    let mut push = |t: &str, w: f64| match out.iter_mut().find(|(x, _)| x == t) {
        Some(e) => e.1 = e.1.max(w),
        None => out.push((t.to_owned(), w)),
    };
    if let Some(max) = typo_edits(word, &stem, g).filter(|_| may_slip) {
        // Near the word as typed and near its stem: the stemmer may cut a
        // misspelt word elsewhere than the word meant ("directons").
        let mut near = g.near(word, max);
        if stem != word {
            for t in g.near(&stem, max) {
                if !near.contains(&t) {
                    near.push(t);
                }
            }
        }
        for near in near {
            for syn in synonyms::of(near) {
                push(syn, TYPO_WEIGHT * synonyms::SYNONYM_WEIGHT);
            }
            push(near, TYPO_WEIGHT);
        }
    }
    for syn in synonyms::of(&stem) {
        push(syn, synonyms::SYNONYM_WEIGHT);
    }
    push(&stem, 1.0);
    out
}

/// How many edits from a word of the catalog a query word may be and
/// still be read as it: none when the catalog knows the word (its stem),
/// when it is a common English word ("song" is no slip of "long"), or when
/// it is too short to tell.
fn typo_edits(word: &str, stem: &str, g: &GlobalIndex) -> Option<usize> {
    if english::is_word(word) {
        return None;
    }
    let n = word.chars().count();
    (n >= 4 && !g.postings.contains_key(stem)).then_some(if n >= 8 { 2 } else { 1 })
}

/// `query` with each word the catalog does not know spelt as the word of
/// the tools it is a slip of ("serch my emials" -> "search my emails"): the
/// text the embedding model reads, which makes other words of a misspelt
/// one. Stop words, names ([`phrasing::is_name`]) and tokens that are not
/// plain words stay as written.
pub fn spelled_as_the_catalog(query: &str, g: &GlobalIndex) -> String {
    let mut out = String::with_capacity(query.len());
    for (i, token) in query.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let word = token.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        let plain = !word.is_empty()
            && word.chars().all(|c| c.is_ascii_alphabetic())
            && !phrasing::is_name(i, word);
        let lower = word.to_ascii_lowercase();
        let slip = plain && !text::is_stop_word(&lower);
        let fix = slip
            .then(|| typo_edits(&lower, &text::stem(&lower), g))
            .flatten()
            .and_then(|max| g.nearest_spelling(&lower, max));
        match fix {
            Some(fix) => {
                // `word` is a run of letters: its first match is itself.
                let start = token.find(word).unwrap_or(0);
                out.push_str(&token[..start]);
                out.push_str(fix);
                out.push_str(&token[start + word.len()..]);
            }
            None => out.push_str(token),
        }
    }
    out
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
