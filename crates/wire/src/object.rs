//! Raw JSON objects member by member: reading the members of one without a
//! parse ([`members`]), and editing one member without touching the others
//! ([`with_member`]: order, spacing of values and unknown members are kept).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Entries<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Entries<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `object` with member `key` set to `value` (raw JSON): replaced in place
/// when present, appended otherwise. `None` when `object` is not an object.
pub fn with_member(object: &RawValue, key: &str, value: &RawValue) -> Option<Box<RawValue>> {
    let Entries(entries) = serde_json::from_str(object.get()).ok()?;
    let mut out = String::with_capacity(object.get().len() + value.get().len());
    out.push('{');
    let mut replaced = false;
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(k).ok()?);
        out.push(':');
        if k == key && !replaced {
            out.push_str(value.get());
            replaced = true;
        } else {
            out.push_str(v.get());
        }
    }
    if !replaced {
        if !entries.is_empty() {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key).ok()?);
        out.push(':');
        out.push_str(value.get());
    }
    out.push('}');
    RawValue::from_string(out).ok()
}

/// The members of a JSON object as `(key, raw value text)`, in order; none
/// for anything but an object.
///
/// No parse: a [`RawValue`] is valid JSON already, so the walk only finds
/// where each value ends, and jumps over strings with `memchr` (a 16 KiB
/// argument costs a few hundred instructions instead of serde_json's two
/// a byte). Keys holding escapes are decoded.
pub fn members(object: &RawValue) -> Members<'_> {
    let text = object.get();
    let at = skip_space(text.as_bytes(), 0);
    let at = match text.as_bytes().get(at) {
        Some(b'{') => at + 1,
        _ => text.len(),
    };
    Members { text, at }
}

/// See [`members`].
pub struct Members<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (Cow<'a, str>, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
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
        let key = if key.contains('\\') {
            Cow::Owned(serde_json::from_str(key).unwrap_or_default())
        } else {
            Cow::Borrowed(&key[1..key.len() - 1])
        };
        Some((key, &self.text[start..end]))
    }
}

fn skip_space(b: &[u8], mut at: usize) -> usize {
    while b.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
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

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_owned()).unwrap()
    }

    #[test]
    fn replaces_in_place_keeping_order_and_values() {
        let o = raw(r#"{"z":1.50,"name":"a","x-vendor":{"b":[1,2]}}"#);
        let got = with_member(&o, "name", &raw(r#""srv__a""#)).unwrap();
        assert_eq!(
            got.get(),
            r#"{"z":1.50,"name":"srv__a","x-vendor":{"b":[1,2]}}"#
        );
        let added = with_member(&raw("{}"), "k", &raw("true")).unwrap();
        assert_eq!(added.get(), r#"{"k":true}"#);
        assert!(with_member(&raw("[1]"), "k", &raw("1")).is_none());
    }

    fn read(text: &str) -> Vec<(String, String)> {
        members(&raw(text))
            .map(|(k, v)| (k.into_owned(), v.to_owned()))
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

    /// A tiny xorshift generator: the same objects on every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        /// Pieces that trip a careless scanner: escapes, brackets, commas, colons.
        fn string(&mut self) -> String {
            const PIECES: [&str; 11] = ["a", "\\", "\"", "}", "]", "{", ",", ":", "é", "\n", " "];
            let mut s: String = (0..self.below(6))
                .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
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
            let got: Vec<(String, serde_json::Value)> = members(&raw(&text))
                .map(|(k, v)| (k.into_owned(), serde_json::from_str(v).unwrap()))
                .collect();
            let want: Vec<(String, serde_json::Value)> = object.into_iter().collect();
            assert_eq!(got, want, "{text}");
        }
    }
}
