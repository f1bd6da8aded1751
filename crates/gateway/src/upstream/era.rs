//! Backends of the 2026-07-28 era, for clients of any era.
//!
//! Which era a backend speaks is found once per backend: a `server/discover`
//! probe; any answer that is not a discover result means the session era
//! and `initialize` (over stdio on the same process, as the spec does; a
//! session-era server that exits on the unknown first request fails that
//! connect, and the next one starts it knowing its era). The verdict is
//! kept for the backend's later connections.
//!
//! To a modern backend every request carries the envelope in `_meta` (and,
//! over HTTP, the routing headers); an `input_required` answer is a round of
//! questions the gateway puts to the calling client as ordinary requests,
//! then retries with the answers and the backend's `requestState`.

use mcp_wire::object::{member_at, with_member};
use std::collections::HashMap;

use http::HeaderName;
use mcp_wire::{codes, raw, version, Id, Json, Message};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use crate::modern::headers::{self, ParamHeader};

/// Which protocol a backend speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// initialize, sessions, server-to-client requests (≤ 2025-11-25).
    Session,
    /// 2026-07-28: stateless requests, `input_required` results.
    Stateless,
}

/// What the gateway can do for a backend as its client: every question
/// goes on to the calling client.
pub fn gateway_capabilities() -> serde_json::Value {
    json!({"sampling": {}, "elicitation": {"form": {}, "url": {}}, "roots": {"listChanged": true}})
}

/// Most rounds of questions one call may take.
pub const MAX_ROUNDS: usize = 10;

/// The params of `method` for a modern backend: the caller's, with the
/// envelope in `_meta` (the caller's own `_meta` members stay).
pub fn stamp(params: Option<&Json>, log_level: Option<&str>) -> Json {
    let mut envelope = json!({
        "io.modelcontextprotocol/protocolVersion": version::MODERN,
        "io.modelcontextprotocol/clientCapabilities": gateway_capabilities(),
        "io.modelcontextprotocol/clientInfo": {"name": "mcp-gateway", "version": env!("CARGO_PKG_VERSION")},
    });
    if let Some(level) = log_level {
        envelope["io.modelcontextprotocol/logLevel"] = json!(level);
    }
    let empty;
    let params = match params {
        Some(p) => p,
        None => {
            empty = raw(&json!({}));
            &empty
        }
    };
    // The caller's `_meta` alone is parsed, not the arguments beside it.
    let own = member_at(params, &["_meta"]).and_then(|m| {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(m.get()).ok()
    });
    if let Some(own) = own {
        for (k, v) in own {
            envelope
                .as_object_mut()
                .expect("an object")
                .entry(k)
                .or_insert(v);
        }
    }
    with_member(params, "_meta", &raw(&envelope)).unwrap_or_else(|| params.to_owned())
}

/// The routing headers of a request to a modern HTTP backend: `Mcp-Method`,
/// `Mcp-Name`, and for a tools/call the `Mcp-Param-*` its tool declares
/// (`declared`: tool name -> the arguments it mirrors).
pub fn routing_headers(
    method: &str,
    params: Option<&Json>,
    declared: &HashMap<String, Vec<ParamHeader>>,
) -> Vec<(HeaderName, String)> {
    let mut out = vec![(HeaderName::from_static("mcp-method"), method.to_owned())];
    let member = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" => "uri",
        _ => return out,
    };
    #[derive(Deserialize)]
    struct P<'a> {
        name: Option<String>,
        uri: Option<String>,
        #[serde(borrow)]
        arguments: Option<&'a RawValue>,
    }
    let Some(p) = params.and_then(|p| serde_json::from_str::<P>(p.get()).ok()) else {
        return out;
    };
    let target = if member == "name" { &p.name } else { &p.uri };
    if let Some(v) = target {
        out.push((HeaderName::from_static("mcp-name"), headers::encode(v)));
    }
    let mirrored = p
        .name
        .as_ref()
        .filter(|_| method == "tools/call")
        .and_then(|n| declared.get(n));
    if let (Some(mirrored), Some(args)) = (mirrored, p.arguments) {
        let args: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(args.get()).unwrap_or_default();
        for m in mirrored {
            let value = args.get(&m.property).and_then(headers::encode_argument);
            if let (Some(value), Ok(name)) = (
                value,
                HeaderName::try_from(format!("mcp-param-{}", m.header)),
            ) {
                out.push((name, value));
            }
        }
    }
    out
}

