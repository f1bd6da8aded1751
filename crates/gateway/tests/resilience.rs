//! Failsafes from outside: circuit breaker, safe retries (no unsafe call
//! ever runs twice, counted by the fixture), rate limits.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::json;

#[tokio::test]
async fn circuit_opens_after_failures_fails_fast_then_recovers() {
    let f = fault_fixture();
    let (gw, mut c) = Gateway::ready(&format!(
        "failsafe:\n  circuit_breaker: {{failure_threshold: 2, reset_timeout: 800ms}}\nbackends:\n  flaky:\n    command: {f}\n    timeout: 200ms\n  steady:\n    command: {f}\n"
    ), &["flaky", "steady"]).await;
    for _ in 0..2 {
        let v = c
            .request(
                "tools/call",
                json!({"name": "gateway_invoke", "arguments": {"server": "flaky", "tool": "hang"}}),
            )
            .await;
        assert_eq!(v["error"]["code"], -32001, "{v}");
    }
    let start = Instant::now();
    let v = c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "flaky", "tool": "echo", "arguments": {"message": "x"}}})).await;
    assert!(start.elapsed() < Duration::from_millis(100), "fails fast");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("circuit breaker is open"),
        "{v}"
    );
    assert!(
        v["error"]["data"]["retryAfterMs"].as_u64().unwrap() <= 800,
        "{v}"
    );
    let (_, h) = gw.health().await;
    assert_eq!(h["backends"]["flaky"]["circuit"], "open");
    let servers = c.call("gateway_list_servers", json!({})).await;
    assert!(
        servers["structuredContent"]
            .to_string()
            .contains(r#""circuit":"open""#),
        "{servers}"
    );
    // Other backends are untouched.
    assert_eq!(
        text(&c.invoke("steady", "echo", json!({"message": "fine"})).await),
        "fine"
    );
    // After reset_timeout a trial call goes through and closes the circuit.
    tokio::time::sleep(Duration::from_millis(850)).await;
    assert_eq!(
        text(&c.invoke("flaky", "echo", json!({"message": "back"})).await),
        "back"
    );
    assert_eq!(
        gw.health().await.1["backends"]["flaky"]["circuit"],
        "closed"
    );
}

#[tokio::test]
async fn only_safe_calls_are_retried_and_no_side_effect_runs_twice() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("calls.txt");
    let _fx = Server(
        Command::new(fault_fixture())
            .args([
                "--http",
                "--port",
                &port.to_string(),
                "--http-fail-every",
                "3",
                "--count-file",
                count.to_str().unwrap(),
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (_gw, mut c) = Gateway::ready(&format!(
        "failsafe:\n  circuit_breaker: {{enabled: false}}\n  retry: {{max_attempts: 3, initial_backoff: 10ms}}\nbackends:\n  h:\n    http_url: http://127.0.0.1:{port}/mcp\n"
    ), &["h"]).await;
    for i in 0..10 {
        let r = c.invoke("h", "add", json!({"a": i, "b": 1})).await;
        assert_eq!(
            r["structuredContent"]["sum"],
            i + 1,
            "idempotent add is retried past the 500s: {r}"
        );
    }
    let (mut ok, mut failed) = (0, 0);
    for i in 0..10 {
        let v = c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "h", "tool": "side_effect", "arguments": {"note": format!("n{i}")}}})).await;
        if v.get("error").is_some() {
            assert!(
                v["error"]["message"].as_str().unwrap().contains("HTTP 500"),
                "{v}"
            );
            failed += 1;
        } else {
            ok += 1;
        }
    }
    assert!(
        failed > 0,
        "some side_effect calls met a 500 and were not retried"
    );
    let log = std::fs::read_to_string(&count).unwrap();
    let ran: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("side_effect "))
        .collect();
    assert_eq!(
        ran.len(),
        ok,
        "each successful side_effect ran exactly once, failed ones never re-sent"
    );
    let mut notes: Vec<&str> = ran
        .iter()
        .map(|l| l.split('"').nth(3).unwrap_or(""))
        .collect();
    notes.dedup();
    assert_eq!(notes.len(), ran.len(), "no note twice: {log}");
}

