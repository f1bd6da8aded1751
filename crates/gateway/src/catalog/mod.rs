//! The merged view of every backend: a snapshot rebuilt on change and
//! swapped atomically, so a reader never sees half an update.
//!
//! - [`tool`]: a tool definition kept raw for forwarding, plus the few parsed
//!   fields the gateway reasons about.
//! - [`naming`]: the reversible rule for exposing backend tools under one
//!   namespace when meta-tools are off.

pub mod listing;
mod naming;
mod tool;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

pub use naming::{exposed_name, SEPARATOR};
pub use tool::{parse_tools_page, Tool, ToolsPage};

use crate::search::index::DocIndex;
use crate::search::GlobalIndex;
use crate::upstream::{State, Status};

/// One backend as the catalog sees it.
#[derive(Clone)]
pub struct Entry {
    pub name: String,
    pub description: String,
    pub status: Arc<Status>,
    pub tools: Arc<Vec<Tool>>,
    /// The search index of `tools`, rebuilt only when they change.
    pub index: Arc<DocIndex>,
    /// Tool names hidden by the config (`disabled_tools`).
    pub hidden: Arc<Vec<String>>,
    /// Resources, templates and prompts.
    pub lists: Arc<listing::Lists>,
}

impl Entry {
    /// A ready entry built from a tool list, without a live backend (for
    /// evaluation and tests).
    pub fn offline(name: &str, description: &str, tools: Vec<Tool>) -> Entry {
        Entry {
            name: name.to_owned(),
            description: description.to_owned(),
            status: Arc::new(Status {
                state: State::Ready,
                reason: None,
                init: None,
                transport: "offline",
                connects: 1,
            }),
            index: Arc::new(DocIndex::build(name, description, &tools)),
            tools: Arc::new(tools),
            hidden: Arc::new(Vec::new()),
            lists: Arc::new(listing::Lists::default()),
        }
    }

    /// Whether clients may see and call `tool`: the one visibility check
    /// every listing, search and call goes through. A hidden tool looks
    /// exactly like a missing one.
    pub fn visible(&self, tool: &Tool) -> bool {
        !self.hidden.iter().any(|h| h == &tool.name)
    }

    pub fn visible_tools(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter().filter(|t| self.visible(t))
    }

    pub fn is_ready(&self) -> bool {
        self.status.state == State::Ready
    }
}

/// An immutable snapshot of all backends and their tools.
#[derive(Default)]
pub struct Catalog {
    /// Sorted by backend name.
    pub entries: Vec<Entry>,
    /// Exposed direct-mode name -> (entry index, tool index).
    by_exposed: HashMap<String, (usize, usize)>,
    /// Exposed names in entry order, for tools/list in direct mode.
    pub exposed: Vec<(String, usize, usize)>,
    /// Changes when the set of visible tools (or their definitions) or a
    /// ready backend's description changes.
    pub fingerprint: u64,
    /// Changes when the merged resources, templates or prompts change.
    pub lists_fingerprint: u64,
    /// Every ready, visible tool, indexed for search.
    pub search: GlobalIndex,
    /// Resources, templates and prompts of the ready backends, merged.
    pub merged: Merged,
}

/// Resources, templates and prompts across backends, as clients of `/mcp`
/// see them: prompts as `<backend>__<name>`; resource URIs unchanged unless
/// two backends list the same one, then `mcp-gateway://<backend>/<uri>`
/// (percent-encoded), mapped back on read.
#[derive(Default)]
pub struct Merged {
    /// (exposed key, entry index, item index), per kind.
    pub resources: Vec<(String, usize, usize)>,
    pub templates: Vec<(String, usize, usize)>,
    pub prompts: Vec<(String, usize, usize)>,
    by_uri: HashMap<String, (usize, usize)>,
    by_prompt: HashMap<String, (usize, usize)>,
}

impl Merged {
    fn build(entries: &[Entry]) -> Merged {
        let mut m = Merged::default();
        let mut uri_count: HashMap<&str, usize> = HashMap::new();
        for e in entries.iter().filter(|e| e.is_ready()) {
            for r in &e.lists.resources {
                *uri_count.entry(r.key.as_str()).or_default() += 1;
            }
        }
        for (ei, e) in entries.iter().enumerate().filter(|(_, e)| e.is_ready()) {
            for (ii, r) in e.lists.resources.iter().enumerate() {
                let exposed = if uri_count[r.key.as_str()] > 1 {
                    disambiguated_uri(&e.name, &r.key)
                } else {
                    r.key.clone()
                };
                m.by_uri.insert(exposed.clone(), (ei, ii));
                m.resources.push((exposed, ei, ii));
            }
            for (ii, t) in e.lists.templates.iter().enumerate() {
                m.templates.push((t.key.clone(), ei, ii));
            }
            for (ii, p) in e.lists.prompts.iter().enumerate() {
                let exposed = exposed_name(&e.name, &p.key);
                m.by_prompt.insert(exposed.clone(), (ei, ii));
                m.prompts.push((exposed, ei, ii));
            }
        }
        m
    }

