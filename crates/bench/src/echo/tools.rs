//! Synthetic tool definitions: `echo` plus N made-up but plausible tools
//! (`<service>_<verb>_<object>` with a one-sentence description), always the
//! same for the same N, so search benchmarks are repeatable.

const SERVICES: &[&str] = &[
    "github",
    "gitlab",
    "jira",
    "slack",
    "notion",
    "linear",
    "calendar",
    "gmail",
    "drive",
    "dropbox",
    "postgres",
    "sqlite",
    "redis",
    "s3",
    "docker",
    "kubernetes",
    "stripe",
    "shopify",
    "figma",
    "sentry",
    "datadog",
    "pagerduty",
    "zendesk",
    "hubspot",
    "airtable",
];
const VERBS: &[&str] = &[
    "create",
    "get",
    "list",
    "update",
    "delete",
    "search",
    "archive",
    "export",
    "import",
    "share",
    "move",
    "copy",
    "rename",
    "lock",
    "watch",
    "comment",
    "assign",
    "close",
    "reopen",
    "summarize",
];
const OBJECTS: &[&str] = &[
    "issue",
    "pull_request",
    "message",
    "channel",
    "page",
    "database",
    "event",
    "email",
    "file",
    "folder",
    "table",
    "row",
    "key",
    "bucket",
    "container",
    "pod",
    "invoice",
    "order",
    "design",
    "alert",
    "dashboard",
    "incident",
    "ticket",
    "contact",
    "record",
];
const NOTES: &[&str] = &[
    "Returns the identifier of the affected item.",
    "Supports pagination with a cursor.",
    "Needs write access to the workspace.",
    "Results are sorted by last modification time.",
    "Fails if the item does not exist.",
    "Works on items shared with the current user.",
    "Large results are truncated to 100 entries.",
    "Safe to retry.",
];

/// The combinations available (25 * 20 * 25).
pub const MAX_SYNTHETIC: usize = 12_500;

/// The definition of the `echo` tool.
pub const ECHO_TOOL: &str = r#"{"name":"echo","description":"Returns the message as text.","inputSchema":{"type":"object","properties":{"message":{"type":"string","description":"Text to echo"}},"required":["message"]},"annotations":{"readOnlyHint":true}}"#;

/// `echo` followed by `n` synthetic tools (at most [`MAX_SYNTHETIC`]), each
/// as JSON text.
pub fn definitions(n: usize) -> Vec<String> {
    let mut out = vec![ECHO_TOOL.to_owned()];
    // 7919 is prime and so coprime with 12,500: i -> i*7919 mod 12,500 visits
    // every combination once and spreads the first thousand over all services.
    for i in 0..n.min(MAX_SYNTHETIC) {
        let k = (i * 7919) % MAX_SYNTHETIC;
        let service = SERVICES[k % SERVICES.len()];
        let verb = VERBS[(k / SERVICES.len()) % VERBS.len()];
        let object = OBJECTS[k / (SERVICES.len() * VERBS.len())];
        let note = NOTES[i % NOTES.len()];
        let thing = object.replace('_', " ");
        let def = serde_json::json!({
            "name": format!("{service}_{verb}_{object}"),
            "description": format!("{} a {thing} in {}. {note}", capital(verb), capital(service)),
            "inputSchema": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": format!("The {thing} id")},
                    "text": {"type": "string", "description": "Free text, when the action takes any"}
                },
                "required": ["id"]
            }
        });
        out.push(def.to_string());
    }
    out
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid() {
        let defs = definitions(MAX_SYNTHETIC + 5);
        assert_eq!(defs.len(), MAX_SYNTHETIC + 1);
        let mut names = std::collections::HashSet::new();
        for d in &defs {
            let v: serde_json::Value = serde_json::from_str(d).unwrap();
            let name = v["name"].as_str().unwrap().to_owned();
            assert!(
                name.len() <= 128 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            );
            assert!(names.insert(name));
        }
        assert!(defs[1].contains("Github") || defs[1].contains("github"));
    }
}
