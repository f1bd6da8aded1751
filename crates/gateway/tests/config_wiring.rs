//! Every config key does what it says, seen from outside the binary.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[tokio::test]
async fn stdio_command_args_env_and_cwd_reach_the_child() {
    let f = fault_fixture();
    let dir = tempfile::tempdir().unwrap();
    let (_gw, mut c) = Gateway::ready(&format!(
        "backends:\n  kid:\n    command: \"{f} --introspection-tools --name 'two words'\"\n    args: [--page-size, '50']\n    env: {{GREETING: hello from env}}\n    cwd: {}\n",
        dir.path().display()
    ), &["kid"]).await;
    assert_eq!(
        text(
            &c.invoke("kid", "get_env", json!({"name": "GREETING"}))
                .await
        ),
        "hello from env"
    );
    assert_eq!(
        text(&c.invoke("kid", "get_cwd", json!({})).await),
        dir.path().canonicalize().unwrap().display().to_string()
    );
    let argv: Vec<String> =
        serde_json::from_str(text(&c.invoke("kid", "get_argv", json!({})).await)).unwrap();
    assert_eq!(
        &argv[1..],
        [
            "--introspection-tools",
            "--name",
            "two words",
            "--page-size",
            "50"
        ]
    );
}

#[tokio::test]
async fn http_and_websocket_backends_send_the_configured_headers() {
    let (hp, wp) = (free_port(), free_port());
    let _http = fixture_server(&[
        "--http",
        "--port",
        &hp.to_string(),
        "--require-header",
        "X-Api-Key: k-123",
    ]);
    let _ws = fixture_server(&[
        "--ws",
        "--port",
        &wp.to_string(),
        "--require-header",
        "Authorization: Bearer w-456",
    ]);
    let gw = Gateway::start(&format!(
        "backends:\n  h:\n    http_url: http://127.0.0.1:{hp}/mcp\n    headers: {{X-Api-Key: k-123}}\n  w:\n    ws_url: ws://127.0.0.1:{wp}/ws\n    headers: {{Authorization: Bearer w-456}}\n  nokey:\n    http_url: http://127.0.0.1:{hp}/mcp\n"
    ));
    gw.wait_ready(&["h", "w"]).await;
    let h = gw
        .wait_health("nokey failed", |h| {
            h["backends"]["nokey"]["state"] == "failed"
        })
        .await;
    assert!(
        h["backends"]["nokey"]["reason"]
            .as_str()
            .unwrap()
            .contains("401"),
        "{h}"
    );
    let mut c = Client::connect(gw.url("/mcp")).await;
    assert_eq!(
        text(&c.invoke("h", "echo", json!({"message": "with key"})).await),
        "with key"
    );
    assert_eq!(
        text(
            &c.invoke("w", "echo", json!({"message": "with bearer"}))
                .await
        ),
        "with bearer"
    );
}

#[tokio::test]
async fn credentials_in_an_http_url_are_sent_as_basic_auth() {
    let port = free_port();
    // "user:s3cret" in base64.
    let _fx = fixture_server(&[
        "--http",
        "--port",
        &port.to_string(),
        "--require-header",
        "Authorization: Basic dXNlcjpzM2NyZXQ=",
    ]);
    let (_gw, mut c) = Gateway::ready(
        &format!("backends:\n  basic:\n    http_url: http://user:s3cret@127.0.0.1:{port}/mcp\n"),
        &["basic"],
    )
    .await;
    assert_eq!(
        text(
            &c.invoke("basic", "echo", json!({"message": "let in"}))
                .await
        ),
        "let in"
    );
}

#[tokio::test]
async fn an_http_url_that_redirects_is_followed() {
    let port = free_port();
    let _fx = fixture_server(&["--http", "--port", &port.to_string()]);
    // /moved answers 308 to /mcp, for every request of the session.
    let (_gw, mut c) = Gateway::ready(
        &format!("backends:\n  moved:\n    http_url: http://127.0.0.1:{port}/moved\n"),
        &["moved"],
    )
    .await;
    assert_eq!(
        text(
            &c.invoke("moved", "echo", json!({"message": "followed"}))
                .await
        ),
        "followed"
    );
}

