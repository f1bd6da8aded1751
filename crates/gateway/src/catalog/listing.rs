//! Resources, resource templates and prompts of one backend: each item kept
//! raw (forwarded byte-for-byte) with the key that identifies it (`uri`,
//! `uriTemplate` or `name`).

use mcp_wire::Json;
use serde_json::value::RawValue;

#[derive(Debug, Clone)]
pub struct Item {
    pub key: String,
    pub raw: Box<RawValue>,
}

/// What a backend lists besides tools.
#[derive(Debug, Default)]
pub struct Lists {
    pub resources: Vec<Item>,
    pub templates: Vec<Item>,
    pub prompts: Vec<Item>,
}

/// The three list methods: (method, result field, item key).
pub const RESOURCES: (&str, &str, &str) = ("resources/list", "resources", "uri");
pub const TEMPLATES: (&str, &str, &str) = (
    "resources/templates/list",
    "resourceTemplates",
    "uriTemplate",
);
pub const PROMPTS: (&str, &str, &str) = ("prompts/list", "prompts", "name");

/// One page of a list result: its items (those without a key are skipped)
/// and the next cursor.
pub fn parse_page(
    result: &Json,
    field: &str,
    key: &str,
) -> Result<(Vec<Item>, Option<String>), serde_json::Error> {
    let page: std::collections::HashMap<String, &RawValue> = serde_json::from_str(result.get())?;
    let items: Vec<&RawValue> = match page.get(field) {
        Some(list) => serde_json::from_str(list.get())?,
        None => Vec::new(),
    };
    let next_cursor: Option<String> = match page.get("nextCursor") {
        Some(c) => serde_json::from_str(c.get())?,
        None => None,
    };
    let out = items
        .into_iter()
        .filter_map(|raw| {
            let map: std::collections::HashMap<String, &RawValue> =
                serde_json::from_str(raw.get()).ok()?;
            let k: String = serde_json::from_str(map.get(key)?.get()).ok()?;
            Some(Item {
                key: k,
                raw: raw.to_owned(),
            })
        })
        .collect();
    Ok((out, next_cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_keep_their_raw_text_and_key() {
        let r = mcp_wire::raw(
            &serde_json::json!({"resources": [{"uri": "test://a", "name": "A", "x-v": 1}, {"name": "no uri"}], "nextCursor": "p2"}),
        );
        let (items, next) = parse_page(&r, "resources", "uri").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].key, "test://a");
        assert!(items[0].raw.get().contains("x-v"));
        assert_eq!(next.as_deref(), Some("p2"));
    }
}
