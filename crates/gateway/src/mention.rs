//! A cheap look for a key in raw JSON text before paying for a parse.
//!
//! Most messages on the hot path carry none of the keys that need a parse
//! (`progressToken`, `requestState`, the 2026-07-28 version in `_meta`), so
//! the parse is skipped when the key's text is absent. The searcher is built
//! once per key and kept: building one costs more (about 3,000
//! instructions) than scanning a small message.

use std::sync::OnceLock;

use memchr::memmem::Finder;

/// A key whose text is looked for (a hit may be a false positive: the text
/// can sit inside a string; the parse that follows decides).
pub struct Mention {
    needle: &'static str,
    finder: OnceLock<Finder<'static>>,
}

impl Mention {
    pub const fn new(needle: &'static str) -> Self {
        Self {
            needle,
            finder: OnceLock::new(),
        }
    }

    /// Whether `text` contains the key's text anywhere.
    pub fn in_text(&self, text: &str) -> bool {
        self.finder
            .get_or_init(|| Finder::new(self.needle.as_bytes()))
            .find(text.as_bytes())
            .is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::Mention;

    #[test]
    fn finds_the_text_anywhere_and_only_the_text() {
        static TOKEN: Mention = Mention::new("progressToken");
        assert!(TOKEN.in_text(r#"{"_meta":{"progressToken":1}}"#));
        assert!(
            TOKEN.in_text(r#"{"note":"progressToken"}"#),
            "a string counts: the parse decides"
        );
        assert!(!TOKEN.in_text(r#"{"_meta":{"progresstoken":1}}"#));
        assert!(!TOKEN.in_text(""));
    }
}
