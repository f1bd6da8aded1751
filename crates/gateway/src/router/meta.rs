//! The four meta-tools: list servers, list tools, search, invoke.
//!
//! Their names, inputs and result shapes are a contract with clients (and
//! with users of the seed product). Descriptions carry live counts. Results
//! carry the same JSON twice: as `structuredContent` and as text content,
//! for clients that read only one of them.

use std::borrow::Cow;
use std::sync::Arc;

use mcp_wire::{raw, Call, Json, Param, Params, Valid};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;

use super::{text_result, GatewayError, Outcome, ToolCall};
use crate::catalog::Catalog;
use crate::gateway::Gateway;
use crate::mention::Mention;
use crate::search;
use crate::session::Session;
use crate::upstream::{CallContext, State};

pub const INSTRUCTIONS: &str = "Tools of many MCP servers sit behind this gateway. Find the right one with gateway_search_tools, then call it with gateway_invoke.";

const DEFAULT_LIMIT: usize = 5;
const MAX_LIMIT: usize = 25;

/// The meta-tool definitions, with live counts in their descriptions.
pub fn meta_tools(cat: &Catalog) -> serde_json::Value {
    let (servers, tools) = (cat.ready_count(), cat.tool_count());
    json!([
        {
            "name": "gateway_list_servers",
            "description": format!("List the MCP servers behind this gateway ({servers} ready) with state and tool count."),
            "inputSchema": {"type": "object", "properties": {}},
            "annotations": {"readOnlyHint": true}
        },
        {
            "name": "gateway_list_tools",
            "description": format!("List tool names and summaries ({tools} tools), or one server's full tool definitions."),
            "inputSchema": {"type": "object", "properties": {"server": {"type": "string", "description": "Only this server, with full definitions"}}},
            "annotations": {"readOnlyHint": true}
        },
        {
            "name": "gateway_search_tools",
            "description": format!("Find tools for a task among {tools} tools on {servers} servers. Returns matches with inputSchema, ready for gateway_invoke."),
            "inputSchema": {"type": "object", "properties": {
                "query": {"type": "string", "description": "What you want to do"},
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
            }, "required": ["query"]},
            "annotations": {"readOnlyHint": true}
        },
        {
            "name": "gateway_invoke",
            "description": "Call a tool of a server behind the gateway; returns the tool's own result.",
            "inputSchema": {"type": "object", "properties": {
                "server": {"type": "string"},
                "tool": {"type": "string"},
                "arguments": {"type": "object", "description": "The tool's arguments, per its inputSchema"}
            }, "required": ["server", "tool"]}
        }
    ])
}

/// The meta-tools, then the surfaced backend tools with their own definitions.
pub fn list(gw: &Gateway) -> Json {
    let cat = gw.catalog();
    let mut out = serde_json::to_string(&json!({ "tools": meta_tools(&cat) })).expect("serialises");
    out.truncate(out.len() - 2); // drop "]}"
    for (name, _, tool) in surfaced(gw, &cat) {
        out.push(',');
        match mcp_wire::object::with_member(&tool.raw, "name", &raw(&name)) {
            Some(renamed) => out.push_str(renamed.get()),
            None => out.push_str(tool.raw.get()),
        }
    }
    out.push_str("]}");
    Json::parse(out).expect("built from valid JSON")
}

const META_NAMES: [&str; 4] = [
    "gateway_list_servers",
    "gateway_list_tools",
    "gateway_search_tools",
    "gateway_invoke",
];

/// `meta_mcp.surfaced_tools` that exist and are visible now, under the name
/// clients call them by: their own, or `<server>__<tool>` when that name is
/// taken by a meta-tool or another surfaced tool.
pub fn surfaced<'c>(
    gw: &Gateway,
    cat: &'c Catalog,
) -> Vec<(String, &'c crate::catalog::Entry, &'c crate::catalog::Tool)> {
    let found: Vec<_> = gw
        .config()
        .meta_mcp
        .surfaced_tools
        .iter()
        .filter_map(|r| cat.tool(&r.server, &r.tool))
        .filter(|(e, _)| e.is_ready())
        .collect();
    found
        .iter()
        .map(|(e, t)| {
            let clash = META_NAMES.contains(&t.name.as_str())
                || found.iter().filter(|(_, o)| o.name == t.name).count() > 1;
            let name = if clash {
                crate::catalog::exposed_name(&e.name, &t.name)
            } else {
                t.name.clone()
            };
            (name, *e, *t)
        })
        .collect()
}

