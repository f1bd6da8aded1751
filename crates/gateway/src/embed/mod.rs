//! Search by meaning, the I/O half: an OpenAI-compatible embeddings
//! endpoint (`meta_mcp.embeddings`) turns tool texts and queries into
//! vectors. The ranking itself is pure, in `search::meaning`.
//!
//! - Each tool's text and each backend's (`search::meaning::server_text`)
//!   is embedded; a tool ranks by the mean of its vector and its backend's.
//! - Vectors are kept by a hash of the text they were made from, so a
//!   catalog change embeds only the tools that are new or changed. Vectors
//!   of tools that left are dropped once they outnumber the listed tools
//!   (plus [`SPARE_VECTORS`]): a backend that restarts gets its own back.
//! - After each refresh the vectors are published aligned to the catalog's
//!   documents, tagged with its tool fingerprint. A search uses them only
//!   while that fingerprint is current; otherwise, and whenever the endpoint
//!   fails or is slower than `timeout`, it ranks by words alone.
//! - A reload that changes the endpoint, model or prefixes drops every
//!   vector: another model's vectors do not compare.
//! - With `cache` set, the vectors outlive the process ([`cache`]).

mod cache;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Notify;

use crate::catalog::Catalog;
use crate::config::Embeddings;
use crate::gateway::Gateway;
use crate::search::meaning::{
    document_text, in_context, normalized, query_text, server_text, Quantized, ToolVectors,
};

/// A batch of tool texts may take this long at least, whatever `timeout` says.
const MIN_BATCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of an embeddings answer per input text (about 6,000 floats as JSON).
const MAX_ANSWER_PER_INPUT: usize = 128 * 1024;
/// Vectors of tools no longer listed are dropped once there are more of
/// them than listed tools plus this many.
const SPARE_VECTORS: usize = 1024;
/// Waits between failed refreshes: doubled from the first up to the last.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);

pub struct Embedder {
    client: reqwest::Client,
    state: Mutex<State>,
    /// The tool vectors of the last refreshed catalog, by global document id.
    aligned: ArcSwapOption<Aligned>,
    /// Wakes the refresher when the config changes.
    wake: Arc<Notify>,
}

struct State {
    config: Option<Embeddings>,
    /// Bumped by every config change; a refresh that began under another
    /// generation keeps nothing.
    generation: u64,
    /// Tool vectors by the hash of the tool's document text.
    vectors: HashMap<u64, Arc<Quantized>>,
    /// The last failure (tools or a query), until the next success.
    error: Option<String>,
}