/// The `server/discover` probe.
pub fn discover(id: i64) -> Message {
    Message::request(Id::Num(id), "server/discover", Some(stamp(None, None)))
}

/// A discover result that names the modern era: (capabilities, server
/// info, instructions).
pub fn discovered(result: &Json) -> Option<(Json, Json, Option<String>)> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct D {
        supported_versions: Vec<String>,
        capabilities: Option<Json>,
        instructions: Option<String>,
        #[serde(rename = "_meta")]
        meta: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let d: D = serde_json::from_str(result.get()).ok()?;
    if !d.supported_versions.iter().any(|v| v == version::MODERN) {
        return None;
    }
    let info = d
        .meta
        .and_then(|m| m.get("io.modelcontextprotocol/serverInfo").cloned())
        .unwrap_or_else(|| json!({}));
    Some((
        d.capabilities.unwrap_or_else(|| raw(&json!({}))),
        raw(&info),
        d.instructions,
    ))
}

/// A -32022 (unsupported protocol version) whose `data.supported` names
/// 2026-07-28 after all, as a server may answer a first request.
pub fn supports_modern_after_all(answer: &Message) -> bool {
    #[derive(Deserialize)]
    struct E {
        code: i64,
        data: Option<D>,
    }
    #[derive(Deserialize)]
    struct D {
        supported: Vec<String>,
    }
    answer
        .error
        .as_ref()
        .and_then(|e| serde_json::from_str::<E>(e.get()).ok())
        .is_some_and(|e| {
            e.code == codes::UNSUPPORTED_PROTOCOL_VERSION
                && e.data
                    .is_some_and(|d| d.supported.iter().any(|v| v == version::MODERN))
        })
}

/// A round of questions in a backend's answer.
pub struct Questions {
    /// (key, the request to put to the client).
    pub requests: Vec<(String, Message)>,
    pub state: Option<String>,
}

/// The questions of an `input_required` result, if it is one.
pub fn questions(result: &Json) -> Option<Questions> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct R {
        result_type: Option<String>,
        #[serde(default)]
        input_requests: serde_json::Map<String, serde_json::Value>,
        request_state: Option<String>,
    }
    #[derive(Deserialize)]
    struct Q {
        method: String,
        params: Option<serde_json::Value>,
    }
    let r: R = serde_json::from_str(result.get()).ok()?;
    if r.result_type.as_deref() != Some("input_required") {
        return None;
    }
    let requests = r
        .input_requests
        .into_iter()
        .filter_map(|(key, q)| {
            let q: Q = serde_json::from_value(q).ok()?;
            let params = q.params.map(|p| raw(&p));
            Some((key, Message::request(Id::Num(0), &q.method, params)))
        })
        .collect();
    Some(Questions {
        requests,
        state: r.request_state,
    })
}