pub async fn call(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: &mcp_wire::Message,
    ctx: &CallContext,
) -> Outcome {
    if let Some(c) = InvokeCall::read(msg) {
        return invoke(gw, session, c, ctx).await;
    }
    let p: ToolCall = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let args = p.arguments.map_or("{}", RawValue::get);
    match &*p.name {
        "gateway_list_servers" => Ok(list_servers(gw, &gw.catalog())),
        "gateway_list_tools" => with_args(args, |a: ListToolsArgs| {
            Ok(list_tools(&gw.catalog(), a.server.as_deref()))
        }),
        "gateway_search_tools" => match serde_json::from_str::<SearchArgs>(args) {
            Ok(a) => Ok(search_tools(gw, &a.query, a.limit).await),
            Err(e) => Ok(usage_error(&e)),
        },
        "gateway_invoke" => match serde_json::from_str::<InvokeArgs>(args) {
            Ok(a) => {
                let c = InvokeCall {
                    server: a.server,
                    tool: a.tool,
                    arguments: a.arguments.map(Valid::from),
                    meta: p.meta.map(Valid::from),
                    task: p.task.map(Valid::from),
                    params: msg.params.as_ref(),
                };
                invoke(gw, session, c, ctx).await
            }
            Err(e) => Ok(usage_error(&e)),
        },
        _ => call_surfaced(gw, session, msg, &p, ctx).await,
    }
}

/// A surfaced tool, called by the name it is listed under.
async fn call_surfaced(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: &mcp_wire::Message,
    p: &ToolCall<'_>,
    ctx: &CallContext,
) -> Outcome {
    let cat = gw.catalog();
    let unknown = || GatewayError::InvalidParams(format!("unknown tool: {}", p.name));
    let (_, entry, tool) = surfaced(gw, &cat)
        .into_iter()
        .find(|(n, _, _)| *n == p.name)
        .ok_or_else(unknown)?;
    super::call_listed(gw, session, msg, p, &entry.name, tool, ctx).await
}

fn with_args<'a, T: Deserialize<'a>>(args: &'a str, f: impl FnOnce(T) -> Outcome) -> Outcome {
    match serde_json::from_str::<T>(args) {
        Ok(a) => f(a),
        Err(e) => Ok(usage_error(&e)),
    }
}

/// Bad arguments are a tool error the model can read and correct.
fn usage_error(e: &serde_json::Error) -> Json {
    text_result(&format!("Invalid arguments: {e}"), None, true)
}

/// A result whose text content is the JSON of its structured content.
fn structured(value: &impl Serialize) -> Json {
    let json = serde_json::to_string(value).expect("meta-tool results serialise");
    let text = serde_json::to_string(&json).expect("strings serialise");
    Json::parse(format!(
        r#"{{"content":[{{"type":"text","text":{text}}}],"structuredContent":{json}}}"#
    ))
    .expect("built from valid JSON")
}

