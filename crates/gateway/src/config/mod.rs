//! gateway.yaml: find it, read it, expand `${VAR}`, warn on unknown keys,
//! validate into a [`Config`].
//!
//! Two stages (like ripgrep): [`raw`] is what the user typed, [`model`] is
//! what the gateway runs on. Client-config files with an `mcpServers` block
//! (Claude Desktop, Claude Code, Cursor) are accepted as the config file
//! itself, inline, or through `include_mcp_servers`.

mod expand;
mod failsafe;
mod model;
mod raw;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_yaml_ng::{Mapping, Value};

pub use failsafe::{
    BreakerConfig, Failsafe, HealthCheckConfig, RateLimitConfig, RestartConfig, RetryConfig,
};
pub use model::{
    parse_duration, BackendConfig, Config, Embeddings, MetaConfig, ServerConfig, ToolRef,
    Transport, DEFAULT_PORT,
};
pub use raw::parse_size;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{path}: environment variable {var} is not set (use ${{{var}:-default}} to give a default)"
    )]
    MissingVar { path: String, var: String },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("{path}: {message}")]
    Read { path: String, message: String },
}

/// A loaded configuration and what was noticed on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// The file it came from; `None` when no config file exists.
    pub path: Option<PathBuf>,
    /// Unknown keys and other non-fatal findings, ready to log.
    pub warnings: Vec<String>,
}

/// Where the config lives: `--config`, `$MCP_GATEWAY_CONFIG`, `./gateway.yaml`,
/// `~/.config/mcp-gateway/gateway.yaml`, `/etc/mcp-gateway/gateway.yaml`.
pub fn discover(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(p) = explicit {
        return must_exist(p, "--config").map(Some);
    }
    if let Some(p) = env("MCP_GATEWAY_CONFIG").filter(|p| !p.is_empty()) {
        return must_exist(Path::new(&p), "MCP_GATEWAY_CONFIG").map(Some);
    }
    let mut candidates = vec![PathBuf::from("gateway.yaml")];
    if let Some(home) = env("HOME") {
        candidates.push(Path::new(&home).join(".config/mcp-gateway/gateway.yaml"));
    }
    candidates.push(PathBuf::from("/etc/mcp-gateway/gateway.yaml"));
    Ok(candidates.into_iter().find(|p| p.is_file()))
}

fn must_exist(p: &Path, via: &str) -> Result<PathBuf, ConfigError> {
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(ConfigError::Read {
            path: p.display().to_string(),
            message: format!("config file given by {via} does not exist"),
        })
    }
}

