//! Raw JSON objects member by member: reading the members of one without a
//! parse ([`members`]), and editing one member without touching the others
//! ([`with_member`]: order, spacing of values and unknown members are kept).
//! What the walk finds is [`Valid`]: text checked once, never again.

use std::borrow::Cow;

use serde_json::value::RawValue;

use crate::json::skip_space;
use crate::Json;

/// The text of one JSON value known to be valid: a [`Json`]'s or a
/// [`RawValue`]'s, or a member's that [`members`] found inside one. Those
/// are the only ways to get one, so it can be written out as it is without
/// another check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Valid<'a>(pub(crate) &'a str);

impl<'a> Valid<'a> {
    pub fn get(self) -> &'a str {
        self.0
    }

    pub fn is_null(self) -> bool {
        self.0 == "null"
    }

    /// The string this value is, decoded; `None` for any other value.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        match self.0.as_bytes() {
            [b'"', ..] if !crate::json::has_escape(self.0) => {
                Some(Cow::Borrowed(&self.0[1..self.0.len() - 1]))
            }
            [b'"', ..] => serde_json::from_str(self.0).ok().map(Cow::Owned),
            _ => None,
        }
    }

    /// Its members, if it is an object (see [`members`]).
    pub fn members(self) -> Members<'a> {
        Members::of(self.0)
    }
}

impl<'a> From<&'a crate::Json> for Valid<'a> {
    fn from(json: &'a crate::Json) -> Valid<'a> {
        Valid(json.get())
    }
}

impl<'a> From<&'a RawValue> for Valid<'a> {
    fn from(raw: &'a RawValue) -> Valid<'a> {
        Valid(raw.get())
    }
}

impl<'a> From<&'a Box<RawValue>> for Valid<'a> {
    fn from(raw: &'a Box<RawValue>) -> Valid<'a> {
        Valid(raw.get())
    }
}

/// `object` with member `key` set to `value`: replaced in place when
/// present, appended otherwise. `None` when `object` is not an object.
pub fn with_member<'a>(
    object: impl Into<Valid<'a>>,
    key: &str,
    value: impl Into<Valid<'a>>,
) -> Option<Json> {
    with_member_at(object, &[key], value)
}

/// `object` with the member at `path` set to `value`: `["_meta",
/// "progressToken"]` sets `progressToken` inside the object's `_meta`, which
/// must be an object already (`None` otherwise, or when `path` is empty).
/// The walk does not parse, and the result is not checked again: it is put
/// together from checked text (the object's keys and values as written,
/// `value`) and a key serde_json wrote, so it is valid as it is.
pub fn with_member_at<'a>(
    object: impl Into<Valid<'a>>,
    path: &[&str],
    value: impl Into<Valid<'a>>,
) -> Option<Json> {
    set(object.into().0, path, value.into().0).map(Json::checked)
}

/// The member at `path` (see [`with_member_at`]); the first of a name given
/// twice.
pub fn member_at<'a>(object: impl Into<Valid<'a>>, path: &[&str]) -> Option<Valid<'a>> {
    let mut value = object.into();
    for key in path {
        value = value.members().find(|(k, _)| k == key)?.1;
    }
    Some(value)
}

/// `set` on checked text: each member's key and value copied as they are.
fn set(object: &str, path: &[&str], value: &str) -> Option<String> {
    let (key, rest) = path.split_first()?;
    let mut members = Members::of(object);
    if members.at == object.len() {
        return None; // not an object
    }
    let mut out = String::with_capacity(object.len() + value.len() + key.len() + 4);
    out.push('{');
    let mut replaced = false;
    while let Some((raw_key, v)) = members.next_raw() {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(raw_key);
        out.push(':');
        if !replaced && decoded(raw_key) == *key {
            match rest {
                [] => out.push_str(value),
                _ => out.push_str(&set(v, rest, value)?),
            }
            replaced = true;
        } else {
            out.push_str(v);
        }
    }
    if !replaced {
        if !rest.is_empty() {
            return None;
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        out.push_str(value);
    }
    out.push('}');
    Some(out)
}

/// The members of a JSON object as `(key, raw value text)`, in order; none
/// for anything but an object.
///
/// No parse: a [`Valid`] is JSON already, so the walk only finds
/// where each value ends, and jumps over strings with `memchr` (a 16 KiB
/// argument costs a few thousand instructions, against serde_json's two a
/// byte). Keys holding escapes are decoded.
pub fn members<'a>(object: impl Into<Valid<'a>>) -> Members<'a> {
    Members::of(object.into().0)
}

