//! The JSON-RPC 2.0 envelope.
//!
//! Only `jsonrpc`, `id` and `method` are interpreted. `params`, `result` and
//! `error` are kept as JSON text ([`Json`]), checked once as the message is
//! read, and written back out unchanged.

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::chunks::{ChunkWriter, Chunks, Sink};
use crate::error::{codes, ErrorObject};
use crate::json::{self, Json, SyntaxError};
use crate::object::{decoded, Valid};
use crate::params::Params;

/// A JSON-RPC id: a string or an integer (never null, never fractional).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    Num(i64),
    Str(Box<str>),
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Num(n) => write!(f, "{n}"),
            Id::Str(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Num(n) => s.serialize_i64(*n),
            Id::Str(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Id;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or integer id")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Num(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v)
                    .map(Id::Num)
                    .map_err(|_| E::custom("id out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::Str(v.into()))
            }
        }
        d.deserialize_any(V)
    }
}

/// An id read straight from its (already validated) JSON text in the common
/// cases, a plain integer or a string without escapes: no second parser per
/// message. `None` sends anything else through serde.
fn plain_id(raw: &str) -> Option<Id> {
    match raw.as_bytes().first()? {
        b'"' if !json::has_escape(raw) => Some(Id::Str(raw[1..raw.len() - 1].into())),
        // serde_json reads `-0` as a float (refused as an id): so must we.
        b'-' | b'0'..=b'9' if raw != "-0" => raw.parse::<i64>().ok().map(Id::Num),
        _ => None,
    }
}

/// What a message is, judged by which members it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Notification,
    Response,
    Error,
}

/// One JSON-RPC message with its payload kept raw.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: Option<Id>,
    pub method: Option<Box<str>>,
    pub params: Option<Json>,
    pub result: Option<Json>,
    pub error: Option<Json>,
    /// Where `params` keep the members read on every call ([`Param`]), as
    /// [`Message::parse`] found them; `ParamsIndex::default()` (nothing
    /// known) for a message made any other way. It names the params it was
    /// made for, so a message rebuilt with other params is not indexed.
    pub index: ParamsIndex,
}

/// A member of a request's params that the gateway reads on every call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    Name,
    Arguments,
    Meta,
    Task,
}

impl Param {
    const ALL: [Param; 4] = [Param::Name, Param::Arguments, Param::Meta, Param::Task];

    fn key(self) -> &'static str {
        match self {
            Param::Name => "name",
            Param::Arguments => "arguments",
            Param::Meta => "_meta",
            Param::Task => "task",
        }
    }
}

/// Where the [`Param`]s of a message's params are, found by the walk that
/// checked them, so reading one later costs no second pass over a large
/// argument before it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ParamsIndex {
    /// The params text this is about: its address and length (0 when none
    /// is indexed).
    of: (usize, u32),
    /// Each param's start and length in that text; a length of 0 when it
    /// is absent (no JSON value is empty).
    at: [(u32, u32); 4],
    /// A bit per param given more than once.
    twice: u8,
}

impl ParamsIndex {
    /// The members of the params object `params` (checked, and a slice of
    /// the message's text), walked and checked here. Just past its end.
    fn walk(&mut self, text: &str, params: usize) -> Result<usize, SyntaxError> {
        let end = json::items(text, params, |key, value| {
            let key = decoded(key.unwrap_or_default());
            if let Some(i) = Param::ALL.iter().position(|p| p.key() == key) {
                if self.at[i].1 != 0 {
                    self.twice |= 1 << i;
                }
                let start = value.as_ptr() as usize - text[params..].as_ptr() as usize;
                self.at[i] = (start as u32, value.len() as u32);
            }
        })?;
        match u32::try_from(end - params) {
            Ok(len) => self.of = (text[params..].as_ptr() as usize, len),
            Err(_) => *self = ParamsIndex::default(), // 4 GiB of params: not indexed
        }
        Ok(end)
    }
}

/// The outcome of parsing one body or line: a message or a (2025-03-26) batch.
#[derive(Debug)]
pub enum Parsed {
    Single(Message),
    Batch(Vec<Result<Message, ParseError>>),
}