    /// The backend (entry index) and original URI for a URI a client sent:
    /// a listed resource, a disambiguated one, or one under a backend's
    /// template (by the template's literal prefix).
    pub fn resolve_uri(&self, entries: &[Entry], uri: &str) -> Option<(usize, String)> {
        if let Some((ei, ii)) = self.by_uri.get(uri) {
            return Some((*ei, entries[*ei].lists.resources[*ii].key.clone()));
        }
        if let Some((backend, original)) = split_disambiguated(uri) {
            let ei = entries.iter().position(|e| e.name == backend)?;
            return Some((ei, original));
        }
        self.templates
            .iter()
            .filter(|(t, _, _)| {
                let prefix = t.split('{').next().unwrap_or("");
                !prefix.is_empty() && uri.starts_with(prefix)
            })
            .max_by_key(|(t, _, _)| t.split('{').next().unwrap_or("").len())
            .map(|(_, ei, _)| (*ei, uri.to_owned()))
    }

    /// The backend (entry index) and original name of an exposed prompt name.
    pub fn resolve_prompt(&self, entries: &[Entry], name: &str) -> Option<(usize, String)> {
        let (ei, ii) = self.by_prompt.get(name)?;
        Some((*ei, entries[*ei].lists.prompts[*ii].key.clone()))
    }
}

const GATEWAY_URI: &str = "mcp-gateway://";

fn disambiguated_uri(backend: &str, uri: &str) -> String {
    let encoded: String = uri
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("{GATEWAY_URI}{backend}/{encoded}")
}

fn split_disambiguated(uri: &str) -> Option<(&str, String)> {
    let rest = uri.strip_prefix(GATEWAY_URI)?;
    let (backend, encoded) = rest.split_once('/')?;
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some((backend, String::from_utf8(out).ok()?))
}

impl Catalog {
    pub fn build(mut entries: Vec<Entry>) -> Catalog {
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let mut by_exposed = HashMap::new();
        let mut exposed = Vec::new();
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        for (ei, e) in entries.iter().enumerate() {
            if !e.is_ready() {
                continue;
            }
            // The description is searched too (by words, and by meaning as the server's context).
            e.name.hash(&mut hasher);
            e.description.hash(&mut hasher);
            for (ti, t) in e.tools.iter().enumerate().filter(|(_, t)| e.visible(t)) {
                t.raw.get().hash(&mut hasher);
                let name = exposed_name(&e.name, &t.name);
                if by_exposed.insert(name.clone(), (ei, ti)).is_none() {
                    exposed.push((name, ei, ti));
                }
            }
        }
        let search = GlobalIndex::build(&entries);
        let merged = Merged::build(&entries);
        let mut lists_hasher = std::collections::hash_map::DefaultHasher::new();
        for e in entries.iter().filter(|e| e.is_ready()) {
            e.name.hash(&mut lists_hasher);
            for item in e
                .lists
                .resources
                .iter()
                .chain(&e.lists.templates)
                .chain(&e.lists.prompts)
            {
                item.raw.get().hash(&mut lists_hasher);
            }
        }
        Catalog {
            entries,
            by_exposed,
            exposed,
            fingerprint: hasher.finish(),
            lists_fingerprint: lists_hasher.finish(),
            search,
            merged,
        }
    }

    pub fn entry(&self, backend: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == backend)
    }

    /// A tool of a backend, by its own name.
    pub fn tool(&self, backend: &str, tool: &str) -> Option<(&Entry, &Tool)> {
        let e = self.entry(backend)?;
        e.tools
            .iter()
            .find(|t| t.name == tool && e.visible(t))
            .map(|t| (e, t))
    }

    /// Resolve a direct-mode exposed name back to (backend, tool).
    pub fn resolve_exposed(&self, name: &str) -> Option<(&Entry, &Tool)> {
        let (ei, ti) = *self.by_exposed.get(name)?;
        let e = &self.entries[ei];
        Some((e, &e.tools[ti]))
    }

    pub fn tool_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.is_ready())
            .map(|e| e.tools.len())
            .sum()
    }

    pub fn ready_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_ready()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_backend_description_is_a_catalog_change() {
        // Search reads descriptions (words, and the server's context by
        // meaning), so vectors aligned to the old catalog must not pass.
        let page = parse_tools_page(&mcp_wire::raw(
            &serde_json::json!({"tools": [{"name": "t", "inputSchema": {"type": "object"}}]}),
        ))
        .unwrap();
        let built = |description: &str| {
            Catalog::build(vec![Entry::offline("s", description, page.tools.clone())]).fingerprint
        };
        assert_eq!(built("Notes"), built("Notes"));
        assert_ne!(built("Notes"), built("Calendar"));
    }

    #[test]
    fn disambiguated_uris_reverse() {
        for uri in [
            "test://static-text",
            "file:///tmp/a b.txt",
            "x://y?z=%41&q=1",
        ] {
            let d = disambiguated_uri("files", uri);
            assert!(d.starts_with("mcp-gateway://files/"), "{d}");
            assert_eq!(split_disambiguated(&d), Some(("files", uri.to_owned())));
        }
    }
}
