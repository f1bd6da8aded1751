//! Ranking by meaning beside the words. An embedding model (reached by
//! `crate::embed`, not from here) turns each tool, each backend and each
//! query into a vector; this module decides what text each is embedded as,
//! puts a tool in its backend's context, and fuses the similarities with
//! the lexical scores. Pure.
//!
//! A tool is ranked by the mean of its own vector and its backend's
//! ([`in_context`]): the similarity is the mean of the query's cosine with
//! the tool and with the server. Tool descriptions take their server for
//! granted ("Add new observations to existing entities" says nothing of a
//! memory); the server's text says it. On `bench/search` that put the right
//! tool in the top five for five more of the 92 unseen queries.
//!
//! Fusion: each side is scaled to its own best score in this query — the
//! lexical score by its maximum, the similarity as a z-score over the
//! catalog by its maximum, floored at 0 — and the two are mixed by
//! `weight`. A tool no word matched can still rank on meaning alone.

use std::sync::Arc;

use crate::catalog::Tool;

/// Characters of a tool's description embedded with its name and title.
pub const DOCUMENT_CHARS: usize = 600;

/// The text a tool is embedded as: its name split into words, its title,
/// and the start of its description.
pub fn document_text(tool: &Tool) -> String {
    let name = super::text::words(&tool.name).join(" ");
    let description: String = tool.description.chars().take(DOCUMENT_CHARS).collect();
    match &tool.title {
        Some(title) => format!("{name}. {title}. {description}"),
        None => format!("{name}. {description}"),
    }
}

/// The text a backend is embedded as: its name split into words, then the
/// start of its description (the name alone without one).
pub fn server_text(name: &str, description: &str) -> String {
    let name = super::text::words(name).join(" ");
    let description: String = description.chars().take(DOCUMENT_CHARS).collect();
    if description.trim().is_empty() {
        name
    } else {
        format!("{name}. {description}")
    }
}

/// The text a query is embedded as: without the values it gives a tool's
/// arguments ([`super::phrasing::without_values`]: "remember that the user
/// prefers dark mode" -> "remember"), its literal tokens said as what they
/// are ([`super::phrasing::literals_named`]: "read ~/notes/todo.txt" ->
/// "read a file"), its slips spelt as the tools spell the words
/// ([`super::spelled_as_the_catalog`]: "serch" -> "search").
pub fn query_text(query: &str, g: &super::GlobalIndex) -> String {
    let without_values = super::phrasing::without_values(query);
    // A query of nothing but a value ("'hello'") is read as it is.
    let said = match without_values.trim() {
        "" => query,
        rest => rest,
    };
    let named = super::phrasing::literals_named(said);
    super::spelled_as_the_catalog(&named, g)
}

/// A tool's vector in its server's context: the mean of the two, so a
/// query's dot product with it is the mean of its cosines with each. Just
/// the tool's own without a server vector (or with one of another
/// dimension).
pub fn in_context(tool: &Quantized, server: Option<&Quantized>) -> Quantized {
    let Some(server) = server.filter(|s| s.len() == tool.len()) else {
        return tool.clone();
    };
    let mean: Vec<f32> = tool
        .values
        .iter()
        .zip(server.values.iter())
        .map(|(t, s)| (f32::from(*t) * tool.scale + f32::from(*s) * server.scale) / 2.0)
        .collect();
    Quantized::new(&mean)
}

/// `v` scaled to unit length; `None` for an empty, zero or non-finite vector.
pub fn normalized(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return None;
    }
    for x in &mut v {
        *x = (f64::from(*x) / norm) as f32;
    }
    Some(v)
}

/// A vector (of at most unit length) in a quarter of the memory: each
/// component an `i8` of `scale` (the largest maps to 127). Similarities are
/// integer dot products, which the compiler vectorizes on any x86-64 or ARM
/// CPU.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    scale: f32,
    values: Box<[i8]>,
}

impl Quantized {
    pub fn new(v: &[f32]) -> Quantized {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        Quantized {
            scale,
            values: v.iter().map(|x| (x / scale).round() as i8).collect(),
        }
    }

