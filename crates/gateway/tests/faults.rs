//! Misbehaving backends (our fault fixture): the gateway stays up, /health
//! tells the truth, callers get clear errors in time, other backends keep
//! answering, and no child process outlives the gateway.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn config(extra: &str) -> String {
    let f = fault_fixture();
    format!(
        "backends:\n  good:\n    command: {f} --name good\n  slowpoke:\n    command: {f} --name slowpoke\n    timeout: 700ms\n{extra}"
    )
}

#[tokio::test]
async fn backend_that_crashes_at_start_is_failed_with_reason_and_others_serve() {
    let f = fault_fixture();
    let gw = Gateway::start(&config(&format!(
        "  broken:\n    command: {f} --crash-at-start\n"
    )));
    gw.wait_ready(&["good"]).await;
    let h = gw
        .wait_health("broken failed", |h| {
            h["backends"]["broken"]["state"] == "failed"
        })
        .await;
    assert!(
        h["backends"]["broken"]["reason"]
            .as_str()
            .unwrap()
            .contains("exited with status 3"),
        "{h}"
    );
    assert_eq!(h["status"], "degraded");

    let mut c = Client::connect(gw.url("/mcp")).await;
    let servers = c.call("gateway_list_servers", json!({})).await;
    let broken = servers["structuredContent"]["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "broken")
        .unwrap()
        .clone();
    assert_eq!(broken["state"], "failed");
    let r = c.invoke("broken", "echo", json!({"message": "x"})).await;
    assert_eq!(r["isError"], true);
    assert!(text(&r).contains("not available (failed"), "{r}");
    assert_eq!(
        text(
            &c.invoke("good", "echo", json!({"message": "still here"}))
                .await
        ),
        "still here"
    );
}

#[tokio::test]
async fn crash_mid_call_fails_that_call_at_once_and_the_backend_comes_back() {
    let (gw, mut c) = Gateway::ready(&config(""), &["good", "slowpoke"]).await;
    let start = Instant::now();
    let v = c
        .request(
            "tools/call",
            json!({"name": "gateway_invoke", "arguments": {"server": "slowpoke", "tool": "crash"}}),
        )
        .await;
    assert!(
        start.elapsed() < Duration::from_millis(600),
        "failed fast, not by timeout"
    );
    let err = &v["error"];
    assert_eq!(err["code"], -32000, "{v}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("exited with status 5"),
        "{v}"
    );
    // The other backend never noticed.
    assert_eq!(
        text(&c.invoke("good", "echo", json!({"message": "ok"})).await),
        "ok"
    );
    // The crashed one is restarted by its supervisor.
    let h = gw
        .wait_health("slowpoke reconnected", |h| {
            h["backends"]["slowpoke"]["connects"] == 2
                && h["backends"]["slowpoke"]["state"] == "ready"
        })
        .await;
    assert_eq!(h["status"], "ok");
    assert_eq!(
        text(
            &c.invoke("slowpoke", "echo", json!({"message": "back"}))
                .await
        ),
        "back"
    );
}

#[tokio::test]
async fn hanging_call_times_out_with_a_clear_error_while_other_calls_flow() {
    let gw = Gateway::start(&config(""));
    gw.wait_ready(&["good", "slowpoke"]).await;
    let url = gw.url("/mcp");
    let hang = tokio::spawn(async move {
        let mut c = Client::connect(url).await;
        let start = Instant::now();
        let v = c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "slowpoke", "tool": "hang"}})).await;
        (v, start.elapsed())
    });
    // Meanwhile, the same backend and another one keep answering.
    let mut c = Client::connect(gw.url("/mcp")).await;
    for i in 0..5 {
        assert_eq!(
            text(
                &c.invoke("slowpoke", "echo", json!({"message": format!("s{i}")}))
                    .await
            ),
            format!("s{i}")
        );
        assert_eq!(
            text(
                &c.invoke("good", "echo", json!({"message": format!("g{i}")}))
                    .await
            ),
            format!("g{i}")
        );
    }
    let (v, took) = hang.await.unwrap();
    assert_eq!(v["error"]["code"], -32001, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("did not answer within 700ms"),
        "{v}"
    );
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_secs(3),
        "{took:?}"
    );
}

