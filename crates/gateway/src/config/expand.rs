//! `${VAR}` and `${VAR:-default}` expansion in every string of the config tree.
//!
//! Runs on the untyped YAML tree before typed deserialisation, so every string
//! value (and only values, never keys) is expanded the same way. `$${` is a
//! literal `${`. A missing variable without a default names the key path.

use serde_yaml_ng::Value;

use super::ConfigError;

/// Expand in place. `lookup` is the environment (injected so tests are hermetic).
pub fn expand_tree(
    value: &mut Value,
    path: &mut Vec<String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match value {
        Value::String(s) if s.contains('$') => {
            *s = expand_str(s, lookup).map_err(|var| ConfigError::MissingVar {
                path: path.join("."),
                var,
            })?;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                expand_tree(item, path, lookup)?;
                path.pop();
            }
        }
        Value::Mapping(map) => {
            for (k, v) in map.iter_mut() {
                path.push(key_name(k));
                expand_tree(v, path, lookup)?;
                path.pop();
            }
        }
        Value::Tagged(t) => expand_tree(&mut t.value, path, lookup)?,
        _ => {}
    }
    Ok(())
}

pub(crate) fn key_name(k: &Value) -> String {
    match k {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// Expand one string; `Err(var)` names the first missing variable.
pub fn expand_str(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some(end) = tail.find('}') else {
                out.push_str(after);
                rest = "";
                break;
            };
            let expr = &tail[..end];
            let (name, default) = match expr.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (expr, None),
            };
            match (lookup(name), default) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(name.to_owned()),
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "TOKEN" => Some("s3cret".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_vars_defaults_and_escapes() {
        let check = |input: &str, want: Result<&str, &str>| {
            assert_eq!(
                expand_str(input, &env),
                want.map(str::to_owned).map_err(str::to_owned),
                "{input}"
            );
        };
        check("Bearer ${TOKEN}", Ok("Bearer s3cret"));
        check("${MISSING:-fallback}", Ok("fallback"));
        check("${EMPTY:-unused}", Ok(""));
        check("a$${TOKEN}b", Ok("a${TOKEN}b"));
        check("price: $5", Ok("price: $5"));
        check("${TOKEN}${TOKEN}", Ok("s3crets3cret"));
        check("x ${NOPE} y", Err("NOPE"));
    }

    #[test]
    fn missing_variable_names_the_key_path() {
        let mut v: Value =
            serde_yaml_ng::from_str("backends:\n  gh:\n    env:\n      KEY: ${GH_KEY}\n").unwrap();
        let err = expand_tree(&mut v, &mut Vec::new(), &env).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backends.gh.env.KEY: environment variable GH_KEY is not set (use ${GH_KEY:-default} to give a default)"
        );
    }
}