    /// As kept: `values[i] * scale` is component `i`.
    pub fn from_parts(scale: f32, values: Box<[i8]>) -> Quantized {
        Quantized { scale, values }
    }

    pub fn scale(&self) -> f32 {
        self.scale
    }

    pub fn values(&self) -> &[i8] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn dot(&self, other: &Quantized) -> f32 {
        dot_i8(&self.values, &other.values) as f32 * self.scale * other.scale
    }
}

/// Over 32 running sums of 16-bit products: the shape the compiler turns
/// into the widest SIMD the build targets (a plain sum of products runs at
/// half the speed on baseline x86-64, which lacks a 32-bit multiply).
fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    const LANES: usize = 32;
    let mut sums = [0i32; LANES];
    let (ac, bc) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: i32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| i32::from(i16::from(*x) * i16::from(*y)))
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..LANES {
            sums[i] += i32::from(i16::from(x[i]) * i16::from(y[i]));
        }
    }
    sums.iter().sum::<i32>() + tail
}

/// Every tool's vector in one block, by global document id: a query reads
/// them front to back instead of following a pointer per tool.
#[derive(Debug, Default)]
pub struct ToolVectors {
    dims: usize,
    /// Documents that have a vector.
    count: usize,
    /// By document; `None` where a tool has no vector (yet).
    scales: Vec<Option<f32>>,
    /// `dims` values per document, zeros where it has none.
    values: Vec<i8>,
}

impl ToolVectors {
    /// From the vectors by document; all take the first vector's dimension
    /// (one of another dimension counts as missing).
    pub fn new(docs: &[Option<Arc<Quantized>>]) -> ToolVectors {
        let dims = docs.iter().flatten().map(|v| v.len()).next().unwrap_or(0);
        let mut out = ToolVectors {
            dims,
            count: 0,
            scales: Vec::with_capacity(docs.len()),
            values: Vec::with_capacity(docs.len() * dims),
        };
        for doc in docs {
            match doc.as_deref().filter(|v| v.len() == dims) {
                Some(v) => {
                    out.count += 1;
                    out.scales.push(Some(v.scale));
                    out.values.extend_from_slice(&v.values);
                }
                None => {
                    out.scales.push(None);
                    out.values.resize(out.values.len() + dims, 0);
                }
            }
        }
        out
    }

    /// Documents that have a vector.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The dot product of `query` with each of documents `0..docs`, in one
    /// pass over the block: their cosine similarity for unit vectors, its
    /// mean over tool and server for [`in_context`]. `None` for a document
    /// without a vector, and for all with a query of another dimension.
    pub fn similarities(&self, query: &Quantized, docs: usize) -> Vec<Option<f32>> {
        let mut out = Vec::with_capacity(docs);
        if query.len() == self.dims && self.dims > 0 {
            out.extend(
                self.scales
                    .iter()
                    .zip(self.values.chunks_exact(self.dims))
                    .take(docs)
                    .map(|(scale, v)| {
                        scale.map(|s| dot_i8(v, &query.values) as f32 * s * query.scale)
                    }),
            );
        }
        out.resize(docs, None);
        out
    }
}

/// A query's vector, the catalog's tool vectors, and the share of the
/// score that meaning gets (0 = words only, 1 = meaning only).
pub struct Meaning<'v> {
    pub query: &'v Quantized,
    pub docs: &'v ToolVectors,
    pub weight: f64,
}

impl Meaning<'_> {
    /// The query's similarity to documents `0..docs` (`None` for those
    /// without a vector).
    pub fn similarities(&self, docs: usize) -> Vec<Option<f32>> {
        self.docs.similarities(self.query, docs)
    }
}

