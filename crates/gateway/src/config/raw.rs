//! What the user typed: serde structs that mirror gateway.yaml one to one.
//!
//! Every struct denies unknown fields; the loader turns each unknown field into
//! a warning with a did-you-mean and retries, so the list of accepted keys lives
//! only here. Validation into the types the gateway uses is in `model.rs`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub meta_mcp: RawMeta,
    #[serde(default)]
    pub failsafe: RawFailsafe,
    #[serde(default)]
    pub backends: BTreeMap<String, RawBackend>,
    /// The `mcpServers` block of Claude Desktop / Claude Code / Cursor, inline.
    #[serde(default, rename = "mcpServers")]
    pub mcp_servers: BTreeMap<String, RawMcpServer>,
    /// Paths of client config files (JSON with an `mcpServers` block) to import.
    #[serde(default)]
    pub include_mcp_servers: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub request_timeout: Option<String>,
    pub max_body_size: Option<ByteSize>,
    pub allowed_origins: Option<Vec<String>>,
    pub max_sessions: Option<usize>,
    pub shutdown_timeout: Option<String>,
    pub stream_after: Option<String>,
    pub sse_retry: Option<String>,
    pub sse_resume_buffer: Option<ByteSize>,
    pub sse_resume_window: Option<String>,
    pub request_state_ttl: Option<String>,
    pub max_held_calls: Option<usize>,
    pub worker_threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMeta {
    pub enabled: Option<bool>,
    pub tool_cache_ttl: Option<String>,
    pub surfaced_tools: Option<Vec<RawToolRef>>,
    pub embeddings: Option<RawEmbeddings>,
}

/// `meta_mcp.embeddings`: an OpenAI-compatible embeddings endpoint for search by meaning.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmbeddings {
    pub url: Option<String>,
    pub model: Option<String>,
    pub weight: Option<f64>,
    pub timeout: Option<String>,
    pub batch_size: Option<usize>,
    pub query_prefix: Option<String>,
    pub document_prefix: Option<String>,
    pub input_type: Option<bool>,
    pub cache: Option<String>,
}

/// `{server, tool}`: one tool of one backend.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawToolRef {
    pub server: String,
    pub tool: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackend {
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub timeout: Option<String>,
    pub lazy: Option<bool>,
    pub disabled_tools: Option<Vec<String>>,
    pub transport: Option<String>,
    // failsafe overrides, field by field over `failsafe:`
    pub circuit_breaker: Option<RawBreaker>,
    pub retry: Option<RawRetry>,
    pub rate_limit: Option<RawRateLimit>,
    pub health_check: Option<RawHealthCheck>,
    pub restart: Option<RawRestart>,
    pub concurrency: Option<RawConcurrency>,
    // stdio
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
    // network
    pub http_url: Option<String>,
    pub ws_url: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
}

/// `failsafe:` — defaults for every backend (each backend may override any field).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFailsafe {
    pub circuit_breaker: Option<RawBreaker>,
    pub retry: Option<RawRetry>,
    pub rate_limit: Option<RawRateLimit>,
    pub health_check: Option<RawHealthCheck>,
    pub restart: Option<RawRestart>,
    pub concurrency: Option<RawConcurrency>,
    /// Per client session, across backends (global only).
    pub client_rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConcurrency {
    pub max_in_flight: Option<u32>,
    pub max_queued: Option<u32>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub enabled: Option<bool>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRestart {
    pub initial_backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub max_restarts: Option<u32>,
    pub window: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    pub enabled: Option<bool>,
    pub failure_threshold: Option<u32>,
    pub success_threshold: Option<u32>,
    pub reset_timeout: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    pub enabled: Option<bool>,
    pub max_attempts: Option<u32>,
    pub initial_backoff: Option<String>,
    pub max_backoff: Option<String>,
    pub multiplier: Option<f64>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub enabled: Option<bool>,
    pub requests_per_second: Option<f64>,
    pub burst_size: Option<u32>,
}

/// One entry of an `mcpServers` block, in the clients' own spelling.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMcpServer {
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    pub cwd: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub url: Option<String>,
    pub headers: Option<BTreeMap<String, String>>,
    pub disabled: Option<bool>,
    pub description: Option<String>,
}

/// A size: a number of bytes or a string like "4MB", "512KiB".
#[derive(Debug, Clone, Copy)]
pub struct ByteSize(pub usize);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            N(usize),
            S(String),
        }
        match Either::deserialize(d)? {
            Either::N(n) => Ok(ByteSize(n)),
            Either::S(s) => parse_size(&s)
                .map(ByteSize)
                .map_err(serde::de::Error::custom),
        }
    }
}

pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("invalid size {s:?}: expected e.g. 4194304, \"512KB\" or \"4MiB\""))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" | "kib" => 1 << 10,
        "mb" | "m" | "mib" => 1 << 20,
        "gb" | "g" | "gib" => 1 << 30,
        _ => return Err(format!("invalid size unit in {s:?}: use B, KB, MB or GB")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} is too large"))
}
