//! The running gateway: its config, its backends, and the catalog built
//! from them.
//!
//! Every backend change (state, tools) rebuilds the catalog snapshot under a
//! lock and swaps it in atomically; readers load the current `Arc<Catalog>`
//! without locking. A generation counter ticks when the tools a client can
//! see change, so open client streams can send `tools/list_changed`.
//!
//! [`Gateway::reload`] applies a new config while running: unchanged
//! backends are not touched, added ones start, removed ones stop, changed
//! ones are replaced; client sessions live on.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

use crate::catalog::{Catalog, Entry};
use crate::config::{BackendConfig, Config};
use crate::embed::Embedder;
use crate::router::CLIENT_ANSWER_TIMEOUT;
use crate::session::{capability_for, Session};
use crate::upstream::{Backend, Hooks, LinkOptions, Reply};
use mcp_wire::Message;

pub struct Gateway {
    config: ArcSwap<Config>,
    backends: ArcSwap<BTreeMap<String, Arc<Backend>>>,
    catalog: ArcSwap<Catalog>,
    rebuild: Mutex<()>,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Ticks when the visible tool set changes.
    tools_changed: watch::Sender<u64>,
    /// Ticks when the merged resources, templates or prompts change.
    lists_changed: watch::Sender<u64>,
    client: reqwest::Client,
    me: Weak<Gateway>,
    /// Who subscribed to which backend resource: (backend, its URI) -> subscribers.
    subscribers: Mutex<HashMap<(String, String), Vec<Subscriber>>>,
    /// Every client session, for backend messages that belong to no call.
    clients: Mutex<Vec<Weak<Session>>>,
    /// Tasks clients started, by the backend's task id.
    tasks: Mutex<HashMap<String, TaskOwner>>,
    /// Tool and query vectors for search by meaning (`meta_mcp.embeddings`).
    embedder: Embedder,
}

/// Where a task runs and whose it is.
struct TaskOwner {
    backend: String,
    session_id: String,
    session: Weak<Session>,
}

/// Most tasks remembered at once; past it, tasks of ended sessions go first.
const MAX_TASKS: usize = 10_000;

/// A client session subscribed to a resource, and the URI it knows it by.
struct Subscriber {
    session: Weak<Session>,
    uri: String,
}

/// What a reload did, by backend name.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct ReloadReport {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: Vec<String>,
    /// Sections whose changes only take effect after a restart (`server`).
    pub needs_restart: Vec<String>,
}

impl Gateway {
    /// Build the gateway and its backends (not started: see [`Gateway::start`]).
    pub fn new(config: Config) -> Arc<Gateway> {
        Arc::new_cyclic(|me: &Weak<Gateway>| {
            let client = reqwest::Client::builder()
                .pool_idle_timeout(Duration::from_secs(90))
                .connect_timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default();
            let backends = config
                .backends
                .values()
                .map(|b| (b.name.clone(), make_backend(me, &client, &config, b)))
                .collect();
            Gateway {
                embedder: Embedder::new(client.clone(), config.meta_mcp.embeddings.clone()),
                config: ArcSwap::from_pointee(config),
                backends: ArcSwap::from_pointee(backends),
                catalog: ArcSwap::from_pointee(Catalog::default()),
                rebuild: Mutex::new(()),
                reloading: tokio::sync::Mutex::new(()),
                tools_changed: watch::Sender::new(0),
                lists_changed: watch::Sender::new(0),
                client,
                me: me.clone(),
                subscribers: Mutex::new(HashMap::new()),
                clients: Mutex::new(Vec::new()),
                tasks: Mutex::new(HashMap::new()),
            }
        })
    }

    /// The config in force now.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    /// Start every backend's actor (lazy ones wait for their first call).
    pub fn start(&self) {
        self.rebuild_catalog();
        crate::embed::spawn_refresher(self.me.clone());
        for b in self.backends.load().values() {
            b.spawn();
        }
    }

    /// Stop every backend in parallel: children get stdin closed, SIGTERM, SIGKILL.
    pub async fn shutdown(&self) {
        let backends = self.backends.load_full();
        futures_util::future::join_all(backends.values().map(|b| b.shutdown())).await;
    }

