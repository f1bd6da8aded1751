//! Search: word splitting and ranking order.

use std::sync::Arc;

use super::*;
use crate::catalog::{parse_tools_page, Catalog, Entry};
use crate::upstream::{State, Status};

fn entry(name: &str, description: &str, tools: &[(&str, &str)]) -> Entry {
    let list: Vec<_> = tools
        .iter()
        .map(|(n, d)| serde_json::json!({"name": n, "description": d}))
        .collect();
    let page = parse_tools_page(&mcp_wire::raw(&serde_json::json!({ "tools": list }))).unwrap();
    Entry {
        name: name.into(),
        description: description.into(),
        status: Arc::new(Status {
            state: State::Ready,
            reason: None,
            init: None,
            transport: "stdio",
            connects: 1,
        }),
        tools: Arc::new(page.tools),
    }
}

#[test]
fn splits_names_of_every_style() {
    assert_eq!(words("browser_click"), ["browser", "click"]);
    assert_eq!(words("API-post-page"), ["api", "post", "page"]);
    assert_eq!(words("createIssue"), ["create", "issue"]);
    assert_eq!(words("fs.read_file v2"), ["fs", "read", "file", "v2"]);
}

#[test]
fn name_hits_outrank_description_hits_and_limit_applies() {
    let cat = Catalog::build(vec![
        entry(
            "files",
            "Local files",
            &[
                ("read_file", "Read a file"),
                ("list_directory", "List a directory, file by file"),
            ],
        ),
        entry(
            "memory",
            "Knowledge graph",
            &[("create_entities", "Create entities in the graph")],
        ),
    ]);
    let m = search(&cat, "read file", 5);
    assert_eq!(m[0].tool.name, "read_file");
    assert!(m[0].score > m[1].score);
    assert_eq!(search(&cat, "graph entities", 1).len(), 1);
    assert_eq!(
        search(&cat, "graph entities", 1)[0].tool.name,
        "create_entities"
    );
    assert!(search(&cat, "zzz", 5).is_empty());
}

#[test]
fn suggestions_prefer_typos_then_containment() {
    let names = [
        "read_file",
        "read_multiple_files",
        "write_file",
        "search_files",
    ];
    assert_eq!(suggest("reed_file", &names)[0], "read_file");
    assert_eq!(
        suggest("files", &names),
        ["search_files", "read_multiple_files"]
    );
    assert!(suggest("kubernetes", &names).is_empty());
}