#[tokio::test]
async fn garbage_on_stdout_is_skipped_and_the_backend_works() {
    let f = fault_fixture();
    let (gw, mut c) = Gateway::ready(
        &format!("backends:\n  noisy:\n    command: {f} --garbage\n"),
        &["noisy"],
    )
    .await;
    assert_eq!(
        text(&c.invoke("noisy", "echo", json!({"message": "clean"})).await),
        "clean"
    );
    gw.wait_log("ignoring non-JSON line on stdout").await;
}

#[tokio::test]
async fn a_server_that_exits_unless_initialize_comes_first_is_reached_all_the_same() {
    // The discover probe is asked of the serving process; this one exits on
    // it, so the next connect starts the process again knowing its era.
    let f = fault_fixture();
    let started = Instant::now();
    let (gw, mut c) = Gateway::ready(
        &format!("backends:\n  strict:\n    command: {f} --exit-unless-initialize-first\n"),
        &["strict"],
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(5));
    gw.wait_log("first request is not initialize").await;
    assert_eq!(
        text(
            &c.invoke("strict", "echo", json!({"message": "reached"}))
                .await
        ),
        "reached"
    );
    assert_eq!(gw.health().await.1["backends"]["strict"]["connects"], 1);
}

#[tokio::test]
async fn huge_reply_within_limit_arrives_whole() {
    let (_gw, mut c) = Gateway::ready(&config(""), &["good"]).await;
    let r = c.invoke("good", "huge", json!({"bytes": 3_000_000})).await;
    assert_eq!(text(&r).len(), 3_000_000);
}

#[tokio::test]
async fn paginated_tool_lists_are_followed() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "backends:\n  paged:\n    command: {f} --page-size 2\n"
    ));
    let h = gw.wait_ready(&["paged"]).await;
    assert_eq!(h["backends"]["paged"]["tools"], 10, "{h}");
}

#[tokio::test]
async fn tools_list_changed_refreshes_the_catalog() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "backends:\n  growing:\n    command: {f} --tools-list-changed-after-ms 300\n"
    ));
    gw.wait_ready(&["growing"]).await;
    gw.wait_health("late tool listed", |h| {
        h["backends"]["growing"]["tools"] == 11
    })
    .await;
    let mut c = Client::connect(gw.url("/mcp")).await;
    assert_eq!(
        text(&c.invoke("growing", "late_tool", json!({})).await),
        "late"
    );
}

#[tokio::test]
async fn shutdown_leaves_no_child_processes_even_when_they_ignore_sigterm() {
    let f = fault_fixture();
    let marker = format!("orphan-check-{}", std::process::id());
    let mut gw = Gateway::start(&format!(
        "backends:\n  stubborn:\n    command: {f} --ignore-sigterm --name {marker}\n  polite:\n    command: {f} --name {marker}\n"
    ));
    gw.wait_ready(&["stubborn", "polite"]).await;
    assert_eq!(processes_matching(&marker).len(), 2);
    let status = gw.stop();
    assert!(status.success(), "{status:?}\n{}", gw.log());
    let left = processes_matching(&marker);
    assert!(left.is_empty(), "orphans: {left:?}");
}

