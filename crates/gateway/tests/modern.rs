//! 2026-07-28 clients through the gateway, over session-era backends: the
//! stateless checks and their statuses, server/discover, result decoration,
//! multi round-trip requests (MRTR) with the gateway's sealed requestState,
//! cancel on close, per-request log levels and subscriptions/listen — on
//! the same endpoints that keep serving session-era clients.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};

const MODERN: &str = "2026-07-28";

/// A stateless client: every request carries the envelope and the headers.
struct Modern {
    http: reqwest::Client,
    url: String,
    capabilities: Value,
    log_level: Option<&'static str>,
}

impl Modern {
    fn new(url: String) -> Modern {
        Modern {
            http: reqwest::Client::new(),
            url,
            capabilities: json!({"elicitation": {}, "sampling": {}, "roots": {}}),
            log_level: None,
        }
    }

    fn body(&self, id: i64, method: &str, mut params: Value) -> Value {
        let mut meta = json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": self.capabilities,
        });
        if let Some(level) = self.log_level {
            meta["io.modelcontextprotocol/logLevel"] = json!(level);
        }
        params["_meta"] = meta;
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
    }

    /// POST `body` with the routing headers `method` and `name` (if any).
    async fn send(&self, body: &Value, method: &str, name: Option<&str>) -> reqwest::Response {
        let mut req = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", method)
            .body(body.to_string());
        if let Some(n) = name {
            req = req.header("mcp-name", n);
        }
        req.send().await.unwrap()
    }

    /// A request with matching headers: (status, the answer).
    async fn request(&self, id: i64, method: &str, params: Value) -> (u16, Value) {
        let name = params
            .get("name")
            .or_else(|| params.get("uri"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let body = self.body(id, method, params);
        let resp = self.send(&body, method, name.as_deref()).await;
        let status = resp.status().as_u16();
        (status, answer(resp).await)
    }
}

fn fixture_config(extra: &str) -> String {
    format!(
        "{extra}backends:\n  fx:\n    command: {} --stdio\n  good:\n    command: {} --tools-list-changed-after-ms 2500\n",
        workspace_bin("mcp-conformance-fixture").display(),
        fault_fixture()
    )
}

#[tokio::test]
async fn stateless_requests_are_checked_in_order_with_their_statuses() {
    let gw = Gateway::start(&fixture_config(""));
    gw.wait_ready(&["fx", "good"]).await;
    let c = Modern::new(gw.url("/mcp/fx"));

    let (status, found) = c.request(1, "server/discover", json!({})).await;
    assert_eq!(status, 200, "{found}");
    let r = &found["result"];
    assert_eq!(r["supportedVersions"], json!(["2026-07-28", "2025-11-25"]));
    assert!(r["capabilities"]["tools"].is_object() && r["capabilities"].get("tasks").is_none());
    assert_eq!(
        (r["resultType"].as_str(), r["cacheScope"].as_str()),
        (Some("complete"), Some("public"))
    );
    assert!(r["ttlMs"].is_u64());
    assert!(r["_meta"]["io.modelcontextprotocol/serverInfo"]["name"].is_string());

    let (status, listed) = c.request(2, "tools/list", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(listed["result"]["resultType"], "complete");
    assert!(listed["result"]["ttlMs"].is_u64() && listed["result"]["cacheScope"] == "public");

    // 1. no envelope: -32602; 2. headers that disagree with the body: -32020;
    // 3. a version nobody serves: -32022 with what is supported; 4. a method
    // of the session era: 404 + -32601. Every error names the request's id.
    let bare = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list", "params": {}});
    let resp = c.send(&bare, "tools/list", None).await;
    assert_eq!(resp.status(), 400);
    let v = answer(resp).await;
    assert_eq!(
        (v["id"].as_i64(), v["error"]["code"].as_i64()),
        (Some(3), Some(-32602))
    );

    let body = c.body(
        4,
        "tools/call",
        json!({"name": "test_simple_text", "arguments": {}}),
    );
    let resp = c.send(&body, "tools/call", Some("another_tool")).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(answer(resp).await["error"]["code"], -32020);
    let resp = c.send(&body, "tools/list", Some("test_simple_text")).await;
    assert_eq!(
        answer(resp).await["error"]["code"],
        -32020,
        "Mcp-Method must match"
    );

    let mut old = c.body(5, "tools/list", json!({}));
    old["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"] = json!("v999.0.0");
    let resp = c
        .http
        .post(&c.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "v999.0.0")
        .header("mcp-method", "tools/list")
        .body(old.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let v = answer(resp).await;
    assert_eq!(v["error"]["code"], -32022);
    assert_eq!(v["error"]["data"]["requested"], "v999.0.0");
    assert_eq!(
        v["error"]["data"]["supported"],
        json!(["2026-07-28", "2025-11-25"])
    );

    for removed in [
        "ping",
        "initialize",
        "logging/setLevel",
        "resources/subscribe",
    ] {
        let (status, v) = c.request(6, removed, json!({})).await;
        assert_eq!(
            (status, v["error"]["code"].as_i64()),
            (404, Some(-32601)),
            "{removed}"
        );
    }

    // Resource not found is -32602 with the URI, never the backend's -32002.
    let (status, v) = c
        .request(7, "resources/read", json!({"uri": "test://nope"}))
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(
        (
            v["error"]["code"].as_i64(),
            v["error"]["data"]["uri"].as_str()
        ),
        (Some(-32602), Some("test://nope"))
    );

    // The session era goes on beside it, on the same endpoint.
    let mut legacy = Client::connect(gw.url("/mcp/fx")).await;
    let text_result = legacy.call("test_simple_text", json!({})).await;
    assert!(text(&text_result).contains("simple text"));
    let (_, v) = c
        .request(
            8,
            "tools/call",
            json!({"name": "test_simple_text", "arguments": {}}),
        )
        .await;
    assert_eq!(v["result"]["resultType"], "complete");
    assert_eq!(v["result"]["content"], text_result["content"]);
}

#[tokio::test]
async fn a_backends_question_becomes_input_required_and_the_retry_answers_it() {
    let gw = Gateway::start(&fixture_config(""));
    gw.wait_ready(&["fx"]).await;
    for url in [gw.url("/mcp/fx"), gw.url("/mcp")] {
        let c = Modern::new(url.clone());
        let (tool, args) = if url.ends_with("/fx") {
            (
                "test_elicitation".to_owned(),
                json!({"message": "who are you?"}),
            )
        } else {
            (
                "gateway_invoke".to_owned(),
                json!({"server": "fx", "tool": "test_elicitation", "arguments": {"message": "who are you?"}}),
            )
        };
        let params = json!({"name": tool, "arguments": args});
        let (status, first) = c.request(1, "tools/call", params.clone()).await;
        assert_eq!(status, 200, "{first}");
        let r = &first["result"];
        assert_eq!(r["resultType"], "input_required", "{first}");
        let (key, ask) = r["inputRequests"]
            .as_object()
            .unwrap()
            .iter()
            .next()
            .unwrap();
        assert_eq!(ask["method"], "elicitation/create");
        assert_eq!(ask["params"]["message"], "who are you?");
        let state = r["requestState"].as_str().unwrap().to_owned();

        // A tampered state, or the state on another request, opens nothing.
        let mut tampered = params.clone();
        tampered["requestState"] = json!(format!("{state}-TAMPERED"));
        let (status, v) = c.request(2, "tools/call", tampered).await;
        assert_eq!(
            (status, v["error"]["code"].as_i64()),
            (400, Some(-32602)),
            "{v}"
        );
        let mut elsewhere = params.clone();
        elsewhere["arguments"] = json!({"message": "something else"});
        elsewhere["requestState"] = json!(state);
        let (status, _) = c.request(3, "tools/call", elsewhere).await;
        assert_eq!(status, 400);

        // The retry: the same request, a new id, the state and the answers.
        let mut retry = params.clone();
        retry["requestState"] = json!(state);
        retry["inputResponses"] = json!({ key: {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}} });
        let (status, done) = c.request(4, "tools/call", retry.clone()).await;
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["result"]["resultType"], "complete");
        assert!(text(&done["result"]).contains("ada@example.com"), "{done}");
        // A state works once: the held call is gone.
        let (status, _) = c.request(5, "tools/call", retry).await;
        assert_eq!(status, 400);
    }
}

#[tokio::test]
async fn a_question_the_request_cannot_answer_is_minus_32021() {
    let gw = Gateway::start(&fixture_config(""));
    gw.wait_ready(&["fx"]).await;
    let mut c = Modern::new(gw.url("/mcp/fx"));
    c.capabilities = json!({"sampling": {}});
    let (status, v) = c
        .request(
            1,
            "tools/call",
            json!({"name": "test_elicitation", "arguments": {"message": "m"}}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], -32021);
    assert_eq!(
        v["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
}

#[tokio::test]
async fn log_messages_only_at_the_level_the_request_asked_for() {
    let gw = Gateway::start(&fixture_config(""));
    gw.wait_ready(&["fx"]).await;
    let mut c = Modern::new(gw.url("/mcp/fx"));
    let call = json!({"name": "test_tool_with_logging", "arguments": {}});
    let body = c.body(1, "tools/call", call.clone());
    let quiet = c
        .send(&body, "tools/call", Some("test_tool_with_logging"))
        .await;
    assert_eq!(
        quiet.headers()["content-type"],
        "application/json",
        "no level, no logs"
    );
    c.log_level = Some("info");
    let body = c.body(2, "tools/call", call);
    let loud = c
        .send(&body, "tools/call", Some("test_tool_with_logging"))
        .await;
    assert_eq!(loud.headers()["content-type"], "text/event-stream");
    let messages: Vec<Value> = sse_data(&loud.text().await.unwrap())
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(
        messages
            .iter()
            .filter(|m| m["method"] == "notifications/message")
            .count(),
        3
    );
    assert!(
        messages
            .iter()
            .all(|m| m.get("id").is_none() || m["id"] == 2),
        "no requests on the stream"
    );
    assert_eq!(messages.last().unwrap()["result"]["resultType"], "complete");
}

#[tokio::test]
async fn closing_the_stream_cancels_the_call_upstream() {
    let gw = Gateway::start(&fixture_config(""));
    gw.wait_ready(&["good"]).await;
    let c = Modern::new(gw.url("/mcp/good"));
    let body = c.body(1, "tools/call", json!({"name": "hang", "arguments": {}}));
    let pending = tokio::spawn({
        let req = c
            .http
            .post(&c.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", MODERN)
            .header("mcp-method", "tools/call")
            .header("mcp-name", "hang")
            .body(body.to_string());
        async move { req.send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    pending.abort(); // the client goes away
    gw.wait_log("client cancelled; sent notifications/cancelled upstream")
        .await;
}

#[tokio::test]
async fn listen_acknowledges_first_and_tags_every_notification() {
    let gw = Gateway::start(&fixture_config(""));
    gw.wait_ready(&["good"]).await;
    let c = Modern::new(gw.url("/mcp"));
    let body = c.body(
        5,
        "subscriptions/listen",
        json!({"notifications": {"toolsListChanged": true, "promptsListChanged": true}}),
    );
    let mut stream = c.send(&body, "subscriptions/listen", None).await;
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    // The fault fixture adds a tool 2.5 s after start: tools/list_changed.
    let events = events_until(&mut stream, |e| e.data.contains("tools/list_changed")).await;
    let messages: Vec<Value> = events
        .iter()
        .filter(|e| !e.data.is_empty())
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    assert_eq!(
        messages[0]["method"],
        "notifications/subscriptions/acknowledged"
    );
    assert_eq!(
        messages[0]["params"]["notifications"]["toolsListChanged"],
        true
    );
    assert_eq!(
        messages[0]["params"]["notifications"]["resourcesListChanged"],
        false
    );
    for m in &messages {
        assert_eq!(
            m["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 5,
            "{m}"
        );
    }
}

#[tokio::test]
async fn a_held_call_nobody_comes_back_for_is_cancelled_when_its_state_expires() {
    let gw = Gateway::start(&fixture_config("server:\n  request_state_ttl: 1s\n"));
    gw.wait_ready(&["fx"]).await;
    let c = Modern::new(gw.url("/mcp/fx"));
    let params = json!({"name": "test_elicitation", "arguments": {"message": "anyone?"}});
    let (_, first) = c.request(1, "tools/call", params.clone()).await;
    let state = first["result"]["requestState"].as_str().unwrap().to_owned();
    gw.wait_log("client cancelled; sent notifications/cancelled upstream")
        .await;
    let mut late = params;
    late["requestState"] = json!(state);
    late["inputResponses"] = json!({"elicitation-1": {"action": "accept", "content": {}}});
    let (status, v) = c.request(2, "tools/call", late).await;
    assert_eq!(
        (status, v["error"]["code"].as_i64()),
        (400, Some(-32602)),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("expired"),
        "{v}"
    );
}

#[tokio::test]
async fn held_calls_are_bounded() {
    let gw = Gateway::start(&fixture_config("server:\n  max_held_calls: 1\n"));
    gw.wait_ready(&["fx"]).await;
    let c = Modern::new(gw.url("/mcp/fx"));
    let params = json!({"name": "test_elicitation", "arguments": {"message": "one"}});
    let (_, first) = c.request(1, "tools/call", params.clone()).await;
    assert_eq!(first["result"]["resultType"], "input_required");
    let (_, second) = c.request(2, "tools/call", params).await;
    assert_eq!(second["error"]["code"], -32603, "{second}");
    assert!(second["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too many calls"));
}

#[tokio::test]
async fn client_rate_limit_bounds_stateless_requests_but_not_their_retries() {
    let gw = Gateway::start(&fixture_config(
        "failsafe:\n  client_rate_limit: {enabled: true, requests_per_second: 0.5, burst_size: 2}\n",
    ));
    gw.wait_ready(&["fx"]).await;
    let c = Modern::new(gw.url("/mcp/fx"));
    // The burst: a call that asks a question, and one more request.
    let params = json!({"name": "test_elicitation", "arguments": {"message": "who are you?"}});
    let (_, first) = c.request(1, "tools/call", params.clone()).await;
    let r = &first["result"];
    assert_eq!(r["resultType"], "input_required", "{first}");
    let (_, listed) = c.request(2, "tools/list", json!({})).await;
    assert!(listed["result"]["tools"].is_array(), "{listed}");
    // No session to tell stateless clients apart: the next fresh request,
    // from this client or any other, is over the shared limit.
    let other = Modern::new(gw.url("/mcp/fx"));
    let (status, limited) = other.request(3, "tools/list", json!({})).await;
    assert_eq!(status, 200, "{limited}");
    assert!(
        limited["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("client_rate_limit"))
            && limited["error"]["data"]["retryAfterMs"].is_u64(),
        "{limited}"
    );
    // ...but the retry that answers the held call's question goes through.
    let (key, _) = r["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let mut retry = params;
    retry["requestState"] = r["requestState"].clone();
    retry["inputResponses"] = json!({ key: {"action": "accept", "content": {"username": "ada", "email": "ada@example.com"}} });
    let (status, done) = c.request(4, "tools/call", retry).await;
    assert_eq!(
        (status, &done["result"]["resultType"]),
        (200, &json!("complete")),
        "{done}"
    );
    // server/discover is never limited.
    let (status, found) = other.request(5, "server/discover", json!({})).await;
    assert_eq!(status, 200);
    assert!(found["result"]["supportedVersions"].is_array(), "{found}");
}
