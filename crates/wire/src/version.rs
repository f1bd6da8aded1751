//! MCP protocol versions and negotiation.

/// Versions the gateway speaks, newest first.
pub const SUPPORTED: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// The newest session-based version.
pub const LATEST: &str = "2025-11-25";

/// The stateless revision: no initialize, no sessions; every request
/// carries its version and capabilities in `_meta`.
pub const MODERN: &str = "2026-07-28";

/// What a dual-era server lists in `server/discover` and in -32022 errors.
pub const DISCOVERABLE: &[&str] = &[MODERN, LATEST];

/// Assumed by the Streamable HTTP rules when a request carries no
/// `MCP-Protocol-Version` header.
pub const HTTP_DEFAULT: &str = "2025-03-26";

/// The answer to an `initialize` asking for `requested`: the same version
/// when supported, otherwise the latest.
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| SUPPORTED.iter().find(|v| **v == r).copied())
        .unwrap_or(LATEST)
}

pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

/// JSON-RPC batches were allowed only by 2025-03-26 (and tolerated from older clients).
pub fn allows_batches(version: &str) -> bool {
    version <= "2025-03-26"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_echoes_supported_and_falls_back_to_latest() {
        assert_eq!(negotiate(Some("2024-11-05")), "2024-11-05");
        assert_eq!(negotiate(Some("2025-06-18")), "2025-06-18");
        assert_eq!(negotiate(Some("1999-01-01")), LATEST);
        assert_eq!(negotiate(None), LATEST);
    }

    #[test]
    fn batches_only_for_old_versions() {
        assert!(allows_batches("2025-03-26"));
        assert!(allows_batches("2024-11-05"));
        assert!(!allows_batches("2025-06-18"));
    }
}
