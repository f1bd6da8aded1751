//! Config loading: expansion, imports, unknown keys and each invalid value's message.

use std::path::Path;
use std::time::Duration;

use super::*;

fn env(name: &str) -> Option<String> {
    match name {
        "TOKEN" => Some("tok123".into()),
        "HOME" => Some("/nonexistent-home".into()),
        _ => None,
    }
}

fn load_str(text: &str) -> Result<Loaded, ConfigError> {
    from_str(text, Path::new("."), &env)
}

fn error_of(text: &str) -> String {
    load_str(text).unwrap_err().to_string()
}

#[test]
fn empty_config_has_documented_defaults() {
    let c = load_str("").unwrap().config;
    assert_eq!(c.server.host, "127.0.0.1");
    assert_eq!(c.server.port, 39400);
    assert_eq!(c.server.request_timeout, Duration::from_secs(30));
    assert_eq!(c.server.max_body_size, 4 << 20);
    assert_eq!(c.server.stream_after, Duration::from_millis(50));
    assert_eq!(c.server.sse_retry, Duration::from_secs(1));
    assert_eq!(c.server.sse_resume_buffer, 1 << 20);
    assert_eq!(c.server.sse_resume_window, Duration::from_secs(300));
    assert!(c.meta_mcp.enabled);
    assert!(c.backends.is_empty());
}

#[test]
fn answer_stream_settings() {
    let c = load_str(
        "server: { stream_after: 0s, sse_retry: 3s, sse_resume_buffer: 64KiB, sse_resume_window: 1m }",
    )
    .unwrap()
    .config;
    assert_eq!(c.server.stream_after, Duration::ZERO);
    assert_eq!(c.server.sse_retry, Duration::from_secs(3));
    assert_eq!(c.server.sse_resume_buffer, 64 << 10);
    assert_eq!(c.server.sse_resume_window, Duration::from_secs(60));
    assert!(error_of("server: { sse_retry: soon }").contains("server.sse_retry"));
    let c = load_str("server: { request_state_ttl: 30s, max_held_calls: 7 }")
        .unwrap()
        .config;
    assert_eq!(
        (c.server.request_state_ttl, c.server.max_held_calls),
        (Duration::from_secs(30), 7)
    );
    let d = load_str("").unwrap().config;
    assert_eq!(
        (d.server.request_state_ttl, d.server.max_held_calls),
        (Duration::from_secs(600), 1000)
    );
}

#[test]
fn worker_threads_default_to_one_and_are_bounded() {
    assert_eq!(load_str("").unwrap().config.server.worker_threads, 1);
    let c = load_str("server: { worker_threads: 4 }").unwrap().config;
    assert_eq!(c.server.worker_threads, 4);
    for bad in ["0", "100000"] {
        let e = error_of(&format!("server: {{ worker_threads: {bad} }}"));
        assert!(e.contains("server.worker_threads"), "{e}");
    }
}

