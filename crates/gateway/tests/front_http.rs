//! The Streamable HTTP front: every broken transport rule gets the spec's
//! status, and the gateway keeps serving afterwards.

mod common;

use common::*;
use serde_json::{json, Value};

async fn gateway() -> Gateway {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "server:\n  max_body_size: 64KB\nbackends:\n  fx:\n    command: {f}\n"
    ));
    gw.wait_ready(&["fx"]).await;
    gw
}

struct Req<'a> {
    method: &'a str,
    path: &'a str,
    headers: Vec<(&'a str, String)>,
    body: String,
}

async fn send(gw: &Gateway, r: Req<'_>) -> (u16, String) {
    let http = reqwest::Client::new();
    let mut req = http
        .request(r.method.parse().unwrap(), gw.url(r.path))
        .body(r.body);
    for (k, v) in r.headers {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

fn good_headers(session: Option<&str>) -> Vec<(&'static str, String)> {
    let mut h = vec![
        ("content-type", "application/json".to_owned()),
        ("accept", "application/json, text/event-stream".to_owned()),
    ];
    if let Some(s) = session {
        h.push(("mcp-session-id", s.to_owned()));
    }
    h
}

const PING: &str = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

#[tokio::test]
async fn each_broken_rule_gets_its_status_and_the_gateway_keeps_serving() {
    let gw = gateway().await;
    let mut c = Client::connect(gw.url("/mcp")).await;
    let sid = c.session.clone().unwrap();
    let with = |h: Vec<(&'static str, String)>, body: &str| Req {
        method: "POST",
        path: "/mcp",
        headers: h,
        body: body.to_owned(),
    };
    let cases: Vec<(&str, Req, u16, Option<i64>)> = vec![
        (
            "non-JSON body",
            with(good_headers(Some(&sid)), "{not json"),
            400,
            Some(-32700),
        ),
        (
            "invalid JSON-RPC",
            with(
                good_headers(Some(&sid)),
                r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            ),
            400,
            Some(-32600),
        ),
        (
            "wrong Content-Type",
            with(
                vec![
                    ("content-type", "text/plain".into()),
                    ("accept", "application/json, text/event-stream".into()),
                    ("mcp-session-id", sid.clone()),
                ],
                PING,
            ),
            415,
            None,
        ),
        (
            "Accept without JSON or SSE",
            with(
                vec![
                    ("content-type", "application/json".into()),
                    ("accept", "text/html".into()),
                    ("mcp-session-id", sid.clone()),
                ],
                PING,
            ),
            406,
            None,
        ),
        (
            "Accept without SSE",
            with(
                vec![
                    ("content-type", "application/json".into()),
                    ("accept", "application/json".into()),
                    ("mcp-session-id", sid.clone()),
                ],
                PING,
            ),
            406,
            None,
        ),
        (
            "no session header",
            with(good_headers(None), PING),
            400,
            None,
        ),
        (
            "unknown session",
            with(good_headers(Some("0123456789abcdef0123456789abcdef")), PING),
            404,
            None,
        ),
        (
            "oversize body",
            with(
                good_headers(Some(&sid)),
                &format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
                    "x".repeat(70_000)
                ),
            ),
            413,
            None,
        ),
        (
            "bad Origin",
            with(
                [
                    good_headers(Some(&sid)),
                    vec![("origin", "https://evil.example".into())],
                ]
                .concat(),
                PING,
            ),
            403,
            None,
        ),
        (
            "unsupported protocol version header",
            with(
                [
                    good_headers(Some(&sid)),
                    vec![("mcp-protocol-version", "1999-01-01".into())],
                ]
                .concat(),
                PING,
            ),
            400,
            None,
        ),
        (
            "batch from a 2025-11-25 session",
            with(good_headers(Some(&sid)), &format!("[{PING}]")),
            400,
            None,
        ),
    ];
    for (what, req, status, code) in cases {
        let (got, body) = send(&gw, req).await;
        assert_eq!(got, status, "{what}: {body}");
        if let Some(code) = code {
            let v: Value = serde_json::from_str(&body)
                .unwrap_or_else(|_| panic!("{what}: JSON error body expected: {body}"));
            assert_eq!(v["error"]["code"], code, "{what}: {body}");
        }
        // Still serving, same session.
        assert_eq!(
            c.request("ping", json!({})).await["result"],
            json!({}),
            "after {what}"
        );
    }
    // Loopback origins are fine.
    let (ok, _) = send(
        &gw,
        with(
            [
                good_headers(Some(&sid)),
                vec![("origin", "http://localhost:5173".into())],
            ]
            .concat(),
            PING,
        ),
    )
    .await;
    assert_eq!(ok, 200);
}

#[tokio::test]
async fn notifications_get_202_and_unknown_methods_a_json_rpc_error() {
    let gw = gateway().await;
    let c = Client::connect(gw.url("/mcp")).await;
    let note = c
        .post(&json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}))
        .await;
    assert_eq!(note.status(), 202);
    assert_eq!(note.text().await.unwrap(), "");
    let v: Value = c
        .post(&json!({"jsonrpc": "2.0", "id": "s-1", "method": "no/such"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["id"], "s-1");
    assert_eq!(v["error"]["code"], -32601);
    let v: Value = c
        .post(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "nope"}}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        v["error"]["code"], -32602,
        "unknown tool is a protocol error"
    );
}