/// See [`members`].
pub struct Members<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Members<'a> {
    /// Over `text`, which must be valid JSON (a [`Valid`]'s).
    fn of(text: &'a str) -> Members<'a> {
        let at = skip_space(text.as_bytes(), 0);
        let at = match text.as_bytes().get(at) {
            Some(b'{') => at + 1,
            _ => text.len(),
        };
        Members { text, at }
    }

    /// The next member with its key as written (quotes and escapes kept).
    fn next_raw(&mut self) -> Option<(&'a str, &'a str)> {
        let b = self.text.as_bytes();
        let mut at = skip_space(b, self.at);
        if b.get(at) == Some(&b',') {
            at = skip_space(b, at + 1);
        }
        if b.get(at) != Some(&b'"') {
            // `}`: the end (or, in text that is no object, nothing more).
            self.at = self.text.len();
            return None;
        }
        let key_end = string_end(b, at);
        let key = &self.text[at..key_end];
        at = skip_space(b, key_end);
        if b.get(at) != Some(&b':') {
            self.at = self.text.len();
            return None;
        }
        let start = skip_space(b, at + 1);
        let end = value_end(b, start);
        self.at = end;
        Some((key, &self.text[start..end]))
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, Valid<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.next_raw()
            .map(|(key, value)| (decoded(key), Valid(value)))
    }
}

/// A key as written (`"a\u0062"`) as it reads (`ab`).
pub(crate) fn decoded(raw_key: &str) -> Cow<'_, str> {
    if crate::json::has_escape(raw_key) {
        Cow::Owned(serde_json::from_str(raw_key).unwrap_or_default())
    } else {
        Cow::Borrowed(&raw_key[1..raw_key.len() - 1])
    }
}

/// Just past the string opening at `b[at]` (a `"`).
fn string_end(b: &[u8], at: usize) -> usize {
    let mut i = at + 1;
    while let Some(k) = memchr::memchr2(b'"', b'\\', &b[i.min(b.len())..]) {
        if b[i + k] == b'"' {
            return i + k + 1;
        }
        i += k + 2; // an escape: the next byte is never the string's end
    }
    b.len()
}

