//! What results and errors look like to a modern client.
//!
//! Every result gets `resultType` (legacy backends never send one); lists
//! and reads also get the cache hints `ttlMs` and `cacheScope` unless the
//! backend chose them. Lists are the same for every client of the gateway,
//! so they are `public`; a read may hold user data, so it is `private`.
//! Errors from the gateway-to-backend hop never pass through raw: a
//! backend's -32002 becomes -32602 with `data.uri`, and its 2026-07-28
//! header, capability and version errors (about a hop the client never
//! saw) become internal errors.

use mcp_wire::object::with_member;
use mcp_wire::{codes, raw, ErrorObject, Json};
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The cache hints a method's complete result carries: (ttlMs, cacheScope).
fn cache_hints(method: &str) -> Option<(u64, &'static str)> {
    match method {
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => {
            Some((0, "public"))
        }
        "resources/read" => Some((0, "private")),
        "server/discover" => Some((60_000, "public")),
        _ => None,
    }
}

/// `result` as a complete result of `method`.
pub fn complete(method: &str, result: Json) -> Json {
    #[derive(Deserialize)]
    struct Has {
        #[serde(rename = "resultType")]
        result_type: Option<IgnoredAny>,
        #[serde(rename = "ttlMs")]
        ttl_ms: Option<IgnoredAny>,
        #[serde(rename = "cacheScope")]
        cache_scope: Option<IgnoredAny>,
    }
    let Ok(has) = serde_json::from_str::<Has>(result.get()) else {
        return result; // not an object: nothing to add to
    };
    let mut out = result;
    let mut add = |key: &str, value: Json| {
        if let Some(next) = with_member(&out, key, &value) {
            out = next;
        }
    };
    if has.result_type.is_none() {
        add("resultType", raw(&"complete"));
    }
    if let Some((ttl, scope)) = cache_hints(method) {
        if has.ttl_ms.is_none() {
            add("ttlMs", raw(&ttl));
        }
        if has.cache_scope.is_none() {
            add("cacheScope", raw(&scope));
        }
    }
    out
}

/// An error object as a modern client must see it; `uri` is the resource
/// the request named, if any.
pub fn error(err: Json, uri: Option<&str>) -> Json {
    let Ok(obj) = serde_json::from_str::<ErrorObject>(err.get()) else {
        return err;
    };
    match obj.code {
        codes::RESOURCE_NOT_FOUND => {
            let mut e = ErrorObject::new(codes::INVALID_PARAMS, obj.message);
            if let Some(uri) = uri {
                e = e.with_data(&serde_json::json!({ "uri": uri }));
            }
            e.to_raw()
        }
        codes::HEADER_MISMATCH
        | codes::MISSING_REQUIRED_CLIENT_CAPABILITY
        | codes::UNSUPPORTED_PROTOCOL_VERSION
        | URL_ELICITATION_REQUIRED => ErrorObject::new(
            codes::INTERNAL_ERROR,
            format!(
                "the backend refused the gateway's request: {} ({})",
                obj.message, obj.code
            ),
        )
        .to_raw(),
        _ => err,
    }
}

/// 2025-11-25's "URL elicitation required", which 2026-07-28 must not send.
const URL_ELICITATION_REQUIRED: i64 = -32042;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_get_their_type_and_cache_hints() {
        let list = complete("tools/list", raw(&serde_json::json!({"tools": []})));
        let v: serde_json::Value = serde_json::from_str(list.get()).unwrap();
        assert_eq!(v["resultType"], "complete");
        assert_eq!(
            (v["ttlMs"].as_u64(), v["cacheScope"].as_str()),
            (Some(0), Some("public"))
        );
        let call = complete("tools/call", raw(&serde_json::json!({"content": []})));
        assert!(!call.get().contains("ttlMs") && call.get().contains(r#""resultType":"complete""#));
        let own = complete(
            "resources/read",
            raw(&serde_json::json!({"contents": [], "ttlMs": 5000})),
        );
        assert!(
            own.get().contains(r#""ttlMs":5000"#)
                && own.get().contains(r#""cacheScope":"private""#)
        );
        let asks = raw(&serde_json::json!({"resultType": "input_required", "requestState": "s"}));
        assert_eq!(complete("tools/call", asks.clone()).get(), asks.get());
    }

    #[test]
    fn backend_errors_are_translated() {
        let nf = ErrorObject::new(codes::RESOURCE_NOT_FOUND, "Resource not found").to_raw();
        let e: serde_json::Value = serde_json::from_str(error(nf, Some("test://x")).get()).unwrap();
        assert_eq!(
            (e["code"].as_i64(), e["data"]["uri"].as_str()),
            (Some(-32602), Some("test://x"))
        );
        for code in [-32020, -32021, -32022, -32042] {
            let hop = ErrorObject::new(code, "hop").to_raw();
            assert!(error(hop, None).get().contains("-32603"), "{code}");
        }
        let own = ErrorObject::new(codes::INVALID_PARAMS, "bad").to_raw();
        assert_eq!(error(own.clone(), None).get(), own.get());
    }
}
