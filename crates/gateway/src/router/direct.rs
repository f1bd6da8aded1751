//! Backend tools without meta-tools.
//!
//! - `meta_mcp.enabled: false`: `/mcp` lists every ready backend's tools
//!   under `<backend>__<tool>` names (see `catalog::naming`) and routes calls
//!   back by the catalog's table.
//! - `/mcp/{backend}`: the session speaks for one backend; every request is
//!   forwarded under a gateway id and the answer comes back verbatim.

use mcp_wire::{raw, Json, Message};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use std::sync::Arc;

use super::{GatewayError, Outcome, ToolCall};
use crate::gateway::Gateway;
use crate::session::Session;
use crate::upstream::{CallContext, UpstreamError};

/// The initialize result for `/mcp/{backend}`: the backend's own
/// capabilities and instructions, under the version this client negotiated.
pub async fn initialize_backend(gw: &Gateway, name: &str, version: &str) -> Outcome {
    let backend = gw
        .backend(name)
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown backend {name}")))?;
    // A lazy backend starts here; a failed one says why.
    backend.request("ping", None).await?;
    let status = backend.status();
    let Some(init) = &status.init else {
        return Err(UpstreamError::Unavailable {
            backend: name.into(),
            reason: "not initialised".into(),
        }
        .into());
    };
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": serde_json::from_str::<serde_json::Value>(init.capabilities.get()).unwrap_or_else(|_| json!({})),
        "serverInfo": {"name": format!("mcp-gateway/{name}"), "version": env!("CARGO_PKG_VERSION")},
    });
    if let Some(i) = &init.instructions {
        result["instructions"] = json!(i);
    }
    Ok(raw(&result))
}

/// Forward a request to one backend; its result or error comes back as is.
/// Tools the config hides stay hidden here too: filtered out of tools/list,
/// and calling one looks exactly like calling a missing tool.
pub async fn forward(
    gw: &Gateway,
    session: &Arc<Session>,
    name: &str,
    msg: &Message,
    ctx: &CallContext,
) -> Outcome {
    let backend = gw
        .backend(name)
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown backend {name}")))?;
    let hidden = &backend.hidden;
    // A tool call's name, and whether the client asked for a task: read
    // without parsing the arguments, which may be large.
    let call = (msg.method() == "tools/call")
        .then(|| Named::read(msg.params.as_ref()?))
        .flatten();
    if !hidden.is_empty() && msg.method() == "tools/call" {
        // Params whose name cannot be read (none, not a string, given
        // twice) would reach a backend that reads them its own way, perhaps
        // as a hidden tool: they stop here.
        let Some(n) = &call else {
            return Err(GatewayError::InvalidParams(
                "tools/call needs params with one string \"name\"".into(),
            ));
        };
        if hidden.contains(&n.name) {
            return Err(GatewayError::InvalidParams(format!(
                "unknown tool: {}",
                n.name
            )));
        }
    }
    let repeatable = call.as_ref().is_some_and(|n| {
        gw.catalog()
            .tool(name, &n.name)
            .is_some_and(|(_, t)| t.read_only || t.idempotent)
    });
    let ctx = &CallContext {
        repeatable,
        ..ctx.clone()
    };
    let result = super::answer_of(
        backend
            .request_with(msg.method(), msg.sent_params(), ctx)
            .await?,
    )?;
    if msg.method() == "tools/list" && !hidden.is_empty() {
        return Ok(without_hidden(result, hidden));
    }
    if call.is_some_and(|n| n.task) {
        // A task it created: its status notifications go to this session.
        super::tasks::remember(gw, session, name, &result);
    }
    Ok(result)
}

/// What forwarding needs of a tool call's params, or of a tool.
struct Named {
    name: String,
    /// The client asked for the call to run as a task; only then may the
    /// answer be a CreateTaskResult.
    task: bool,
}

