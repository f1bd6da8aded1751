//! Common English words, to tell a slip from a word the catalog does not
//! happen to use: "serch" is a slip of "search"; "song" is a word, not a
//! slip of the catalog's "long". SCOWL's size levels 10 to 35 (about 38,600
//! words of four letters or more, inflections included), as
//! `scripts/english-words.sh` makes `english-words.txt`; SCOWL's notice is
//! in `english-words.COPYRIGHT`.
//!
//! The list stays the sorted text it is compiled in as: a lookup is a
//! binary search over its lines, with no index built and nothing allocated.

/// One word a line, sorted by bytes, lower case.
static WORDS: &str = include_str!("english-words.txt");

/// Whether `word` (lower case) is a common English word.
pub fn is_word(word: &str) -> bool {
    is_line_of(WORDS, word)
}

/// Whether `word` is a line of `sorted` (lines sorted by bytes).
fn is_line_of(sorted: &str, word: &str) -> bool {
    let text = sorted.as_bytes();
    // The lines not yet ruled out: those that start in `lo..hi`.
    let (mut lo, mut hi) = (0, text.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = text[lo..mid]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(lo, |i| lo + i + 1);
        let end = text[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |i| start + i);
        match text[start..end].cmp(word.as_bytes()) {
            std::cmp::Ordering::Equal => return true,
            std::cmp::Ordering::Less => lo = end + 1,
            std::cmp::Ordering::Greater => hi = start,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_of_the_list_is_found_and_nothing_between_them() {
        let list: std::collections::HashSet<&str> = WORDS.lines().collect();
        for w in &list {
            assert!(is_word(w), "{w}");
            // Just after it in byte order: found only if it is a word too.
            let after = format!("{w}a");
            assert_eq!(is_word(&after), list.contains(after.as_str()), "{after}");
        }
        assert!(list.len() > 30_000, "{}", list.len());
        assert!(!is_word("") && !is_word("aaaa") && !is_word("zzzzzz"));
    }

    #[test]
    fn words_are_words_and_slips_are_not() {
        for w in [
            "song", "trading", "late", "book", "readers", "thrown", "search",
        ] {
            assert!(is_word(w), "{w}");
        }
        for w in [
            "serch", "emials", "desgin", "tomorow", "schedual", "isue", "creat",
        ] {
            assert!(!is_word(w), "{w}");
        }
    }

    #[test]
    fn the_search_holds_at_the_edges_of_a_list() {
        let list = "bb\ndd\nff";
        for (w, found) in [
            ("a", false),
            ("bb", true),
            ("c", false),
            ("dd", true),
            ("e", false),
            ("ff", true),
            ("g", false),
            ("b", false),
            ("bbb", false),
        ] {
            assert_eq!(is_line_of(list, w), found, "{w}");
        }
        assert!(is_line_of("only", "only"));
        assert!(!is_line_of("", "x"));
        assert!(is_line_of("a\nb\n", "b"), "a trailing newline");
    }
}