fn list_servers(gw: &Gateway, cat: &Catalog) -> Json {
    let servers: Vec<_> = cat
        .entries
        .iter()
        .map(|e| {
            let mut s = json!({
                "name": e.name,
                "description": e.description,
                "transport": e.status.transport,
                "state": e.status.state,
                "tools": if e.is_ready() { e.visible_tools().count() } else { 0 },
            });
            if let Some(r) = &e.status.reason {
                s["reason"] = json!(r);
            }
            if let Some(b) = gw.backend(&e.name) {
                s["circuit"] = json!(b.circuit());
            }
            s
        })
        .collect();
    structured(&json!({ "servers": servers }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListToolsArgs {
    #[serde(default)]
    server: Option<String>,
}

#[derive(Serialize)]
struct ToolSummary<'a> {
    server: &'a str,
    name: &'a str,
    description: String,
}

fn list_tools(cat: &Catalog, server: Option<&str>) -> Json {
    if let Some(name) = server {
        let Some(e) = cat.entry(name) else {
            return text_result(&unknown_server(cat, name), None, true);
        };
        if !e.is_ready() {
            return text_result(&not_ready(e), None, true);
        }
        let tools: Vec<&RawValue> = e.visible_tools().map(|t| &*t.raw).collect();
        return structured(&json!({ "server": name, "tools": tools }));
    }
    let tools: Vec<ToolSummary> = cat
        .entries
        .iter()
        .filter(|e| e.is_ready())
        .flat_map(|e| {
            e.visible_tools().map(move |t| ToolSummary {
                server: &e.name,
                name: &t.name,
                description: one_line(&t.description),
            })
        })
        .collect();
    let unavailable = unavailable_servers(cat);
    structured(&json!({ "tools": tools, "unavailable_servers": unavailable }))
}

fn one_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > 120 {
        let cut: String = line.chars().take(117).collect();
        format!("{cut}...")
    } else {
        line.to_owned()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    limit: Option<usize>,
}

#[derive(Serialize)]
struct SearchMatch<'a> {
    server: &'a str,
    tool: &'a str,
    description: &'a str,
    score: f64,
    /// Which query words the tool matched (by name, synonym or near spelling).
    why: String,
    #[serde(rename = "inputSchema")]
    input_schema: &'a RawValue,
}

/// Ranked by words, and by meaning too when `meta_mcp.embeddings` is set
/// and answers in time.
async fn search_tools(gw: &Gateway, query: &str, limit: Option<usize>) -> Json {
    let cat = gw.catalog();
    let limit = limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let query = search::bounded(query);
    let found = match gw.embedder().for_query(&cat, query).await {
        Some((tools, query_vector)) => {
            let meaning = search::meaning::Meaning {
                query: &query_vector,
                docs: &tools.vectors,
                weight: tools.weight,
            };
            search::search_with_meaning(&cat, query, &meaning, limit)
        }
        None => search::search(&cat, query, limit),
    };
    let matches: Vec<SearchMatch> = found
        .iter()
        .map(|m| SearchMatch {
            server: &m.entry.name,
            tool: &m.tool.name,
            description: &m.tool.description,
            score: m.score,
            why: why(m),
            input_schema: &m.tool.input_schema,
        })
        .collect();
    let cat = &*cat;
    // Fail open: what healthy backends have, and which backends could not be searched.
    let unavailable = unavailable_servers(cat);
    if unavailable.is_empty() {
        structured(&json!({ "matches": matches }))
    } else {
        structured(&json!({ "matches": matches, "unavailable_servers": unavailable }))
    }
}

/// "matched: create, issue", what the query's shape hinted at ("; hinted:
/// url") and, ranked by meaning, "; meaning: 0.84" (the mean cosine
/// similarity of the query with the tool and its server).
fn why(m: &search::Match) -> String {
    let mut why = String::new();
    if !m.matched.is_empty() {
        why = format!("matched: {}", m.matched.join(", "));
    }
    if !m.hinted.is_empty() {
        if !why.is_empty() {
            why.push_str("; ");
        }
        why.push_str(&format!("hinted: {}", m.hinted.join(", ")));
    }
    if let Some(s) = m.similarity {
        if !why.is_empty() {
            why.push_str("; ");
        }
        why.push_str(&format!("meaning: {s:.2}"));
    }
    why
}

/// Enabled backends that are not ready (their tools are missing from listings and searches).
fn unavailable_servers(cat: &Catalog) -> Vec<&str> {
    cat.entries
        .iter()
        .filter(|e| !e.is_ready() && !matches!(e.status.state, State::Disabled | State::Idle))
        .map(|e| e.name.as_str())
        .collect()
}

/// A well-formed `gateway_invoke`: the backend, the tool, and what goes
/// along with the call. Read by walking over the params ([`Valid::members`]),
/// so a large argument is scanned once (when the request was parsed) and
/// goes upstream as that same text ([`Params::Call`]).
struct InvokeCall<'a> {
    server: Cow<'a, str>,
    tool: Cow<'a, str>,
    arguments: Option<Valid<'a>>,
    /// The meta-tool call's own `_meta` and `task`: they go along.
    meta: Option<Valid<'a>>,
    task: Option<Valid<'a>>,
    /// The params all of the above were found in.
    params: Option<&'a Json>,
}