#[tokio::test]
async fn sessions_are_random_separate_and_end_with_delete() {
    let gw = gateway().await;
    let a = Client::connect(gw.url("/mcp")).await;
    let b = Client::connect(gw.url("/mcp")).await;
    let (sa, sb) = (a.session.clone().unwrap(), b.session.clone().unwrap());
    assert_ne!(sa, sb);
    assert!(sa.len() >= 32 && sa.bytes().all(|c| (0x21..=0x7e).contains(&c)));
    let del = a
        .http
        .delete(gw.url("/mcp"))
        .header("mcp-session-id", &sa)
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 200);
    assert_eq!(
        a.post(&serde_json::from_str(PING).unwrap()).await.status(),
        404,
        "deleted session is gone"
    );
    assert_eq!(
        b.post(&serde_json::from_str(PING).unwrap()).await.status(),
        200,
        "the other session lives"
    );
}

#[tokio::test]
async fn version_negotiation_and_batches_for_old_clients() {
    let gw = gateway().await;
    for (asked, got) in [
        ("2024-11-05", "2024-11-05"),
        ("2025-03-26", "2025-03-26"),
        ("2025-06-18", "2025-06-18"),
        ("2025-11-25", "2025-11-25"),
        ("2099-01-01", "2025-11-25"),
    ] {
        let mut c = Client::new(gw.url("/mcp"));
        let v = c.initialize(asked).await;
        assert_eq!(v["result"]["protocolVersion"], got, "{asked}");
    }
    let mut old = Client::new(gw.url("/mcp"));
    old.initialize("2025-03-26").await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    ]);
    let v: Value = old.post(&batch).await.json().await.unwrap();
    let ids: Vec<i64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2]);
}

#[tokio::test]
async fn get_stream_delivers_list_changed_and_a_second_stream_conflicts() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "backends:\n  fx:\n    command: {f} --tools-list-changed-after-ms 1500\n"
    ));
    gw.wait_ready(&["fx"]).await;
    let c = Client::connect(gw.url("/mcp")).await;
    let sid = c.session.clone().unwrap();
    let open = || {
        c.http
            .get(gw.url("/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &sid)
            .send()
    };
    let mut stream = open().await.unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(open().await.unwrap().status(), 409);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !seen.contains("notifications/tools/list_changed") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .expect("list_changed within 10s")
            .unwrap()
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: message"), "{seen}");
}

#[tokio::test]
async fn health_is_503_when_nothing_is_ready_and_never_shows_secrets() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "backends:\n  down:\n    command: {f} --crash-at-start\n    env: {{API_TOKEN: hunter2-secret}}\n  remote:\n    http_url: http://127.0.0.1:9/mcp\n    headers: {{Authorization: Bearer hunter2-secret}}\n"
    ));
    let h = gw
        .wait_health("all failed", |h| {
            h["backends"]["down"]["state"] == "failed"
                && h["backends"]["remote"]["state"] == "failed"
        })
        .await;
    let (status, body) = gw.health().await;
    assert_eq!(status, 503, "{h}");
    assert_eq!(body["status"], "unavailable");
    assert!(!body.to_string().contains("hunter2"), "{body}");
    assert!(!gw.log().contains("hunter2"), "secrets never logged");
}
