//! Hot reload: file changes, SIGHUP and `mcp-gateway reload` apply a new
//! config while running, touching only what changed; a bad config is
//! rejected and the running one stays; sessions and in-flight calls live on.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};

fn backend(name: &str, marker: &str) -> String {
    format!(
        "  {name}:\n    command: {} --name {marker}-{name}\n",
        fault_fixture()
    )
}

fn write(gw: &Gateway, text: &str) {
    // Write-then-rename, as editors do.
    let tmp = gw.dir.path().join("gateway.yaml.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, gw.dir.path().join("gateway.yaml")).unwrap();
}

#[tokio::test]
async fn file_changes_add_remove_and_replace_only_what_changed() {
    let m = format!("reload-{}", std::process::id());
    let gw = Gateway::start(&format!("backends:\n{}", backend("a", &m)));
    gw.wait_ready(&["a"]).await;
    let a_procs = processes_matching(&format!("{m}-a"));
    let mut c = Client::connect(gw.url("/mcp")).await;

    // A slow call on `a` is in flight while the config changes.
    let url = gw.url("/mcp");
    let slow = tokio::spawn(async move {
        let mut c = Client::connect(url).await;
        c.invoke("a", "slow", json!({"ms": 1500})).await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    write(
        &gw,
        &format!("backends:\n{}{}", backend("a", &m), backend("b", &m)),
    );
    let h = gw.wait_ready(&["a", "b"]).await;
    assert_eq!(h["backends"]["a"]["connects"], 1, "a untouched");
    assert_eq!(
        processes_matching(&format!("{m}-a")),
        a_procs,
        "same a process"
    );
    assert_eq!(
        text(&slow.await.unwrap()),
        "slept 1500ms",
        "the in-flight call survived the reload"
    );
    assert_eq!(
        text(&c.invoke("b", "echo", json!({"message": "new"})).await),
        "new",
        "same session sees b"
    );

    // Remove a; change b (its description), which replaces it.
    write(
        &gw,
        &format!("backends:\n{}    description: changed\n", backend("b", &m)),
    );
    gw.wait_health("a removed", |h| h["backends"].get("a").is_none())
        .await;
    let h = gw.wait_ready(&["b"]).await;
    assert_eq!(h["backends"].as_object().unwrap().len(), 1);
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    while !processes_matching(&format!("{m}-a")).is_empty() {
        assert!(std::time::Instant::now() < deadline, "a's process stopped");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let servers = c.call("gateway_list_servers", json!({})).await;
    assert_eq!(
        servers["structuredContent"]["servers"][0]["description"],
        "changed"
    );
    gw.wait_log("config reloaded").await;
}

#[tokio::test]
async fn an_invalid_config_is_rejected_and_the_running_one_stays() {
    let m = format!("keep-{}", std::process::id());
    let gw = Gateway::start(&format!("backends:\n{}", backend("a", &m)));
    gw.wait_ready(&["a"]).await;
    write(
        &gw,
        "backends:\n  a:\n    command: x\n    timeout: forever\n",
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gw
        .log()
        .contains("config reload rejected, the running config stays")
    {
        assert!(std::time::Instant::now() < deadline, "{}", gw.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gw.wait_log("backends.a.timeout: invalid duration").await;
    let mut c = Client::connect(gw.url("/mcp")).await;
    assert_eq!(
        text(&c.invoke("a", "echo", json!({"message": "still"})).await),
        "still"
    );
}

#[tokio::test]
async fn sighup_and_the_reload_command_reload_at_once() {
    // Included files are not watched: a change there waits for SIGHUP or `mcp-gateway reload`.
    let f = fault_fixture();
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients.json");
    let write_clients = |names: &[&str]| {
        let servers: serde_json::Map<String, Value> = names
            .iter()
            .map(|n| (n.to_string(), json!({"command": f.clone()})))
            .collect();
        std::fs::write(&clients, json!({"mcpServers": servers}).to_string()).unwrap();
    };
    write_clients(&[]);
    let gw = Gateway::start(&format!("include_mcp_servers: [{}]\n", clients.display()));
    write_clients(&["one"]);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(gw.child.id() as i32),
        nix::sys::signal::Signal::SIGHUP,
    )
    .unwrap();
    gw.wait_ready(&["one"]).await;

    write_clients(&["one", "two"]);
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .args([
            "reload",
            "--config",
            gw.dir.path().join("gateway.yaml").to_str().unwrap(),
            "--port",
            &gw.port.to_string(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], json!(["two"]), "{report}");
    assert_eq!(report["unchanged"], json!(["one"]), "{report}");
    gw.wait_ready(&["one", "two"]).await;
}

#[tokio::test]
async fn clients_hear_about_new_tools_resources_and_prompts_after_a_reload() {
    let m = format!("lists-{}", std::process::id());
    let (gw, c) = Gateway::ready(&format!("backends:\n{}", backend("a", &m)), &["a"]).await;
    let mut stream = c
        .http
        .get(gw.url("/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", c.session.clone().unwrap())
        .send()
        .await
        .unwrap();
    let conformance = workspace_bin("mcp-conformance-fixture");
    write(
        &gw,
        &format!(
            "backends:\n{}  conf:\n    command: {} --stdio\n",
            backend("a", &m),
            conformance.display()
        ),
    );
    let mut seen = String::new();
    for want in [
        "notifications/tools/list_changed",
        "notifications/resources/list_changed",
        "notifications/prompts/list_changed",
    ] {
        while !seen.contains(want) {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
                .await
                .unwrap_or_else(|_| panic!("{want}; got {seen}"))
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let mut c = c;
    let prompts = c.request("prompts/list", json!({})).await;
    assert!(
        prompts.to_string().contains("conf__test_simple_prompt"),
        "{prompts}"
    );
}