/// The retry of a request: its params with the answers and the state.
pub fn retry_params(params: &Json, answers: &[(String, Json)], state: Option<&str>) -> Json {
    let mut responses = String::from("{");
    for (i, (key, value)) in answers.iter().enumerate() {
        if i > 0 {
            responses.push(',');
        }
        responses.push_str(&serde_json::to_string(key).expect("a string"));
        responses.push(':');
        responses.push_str(value.get());
    }
    responses.push('}');
    let responses = Json::parse(responses).expect("built from valid JSON");
    let mut out =
        with_member(params, "inputResponses", &responses).unwrap_or_else(|| params.to_owned());
    if let Some(s) = state {
        out = with_member(&out, "requestState", &raw(&s)).unwrap_or(out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_joins_the_callers_meta() {
        let p = raw(&json!({"name": "t", "_meta": {"progressToken": 3}}));
        let v: serde_json::Value =
            serde_json::from_str(stamp(Some(&p), Some("info")).get()).unwrap();
        assert_eq!(v["name"], "t");
        assert_eq!(v["_meta"]["progressToken"], 3);
        assert_eq!(
            v["_meta"]["io.modelcontextprotocol/protocolVersion"],
            "2026-07-28"
        );
        assert_eq!(v["_meta"]["io.modelcontextprotocol/logLevel"], "info");
        assert!(
            v["_meta"]["io.modelcontextprotocol/clientCapabilities"]["elicitation"].is_object()
        );
    }

    #[test]
    fn routing_headers_name_the_method_and_the_target() {
        let none = HashMap::new();
        let params = raw(&json!({"name": "héllo"}));
        let h = routing_headers("tools/call", Some(&params), &none);
        assert_eq!(
            h[0],
            (
                HeaderName::from_static("mcp-method"),
                "tools/call".to_owned()
            )
        );
        assert!(h[1].1.starts_with("=?base64?"), "{:?}", h[1]);
        assert_eq!(routing_headers("tools/list", None, &none).len(), 1);
    }

    #[test]
    fn a_tools_call_mirrors_the_arguments_its_tool_declares() {
        let schema = json!({"type": "object", "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
            "query": {"type": "string"}}});
        let declared = HashMap::from([("t".to_owned(), headers::declared(&schema).unwrap())]);
        let params = raw(&json!({"name": "t", "arguments":
            {"region": "eu west", "priority": 3, "verbose": null, "query": "q"}}));
        let h: Vec<(String, String)> = routing_headers("tools/call", Some(&params), &declared)
            .into_iter()
            .map(|(n, v)| (n.as_str().to_owned(), v))
            .collect();
        let got = |n: &str| h.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
        assert_eq!(got("mcp-param-region"), Some("eu west"));
        assert_eq!(got("mcp-param-priority"), Some("3"));
        assert_eq!(got("mcp-param-verbose"), None, "null: no header");
        assert_eq!(h.len(), 4, "{h:?}");
        // Another tool of the same call shape mirrors nothing.
        let other = raw(&json!({"name": "u", "arguments": {"region": "x"}}));
        assert_eq!(
            routing_headers("tools/call", Some(&other), &declared).len(),
            2
        );
    }

    #[test]
    fn a_version_refusal_that_names_2026_is_worth_a_retry() {
        let refusal = |supported: &str| {
            Message::parse_one(format!(r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":-32022,"message":"Unsupported protocol version","data":{{"supported":{supported},"requested":"x"}}}}}}"#).as_bytes()).unwrap()
        };
        assert!(supports_modern_after_all(&refusal(r#"["2026-07-28"]"#)));
        assert!(!supports_modern_after_all(&refusal(r#"["2025-11-25"]"#)));
        let other = Message::parse_one(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"no"}}"#,
        )
        .unwrap();
        assert!(!supports_modern_after_all(&other));
    }

    #[test]
    fn discover_results_and_questions_are_recognised() {
        let d = raw(
            &json!({"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}},
            "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}}}),
        );
        let (caps, info, _) = discovered(&d).unwrap();
        assert!(caps.get().contains("tools") && info.get().contains(r#""name":"s""#));
        assert!(discovered(&raw(&json!({"supportedVersions": ["2025-11-25"]}))).is_none());

        let ask = raw(
            &json!({"resultType": "input_required", "requestState": "s1",
            "inputRequests": {"n": {"method": "elicitation/create", "params": {"message": "name?"}}}}),
        );
        let q = questions(&ask).unwrap();
        assert_eq!(
            (q.requests[0].0.as_str(), q.requests[0].1.method()),
            ("n", "elicitation/create")
        );
        assert!(questions(&raw(&json!({"content": []}))).is_none());

        let retry = retry_params(
            &raw(&json!({"name": "t"})),
            &[("n".into(), raw(&json!({"action": "accept"})))],
            q.state.as_deref(),
        );
        let v: serde_json::Value = serde_json::from_str(retry.get()).unwrap();
        assert_eq!(
            (
                v["requestState"].as_str(),
                v["inputResponses"]["n"]["action"].as_str()
            ),
            (Some("s1"), Some("accept"))
        );
    }
}