/// Why bytes are not a JSON-RPC message. Carries the id when it could be read,
/// so the error answer can reference the request.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ParseError {
    #[error("parse error: {0}")]
    Json(String),
    #[error("invalid request: {reason}")]
    Invalid { id: Option<Id>, reason: String },
}

impl ParseError {
    pub fn code(&self) -> i64 {
        match self {
            ParseError::Json(_) => codes::PARSE_ERROR,
            ParseError::Invalid { .. } => codes::INVALID_REQUEST,
        }
    }

    pub fn id(&self) -> Option<&Id> {
        match self {
            ParseError::Json(_) => None,
            ParseError::Invalid { id, .. } => id.as_ref(),
        }
    }

    /// The error response a peer should get for this input.
    pub fn to_response(&self) -> Message {
        Message::error(
            self.id().cloned(),
            &ErrorObject::new(self.code(), self.to_string()),
        )
    }
}

/// A message's members as read, before they are judged: the values' text
/// (`null` too; it reads as absent once judged).
#[derive(Default)]
struct Envelope<'a> {
    jsonrpc: Option<&'a str>,
    id: Option<&'a str>,
    method: Option<&'a str>,
    params: Option<&'a str>,
    result: Option<&'a str>,
    error: Option<&'a str>,
    /// The first of these members given twice.
    duplicate: Option<&'static str>,
    index: ParamsIndex,
}