#[tokio::test]
async fn lazy_backend_starts_on_first_use() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "backends:\n  eager:\n    command: {f}\n  sleepy:\n    command: {f}\n    lazy: true\n"
    ));
    gw.wait_ready(&["eager"]).await;
    let (_, h) = gw.health().await;
    assert_eq!(h["backends"]["sleepy"]["state"], "idle", "{h}");
    let mut c = Client::connect(gw.url("/mcp")).await;
    assert_eq!(
        text(&c.invoke("sleepy", "echo", json!({"message": "woke"})).await),
        "woke"
    );
    gw.wait_ready(&["sleepy"]).await;
}

#[tokio::test]
async fn tool_cache_ttl_refetches_tool_lists_without_a_notification() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!("meta_mcp:\n  tool_cache_ttl: 400ms\nbackends:\n  quiet:\n    command: {f} --add-tool-silently-after-ms 200\n"));
    gw.wait_ready(&["quiet"]).await;
    gw.wait_health("late_tool after the TTL", |h| {
        h["backends"]["quiet"]["tools"] == 10
    })
    .await;
}

#[tokio::test]
async fn shutdown_escalates_to_sigkill_for_children_that_ignore_everything() {
    let f = fault_fixture();
    let marker = format!("stubborn-{}", std::process::id());
    let mut gw = Gateway::start(&format!("backends:\n  mule:\n    command: {f} --ignore-sigterm --ignore-stdin-eof --name {marker}\n"));
    gw.wait_ready(&["mule"]).await;
    assert_eq!(processes_matching(&marker).len(), 1);
    let start = Instant::now();
    assert!(gw.stop().success());
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "stdin close + SIGTERM grace, then SIGKILL: {:?}",
        start.elapsed()
    );
    assert!(
        processes_matching(&marker).is_empty(),
        "the child was killed"
    );
}

#[tokio::test]
async fn allowed_origins_admit_listed_browser_origins_only() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!("server:\n  allowed_origins: [\"https://app.example\"]\nbackends:\n  fx:\n    command: {f}\n"));
    let post = |origin: &'static str| {
        reqwest::Client::new()
            .post(gw.url("/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("origin", origin)
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#)
            .send()
    };
    assert_eq!(post("https://app.example").await.unwrap().status(), 200);
    assert_eq!(post("https://other.example").await.unwrap().status(), 403);
}

#[tokio::test]
async fn max_sessions_evicts_the_longest_idle_session() {
    let gw = Gateway::start("server:\n  max_sessions: 2\n");
    let a = Client::connect(gw.url("/mcp")).await;
    let b = Client::connect(gw.url("/mcp")).await;
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    assert_eq!(b.post(&ping).await.status(), 200); // b is now the most recently used
    let _c = Client::connect(gw.url("/mcp")).await;
    assert_eq!(a.post(&ping).await.status(), 404, "a was idle longest");
    assert_eq!(b.post(&ping).await.status(), 200);
}

#[tokio::test]
async fn request_timeout_is_the_default_backend_deadline() {
    let f = fault_fixture();
    let (_gw, mut c) = Gateway::ready(
        &format!("server:\n  request_timeout: 300ms\nbackends:\n  fx:\n    command: {f}\n"),
        &["fx"],
    )
    .await;
    let v = c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "fx", "tool": "slow", "arguments": {"ms": 2000}}})).await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("within 300ms"),
        "{v}"
    );
}

#[tokio::test]
async fn disabled_backends_are_listed_but_not_started() {
    let f = fault_fixture();
    let marker = format!("disabled-{}", std::process::id());
    let gw = Gateway::start(&format!("backends:\n  on:\n    command: {f}\n  off:\n    command: {f} --name {marker}\n    enabled: false\n"));
    let h = gw.wait_ready(&["on"]).await;
    assert_eq!(h["backends"]["off"]["state"], "disabled");
    assert!(processes_matching(&marker).is_empty());
    let mut c = Client::connect(gw.url("/mcp")).await;
    let r = c.invoke("off", "echo", json!({"message": "x"})).await;
    assert!(text(&r).contains("disabled"), "{r}");
}

#[tokio::test]
async fn server_worker_threads_sizes_the_runtime() {
    let gw = Gateway::start("");
    let (_, h) = gw.health().await;
    assert_eq!(h["worker_threads"], 1, "the default: {h}");
    let gw = Gateway::start("server:\n  worker_threads: 3\n");
    let (_, h) = gw.health().await;
    assert_eq!(h["worker_threads"], 3, "{h}");
}
