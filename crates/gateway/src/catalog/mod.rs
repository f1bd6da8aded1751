//! The merged view of every backend: a snapshot rebuilt on change and
//! swapped atomically, so a reader never sees half an update.
//!
//! - [`tool`]: a tool definition kept raw for forwarding, plus the few parsed
//!   fields the gateway reasons about.
//! - [`naming`]: the reversible rule for exposing backend tools under one
//!   namespace when meta-tools are off.

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
    /// Changes when the set of visible tools (or their definitions) changes.
    pub fingerprint: u64,
    /// Every ready, visible tool, indexed for search.
    pub search: GlobalIndex,
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
            e.name.hash(&mut hasher);
            for (ti, t) in e.tools.iter().enumerate().filter(|(_, t)| e.visible(t)) {
                t.raw.get().hash(&mut hasher);
                let name = exposed_name(&e.name, &t.name);
                if by_exposed.insert(name.clone(), (ei, ti)).is_none() {
                    exposed.push((name, ei, ti));
                }
            }
        }
        let search = GlobalIndex::build(&entries);
        Catalog {
            entries,
            by_exposed,
            exposed,
            fingerprint: hasher.finish(),
            search,
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
