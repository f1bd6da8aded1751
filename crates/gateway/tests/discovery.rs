//! Discovery surface: surfaced tools beside the meta-tools (live through
//! list_changed), hidden tools that look exactly like missing ones, search
//! results ready for gateway_invoke.

mod common;

use common::*;
use serde_json::{json, Value};

fn names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn surfaced_tools_are_listed_with_their_definitions_and_callable_by_name() {
    let f = fault_fixture();
    let (gw, mut c) = Gateway::ready(&format!(
        "meta_mcp:\n  surfaced_tools:\n    - {{server: a, tool: add}}\n    - {{server: a, tool: echo}}\n    - {{server: b, tool: echo}}\n    - {{server: b, tool: late_tool}}\nbackends:\n  a:\n    command: {f}\n  b:\n    command: {f} --tools-list-changed-after-ms 1500\n"
    ), &["a", "b"]).await;
    let list = c.request("tools/list", json!({})).await;
    assert_eq!(
        names(&list)[4..],
        ["add", "a__echo", "b__echo"],
        "own names, prefixed only on a clash"
    );
    let add = &list["result"]["tools"][4];
    assert_eq!(
        add["annotations"]["idempotentHint"], true,
        "the backend's real definition: {add}"
    );
    assert!(add["outputSchema"].is_object());
    let r = c.call("add", json!({"a": 2, "b": 3})).await;
    assert_eq!(r["structuredContent"]["sum"], 5);
    assert_eq!(
        text(&c.call("b__echo", json!({"message": "from b"})).await),
        "from b"
    );

    // late_tool appears after b's list_changed, and the client is told.
    let sid = c.session.clone().unwrap();
    let mut stream = c
        .http
        .get(gw.url("/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .send()
        .await
        .unwrap();
    let mut seen = String::new();
    while !seen.contains("notifications/tools/list_changed") {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), stream.chunk())
            .await
            .expect("list_changed")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    let list = c.request("tools/list", json!({})).await;
    assert!(names(&list).contains(&"late_tool".to_owned()), "{list}");
    assert_eq!(text(&c.call("late_tool", json!({})).await), "late");
}

#[tokio::test]
async fn disabled_tools_look_exactly_like_missing_ones_everywhere() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "backends:\n  fx:\n    command: {f}\n    disabled_tools: [side_effect, crash]\n"
    ));
    gw.wait_ready(&["fx"]).await;
    let h = gw.wait_ready(&["fx"]).await;
    assert_eq!(h["backends"]["fx"]["tools"], 8);
    let mut c = Client::connect(gw.url("/mcp")).await;

    let listed = c.call("gateway_list_tools", json!({"server": "fx"})).await;
    assert!(!listed.to_string().contains("side_effect"));
    let found = c
        .call(
            "gateway_search_tools",
            json!({"query": "side effect note", "limit": 25}),
        )
        .await;
    assert!(
        !found["structuredContent"]
            .to_string()
            .contains("side_effect"),
        "{found}"
    );

    let hidden = c.invoke("fx", "side_effect", json!({"note": "x"})).await;
    let missing = c
        .invoke("fx", "side_effekt_nope", json!({"note": "x"}))
        .await;
    assert_eq!(hidden["isError"], true);
    assert!(
        text(&hidden).starts_with("Unknown tool 'side_effect' on server 'fx'."),
        "{hidden}"
    );
    assert!(text(&missing).starts_with("Unknown tool 'side_effekt_nope' on server 'fx'."));
    assert!(
        !text(&missing).contains("side_effect"),
        "did-you-mean never reveals a hidden tool: {missing}"
    );

    let mut direct = Client::connect(gw.url("/mcp/fx")).await;
    let list = direct.request("tools/list", json!({})).await;
    assert!(
        !names(&list)
            .iter()
            .any(|n| n == "side_effect" || n == "crash"),
        "{list}"
    );
    assert_eq!(names(&list).len(), 8);
    let call = direct
        .request("tools/call", json!({"name": "crash", "arguments": {}}))
        .await;
    assert_eq!(call["error"]["code"], -32602);
    // A name given twice (a backend may read the last) is refused, not forwarded.
    let twice = direct
        .post_text(r#"{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"echo","name":"crash","arguments":{}}}"#.into())
        .await;
    let twice: Value = twice.json().await.unwrap();
    assert_eq!(twice["error"]["code"], -32602, "{twice}");
    let h = gw.wait_ready(&["fx"]).await;
    assert_eq!(
        h["backends"]["fx"]["connects"], 1,
        "the hidden crash tool never ran"
    );
}

