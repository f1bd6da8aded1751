//! The real gateway binary between real MCP clients (the official Python
//! SDK 1.x, the MCP Inspector CLI) and real MCP servers
//! (server-everything over stdio, Streamable HTTP and legacy SSE;
//! server-filesystem; server-memory), plus our fixture over WebSocket.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

fn everything_http(mode: &str, port: u16) -> Server {
    let child = Command::new(peer("mcp-server-everything"))
        .arg(mode)
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

fn ws_fixture(port: u16) -> Server {
    let child = Command::new(fault_fixture())
        .args(["--ws", "--port", &port.to_string(), "--name", "ws-fixture"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server(child)
}

/// The whole zoo behind one gateway.
struct Zoo {
    gw: Gateway,
    _servers: Vec<Server>,
    _data: tempfile::TempDir,
}

async fn zoo(extra_config: &str) -> Zoo {
    let (http_port, sse_port, ws_port) = (free_port(), free_port(), free_port());
    let servers = vec![
        everything_http("streamableHttp", http_port),
        everything_http("sse", sse_port),
        ws_fixture(ws_port),
    ];
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        data.path().join("hello.txt"),
        "hello from the filesystem server\n",
    )
    .unwrap();
    let config = format!(
        r#"{extra_config}
backends:
  ev_stdio:
    command: {ev} stdio
    description: server-everything over stdio
  ev_http:
    http_url: http://127.0.0.1:{http_port}/mcp
  ev_sse:
    http_url: http://127.0.0.1:{sse_port}/sse
    transport: sse
  ev_sse_detected:
    http_url: http://127.0.0.1:{sse_port}/sse
  fs:
    command: {fs} {dir}
    description: Files on disk
  memory:
    command: {mem}
    env:
      MEMORY_FILE_PATH: {dir}/memory.jsonl
  ws:
    ws_url: ws://127.0.0.1:{ws_port}/ws
"#,
        ev = peer("mcp-server-everything"),
        fs = peer("mcp-server-filesystem"),
        mem = peer("mcp-server-memory"),
        dir = data.path().display(),
    );
    let gw = Gateway::start(&config);
    gw.wait_ready(&[
        "ev_stdio",
        "ev_http",
        "ev_sse",
        "ev_sse_detected",
        "fs",
        "memory",
        "ws",
    ])
    .await;
    Zoo {
        gw,
        _servers: servers,
        _data: data,
    }
}

/// Run the MCP Inspector CLI against `url`; returns the JSON it prints.
fn inspector(url: &str, args: &[&str]) -> Value {
    let out = Command::new(peer("mcp-inspector"))
        .args(["--cli", url, "--transport", "http"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "inspector failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("inspector prints JSON")
}

fn structured(step: &Value) -> &Value {
    &step["result"]["structuredContent"]
}

#[tokio::test]
async fn python_sdk_lists_searches_and_invokes_over_every_backend_transport() {
    let z = zoo("").await;
    let url = z.gw.url("/mcp");
    let invoke = |server: &str, tool: &str, args: Value| {
        json!({"server": server, "tool": tool, "arguments": args}).to_string()
    };
    let calls = [
        invoke("ev_stdio", "echo", json!({"message": "via stdio"})),
        invoke("ev_http", "echo", json!({"message": "via streamable http"})),
        invoke("ev_sse", "echo", json!({"message": "via legacy sse"})),
        invoke("ev_sse_detected", "get-sum", json!({"a": 2, "b": 40})),
        invoke(
            "fs",
            "read_text_file",
            json!({"path": format!("{}/hello.txt", z._data.path().display())}),
        ),
        invoke(
            "memory",
            "create_entities",
            json!({"entities": [{"name": "gateway", "entityType": "software", "observations": ["fast"]}]}),
        ),
        invoke("ws", "echo", json!({"message": "via websocket"})),
        invoke(
            "ev_http",
            "get-structured-content",
            json!({"location": "New York"}),
        ),
    ];
    let mut steps: Vec<&str> = vec![
        "--list-tools",
        "--call",
        "gateway_list_servers",
        "{}",
        "--call",
        "gateway_search_tools",
        r#"{"query": "read a text file", "limit": 3}"#,
    ];
    for c in &calls {
        steps.extend(["--call", "gateway_invoke", c.as_str()]);
    }
    let (out, summary) = py_client(&["--transport", "http", "--url", &url], &steps);
    assert_eq!(summary["server_name"], "mcp-gateway");

    let names: Vec<&str> = out[0]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "gateway_list_servers",
            "gateway_list_tools",
            "gateway_search_tools",
            "gateway_invoke"
        ]
    );

    let servers = structured(&out[1])["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 7);
    assert!(servers.iter().all(|s| s["state"] == "ready"), "{servers:?}");
    let field = |n: &str, f: &str| servers.iter().find(|s| s["name"] == n).unwrap()[f].clone();
    let transport = |n: &str| field(n, "transport");
    // Without a `description` in the config, a server's own words about
    // itself (serverInfo title, else name) describe it.
    assert_eq!(
        (
            field("ev_stdio", "description"),
            field("ev_http", "description"),
            field("fs", "description")
        ),
        (
            json!("server-everything over stdio"),
            json!("Everything Reference Server"),
            json!("Files on disk")
        )
    );
    assert_eq!(field("memory", "description"), json!("memory-server"));
    assert_eq!(
        (transport("ev_http"), transport("ev_sse"), transport("ws")),
        (json!("http"), json!("sse"), json!("websocket"))
    );

    let matches = structured(&out[2])["matches"].as_array().unwrap();
    assert_eq!(matches[0]["server"], "fs", "{matches:?}");
    assert!(
        matches[0]["tool"].as_str().unwrap().contains("read"),
        "{matches:?}"
    );
    assert!(matches[0]["inputSchema"]["properties"].is_object());

    let text_of = |i: usize| {
        out[3 + i]["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(text_of(0), "Echo: via stdio");
    assert_eq!(text_of(1), "Echo: via streamable http");
    assert_eq!(text_of(2), "Echo: via legacy sse");
    assert!(text_of(3).contains("42"), "{}", out[6]);
    assert_eq!(text_of(4), "hello from the filesystem server\n");
    assert!(
        out[8]["result"].to_string().contains("gateway"),
        "{}",
        out[8]
    );
    assert_eq!(text_of(6), "via websocket");
    assert!(
        out[10]["result"]["structuredContent"].is_object(),
        "structuredContent passes through: {}",
        out[10]
    );
}

#[tokio::test]
async fn unknown_names_get_did_you_mean_and_backend_errors_pass_through() {
    let z = zoo("").await;
    let url = z.gw.url("/mcp");
    let (out, _) = py_client(
        &["--transport", "http", "--url", &url],
        &[
            "--expect-error",
            "--call",
            "gateway_invoke",
            r#"{"server": "memroy", "tool": "read_graph"}"#,
            "--expect-error",
            "--call",
            "gateway_invoke",
            r#"{"server": "fs", "tool": "read_fil"}"#,
        ],
    );
    assert!(
        out[0]["error"]
            .as_str()
            .unwrap()
            .contains("Did you mean: memory?"),
        "{}",
        out[0]
    );
    assert!(
        out[1]["error"]
            .as_str()
            .unwrap()
            .contains("Did you mean: read_file"),
        "{}",
        out[1]
    );
}

#[tokio::test]
async fn backend_endpoint_speaks_for_one_server_with_its_own_names() {
    let z = zoo("").await;
    let url = z.gw.url("/mcp/ev_stdio");
    let (out, summary) = py_client(
        &["--transport", "http", "--url", &url],
        &[
            "--list-tools",
            "--call",
            "echo",
            r#"{"message": "direct"}"#,
            "--list-resources",
            "--list-prompts",
            "--get-prompt",
            "simple-prompt",
            "{}",
        ],
    );
    let tools: Vec<&str> = out[0]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"echo") && tools.contains(&"get-sum"),
        "{tools:?}"
    );
    assert_eq!(out[1]["result"]["content"][0]["text"], "Echo: direct");
    assert!(
        !out[2]["result"]["resources"].as_array().unwrap().is_empty(),
        "{}",
        out[2]
    );
    assert!(
        !out[3]["result"]["prompts"].as_array().unwrap().is_empty(),
        "{}",
        out[3]
    );
    assert!(out[4]["ok"].as_bool().unwrap(), "{}", out[4]);
    assert!(
        summary["capabilities"]["resources"].is_object(),
        "the backend's own capabilities: {summary}"
    );
}

#[tokio::test]
async fn direct_mode_exposes_prefixed_backend_tools() {
    let z = zoo("meta_mcp:\n  enabled: false").await;
    let url = z.gw.url("/mcp");
    let (out, _) = py_client(
        &["--transport", "http", "--url", &url],
        &[
            "--list-tools",
            "--call",
            "ev_http__echo",
            r#"{"message": "prefixed"}"#,
        ],
    );
    let tools: Vec<&str> = out[0]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"fs__read_text_file")
            && tools.contains(&"memory__read_graph")
            && tools.contains(&"ws__exotic"),
        "{tools:?}"
    );
    assert!(!tools.iter().any(|t| t.starts_with("gateway_")));
    assert_eq!(out[1]["result"]["content"][0]["text"], "Echo: prefixed");
}

#[tokio::test]
async fn stdio_front_serves_the_python_sdk() {
    let z = zoo("").await;
    let config = z.gw.dir.path().join("gateway.yaml");
    let cmd = format!(
        "{} serve --stdio --config {}",
        env!("CARGO_BIN_EXE_mcp-gateway"),
        config.display()
    );
    let (out, summary) = py_client(
        &["--transport", "stdio", "--command", &cmd],
        &[
            "--list-tools",
            "--call",
            "gateway_invoke",
            r#"{"server": "memory", "tool": "read_graph", "arguments": {}}"#,
        ],
    );
    assert_eq!(summary["server_name"], "mcp-gateway");
    assert_eq!(out[0]["result"]["tools"].as_array().unwrap().len(), 4);
    assert!(out[1]["ok"].as_bool().unwrap(), "{}", out[1]);
}

#[tokio::test]
async fn legacy_sse_front_serves_old_clients() {
    let z = zoo("").await;
    let url = z.gw.url("/sse");
    let (out, _) = py_client(
        &["--transport", "sse", "--url", &url],
        &[
            "--list-tools",
            "--call",
            "gateway_invoke",
            r#"{"server": "ev_stdio", "tool": "echo", "arguments": {"message": "old"}}"#,
        ],
    );
    assert_eq!(out[0]["result"]["tools"].as_array().unwrap().len(), 4);
    assert_eq!(out[1]["result"]["content"][0]["text"], "Echo: old");
}

#[tokio::test]
async fn mcp_inspector_cli_lists_and_calls_through_the_gateway() {
    let z = zoo("").await;
    let run = |url: String, args: &[&str]| inspector(&url, args);
    let tools = run(z.gw.url("/mcp"), &["--method", "tools/list"]);
    assert_eq!(tools["tools"].as_array().unwrap().len(), 4, "{tools}");
    let found = run(
        z.gw.url("/mcp"),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "gateway_search_tools",
            "--tool-arg",
            "query=knowledge graph entities",
        ],
    );
    assert!(found.to_string().contains("memory"), "{found}");
    let invoked = run(
        z.gw.url("/mcp"),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "gateway_invoke",
            "--tool-arg",
            "server=ev_http",
            "--tool-arg",
            "tool=echo",
        ],
    );
    // The Inspector cannot pass an object argument from its CLI, so echo runs without one and
    // server-everything's own validation error comes back through the gateway unchanged.
    assert!(invoked.to_string().contains("isError"), "{invoked}");
}