/// Fused scores by document: `(1 - weight) * lexical / max lexical +
/// weight * max(z / max z, 0)`, z being the similarity's z-score over the
/// documents that have a vector.
///
/// The standard deviation cancels out of `z / max z`, which is
/// `(s - mean) / (max s - mean)`: one pass for the mean and the maximum,
/// one for the scores (this runs over every tool of the catalog per query).
pub fn fuse(lexical: &[f64], similarity: &[Option<f32>], weight: f64) -> Vec<f64> {
    let weight = weight.clamp(0.0, 1.0);
    let lex_max = lexical.iter().copied().fold(0.0, f64::max);
    let words = if lex_max > 0.0 {
        (1.0 - weight) / lex_max
    } else {
        0.0
    };
    let (mut n, mut sum, mut max) = (0usize, 0f64, f64::NEG_INFINITY);
    for s in similarity.iter().flatten() {
        let s = f64::from(*s);
        n += 1;
        sum += s;
        max = max.max(s);
    }
    let mean = sum / n.max(1) as f64;
    // No spread (fewer than two vectors, or all alike): meaning ranks nothing.
    let meaning = if n >= 2 && max > mean {
        weight / (max - mean)
    } else {
        0.0
    };
    lexical
        .iter()
        .enumerate()
        .map(|(d, l)| {
            let by_meaning = match similarity.get(d).copied().flatten() {
                Some(s) => ((f64::from(s) - mean) * meaning).max(0.0),
                None => 0.0,
            };
            l * words + by_meaning
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_alone_keep_their_order_and_meaning_lifts_a_tool_no_word_matched() {
        let lexical = [2.0, 1.0, 0.0, 0.0];
        let sims = [Some(0.1), Some(0.2), Some(0.9), None];
        let fused = fuse(&lexical, &sims, 0.0);
        assert_eq!(fused, vec![1.0, 0.5, 0.0, 0.0]);
        let fused = fuse(&lexical, &sims, 0.5);
        // Document 2 matched no word but is by far the nearest in meaning.
        assert!(fused[2] > fused[1], "{fused:?}");
        assert!(fused[2] > 0.0 && fused[3] == 0.0, "{fused:?}");
        // The most similar document gets the whole meaning share.
        assert!((fused[2] - 0.5).abs() < 1e-9, "{fused:?}");
        let fused = fuse(&lexical, &sims, 1.0);
        assert_eq!(fused[0], 0.0, "below-average similarity adds nothing");
    }

    #[test]
    fn the_meaning_share_is_the_z_score_over_its_maximum() {
        let sims: Vec<Option<f32>> = (0..50)
            .map(|i| (i % 7 != 3).then(|| ((i * 37 % 23) as f32 - 9.0) / 17.0))
            .collect();
        let present: Vec<f64> = sims.iter().flatten().map(|s| f64::from(*s)).collect();
        let n = present.len() as f64;
        let mean = present.iter().sum::<f64>() / n;
        let std = (present.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n).sqrt();
        let z = |s: f32| (f64::from(s) - mean) / std;
        let z_max = present.iter().map(|s| (s - mean) / std).fold(0.0, f64::max);
        let lexical = vec![0.0; sims.len()];
        for (d, got) in fuse(&lexical, &sims, 0.8).iter().enumerate() {
            let want = sims[d].map_or(0.0, |s| 0.8 * (z(s) / z_max).max(0.0));
            assert!((got - want).abs() < 1e-12, "{d}: {got} against {want}");
        }
    }

    #[test]
    fn without_usable_vectors_the_words_decide() {
        let lexical = [3.0, 1.5];
        for sims in [[None, None], [Some(0.5), None], [Some(0.4), Some(0.4)]] {
            assert_eq!(fuse(&lexical, &sims, 0.5), vec![0.5, 0.25], "{sims:?}");
        }
    }

    #[test]
    fn quantized_vectors_keep_their_dot_products() {
        for n in [0, 1, 7, 8, 9, 384, 385] {
            let a: Vec<f32> = (0..n).map(|i| ((i * 7 % 11) as f32 - 5.0) / 9.0).collect();
            let b: Vec<f32> = (0..n).map(|i| ((i * 5 % 13) as f32 - 6.0) / 13.0).collect();
            let want: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            let got = Quantized::new(&a).dot(&Quantized::new(&b));
            let bound = 0.01 * (n as f32).sqrt().max(1.0);
            assert!((got - want).abs() < bound, "{n}: {got} against {want}");
        }
        let v = Quantized::new(&[0.5, -1.0, 0.25]);
        assert_eq!(v.values.as_ref(), &[64, -127, 32]);
        let zero = Quantized::new(&[0.0, 0.0]);
        assert_eq!(zero.dot(&Quantized::new(&[1.0, 1.0])), 0.0);
    }

    #[test]
    fn tool_vectors_by_document_with_gaps() {
        let q = |v: &[f32]| Some(Arc::new(Quantized::new(v)));
        let vectors = [q(&[0.6, 0.8]), None, q(&[1.0]), q(&[0.0, 1.0])];
        let docs = ToolVectors::new(&vectors);
        assert_eq!(docs.count(), 2, "the one-dimension vector does not count");
        let query = Quantized::new(&[1.0, 0.0]);
        let m = Meaning {
            query: &query,
            docs: &docs,
            weight: 0.5,
        };
        let all = m.similarities(6);
        assert!((all[0].unwrap() - 0.6).abs() < 1e-2);
        assert_eq!(all[1], None);
        assert_eq!(all[2], None);
        assert!(all[3].unwrap().abs() < 1e-2);
        assert_eq!(all[4..], [None, None], "past the vectors");
        for d in [0, 3] {
            let alone = vectors[d].as_ref().unwrap().dot(&query);
            assert_eq!(all[d], Some(alone), "document {d} as its own dot product");
        }
        assert_eq!(m.similarities(2).len(), 2);
        assert_eq!(
            docs.similarities(&Quantized::new(&[1.0]), 3),
            [None, None, None],
            "a query of another dimension matches nothing"
        );
        assert_eq!(ToolVectors::new(&[]).count(), 0);
        assert_eq!(ToolVectors::new(&[]).similarities(&query, 2), [None, None]);
    }

    #[test]
    fn vectors_are_scaled_to_unit_length_or_refused() {
        assert_eq!(normalized(vec![3.0, 4.0]), Some(vec![0.6, 0.8]));
        assert_eq!(normalized(vec![]), None);
        assert_eq!(normalized(vec![0.0, 0.0]), None);
        assert_eq!(normalized(vec![f32::NAN, 1.0]), None);
    }

    #[test]
    fn a_server_is_embedded_as_its_words_and_description_start() {
        assert_eq!(
            server_text("google-maps", "Maps: places, routes."),
            "google maps. Maps: places, routes."
        );
        assert_eq!(server_text("myGitHub", "  "), "my git hub");
        let long = server_text("s", &"y".repeat(700));
        assert_eq!(long.chars().filter(|c| *c == 'y').count(), DOCUMENT_CHARS);
    }

    #[test]
    fn a_tool_in_context_is_the_mean_of_its_vector_and_its_servers() {
        let tool = Quantized::new(&[0.6, 0.8, 0.0]);
        let server = Quantized::new(&[0.0, 0.0, 1.0]);
        let query = Quantized::new(&[0.0, 0.6, 0.8]);
        let both = in_context(&tool, Some(&server));
        let want = (tool.dot(&query) + server.dot(&query)) / 2.0;
        assert!(
            (both.dot(&query) - want).abs() < 0.01,
            "{}",
            both.dot(&query)
        );
        assert_eq!(in_context(&tool, None), tool);
        let other = Quantized::new(&[1.0, 0.0]);
        assert_eq!(
            in_context(&tool, Some(&other)),
            tool,
            "another dimension is ignored"
        );
    }

    #[test]
    fn a_tool_is_embedded_as_its_words_title_and_description_start() {
        let page = crate::catalog::parse_tools_page(&mcp_wire::raw(&serde_json::json!({"tools": [
            {"name": "add_observations", "title": "Add observations", "description": "x".repeat(700), "inputSchema": {"type": "object"}},
            {"name": "readFile", "description": "Read a file.", "inputSchema": {"type": "object"}}
        ]})))
        .unwrap();
        let first = document_text(&page.tools[0]);
        assert!(first.starts_with("add observations. Add observations. xxx"));
        assert_eq!(first.chars().filter(|c| *c == 'x').count(), DOCUMENT_CHARS);
        assert_eq!(document_text(&page.tools[1]), "read file. Read a file.");
    }
}
