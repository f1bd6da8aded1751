//! The command line: `check`, `--version`, and starting with no config.

mod common;

use std::process::Command;

use common::Gateway;

fn gateway_cmd(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"));
    c.current_dir(dir)
        .env("HOME", dir)
        .env_remove("MCP_GATEWAY_CONFIG");
    c
}

#[test]
fn check_prints_the_resolved_config_redacted_and_warns_on_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gateway.yaml"),
        "server:\n  prot: 1\nbackends:\n  api:\n    http_url: http://127.0.0.1:9/mcp\n    headers: {Authorization: \"Bearer ${SECRET_TOKEN}\"}\n",
    )
    .unwrap();
    let out = gateway_cmd(dir.path())
        .arg("check")
        .env("SECRET_TOKEN", "tok-987")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("unknown config key `server.prot` ignored (did you mean `port`?)"),
        "{stderr}"
    );
    assert!(
        stdout.contains("port: 39400") && stdout.contains("Authorization: <redacted>"),
        "{stdout}"
    );
    assert!(!stdout.contains("tok-987") && !stderr.contains("tok-987"));
}

#[test]
fn check_fails_with_the_key_path_of_an_invalid_value() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.yaml");
    std::fs::write(
        &cfg,
        "backends:\n  a:\n    command: x\n    timeout: forever\n",
    )
    .unwrap();
    let out = gateway_cmd(dir.path())
        .args(["check", "--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("backends.a.timeout: invalid duration \"forever\""),
        "{stderr}"
    );
    // `serve` refuses the same config the same way.
    let out = gateway_cmd(dir.path())
        .args(["--config", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn missing_variable_is_a_startup_error_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gateway.yaml"),
        "backends:\n  a:\n    command: x\n    env: {K: \"${NOT_SET_ANYWHERE}\"}\n",
    )
    .unwrap();
    let out = gateway_cmd(dir.path()).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("backends.a.env.K: environment variable NOT_SET_ANYWHERE is not set"));
}

#[test]
fn version_and_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("mcp-gateway {}", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(env!("CARGO_BIN_EXE_mcp-gateway"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for word in [
        "serve",
        "check",
        "--config",
        "--port",
        "--stdio",
        "--log-format",
    ] {
        assert!(help.contains(word), "{word} in --help:\n{help}");
    }
}

#[tokio::test]
async fn starts_without_any_config_and_says_how_to_add_a_backend() {
    let gw = Gateway::start_with("", &[]); // an empty gateway.yaml
    let (status, h) = gw.health().await;
    assert_eq!((status, h["status"].as_str()), (200, Some("ok")));

    let dir = tempfile::tempdir().unwrap();
    let mut child = gateway_cmd(dir.path())
        .args(["--port", "0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut log).unwrap();
    assert!(
        log.contains("no config file found") && log.contains("backends:"),
        "{log}"
    );
    assert!(log.contains("listening on http://127.0.0.1:"), "{log}");
}

#[test]
fn stdio_front_answers_bad_input_with_errors_and_keeps_serving() {
    use std::io::{BufRead, BufReader, Write};
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("g.yaml");
    std::fs::write(&cfg, "server:\n  max_body_size: 1KB\n").unwrap();
    let mut child = gateway_cmd(dir.path())
        .args(["serve", "--stdio", "--config", cfg.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "this is not json").unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#,
        "x".repeat(4000)
    )
    .unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":2,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#).unwrap();
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":3,"method":"tools/list"}}"#).unwrap();
    drop(stdin);
    let lines: Vec<serde_json::Value> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    let _ = child.wait();
    assert_eq!(lines[0]["error"]["code"], -32700, "{lines:?}");
    assert_eq!(lines[1]["error"]["code"], -32600);
    assert!(lines[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("larger than 1024 bytes"));
    assert_eq!(lines[2]["result"]["protocolVersion"], "2025-06-18");
    let tools = lines
        .iter()
        .find(|l| l["id"] == 3)
        .expect("tools/list answered");
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 4);
}

#[test]
fn log_format_json_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = gateway_cmd(dir.path())
        .args(["--log-format", "json", "--config", "/no/such.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().next().expect("a log line");
    let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["level"], "ERROR");
    assert!(
        v["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{v}"
    );
}