#[tokio::test]
async fn search_results_are_ready_to_invoke() {
    let f = fault_fixture();
    let (_gw, mut c) = Gateway::ready(
        &format!("backends:\n  calc:\n    command: {f}\n    description: Arithmetic and echo\n"),
        &["calc"],
    )
    .await;
    let r = c
        .call("gateway_search_tools", json!({"query": "sum two numbers"}))
        .await;
    let top = &r["structuredContent"]["matches"][0];
    assert_eq!(
        (top["server"].as_str(), top["tool"].as_str()),
        (Some("calc"), Some("add")),
        "{r}"
    );
    assert!(top["why"].as_str().unwrap().starts_with("matched:"));
    assert_eq!(top["inputSchema"]["required"], json!(["a", "b"]));
    // A sum without a word in it: the server that says "Arithmetic", and why.
    let r = c
        .call("gateway_search_tools", json!({"query": "2 + 3"}))
        .await;
    let top = &r["structuredContent"]["matches"][0];
    assert_eq!(top["server"], "calc", "{r}");
    assert_eq!(top["why"], "hinted: math", "{r}");
    assert_eq!(
        serde_json::from_str::<Value>(text(&r)).unwrap(),
        r["structuredContent"],
        "text mirrors structuredContent"
    );
    let limited = c
        .call("gateway_search_tools", json!({"query": "echo", "limit": 1}))
        .await;
    assert_eq!(
        limited["structuredContent"]["matches"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let bad = c.call("gateway_search_tools", json!({"limit": 3})).await;
    assert_eq!(
        bad["isError"], true,
        "missing query is a readable tool error"
    );
}

async fn open_stream(c: &Client, url: &str) -> reqwest::Response {
    c.http
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", c.session.clone().unwrap())
        .send()
        .await
        .unwrap()
}

/// Everything a stream delivers within `wait`.
async fn drain(stream: &mut reqwest::Response, wait: std::time::Duration) -> String {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, stream.chunk()).await {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn resource_updates_reach_the_subscriber_only() {
    let conf = workspace_bin("mcp-conformance-fixture");
    let gw = Gateway::start(&format!(
        "backends:\n  conf:\n    command: {} --stdio\n",
        conf.display()
    ));
    gw.wait_ready(&["conf"]).await;
    for path in ["/mcp", "/mcp/conf"] {
        let url = gw.url(path);
        let mut a = Client::connect(url.clone()).await;
        let b = Client::connect(url.clone()).await;
        let mut a_stream = open_stream(&a, &url).await;
        let mut b_stream = open_stream(&b, &url).await;
        let r = a
            .request(
                "resources/subscribe",
                json!({"uri": "test://watched-resource"}),
            )
            .await;
        assert!(r.get("result").is_some(), "{path}: {r}");
        let (a_seen, b_seen) = tokio::join!(
            drain(&mut a_stream, std::time::Duration::from_millis(1500)),
            drain(&mut b_stream, std::time::Duration::from_millis(1500))
        );
        assert!(
            a_seen.contains("notifications/resources/updated")
                && a_seen.contains("test://watched-resource"),
            "{path}: {a_seen}"
        );
        assert!(
            !b_seen.contains("resources/updated"),
            "{path}: never broadcast: {b_seen}"
        );
        let r = a
            .request(
                "resources/unsubscribe",
                json!({"uri": "test://watched-resource"}),
            )
            .await;
        assert!(r.get("result").is_some(), "{path}: {r}");
    }
}

#[tokio::test]
async fn log_level_and_log_messages_through_meta_mode() {
    let conf = workspace_bin("mcp-conformance-fixture");
    let (gw, mut c) = Gateway::ready(
        &format!(
            "backends:\n  conf:\n    command: {} --stdio\n",
            conf.display()
        ),
        &["conf"],
    )
    .await;
    let r = c
        .request("logging/setLevel", json!({"level": "debug"}))
        .await;
    assert_eq!(r["result"], json!({}), "{r}");
    // The real Python SDK sees the tool's log messages on the call's stream.
    let out = std::process::Command::new(peer("mcp-client"))
        .args([
            "--transport",
            "http",
            "--url",
            &gw.url("/mcp"),
            "--call",
            "gateway_invoke",
            r#"{"server": "conf", "tool": "test_tool_with_logging", "arguments": {}}"#,
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l.get("summary").is_some())
        .unwrap();
    assert_eq!(
        summary["summary"]["log_messages"].as_array().map(Vec::len),
        Some(3),
        "{summary}"
    );
}
