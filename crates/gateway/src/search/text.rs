//! Text analysis shared by indexing and querying: split identifiers and
//! prose into words, drop stop words, stem (Snowball English).

use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

/// Lower-case words, split on non-alphanumerics and camelCase boundaries
/// (`createIssue`, `API-post-page`, `browser_click`, `fs.read_file`).
/// English clitics carry no meaning for finding a tool: "what's", "user's",
/// "we'll" keep only their word, and a negated auxiliary ("don't",
/// "isn't") is dropped whole, like the stop words it stands for.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut skip_to = 0;
    for (i, &c) in chars.iter().enumerate() {
        if i < skip_to {
            continue;
        }
        if let Some(end) = clitic_end(&chars, i) {
            if chars[i + 1..end]
                .iter()
                .collect::<String>()
                .eq_ignore_ascii_case("t")
            {
                cur.clear(); // n't: the whole word goes
            }
            flush(&mut cur, &mut out);
            prev = None;
            skip_to = end;
            continue;
        }
        if !c.is_alphanumeric() {
            flush(&mut cur, &mut out);
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            // The plural of an acronym: PRs, URLs (not P Rs, UR Ls).
            let plural = chars.get(i + 1) == Some(&'s')
                && !chars.get(i + 2).is_some_and(|n| n.is_lowercase());
            // fooBar | HTTPServer -> HTTP Server | v2Api
            let boundary = (c.is_uppercase() && (p.is_lowercase() || p.is_ascii_digit()))
                || (c.is_uppercase() && p.is_uppercase() && next_lower && !plural)
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

/// At an apostrophe between a word and one of English's clitics ('s, 't,
/// 're, 'll, 've, 'd, 'm) ending the token: where the clitic ends.
fn clitic_end(chars: &[char], i: usize) -> Option<usize> {
    if !matches!(chars[i], '\'' | '\u{2019}') || !chars.get(i.wrapping_sub(1))?.is_alphabetic() {
        return None;
    }
    let end = (i + 1..=chars.len())
        .find(|&j| j == chars.len() || !chars[j].is_alphabetic())
        .unwrap_or(chars.len());
    let clitic: String = chars[i + 1..end]
        .iter()
        .flat_map(|c| c.to_lowercase())
        .collect();
    matches!(clitic.as_str(), "s" | "t" | "re" | "ll" | "ve" | "d" | "m").then_some(end)
}

fn flush(cur: &mut String, out: &mut Vec<String>) {
    if !cur.is_empty() {
        out.push(std::mem::take(cur));
    }
}

/// Words that carry no meaning for finding a tool.
const STOP_WORDS: &[&str] = &[
    "a",
    "able",
    "about",
    "again",
    "all",
    "already",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "being",
    "both",
    "but",
    "by",
    "called",
    "can",
    "could",
    "currently",
    "did",
    "do",
    "does",
    "doing",
    "each",
    "else",
    "etc",
    "every",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "inside",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "kind",
    "let",
    "like",
    "many",
    "me",
    "much",
    "my",
    "myself",
    "named",
    "need",
    "no",
    "nor",
    "not",
    "of",
    "on",
    "once",
    "or",
    "our",
    "ours",
    "ourselves",
    "own",
    "please",
    "really",
    "she",
    "should",
    "so",
    "some",
    "something",
    "sort",
    "stuff",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "thing",
    "things",
    "this",
    "those",
    "to",
    "too",
    "tool",
    "tools",
    "under",
    "up",
    "us",
    "use",
    "using",
    "very",
    "via",
    "want",
    "was",
    "we",
    "were",
    "what",
    "when",
    "whether",
    "which",
    "while",
    "whom",
    "will",
    "with",
    "within",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

pub fn is_stop_word(w: &str) -> bool {
    STOP_WORDS.binary_search(&w).is_ok()
}

/// A number ("2", the "340" of "2,340"): a value for a tool's argument,
/// not a word saying what the tool does. Mixed tokens ("ec2", "3pm") are words.
pub fn is_number(w: &str) -> bool {
    !w.is_empty() && w.chars().all(|c| c.is_ascii_digit())
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
        check(
            "review PRs and URLs, IDs of APIs: getURLs listPRsAndIssues",
            &[
                "review", "prs", "and", "urls", "ids", "of", "apis", "get", "urls", "list", "prs",
                "and", "issues",
            ],
        );
        check("get-sum", &["get", "sum"]);
        check("list_pull_requests", &["list", "pull", "requests"]);
    }

    #[test]
    fn clitics_leave_only_their_word() {
        let check = |input: &str, want: &[&str]| assert_eq!(words(input), want, "{input}");
        check("what's on", &["what", "on"]);
        check("the user\u{2019}s notes", &["the", "user", "notes"]);
        check(
            "we'll see, I'm sure they've",
            &["we", "see", "i", "sure", "they"],
        );
        check("don't send it", &["send", "it"]);
        check("type 'yes' now", &["type", "yes", "now"]);
        check("rock'n'roll o'clock", &["rock", "n", "roll", "o", "clock"]);
        assert!(!terms("what's on my schedule").contains(&"s".to_owned()));
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
        // Pronouns, auxiliaries and places of arguments say nothing of the tool.
        assert_eq!(
            terms("files under the folder she has not moved"),
            ["file", "folder", "move"]
        );
        assert_eq!(stem("creating"), stem("create"));
        assert_eq!(stem("directories"), stem("directory"));
    }
}