#[test]
fn full_config_with_every_transport() {
    let c = load_str(
        r#"
server: { host: 0.0.0.0, port: 4000, request_timeout: 5s, max_body_size: 1MB, allowed_origins: ["https://app.example"] }
meta_mcp: { enabled: false, tool_cache_ttl: 1m }
backends:
  files:
    command: "npx -y '@modelcontextprotocol/server-filesystem' /tmp"
    args: ["/var/tmp"]
    env: { API_KEY: "${TOKEN}", LEVEL: "${LEVEL:-info}" }
    cwd: /tmp
    timeout: 100ms
    description: Files
  remote:
    http_url: http://127.0.0.1:3001/mcp
    headers: { Authorization: "Bearer ${TOKEN}" }
    lazy: true
  old:
    http_url: http://127.0.0.1:3002/sse
    transport: sse
  sock:
    ws_url: ws://127.0.0.1:3003/ws
    enabled: false
"#,
    )
    .unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = c.config;
    assert_eq!(c.server.port, 4000);
    assert_eq!(c.server.max_body_size, 1 << 20);
    assert!(!c.meta_mcp.enabled);
    assert_eq!(c.meta_mcp.tool_cache_ttl, Duration::from_secs(60));
    let files = &c.backends["files"];
    assert_eq!(files.timeout, Duration::from_millis(100));
    let Transport::Stdio {
        program,
        args,
        env,
        cwd,
    } = &files.transport
    else {
        panic!()
    };
    assert_eq!(program, "npx");
    assert_eq!(
        args,
        &[
            "-y",
            "@modelcontextprotocol/server-filesystem",
            "/tmp",
            "/var/tmp"
        ]
    );
    assert_eq!(env["API_KEY"], "tok123");
    assert_eq!(env["LEVEL"], "info");
    assert_eq!(cwd.as_deref(), Some(Path::new("/tmp")));
    let remote = &c.backends["remote"];
    assert!(remote.lazy);
    assert_eq!(
        remote.timeout,
        Duration::from_secs(5),
        "inherits server.request_timeout"
    );
    assert!(
        matches!(&remote.transport, Transport::Http { headers, .. } if headers["Authorization"] == "Bearer tok123")
    );
    assert!(matches!(c.backends["old"].transport, Transport::Sse { .. }));
    assert!(matches!(
        c.backends["sock"].transport,
        Transport::WebSocket { .. }
    ));
    assert!(!c.backends["sock"].enabled);
}

#[test]
fn unknown_keys_warn_with_did_you_mean_and_are_ignored() {
    let l = load_str(
        "server:\n  prot: 1\nbackendz: {}\nbackends:\n  a:\n    comand: x\n    command: echo\n",
    )
    .unwrap();
    assert_eq!(
        l.warnings,
        vec![
            "unknown config key `server.prot` ignored (did you mean `port`?)",
            "unknown config key `backendz` ignored (did you mean `backends`?)",
            "unknown config key `backends.a.comand` ignored (did you mean `command`?)",
        ]
    );
    assert_eq!(l.config.server.port, 39400);
}

#[test]
fn invalid_values_name_the_key_path() {
    let cases = [
        (
            "server:\n  port: 99999\n",
            "server.port: invalid value: integer `99999`, expected u16",
        ),
        (
            "server:\n  request_timeout: 30\n",
            "server.request_timeout: invalid type: integer `30`, expected a string",
        ),
        (
            "server:\n  request_timeout: soon\n",
            "server.request_timeout: invalid duration \"soon\"",
        ),
        (
            "server:\n  max_body_size: 12 parsecs\n",
            "server.max_body_size: invalid size unit",
        ),
        (
            "backends:\n  a:\n    description: x\n",
            "backends.a: no transport",
        ),
        (
            "backends:\n  a:\n    command: x\n    http_url: http://h/\n",
            "backends.a: give one transport, not command and http_url",
        ),
        (
            "backends:\n  a:\n    http_url: ftp://h/\n",
            "backends.a.http_url: URL scheme must be http or https",
        ),
        (
            "backends:\n  a:\n    ws_url: not a url\n",
            "backends.a.ws_url: invalid URL",
        ),
        (
            "backends:\n  a__b:\n    command: x\n",
            "backends.a__b: backend names are",
        ),
        (
            "backends:\n  a:\n    command: \"x 'unbalanced\"\n",
            "backends.a.command: unbalanced quotes",
        ),
        (
            "backends:\n  a:\n    command: x\n    transport: websocket\n",
            "backends.a.transport: transport \"websocket\" does not fit command",
        ),
        (
            "backends:\n  a:\n    http_url: http://h/\n    env: {A: b}\n",
            "backends.a.http_url: env and cwd only apply to stdio",
        ),
        (
            "backends:\n  a:\n    command: x\n    timeout: 5\n",
            "backends.a.timeout: invalid type",
        ),
        (
            "backends:\n  a:\n    command: x\n    enabled: maybe\n",
            "backends.a.enabled: invalid type",
        ),
        (
            "backends:\n  a:\n    command: ${NOPE}\n",
            "backends.a.command: environment variable NOPE is not set",
        ),
        ("server: [1, 2]\n", "server: invalid type: sequence"),
        ("{{{", "config: not valid YAML/JSON"),
    ];
    for (input, want) in cases {
        let got = error_of(input);
        assert!(
            got.starts_with(want),
            "input {input:?}\n got: {got}\nwant: {want}…"
        );
    }
}