#[tokio::test]
async fn a_burst_at_ten_times_the_rate_gets_only_rate_limit_errors_then_full_service() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!("backends:\n  capped:\n    command: {f}\n    rate_limit: {{enabled: true, requests_per_second: 5, burst_size: 5}}\n"));
    gw.wait_ready(&["capped"]).await;
    let url = gw.url("/mcp");
    let burst = (0..50).map(|i| {
        let url = url.clone();
        tokio::spawn(async move {
            let mut c = Client::connect(url).await;
            c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "capped", "tool": "echo", "arguments": {"message": format!("m{i}")}}})).await
        })
    });
    let results = futures_util::future::join_all(burst).await;
    let (mut ok, mut limited) = (0, 0);
    for r in results {
        let v = r.unwrap();
        match v.get("error") {
            None => ok += 1,
            Some(e) => {
                assert!(
                    e["message"].as_str().unwrap().contains("rate limited")
                        && e["data"]["retryAfterMs"].is_u64(),
                    "{v}"
                );
                limited += 1;
            }
        }
    }
    assert!(
        (5..50).contains(&ok) && limited > 0,
        "about the burst size got through: {ok}"
    );
    assert_eq!(ok + limited, 50);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut c = Client::connect(gw.url("/mcp")).await;
    for i in 0..5 {
        assert_eq!(
            text(
                &c.invoke("capped", "echo", json!({"message": format!("after {i}")}))
                    .await
            ),
            format!("after {i}")
        );
    }
    assert_eq!(
        gw.health().await.1["backends"]["capped"]["state"],
        "ready",
        "a limit never disables a backend"
    );
}

#[tokio::test]
async fn an_expired_backend_session_is_renewed_and_the_call_sent_once_more() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("calls.txt");
    let _fx = Server(
        Command::new(fault_fixture())
            .args([
                "--http",
                "--port",
                &port.to_string(),
                "--http-expire-sessions-after",
                "4",
                "--count-file",
                count.to_str().unwrap(),
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (gw, mut c) = Gateway::ready(
        &format!("backends:\n  h:\n    http_url: http://127.0.0.1:{port}/mcp\n"),
        &["h"],
    )
    .await;
    for i in 0..8 {
        let r = c
            .invoke("h", "side_effect", json!({"note": format!("n{i}")}))
            .await;
        assert_eq!(text(&r), "done", "call {i}: {r}");
    }
    let log = std::fs::read_to_string(&count).unwrap();
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with("side_effect "))
            .count(),
        8,
        "each ran once: {log}"
    );
    gw.wait_log("backend session expired; re-initialising")
        .await;
    assert!(
        gw.health().await.1["backends"]["h"]["connects"]
            .as_u64()
            .unwrap()
            >= 2
    );
}

fn pid_of(marker: &str) -> i32 {
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd)
            .replace('\0', " ")
            .contains(marker)
        {
            if let Ok(pid) = entry.file_name().to_string_lossy().parse() {
                return pid;
            }
        }
    }
    panic!("no process with {marker}");
}

#[tokio::test]
async fn a_backend_that_stops_answering_is_detected_killed_and_restarted() {
    let f = fault_fixture();
    let marker = format!("frozen-{}", std::process::id());
    let gw = Gateway::start(&format!(
        "failsafe:\n  health_check: {{interval: 150ms, timeout: 100ms}}\nbackends:\n  ice:\n    command: {f} --name {marker}\n"
    ));
    gw.wait_ready(&["ice"]).await;
    let frozen = pid_of(&marker);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(frozen),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let h = gw
        .wait_health("restarted", |h| {
            h["backends"]["ice"]["connects"] == 2 && h["backends"]["ice"]["state"] == "ready"
        })
        .await;
    assert_eq!(h["status"], "ok");
    gw.wait_log("stopped answering health checks").await;
    assert_ne!(pid_of(&marker), frozen, "a new process serves");
    assert!(
        !std::path::Path::new(&format!("/proc/{frozen}")).exists()
            || std::fs::read_to_string(format!("/proc/{frozen}/stat"))
                .unwrap_or_default()
                .contains(" Z "),
        "the frozen child was killed"
    );
    let mut c = Client::connect(gw.url("/mcp")).await;
    assert_eq!(
        text(&c.invoke("ice", "echo", json!({"message": "thawed"})).await),
        "thawed"
    );
}

