//! Direct-mode tool names: `<backend>__<tool>`.
//!
//! Backend names never contain `__` (the config rejects it), so the first
//! `__` always separates the two halves and the rule reverses by splitting
//! there. When a backend's tool name would make the result invalid (outside
//! 1–128 characters of `[A-Za-z0-9_.-]`), invalid characters become `_`, the
//! name is shortened, and an 8-hex-digit hash of the original tool name is
//! appended so two different tools never collide; the catalog's table maps
//! such a name back.

pub const SEPARATOR: &str = "__";
const MAX_LEN: usize = 128;

pub fn exposed_name(backend: &str, tool: &str) -> String {
    let plain = format!("{backend}{SEPARATOR}{tool}");
    if plain.len() <= MAX_LEN && plain.chars().all(valid_char) {
        return plain;
    }
    let hash = format!("{:08x}", fnv1a(tool.as_bytes()) as u32);
    let budget = MAX_LEN - backend.len() - SEPARATOR.len() - 1 - hash.len();
    let cleaned: String = tool
        .chars()
        .map(|c| if valid_char(c) { c } else { '_' })
        .take(budget)
        .collect();
    format!("{backend}{SEPARATOR}{cleaned}-{hash}")
}

fn valid_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// A stable, dependency-free hash (FNV-1a, 64 bit).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_join_with_double_underscore() {
        assert_eq!(exposed_name("files", "read_file"), "files__read_file");
        assert_eq!(
            exposed_name("gh", "API-post-page.v2"),
            "gh__API-post-page.v2"
        );
    }

    #[test]
    fn invalid_or_long_names_are_cleaned_hashed_and_valid() {
        let a = exposed_name("b", "weird name/with:chars");
        let b = exposed_name("b", "weird name/with;chars");
        assert!(a.starts_with("b__weird_name_with_chars-"), "{a}");
        assert_ne!(a, b, "different tools never collide");
        let long = exposed_name("backend", &"x".repeat(300));
        assert_eq!(long.len(), 128);
        for n in [a, b, long] {
            assert!(
                n.chars().all(valid_char) && (1..=128).contains(&n.len()),
                "{n}"
            );
        }
    }
}
