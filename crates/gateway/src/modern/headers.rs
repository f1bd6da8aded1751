//! The 2026-07-28 routing headers: `MCP-Protocol-Version`, `Mcp-Method`,
//! `Mcp-Name` and `Mcp-Param-*` must say what the body says (-32020
//! otherwise). Values that are not plain ASCII come as
//! `=?base64?<base64 of UTF-8>?=` and are decoded before comparing.

use base64::Engine;
use mcp_wire::{codes, ErrorObject, Message};
use serde::Deserialize;
use serde_json::Value;

/// The routing headers of one request, as received (names lower-cased).
pub struct Routing<'a> {
    pub version: Option<&'a str>,
    pub method: Option<&'a str>,
    pub name: Option<&'a str>,
    /// `Mcp-Param-<Name>` headers: (Name, value).
    pub params: Vec<(&'a str, &'a str)>,
}

fn mismatch(what: String) -> ErrorObject {
    ErrorObject::new(codes::HEADER_MISMATCH, format!("Header mismatch: {what}"))
}

/// A header value: as it is when plain printable ASCII, otherwise in the
/// `=?base64?…?=` form.
pub fn encode(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes().all(|b| (0x20..0x7f).contains(&b))
        && v.trim() == v
        && !v.starts_with("=?base64?");
    if plain {
        v.to_owned()
    } else {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(v)
        )
    }
}

/// The `Mcp-Param-*` value of an argument: a string [`encode`]d, an
/// integer in decimal, a boolean as `true`/`false`. None (no header) for
/// null and for anything no header can carry.
pub fn encode_argument(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(encode(s)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => n
            .as_i64()
            .map(|i| i.to_string())
            .or_else(|| n.as_u64().map(|u| u.to_string()))
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0)
                    .map(|f| (f as i64).to_string())
            }),
        _ => None,
    }
}

/// An argument a tool mirrors into the header `Mcp-Param-{header}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamHeader {
    pub property: String,
    pub header: String,
}

/// The `x-mcp-header` annotations on the top-level properties of a tool's
/// inputSchema, checked as the spec asks of clients: a name made of token
/// characters (no space, colon, control or non-ASCII character), unique
/// ignoring case, on a property of type string, integer or boolean. Err
/// says why the tool cannot be used over HTTP.
pub fn declared(input_schema: &Value) -> Result<Vec<ParamHeader>, String> {
    let Some(props) = input_schema.get("properties").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<ParamHeader> = Vec::new();
    for (property, schema) in props {
        let Some(annotation) = schema.get("x-mcp-header") else {
            continue;
        };
        let header = annotation
            .as_str()
            .filter(|h| !h.is_empty() && h.bytes().all(is_token_byte))
            .ok_or_else(|| {
                format!("x-mcp-header {annotation} on {property} is not a header name")
            })?;
        let kind = schema.get("type").and_then(Value::as_str);
        if !matches!(kind, Some("string" | "integer" | "boolean")) {
            return Err(format!(
                "x-mcp-header on {property}, which is not a string, integer or boolean"
            ));
        }
        if out.iter().any(|p| p.header.eq_ignore_ascii_case(header)) {
            return Err(format!("x-mcp-header {header} is declared twice"));
        }
        out.push(ParamHeader {
            property: property.clone(),
            header: header.to_owned(),
        });
    }
    Ok(out)
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header value as text: plain, or decoded from the base64 sentinel form.
pub fn decode(value: &str) -> Option<String> {
    let v = value.trim();
    match v
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok()),
        None => Some(v.to_owned()),
    }
}

/// Check the headers against the body: the version against the envelope's,
/// the method, and the name (tools/call and prompts/get) or URI
/// (resources/read).
pub fn check(routing: &Routing, msg: &Message, envelope_version: &str) -> Result<(), ErrorObject> {
    let header = |value: Option<&str>, name: &str| {
        value
            .and_then(decode)
            .ok_or_else(|| mismatch(format!("{name} header is required")))
    };
    let version = header(routing.version, "MCP-Protocol-Version")?;
    if version != envelope_version {
        return Err(mismatch(format!(
            "MCP-Protocol-Version {version:?} but _meta says {envelope_version:?}"
        )));
    }
    let method = header(routing.method, "Mcp-Method")?;
    if method != msg.method() {
        return Err(mismatch(format!(
            "Mcp-Method {method:?} but the body's method is {:?}",
            msg.method()
        )));
    }
    let member = match msg.method() {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return Ok(()),
    };
    let body_name = msg
        .parse_params::<Value>()
        .ok()
        .and_then(|p| p.get(member).and_then(Value::as_str).map(str::to_owned));
    let name = header(routing.name, "Mcp-Name")?;
    if body_name.as_deref() != Some(name.as_str()) {
        return Err(mismatch(format!(
            "Mcp-Name {name:?} but params.{member} is {body_name:?}"
        )));
    }
    Ok(())
}

