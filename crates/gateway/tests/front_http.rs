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
async fn posts_take_the_fast_lane_or_the_router_with_the_same_answers() {
    let gw = gateway().await;
    // Plain paths skip the router; a percent-encoded name goes through it
    // and is decoded there. Both reach the backend.
    for path in ["/mcp/fx", "/mcp/%66x"] {
        let mut c = Client::connect(gw.url(path)).await;
        let tools = c.request("tools/list", json!({})).await;
        assert!(
            tools["result"]["tools"].as_array().unwrap().len() > 1,
            "{path}"
        );
    }
    for (path, status) in [("/mcp/nope", 404), ("/mcp/n%6Fpe", 404), ("/mcp/a/b", 404)] {
        let (got, body) = send(
            &gw,
            Req {
                method: "POST",
                path,
                headers: good_headers(None),
                body: PING.into(),
            },
        )
        .await;
        assert_eq!(got, status, "{path}: {body}");
        if path != "/mcp/a/b" {
            assert!(
                body.contains("Unknown backend 'nope'. Backends: fx"),
                "{body}"
            );
        }
    }
    // Other methods on the endpoint are the router's: 405.
    let put = Req {
        method: "PUT",
        path: "/mcp",
        headers: good_headers(None),
        body: PING.into(),
    };
    assert_eq!(send(&gw, put).await.0, 405);
}

// Two workers: the h2 client must go on answering the gateway's GOAWAY and
// ping while the harness waits, blocking, for the gateway to exit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_is_served_like_http1() {
    let gw = gateway().await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let post = |body: &str, session: Option<&str>| {
        let mut req = h2.post(gw.url("/mcp")).body(body.to_owned());
        for (k, v) in good_headers(session) {
            req = req.header(k, v);
        }
        req.send()
    };
    let init = post(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"h2","version":"1"}}}"#,
        None,
    )
    .await
    .unwrap();
    assert_eq!(init.version(), reqwest::Version::HTTP_2);
    assert_eq!(init.status(), 200);
    let sid = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let ping = post(PING, Some(&sid)).await.unwrap();
    assert_eq!(ping.status(), 200);
    assert!(ping.text().await.unwrap().contains(r#""result":{}"#));
    let health = h2.get(gw.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
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
    let v = answer(
        c.post(&json!({"jsonrpc": "2.0", "id": "s-1", "method": "no/such"}))
            .await,
    )
    .await;
    assert_eq!(v["id"], "s-1");
    assert_eq!(v["error"]["code"], -32601);
    let v = answer(
        c.post(
            &json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "nope"}}),
        )
        .await,
    )
    .await;
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
    let (gw, c) = Gateway::ready(
        &format!("backends:\n  fx:\n    command: {f} --tools-list-changed-after-ms 1500\n"),
        &["fx"],
    )
    .await;
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
async fn a_broken_answer_stream_resumes_after_the_last_event_with_that_stream_only() {
    let fixture = workspace_bin("mcp-conformance-fixture");
    let gw = Gateway::start(&format!(
        "server:\n  sse_retry: 250ms\nbackends:\n  fx:\n    command: {} --stdio\n",
        fixture.display()
    ));
    gw.wait_ready(&["fx"]).await;
    let mut c = Client::new(gw.url("/mcp/fx"));
    c.initialize_with("2025-11-25", json!({"elicitation": {}}))
        .await;
    let sid = c.session.clone().unwrap();

    // A call that asks the client something, answered on an SSE stream that
    // starts with a priming event (id, empty data, retry).
    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "test_elicitation", "arguments": {"message": "who are you?"}}});
    let mut resp = c.post(&call).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let seen = events_until(&mut resp, |e| e.data.contains("elicitation/create")).await;
    let (priming, ask) = (&seen[0], seen.last().unwrap());
    assert_eq!((priming.data.as_str(), priming.retry_ms), ("", Some(250)));
    let (stream, zero) = priming.id.as_deref().unwrap().split_once('-').unwrap();
    assert_eq!(zero, "0");
    let ask_id = ask.id.clone().unwrap();
    assert!(ask_id.starts_with(&format!("{stream}-")), "{ask_id}");
    // The connection breaks mid-call. That is not a cancel: the call goes on.
    drop(resp);

    // Another request meanwhile, on a stream of its own.
    assert!(c.request("tools/list", json!({})).await["result"]["tools"].is_array());
    // The client answers the elicitation it saw before the break.
    let asked: Value = serde_json::from_str(&ask.data).unwrap();
    let reply = json!({"jsonrpc": "2.0", "id": asked["id"], "result": {"action": "accept",
        "content": {"username": "ada", "email": "ada@example.com"}}});
    assert_eq!(c.post(&reply).await.status(), 202);

    // Resume: only what followed the last event seen, from this stream only.
    let mut resumed = c
        .http
        .get(gw.url("/mcp/fx"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &sid)
        .header("last-event-id", &ask_id)
        .send()
        .await
        .unwrap();
    assert_eq!(resumed.status(), 200);
    let events = events_until(&mut resumed, |e| e.data.contains(r#""id":5"#)).await;
    assert_eq!(
        events.len(),
        1,
        "nothing replayed twice, nothing foreign: {events:?}"
    );
    let answer: Value = serde_json::from_str(&events[0].data).unwrap();
    assert!(
        answer["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("ada"),
        "{answer}"
    );
    let (s, seq) = events[0].id.as_deref().unwrap().split_once('-').unwrap();
    assert_eq!(s, stream);
    assert!(seq.parse::<u64>().unwrap() > ask_id.split_once('-').unwrap().1.parse().unwrap());
    // Fully delivered: the stream ends.
    let rest = tokio::time::timeout(std::time::Duration::from_secs(5), resumed.chunk())
        .await
        .expect("the resumed stream ends after the answer");
    assert!(rest.unwrap().is_none());
}

#[tokio::test]
async fn quick_answers_are_json_and_slow_ones_streams() {
    let f = fault_fixture();
    let (_gw, c) = Gateway::ready(
        &format!("server:\n  stream_after: 200ms\nbackends:\n  fx:\n    command: {f}\n"),
        &["fx"],
    )
    .await;
    let quick = c
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(quick.headers()["content-type"], "application/json");
    assert!(answer(quick).await["result"]["tools"].is_array());
    let slow = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "gateway_invoke",
        "arguments": {"server": "fx", "tool": "slow", "arguments": {"ms": 600}}}});
    let resp = c.post(&slow).await;
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("id: 1-0\nretry: "), "primed: {body}");
    assert!(body.contains("slept 600ms"), "{body}");
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