#[tokio::test]
async fn a_backend_that_keeps_crashing_ends_failed_with_a_clear_reason() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!(
        "failsafe:\n  restart: {{initial_backoff: 20ms, max_restarts: 3, window: 1m}}\nbackends:\n  doomed:\n    command: {f} --crash-at-start\n  fine:\n    command: {f}\n"
    ));
    let h = gw
        .wait_health("gave up", |h| {
            h["backends"]["doomed"]["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("gave up"))
        })
        .await;
    let reason = h["backends"]["doomed"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("after 4 failures within 1m") && reason.contains("exited with status 3"),
        "{reason}"
    );
    assert_eq!(h["backends"]["doomed"]["state"], "failed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        gw.health().await.1["backends"]["doomed"]["reason"],
        reason,
        "no more restarts"
    );
    gw.wait_ready(&["fine"]).await;
}

#[tokio::test]
async fn past_the_concurrency_limit_and_its_queue_callers_get_an_overload_error_at_once() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!("backends:\n  narrow:\n    command: {f}\n    concurrency: {{max_in_flight: 2, max_queued: 1}}\n"));
    gw.wait_ready(&["narrow"]).await;
    let url = gw.url("/mcp");
    let calls = (0..5).map(|_| {
        let url = url.clone();
        tokio::spawn(async move {
            let mut c = Client::connect(url).await;
            let start = Instant::now();
            let v = c.request("tools/call", json!({"name": "gateway_invoke", "arguments": {"server": "narrow", "tool": "slow", "arguments": {"ms": 600}}})).await;
            (v, start.elapsed())
        })
    });
    let results: Vec<_> = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let ok = results
        .iter()
        .filter(|(v, _)| v.get("error").is_none())
        .count();
    let overloaded: Vec<_> = results
        .iter()
        .filter(|(v, _)| {
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("overloaded"))
        })
        .collect();
    assert_eq!(
        (ok, overloaded.len()),
        (3, 2),
        "2 run, 1 waits, 2 are refused: {results:?}"
    );
    assert!(
        overloaded
            .iter()
            .all(|(_, took)| *took < Duration::from_millis(500)),
        "refused at once"
    );
}

#[tokio::test]
async fn a_response_stream_dropped_mid_call_is_resumed_with_last_event_id() {
    let port = free_port();
    let _fx = Server(
        Command::new(workspace_bin("mcp-conformance-fixture"))
            .args(["--port", &port.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let (gw, mut c) = Gateway::ready(
        &format!("backends:\n  conf:\n    http_url: http://127.0.0.1:{port}/mcp\n"),
        &["conf"],
    )
    .await;
    for _ in 0..3 {
        let r = c.invoke("conf", "test_reconnection", json!({})).await;
        assert_eq!(text(&r), "Reconnection test completed successfully", "{r}");
    }
    gw.wait_log("resumed a response stream").await;
}

#[tokio::test]
async fn each_client_has_its_own_rate_limit() {
    let f = fault_fixture();
    let gw = Gateway::start(&format!("failsafe:\n  client_rate_limit: {{enabled: true, requests_per_second: 2, burst_size: 3}}\nbackends:\n  fx:\n    command: {f}\n"));
    gw.wait_ready(&["fx"]).await;
    let mut a = Client::connect(gw.url("/mcp")).await;
    let mut limited = 0;
    for _ in 0..10 {
        let v = a.request("tools/list", json!({})).await;
        if let Some(e) = v.get("error") {
            assert!(
                e["message"].as_str().unwrap().contains("client_rate_limit")
                    && e["data"]["retryAfterMs"].is_u64(),
                "{v}"
            );
            limited += 1;
        }
    }
    assert!(
        (4..=7).contains(&limited),
        "the burst of 3 (plus refill) passed, the rest was limited: {limited}"
    );
    let ping = a.request("ping", json!({})).await;
    assert_eq!(ping["result"], json!({}), "ping is never limited");
    let mut b = Client::connect(gw.url("/mcp")).await;
    assert!(
        b.request("tools/list", json!({}))
            .await
            .get("result")
            .is_some(),
        "another client is not affected"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(
        a.request("tools/list", json!({}))
            .await
            .get("result")
            .is_some(),
        "tokens come back"
    );
}