    /// Apply a new config: start added backends, stop removed ones, replace
    /// changed ones, leave the rest alone. The catalog is swapped once, at the end.
    pub async fn reload(&self, next: Config) -> ReloadReport {
        let _one = self.reloading.lock().await;
        let current = self.backends.load_full();
        let old_config = self.config();
        let mut report = ReloadReport::default();
        if old_config.server != next.server {
            report.needs_restart.push("server".into());
        }
        let mut map = BTreeMap::new();
        let mut stopping = Vec::new();
        let mut starting = Vec::new();
        for (name, cfg) in &next.backends {
            match current.get(name) {
                Some(b) if b.config == *cfg => {
                    report.unchanged.push(name.clone());
                    map.insert(name.clone(), b.clone());
                }
                existing => {
                    if let Some(old) = existing {
                        report.changed.push(name.clone());
                        stopping.push(old.clone());
                    } else {
                        report.added.push(name.clone());
                    }
                    let b = make_backend(&self.me, &self.client, &next, cfg);
                    starting.push(b.clone());
                    map.insert(name.clone(), b);
                }
            }
        }
        for (name, b) in current.iter() {
            if !next.backends.contains_key(name) {
                report.removed.push(name.clone());
                stopping.push(b.clone());
            }
        }
        self.embedder.configure(next.meta_mcp.embeddings.clone());
        self.config.store(Arc::new(next));
        self.backends.store(Arc::new(map));
        for b in &starting {
            b.spawn();
        }
        self.rebuild_catalog();
        futures_util::future::join_all(stopping.iter().map(|b| b.shutdown())).await;
        tracing::info!(added = ?report.added, removed = ?report.removed, changed = ?report.changed, unchanged = report.unchanged.len(), "config reloaded");
        report
    }

    /// Remember that `session` subscribed to `uri` of `backend` (known to the
    /// client as `client_uri`).
    pub fn subscribe(&self, backend: &str, uri: &str, session: &Arc<Session>, client_uri: &str) {
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        let list = subs
            .entry((backend.to_owned(), uri.to_owned()))
            .or_default();
        list.retain(|s| {
            s.session
                .upgrade()
                .is_some_and(|live| live.id != session.id)
        });
        list.push(Subscriber {
            session: Arc::downgrade(session),
            uri: client_uri.to_owned(),
        });
    }

    /// Forget a subscription; true when nobody else is subscribed to that
    /// resource (so the backend may be told to stop sending updates).
    pub fn unsubscribe(&self, backend: &str, uri: &str, session_id: &str) -> bool {
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        let key = (backend.to_owned(), uri.to_owned());
        let Some(list) = subs.get_mut(&key) else {
            return true;
        };
        list.retain(|s| {
            s.session
                .upgrade()
                .is_some_and(|live| live.id != session_id)
        });
        let last = list.is_empty();
        if last {
            subs.remove(&key);
        }
        last
    }

    /// A client session started: backend requests that belong to no call
    /// may be asked of it.
    pub fn register_client(&self, session: &Arc<Session>) {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        clients.retain(|c| c.strong_count() > 0);
        clients.push(Arc::downgrade(session));
    }

