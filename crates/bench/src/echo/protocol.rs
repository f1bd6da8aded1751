//! The transport-independent part of `mcp-echo`: one message in, at most one
//! message out, as text. Handles `initialize`, `ping`, `tools/list`
//! (paginated), `tools/call` (`echo` answers its message, the synthetic tools
//! answer "ok"); notifications and responses get no answer.

use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

use super::tools;

const VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

/// Server state: the tool definitions, pre-serialised.
pub struct Echo {
    tools: Vec<String>,
    page_size: usize,
}

/// One message, parsed in a single borrowing pass.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<Params<'a>>,
}

/// The union of the params fields this server reads.
#[derive(Deserialize)]
struct Params<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<&'a RawValue>,
    #[serde(default, borrow, rename = "protocolVersion")]
    protocol_version: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    cursor: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EchoArgs<'a> {
    #[serde(borrow)]
    message: &'a RawValue,
}

/// Only the id, for answering a message the full pass rejected.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
}

/// What to send back, and whether it answered `initialize` (HTTP adds a
/// session header then).
pub struct Reply {
    pub text: String,
    pub initialize: bool,
}

impl Echo {
    /// `echo` plus `synthetic` generated tools; `tools/list` pages hold
    /// `page_size` tools (0: everything in one page).
    pub fn new(synthetic: usize, page_size: usize) -> Echo {
        Echo {
            tools: tools::definitions(synthetic),
            page_size,
        }
    }

    /// Answers one message; `None` for notifications and responses.
    pub fn handle(&self, text: &[u8]) -> Option<Reply> {
        let msg: Incoming = match serde_json::from_slice(text) {
            Ok(m) => m,
            Err(e) => {
                // Valid JSON of the wrong shape is invalid params; anything else a parse error.
                return Some(plain(match serde_json::from_slice::<IdOnly>(text) {
                    Ok(m) => error(m.id, -32602, &format!("Invalid params: {e}")),
                    Err(_) => error(None, -32700, &format!("Parse error: {e}")),
                }));
            }
        };
        let (id, method) = (msg.id?, msg.method?);
        let params = msg.params;
        let reply = match method.as_ref() {
            "initialize" => {
                let asked = params.as_ref().and_then(|p| p.protocol_version.as_deref());
                let version = asked
                    .and_then(|a| VERSIONS.iter().find(|v| **v == a))
                    .unwrap_or(&VERSIONS[0]);
                let result = format!(
                    r#"{{"protocolVersion":"{version}","capabilities":{{"tools":{{}}}},"serverInfo":{{"name":"mcp-echo","version":"{}"}}}}"#,
                    env!("CARGO_PKG_VERSION")
                );
                return Some(Reply {
                    text: result_message(id, &result),
                    initialize: true,
                });
            }
            "ping" => result_message(id, "{}"),
            "tools/list" => self.list(id, params.as_ref().and_then(|p| p.cursor.as_deref())),
            "tools/call" => call(id, params.as_ref()),
            other => error(Some(id), -32601, &format!("Method not found: {other}")),
        };
        Some(plain(reply))
    }

    fn list(&self, id: &RawValue, cursor: Option<&str>) -> String {
        let start = match cursor.map(str::parse::<usize>) {
            None => 0,
            Some(Ok(n)) if n < self.tools.len() => n,
            Some(_) => return error(Some(id), -32602, "Invalid cursor"),
        };
        let end = match self.page_size {
            0 => self.tools.len(),
            n => (start + n).min(self.tools.len()),
        };
        let mut result = String::from(r#"{"tools":["#);
        for (i, t) in self.tools[start..end].iter().enumerate() {
            if i > 0 {
                result.push(',');
            }
            result.push_str(t);
        }
        result.push(']');
        if end < self.tools.len() {
            result.push_str(&format!(r#","nextCursor":"{end}""#));
        }
        result.push('}');
        result_message(id, &result)
    }
}

fn call(id: &RawValue, params: Option<&Params>) -> String {
    let Some(name) = params.and_then(|p| p.name.as_deref()) else {
        return error(Some(id), -32602, "tools/call needs a name");
    };
    let args = params.and_then(|p| p.arguments);
    if name != "echo" {
        return result_message(id, r#"{"content":[{"type":"text","text":"ok"}]}"#);
    }
    let message = args.and_then(|a| serde_json::from_str::<EchoArgs>(a.get()).ok());
    match message.map(|m| m.message.get()) {
        Some(raw) if raw.starts_with('"') => {
            let mut out = String::with_capacity(raw.len() + id.get().len() + 80);
            out.push_str(r#"{"jsonrpc":"2.0","id":"#);
            out.push_str(id.get());
            out.push_str(r#","result":{"content":[{"type":"text","text":"#);
            out.push_str(raw);
            out.push_str("}]}}");
            out
        }
        _ => result_message(
            id,
            r#"{"content":[{"type":"text","text":"echo: argument `message` must be a string"}],"isError":true}"#,
        ),
    }
}

fn plain(text: String) -> Reply {
    Reply {
        text,
        initialize: false,
    }
}

fn result_message(id: &RawValue, result: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":{},"result":{result}}}"#, id.get())
}

fn error(id: Option<&RawValue>, code: i64, message: &str) -> String {
    let id = id.map_or("null", RawValue::get);
    let message = serde_json::to_string(message).expect("strings serialise");
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":{code},"message":{message}}}}}"#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn ask(echo: &Echo, text: &str) -> Option<Value> {
        echo.handle(text.as_bytes())
            .map(|r| serde_json::from_str(&r.text).unwrap())
    }

    #[test]
    fn echo_returns_the_message_unchanged() {
        let e = Echo::new(0, 0);
        let v = ask(&e, r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"message":"h\u00e9\"llo"}}}"#).unwrap();
        assert_eq!(v["id"], "a");
        assert_eq!(v["result"]["content"][0]["text"], "hé\"llo");
        let v = ask(&e, r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":5}}}"#).unwrap();
        assert_eq!(v["result"]["isError"], true);
        assert!(ask(
            &e,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#
        )
        .is_none());
        let v = ask(&e, r#"{"jsonrpc":"2.0","id":3,"method":"nope"}"#).unwrap();
        assert_eq!(v["error"]["code"], -32601);
        let v = ask(
            &e,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":[1]}"#,
        )
        .unwrap();
        assert_eq!(
            (v["id"].clone(), v["error"]["code"].clone()),
            (4.into(), (-32602).into())
        );
    }

    #[test]
    fn initialize_negotiates_and_lists_paginate() {
        let e = Echo::new(5, 4);
        let r = e
            .handle(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#)
            .unwrap();
        assert!(r.initialize);
        let v: Value = serde_json::from_str(&r.text).unwrap();
        assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
        let p1 = ask(&e, r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
        assert_eq!(p1["result"]["tools"].as_array().unwrap().len(), 4);
        assert_eq!(p1["result"]["tools"][0]["name"], "echo");
        let cursor = p1["result"]["nextCursor"].as_str().unwrap();
        let p2 = ask(&e, &format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{"cursor":"{cursor}"}}}}"#)).unwrap();
        assert_eq!(p2["result"]["tools"].as_array().unwrap().len(), 2);
        assert!(p2["result"].get("nextCursor").is_none());
    }
}
