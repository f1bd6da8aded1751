//! Words agents use for the same action or thing. A query term also
//! matches the other members of its groups, at a lower weight than itself,
//! so an exact word still ranks first.
//!
//! The groups are general vocabulary (verbs of CRUD, navigation, version
//! control, messaging; common nouns of calendars, mail, payments, alerts,
//! charts...), written from English, not from any query set.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::text::stem;

const GROUPS: &[&[&str]] = &[
    &[
        "create",
        "make",
        "new",
        "add",
        "open",
        "insert",
        "generate",
        "build",
        "register",
        "init",
        "initialize",
    ],
    &[
        "remove", "delete", "forget", "erase", "destroy", "drop", "discard", "clear", "unlink",
        "purge", "rm",
    ],
    &["list", "show", "enumerate", "ls", "browse", "all", "index"],
    &[
        "get", "read", "fetch", "retrieve", "view", "show", "load", "cat", "display", "open",
        "see", "inspect", "describe", "detail",
    ],
    &[
        "update", "edit", "modify", "change", "set", "patch", "alter", "adjust", "amend",
    ],
    &[
        "search", "find", "query", "lookup", "look", "locate", "grep", "discover", "seek", "match",
        "filter",
    ],
    &["write", "save", "store", "persist", "put", "record", "dump"],
    &[
        "remember",
        "memorize",
        "memory",
        "recall",
        "note",
        "observation",
        "knowledge",
        "fact",
    ],
    &["folder", "directory", "dir", "path"],
    &["file", "document", "doc", "content", "text"],
    &["issue", "bug", "ticket", "problem", "defect", "task"],
    &["pr", "pull", "merge"],
    &["repository", "repo", "project", "codebase"],
    &[
        "run", "execute", "exec", "invoke", "call", "launch", "start", "trigger",
    ],
    &[
        "stop",
        "close",
        "kill",
        "end",
        "terminate",
        "cancel",
        "abort",
        "quit",
    ],
    &[
        "send", "post", "message", "notify", "tell", "email", "chat", "dm",
    ],
    &[
        "page", "website", "site", "url", "web", "webpage", "link", "html",
    ],
    &["browser", "tab", "window"],
    &["navigate", "goto", "visit", "go", "open", "load", "browse"],
    &[
        "screenshot",
        "capture",
        "snapshot",
        "picture",
        "image",
        "screen",
    ],
    &["click", "press", "tap", "select", "choose"],
    &["type", "fill", "enter", "input", "form"],
    &[
        "time", "clock", "date", "timezone", "zone", "now", "today", "hour",
    ],
    &["convert", "translate", "transform", "change"],
    &["commit", "checkin"],
    &["branch", "fork"],
    &["comment", "reply", "review", "feedback", "respond"],
    &[
        "user", "person", "people", "member", "account", "profile", "contact",
    ],
    &["channel", "room", "conversation", "thread", "group"],
    &["download", "fetch", "pull", "retrieve", "get"],
    &["upload", "push", "publish", "deploy"],
    &["move", "rename", "relocate", "mv"],
    &["copy", "duplicate", "clone", "cp"],
    &["diff", "compare", "difference", "changes", "delta"],
    &["log", "history", "timeline"],
    &["undo", "revert", "reset", "rollback", "restore"],
    &[
        "sum",
        "add",
        "plus",
        "calculate",
        "compute",
        "total",
        "math",
        "arithmetic",
    ],
    &["weather", "forecast", "temperature"],
    &[
        "map",
        "location",
        "place",
        "address",
        "direction",
        "route",
        "geocode",
        "coordinate",
        "nearby",
    ],
    &["database", "db", "sql", "table", "row", "record"],
    &["entity", "node", "item", "object", "thing"],
    &[
        "relation",
        "relationship",
        "link",
        "edge",
        "connection",
        "connect",
    ],
    &["status", "state", "health", "info", "information"],
    &["think", "reason", "plan", "step", "thought"],
    &["tree", "structure", "hierarchy", "outline"],
    &["size", "metadata", "stat", "info", "attribute"],
    &["echo", "repeat", "say", "ping"],
    &["event", "meeting", "appointment", "calendar"],
    &["email", "mail", "inbox", "mailbox"],
    &["payment", "charge", "pay", "invoice", "bill", "billing"],
    &["task", "todo", "reminder", "chore"],
    &["news", "headline", "article"],
    &["price", "cost", "quote", "rate"],
    &["paper", "article", "preprint", "publication"],
    &["error", "exception", "crash", "failure", "fault"],
    &["alert", "alarm", "notification", "incident"],
    &["mute", "silence", "snooze", "quiet", "suppress"],
    &["summarize", "summary", "overview", "digest", "abstract"],
    &["chart", "graph", "plot", "visualize", "diagram"],
    &["watch", "follow", "subscribe", "monitor"],
    &["secret", "credential", "password", "token"],
    &["crawl", "scrape", "spider", "extract"],
    &["title", "heading", "header", "headline"],
    &["reaction", "emoji", "react"],
    &["process", "program", "app", "application"],
];

/// Weight of a synonym relative to the query word itself.
pub const SYNONYM_WEIGHT: f64 = 0.45;

/// stemmed word -> the stemmed members of every group it belongs to.
fn table() -> &'static HashMap<String, Vec<String>> {
    static T: OnceLock<HashMap<String, Vec<String>>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t: HashMap<String, Vec<String>> = HashMap::new();
        for group in GROUPS {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            for s in &stems {
                let entry = t.entry(s.clone()).or_default();
                for other in &stems {
                    if other != s && !entry.contains(other) {
                        entry.push(other.clone());
                    }
                }
            }
        }
        t
    })
}

/// The synonyms of a stemmed term (without the term itself).
pub fn of(term: &str) -> &'static [String] {
    table().get(term).map_or(&[], Vec::as_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_connect_agent_words() {
        let has = |a: &str, b: &str| of(&stem(a)).contains(&stem(b));
        assert!(has("remove", "delete") && has("forget", "delete"));
        assert!(has("folder", "directory"));
        assert!(has("bug", "issue") && has("ticket", "issue"));
        assert!(has("make", "create"));
        assert!(has("meeting", "event") && has("bill", "invoice") && has("quiet", "mute"));
        assert!(
            has("show", "list") && has("show", "read"),
            "a word may sit in several groups"
        );
        assert!(!has("create", "delete"));
        assert!(of("zzzz").is_empty());
    }
}