    /// A backend request that belongs to no call (roots/list after a
    /// client's roots/list_changed, a ping, ...) goes to the one client
    /// session that can answer it: its scope covers the backend, it declared
    /// the capability, and its stream is open. With none, or several, it is
    /// None: never a broadcast, never a guess.
    fn ask_one_client(&self, backend: &str, msg: Message) -> Option<oneshot::Receiver<Reply>> {
        let needs = capability_for(msg.method());
        let mut able: Vec<(Arc<Session>, mpsc::Sender<Message>)> = {
            let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
            clients.retain(|c| c.strong_count() > 0);
            clients
                .iter()
                .filter_map(Weak::upgrade)
                .filter(|s| s.scope.covers(backend) && needs.is_none_or(|c| s.declared(c)))
                .filter_map(|s| s.stream().map(|out| (s, out)))
                .collect()
        };
        if able.len() != 1 {
            tracing::debug!(
                backend,
                method = msg.method(),
                clients = able.len(),
                "backend request for no call: not exactly one client can answer"
            );
            return None;
        }
        let (session, out) = able.pop()?;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let reply = match session.ask_on(&out, msg).await {
                Err(refused) => refused,
                Ok((id, answer)) => session.answer_of(id, answer, CLIENT_ANSWER_TIMEOUT).await,
            };
            let _ = tx.send(reply);
        });
        Some(rx)
    }

    /// A backend notification that belongs to no call.
    fn on_backend_notification(&self, backend: &str, msg: Message) {
        match msg.method() {
            "notifications/resources/updated" => self.deliver_update(backend, msg),
            "notifications/tasks/status" => self.deliver_task_status(backend, msg),
            method => tracing::debug!(backend, method, "backend notification"),
        }
    }

    /// `session` started task `task_id` on `backend`.
    pub fn task_created(&self, task_id: &str, backend: &str, session: &Arc<Session>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        if tasks.len() >= MAX_TASKS {
            tasks.retain(|_, t| t.session.strong_count() > 0);
            if tasks.len() >= MAX_TASKS {
                tracing::warn!("{MAX_TASKS} tasks remembered; forgetting them all");
                tasks.clear();
            }
        }
        tasks.insert(
            task_id.to_owned(),
            TaskOwner {
                backend: backend.to_owned(),
                session_id: session.id.clone(),
                session: Arc::downgrade(session),
            },
        );
    }

    /// The backend running task `task_id`, if session `session_id` owns it.
    pub fn task_backend(&self, task_id: &str, session_id: &str) -> Option<String> {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks
            .get(task_id)
            .filter(|t| t.session_id == session_id)
            .map(|t| t.backend.clone())
    }

    /// Session `session_id`'s tasks: (task id, backend).
    pub fn tasks_of(&self, session_id: &str) -> Vec<(String, String)> {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks
            .iter()
            .filter(|(_, t)| t.session_id == session_id)
            .map(|(id, t)| (id.clone(), t.backend.clone()))
            .collect()
    }

    /// A task's status change: to the session that started it, only.
    fn deliver_task_status(&self, backend: &str, msg: Message) {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct P {
            task_id: String,
        }
        let Ok(p) = msg.parse_params::<P>() else {
            return;
        };
        let owner = {
            let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            tasks
                .get(&p.task_id)
                .filter(|t| t.backend == backend)
                .and_then(|t| t.session.upgrade())
        };
        match owner {
            Some(session) if session.push(msg) => {}
            _ => {
                tracing::debug!(backend, task = %p.task_id, "task status for no open client stream; dropped")
            }
        }
    }

    /// A backend's notifications/resources/updated: to its subscribers only,
    /// on their streams, under the URI each of them knows.
    fn deliver_update(&self, backend: &str, msg: Message) {
        #[derive(serde::Deserialize)]
        struct P {
            uri: String,
        }
        let Ok(p) = msg.parse_params::<P>() else {
            return;
        };
        let targets: Vec<(Arc<Session>, String)> = {
            let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
            let Some(list) = subs.get_mut(&(backend.to_owned(), p.uri.clone())) else {
                tracing::debug!(backend, uri = %p.uri, "resource update nobody subscribed to");
                return;
            };
            list.retain(|s| s.session.strong_count() > 0);
            list.iter()
                .filter_map(|s| s.session.upgrade().map(|live| (live, s.uri.clone())))
                .collect()
        };
        for (session, uri) in targets {
            let params = msg
                .params
                .as_ref()
                .and_then(|ps| mcp_wire::object::with_member(ps, "uri", &mcp_wire::raw(&uri)));
            if !session.push(Message::notification(
                msg.method(),
                params.or_else(|| msg.params.clone()),
            )) {
                tracing::debug!(session = %session.id, "subscriber has no open stream; update dropped");
            }
        }
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    pub fn backend(&self, name: &str) -> Option<Arc<Backend>> {
        self.backends.load().get(name).cloned()
    }

    pub fn backend_names(&self) -> Vec<String> {
        self.backends.load().keys().cloned().collect()
    }

    pub fn subscribe_tools_changed(&self) -> watch::Receiver<u64> {
        self.tools_changed.subscribe()
    }

    pub fn subscribe_lists_changed(&self) -> watch::Receiver<u64> {
        self.lists_changed.subscribe()
    }

    fn rebuild_catalog(&self) {
        let _guard = self.rebuild.lock().unwrap_or_else(|p| p.into_inner());
        let entries = self
            .backends
            .load()
            .values()
            .map(|b| Entry {
                name: b.name().to_owned(),
                description: b.description(),
                status: b.status(),
                tools: b.tools(),
                index: b.index(),
                hidden: b.hidden.clone(),
                lists: b.lists(),
            })
            .collect();
        let next = merge(entries);
        let prev = self.catalog.load();
        let (tools, lists) = (
            next.fingerprint != prev.fingerprint,
            next.lists_fingerprint != prev.lists_fingerprint,
        );
        self.catalog.store(Arc::new(next));
        if tools {
            self.tools_changed.send_modify(|g| *g += 1);
        }
        if lists {
            self.lists_changed.send_modify(|g| *g += 1);
        }
    }
}

