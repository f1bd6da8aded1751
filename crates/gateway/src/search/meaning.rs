//! Ranking by meaning beside the words. An embedding model (reached by
//! `crate::embed`, not from here) turns each tool and each query into a
//! vector; this module decides what text a tool is embedded as and fuses
//! the cosine similarities with the lexical scores. Pure.
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

/// A query's vector, the catalog's tool vectors by global document id
/// (`None` where a tool has none yet), and the share of the score that
/// meaning gets (0 = words only, 1 = meaning only).
pub struct Meaning<'v> {
    pub query: &'v [f32],
    pub docs: &'v [Option<Arc<[f32]>>],
    pub weight: f64,
}

impl Meaning<'_> {
    /// Cosine similarity of the query and document `d` (vectors are unit length).
    pub fn similarity(&self, d: usize) -> Option<f32> {
        let v = self.docs.get(d)?.as_deref()?;
        (v.len() == self.query.len()).then(|| v.iter().zip(self.query).map(|(a, b)| a * b).sum())
    }
}

/// Fused scores by document: `(1 - weight) * lexical / max lexical +
/// weight * max(z / max z, 0)`, z being the similarity's z-score over the
/// documents that have a vector.
pub fn fuse(lexical: &[f64], similarity: &[Option<f32>], weight: f64) -> Vec<f64> {
    let weight = weight.clamp(0.0, 1.0);
    let lex_max = lexical.iter().copied().fold(0.0, f64::max);
    let sims: Vec<f64> = similarity.iter().flatten().map(|s| f64::from(*s)).collect();
    let n = sims.len() as f64;
    let mean = sims.iter().sum::<f64>() / n.max(1.0);
    let std = (sims.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n.max(1.0)).sqrt();
    let z = |s: f32| (f64::from(s) - mean) / std;
    let z_max = similarity
        .iter()
        .flatten()
        .map(|s| z(*s))
        .fold(0.0, f64::max);
    let meaningful = sims.len() >= 2 && std > 0.0 && z_max > 0.0;
    lexical
        .iter()
        .enumerate()
        .map(|(d, l)| {
            let words = if lex_max > 0.0 { l / lex_max } else { 0.0 };
            let meaning = match similarity.get(d).copied().flatten() {
                Some(s) if meaningful => (z(s) / z_max).max(0.0),
                _ => 0.0,
            };
            (1.0 - weight) * words + weight * meaning
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
    fn without_usable_vectors_the_words_decide() {
        let lexical = [3.0, 1.5];
        for sims in [[None, None], [Some(0.5), None], [Some(0.4), Some(0.4)]] {
            assert_eq!(fuse(&lexical, &sims, 0.5), vec![0.5, 0.25], "{sims:?}");
        }
    }

    #[test]
    fn similarity_needs_matching_dimensions() {
        let docs = [
            Some(Arc::from(vec![0.6, 0.8])),
            Some(Arc::from(vec![1.0])),
            None,
        ];
        let m = Meaning {
            query: &[1.0, 0.0],
            docs: &docs,
            weight: 0.5,
        };
        assert!((m.similarity(0).unwrap() - 0.6).abs() < 1e-6);
        assert_eq!(m.similarity(1), None);
        assert_eq!(m.similarity(2), None);
        assert_eq!(m.similarity(7), None);
    }

    #[test]
    fn vectors_are_scaled_to_unit_length_or_refused() {
        assert_eq!(normalized(vec![3.0, 4.0]), Some(vec![0.6, 0.8]));
        assert_eq!(normalized(vec![]), None);
        assert_eq!(normalized(vec![0.0, 0.0]), None);
        assert_eq!(normalized(vec![f32::NAN, 1.0]), None);
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
