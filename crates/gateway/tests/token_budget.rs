//! The complete tools/list answer in meta mode stays within 500 tokens,
//! counted with a real BPE tokenizer (gpt-tokenizer, o200k_base).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use serde_json::json;

fn count_tokens(text: &str) -> usize {
    peer("node22"); // makes sure the pinned npm packages are installed
    let mut child = Command::new("node")
        .arg(repo_root().join("tests/peers/count_tokens.cjs"))
        .env(
            "NODE_MODULES",
            repo_root().join("target/test-deps/npm/node_modules"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[tokio::test]
async fn meta_mode_tools_list_is_at_most_500_tokens() {
    let f = fault_fixture();
    let backends: String = (0..12)
        .map(|i| format!("  backend_number_{i}:\n    command: {f} --introspection-tools\n"))
        .collect();
    let gw = Gateway::start(&format!("backends:\n{backends}"));
    let names: Vec<String> = (0..12).map(|i| format!("backend_number_{i}")).collect();
    gw.wait_ready(&names.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
    let c = Client::connect(gw.url("/mcp")).await;
    // The answer itself, as sent (the SSE framing around it is transport).
    let body = answer_text(
        c.post(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            .await,
    )
    .await;
    assert!(
        body.contains("156 tools"),
        "live counts in descriptions: {body}"
    );
    let tokens = count_tokens(&body);
    println!(
        "tools/list in meta mode: {} bytes, {tokens} tokens",
        body.len()
    );
    assert!(tokens <= 500, "{tokens} tokens:\n{body}");
    assert!(
        count_tokens("hello world") == 2,
        "the tokenizer counts real tokens"
    );
}
