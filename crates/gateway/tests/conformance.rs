//! The official MCP conformance suite (@modelcontextprotocol/conformance
//! 0.1.16), every scenario including the two pending ones
//! (json-schema-2020-12, server-sse-polling): against our conformance
//! fixture alone, and through the gateway's `/mcp/{backend}` endpoint with
//! the fixture as a Streamable HTTP backend and as a stdio backend.
//!
//! The gateway runs with `server.stream_after: 0s` here, so every answer
//! is a stream as the SDK servers do (the suite's SSE checks need one).
//! The fixture alone scores one check more: in server-sse-polling it closes
//! its stream mid-call (SEP-1699 polling) and the suite checks the resume.
//! Through the gateway that close happens on the gateway's own link to the
//! backend, which resumes it, so the client's stream never breaks and the
//! suite records the answer arriving on the first stream (INFO). The
//! gateway's own resumption is tested in front_http.rs.

mod common;

use std::process::{Command, Stdio};

use common::*;

struct Fixture(std::process::Child);

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn fixture_http(port: u16) -> Fixture {
    let bin = workspace_bin("mcp-conformance-fixture");
    Fixture(
        Command::new(bin)
            .args(["--port", &port.to_string()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Run the suite; returns its closing `Total:` line.
fn suite(url: &str) -> String {
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(peer("conformance"));
    cmd.args([
        "server",
        "--suite",
        "all",
        "--url",
        url,
        "-o",
        out_dir.path().to_str().unwrap(),
    ]);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let total = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with("Total:"))
        .unwrap_or("no Total line")
        .to_owned();
    assert!(
        out.status.success(),
        "conformance suite failed against {url}: {total}\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    total
}

async fn wait_for_port(port: u16) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("fixture did not listen on {port}");
}

#[tokio::test]
async fn fixture_alone_passes_every_active_scenario() {
    let port = free_port();
    let _fx = fixture_http(port);
    wait_for_port(port).await;
    let total = suite(&format!("http://127.0.0.1:{port}/mcp"));
    assert_eq!(total, "Total: 47 passed, 0 failed");
}

/// A gateway with the fixture behind it as `fx_http` and `fx_stdio`; every
/// answer is a stream (`stream_after: 0s`), as the SDK servers do.
async fn gateway_over_the_fixture() -> (Fixture, Gateway) {
    let port = free_port();
    let fx = fixture_http(port);
    wait_for_port(port).await;
    let stdio = workspace_bin("mcp-conformance-fixture");
    let gw = Gateway::start(&format!(
        "server:\n  stream_after: 0s\nbackends:\n  fx_http:\n    http_url: http://127.0.0.1:{port}/mcp\n  fx_stdio:\n    command: {} --stdio\n",
        stdio.display()
    ));
    gw.wait_ready(&["fx_http", "fx_stdio"]).await;
    (fx, gw)
}

#[tokio::test]
async fn through_the_gateway_to_http_and_stdio_backends() {
    let (_fx, gw) = gateway_over_the_fixture().await;
    for backend in ["fx_http", "fx_stdio"] {
        let total = suite(&gw.url(&format!("/mcp/{backend}")));
        println!("{backend}: {total}");
        assert_eq!(total, "Total: 46 passed, 0 failed", "{backend}");
    }
}

#[test]
fn client_scenarios_for_the_gateways_backend_side() {
    // The suite plays the server; the gateway (through tests/conformance/gateway-as-client.sh)
    // is the client under test.
    let wrapper = repo_root().join("tests/conformance/gateway-as-client.sh");
    // 0.1.16 for the session era; 0.2.0-alpha.12 for every 2026-07-28 client scenario but the
    // authorization ones (the gateway is no OAuth client).
    let scenarios = [
        ("conformance", "initialize"),
        ("conformance", "tools_call"),
        ("conformance", "sse-retry"),
        ("conformance-next", "tools_call"),
        ("conformance-next", "request-metadata"),
        ("conformance-next", "sep-2322-client-request-state"),
        ("conformance-next", "http-standard-headers"),
        ("conformance-next", "http-custom-headers"),
        ("conformance-next", "http-invalid-tool-headers"),
        ("conformance-next", "json-schema-ref-no-deref"),
        ("conformance-next", "json-schema-2020-12-preservation"),
    ];
    for (suite, scenario) in scenarios {
        let out = Command::new(peer(suite))
            .args([
                "client",
                "--command",
                &format!("bash {}", wrapper.display()),
                "--scenario",
                scenario,
            ])
            .env("MCP_GATEWAY_BIN", env!("CARGO_BIN_EXE_mcp-gateway"))
            .env("MCP_CLIENT_BIN", peer("mcp-client"))
            .output()
            .unwrap();
        // The suite prints its verdict on stderr or stdout depending on the path taken.
        let stdout = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find(|l| l.contains("Passed:"))
            .unwrap_or("no Passed line")
            .to_owned();
        assert!(
            out.status.success() && line.contains(", 0 failed, 0 warnings"),
            "{suite} {scenario}: {line}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("{suite} client scenario {scenario}: {line}");
    }
}

#[tokio::test]
async fn the_stdio_front_passes_the_suite_too() {
    // The suite speaks HTTP only, so a second gateway bridges: suite -> gateway A over HTTP
    // (/mcp/b) -> `mcp-gateway serve --stdio --backend fx` (gateway B's stdio front) -> fixture.
    let fixture = workspace_bin("mcp-conformance-fixture");
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("inner.yaml");
    std::fs::write(
        &inner,
        format!(
            "backends:\n  fx:\n    command: {} --stdio\n",
            fixture.display()
        ),
    )
    .unwrap();
    let gw = Gateway::start(&format!(
        "server:\n  stream_after: 0s\nbackends:\n  b:\n    command: {} serve --stdio --backend fx --log-level warn --config {}\n",
        env!("CARGO_BIN_EXE_mcp-gateway"),
        inner.display()
    ));
    gw.wait_ready(&["b"]).await;
    let total = suite(&gw.url("/mcp/b"));
    println!("through the stdio front: {total}");
    assert_eq!(total, "Total: 46 passed, 0 failed");
}

/// Run conformance 0.2.0-alpha.12 with `--requirements 2026-07-28`; returns
/// its scored scenario lines (the ones before "Not scored").
fn suite_2026(url: &str) -> Vec<String> {
    let out = Command::new(peer("conformance-next"))
        .args(["server", "--requirements", "2026-07-28", "--url", url])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "2026-07-28 requirements failed against {url}:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Extension and pending scenarios run too; the suite lists them after
    // "Not scored" and they do not count.
    let (results, unscored) = stdout.split_once("Not scored").unwrap_or((&stdout, ""));
    let name = |l: &str| {
        l.trim_start_matches(['✓', '✗', ' '])
            .split([':', ' '])
            .next()
            .unwrap_or("")
            .to_owned()
    };
    let unscored: Vec<String> = unscored.lines().skip(1).map(|l| name(l.trim())).collect();
    let scored: Vec<String> = results
        .lines()
        .filter(|l| l.starts_with('✓') || l.starts_with('✗'))
        .filter(|l| !unscored.contains(&name(l)))
        .map(str::to_owned)
        .collect();
    let failed: Vec<&String> = scored.iter().filter(|l| l.starts_with('✗')).collect();
    assert!(failed.is_empty(), "{failed:?}\n{stdout}");
    scored
}

#[tokio::test]
async fn the_2026_07_28_requirements_pass_through_the_gateway_over_legacy_backends() {
    // The fixture speaks 2025-11-25 only; every stateless rule, result type,
    // cache hint, listen stream and input_required round is the gateway's.
    let (_fx, gw) = gateway_over_the_fixture().await;
    for backend in ["fx_http", "fx_stdio"] {
        let scored = suite_2026(&gw.url(&format!("/mcp/{backend}")));
        println!("{backend}: {} required scenarios passed", scored.len());
        assert!(scored.len() >= 37, "{scored:?}");
        for required in [
            "server-stateless",
            "caching",
            "input-required-result-multi-round",
            "dns-rebinding-protection",
        ] {
            assert!(
                scored.iter().any(|l| l.contains(required)),
                "{required} ran"
            );
        }
        // Two the suite lists as pending, not required: Mcp-Param-* checked
        // against the fixture's x-mcp-header tool, and its 2020-12 schema
        // (with the SEP-2106 vocabulary) passed through whole.
        for scenario in [
            "http-custom-header-server-validation",
            "json-schema-2020-12",
        ] {
            let out = Command::new(peer("conformance-next"))
                .args([
                    "server",
                    "--spec-version",
                    "2026-07-28",
                    "--scenario",
                    scenario,
                ])
                .args(["--url", &gw.url(&format!("/mcp/{backend}"))])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && stdout.contains(", 0 failed, 0 warnings"),
                "{backend} {scenario}: {stdout}"
            );
        }
    }
}