impl<'a> Envelope<'a> {
    /// Walk the object `text` is, checking all of it; `Ok(None)` when it is
    /// JSON but not an object.
    fn read(text: &'a str) -> Result<Option<Envelope<'a>>, SyntaxError> {
        let b = text.as_bytes();
        let at = json::skip_space(b, 0);
        if b.get(at) != Some(&b'{') {
            return json::check(text).map(|()| None);
        }
        let mut env = Envelope::default();
        let end = json::items_by(text, at, |key, value| {
            let key = decoded(key.unwrap_or_default());
            let end = match b[value] {
                b'{' if key == "params" && env.params.is_none() => env.index.walk(text, value)?,
                _ => json::value_end(b, value)?,
            };
            env.put(&key, &text[value..end]);
            Ok(end)
        })?;
        json::at_end(b, end)?;
        Ok(Some(env))
    }

    /// Keep a member's value; other members are checked and left.
    fn put(&mut self, key: &str, value: &'a str) {
        let (name, slot) = match key {
            "jsonrpc" => ("jsonrpc", &mut self.jsonrpc),
            "id" => ("id", &mut self.id),
            "method" => ("method", &mut self.method),
            "params" => ("params", &mut self.params),
            "result" => ("result", &mut self.result),
            "error" => ("error", &mut self.error),
            _ => return,
        };
        if slot.is_some() {
            self.duplicate.get_or_insert(name);
        } else {
            *slot = Some(value);
        }
    }
}

/// The elements of the array `text` is (its `[` seen by the caller), each
/// checked.
fn elements(text: &str) -> Result<Vec<&str>, SyntaxError> {
    let b = text.as_bytes();
    let mut items = Vec::new();
    let end = json::items(text, json::skip_space(b, 0), |_, value| items.push(value))?;
    json::at_end(b, end)?;
    Ok(items)
}

/// What a message is read from. An owned buffer (`Bytes`, as hyper hands
/// over a body; a `Vec`; a `String`) becomes the message's text without a
/// copy; a borrowed one is copied.
pub trait Input {
    fn into_bytes(self) -> Bytes;
}

impl Input for Bytes {
    fn into_bytes(self) -> Bytes {
        self
    }
}

impl Input for Vec<u8> {
    fn into_bytes(self) -> Bytes {
        Bytes::from(self)
    }
}

impl Input for String {
    fn into_bytes(self) -> Bytes {
        Bytes::from(self)
    }
}

impl Input for &[u8] {
    fn into_bytes(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl<const N: usize> Input for &[u8; N] {
    fn into_bytes(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl Input for &str {
    fn into_bytes(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

/// The message as text: UTF-8 checked once for the whole message, which is
/// much cheaper than serde_json checking each string and raw value on its
/// own. The text is shared by the values found in it ([`Json`]).
fn utf8(body: impl Input) -> Result<ByteString, ParseError> {
    ByteString::try_from(body.into_bytes())
        .map_err(|e| ParseError::Json(format!("the message is not UTF-8 ({e})")))
}

impl Message {
    /// Parse one body: a message, or a batch (a JSON array of messages).
    pub fn parse(body: impl Input) -> Result<Parsed, ParseError> {
        let text = utf8(body)?;
        if text
            .trim_start_matches(|c: char| c.is_ascii_whitespace())
            .starts_with('[')
        {
            let items = elements(&text).map_err(|e| ParseError::Json(e.to_string()))?;
            if items.is_empty() {
                return Err(ParseError::Invalid {
                    id: None,
                    reason: "empty batch".into(),
                });
            }
            let batch = items
                .into_iter()
                .map(|item| Self::parse_text(&text, item))
                .collect();
            return Ok(Parsed::Batch(batch));
        }
        Self::parse_text(&text, &text).map(Parsed::Single)
    }

    /// Parse exactly one message (a batch is an invalid request here).
    pub fn parse_one(body: impl Input) -> Result<Message, ParseError> {
        let text = utf8(body)?;
        Self::parse_text(&text, &text)
    }

    /// The message `text` is, a part of the body `whole` (all of it, or an
    /// element of a batch).
    fn parse_text(whole: &ByteString, text: &str) -> Result<Message, ParseError> {
        let env = Envelope::read(text)
            .map_err(|e| ParseError::Json(e.to_string()))?
            .ok_or_else(|| ParseError::Invalid {
                id: None,
                reason: "a message must be a JSON object".into(),
            })?;
        fn present(value: Option<&str>) -> Option<&str> {
            value.filter(|v| *v != "null")
        }
        let id = match present(env.id) {
            None => None,
            Some(raw) => Some(
                plain_id(raw)
                    .map_or_else(|| serde_json::from_str::<Id>(raw), Ok)
                    .map_err(|_| ParseError::Invalid {
                        id: None,
                        reason: format!("id must be a string or an integer, got {raw}"),
                    })?,
            ),
        };
        let invalid = |id: Option<Id>, reason: &str| ParseError::Invalid {
            id,
            reason: reason.to_owned(),
        };
        if let Some(name) = env.duplicate {
            return Err(invalid(id, &format!("\"{name}\" is given twice")));
        }
        match env.jsonrpc {
            Some("\"2.0\"") => {}
            _ => return Err(invalid(id, "\"jsonrpc\" must be \"2.0\"")),
        }
        let method = match present(env.method) {
            None => None,
            Some(raw) => Some(
                Valid(raw)
                    .as_str()
                    .map(Box::from)
                    .ok_or_else(|| invalid(id.clone(), "\"method\" must be a string"))?,
            ),
        };
        let msg = Message {
            id,
            method,
            params: present(env.params).map(|v| Json::within(whole, v)),
            result: present(env.result).map(|v| Json::within(whole, v)),
            error: present(env.error).map(|v| Json::within(whole, v)),
            index: env.index,
        };
        match (&msg.method, &msg.result, &msg.error) {
            (Some(m), None, None) if m.is_empty() => Err(invalid(msg.id, "empty method")),
            (Some(_), None, None) => Ok(msg),
            (None, Some(_), None) | (None, None, Some(_)) if msg.id.is_some() => Ok(msg),
            // An error about an unparseable request legitimately has id null.
            (None, None, Some(_)) => Ok(msg),
            _ => Err(invalid(
                msg.id,
                "a message needs a method, or an id with exactly one of result and error",
            )),
        }
    }

    /// The params to send on as they are: with their `_meta` when the
    /// parse found where it is.
    pub fn sent_params(&self) -> Option<Params<'_>> {
        let params = self.params.as_ref()?;
        Some(match self.param(Param::Meta) {
            Some(meta) => Params::Sent(params, meta),
            None => Params::Raw(params),
        })
    }

    /// A [`Param`] of the params as [`Message::parse`] found it:
    /// `Some(None)` when the params lack it, `None` when that is not known
    /// here (a message not parsed, params that are not an object, or that
    /// give it twice).
    pub fn param(&self, which: Param) -> Option<Option<Valid<'_>>> {
        let params = self.params.as_ref()?.get();
        let bit = 1 << which as u8;
        let index = &self.index;
        if (params.as_ptr() as usize, params.len()) != (index.of.0, index.of.1 as usize)
            || index.twice & bit != 0
        {
            return None;
        }
        let (start, len) = index.at[which as usize];
        let (start, len) = (start as usize, len as usize);
        Some((len != 0).then(|| Valid(&params[start..start + len])))
    }

    pub fn kind(&self) -> Kind {
        match (&self.method, &self.id, &self.error) {
            (Some(_), Some(_), _) => Kind::Request,
            (Some(_), None, _) => Kind::Notification,
            (None, _, Some(_)) => Kind::Error,
            (None, _, None) => Kind::Response,
        }
    }

    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("")
    }

    pub fn request(id: Id, method: &str, params: Option<Json>) -> Message {
        Message {
            id: Some(id),
            method: Some(method.into()),
            params,
            result: None,
            error: None,
            index: ParamsIndex::default(),
        }
    }

    pub fn notification(method: &str, params: Option<Json>) -> Message {
        Message {
            id: None,
            method: Some(method.into()),
            params,
            result: None,
            error: None,
            index: ParamsIndex::default(),
        }
    }

    pub fn response(id: Id, result: Json) -> Message {
        Message {
            id: Some(id),
            method: None,
            params: None,
            result: Some(result),
            error: None,
            index: ParamsIndex::default(),
        }
    }

    pub fn error(id: Option<Id>, error: &ErrorObject) -> Message {
        Message::error_raw(id, error.to_raw())
    }

    /// An error response whose error object is JSON already (a backend's,
    /// or one the gateway wrote).
    pub fn error_raw(id: Option<Id>, error: Json) -> Message {
        Message {
            id,
            method: None,
            params: None,
            result: None,
            error: Some(error),
            index: ParamsIndex::default(),
        }
    }

    /// The typed error object of an error response.
    pub fn error_object(&self) -> Option<ErrorObject> {
        self.error
            .as_ref()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
    }

    /// Deserialize `params` (absent params read as `{}`).
    pub fn parse_params<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.params.as_ref().map_or("{}", Json::get))
    }

    /// The same message borrowed, for writing it out.
    pub fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            id: self.id.as_ref(),
            method: self.method.as_deref(),
            params: self.params.as_ref().map(Params::Raw),
            result: self.result.as_ref(),
            error: self.error.as_ref(),
        }
    }

