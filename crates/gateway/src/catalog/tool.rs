//! A backend tool: the definition kept raw (forwarded byte-for-byte) plus
//! the fields the gateway reasons about, parsed once when the list arrives.

use mcp_wire::Json;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    /// The complete definition exactly as the backend sent it.
    pub raw: Box<RawValue>,
    pub input_schema: Box<RawValue>,
    pub read_only: bool,
    pub idempotent: bool,
}

pub struct ToolsPage {
    pub tools: Vec<Tool>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage<'a> {
    #[serde(borrow)]
    tools: Vec<&'a RawValue>,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fields {
    name: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input_schema: Option<Box<RawValue>>,
    #[serde(default)]
    annotations: Option<Annotations>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Annotations {
    #[serde(default)]
    read_only_hint: Option<bool>,
    #[serde(default)]
    idempotent_hint: Option<bool>,
}

/// Parse one tools/list result. A tool without a name is skipped with a
/// warning rather than failing the whole backend.
pub fn parse_tools_page(result: &Json) -> Result<ToolsPage, serde_json::Error> {
    let page: RawPage = serde_json::from_str(result.get())?;
    let mut tools = Vec::with_capacity(page.tools.len());
    for raw in page.tools {
        match serde_json::from_str::<Fields>(raw.get()) {
            Ok(f) if !f.name.is_empty() => {
                let ann = f.annotations.unwrap_or_default();
                tools.push(Tool {
                    name: f.name,
                    title: f.title,
                    description: f.description.unwrap_or_default(),
                    raw: raw.to_owned(),
                    input_schema: f.input_schema.unwrap_or_else(|| {
                        serde_json::value::to_raw_value(&serde_json::json!({"type": "object"}))
                            .expect("serialises")
                    }),
                    read_only: ann.read_only_hint.unwrap_or(false),
                    idempotent: ann.idempotent_hint.unwrap_or(false),
                });
            }
            _ => tracing::warn!(
                "skipping a tool definition without a valid name: {}",
                &raw.get()[..raw.get().len().min(200)]
            ),
        }
    }
    Ok(ToolsPage {
        tools,
        next_cursor: page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_raw_definition_and_reads_hints() {
        let result = mcp_wire::raw(&serde_json::json!({
            "tools": [
                {"name": "a", "description": "A", "inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": true}, "x-vendor": [1]},
                {"description": "nameless"},
                {"name": "b"}
            ],
            "nextCursor": "c2"
        }));
        let page = parse_tools_page(&result).unwrap();
        assert_eq!(page.tools.len(), 2);
        assert!(page.tools[0].raw.get().contains(r#""x-vendor":[1]"#));
        assert!(page.tools[0].read_only && !page.tools[0].idempotent);
        assert_eq!(page.tools[1].input_schema.get(), r#"{"type":"object"}"#);
        assert_eq!(page.next_cursor.as_deref(), Some("c2"));
    }
}