#[tokio::test]
async fn client_cancel_reaches_the_backend_under_its_own_id_and_ends_the_call() {
    let (gw, c) = Gateway::ready(&config(""), &["good"]).await;
    let call = json!({"jsonrpc": "2.0", "id": "call-7", "method": "tools/call", "params": {"name": "gateway_invoke", "arguments": {"server": "good", "tool": "hang"}}});
    let req = c
        .http
        .post(&c.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", c.session.clone().unwrap())
        .body(call.to_string());
    let pending = tokio::spawn(async move { answer(req.send().await.unwrap()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": "call-7", "reason": "user pressed stop"}});
    assert_eq!(c.post(&cancel).await.status(), 202);
    let answer = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the call ends at once")
        .unwrap();
    assert_eq!(answer["error"]["code"], -32800, "{answer}");
    gw.wait_log("client cancelled; sent notifications/cancelled upstream")
        .await;
    // The session and backend carry on.
    let mut c = c;
    assert_eq!(
        text(
            &c.invoke("good", "echo", json!({"message": "after cancel"}))
                .await
        ),
        "after cancel"
    );
}

#[tokio::test]
async fn shutdown_finishes_in_flight_calls_and_does_not_wait_forever_on_streams() {
    let f = fault_fixture();
    let (mut gw, c) = Gateway::ready(
        &format!("server:\n  shutdown_timeout: 2s\nbackends:\n  fx:\n    command: {f}\n"),
        &["fx"],
    )
    .await;
    // An idle GET stream that would otherwise keep the server open forever.
    let _stream = c
        .http
        .get(gw.url("/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", c.session.clone().unwrap())
        .send()
        .await
        .unwrap();
    let slow = c
        .http
        .post(&c.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", c.session.clone().unwrap())
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "gateway_invoke", "arguments": {"server": "fx", "tool": "slow", "arguments": {"ms": 700}}}}).to_string());
    let in_flight = tokio::spawn(async move { answer(slow.send().await.unwrap()).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let s = gw.stop();
        (s, gw)
    })
    .await
    .unwrap();
    assert!(status.0.success());
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "bounded by shutdown_timeout: {:?}",
        start.elapsed()
    );
    let answer = in_flight.await.unwrap();
    assert_eq!(
        answer["result"]["content"][0]["text"], "slept 700ms",
        "the in-flight call finished: {answer}"
    );
}

/// The `result` member of a JSON-RPC response, as raw text.
fn raw_result(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct R<'a> {
        #[serde(borrow)]
        result: &'a serde_json::value::RawValue,
    }
    serde_json::from_str::<R>(body)
        .unwrap_or_else(|e| panic!("{e}: {body}"))
        .result
        .get()
        .to_owned()
}

#[tokio::test]
async fn fields_no_spec_defines_pass_through_byte_for_byte() {
    use std::io::{BufRead, Write};
    // What the fixture itself answers, straight from its stdout.
    let mut fx = std::process::Command::new(fault_fixture())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = fx.stdin.take().unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#).unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"exotic","arguments":{{}}}}}}"#).unwrap();
    let mut lines = std::io::BufReader::new(fx.stdout.take().unwrap()).lines();
    let direct = lines
        .find_map(|l| l.ok().filter(|l| l.contains(r#""id":2"#)))
        .unwrap();
    let _ = fx.kill();
    let _ = fx.wait();
    let expected = raw_result(&direct);
    assert!(expected.contains("hologram") && expected.contains("x-unknown-top"));

    let (gw, c) = Gateway::ready(&config(""), &["good"]).await;
    let body = answer_text(c.post(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "gateway_invoke", "arguments": {"server": "good", "tool": "exotic", "arguments": {}}}})).await).await;
    assert_eq!(
        raw_result(&body),
        expected,
        "meta mode forwards the result unchanged"
    );
    let mut direct_client = Client::connect(gw.url("/mcp/good")).await;
    let body = answer_text(direct_client.post(&json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "exotic", "arguments": {}}})).await).await;
    assert_eq!(raw_result(&body), expected, "the backend endpoint too");
    // The tool definition's unknown members survive as well.
    let def = direct_client.request("tools/list", json!({})).await;
    let exotic = def["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "exotic")
        .unwrap()
        .clone();
    assert_eq!(exotic["x-vendor-flag"], true);
    assert_eq!(exotic["_meta"]["com.example/tool"], 1);
    assert!(exotic["icons"].is_array());
}