impl Named {
    /// From an object's members ([`mcp_wire::object::members`]: the values
    /// are walked over, not parsed); `None` unless it has one `name` and
    /// that is a string.
    fn read<'a>(object: impl Into<mcp_wire::Valid<'a>>) -> Option<Named> {
        let (mut name, mut task) = (None, false);
        for (key, value) in mcp_wire::object::members(object) {
            match &*key {
                "name" if name.is_some() => return None,
                "name" => name = Some(value.as_str()?.into_owned()),
                "task" => task = !value.is_null(),
                _ => {}
            }
        }
        Some(Named { name: name?, task })
    }
}

fn without_hidden(result: Json, hidden: &[String]) -> Json {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        tools: Vec<&'a RawValue>,
    }
    let Ok(page) = serde_json::from_str::<Page>(result.get()) else {
        return result;
    };
    let kept: Vec<&RawValue> = page
        .tools
        .into_iter()
        // A tool whose name cannot be read may be a hidden one: dropped too.
        .filter(|t| Named::read(*t).is_some_and(|n| !hidden.contains(&n.name)))
        .collect();
    let filtered = mcp_wire::object::with_member(&result, "tools", &raw(&kept));
    filtered.unwrap_or(result)
}

/// tools/list for `/mcp` in direct mode: every ready tool, renamed.
pub fn list_all(gw: &Gateway) -> Json {
    let cat = gw.catalog();
    let mut out = String::from(r#"{"tools":["#);
    for (i, (name, ei, ti)) in cat.exposed.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let def = &cat.entries[*ei].tools[*ti].raw;
        match mcp_wire::object::with_member(def, "name", &raw(name)) {
            Some(renamed) => out.push_str(renamed.get()),
            None => out.push_str(def.get()),
        }
    }
    out.push_str("]}");
    Json::parse(out).expect("built from valid JSON")
}

/// tools/call for `/mcp` in direct mode: map the exposed name back.
pub async fn call_prefixed(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: &Message,
    ctx: &CallContext,
) -> Outcome {
    let p: ToolCall = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let cat = gw.catalog();
    let unknown = || GatewayError::InvalidParams(format!("unknown tool: {}", p.name));
    let (entry, tool) = cat.resolve_exposed(&p.name).ok_or_else(unknown)?;
    super::call_listed(gw, session, msg, &p, &entry.name, tool, ctx).await
}

#[cfg(test)]
mod tests {
    use super::Named;
    use mcp_wire::Json;

    fn named(params: &str) -> Option<(String, bool)> {
        let raw: Json = serde_json::from_str(params).unwrap();
        Named::read(&raw).map(|n| (n.name, n.task))
    }

    #[test]
    fn a_calls_name_and_task_are_read_from_its_top_level_only() {
        let big = "x".repeat(20_000);
        let params = format!(
            r#"{{"arguments":{{"name":"inner","task":{{}},"text":"{big}"}},"name":"a\"b"}}"#
        );
        assert_eq!(named(&params), Some(("a\"b".into(), false)));
        let asked = r#"{"name":"t","arguments":{},"task":{"ttl":60000}}"#;
        assert_eq!(named(asked), Some(("t".into(), true)));
        assert_eq!(
            named(r#"{"name":"t","task":null}"#),
            Some(("t".into(), false))
        );
    }

    #[test]
    fn a_listing_keeps_only_tools_known_not_to_be_hidden() {
        let listed: Json = serde_json::from_str(
            r#"{"tools":[{"name":"a"},{"name":"b"},{"name":"a","name":"b"}],"nextCursor":"c"}"#,
        )
        .unwrap();
        let kept = super::without_hidden(listed, &["b".to_owned()]);
        assert_eq!(kept.get(), r#"{"tools":[{"name":"a"}],"nextCursor":"c"}"#);
    }

    #[test]
    fn params_without_one_string_name_are_not_a_call() {
        for params in [
            r#"{"arguments":{}}"#,
            r#"{"name":7}"#,
            r#"[{"name":"t"}]"#,
            "null",
            r#"{"name":"a","name":"b"}"#,
        ] {
            assert_eq!(named(params), None, "{params}");
        }
    }
}