    /// Serialise into `out` without reformatting the raw members.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.outgoing().write_to(out)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.outgoing().to_bytes()
    }

    /// See [`Outgoing::to_chunks`].
    pub fn to_chunks(&self) -> Chunks {
        self.outgoing().to_chunks()
    }

    pub fn to_json_string(&self) -> String {
        self.outgoing().to_json_string()
    }
}

/// A message to be written, its parts borrowed: a request can go out
/// without first copying its params into a [`Message`].
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub id: Option<&'a Id>,
    pub method: Option<&'a str>,
    pub params: Option<Params<'a>>,
    pub result: Option<&'a Json>,
    pub error: Option<&'a Json>,
}

impl<'a> Outgoing<'a> {
    pub fn request(id: &'a Id, method: &'a str, params: Option<Params<'a>>) -> Self {
        Outgoing {
            id: Some(id),
            method: Some(method),
            params,
            result: None,
            error: None,
        }
    }

    pub fn method(&self) -> &'a str {
        self.method.unwrap_or("")
    }

    /// Serialise into `out` without reformatting the raw members.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        self.write_into(out)
    }

    /// The message as parts for a vectored write: a large result, error or
    /// params value is shared with the message it was read from, not
    /// copied ([`Chunks`]).
    pub fn to_chunks(&self) -> Chunks {
        let mut out = ChunkWriter::with_capacity(128);
        self.write_into(&mut out);
        out.finish()
    }

    /// The same and a newline (NDJSON framing).
    pub fn to_line_chunks(&self) -> Chunks {
        let mut out = ChunkWriter::with_capacity(128);
        self.write_into(&mut out);
        out.buf().push(b'\n');
        out.finish()
    }

    fn write_into(&self, out: &mut impl Sink) {
        let buf = out.buf();
        buf.extend_from_slice(br#"{"jsonrpc":"2.0""#);
        if let Some(id) = self.id {
            buf.extend_from_slice(br#","id":"#);
            write_json(buf, id);
        } else if self.method.is_none() {
            buf.extend_from_slice(br#","id":null"#);
        }
        if let Some(m) = self.method {
            buf.extend_from_slice(br#","method":"#);
            write_json(buf, m);
        }
        if let Some(params) = self.params {
            buf.extend_from_slice(br#","params":"#);
            params.write_into(out);
        }
        for (key, raw) in [
            (&br#","result":"#[..], self.result),
            (br#","error":"#, self.error),
        ] {
            if let Some(raw) = raw {
                out.buf().extend_from_slice(key);
                out.value(raw.get(), Some(raw));
            }
        }
        out.buf().push(b'}');
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len_hint());
        self.write_to(&mut out);
        out
    }

    pub fn to_json_string(&self) -> String {
        // write_to only emits valid UTF-8: raw values are &str and the rest is ASCII/JSON.
        String::from_utf8(self.to_bytes()).expect("JSON is UTF-8")
    }

    fn len_hint(&self) -> usize {
        let raw = |r: Option<&Json>| r.map_or(0, |r| r.get().len());
        let params = self.params.map_or(0, Params::len_hint);
        64 + self.method.map_or(0, str::len) + params + raw(self.result) + raw(self.error)
    }
}

fn write_json(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Ids and method names always serialise.
    serde_json::to_writer(out, value).expect("serialisable");
}

/// Serialise a value to JSON text (for results the gateway builds itself).
pub fn raw(value: &impl Serialize) -> Json {
    Json::to(value).expect("gateway-built values serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Message {
        match Message::parse(s.as_bytes()).unwrap() {
            Parsed::Single(m) => m,
            Parsed::Batch(_) => panic!("batch"),
        }
    }

    #[test]
    fn round_trip_keeps_unknown_members_of_params_and_result() {
        let input = r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"hologram","x":{"y":[1,2.50,null]}}],"_meta":{"a":1}}}"#;
        let m = one(input);
        assert_eq!(m.kind(), Kind::Response);
        assert_eq!(m.to_json_string(), input);
    }

    #[test]
    fn ids_read_without_serde_match_ids_read_with_it() {
        let raws = [
            "0",
            "-0",
            "7",
            "-42",
            "9223372036854775807",
            "-9223372036854775808",
            r#""a""#,
            r#""""#,
            r#""é x""#,
            r#""a\"b""#,
            r#""\u0041""#,
            "18446744073709551615",
            "1.5",
            "1e3",
            "true",
            "[1]",
            "{}",
        ];
        for raw in raws {
            let by_serde = serde_json::from_str::<Id>(raw).ok();
            let text = format!(r#"{{"jsonrpc":"2.0","id":{raw},"method":"m"}}"#);
            let parsed = Message::parse_one(text.as_bytes());
            assert_eq!(parsed.ok().and_then(|m| m.id), by_serde, "{raw}");
        }
        assert_eq!(plain_id(r#""a\"b""#), None, "escapes go through serde");
        assert_eq!(plain_id("12"), Some(Id::Num(12)));
    }

    #[test]
    fn request_notification_and_error_kinds() {
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#).kind(),
            Kind::Request
        );
        assert_eq!(
            one(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).kind(),
            Kind::Notification
        );
        let e = one(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}}"#);
        assert_eq!(e.kind(), Kind::Error);
        assert_eq!(e.error_object().unwrap().code, -32700);
    }

    #[test]
    fn malformed_inputs_get_the_right_codes() {
        let check = |s: &str, code: i64| {
            let err = Message::parse(s.as_bytes()).unwrap_err();
            assert_eq!(err.code(), code, "{s}: {err}");
        };
        check("not json", codes::PARSE_ERROR);
        check(r#"{"jsonrpc":"2.0","id":1"#, codes::PARSE_ERROR);
        check(r#"{"id":1,"method":"x"}"#, codes::INVALID_REQUEST);
        check(
            r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
            codes::INVALID_REQUEST,
        );
        check(
            r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
            codes::INVALID_REQUEST,
        );
        check(r#"{"jsonrpc":"2.0","id":1}"#, codes::INVALID_REQUEST);
        check(r#"{"jsonrpc":"2.0","method":5}"#, codes::INVALID_REQUEST);
        check("[]", codes::INVALID_REQUEST);
        // Not UTF-8, inside a string or out of it, alone or in a batch.
        for bytes in [
            &b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\xffb\"}"[..],
            b"\xfe",
            b"[{\"jsonrpc\":\"2.0\",\"method\":\"\xc3\"}]",
        ] {
            let err = Message::parse(bytes).unwrap_err();
            assert_eq!(err.code(), codes::PARSE_ERROR, "{err}");
            assert!(err.to_string().contains("not UTF-8"), "{err}");
        }
        let ok = Message::parse_one("{\"jsonrpc\":\"2.0\",\"method\":\"é\"}".as_bytes());
        assert_eq!(ok.unwrap().method(), "é");
    }

    /// Whether a value's text lies in `body`'s buffer (moved, not copied).
    fn inside(body: &[u8]) -> impl Fn(&Json) -> bool {
        let buffer = body.as_ptr_range();
        let buffer = buffer.start as usize..buffer.end as usize;
        move |json| buffer.contains(&(json.get().as_ptr() as usize))
    }

    #[test]
    fn the_values_of_a_message_are_ranges_of_its_text_not_copies() {
        let body = br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"#.to_vec();
        let within = inside(&body);
        let msg = Message::parse_one(body).unwrap();
        let params = msg.params.as_ref().unwrap();
        assert_eq!(
            params.get(),
            r#"{"name":"echo","arguments":{"message":"hi"}}"#
        );
        assert!(within(params), "params were copied out of the body");
        // Every message of a batch shares the one body too.
        let body = br#"[{"jsonrpc":"2.0","id":1,"result":{"a":1}},{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"m"}}]"#.to_vec();
        let within = inside(&body);
        let Parsed::Batch(items) = Message::parse(body).unwrap() else {
            panic!("a batch")
        };
        let [Ok(first), Ok(second)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(first.result.as_ref().unwrap().get(), r#"{"a":1}"#);
        assert!(within(first.result.as_ref().unwrap()));
        assert_eq!(
            second.error.as_ref().unwrap().get(),
            r#"{"code":1,"message":"m"}"#
        );
        assert!(within(second.error.as_ref().unwrap()));
        // A value outlives the message it was found in, and compares by its text.
        let result = first.result.clone().unwrap();
        drop(items);
        assert_eq!(result, Json::parse(r#" {"a":1} "#).unwrap());
    }

    #[test]
    fn the_params_read_on_every_call_are_found_as_the_message_is_checked() {
        let msg = Message::parse_one(
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo",
            "arguments":{"s":"\"}"},"\u005fmeta":{"k":1},"other":[1,{"task":2}]}}"#,
        )
        .unwrap();
        let got = |p| msg.param(p).map(|v| v.map(Valid::get));
        assert_eq!(got(Param::Name), Some(Some(r#""echo""#)));
        assert_eq!(got(Param::Arguments), Some(Some(r#"{"s":"\"}"}"#)));
        assert_eq!(
            got(Param::Meta),
            Some(Some(r#"{"k":1}"#)),
            "an escaped key is its name"
        );
        assert_eq!(
            got(Param::Task),
            Some(None),
            "a nested \"task\" is not the params'"
        );

        // A member given twice is not known here: the caller's own walk refuses it.
        let twice = Message::parse_one(
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"name":"a","name":"b","task":{}}}"#,
        )
        .unwrap();
        assert_eq!(twice.param(Param::Name), None);
        assert_eq!(twice.param(Param::Task).unwrap().unwrap().get(), "{}");

        // Nothing is known of params that are not an object, of a message
        // made here, or of one rebuilt with other params.
        let array = Message::parse_one(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}"#);
        assert_eq!(array.unwrap().param(Param::Name), None);
        let made = Message::request(
            Id::Num(1),
            "m",
            Some(Json::parse(r#"{"name":"a"}"#).unwrap()),
        );
        assert_eq!(made.param(Param::Name), None);
        let rebuilt = Message {
            params: Some(Json::parse(r#"{"name":"echo","task":{}}"#).unwrap()),
            ..msg.clone()
        };
        assert_eq!(rebuilt.param(Param::Task), None);
        assert!(msg.param(Param::Name).is_some());
    }

    #[test]
    fn a_body_that_shares_a_larger_buffer_is_read_in_place() {
        // As hyper hands over a body: a slice of the connection's read
        // buffer, which other slices (the next request) share.
        let buffer = Bytes::from(
            br#"POST{"jsonrpc":"2.0","id":1,"method":"m","params":{"k":[1,2]}}NEXT"#.to_vec(),
        );
        let within = inside(&buffer);
        let body = buffer.slice(4..buffer.len() - 4);
        let next = buffer.slice(buffer.len() - 4..);
        let msg = Message::parse_one(body).unwrap();
        let params = msg.params.as_ref().unwrap();
        assert_eq!(params.get(), r#"{"k":[1,2]}"#);
        assert!(within(params), "params were copied out of the buffer");
        assert_eq!(&next[..], b"NEXT");
    }

    #[test]
    fn a_large_value_is_written_as_a_part_of_its_own_and_shared() {
        let big = format!(r#"{{"text":"{}"}}"#, "x".repeat(crate::chunks::SHARE_FROM));
        let answer =
            Message::parse_one(format!(r#"{{"jsonrpc":"2.0","id":"a","result":{big}}}"#)).unwrap();
        let result = answer.result.clone().unwrap();
        let response = Message::response(Id::Num(3), result.clone());
        let mut line = response.outgoing().to_line_chunks();
        let mut whole = response.to_bytes();
        whole.push(b'\n');
        assert_eq!(line.len(), whole.len());
        let mut parts = Vec::new();
        while let Some(part) = line.pop_front() {
            parts.push(part);
        }
        assert_eq!(parts.concat(), whole);
        assert_eq!(parts.len(), 3, "envelope, result, brace and newline");
        assert_eq!(
            parts[1].as_ptr(),
            result.get().as_ptr(),
            "the result was copied"
        );
        assert_eq!(&parts[2][..], b"}\n");

        // Below the size, a value is copied into the envelope's part.
        let small = Message::response(Id::Num(3), Json::parse(r#"{"a":1}"#).unwrap());
        let chunks = small.to_chunks();
        assert_eq!(chunks.to_vec(), small.to_bytes());
        assert_eq!(chunks.clone().pop_front().unwrap().len(), chunks.len());

        // A composed call shares its arguments with the params they were found in.
        let sent = Json::parse(format!(r#"{{"arguments":{big}}}"#)).unwrap();
        let (_, arguments) = crate::object::members(&sent).next().unwrap();
        let call = |within| {
            Params::Call(crate::Call {
                name: "echo",
                arguments: Some(arguments),
                meta: None,
                task: None,
                within,
            })
        };
        let id = Id::Num(1);
        let shared = Outgoing::request(&id, "tools/call", Some(call(Some(&sent)))).to_chunks();
        let copied = Outgoing::request(&id, "tools/call", Some(call(None))).to_chunks();
        assert_eq!(shared.to_vec(), copied.to_vec());
        let mut shared = shared;
        shared.pop_front();
        assert_eq!(
            shared.pop_front().unwrap().as_ptr(),
            arguments.get().as_ptr()
        );
        assert_eq!(copied.clone().pop_front().unwrap().len(), copied.len());
    }

    #[test]
    fn the_envelope_is_read_member_by_member() {
        // Keys as they read, a method's escapes decoded, members kept as written.
        let m = one(
            r#"{ "jsonrpc" : "2.0", "\u0069d":3, "method":"tools\/call", "params" : { "a" : [1, 2.50] }, "x-ext": {"k": [null]} }"#,
        );
        assert_eq!(m.id, Some(Id::Num(3)));
        assert_eq!(m.method(), "tools/call");
        assert_eq!(
            m.params.as_ref().map(Json::get),
            Some(r#"{ "a" : [1, 2.50] }"#)
        );
        // `null` reads as absent.
        let m = one(r#"{"jsonrpc":"2.0","id":null,"method":"m","params":null}"#);
        assert_eq!((m.id, m.params), (None, None));
        let code = |s: &str| Message::parse(s.as_bytes()).unwrap_err();
        let twice = code(r#"{"jsonrpc":"2.0","id":1,"method":"a","method":"b"}"#);
        assert_eq!(twice.code(), codes::INVALID_REQUEST);
        assert!(
            twice.to_string().contains(r#""method" is given twice"#),
            "{twice}"
        );
        assert_eq!(twice.id(), Some(&Id::Num(1)));
        let null_first = code(r#"{"jsonrpc":"2.0","params":null,"method":"a","params":{}}"#);
        assert!(null_first
            .to_string()
            .contains(r#""params" is given twice"#));
        for not_an_object in ["5", r#""m""#, "null"] {
            let err = code(not_an_object);
            assert_eq!(err.code(), codes::INVALID_REQUEST, "{not_an_object}");
        }
        // Not JSON anywhere is a parse error, even after a member that
        // would make it an invalid request, and in members no one reads.
        for broken in [
            r#"{"jsonrpc":"2.0","method":5,"#,
            r#"{"jsonrpc":"2.0","method":"m","x":[1,]}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":{"a":"\q"}}"#,
            r#"{"jsonrpc":"2.0","method":"m"} {}"#,
            r#"[{"jsonrpc":"2.0","method":"m"},]"#,
        ] {
            let err = code(broken);
            assert_eq!(err.code(), codes::PARSE_ERROR, "{broken}: {err}");
            assert!(err.to_string().contains(" at line 1 column "), "{err}");
        }
    }

    /// Every broken text reads as a parse error, and every text that is
    /// JSON as something else: one or two bytes changed, inserted or cut
    /// in messages, judged against serde_json.
    #[test]
    fn only_what_is_not_json_is_a_parse_error() {
        const SEEDS: [&str; 4] = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"s":"x\"}]\\","n":[1,-2.5e3,true,null]}}}"#,
            r#"{"jsonrpc":"2.0","id":"k","result":{"content":[{"type":"text","text":"\u00e9\n"}]}}"#,
            r#"[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":""}}]"#,
            "{\n  \"jsonrpc\" : \"2.0\" ,\n  \"id\" : 10 , \"method\" : \"ping\"\n}",
        ];
        let mut rng = crate::testing::Rng(0x9e37_79b9_7f4a_7c15);
        for seed in SEEDS {
            assert!(Message::parse(seed.as_bytes()).is_ok(), "{seed}");
            for _ in 0..3_000 {
                let Some(text) = rng.mutated(seed) else {
                    continue;
                };
                let json = serde_json::from_str::<&serde_json::value::RawValue>(&text).is_ok();
                let parse_error =
                    Message::parse(text.as_bytes()).is_err_and(|e| e.code() == codes::PARSE_ERROR);
                assert_eq!(parse_error, !json, "{text:?}");
            }
        }
    }

    #[test]
    fn invalid_request_keeps_the_id_for_the_answer() {
        let err = Message::parse(br#"{"jsonrpc":"1.0","id":"k","method":"x"}"#).unwrap_err();
        let answer = err.to_response().to_json_string();
        assert!(answer.starts_with(r#"{"jsonrpc":"2.0","id":"k","error":{"code":-32600"#));
    }

    #[test]
    fn batches_parse_each_member() {
        let Parsed::Batch(items) =
            Message::parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}, 5]"#).unwrap()
        else {
            panic!("expected batch")
        };
        assert!(items[0].is_ok());
        assert!(items[1].is_err());
    }

    #[test]
    fn a_borrowed_request_writes_what_the_owned_one_writes() {
        let params = Json::parse(r#"{"name":"x","arguments":{"a":[1,2.50]}}"#).unwrap();
        let owned = Message::request(Id::Num(7), "tools/call", Some(params.clone()));
        let borrowed = Outgoing::request(&Id::Num(7), "tools/call", Some(Params::Raw(&params)));
        assert_eq!(borrowed.to_bytes(), owned.to_bytes());
        assert_eq!(owned.outgoing().to_bytes(), owned.to_bytes());
        let mut line = owned.to_bytes();
        line.push(b'\n');
        assert_eq!(borrowed.to_line_chunks().to_vec(), line);
        assert_eq!(borrowed.method(), "tools/call");
    }

    #[test]
    fn error_with_null_id_serialises_null() {
        let m = Message::error(None, &ErrorObject::new(-32700, "bad"));
        assert_eq!(
            m.to_json_string(),
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#
        );
    }
}