/// Load from a file, or the empty config when `path` is `None`.
pub fn load(
    path: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let Some(path) = path else {
        let mut loaded = from_str("{}", Path::new("."), env)?;
        loaded.warnings.push(
            "no config file found (looked for --config, $MCP_GATEWAY_CONFIG, ./gateway.yaml, ~/.config/mcp-gateway/gateway.yaml, /etc/mcp-gateway/gateway.yaml); \
             starting with no backends. Add one in gateway.yaml, e.g.\n  backends:\n    memory:\n      command: \"npx -y @modelcontextprotocol/server-memory\""
                .into(),
        );
        return Ok(loaded);
    };
    let text = read(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut loaded = from_str(&text, dir, env).map_err(|e| in_file(e, path))?;
    loaded.path = Some(path.to_path_buf());
    Ok(loaded)
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn in_file(e: ConfigError, file: &Path) -> ConfigError {
    match e {
        ConfigError::Invalid { path, message } => ConfigError::Invalid {
            path: format!("{}: {path}", file.display()),
            message,
        },
        ConfigError::MissingVar { path, var } => ConfigError::MissingVar {
            path: format!("{}: {path}", file.display()),
            var,
        },
        read @ ConfigError::Read { .. } => read,
    }
}

/// Parse config text (YAML, or JSON, which YAML reads too). `dir` resolves
/// relative `include_mcp_servers` paths.
pub fn from_str(
    text: &str,
    dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, ConfigError> {
    let mut warnings = Vec::new();
    let mut tree = parse_tree(text, "config")?;
    expand::expand_tree(&mut tree, &mut Vec::new(), env)?;
    if is_client_config(&tree) {
        tree = keep_only(tree, "mcpServers");
    }
    let mut raw: raw::RawConfig = deserialize_lenient(tree, &mut warnings)?;
    let mut imported: Vec<(String, raw::RawMcpServer)> =
        std::mem::take(&mut raw.mcp_servers).into_iter().collect();
    for (i, inc) in raw.include_mcp_servers.iter().enumerate() {
        let p = resolve(inc, dir, env);
        let key = format!("include_mcp_servers.{i}");
        let mut t = parse_tree(&read(&p)?, &key)?;
        expand::expand_tree(&mut t, &mut vec![key.clone()], env)?;
        let servers = match t {
            Value::Mapping(mut m) => m
                .remove("mcpServers")
                .unwrap_or(Value::Mapping(Mapping::new())),
            _ => {
                return Err(ConfigError::Invalid {
                    path: key,
                    message: "expected a JSON object with mcpServers".into(),
                })
            }
        };
        let servers: std::collections::BTreeMap<String, raw::RawMcpServer> =
            deserialize_lenient(servers, &mut warnings).map_err(|e| in_file(e, &p))?;
        imported.extend(servers);
    }
    let mut config = model::validate(raw, imported)?;
    if let Some(cache) = config
        .meta_mcp
        .embeddings
        .as_mut()
        .and_then(|e| e.cache.as_mut())
    {
        *cache = resolve(&cache.to_string_lossy(), dir, env);
    }
    Ok(Loaded {
        config,
        path: None,
        warnings,
    })
}

fn parse_tree(text: &str, what: &str) -> Result<Value, ConfigError> {
    let v: Value = serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Invalid {
        path: what.to_owned(),
        message: format!("not valid YAML/JSON: {e}"),
    })?;
    Ok(if v.is_null() {
        Value::Mapping(Mapping::new())
    } else {
        v
    })
}

/// A Claude Desktop / Cursor file: `mcpServers` and none of our own sections.
fn is_client_config(tree: &Value) -> bool {
    let Value::Mapping(m) = tree else {
        return false;
    };
    m.contains_key("mcpServers")
        && !["server", "meta_mcp", "backends"]
            .iter()
            .any(|k| m.contains_key(*k))
}

fn keep_only(tree: Value, key: &str) -> Value {
    let mut out = Mapping::new();
    if let Value::Mapping(mut m) = tree {
        if let Some(v) = m.remove(key) {
            out.insert(Value::String(key.to_owned()), v);
        }
    }
    Value::Mapping(out)
}

/// A path from the config: `~/` is the home directory, a relative path is
/// relative to the config file's directory.
fn resolve(path: &str, dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    match (path.strip_prefix("~/"), env("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => dir.join(path),
    }
}

/// Deserialize, turning each unknown field into a warning (with a
/// did-you-mean) and retrying without it. Other errors name the key path.
fn deserialize_lenient<T: DeserializeOwned>(
    mut tree: Value,
    warnings: &mut Vec<String>,
) -> Result<T, ConfigError> {
    loop {
        let err = match serde_path_to_error::deserialize::<_, T>(tree.clone()) {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let mut segments: Vec<String> = err
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = err.inner().to_string();
        let Some((field, expected)) = unknown_field(&message) else {
            let path = if segments.is_empty() {
                "config".to_owned()
            } else {
                segments.join(".")
            };
            return Err(ConfigError::Invalid {
                path,
                message: strip_location(&message),
            });
        };
        if segments.last() == Some(&field) {
            segments.pop();
        }
        let mut full = segments.clone();
        full.push(field.clone());
        let hint = did_you_mean(&field, &expected)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        warnings.push(format!(
            "unknown config key `{}` ignored{hint}",
            full.join(".")
        ));
        if !remove_key(&mut tree, &segments, &field) {
            // Could not locate it (should not happen): fail rather than loop.
            return Err(ConfigError::Invalid {
                path: full.join("."),
                message,
            });
        }
    }
}

/// Parse serde's "unknown field `x`, expected one of `a`, `b`" message.
fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, tail) = rest.split_once('`')?;
    let expected = tail
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}

fn strip_location(message: &str) -> String {
    message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned()
}

/// The closest known name, if it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, candidates: &'a [String]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1) + 1)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.as_str())
}

fn remove_key(tree: &mut Value, parents: &[String], field: &str) -> bool {
    let mut node = tree;
    for seg in parents {
        node = match node {
            Value::Mapping(m) => match m.get_mut(seg) {
                Some(v) => v,
                None => return false,
            },
            Value::Sequence(s) => match seg.parse::<usize>().ok().and_then(|i| s.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match node {
        Value::Mapping(m) => m.remove(field).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