/// Catalogs of this many tools are merged off the runtime: about 5 ms of
/// CPU per 1,000 tools (`search_quality` example), which would hold up
/// every other task of a one-worker runtime meanwhile.
const MERGE_ASIDE_TOOLS: usize = 2_000;

/// [`Catalog::build`]; for a large catalog on a multi-thread runtime (the
/// gateway's), with the worker's other tasks handed to another worker
/// while it runs.
fn merge(entries: Vec<Entry>) -> Catalog {
    use tokio::runtime::{Handle, RuntimeFlavor};
    let tools: usize = entries.iter().map(|e| e.tools.len()).sum();
    let handoff =
        Handle::try_current().is_ok_and(|h| h.runtime_flavor() == RuntimeFlavor::MultiThread);
    if tools >= MERGE_ASIDE_TOOLS && handoff {
        tokio::task::block_in_place(|| Catalog::build(entries))
    } else {
        Catalog::build(entries)
    }
}

/// A backend wired to rebuild the catalog of the gateway `me` on every change.
fn make_backend(
    me: &Weak<Gateway>,
    client: &reqwest::Client,
    config: &Config,
    b: &BackendConfig,
) -> Arc<Backend> {
    let (on_change, on_note, on_ask) = (me.clone(), me.clone(), me.clone());
    let (name, name2) = (b.name.clone(), b.name.clone());
    let hooks = Hooks {
        changed: Arc::new(move || {
            if let Some(gw) = on_change.upgrade() {
                gw.rebuild_catalog();
            }
        }),
        notified: Arc::new(move |msg| {
            if let Some(gw) = on_note.upgrade() {
                gw.on_backend_notification(&name, msg);
            }
        }),
        asked: Arc::new(move |msg| on_ask.upgrade()?.ask_one_client(&name2, msg)),
    };
    let opts = LinkOptions {
        max_message_size: config.server.max_body_size.max(16 << 20),
        connect_timeout: b.timeout.max(Duration::from_secs(10)),
    };
    Backend::new(
        b.clone(),
        client.clone(),
        opts,
        config.meta_mcp.tool_cache_ttl,
        hooks,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn entries(tools: usize) -> Vec<Entry> {
        let list: Vec<serde_json::Value> = (0..tools)
            .map(|i| serde_json::json!({"name": format!("tool_{i}"), "description": format!("Does thing number {i} to widget {}", i % 97), "inputSchema": {"type": "object"}}))
            .collect();
        let page =
            crate::catalog::parse_tools_page(&mcp_wire::raw(&serde_json::json!({ "tools": list })))
                .unwrap();
        vec![Entry::offline("big", "", page.tools)]
    }

    /// With one worker, a large merge must not hold up the other tasks:
    /// a task counting beside it keeps counting while it runs.
    #[test]
    fn a_large_catalog_is_merged_while_other_tasks_go_on() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let ticks = Arc::new(AtomicUsize::new(0));
        let progressed = rt.block_on(async {
            let counter = ticks.clone();
            let ticker = tokio::spawn(async move {
                loop {
                    counter.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            });
            let big = entries(MERGE_ASIDE_TOOLS * 4);
            let seen = ticks.clone();
            let progressed = tokio::spawn(async move {
                let mut progressed = false;
                // Each merge takes milliseconds; the ticker's new worker needs far less.
                for _ in 0..5 {
                    let before = seen.load(Ordering::Relaxed);
                    let catalog = merge(big.clone());
                    assert_eq!(catalog.tool_count(), MERGE_ASIDE_TOOLS * 4);
                    progressed |= seen.load(Ordering::Relaxed) > before;
                }
                progressed
            })
            .await
            .unwrap();
            ticker.abort();
            progressed
        });
        assert!(progressed, "the other task stood still during every merge");
        // Small catalogs, and runtimes without another worker, merge in place.
        let small = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let c = small.block_on(async { merge(entries(MERGE_ASIDE_TOOLS * 2)) });
        assert_eq!(c.tool_count(), MERGE_ASIDE_TOOLS * 2);
    }
}