#[test]
fn claude_desktop_file_is_accepted_as_the_config_itself() {
    let l = load_str(
        r#"{
  "globalShortcut": "Ctrl+Space",
  "mcpServers": {
    "memory": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"], "env": { "MEMORY_FILE_PATH": "/tmp/m.jsonl" } },
    "remote": { "type": "http", "url": "http://127.0.0.1:9/mcp", "headers": { "X-Key": "${TOKEN}" } },
    "legacy": { "type": "sse", "url": "http://127.0.0.1:9/sse" },
    "spaced": { "command": "/opt/My Tools/server", "disabled": true }
  }
}"#,
    )
    .unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    let b = &l.config.backends;
    let Transport::Stdio {
        program, args, env, ..
    } = &b["memory"].transport
    else {
        panic!()
    };
    assert_eq!((program.as_str(), args.len()), ("npx", 2));
    assert_eq!(env["MEMORY_FILE_PATH"], "/tmp/m.jsonl");
    assert!(
        matches!(&b["remote"].transport, Transport::Http { headers, .. } if headers["X-Key"] == "tok123")
    );
    assert!(matches!(b["legacy"].transport, Transport::Sse { .. }));
    let Transport::Stdio { program, .. } = &b["spaced"].transport else {
        panic!()
    };
    assert_eq!(
        program, "/opt/My Tools/server",
        "a command path with spaces is not split"
    );
    assert!(!b["spaced"].enabled);
}

#[test]
fn mcp_servers_inline_and_included_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cursor.json"),
        r#"{"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"], "alwaysAllow": []}}}"#,
    )
    .unwrap();
    let l = from_str(
        "include_mcp_servers: [cursor.json]\nmcpServers:\n  mem: {command: mem-server}\nbackends:\n  own: {command: own}\n",
        dir.path(),
        &env,
    )
    .unwrap();
    let names: Vec<_> = l.config.backends.keys().cloned().collect();
    assert_eq!(names, ["mem", "own", "time"]);
    assert_eq!(
        l.warnings,
        ["unknown config key `time.alwaysAllow` ignored"]
    );
}

#[test]
fn duplicate_backend_across_blocks_is_an_error() {
    assert!(
        error_of("mcpServers:\n  a: {command: x}\nbackends:\n  a: {command: y}\n")
            .contains("defined twice")
    );
}

#[test]
fn discovery_prefers_flag_then_env_then_files() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("g.yaml");
    std::fs::write(&f, "").unwrap();
    assert_eq!(discover(Some(&f), &env).unwrap(), Some(f.clone()));
    let fs = f.display().to_string();
    let with_var = move |k: &str| (k == "MCP_GATEWAY_CONFIG").then(|| fs.clone());
    assert_eq!(discover(None, &with_var).unwrap(), Some(f));
    assert!(discover(Some(Path::new("/no/such.yaml")), &env)
        .unwrap_err()
        .to_string()
        .contains("does not exist"));
}

#[test]
fn resolved_config_redacts_secrets() {
    let c = load_str("backends:\n  a:\n    command: x\n    env: {KEY: \"${TOKEN}\"}\n  b:\n    http_url: http://h/\n    headers: {Authorization: \"Bearer ${TOKEN}\"}\n")
        .unwrap()
        .config;
    let shown = serde_yaml_ng::to_string(&c).unwrap();
    assert!(!shown.contains("tok123"), "{shown}");
    assert!(shown.contains("KEY: <redacted>"));
    let c = load_str("meta_mcp:\n  embeddings: {url: 'http://me:${TOKEN}@h/v1/embeddings'}\nbackends:\n  b:\n    http_url: https://me:${TOKEN}@h/mcp\n  w:\n    ws_url: ws://me:${TOKEN}@h/ws\n")
        .unwrap()
        .config;
    let shown = serde_yaml_ng::to_string(&c).unwrap();
    assert!(!shown.contains("tok123"), "{shown}");
    assert!(shown.contains("https://me:%3Credacted%3E@h/mcp"), "{shown}");
    assert_eq!(shown.matches("me:%3Credacted%3E@h").count(), 3, "{shown}");
}