/// Just past the value starting at `b[at]`.
fn value_end(b: &[u8], at: usize) -> usize {
    match b.get(at) {
        Some(b'"') => string_end(b, at),
        Some(b'{' | b'[') => {
            let (mut i, mut depth) = (at, 0usize);
            while let Some(&c) = b.get(i) {
                match c {
                    b'"' => {
                        i = string_end(b, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            b.len()
        }
        // A number, true, false or null.
        _ => {
            let mut i = at;
            while b
                .get(i)
                .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
            {
                i += 1;
            }
            i
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{json, Rng};

    #[test]
    fn replaces_in_place_keeping_order_and_values() {
        let o = json(r#"{"z":1.50,"name":"a","x-vendor":{"b":[1,2]}}"#);
        let got = with_member(&o, "name", &json(r#""srv__a""#)).unwrap();
        assert_eq!(
            got.get(),
            r#"{"z":1.50,"name":"srv__a","x-vendor":{"b":[1,2]}}"#
        );
        let added = with_member(&json("{}"), "k", &json("true")).unwrap();
        assert_eq!(added.get(), r#"{"k":true}"#);
        assert!(with_member(&json("[1]"), "k", &json("1")).is_none());
    }

    fn read(text: &str) -> Vec<(String, String)> {
        members(&json(text))
            .map(|(k, v)| (k.into_owned(), v.get().to_owned()))
            .collect()
    }

    #[test]
    fn members_are_read_in_order_with_their_raw_text() {
        let got = read(
            r#" { "name" : "a\"b" , "arguments":{"s":"}]\\","n":[1,{"x":"]"}]},
                 "k\u0065y":-1.5e3,"t":true,"z":null ,"e":{},"a":[]} "#,
        );
        let want = [
            ("name", r#""a\"b""#),
            ("arguments", r#"{"s":"}]\\","n":[1,{"x":"]"}]}"#),
            ("key", "-1.5e3"),
            ("t", "true"),
            ("z", "null"),
            ("e", "{}"),
            ("a", "[]"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(read("{}").is_empty());
        assert!(read(r#"["name",1]"#).is_empty(), "not an object");
        assert!(read(r#""{\"a\":1}""#).is_empty(), "a string");
        assert!(read("12").is_empty());
    }

    /// Objects to walk: the same ones on every run.
    impl Rng {
        /// Pieces that trip a careless scanner: escapes, brackets, commas, colons.
        fn string(&mut self) -> String {
            const PIECES: [&str; 11] = ["a", "\\", "\"", "}", "]", "{", ",", ":", "é", "\n", " "];
            let mut s: String = (0..self.below(6))
                .map(|_| PIECES[self.below(PIECES.len())])
                .collect();
            if self.below(8) == 0 {
                s.push_str(&"x".repeat(5_000));
            }
            s
        }

        fn value(&mut self, depth: u32) -> serde_json::Value {
            use serde_json::Value;
            match self.below(if depth > 2 { 5 } else { 7 }) {
                0 => Value::Null,
                1 => Value::Bool(self.below(2) == 1),
                2 => serde_json::json!(self.below(1000) as f64 / 8.0 - 60.0),
                3 | 4 => Value::String(self.string()),
                5 => Value::Array((0..self.below(4)).map(|_| self.value(depth + 1)).collect()),
                _ => Value::Object(self.object(depth + 1)),
            }
        }

        fn object(&mut self, depth: u32) -> serde_json::Map<String, serde_json::Value> {
            (0..self.below(5))
                .map(|_| (self.string(), self.value(depth)))
                .collect()
        }
    }

    /// Against serde_json: every generated object (nested values, escapes
    /// in keys and strings, long strings, compact or pretty) reads as
    /// serde_json reads it.
    #[test]
    fn members_agree_with_serde_json() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        for _ in 0..2_000 {
            let object = rng.object(0);
            let text = if rng.below(2) == 0 {
                serde_json::to_string(&object).unwrap()
            } else {
                serde_json::to_string_pretty(&object).unwrap()
            };
            let got: Vec<(String, serde_json::Value)> = members(&json(&text))
                .map(|(k, v)| (k.into_owned(), serde_json::from_str(v.get()).unwrap()))
                .collect();
            let want: Vec<(String, serde_json::Value)> = object.into_iter().collect();
            assert_eq!(got, want, "{text}");
        }
    }

    #[test]
    fn a_member_is_read_and_set_by_path() {
        let params = json(r#"{"arguments":{"a":1},"_m\u0065ta":{"progressToken":"p","k":[]}}"#);
        let at = |path: &[&str]| member_at(&params, path).map(Valid::get);
        assert_eq!(at(&["_meta", "progressToken"]), Some(r#""p""#));
        assert_eq!(at(&["arguments"]), Some(r#"{"a":1}"#));
        assert_eq!(at(&["_meta", "missing"]), None);
        assert_eq!(at(&["arguments", "a", "deeper"]), None);
        let set = with_member_at(&params, &["_meta", "progressToken"], &json("7")).unwrap();
        assert_eq!(
            set.get(),
            r#"{"arguments":{"a":1},"_m\u0065ta":{"progressToken":7,"k":[]}}"#,
            "in place, keys as written"
        );
        let added = with_member_at(&params, &["_meta", "new"], &json("true")).unwrap();
        assert_eq!(
            member_at(&added, &["_meta", "new"]).map(Valid::get),
            Some("true")
        );
        assert!(with_member_at(&params, &["nowhere", "x"], &json("1")).is_none());
        assert!(with_member_at(&params, &[], &json("1")).is_none());
        // On a member found by the walk: its text is edited on its own.
        let meta = member_at(&params, &["_meta"]).unwrap();
        let set = with_member_at(meta, &["progressToken"], &json("8")).unwrap();
        assert_eq!(set.get(), r#"{"progressToken":8,"k":[]}"#);
    }

    #[test]
    fn a_value_reads_as_a_string_only_when_it_is_one() {
        let object = json(r#"{"a":"plain","b":"tab\tand \u00e9","c":1,"d":null,"e":"\"q\""}"#);
        let got: Vec<(String, Option<String>, bool)> = members(&object)
            .map(|(k, v)| (k.into_owned(), v.as_str().map(Cow::into_owned), v.is_null()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".into(), Some("plain".into()), false),
                ("b".into(), Some("tab\tand é".into()), false),
                ("c".into(), None, false),
                ("d".into(), None, true),
                ("e".into(), Some("\"q\"".into()), false),
            ]
        );
    }

    /// `with_member` on generated objects does what setting a key on
    /// serde_json's own map does.
    #[test]
    fn with_member_agrees_with_serde_json() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..1_000 {
            let object = rng.object(0);
            let text = serde_json::to_string_pretty(&object).unwrap();
            // An existing key half the time, a new one otherwise.
            let key = match object.keys().nth(rng.below(4)) {
                Some(k) if rng.below(2) == 0 => k.clone(),
                _ => rng.string(),
            };
            let value = rng.value(1);
            let got = with_member(&json(&text), &key, &json(&value.to_string())).unwrap();
            let mut want = object;
            want.insert(key, value);
            let got: serde_json::Value = serde_json::from_str(got.get()).unwrap();
            assert_eq!(got, serde_json::Value::Object(want), "{text}");
        }
    }
}