impl<'a> InvokeCall<'a> {
    /// `None` for anything else (another tool, a member given twice, one of
    /// the wrong type), which takes the general path and its errors.
    fn read(msg: &'a mcp_wire::Message) -> Option<Self> {
        static INVOKE: Mention = Mention::new("\"gateway_invoke\"");
        let params = msg.params.as_ref()?;
        // The members as the parse found them; walked here when not known.
        let found = [Param::Name, Param::Arguments, Param::Meta, Param::Task].map(|p| msg.param(p));
        let [name, arguments, meta, task] = match found {
            [Some(name), Some(arguments), Some(meta), Some(task)] => [name, arguments, meta, task],
            _ if !INVOKE.in_text(params.get()) => return None,
            _ => members_once(params.into(), ["name", "arguments", "_meta", "task"])?,
        };
        if name?.as_str()? != "gateway_invoke" {
            return None;
        }
        let [server, tool, inner] = members_once(arguments?, ["server", "tool", "arguments"])?;
        let present = |v: Option<Valid<'a>>| v.filter(|v| !v.is_null());
        Some(InvokeCall {
            server: server?.as_str()?,
            tool: tool?.as_str()?,
            arguments: present(inner),
            meta: present(meta),
            task: present(task),
            params: Some(params),
        })
    }
}

/// The members `keys` of `object` (others ignored); `None` when one is
/// given twice, as serde would refuse it.
fn members_once<'a, const N: usize>(
    object: Valid<'a>,
    keys: [&str; N],
) -> Option<[Option<Valid<'a>>; N]> {
    let mut found = [None; N];
    for (key, value) in object.members() {
        if let Some(i) = keys.iter().position(|k| *k == key) {
            if found[i].replace(value).is_some() {
                return None;
            }
        }
    }
    Some(found)
}

#[derive(Deserialize)]
struct InvokeArgs<'a> {
    // Borrowed from the request unless they hold escapes.
    #[serde(borrow)]
    server: Cow<'a, str>,
    #[serde(borrow)]
    tool: Cow<'a, str>,
    #[serde(borrow, default)]
    arguments: Option<&'a RawValue>,
}

/// gateway_invoke: the named tool with the given arguments; the
/// meta-tool call's own `_meta` and `task` go along.
async fn invoke(
    gw: &Gateway,
    session: &Arc<Session>,
    a: InvokeCall<'_>,
    ctx: &CallContext,
) -> Outcome {
    let cat = gw.catalog();
    let Some(entry) = cat.entry(&a.server) else {
        return Ok(text_result(&unknown_server(&cat, &a.server), None, true));
    };
    let Some(backend) = gw.backend(&a.server) else {
        return Ok(text_result(&unknown_server(&cat, &a.server), None, true));
    };
    let lazy_idle = entry.status.state == State::Idle;
    if !entry.is_ready() && !lazy_idle {
        return Ok(text_result(&not_ready(entry), None, true));
    }
    let hidden = entry.hidden.iter().any(|h| h == &a.tool);
    if hidden || (!lazy_idle && !entry.visible_tools().any(|t| t.name == a.tool)) {
        return Ok(text_result(
            &unknown_tool(&cat, &a.server, &a.tool),
            None,
            true,
        ));
    }
    let repeatable = entry
        .visible_tools()
        .any(|t| t.name == a.tool && (t.read_only || t.idempotent));
    let call = Params::Call(Call {
        name: &a.tool,
        arguments: a.arguments,
        meta: a.meta,
        task: a.task,
        within: a.params,
    });
    let task = a.task.is_some();
    super::call_tool(gw, session, &backend, call, task, repeatable, ctx).await
}

fn not_ready(e: &crate::catalog::Entry) -> String {
    let reason = e
        .status
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    format!(
        "Server '{}' is not available ({}{reason}).",
        e.name,
        e.status.state.as_str()
    )
}

fn unknown_server(cat: &Catalog, name: &str) -> String {
    let names: Vec<&str> = cat.entries.iter().map(|e| e.name.as_str()).collect();
    let close = search::suggest(name, &names);
    let mut msg = format!("Unknown server '{name}'.");
    if !close.is_empty() {
        msg.push_str(&format!(" Did you mean: {}?", close.join(", ")));
    }
    msg.push_str(&format!(" Servers: {}.", names.join(", ")));
    msg
}