#[tokio::test]
async fn call_params_no_spec_defines_reach_the_backend() {
    // Direct mode renames the tool and leaves every other member alone.
    let (_gw, mut c) = Gateway::ready(
        &format!("meta_mcp:\n  enabled: false\n{}", config("")),
        &["good"],
    )
    .await;
    let sent = json!({"name": "good__echo_params", "arguments": {"a": [1, {"b": null}]},
        "_meta": {"com.example/trace": "t-1", "progressToken": 7}, "x-extension": {"keep": true}});
    let got = c.call("good__echo_params", json!({})).await;
    assert_eq!(
        serde_json::from_str::<Value>(text(&got)).unwrap()["name"],
        "echo_params"
    );
    let v = c.request("tools/call", sent.clone()).await;
    let received: Value = serde_json::from_str(text(&v["result"])).unwrap();
    assert_eq!(received["name"], "echo_params");
    assert_eq!(received["arguments"], sent["arguments"]);
    assert_eq!(received["x-extension"], sent["x-extension"]);
    assert_eq!(received["_meta"]["com.example/trace"], "t-1");
}

#[tokio::test]
async fn gateway_invoke_passes_the_arguments_meta_and_task_on_as_sent() {
    // The backend's params are composed from the client's own text (the
    // inner arguments, `_meta`, `task`): checked once, never re-encoded, and
    // a large one written out shared with the request it came in, over stdio
    // and over Streamable HTTP alike; the large answer comes back the same way.
    let port = free_port();
    let _web = fixture_server(&["--http", "--port", &port.to_string()]);
    let web = format!("  web:\n    http_url: http://127.0.0.1:{port}/mcp\n");
    let (_gw, mut c) = Gateway::ready(&config(&web), &["good", "web"]).await;
    let arguments = json!({"a": [1, {"b": null}], "s": "quote \" slash \\ tab \t é 😀 \u{1}",
        "n": 1.5e300, "big": "x".repeat(40_000), "nested": {"arguments": {"server": "no"}}});
    let meta = json!({"com.example/trace": "t-1", "k": [true]});
    for server in ["good", "web"] {
        let v = c
            .request(
                "tools/call",
                json!({"name": "gateway_invoke", "arguments": {"server": server, "tool": "echo_params",
                    "arguments": arguments}, "_meta": meta, "task": {"ttl": 60000}}),
            )
            .await;
        let received: Value = serde_json::from_str(text(&v["result"])).unwrap();
        assert_eq!(
            received,
            json!({"name": "echo_params", "arguments": arguments, "_meta": meta, "task": {"ttl": 60000}}),
            "{server}"
        );
        // Without arguments, `_meta` or `task` (or with them null), none is sent.
        let v = c
            .request(
                "tools/call",
                json!({"name": "gateway_invoke", "arguments": {"server": server, "tool": "echo_params",
                    "arguments": null}, "_meta": null}),
            )
            .await;
        let received: Value = serde_json::from_str(text(&v["result"])).unwrap();
        assert_eq!(received, json!({"name": "echo_params"}), "{server}");
    }
}

#[tokio::test]
async fn an_oversize_line_is_dropped_not_buffered_and_the_backend_keeps_serving() {
    let f = fault_fixture();
    // Backend messages are capped at max(server.max_body_size, 16 MiB); this answer is larger.
    let (gw, mut c) = Gateway::ready(
        &format!("backends:\n  big:\n    command: {f}\n    timeout: 3s\n"),
        &["big"],
    )
    .await;
    let v = c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "big", "tool": "huge", "arguments": {"bytes": 17_000_000}}})).await;
    assert_eq!(
        v["error"]["code"],
        -32001,
        "a clear timeout, not a crash: {}",
        &v.to_string()[..200.min(v.to_string().len())]
    );
    gw.wait_log("dropped a stdout line larger than").await;
    assert_eq!(
        text(&c.invoke("big", "echo", json!({"message": "fine"})).await),
        "fine"
    );
}
