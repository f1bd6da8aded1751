//! The running gateway: its backends, and the catalog built from them.
//!
//! Every backend change (state, tools) rebuilds the catalog snapshot under a
//! lock and swaps it in atomically; readers load the current `Arc<Catalog>`
//! without locking. A generation counter ticks when the tools a client can
//! see change, so open client streams can send `tools/list_changed`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::catalog::{Catalog, Entry};
use crate::config::Config;
use crate::upstream::{Backend, LinkOptions};

pub struct Gateway {
    pub config: Config,
    backends: BTreeMap<String, Arc<Backend>>,
    catalog: ArcSwap<Catalog>,
    rebuild: Mutex<()>,
    /// Ticks when the visible tool set changes.
    tools_changed: watch::Sender<u64>,
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
                .map(|b| {
                    let me = me.clone();
                    let on_change: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
                        if let Some(gw) = me.upgrade() {
                            gw.rebuild_catalog();
                        }
                    });
                    let opts = LinkOptions {
                        max_message_size: config.server.max_body_size.max(16 << 20),
                        connect_timeout: b.timeout.max(Duration::from_secs(10)),
                    };
                    (
                        b.name.clone(),
                        Backend::new(
                            b.clone(),
                            client.clone(),
                            opts,
                            config.meta_mcp.tool_cache_ttl,
                            on_change,
                        ),
                    )
                })
                .collect();
            Gateway {
                config,
                backends,
                catalog: ArcSwap::from_pointee(Catalog::default()),
                rebuild: Mutex::new(()),
                tools_changed: watch::Sender::new(0),
            }
        })
    }

    /// Start every backend's actor (lazy ones wait for their first call).
    pub fn start(&self) {
        self.rebuild_catalog();
        for b in self.backends.values() {
            b.spawn();
        }
    }

    /// Stop every backend in parallel: children get stdin closed, SIGTERM, SIGKILL.
    pub async fn shutdown(&self) {
        let stops = self.backends.values().map(|b| b.shutdown());
        futures_util::future::join_all(stops).await;
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.load_full()
    }

    pub fn backend(&self, name: &str) -> Option<&Arc<Backend>> {
        self.backends.get(name)
    }

    pub fn backend_names(&self) -> Vec<String> {
        self.backends.keys().cloned().collect()
    }

    pub fn subscribe_tools_changed(&self) -> watch::Receiver<u64> {
        self.tools_changed.subscribe()
    }

    fn rebuild_catalog(&self) {
        let _guard = self.rebuild.lock().unwrap_or_else(|p| p.into_inner());
        let entries = self
            .backends
            .values()
            .map(|b| Entry {
                name: b.name().to_owned(),
                description: b.config.description.clone(),
                status: b.status(),
                tools: b.tools(),
                index: b.index(),
                hidden: b.hidden.clone(),
            })
            .collect();
        let next = Catalog::build(entries);
        let changed = next.fingerprint != self.catalog.load().fingerprint;
        self.catalog.store(Arc::new(next));
        if changed {
            self.tools_changed.send_modify(|g| *g += 1);
        }
    }
}