/// How search by meaning is doing, for `/health`.
#[derive(Debug, serde::Serialize, PartialEq)]
pub struct Status {
    /// `ready` (every listed tool has a vector), `embedding`, or `failing`.
    pub state: &'static str,
    /// Listed tools that have a vector.
    pub tools_embedded: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub struct Aligned {
    /// The catalog fingerprint these vectors were aligned to.
    pub fingerprint: u64,
    pub vectors: ToolVectors,
    pub weight: f64,
}

#[derive(Clone, Copy)]
enum Side {
    Query,
    Document,
}

impl Embedder {
    pub fn new(client: reqwest::Client, config: Option<Embeddings>) -> Embedder {
        Embedder {
            client,
            state: Mutex::new(State {
                vectors: cached(config.as_ref()),
                config,
                generation: 0,
                error: None,
            }),
            aligned: ArcSwapOption::empty(),
            wake: Arc::new(Notify::new()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Apply `meta_mcp.embeddings` after a reload. Another endpoint, model
    /// or prefix drops every vector; a new weight or timeout keeps them.
    pub fn configure(&self, config: Option<Embeddings>) {
        let mut s = self.state();
        if s.config == config {
            return;
        }
        let identity = |c: &Option<Embeddings>| c.as_ref().map(cache::identity);
        if identity(&s.config) != identity(&config) {
            s.vectors = cached(config.as_ref());
            s.error = None;
        }
        s.config = config;
        s.generation += 1;
        self.aligned.store(None);
        drop(s);
        self.wake.notify_one();
    }

    /// What a search of `catalog` ranks meaning by: the tool vectors and
    /// the query's vector, or `None` to rank by words alone (no endpoint,
    /// vectors not yet made for this catalog, or the endpoint failed).
    pub async fn for_query(
        &self,
        catalog: &Catalog,
        query: &str,
    ) -> Option<(Arc<Aligned>, Quantized)> {
        let config = self.state().config.clone()?;
        let current = self.aligned.load_full();
        let usable =
            |a: &Arc<Aligned>| a.fingerprint == catalog.fingerprint && a.vectors.count() > 0;
        let Some(aligned) = current.filter(usable) else {
            tracing::debug!("no tool vectors for this catalog yet; search by words alone");
            return None;
        };
        let text = format!(
            "{}{}",
            config.query_prefix,
            query_text(query, &catalog.search)
        );
        let asked = self.request(&config, vec![text], Side::Query);
        let failure = match tokio::time::timeout(config.timeout, asked).await {
            Ok(Ok(mut v)) => {
                self.state().error = None;
                return v.pop().map(|q| (aligned, Quantized::new(&q)));
            }
            Ok(Err(e)) => format!("query not embedded: {e}"),
            Err(_) => format!("query not embedded in time ({:?})", config.timeout),
        };
        tracing::warn!("{failure}; search by words alone");
        self.state().error = Some(failure);
        None
    }

    /// How search by meaning is doing over `catalog`; `None` when it is off.
    pub fn status(&self, catalog: &Catalog) -> Option<Status> {
        let error = {
            let s = self.state();
            s.config.as_ref()?;
            s.error.clone()
        };
        let tools_embedded = self
            .aligned
            .load()
            .as_ref()
            .filter(|a| a.fingerprint == catalog.fingerprint)
            .map_or(0, |a| a.vectors.count());
        let state = match (&error, tools_embedded == catalog.search.doc_count()) {
            (Some(_), _) => "failing",
            (None, true) => "ready",
            (None, false) => "embedding",
        };
        Some(Status {
            state,
            tools_embedded,
            error,
        })
    }

    /// Embed the tools and backends of `catalog` that have no vector yet and
    /// publish the tools' vectors in context, aligned to it. A batch that
    /// fails does not hold back the others: what was embedded is published,
    /// then the first error returned. Returns how many texts were embedded.
    pub async fn refresh(&self, catalog: &Catalog) -> Result<usize, String> {
        let (config, generation) = {
            let s = self.state();
            match &s.config {
                Some(c) => (c.clone(), s.generation),
                None => return Ok(0),
            }
        };
        let keyed = |text: String| (cache::key(&text), text);
        let docs: Vec<(u64, String)> = catalog
            .search
            .docs
            .iter()
            .map(|&(ei, ti)| {
                keyed(document_text(
                    &catalog.entries[ei as usize].tools[ti as usize],
                ))
            })
            .collect();
        // By entry; only backends with a listed tool (a backend still
        // starting has nothing to put in context yet).
        let mut servers: Vec<Option<(u64, String)>> = vec![None; catalog.entries.len()];
        for &(ei, _) in &catalog.search.docs {
            let e = &catalog.entries[ei as usize];
            servers[ei as usize].get_or_insert_with(|| keyed(server_text(&e.name, &e.description)));
        }
        let missing: Vec<(u64, String)> = {
            let s = self.state();
            let mut seen = HashSet::new();
            servers
                .iter()
                .flatten()
                .chain(&docs)
                .filter(|(k, _)| !s.vectors.contains_key(k) && seen.insert(*k))
                .cloned()
                .collect()
        };
        let mut embedded = 0;
        let mut failure = None;
        for batch in missing.chunks(config.batch_size) {
            let texts = batch
                .iter()
                .map(|(_, t)| format!("{}{t}", config.document_prefix))
                .collect();
            let asked = self.request(&config, texts, Side::Document);
            let vectors = match tokio::time::timeout(config.timeout.max(MIN_BATCH_TIMEOUT), asked)
                .await
                .unwrap_or_else(|_| Err("tool texts not embedded in time".to_owned()))
            {
                Ok(v) => v,
                Err(e) => {
                    failure.get_or_insert(e);
                    continue;
                }
            };
            let mut s = self.state();
            if s.generation != generation {
                return Ok(0);
            }
            for ((k, _), v) in batch.iter().zip(vectors) {
                s.vectors.insert(*k, Arc::new(Quantized::new(&v)));
            }
            embedded += batch.len();
        }
        let mut s = self.state();
        if s.generation != generation {
            return Ok(0);
        }
        // Vectors of tools that are gone stay while they are few: a backend
        // that restarts, or is not ready yet at startup, gets its own back.
        let before = s.vectors.len();
        let listed = docs.len() + servers.len();
        if before > listed * 2 + SPARE_VECTORS {
            let keep: HashSet<u64> = servers
                .iter()
                .flatten()
                .chain(&docs)
                .map(|(k, _)| *k)
                .collect();
            s.vectors.retain(|k, _| keep.contains(k));
        }
        let changed = embedded > 0 || s.vectors.len() != before;
        let file = config
            .cache
            .as_ref()
            .filter(|_| changed)
            .map(|path| (path, cache::encode(&cache::identity(&config), &s.vectors)));
        let by_doc: Vec<_> = docs
            .iter()
            .zip(&catalog.search.docs)
            .map(|((k, _), &(ei, _))| {
                let server = servers[ei as usize]
                    .as_ref()
                    .and_then(|(k, _)| s.vectors.get(k));
                let tool = s.vectors.get(k)?;
                Some(Arc::new(in_context(tool, server.map(|v| &**v))))
            })
            .collect();
        drop(s);
        if let Some((path, bytes)) = file {
            cache::save(path, &bytes);
        }
        self.aligned.store(Some(Arc::new(Aligned {
            fingerprint: catalog.fingerprint,
            vectors: ToolVectors::new(&by_doc),
            weight: config.weight,
        })));
        failure.map_or(Ok(embedded), Err)
    }

    /// One request to the endpoint: unit-length vectors, one per text, in order.
    async fn request(
        &self,
        config: &Embeddings,
        texts: Vec<String>,
        side: Side,
    ) -> Result<Vec<Vec<f32>>, String> {
        let n = texts.len();
        let mut body = json!({ "input": texts });
        if config.input_type {
            body["input_type"] = json!(match side {
                Side::Query => "query",
                Side::Document => "document",
            });
        }
        if !config.model.is_empty() {
            body["model"] = json!(config.model);
        }
        let mut resp = self
            .client
            .post(&config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| format!("request failed: {}", e.without_url()))?;
        let status = resp.status();
        let limit = MAX_ANSWER_PER_INPUT * n;
        let mut bytes = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| format!("answer cut off: {}", e.without_url()))?
        {
            if bytes.len() + chunk.len() > limit {
                return Err(format!("answer larger than {limit} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            let text: String = text.chars().take(200).collect();
            return Err(format!("HTTP {status}: {text}"));
        }
        vectors_of(&bytes, n)
    }
}

/// The vectors of an embeddings answer (`{"data": [{"index", "embedding"}]}`),
/// in input order, checked: one per input, all of one dimension, usable.
fn vectors_of(answer: &[u8], inputs: usize) -> Result<Vec<Vec<f32>>, String> {
    #[derive(Deserialize)]
    struct Answer {
        data: Vec<Item>,
    }
    #[derive(Deserialize)]
    struct Item {
        index: usize,
        embedding: Vec<f32>,
    }
    let answer: Answer =
        serde_json::from_slice(answer).map_err(|e| format!("not an embeddings answer: {e}"))?;
    let mut out: Vec<Option<Vec<f32>>> = vec![None; inputs];
    for item in answer.data {
        let slot = out
            .get_mut(item.index)
            .ok_or_else(|| format!("answer has index {} for {inputs} inputs", item.index))?;
        *slot = Some(normalized(item.embedding).ok_or("answer has a zero or non-finite vector")?);
    }
    let out: Vec<Vec<f32>> = out
        .into_iter()
        .collect::<Option<_>>()
        .ok_or_else(|| format!("answer lacks vectors for some of {inputs} inputs"))?;
    if out.windows(2).any(|w| w[0].len() != w[1].len()) {
        return Err("answer mixes vector dimensions".into());
    }
    Ok(out)
}

/// The vectors `config`'s cache file holds for its endpoint (none without one).
fn cached(config: Option<&Embeddings>) -> HashMap<u64, Arc<Quantized>> {
    match config {
        Some(
            c @ Embeddings {
                cache: Some(path), ..
            },
        ) => cache::load(path, &cache::identity(c)),
        _ => HashMap::new(),
    }
}

/// Keep the tool vectors of `gw`'s catalog fresh: after every change of
/// the visible tools or of the config, and again after a failure (backing off).
pub fn spawn_refresher(gw: Weak<Gateway>) {
    let Some(g) = gw.upgrade() else { return };
    let mut changed = g.subscribe_tools_changed();
    let wake = g.embedder().wake.clone();
    drop(g);
    tokio::spawn(async move {
        let mut retry = RETRY_FIRST;
        loop {
            let Some(g) = gw.upgrade() else { return };
            changed.borrow_and_update();
            let catalog = g.catalog();
            let failed = match g.embedder().refresh(&catalog).await {
                Ok(0) => false,
                Ok(n) => {
                    tracing::info!(texts = n, "tools embedded for search by meaning");
                    g.embedder().state().error = None;
                    false
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?retry, "tools not embedded; search by words alone until they are");
                    g.embedder().state().error = Some(format!("tools not embedded: {e}"));
                    true
                }
            };
            drop(g);
            if failed {
                tokio::time::sleep(retry).await;
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
            retry = RETRY_FIRST;
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                () = wake.notified() => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An endpoint that answers every request with `answer` (status 200).
    async fn answering(answer: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/embeddings", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = sock.read(&mut buf).await;
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                answer.len()
            );
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&answer).await;
        });
        url
    }

    #[tokio::test]
    async fn an_answer_larger_than_its_bound_is_refused_not_read_whole() {
        let huge = format!(
            r#"{{"data":[{{"index":0,"embedding":[{}1]}}]}}"#,
            "0,".repeat(100_000)
        );
        let url = answering(huge.into_bytes()).await;
        let embedder = Embedder::new(reqwest::Client::new(), None);
        let err = embedder
            .request(&Embeddings::new(url), vec!["a".into()], Side::Query)
            .await
            .unwrap_err();
        assert_eq!(
            err,
            format!("answer larger than {MAX_ANSWER_PER_INPUT} bytes")
        );

        let url = answering(br#"{"data":[{"index":0,"embedding":[3,4]}]}"#.to_vec()).await;
        let got = embedder
            .request(&Embeddings::new(url), vec!["a".into()], Side::Query)
            .await
            .unwrap();
        assert_eq!(got, vec![vec![0.6, 0.8]]);
    }

    /// An endpoint that embeds each text by `rule`, over as many requests
    /// and connections as it is sent.
    async fn embedding_by(rule: fn(&str) -> Vec<f32>) -> String {
        use axum::Json;
        let embed = move |Json(body): Json<serde_json::Value>| async move {
            let texts = body["input"].as_array().cloned().unwrap_or_default();
            let data: Vec<_> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| json!({"index": i, "embedding": rule(t.as_str().unwrap())}))
                .collect();
            Json(json!({ "data": data }))
        };
        let app = axum::Router::new().route("/v1/embeddings", axum::routing::post(embed));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1/embeddings", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn a_tool_ranks_by_meaning_in_its_servers_context() {
        use crate::catalog::{parse_tools_page, Entry};
        use crate::search::{meaning::Meaning, search_with_meaning};
        // Two servers list the same tool: only the servers' texts tell them apart.
        let tools = json!({"tools": [{"name": "add_item", "description": "Add an item.", "inputSchema": {"type": "object"}}]});
        let entry = |name: &str, description: &str| {
            let page = parse_tools_page(&mcp_wire::raw(&tools)).unwrap();
            Entry::offline(name, description, page.tools)
        };
        let catalog = Catalog::build(vec![
            entry("notes", "Plain text notes"),
            entry("schedule", "Calendar of events"),
        ]);
        let url = embedding_by(|text| match text {
            "notes. Plain text notes" => vec![0.0, 1.0, 0.0],
            "schedule. Calendar of events" => vec![1.0, 0.0, 0.0],
            "add item. Add an item." => vec![0.0, 0.0, 1.0],
            _ => vec![0.6, 0.0, 0.8], // the query
        })
        .await;
        let embedder = Embedder::new(reqwest::Client::new(), Some(Embeddings::new(url)));
        assert_eq!(
            embedder.refresh(&catalog).await,
            Ok(3),
            "two servers, one tool text"
        );

        let query = "on friday at noon";
        let (aligned, vector) = embedder.for_query(&catalog, query).await.unwrap();
        let meaning = Meaning {
            query: &vector,
            docs: &aligned.vectors,
            weight: aligned.weight,
        };
        let hits = search_with_meaning(&catalog, query, &meaning, 5);
        let got: Vec<_> = hits
            .iter()
            .map(|m| (m.entry.name.as_str(), m.similarity.unwrap()))
            .collect();
        // The mean of the query's cosines with tool and server: (0.8 + 0.6) / 2
        // against (0.8 + 0) / 2, the second below average, so not ranked.
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "schedule");
        assert!((got[0].1 - 0.7).abs() < 0.01, "{got:?}");
        let tool = aligned.vectors.similarities(&vector, 1)[0].unwrap();
        assert!((tool - 0.4).abs() < 0.01);
    }

    #[tokio::test]
    async fn a_backend_not_ready_yet_is_not_embedded() {
        use crate::catalog::{parse_tools_page, Entry};
        use crate::upstream::{State, Status};
        let tools = json!({"tools": [{"name": "add_item", "inputSchema": {"type": "object"}}]});
        let mut entry = Entry::offline(
            "notes",
            "",
            parse_tools_page(&mcp_wire::raw(&tools)).unwrap().tools,
        );
        entry.status = Arc::new(Status {
            state: State::Starting,
            reason: None,
            init: None,
            transport: "stdio",
            connects: 0,
        });
        let url = embedding_by(|_| vec![1.0, 0.0]).await;
        let embedder = Embedder::new(reqwest::Client::new(), Some(Embeddings::new(url)));
        // Its server text alone would be embedded for nothing, and the log
        // would say tools were embedded before any was.
        assert_eq!(embedder.refresh(&Catalog::build(vec![entry])).await, Ok(0));
    }

    #[test]
    fn answers_are_read_in_input_order_and_checked() {
        let a = br#"{"data":[{"index":1,"embedding":[0,2]},{"index":0,"embedding":[3,4]}]}"#;
        assert_eq!(
            vectors_of(a, 2).unwrap(),
            vec![vec![0.6, 0.8], vec![0.0, 1.0]]
        );
        let short = br#"{"data":[{"index":0,"embedding":[1,0]}]}"#;
        assert!(vectors_of(short, 2).unwrap_err().contains("lacks"));
        let beyond = br#"{"data":[{"index":2,"embedding":[1,0]}]}"#;
        assert!(vectors_of(beyond, 1).unwrap_err().contains("index 2"));
        let mixed = br#"{"data":[{"index":0,"embedding":[1,0]},{"index":1,"embedding":[1]}]}"#;
        assert!(vectors_of(mixed, 2).unwrap_err().contains("dimensions"));
        let zero = br#"{"data":[{"index":0,"embedding":[0,0]}]}"#;
        assert!(vectors_of(zero, 1).unwrap_err().contains("zero"));
        assert!(vectors_of(b"{}", 1)
            .unwrap_err()
            .contains("not an embeddings answer"));
    }
}