fn unknown_tool(cat: &Catalog, server: &str, tool: &str) -> String {
    let names: Vec<&str> = cat
        .entry(server)
        .map(|e| e.visible_tools().map(|t| t.name.as_str()).collect())
        .unwrap_or_default();
    let mut msg = format!("Unknown tool '{tool}' on server '{server}'.");
    let close = search::suggest(tool, &names);
    if !close.is_empty() {
        msg.push_str(&format!(" Did you mean: {}?", close.join(", ")));
    }
    let elsewhere: Vec<&str> = cat
        .entries
        .iter()
        .filter(|e| e.name != server && e.is_ready() && e.visible_tools().any(|t| t.name == tool))
        .map(|e| e.name.as_str())
        .collect();
    if !elsewhere.is_empty() {
        msg.push_str(&format!(
            " A tool named '{tool}' exists on: {}.",
            elsewhere.join(", ")
        ));
    }
    if close.is_empty() && elsewhere.is_empty() {
        msg.push_str(" Use gateway_search_tools to find the right tool.");
    }
    msg
}

#[cfg(test)]
mod tests {
    use mcp_wire::Message;

    use super::InvokeCall;

    fn call_with(params: &str) -> Message {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}"#);
        Message::parse_one(body.as_bytes()).unwrap()
    }

    #[test]
    fn a_well_formed_invoke_is_read_by_a_walk_and_anything_else_is_not() {
        let msg = call_with(
            r#"{"name":"gateway_invoke","arguments":{"server":"fs","tool":"read_file","arguments":{"path":"/a"}},"_meta":{"progressToken":7},"task":{"ttl":1}}"#,
        );
        let c = InvokeCall::read(&msg).expect("read");
        assert_eq!((&*c.server, &*c.tool), ("fs", "read_file"));
        assert_eq!(c.arguments.unwrap().get(), r#"{"path":"/a"}"#);
        assert_eq!(c.meta.unwrap().get(), r#"{"progressToken":7}"#);
        assert_eq!(c.task.unwrap().get(), r#"{"ttl":1}"#);
        // Any member order, any spacing, escapes in names, unknown members.
        let msg = call_with(
            r#"{"arguments": {"tool": "t\u0031", "x": [1], "server": "s"}, "name": "gateway_invoke", "extra": {}}"#,
        );
        let c = InvokeCall::read(&msg).expect("read");
        assert_eq!((&*c.server, &*c.tool), ("s", "t1"));
        assert!(c.arguments.is_none() && c.meta.is_none() && c.task.is_none());
        // Null is as good as absent (as serde reads an Option).
        let msg = call_with(
            r#"{"name":"gateway_invoke","arguments":{"server":"s","tool":"t","arguments":null},"_meta":null,"task":null}"#,
        );
        let c = InvokeCall::read(&msg).expect("read");
        assert!(c.arguments.is_none() && c.meta.is_none() && c.task.is_none());
        // The general path (and its usage errors) takes the rest.
        for other in [
            r#"{"name":"gateway_search_tools","arguments":{"query":"gateway_invoke"}}"#,
            r#"{"name":"surfaced","arguments":{"server":"s","tool":"t","note":"gateway_invoke"}}"#,
            r#"{"name":"gateway_invoke","arguments":{"server":"fs"}}"#,
            r#"{"name":"gateway_invoke","arguments":{"server":1,"tool":"t"}}"#,
            r#"{"name":"gateway_invoke","arguments":"server"}"#,
            r#"{"name":"gateway_invoke"}"#,
            // A member given twice, at either level: serde refuses it too.
            r#"{"name":"gateway_invoke","arguments":{"server":"s","tool":"t","tool":"u"}}"#,
            r#"{"name":"gateway_invoke","name":"other","arguments":{"server":"s","tool":"t"}}"#,
            r#"{"name":"gateway_invoke","arguments":{"server":"s","tool":"t"},"_meta":null,"_meta":{}}"#,
        ] {
            assert!(InvokeCall::read(&call_with(other)).is_none(), "{other}");
        }
    }
}
