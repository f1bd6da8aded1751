//! Text analysis shared by indexing and querying: split identifiers and
//! prose into words, drop stop words, stem (Snowball English).

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// Lower-case words, split on non-alphanumerics and camelCase boundaries
/// (`createIssue`, `API-post-page`, `browser_click`, `fs.read_file`).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            flush(&mut cur, &mut out);
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // fooBar | HTTPServer -> HTTP Server | v2Api
            let boundary = (c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()))
                || (c.is_uppercase() && p.is_uppercase() && next_lower)
                || (c.is_alphabetic() != p.is_alphabetic() && c.is_uppercase());
            if boundary {
                flush(&mut cur, &mut out);
            }
        }
        prev = Some(c);
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

/// Words that carry no meaning for finding a tool.
const STOP_WORDS: &[&str] = &[
    "a", "about", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but",
    "by", "can", "could", "do", "does", "for", "from", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "just", "let", "like", "me", "my", "need", "of", "on", "or", "our",
    "please", "should", "so", "some", "that", "the", "their", "them", "then", "there", "these",
    "this", "those", "to", "tool", "tools", "up", "us", "use", "using", "via", "want", "was", "we",
    "what", "when", "which", "will", "with", "would", "you", "your",
];

pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

fn stemmer() -> &'static Stemmer {
    static S: OnceLock<Stemmer> = OnceLock::new();
    S.get_or_init(|| Stemmer::create(Algorithm::English))
}

pub fn stem(word: &str) -> String {
    stemmer().stem(word).into_owned()
}

/// Words -> stemmed terms without stop words.
pub fn terms(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| !is_stop_word(w))
        .map(|w| stem(&w))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_identifiers_of_every_style() {
        let check = |input: &str, want: &[&str]| assert_eq!(words(input), want, "{input}");
        check("browser_click", &["browser", "click"]);
        check("API-post-page", &["api", "post", "page"]);
        check("createIssue", &["create", "issue"]);
        check("fs.read_file v2", &["fs", "read", "file", "v2"]);
        check("HTTPServerStatus", &["http", "server", "status"]);
        check("get-sum", &["get", "sum"]);
        check("list_pull_requests", &["list", "pull", "requests"]);
    }

    #[test]
    fn stop_words_sorted_and_dropped_and_words_stemmed() {
        assert!(
            STOP_WORDS.windows(2).all(|w| w[0] < w[1]),
            "binary search needs order"
        );
        assert_eq!(
            terms("Please create the issues for my repositories"),
            ["creat", "issu", "repositori"]
        );
        assert_eq!(stem("creating"), stem("create"));
        assert_eq!(stem("directories"), stem("directory"));
    }
}