/// Check `Mcp-Param-*` headers against a tools/call's arguments, for the
/// properties of the tool's `inputSchema` marked `x-mcp-header`: a value
/// in the body needs its header with the same value; an absent or null one
/// needs no header.
pub fn check_params(
    routing: &Routing,
    input_schema: &Value,
    arguments: Option<&Value>,
) -> Result<(), ErrorObject> {
    let Some(props) = input_schema.get("properties").and_then(Value::as_object) else {
        return Ok(());
    };
    for (prop, schema) in props {
        let Some(header_name) = schema.get("x-mcp-header").and_then(Value::as_str) else {
            continue;
        };
        let sent = routing
            .params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(header_name))
            .map(|(_, v)| decode(v));
        let value = arguments.and_then(|a| a.get(prop)).filter(|v| !v.is_null());
        match (value, sent) {
            (None, _) => {}
            (Some(_), None) => {
                return Err(mismatch(format!(
                    "Mcp-Param-{header_name} header is required"
                )))
            }
            (Some(v), Some(h)) => {
                let expected = match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(b) => Some(b.to_string()),
                    Value::Number(n) => n.as_i64().map(|i| i.to_string()),
                    _ => None,
                };
                let same = match (&expected, h.as_deref(), v) {
                    (_, Some(h), Value::Number(n)) => h.parse::<f64>().ok() == n.as_f64(),
                    (Some(e), Some(h), _) => e == h,
                    _ => false,
                };
                if !same {
                    return Err(mismatch(format!(
                        "Mcp-Param-{header_name} does not match arguments.{prop}"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A tools/call's arguments, for [`check_params`].
pub fn arguments(msg: &Message) -> Option<Value> {
    #[derive(Deserialize)]
    struct P {
        arguments: Option<Value>,
    }
    msg.parse_params::<P>().ok().and_then(|p| p.arguments)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str) -> Message {
        Message::parse_one(
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{name}","arguments":{{"region":"eu-west","n":42}}}}}}"#)
                .as_bytes(),
        )
        .unwrap()
    }

    fn routing<'a>(version: &'a str, method: &'a str, name: &'a str) -> Routing<'a> {
        Routing {
            version: Some(version),
            method: Some(method),
            name: Some(name),
            params: vec![],
        }
    }

    #[test]
    fn headers_must_say_what_the_body_says() {
        let m = call("get_weather");
        assert!(check(
            &routing("2026-07-28", "tools/call", "get_weather"),
            &m,
            "2026-07-28"
        )
        .is_ok());
        for (r, why) in [
            (routing("2026-07-28", "tools/list", "get_weather"), "method"),
            (routing("2026-07-28", "tools/call", "other"), "name"),
            (
                routing("2025-11-25", "tools/call", "get_weather"),
                "version",
            ),
        ] {
            let e = check(&r, &m, "2026-07-28").unwrap_err();
            assert_eq!(e.code, codes::HEADER_MISMATCH, "{why}");
        }
        let missing = Routing {
            name: None,
            ..routing("2026-07-28", "tools/call", "")
        };
        assert!(check(&missing, &m, "2026-07-28").is_err());
    }

    #[test]
    fn base64_sentinel_values_are_decoded() {
        let m = call("天気");
        let b64 = format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode("天気")
        );
        assert!(check(&routing("2026-07-28", "tools/call", &b64), &m, "2026-07-28").is_ok());
        assert_eq!(decode("  plain "), Some("plain".into()));
        assert_eq!(decode("=?base64?!!?="), None);
    }

    #[test]
    fn declared_param_headers_are_checked_like_a_client_must() {
        let tool = |props: serde_json::Value| json!({"type": "object", "properties": props});
        let ok = declared(&tool(
            json!({"r": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"}, "q": {"type": "string"}}),
        ))
        .unwrap();
        assert_eq!(ok.len(), 2);
        for bad in [
            json!({"v": {"type": "string", "x-mcp-header": ""}}),
            json!({"v": {"type": "object", "x-mcp-header": "V"}}),
            json!({"v": {"type": "number", "x-mcp-header": "V"}}),
            json!({"v": {"type": "null", "x-mcp-header": "V"}}),
            json!({"v": {"type": "string", "x-mcp-header": "My Region"}}),
            json!({"v": {"type": "string", "x-mcp-header": "Region:Primary"}}),
            json!({"v": {"type": "string", "x-mcp-header": "Région"}}),
            json!({"v": {"type": "string", "x-mcp-header": "Region\t1"}}),
            json!({"a": {"type": "string", "x-mcp-header": "MyField"},
                   "b": {"type": "string", "x-mcp-header": "myfield"}}),
        ] {
            assert!(declared(&tool(bad.clone())).is_err(), "{bad}");
        }
        assert_eq!(encode_argument(&json!(42.0)), Some("42".into()));
        assert_eq!(encode_argument(&json!(false)), Some("false".into()));
        assert_eq!(encode_argument(&json!(null)), None);
        assert_eq!(encode_argument(&json!(" padded")), Some(encode(" padded")));
        assert!(encode(" padded").starts_with("=?base64?"));
    }

    #[test]
    fn param_headers_follow_x_mcp_header() {
        let schema = json!({"properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "n": {"type": "integer", "x-mcp-header": "N"},
            "free": {"type": "string"}}});
        let args = json!({"region": "eu-west", "n": 42});
        let with = |params| Routing {
            params,
            ..routing("2026-07-28", "tools/call", "t")
        };
        assert!(check_params(
            &with(vec![("region", "eu-west"), ("N", "42.0")]),
            &schema,
            Some(&args)
        )
        .is_ok());
        assert!(check_params(&with(vec![("Region", "us")]), &schema, Some(&args)).is_err());
        assert!(
            check_params(&with(vec![("Region", "eu-west")]), &schema, Some(&args)).is_err(),
            "N missing"
        );
        assert!(check_params(&with(vec![]), &schema, Some(&json!({"free": "x"}))).is_ok());
    }
}