#[tokio::test]
async fn mcp_inspector_cli_calls_backend_tools_in_direct_mode() {
    // Inspector 0.15 always POSTs to the URL's origin + "/mcp", so it cannot reach /mcp/{backend};
    // direct mode gives it the backend tools on /mcp.
    let z = zoo("meta_mcp:\n  enabled: false").await;
    let out = Command::new(peer("mcp-inspector"))
        .args([
            "--cli",
            &z.gw.url("/mcp"),
            "--transport",
            "http",
            "--method",
            "tools/call",
            "--tool-name",
            "ev_http__get-sum",
            "--tool-arg",
            "a=1",
            "--tool-arg",
            "b=2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("The sum of 1 and 2 is 3"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn sampling_elicitation_and_progress_reach_the_client_that_made_the_call() {
    let z = zoo("").await;
    // Meta mode: gateway_invoke to server-everything over stdio and over Streamable HTTP.
    let invoke = |server: &str, tool: &str, args: Value| {
        json!({"server": server, "tool": tool, "arguments": args}).to_string()
    };
    let (sampling_stdio, sampling_http, elicit, progress) = (
        invoke(
            "ev_stdio",
            "trigger-sampling-request",
            json!({"prompt": "hello"}),
        ),
        invoke(
            "ev_http",
            "trigger-sampling-request",
            json!({"prompt": "hello"}),
        ),
        invoke("ev_stdio", "trigger-elicitation-request", json!({})),
        invoke(
            "ev_http",
            "trigger-long-running-operation",
            json!({"duration": 1, "steps": 3}),
        ),
    );
    let url = z.gw.url("/mcp");
    let (out, summary) = py_client(
        &[
            "--transport",
            "http",
            "--url",
            &url,
            "--sampling-reply",
            "sampled through the gateway",
            "--elicitation-accept",
            r#"{"name": "Ada"}"#,
        ],
        &[
            "--call",
            "gateway_invoke",
            &sampling_stdio,
            "--call",
            "gateway_invoke",
            &sampling_http,
            "--call",
            "gateway_invoke",
            &elicit,
            "--progress",
            "--call",
            "gateway_invoke",
            &progress,
        ],
    );
    assert!(
        out[0]["result"]
            .to_string()
            .contains("sampled through the gateway"),
        "{}",
        out[0]
    );
    assert!(
        out[1]["result"]
            .to_string()
            .contains("sampled through the gateway"),
        "{}",
        out[1]
    );
    assert!(out[2]["result"].to_string().contains("Ada"), "{}", out[2]);
    assert_eq!(summary["sampling_calls"], 2);
    assert_eq!(summary["elicitation_calls"], 1);
    let steps: Vec<f64> = out[3]["result"]["progress"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(steps.len(), 3, "{}", out[3]);
    assert!(
        steps.windows(2).all(|w| w[0] < w[1]),
        "progress increases: {steps:?}"
    );

    // Direct endpoint, same routing.
    let direct = z.gw.url("/mcp/ev_http");
    let (out, summary) = py_client(
        &[
            "--transport",
            "http",
            "--url",
            &direct,
            "--sampling-reply",
            "direct sample",
        ],
        &["--call", "trigger-sampling-request", r#"{"prompt": "hi"}"#],
    );
    assert!(
        out[0]["result"].to_string().contains("direct sample"),
        "{}",
        out[0]
    );
    assert_eq!(summary["sampling_calls"], 1);

    // Progress through /mcp/{backend}: the client's params go upstream with
    // the gateway's token in place of the client's, and back.
    let (out, _) = py_client(
        &["--transport", "http", "--url", &z.gw.url("/mcp/ev_stdio")],
        &[
            "--progress",
            "--call",
            "trigger-long-running-operation",
            r#"{"duration": 1, "steps": 3}"#,
        ],
    );
    let steps = out[0]["result"]["progress"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "{}", out[0]);
}

#[tokio::test]
async fn a_client_without_the_capability_gets_a_clear_error_not_a_hang() {
    let z = zoo("").await;
    let mut c = Client::connect(z.gw.url("/mcp")).await; // declares no capabilities
    let r = c
        .invoke(
            "ev_stdio",
            "trigger-sampling-request",
            json!({"prompt": "x"}),
        )
        .await;
    assert!(
        r.to_string()
            .contains("did not declare the sampling capability"),
        "{r}"
    );
}

#[tokio::test]
async fn resources_and_prompts_of_all_backends_merge_on_mcp() {
    let z = zoo("").await;
    let url = z.gw.url("/mcp");
    // Four server-everything backends list the same URIs: each gets a reversible gateway URI.
    let (out, summary) = py_client(
        &["--transport", "http", "--url", &url],
        &[
            "--list-resources",
            "--list-prompts",
            "--list-resource-templates",
        ],
    );
    assert!(
        summary["capabilities"]["resources"].is_object()
            && summary["capabilities"]["prompts"].is_object(),
        "{summary}"
    );
    let uris: Vec<String> = out[0]["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap().to_owned())
        .collect();
    let ev_static = uris
        .iter()
        .find(|u| u.starts_with("mcp-gateway://ev_stdio/"))
        .expect("disambiguated URIs")
        .clone();
    assert!(uris.iter().any(|u| u.starts_with("mcp-gateway://ev_http/")));
    let prompts: Vec<&str> = out[1]["result"]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(prompts.contains(&"ev_stdio__simple-prompt"), "{prompts:?}");
    assert!(
        !out[2]["result"]["resourceTemplates"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{}",
        out[2]
    );

    let (out, _) = py_client(
        &["--transport", "http", "--url", &url],
        &[
            "--read-resource",
            &ev_static,
            "--get-prompt",
            "ev_http__simple-prompt",
            "{}",
        ],
    );
    assert_eq!(
        out[0]["result"]["contents"][0]["uri"], ev_static,
        "the contents name the resource as the client knows it: {}",
        out[0]
    );
    assert!(
        out[1]["result"]["messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        out[1]
    );

    // The MCP Inspector CLI reads them through the gateway too.
    let run = |args: &[&str]| inspector(&url, args);
    let listed = run(&["--method", "resources/list"]);
    assert!(listed["resources"]
        .as_array()
        .is_some_and(|r| !r.is_empty()));
    let read = run(&["--method", "resources/read", "--uri", &ev_static]);
    assert!(
        read["contents"].as_array().is_some_and(|c| !c.is_empty()),
        "{read}"
    );
    let prompt = run(&[
        "--method",
        "prompts/get",
        "--prompt-name",
        "ev_stdio__simple-prompt",
    ]);
    assert!(
        prompt["messages"].as_array().is_some_and(|m| !m.is_empty()),
        "{prompt}"
    );
    let missing = c_missing(&url).await;
    assert_eq!(missing["error"]["code"], -32002, "{missing}");
}

async fn c_missing(url: &str) -> Value {
    let mut c = Client::connect(url.to_owned()).await;
    c.request("resources/read", json!({"uri": "nowhere://nothing"}))
        .await
}

#[tokio::test]
async fn a_roots_request_outside_any_call_reaches_the_one_client_that_can_answer() {
    let gw = Gateway::start(&format!(
        "backends:\n  ev:\n    command: {} stdio\n",
        peer("mcp-server-everything")
    ));
    gw.wait_ready(&["ev"]).await;
    let mut c = Client::new(gw.url("/mcp/ev"));
    c.initialize_with("2025-11-25", json!({"roots": {"listChanged": true}}))
        .await;
    let mut stream = c.open_stream().await;
    // A second client that declared no roots cannot answer, so it does not
    // make the choice ambiguous.
    let _other = Client::connect(gw.url("/mcp/ev")).await;

    // The client's roots changed: server-everything asks for them with a
    // roots/list of its own, tied to no call, which reaches this client's
    // GET stream under a gateway id.
    let changed = json!({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"});
    assert_eq!(c.post(&changed).await.status(), 202);
    let events = events_until(&mut stream, |e| e.data.contains("roots/list")).await;
    let ask: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(ask["method"], "roots/list");
    let roots = json!({"roots": [{"uri": "file:///work/project", "name": "project"}]});
    let reply = json!({"jsonrpc": "2.0", "id": ask["id"], "result": roots});
    assert_eq!(c.post(&reply).await.status(), 202);

    // The answer went back to server-everything, which now lists our root.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listed = c.call("get-roots-list", json!({})).await;
        if text(&listed).contains("file:///work/project") {
            break;
        }
        assert!(Instant::now() < deadline, "roots never arrived: {listed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn tasks_run_on_their_backend_and_only_their_session_sees_them() {
    // meta mode off: /mcp lists server-everything's tools as ev__<tool>.
    let gw = Gateway::start(&format!(
        "meta_mcp:\n  enabled: false\nbackends:\n  ev:\n    command: {} stdio\n",
        peer("mcp-server-everything")
    ));
    gw.wait_ready(&["ev"]).await;
    let mut c = Client::new(gw.url("/mcp"));
    let init = c.initialize("2025-11-25").await;
    assert!(init["result"]["capabilities"]["tasks"]["requests"]["tools"]["call"].is_object());
    let mut stream = c.open_stream().await;

    // A task-augmented call: the task travels to the backend, which answers
    // with a CreateTaskResult under its own task id.
    let created = c
        .request(
            "tools/call",
            json!({"name": "ev__simulate-research-query", "arguments": {"topic": "gateways"},
                   "task": {"ttl": 60000}}),
        )
        .await;
    let task_id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap_or_else(|| panic!("CreateTaskResult expected: {created}"))
        .to_owned();

    // Another session cannot see it: a task of someone else is a missing one.
    let mut other = Client::connect(gw.url("/mcp")).await;
    let foreign = other.request("tasks/get", json!({"taskId": task_id})).await;
    assert_eq!(foreign["error"]["code"], -32602, "{foreign}");
    let listed = other.request("tasks/list", json!({})).await;
    assert_eq!(listed["result"]["tasks"], json!([]), "{listed}");

    // The owner gets its status, its result, and finds it in tasks/list.
    let got = c.request("tasks/get", json!({"taskId": task_id})).await;
    assert_eq!(got["result"]["taskId"], task_id.as_str(), "{got}");
    let result = c.request("tasks/result", json!({"taskId": task_id})).await;
    let report = text(&result["result"]);
    assert!(report.contains("Research Report: gateways"), "{result}");
    let done = c.request("tasks/get", json!({"taskId": task_id})).await;
    assert_eq!(done["result"]["status"], "completed", "{done}");
    let mine = c.request("tasks/list", json!({})).await;
    assert!(
        mine["result"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["taskId"] == task_id.as_str()),
        "{mine}"
    );
    // Status notifications came to the owner's stream.
    let events = events_until(&mut stream, |e| {
        e.data.contains("notifications/tasks/status") && e.data.contains("completed")
    })
    .await;
    let status: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(status["params"]["taskId"], task_id.as_str(), "{status}");

    // Through /mcp/ev the tasks/* methods are forwarded as they are, and the
    // task's status notifications come to the session that asked for it.
    let mut direct = Client::connect(gw.url("/mcp/ev")).await;
    let mut direct_stream = direct.open_stream().await;
    let created = direct
        .request(
            "tools/call",
            json!({"name": "simulate-research-query", "arguments": {"topic": "routing"},
                   "task": {"ttl": 60000}}),
        )
        .await;
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    let result = direct.request("tasks/result", json!({"taskId": id})).await;
    assert!(
        text(&result["result"]).contains("Research Report: routing"),
        "{result}"
    );
    let events = events_until(&mut direct_stream, |e| {
        e.data.contains("notifications/tasks/status") && e.data.contains(id.as_str())
    })
    .await;
    let status: Value = serde_json::from_str(&events.last().unwrap().data).unwrap();
    assert_eq!(status["params"]["taskId"], id.as_str(), "{status}");
}

/// Run the Python SDK 2.x client (auto era: server/discover, then
/// initialize as the fallback); returns its step lines and summary.
fn py2_client(args: &[&str]) -> (Vec<Value>, Value) {
    let out = Command::new(peer("mcp2-client"))
        .args(["--timeout", "30"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "mcp2-client failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let summary = lines
        .iter()
        .find_map(|l| l.get("summary").cloned())
        .expect("summary line");
    let steps = lines
        .into_iter()
        .filter(|l| l.get("step").is_some())
        .collect();
    (steps, summary)
}

#[tokio::test]
async fn over_stdio_a_question_goes_to_the_call_not_waiting_for_an_answer() {
    // stdio carries no hint of which call a backend's question is about.
    // Two sessions call server-everything's sampling tool: the first thinks
    // for seconds about its question while the second asks. The second
    // question is the second session's, since the first call is blocked.
    let z = zoo("").await;
    let url = z.gw.url("/mcp");
    let sampling = json!({"server": "ev_stdio", "tool": "trigger-sampling-request", "arguments": {"prompt": "hi"}})
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let asked = dir.path().join("slow-one-asked").display().to_string();
    let client = |reply: &'static str, extra: Vec<String>, steps: Vec<String>| {
        let (url, sampling) = (url.clone(), sampling.clone());
        std::thread::spawn(move || {
            let mut args = vec![
                "--transport",
                "http",
                "--url",
                &url,
                "--sampling-reply",
                reply,
            ];
            args.extend(extra.iter().map(String::as_str));
            let mut all: Vec<&str> = steps.iter().map(String::as_str).collect();
            all.extend(["--call", "gateway_invoke", &sampling]);
            py_client(&args, &all)
        })
    };
    // The slow one is asked first (it says so in a file), then the quick one calls.
    let slow = client(
        "the slow one",
        vec![
            "--sampling-delay".into(),
            "6".into(),
            "--sampling-marker".into(),
            asked.clone(),
        ],
        vec![],
    );
    let quick = client("the quick one", vec![], vec!["--wait-for".into(), asked]);
    let ((slow, slow_summary), (quick, quick_summary)) =
        (slow.join().unwrap(), quick.join().unwrap());
    let text = |out: &[Value]| out.last().unwrap()["result"].to_string();
    assert!(text(&slow).contains("the slow one"), "{slow:?}");
    assert!(text(&quick).contains("the quick one"), "{quick:?}");
    assert_eq!(slow_summary["sampling_calls"], 1);
    assert_eq!(quick_summary["sampling_calls"], 1);
}

#[tokio::test]
async fn a_2026_client_and_a_2025_client_share_one_gateway() {
    let z = zoo("").await;
    let url = z.gw.url("/mcp");
    // Over Streamable HTTP each question arrives on the stream of the call
    // it is about, so two clients asking at once is exact. (Over stdio the
    // gateway must work it out by elimination; see upstream/peer.rs.)
    let invoke = |tool: &str, args: Value| {
        json!({"server": "ev_http", "tool": tool, "arguments": args}).to_string()
    };
    let sampling = invoke("trigger-sampling-request", json!({"prompt": "hello"}));
    let elicit = invoke("trigger-elicitation-request", json!({}));
    // Both clients at the same time, on the same endpoint.
    let modern = std::thread::spawn({
        let (url, sampling, elicit) = (url.clone(), sampling.clone(), elicit.clone());
        move || {
            py2_client(&[
                "--url",
                &url,
                "--sampling-text",
                "sampled for 2026",
                "--elicit-content",
                r#"{"name": "Grace"}"#,
                "--list-tools",
                "--call-tool",
                "gateway_search_tools",
                r#"{"query": "ask the LLM to sample a message"}"#,
                "--call-tool",
                "gateway_invoke",
                &sampling,
                "--call-tool",
                "gateway_invoke",
                &elicit,
            ])
        }
    });
    let (old, old_summary) = py_client(
        &[
            "--transport",
            "http",
            "--url",
            &url,
            "--sampling-reply",
            "sampled for 2025",
            "--elicitation-accept",
            r#"{"name": "Ada"}"#,
        ],
        &[
            "--call",
            "gateway_invoke",
            &sampling,
            "--call",
            "gateway_invoke",
            &elicit,
        ],
    );
    let (new, summary) = modern.join().unwrap();

    assert_eq!(summary["era"], "modern", "{summary}");
    assert_eq!(summary["protocol_version"], "2026-07-28");
    assert_eq!(summary["negotiated_by"], "discover");
    let names: Vec<&str> = new[0]["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"gateway_invoke"), "{names:?}");
    assert!(
        new[1]["result"]
            .to_string()
            .contains("trigger-sampling-request"),
        "{}",
        new[1]
    );
    // server-everything's sampling and elicitation requests became
    // input_required rounds for the 2026 client...
    assert_eq!(
        new[2]["input_required"][0]["methods"][0], "sampling/createMessage",
        "{}",
        new[2]
    );
    assert!(
        new[2]["result"].to_string().contains("sampled for 2026"),
        "{}",
        new[2]
    );
    assert_eq!(
        new[3]["input_required"][0]["methods"][0],
        "elicitation/create"
    );
    assert!(new[3]["result"].to_string().contains("Grace"), "{}", new[3]);
    assert_eq!(
        (
            summary["sampling_calls"].as_u64(),
            summary["elicitation_calls"].as_u64()
        ),
        (Some(1), Some(1))
    );
    // ...and real requests for the 2025 client, answered under its own ids.
    assert!(
        old[0]["result"].to_string().contains("sampled for 2025"),
        "{}",
        old[0]
    );
    assert!(old[1]["result"].to_string().contains("Ada"), "{}", old[1]);
    assert_eq!(old_summary["protocol_version"], "2025-11-25");
}

#[tokio::test]
async fn session_era_clients_reach_2026_backends() {
    let port = free_port();
    let server = Server(
        Command::new(peer("mcp2-server"))
            .args(["--port", &port.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "mcp2-server did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gw = Gateway::start(&format!(
        "backends:\n  m_stdio:\n    command: {} --stdio\n  m_http:\n    http_url: http://127.0.0.1:{port}/mcp\n",
        peer("mcp2-server")
    ));
    let health = gw.wait_ready(&["m_stdio", "m_http"]).await;
    for b in ["m_stdio", "m_http"] {
        assert_eq!(
            health["backends"][b]["protocol_version"], "2026-07-28",
            "{health}"
        );
        // The backend's questions come to this 2025 client as real requests.
        let (out, summary) = py_client(
            &[
                "--transport",
                "http",
                "--url",
                &gw.url(&format!("/mcp/{b}")),
                "--sampling-reply",
                "sampled for 2025",
                "--elicitation-accept",
                r#"{"user_name": "Ada"}"#,
                "--roots",
                "/tmp/project",
            ],
            &[
                "--call",
                "ask_all",
                "{}",
                "--call",
                "echo",
                r#"{"message": "hi"}"#,
                "--ping",
            ],
        );
        assert!(
            out[0]["result"]
                .to_string()
                .contains("name=Ada; llm=sampled for 2025; roots=file:///tmp/project"),
            "{b}: {}",
            out[0]
        );
        assert!(
            out[1]["result"].to_string().contains("Echo: hi"),
            "{}",
            out[1]
        );
        assert_eq!(out[2]["result"], json!({}), "ping is the gateway's");
        assert_eq!(
            (
                summary["sampling_calls"].as_u64(),
                summary["elicitation_calls"].as_u64(),
                summary["roots_calls"].as_u64()
            ),
            (Some(1), Some(1), Some(1))
        );
    }
    drop(server);
}

/// Node's HTTP server closes a keep-alive connection idle for 5 s; the
/// gateway's pool must notice and call on a fresh one, not fail the call.
#[tokio::test]
async fn calls_go_on_after_the_backend_closed_its_idle_connections() {
    let port = free_port();
    let _server = everything_http("streamableHttp", port);
    let (_gw, mut c) = Gateway::ready(&format!(
        "backends:\n  ev_http:\n    http_url: http://127.0.0.1:{port}/mcp\n    health_check: {{ enabled: false }}\n"
    ), &["ev_http"]).await;
    for round in 0..2 {
        let r = c
            .invoke(
                "ev_http",
                "echo",
                json!({"message": format!("round {round}")}),
            )
            .await;
        assert!(text(&r).contains(&format!("round {round}")), "{r}");
        if round == 0 {
            tokio::time::sleep(Duration::from_millis(5_500)).await;
        }
    }
}

/// Starting real session-era stdio servers is quiet, and each runs once:
/// the discover probe is asked of the process that then serves.
#[tokio::test]
async fn a_clean_start_warns_of_nothing() {
    let data = tempfile::tempdir().unwrap();
    let config = format!(
        "backends:\n  memory:\n    command: {mem}\n    env:\n      MEMORY_FILE_PATH: {dir}/memory.jsonl\n  everything:\n    command: {ev} stdio\n",
        mem = peer("mcp-server-memory"),
        ev = peer("mcp-server-everything"),
        dir = data.path().display(),
    );
    let (gw, mut c) = Gateway::ready(&config, &["memory", "everything"]).await;
    let r = c
        .invoke("everything", "echo", json!({"message": "hi"}))
        .await;
    assert_eq!(text(&r), "Echo: hi", "{r}");
    assert!(gw.log().contains("modern=false"), "probed:\n{}", gw.log());
    assert!(
        !gw.log().contains("backend process stopped"),
        "no process was started twice:\n{}",
        gw.log()
    );
    let log = gw.log();
    let warnings: Vec<&str> = log.lines().filter(|l| l.contains(" WARN ")).collect();
    assert!(warnings.is_empty(), "{warnings:#?}");
}

/// `examples/gateway.yaml`, the README's first command, with its two
/// servers run from the pinned test installs instead of `npx -y`: both come
/// up, search finds their tools for tasks phrased the way agents phrase
/// them, and a found tool runs.
#[tokio::test]
async fn the_example_configuration_finds_and_runs_its_servers_tools() {
    let example = std::fs::read_to_string(repo_root().join("examples/gateway.yaml")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let config = example
        .replace(
            "npx -y @modelcontextprotocol/server-memory@2026.8.31",
            &peer("mcp-server-memory"),
        )
        .replace(
            "npx -y @modelcontextprotocol/server-everything@2026.8.31",
            &peer("mcp-server-everything"),
        )
        .replace(
            "${MEMORY_FILE_PATH:-/tmp/mcp-gateway-memory.jsonl}",
            &data.path().join("memory.jsonl").display().to_string(),
        );
    assert!(
        !config.contains("npx"),
        "the example's commands changed:\n{example}"
    );
    let (gw, mut c) = Gateway::ready(&config, &["memory", "everything"]).await;
    let first = |r: &Value| {
        let top = &r["structuredContent"]["matches"][0];
        format!(
            "{}/{}",
            top["server"].as_str().unwrap(),
            top["tool"].as_str().unwrap()
        )
    };
    for (query, want) in [
        ("remember that the user prefers dark mode", "memory/"),
        ("add 2 and 3", "everything/get-sum"),
        ("forget that Alice works at Acme", "memory/delete_"),
    ] {
        let found = c
            .call("gateway_search_tools", json!({ "query": query }))
            .await;
        assert!(first(&found).starts_with(want), "{query}: {found}");
    }
    let summed = c
        .invoke("everything", "get-sum", json!({"a": 2, "b": 3}))
        .await;
    assert!(summed.to_string().contains('5'), "{summed}");
    assert!(!gw.log().contains("unknown config key"), "{}", gw.log());
}
