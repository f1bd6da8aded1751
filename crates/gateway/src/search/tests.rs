//! Ranking order: names over descriptions, synonyms, stemming, typos,
//! parameters, coverage; and did-you-mean suggestions.

use super::*;
use crate::catalog::{parse_tools_page, Catalog, Entry};

fn entry(name: &str, description: &str, tools: serde_json::Value) -> Entry {
    let page = parse_tools_page(&mcp_wire::raw(&serde_json::json!({ "tools": tools }))).unwrap();
    Entry::offline(name, description, page.tools)
}

fn catalog() -> Catalog {
    use serde_json::json;
    Catalog::build(vec![
        entry(
            "files",
            "Read and write files on the local disk",
            json!([
                {"name": "read_file", "description": "Read the complete contents of a file.", "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}}},
                {"name": "list_directory", "description": "List the entries of a directory.", "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}}},
                {"name": "move_file", "description": "Move or rename files and directories.", "inputSchema": {"type": "object", "properties": {"source": {"type": "string"}, "destination": {"type": "string"}}}},
                {"name": "delete_file", "description": "Remove a file from disk."}
            ]),
        ),
        entry(
            "github",
            "GitHub API: repositories, issues, pull requests",
            json!([
                {"name": "create_issue", "description": "Create a new issue in a GitHub repository.", "inputSchema": {"type": "object", "properties": {"owner": {"type": "string"}, "repo": {"type": "string"}, "title": {"type": "string"}}}},
                {"name": "create_pull_request", "description": "Create a new pull request.", "inputSchema": {"type": "object", "properties": {"head": {"type": "string", "description": "The branch with your changes"}, "base": {"type": "string"}}}},
                {"name": "list_issues", "description": "List issues of a repository."}
            ]),
        ),
        entry(
            "memory",
            "Knowledge graph memory",
            json!([
                {"name": "add_observations", "description": "Add new observations to existing entities in the knowledge graph."},
                {"name": "delete_entities", "description": "Delete multiple entities and their relations."}
            ]),
        ),
    ])
}

fn top(query: &str) -> String {
    let cat = catalog();
    let hits = search(&cat, query, 5);
    hits.first()
        .map_or("-".into(), |m| format!("{}/{}", m.entry.name, m.tool.name))
}

/// The name of the first tool `q` finds in `cat`, "-" for none.
fn first_tool(cat: &Catalog, q: &str) -> String {
    let hits = search(cat, q, 1);
    hits.first().map_or("-".into(), |m| m.tool.name.clone())
}

#[test]
fn ranking_cases() {
    let cases = [
        ("read file", "files/read_file"),
        ("show me what is in this folder", "files/list_directory"),
        ("open a bug in the repo", "github/create_issue"),
        ("creat isue", "github/create_issue"),
        ("make a PR from my branch", "github/create_pull_request"),
        ("rename a document", "files/move_file"),
        ("remember this about the user", "memory/add_observations"),
        ("forget these entities", "memory/delete_entities"),
        ("erase file", "files/delete_file"),
        ("list the repository issues", "github/list_issues"),
    ];
    for (query, want) in cases {
        assert_eq!(top(query), want, "query {query:?}");
    }
}

#[test]
fn scores_descend_limit_applies_and_why_names_the_matched_words() {
    let cat = catalog();
    let hits = search(&cat, "delete entities", 3);
    assert_eq!(hits.len(), 3);
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    assert_eq!(hits[0].tool.name, "delete_entities");
    assert_eq!(hits[0].matched, ["delete", "entities"]);
    assert!(search(&cat, "zzzz qqqq", 5).is_empty());
    assert!(
        search(&cat, "the and of", 5).is_empty(),
        "stop words alone match nothing"
    );
}

#[test]
fn literal_tokens_are_arguments_not_words_to_match() {
    use serde_json::json;
    let cat = Catalog::build(vec![
        entry(
            "mail",
            "",
            json!([{"name": "send_email", "description": "Send an email message."}]),
        ),
        entry(
            "sites",
            "",
            json!([{"name": "preview", "description": "Preview a domain such as example.com or bob.example.org."}]),
        ),
    ]);
    let first = |q: &str| first_tool(&cat, q);
    // The address says "an email" (its hint); its pieces are not the task.
    assert_eq!(first("write to bob@example.com"), "send_email");
    assert_eq!(first("write to https://bob.example.org/x"), "-");
}

#[test]
fn a_name_the_query_spells_ranks_above_one_that_holds_its_words() {
    use serde_json::json;
    let pulls = json!([
        {"name": "create_pull_request", "description": "Create a new pull request, from a branch with changes into a base branch (a pull request of a fork into upstream too).",
         "inputSchema": {"type": "object", "properties": {"title": {"type": "string", "description": "Pull request title"}}}},
        {"name": "get_pull_request", "description": "Details of one pull request.",
         "inputSchema": {"type": "object", "properties": {"pull_number": {"type": "number"}}}},
        {"name": "get_pull_request_views", "description": "How often a pull request was viewed.",
         "inputSchema": {"type": "object", "properties": {"pull_number": {"type": "number"}}}}
    ]);
    let cat = Catalog::build(vec![entry("github", "", pulls)]);
    let order: Vec<_> = search(&cat, "get pull request", 3)
        .iter()
        .map(|m| m.tool.name.clone())
        .collect();
    // "get" reaches `pull` too (a synonym: git's pull fetches), which must
    // not cover `create_pull_request`'s name twice; and `view` (a synonym
    // of get) does not make `get_pull_request_views` all spelled.
    assert_eq!(order[0], "get_pull_request", "{order:?}");
}

#[test]
fn parameter_descriptions_count() {
    assert_eq!(top("branch with changes"), "github/create_pull_request");
}

#[test]
fn unready_backends_are_not_searched() {
    use crate::upstream::{State, Status};
    let mut e = entry(
        "down",
        "",
        serde_json::json!([{"name": "read_file", "description": "Read a file"}]),
    );
    e.status = std::sync::Arc::new(Status {
        state: State::Failed,
        reason: None,
        init: None,
        transport: "stdio",
        connects: 0,
    });
    let cat = Catalog::build(vec![e]);
    assert!(search(&cat, "read file", 5).is_empty());
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

#[test]
fn evaluation_counts_hits_overall_and_by_kind_of_query() {
    use super::eval::{evaluate, Expected, Query};
    let q = |query: &str, tool: &str, category: &str| Query {
        query: query.into(),
        expected: vec![Expected {
            server: "files".into(),
            tool: tool.into(),
        }],
        category: category.into(),
    };
    let queries = [
        q("read file", "read_file", "keyword"),
        q("list directory", "read_file", "keyword"),
        q("creat isue", "read_file", "typo"),
    ];
    let r = evaluate(&catalog(), &queries);
    assert_eq!(r.queries, 3);
    assert!((r.top1 - 1.0 / 3.0).abs() < 1e-9, "{r:?}");
    assert_eq!(
        r.by_kind["keyword"],
        (2, 0.5, 1.0),
        "read_file is second for \"list directory\": {r:?}"
    );
    assert_eq!(r.by_kind["typo"].0, 1);
    assert_eq!(r.by_kind["typo"].1, 0.0);
    assert_eq!(r.misses.len(), r.queries - (r.top5 * 3.0).round() as usize);
}

#[test]
fn numbers_and_repeats_do_not_count_and_a_split_compound_joins() {
    use serde_json::json;
    let cat = Catalog::build(vec![
        entry(
            "calc",
            "",
            json!([{"name": "sum", "description": "Add two numbers."}]),
        ),
        entry(
            "docs",
            "",
            json!([
                {"name": "list_documents", "description": "List the .docx files, 2 or 3 at a time."},
                {"name": "rename_document", "description": "Give a document a new name."}
            ]),
        ),
        entry(
            "paging",
            "",
            json!([
                {"name": "list_oncalls", "description": "Who is on duty now."},
                {"name": "log_call", "description": "Record a phone call."}
            ]),
        ),
    ]);
    let first = |q: &str| first_tool(&cat, q);
    // "2" and "3" are the numbers to add, not words of a description.
    assert_eq!(first("add 2 and 3"), "sum");
    let hits = search(&cat, "add 2 and 3", 3);
    assert_eq!(hits[0].matched, ["sum"], "read as the operation it is");
    // Two file names say "docx" once, not twice.
    let hits = search(&cat, "rename a.docx to b.docx", 2);
    assert_eq!(hits[0].tool.name, "rename_document");
    assert!(hits
        .iter()
        .all(|m| m.matched.iter().filter(|w| *w == "docx").count() <= 1));
    // "on call" is the catalog's `oncall`, joined.
    assert_eq!(first("who is on call"), "list_oncalls");
    assert_eq!(first("who is on-call"), "list_oncalls");
    assert!(search(&cat, "who is on call", 3)[0]
        .matched
        .contains(&"oncall".to_string()));
}

#[test]
fn a_typo_is_matched_against_the_words_as_written_not_only_their_stems() {
    use serde_json::json;
    let mut secret = entry(
        "vault",
        "",
        json!([{"name": "unsealing", "description": "Unsealing ceremonies."}]),
    );
    secret.hidden = std::sync::Arc::new(vec!["unsealing".into()]);
    let cat = Catalog::build(vec![
        entry(
            "maps",
            "",
            json!([
                {"name": "get_directions", "description": "Driving directions between places."},
                {"name": "geocode", "description": "Coordinates of an address."}
            ]),
        ),
        secret,
    ]);
    // "directons" stems to `directon`, two edits from `direct`; it is one
    // edit from "directions", which the index keeps as written.
    assert_eq!(cat.search.near("directons", 1), ["direct"]);
    let hits = search(&cat, "directons to lyon", 1);
    assert_eq!(hits[0].tool.name, "get_directions");
    // The closest first; the word itself is not "near".
    assert_eq!(cat.search.near("geocodes", 2)[0], "geocod");
    assert!(cat.search.near("direct", 1).is_empty());
    // A hidden tool's words are not offered as corrections.
    assert!(cat.search.near("unsealin", 1).is_empty());
}

#[test]
fn a_huge_query_is_read_up_to_its_bound() {
    let cat = catalog();
    // A word said a hundred thousand times is one word, at once.
    let hits = search(&cat, &"entities ".repeat(100_000), 1);
    assert_eq!(hits[0].tool.name, "delete_entities");
    assert_eq!(hits[0].matched, ["entities"]);
    // What follows the first MAX_QUERY_CHARS characters is not searched for.
    let padded = format!("{}read file", "x ".repeat(MAX_QUERY_CHARS / 2));
    assert!(search(&cat, &padded, 1).is_empty());
    assert_eq!(bounded("añb"), "añb");
    let long = "ñ".repeat(MAX_QUERY_CHARS + 5);
    assert_eq!(bounded(&long).chars().count(), MAX_QUERY_CHARS);
}

#[test]
fn a_query_of_hints_alone_finds_what_they_hint_at_and_says_so() {
    use serde_json::json;
    let cat = Catalog::build(vec![
        entry(
            "calculator",
            "",
            json!([{"name": "calculate", "description": "Evaluate a math expression."}]),
        ),
        entry(
            "files",
            "",
            json!([{"name": "read_file", "description": "Read a file."}]),
        ),
    ]);
    let hits = search(&cat, "17.5% of 2,340", 5);
    assert_eq!(hits.len(), 1, "only the calculator is hinted at");
    assert_eq!(hits[0].tool.name, "calculate");
    assert!(hits[0].matched.is_empty());
    assert_eq!(hits[0].hinted, ["math"]);
    // As many words as count and every hint there is: bounded, no overflow.
    let mut q: String = (0..40).map(|i| format!("w{i}x ")).collect();
    q.push_str("who when where how many 3 + 4 https://a.b/c bob@x.io #c PAY-1 a.txt incidents");
    assert!(search(&cat, &q, 5).len() <= 2);
}

#[test]
fn a_common_english_word_is_no_slip_of_a_word_of_the_catalog() {
    use serde_json::json;
    let cat = Catalog::build(vec![
        entry(
            "music",
            "",
            json!([{"name": "skip_track", "description": "Skip to the next track."}]),
        ),
        entry(
            "text",
            "",
            json!([{"name": "long_lines", "description": "Find long lines."}]),
        ),
    ]);
    // "song" is one edit from "long", and the catalog has no "song"; but it
    // is a word, so it is not read as "long".
    assert_eq!(first_tool(&cat, "skip this song"), "skip_track");
    assert!(search(&cat, "song", 5).is_empty());
    // A slip still is one: "lnog" is no word.
    assert_eq!(first_tool(&cat, "lnog"), "long_lines");
}

#[test]
fn the_model_reads_a_queries_slips_spelt_as_the_catalog_spells_them() {
    use serde_json::json;
    let cat = Catalog::build(vec![entry(
        "mail",
        "",
        json!([
            {"name": "search_emails", "description": "Search emails by sender or subject."},
            {"name": "long_poll", "description": "Wait for new mail."}
        ]),
    )]);
    let spelt = |q| spelled_as_the_catalog(q, &cat.search);
    // The closest spelling as the tools write it ("emails", not the stem).
    assert_eq!(spelt("serch my emials, please"), "search my emails, please");
    assert_eq!(
        spelt("Serch emials"),
        "search emails",
        "the first word may be capitalized"
    );
    // Words stay: English ones ("song", not "long"), names past the first
    // word, stop words, short words, and tokens that are not plain words.
    for q in [
        "skip this song",
        "ask Emial about it",
        "mail it to bob@example.com",
        "the 3rd one",
    ] {
        assert_eq!(spelt(q), q);
    }
    // What the embedder is sent: the values given to arguments cut,
    // literal tokens named, then slips spelt.
    assert_eq!(
        meaning::query_text("serch emials from https://x.io/a", &cat.search),
        "search emails from a URL"
    );
    assert_eq!(
        meaning::query_text("remember that the user prefers dark mode", &cat.search),
        "remember"
    );
    assert_eq!(
        meaning::query_text(
            "tell Sam that 'the build' broke. Then serch emials",
            &cat.search
        ),
        "tell Sam Then search emails"
    );
    assert_eq!(meaning::query_text("'yes'", &cat.search), "'yes'");
}

#[test]
fn a_slip_is_read_as_the_likeliest_word_not_the_commonest() {
    use serde_json::json;
    let cat = Catalog::build(vec![entry(
        "work",
        "",
        json!([
            {"name": "a", "description": "Omit what takes long."},
            {"name": "b", "description": "Omit what takes space."},
            {"name": "c", "description": "Commit the task to the schedule."}
        ]),
    )]);
    let nearest = |w, max| cat.search.nearest_spelling(w, max);
    // An English word before a stem one edit closer (`schedul`).
    assert_eq!(nearest("schedual", 2), Some("schedule"));
    // "omit" and "takes" are in more tools; "commit" starts as the slip
    // does, and "task" has its very letters.
    assert_eq!(nearest("comit", 1), Some("commit"));
    assert_eq!(nearest("taks", 1), Some("task"));
    assert_eq!(nearest("zzzz", 1), None);
}

#[test]
fn a_name_is_no_slip() {
    use serde_json::json;
    let cat = Catalog::build(vec![entry(
        "db",
        "",
        json!([{"name": "query", "description": "Query the data."}]),
    )]);
    // "dana" is one edit from "data"; written as a name, it is none.
    assert!(search(&cat, "remember that Dana prefers tea", 5).is_empty());
    assert!(search(&cat, "what does NVDA trade at", 5).is_empty());
    assert_eq!(
        first_tool(&cat, "show the dana"),
        "query",
        "lower case, a slip"
    );
    assert_eq!(
        phrasing::names("Serch what Dana's iPhone says"),
        ["dana", "i", "phone"]
    );
}

#[test]
fn what_is_to_be_told_or_kept_and_the_numbers_to_add_are_values_not_words() {
    use serde_json::json;
    // Two real servers' tools (@modelcontextprotocol/server-memory and
    // server-everything), as the example configuration serves them.
    let cat = Catalog::build(vec![
        entry(
            "memory",
            "Knowledge graph memory (entities, relations, observations)",
            json!([
                {"name": "add_observations", "description": "Add new observations to existing entities in the knowledge graph"},
                {"name": "delete_observations", "description": "Delete specific observations from entities in the knowledge graph"}
            ]),
        ),
        entry(
            "everything",
            "The MCP reference server",
            json!([
                {"name": "get-sum", "description": "Returns the sum of two numbers", "inputSchema": {"type": "object", "properties": {"a": {"type": "number", "description": "First number"}, "b": {"type": "number", "description": "Second number"}}}},
                {"name": "trigger-elicitation-request", "description": "Trigger a Request from the Server for User Elicitation"}
            ]),
        ),
    ]);
    // The user's preference is what to remember, not a tool's user.
    for q in [
        "remember that the user prefers dark mode",
        "the user wants you to remember that he prefers dark mode",
        "remember that our staging server sends requests slowly",
    ] {
        let hits = search(&cat, q, 5);
        assert_eq!(hits[0].entry.name, "memory", "{q}: {:?}", hits[0].tool.name);
        assert!(hits.iter().all(|m| m.entry.name == "memory"), "{q}");
    }
    assert_eq!(first_tool(&cat, "add 2 and 3"), "get-sum");
    assert_eq!(first_tool(&cat, "add an observation"), "add_observations");
}