#[test]
fn did_you_mean_picks_close_names_only() {
    let names: Vec<String> = ["filesystem", "memory", "github"]
        .map(String::from)
        .to_vec();
    assert_eq!(did_you_mean("filesytem", &names), Some("filesystem"));
    assert_eq!(did_you_mean("Memroy", &names), Some("memory"));
    assert_eq!(did_you_mean("kubernetes", &names), None);
}

#[test]
fn surfaced_tools_and_disabled_tools() {
    let c = load_str("meta_mcp:\n  surfaced_tools: [{server: files, tool: read_file}]\nbackends:\n  files:\n    command: x\n    disabled_tools: [delete_file]\n")
        .unwrap()
        .config;
    assert_eq!(
        c.meta_mcp.surfaced_tools,
        [ToolRef {
            server: "files".into(),
            tool: "read_file".into()
        }]
    );
    assert_eq!(c.backends["files"].disabled_tools, ["delete_file"]);
    let err = error_of("meta_mcp:\n  surfaced_tools: [{server: flies, tool: read_file}]\nbackends:\n  files:\n    command: x\n");
    assert_eq!(
        err,
        "meta_mcp.surfaced_tools.0.server: no backend named \"flies\" (did you mean `files`?)"
    );
}

#[test]
fn embeddings_are_off_by_default_and_checked_when_set() {
    assert_eq!(load_str("").unwrap().config.meta_mcp.embeddings, None);
    let c = load_str("meta_mcp:\n  embeddings:\n    url: http://127.0.0.1:8000/v1/embeddings\n")
        .unwrap()
        .config;
    assert_eq!(
        c.meta_mcp.embeddings,
        Some(Embeddings {
            url: "http://127.0.0.1:8000/v1/embeddings".into(),
            model: String::new(),
            weight: 0.5,
            timeout: Duration::from_secs(2),
            batch_size: 32,
            query_prefix: String::new(),
            document_prefix: String::new(),
            input_type: true,
            cache: None,
        })
    );
    let c = load_str(
        "meta_mcp:\n  embeddings:\n    url: https://h/e\n    model: nomic-embed-text\n    weight: 0.3\n    timeout: 500ms\n    batch_size: 8\n    query_prefix: 'search_query: '\n    document_prefix: 'search_document: '\n",
    )
    .unwrap()
    .config;
    let e = c.meta_mcp.embeddings.unwrap();
    assert_eq!(
        (e.model.as_str(), e.weight, e.timeout, e.batch_size),
        ("nomic-embed-text", 0.3, Duration::from_millis(500), 8)
    );
    assert_eq!(
        (e.query_prefix.as_str(), e.document_prefix.as_str()),
        ("search_query: ", "search_document: ")
    );
    for (yaml, message) in [
        ("model: m", "meta_mcp.embeddings.url: required"),
        (
            "url: ftp://h/e",
            "meta_mcp.embeddings.url: must be http:// or https://",
        ),
        ("url: not a url", "meta_mcp.embeddings.url: not a URL"),
        (
            "{url: 'http://h/', weight: 1.5}",
            "meta_mcp.embeddings.weight: must be between 0 and 1",
        ),
        (
            "{url: 'http://h/', batch_size: 0}",
            "meta_mcp.embeddings.batch_size: must be between 1 and 1024",
        ),
        (
            "{url: 'http://h/', timeout: 0s}",
            "meta_mcp.embeddings.timeout: must be more than 0",
        ),
    ] {
        let yaml = if yaml.starts_with('{') {
            format!("meta_mcp:\n  embeddings: {yaml}\n")
        } else {
            format!("meta_mcp:\n  embeddings:\n    {yaml}\n")
        };
        let err = error_of(&yaml);
        assert!(err.starts_with(message), "{yaml}: {err}");
    }
    let c = from_str(
        "meta_mcp:\n  embeddings: {url: 'http://h/', input_type: false, cache: vectors.bin}\n",
        Path::new("/etc/mcp"),
        &env,
    )
    .unwrap()
    .config;
    let e = c.meta_mcp.embeddings.unwrap();
    assert!(!e.input_type);
    assert_eq!(
        e.cache.as_deref(),
        Some(Path::new("/etc/mcp/vectors.bin")),
        "beside the config"
    );
    let c = load_str("meta_mcp:\n  embeddings: {url: 'http://h/', cache: ~/v.bin}\n")
        .unwrap()
        .config;
    assert_eq!(
        c.meta_mcp.embeddings.unwrap().cache.as_deref(),
        Some(Path::new("/nonexistent-home/v.bin"))
    );
    assert!(
        error_of("meta_mcp:\n  embeddings: {url: 'http://h/', cache: ''}\n")
            .starts_with("meta_mcp.embeddings.cache: must be a file path")
    );
    let loaded =
        load_str("meta_mcp:\n  embeddings:\n    url: http://h/\n    wieght: 0.2\n").unwrap();
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("wieght") && w.contains("weight")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn failsafe_defaults_and_per_backend_overrides() {
    let c = load_str(
        "failsafe:\n  circuit_breaker: {failure_threshold: 3, reset_timeout: 10s}\n  retry: {max_attempts: 2}\n  rate_limit: {enabled: true, requests_per_second: 50}\nbackends:\n  a: {command: x}\n  b:\n    command: y\n    retry: {enabled: false}\n    circuit_breaker: {reset_timeout: 500ms}\n",
    )
    .unwrap()
    .config;
    let (a, b) = (&c.backends["a"].failsafe, &c.backends["b"].failsafe);
    assert_eq!(
        (
            a.circuit_breaker.failure_threshold,
            a.circuit_breaker.reset_timeout
        ),
        (3, Duration::from_secs(10))
    );
    assert_eq!((a.retry.enabled, a.retry.max_attempts), (true, 2));
    assert_eq!(
        (
            a.rate_limit.enabled,
            a.rate_limit.requests_per_second,
            a.rate_limit.burst_size
        ),
        (true, 50.0, 100)
    );
    assert_eq!(
        (
            b.circuit_breaker.failure_threshold,
            b.circuit_breaker.reset_timeout
        ),
        (3, Duration::from_millis(500)),
        "field-by-field override"
    );
    assert!(!b.retry.enabled);
    let d = &load_str("backends:\n  a: {command: x}\n")
        .unwrap()
        .config
        .backends["a"]
        .failsafe;
    assert!(
        d.circuit_breaker.enabled && d.retry.enabled && !d.rate_limit.enabled,
        "documented defaults"
    );
    for (input, want) in [
        (
            "failsafe:\n  retry: {max_attempts: 0}\n",
            "failsafe.retry.max_attempts: must be 1 to 10",
        ),
        (
            "backends:\n  a:\n    command: x\n    rate_limit: {requests_per_second: 0}\n",
            "backends.a.rate_limit: requests_per_second must be above 0",
        ),
        (
            "failsafe:\n  circuit_breaker: {reset_timeout: 30}\n",
            "failsafe.circuit_breaker.reset_timeout: invalid type",
        ),
        (
            "failsafe:\n  health_check: {interval: 1ms}\n",
            "failsafe.health_check.interval: must be at least 10ms",
        ),
        (
            "failsafe:\n  restart: {max_restarts: 0}\n",
            "failsafe.restart: max_restarts must be at least 1",
        ),
        ("failsafe:\n  heath_check: {enabled: true}\n", ""),
    ] {
        match load_str(input) {
            Err(e) => assert!(e.to_string().starts_with(want), "{input}: {e}"),
            Ok(l) => assert!(
                want.is_empty()
                    && l.warnings[0].contains("failsafe.heath_check")
                    && l.warnings[0].contains("did you mean `health_check`"),
                "{input}: {:?}",
                l.warnings
            ),
        }
    }
}
