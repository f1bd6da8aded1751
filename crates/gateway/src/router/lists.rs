//! Resources, resource templates, prompts and completions on `/mcp`: lists
//! merged across backends from the catalog (with the gateway's own cursors),
//! reads and gets routed to the backend that owns the URI or prompt.

use mcp_wire::object::with_member;
use mcp_wire::{raw, Json, Message, Params};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{GatewayError, Outcome};
use crate::catalog::Catalog;
use std::sync::Arc;

use crate::gateway::Gateway;
use crate::session::Session;
use crate::upstream::CallContext;

const PAGE: usize = 100;

/// One page of a merged list: `field` holds the items (renamed where the
/// exposed key differs), `nextCursor` the offset of the next page.
pub fn list(cat: &Catalog, msg: &Message, method: &str) -> Outcome {
    #[derive(Deserialize, Default)]
    struct P {
        #[serde(default)]
        cursor: Option<String>,
    }
    let p: P = msg.parse_params().unwrap_or_default();
    let start = match p.cursor.as_deref() {
        None => 0,
        Some(c) => c
            .strip_prefix("mcp-gateway:")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| GatewayError::InvalidParams(format!("invalid cursor {c:?}")))?,
    };
    let m = &cat.merged;
    let (field, key, items) = match method {
        "resources/list" => ("resources", "uri", &m.resources),
        "resources/templates/list" => ("resourceTemplates", "uriTemplate", &m.templates),
        _ => ("prompts", "name", &m.prompts),
    };
    let mut out = format!(r#"{{"{field}":["#);
    let end = (start + PAGE).min(items.len());
    for (i, (exposed, ei, ii)) in items.iter().enumerate().take(end).skip(start) {
        let lists = &cat.entries[*ei].lists;
        let item = match method {
            "resources/list" => &lists.resources[*ii],
            "resources/templates/list" => &lists.templates[*ii],
            _ => &lists.prompts[*ii],
        };
        if i > start {
            out.push(',');
        }
        if *exposed == item.key {
            out.push_str(item.raw.get());
        } else {
            match with_member(&item.raw, key, &raw(exposed)) {
                Some(renamed) => out.push_str(renamed.get()),
                None => out.push_str(item.raw.get()),
            }
        }
    }
    out.push(']');
    if end < items.len() {
        out.push_str(&format!(r#","nextCursor":"mcp-gateway:{end}""#));
    }
    out.push('}');
    Json::parse(out).map_err(|e| GatewayError::Internal(e.to_string()))
}

/// resources/read, subscribe and unsubscribe: to the backend owning the URI,
/// under its own URI.
pub async fn by_uri(
    gw: &Gateway,
    session: &Arc<Session>,
    msg: &Message,
    ctx: &CallContext,
) -> Outcome {
    #[derive(Deserialize)]
    struct P {
        uri: String,
    }
    let p: P = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let cat = gw.catalog();
    let Some((ei, original)) = cat.merged.resolve_uri(&cat.entries, &p.uri) else {
        return Err(GatewayError::ResourceNotFound(p.uri));
    };
    let params = msg
        .params
        .as_ref()
        .and_then(|ps| with_member(ps, "uri", &raw(&original)));
    let backend = &cat.entries[ei].name;
    match msg.method() {
        m @ ("resources/subscribe" | "resources/unsubscribe") => {
            subscription(gw, session, backend, m, params, &original, &p.uri, ctx).await
        }
        m => {
            let result = forward(gw, backend, m, params, ctx).await?;
            Ok(if original == p.uri {
                result
            } else {
                name_contents(result, &original, &p.uri)
            })
        }
    }
}

/// A disambiguated resource's contents name it as the client knows it:
/// each `contents[].uri` equal to the backend's URI becomes `exposed`,
/// everything else stays as the backend sent it.
fn name_contents(result: Json, original: &str, exposed: &str) -> Json {
    #[derive(Deserialize)]
    struct Read<'a> {
        #[serde(borrow)]
        contents: Vec<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct Item {
        #[serde(default)]
        uri: Option<String>,
    }
    let Ok(read) = serde_json::from_str::<Read>(result.get()) else {
        return result;
    };
    let exposed = raw(&exposed);
    let mut contents = String::from("[");
    for (i, item) in read.contents.iter().enumerate() {
        if i > 0 {
            contents.push(',');
        }
        let names_it = serde_json::from_str::<Item>(item.get())
            .is_ok_and(|c| c.uri.as_deref() == Some(original));
        match names_it
            .then(|| with_member(*item, "uri", &exposed))
            .flatten()
        {
            Some(renamed) => contents.push_str(renamed.get()),
            None => contents.push_str(item.get()),
        }
    }
    contents.push(']');
    Json::parse(contents)
        .ok()
        .and_then(|c| with_member(&result, "contents", &c))
        .unwrap_or(result)
}

/// resources/subscribe and unsubscribe: the gateway remembers who subscribed
/// (updates go to subscribers only) and tells the backend to stop only when
/// the last subscriber leaves.
#[allow(clippy::too_many_arguments)]
pub async fn subscription(
    gw: &Gateway,
    session: &Arc<Session>,
    backend: &str,
    method: &str,
    params: Option<Json>,
    uri: &str,
    client_uri: &str,
    ctx: &CallContext,
) -> Outcome {
    if method == "resources/subscribe" {
        let result = forward(gw, backend, method, params, ctx).await?;
        gw.subscribe(backend, uri, session, client_uri);
        return Ok(result);
    }
    if gw.unsubscribe(backend, uri, &session.id) {
        return forward(gw, backend, method, params, ctx).await;
    }
    Ok(raw(&serde_json::json!({})))
}

/// prompts/get: to the backend owning the prompt, under its own name.
pub async fn prompt(gw: &Gateway, msg: &Message, ctx: &CallContext) -> Outcome {
    #[derive(Deserialize)]
    struct P {
        name: String,
    }
    let p: P = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let cat = gw.catalog();
    let (ei, original) = cat
        .merged
        .resolve_prompt(&cat.entries, &p.name)
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown prompt: {}", p.name)))?;
    let params = msg
        .params
        .as_ref()
        .and_then(|ps| with_member(ps, "name", &raw(&original)));
    forward(gw, &cat.entries[ei].name, msg.method(), params, ctx).await
}

/// completion/complete: routed by its `ref` (a prompt name or a resource URI).
pub async fn complete(gw: &Gateway, msg: &Message, ctx: &CallContext) -> Outcome {
    #[derive(Deserialize)]
    struct P<'a> {
        #[serde(rename = "ref", borrow)]
        reference: &'a RawValue,
    }
    #[derive(Deserialize)]
    struct Ref {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        uri: Option<String>,
    }
    let p: P = msg
        .parse_params()
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let r: Ref = serde_json::from_str(p.reference.get())
        .map_err(|e| GatewayError::InvalidParams(e.to_string()))?;
    let cat = gw.catalog();
    let (ei, member, original) = match (r.kind.as_str(), r.name, r.uri) {
        ("ref/prompt", Some(name), _) => {
            let (ei, original) = cat
                .merged
                .resolve_prompt(&cat.entries, &name)
                .ok_or_else(|| GatewayError::InvalidParams(format!("unknown prompt: {name}")))?;
            (ei, "name", original)
        }
        ("ref/resource", _, Some(uri)) => {
            let (ei, original) = cat
                .merged
                .resolve_uri(&cat.entries, &uri)
                .ok_or(GatewayError::ResourceNotFound(uri))?;
            (ei, "uri", original)
        }
        _ => {
            return Err(GatewayError::InvalidParams(
                "ref must be a ref/prompt with a name or a ref/resource with a uri".into(),
            ))
        }
    };
    let reference = with_member(p.reference, member, &raw(&original));
    let params = match (msg.params.as_ref(), reference) {
        (Some(ps), Some(rf)) => with_member(ps, "ref", &rf),
        _ => None,
    };
    forward(gw, &cat.entries[ei].name, msg.method(), params, ctx).await
}

async fn forward(
    gw: &Gateway,
    backend: &str,
    method: &str,
    params: Option<Json>,
    ctx: &CallContext,
) -> Outcome {
    let b = gw
        .backend(backend)
        .ok_or_else(|| GatewayError::InvalidParams(format!("unknown backend {backend}")))?;
    let answer = b
        .request_with(method, params.as_ref().map(Params::Raw), ctx)
        .await?;
    super::answer_of(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_of_a_disambiguated_resource_carry_the_clients_uri() {
        let result = raw(&serde_json::json!({
            "contents": [
                {"uri": "test://static/1", "text": "a", "x-extra": [1, 2]},
                {"uri": "test://other", "text": "b"}
            ],
            "_meta": {"k": true}
        }));
        let named = name_contents(
            result,
            "test://static/1",
            "mcp-gateway://ev/test%3A%2F%2Fstatic%2F1",
        );
        let v: serde_json::Value = serde_json::from_str(named.get()).unwrap();
        assert_eq!(
            v["contents"][0]["uri"],
            "mcp-gateway://ev/test%3A%2F%2Fstatic%2F1"
        );
        assert_eq!(v["contents"][0]["x-extra"], serde_json::json!([1, 2]));
        assert_eq!(v["contents"][1]["uri"], "test://other", "other URIs stay");
        assert_eq!(v["_meta"]["k"], true);
    }
}
