//! JSON text checked once, and owned: [`Json`], and the checker that makes
//! one ([`check`]).
//!
//! serde_json checks a `RawValue` by finding where each string ends eight
//! bytes at a time, about two instructions a byte; it cannot take text it
//! has checked before without checking it again. Here a long string's end
//! is found with `memchr` and its control characters by a fold the
//! compiler vectorizes, a fraction of those instructions (a 16 KiB call
//! costs a quarter fewer in all: BENCHMARKS.md, "The eighth pass"), and a
//! [`Json`] goes on from the envelope to the backend and back without a
//! second look, and without a copy: the values found in a message are
//! slices of its text, which is the buffer the message was read into.

use std::fmt;

use bytes::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::object::Valid;

/// One JSON value as text, known to be valid: checked by [`Json::parse`],
/// found inside a message [`crate::Message::parse`] checked, or written by
/// serde_json.
///
/// The text may be shared: a value found in a message is a slice of the
/// message's text, which it keeps alive (cloning one is cheap).
#[derive(Clone)]
pub struct Json {
    text: ByteString,
}

impl Json {
    /// `text` if it is one JSON value; whitespace around it is allowed, and
    /// left out.
    pub fn parse(text: impl Into<String>) -> Result<Json, SyntaxError> {
        let text = text.into();
        check(&text)?;
        let whole = ByteString::from(text);
        let value = whole.trim_matches([' ', '\n', '\r', '\t']);
        Ok(Json {
            text: whole.slice_ref(value),
        })
    }

    /// `value` as serde_json writes it.
    pub fn to(value: &(impl Serialize + ?Sized)) -> Result<Json, serde_json::Error> {
        serde_json::to_string(value).map(Json::checked)
    }

    /// Text this crate checked (a value on its own) or put together from
    /// checked parts (an edited object).
    pub(crate) fn checked(text: impl Into<String>) -> Json {
        Json {
            text: ByteString::from(text.into()),
        }
    }

    /// The value `part` is, inside the checked `text` it was found in (a
    /// slice of it: where it starts is told by its address).
    pub(crate) fn within(text: &ByteString, part: &str) -> Json {
        assert!(
            contains(text, part),
            "a value is a slice of the text it was found in"
        );
        Json {
            text: text.slice_ref(part),
        }
    }

    pub fn get(&self) -> &str {
        &self.text
    }

    /// `part` of this value's text (a member found in it, say) as bytes
    /// that share the text rather than copy it; `None` if `part` lies
    /// elsewhere.
    pub fn share(&self, part: &str) -> Option<Bytes> {
        contains(&self.text, part).then(|| self.text.as_bytes().slice_ref(part.as_bytes()))
    }

    pub fn as_valid(&self) -> Valid<'_> {
        Valid::from(self)
    }
}

/// Whether `part` is a slice of `text` (by address, not by content).
fn contains(text: &str, part: &str) -> bool {
    let start = text.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    at >= start && at + part.len() <= start + text.len()
}

impl From<Box<RawValue>> for Json {
    fn from(raw: Box<RawValue>) -> Json {
        Json::checked(String::from(Box::<str>::from(raw)))
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Json {}

impl fmt::Debug for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// Written as the JSON it is. serde has no way to hand a serializer raw
/// text but serde_json's `RawValue`, which checks it again: the gateway's
/// hot paths write a [`Json`] with [`crate::Outgoing`] instead.
impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

/// Read from serde_json as a `RawValue` is, which serde_json checks: for
/// JSON inside structures serde reads (a tool's schema in a listing).
impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        Box::<RawValue>::deserialize(d).map(Json::from)
    }
}

/// Where and why text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at line {line} column {column}")]
pub struct SyntaxError {
    pub what: &'static str,
    pub line: usize,
    pub column: usize,
}

impl SyntaxError {
    pub(crate) fn at(text: &[u8], at: usize, what: &'static str) -> SyntaxError {
        let before = &text[..at.min(text.len())];
        let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
        SyntaxError {
            what,
            line: 1 + memchr::memchr_iter(b'\n', before).count(),
            column: 1 + before.len() - line_start,
        }
    }
}

/// `text` is one JSON value, with nothing but whitespace around it.
pub fn check(text: &str) -> Result<(), SyntaxError> {
    let b = text.as_bytes();
    let end = value_end(b, skip_space(b, 0))?;
    at_end(b, end)
}

/// Nothing but whitespace from `at` on.
pub(crate) fn at_end(b: &[u8], at: usize) -> Result<(), SyntaxError> {
    let at = skip_space(b, at);
    if at == b.len() {
        Ok(())
    } else {
        Err(SyntaxError::at(b, at, "trailing characters"))
    }
}

/// The first byte from `at` on that is not JSON whitespace.
pub(crate) fn skip_space(b: &[u8], mut at: usize) -> usize {
    while matches!(b.get(at), Some(b' ' | b'\n' | b'\r' | b'\t')) {
        at += 1;
    }
    at
}

/// Just past the value that starts at `b[at]`, once it is checked. Nesting
/// is followed with a stack of open brackets, not recursion, so no depth is
/// too deep (a message's size is bounded before it gets here).
pub(crate) fn value_end(b: &[u8], mut at: usize) -> Result<usize, SyntaxError> {
    let mut open = Open::default();
    loop {
        // A value starts here.
        match b.get(at) {
            Some(b'"') => at = string_end(b, at)?,
            Some(&bracket @ (b'{' | b'[')) => {
                let close = if bracket == b'{' { b'}' } else { b']' };
                at = skip_space(b, at + 1);
                if b.get(at) == Some(&close) {
                    at += 1;
                } else {
                    open.push(close);
                    if close == b'}' {
                        at = member_value(b, at)?;
                    }
                    continue;
                }
            }
            Some(b't') => at = literal(b, at, b"true")?,
            Some(b'f') => at = literal(b, at, b"false")?,
            Some(b'n') => at = literal(b, at, b"null")?,
            Some(b'-' | b'0'..=b'9') => at = number_end(b, at)?,
            Some(_) => return Err(SyntaxError::at(b, at, "expected a value")),
            None => return Err(SyntaxError::at(b, at, "unexpected end of input")),
        }
        // A value ended: close what it ends, up to the next value.
        loop {
            let Some(close) = open.last() else {
                return Ok(at);
            };
            at = skip_space(b, at);
            match b.get(at) {
                Some(b',') => {
                    at = skip_space(b, at + 1);
                    if close == b'}' {
                        at = member_value(b, at)?;
                    }
                    break;
                }
                Some(&c) if c == close => {
                    open.pop();
                    at += 1;
                }
                Some(_) if close == b'}' => {
                    return Err(SyntaxError::at(b, at, "expected ',' or '}'"))
                }
                Some(_) => return Err(SyntaxError::at(b, at, "expected ',' or ']'")),
                None => return Err(SyntaxError::at(b, at, "unexpected end of input")),
            }
        }
        at = skip_space(b, at);
    }
}

/// The brackets open at a point of a walk, innermost last, as the bytes
/// that close them: a bit a level, in one word for the first 64 levels (no
/// allocation for any message one meets), in a spill beyond.
#[derive(Default)]
struct Open {
    depth: usize,
    bits: u64,
    spill: Vec<u64>,
}

impl Open {
    fn push(&mut self, close: u8) {
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.spill.push(self.bits);
            self.bits = 0;
        }
        self.bits = self.bits << 1 | u64::from(close == b'}');
        self.depth += 1;
    }

    fn pop(&mut self) {
        self.bits >>= 1;
        self.depth -= 1;
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.bits = self.spill.pop().unwrap_or(0);
        }
    }

    fn last(&self) -> Option<u8> {
        match (self.depth, self.bits & 1) {
            (0, _) => None,
            (_, 1) => Some(b'}'),
            _ => Some(b']'),
        }
    }
}

/// Walk the object or array whose bracket is at `text[at]`, checking it,
/// and hand `each` its members (the key as written, quotes and escapes
/// kept, and the value) or its elements (no key). Just past its end.
pub(crate) fn items<'t>(
    text: &'t str,
    at: usize,
    mut each: impl FnMut(Option<&'t str>, &'t str),
) -> Result<usize, SyntaxError> {
    items_by(text, at, |key, value| {
        let end = value_end(text.as_bytes(), value)?;
        each(key, &text[value..end]);
        Ok(end)
    })
}

/// [`items`], with `walk` checking each value from where it starts and
/// telling where it ends: a value can be walked as items of its own (the
/// members of a message's params, found as the message is checked).
pub(crate) fn items_by<'t>(
    text: &'t str,
    at: usize,
    mut walk: impl FnMut(Option<&'t str>, usize) -> Result<usize, SyntaxError>,
) -> Result<usize, SyntaxError> {
    let b = text.as_bytes();
    let (close, expected) = match b[at] {
        b'{' => (b'}', "expected ',' or '}'"),
        _ => (b']', "expected ',' or ']'"),
    };
    let mut at = skip_space(b, at + 1);
    if b.get(at) == Some(&close) {
        return Ok(at + 1);
    }
    loop {
        let (key, value) = if close == b'}' {
            let (key_end, value) = member_key(b, at)?;
            (Some(&text[at..key_end]), value)
        } else {
            (None, at)
        };
        let end = walk(key, value)?;
        at = skip_space(b, end);
        match b.get(at) {
            Some(b',') => at = skip_space(b, at + 1),
            Some(&c) if c == close => return Ok(at + 1),
            Some(_) => return Err(SyntaxError::at(b, at, expected)),
            None => return Err(SyntaxError::at(b, at, "unexpected end of input")),
        }
    }
}

/// From a member's key at `b[at]` to the start of its value.
fn member_value(b: &[u8], at: usize) -> Result<usize, SyntaxError> {
    let (_, value) = member_key(b, at)?;
    Ok(value)
}

/// A member's key at `b[at]`: just past it, and the start of its value.
fn member_key(b: &[u8], at: usize) -> Result<(usize, usize), SyntaxError> {
    if b.get(at) != Some(&b'"') {
        return Err(SyntaxError::at(b, at, "expected a key (a string)"));
    }
    let key_end = string_end(b, at)?;
    let colon = skip_space(b, key_end);
    if b.get(colon) != Some(&b':') {
        return Err(SyntaxError::at(b, colon, "expected ':'"));
    }
    Ok((key_end, skip_space(b, colon + 1)))
}

/// Just past the string opening at `b[at]`: no control characters, every
/// escape one JSON has. (Whether the text is UTF-8 is the caller's check,
/// made once for a whole message.)
///
/// Most strings of a message are short (keys, names, ids): their first
/// [`SHORT`] bytes are looked at eight at a time in a `u64`
/// ([`first_stop`]), which costs less than setting up a vector search. A
/// longer string goes on with `memchr`.
pub(crate) fn string_end(b: &[u8], at: usize) -> Result<usize, SyntaxError> {
    let mut at = at + 1;
    loop {
        match first_stop(b, at) {
            Some(k) if b[at + k] == b'"' => return Ok(at + k + 1),
            Some(k) if b[at + k] == b'\\' => {
                at = escape_end(b, at + k)?;
                continue;
            }
            Some(k) => return Err(SyntaxError::at(b, at + k, "control character in a string")),
            None => at = (at + SHORT).min(b.len()),
        }
        let rest = &b[at.min(b.len())..];
        let Some(k) = memchr::memchr2(b'"', b'\\', rest) else {
            return Err(SyntaxError::at(b, b.len(), "unterminated string"));
        };
        if let Some(c) = first_control(&rest[..k]) {
            return Err(SyntaxError::at(b, at + c, "control character in a string"));
        }
        at += k;
        if b[at] == b'"' {
            return Ok(at + 1);
        }
        at = escape_end(b, at)?;
    }
}

/// How far [`string_end`] looks before it turns to `memchr`.
const SHORT: usize = 24;

/// Where in `b[at..]`, within [`SHORT`] bytes, the first byte is that
/// ends or interrupts a string (a quote, a backslash, a control character).
fn first_stop(b: &[u8], at: usize) -> Option<usize> {
    let is_stop = |c: &u8| *c == b'"' || *c == b'\\' || *c < 0x20;
    let mut k = 0;
    while k < SHORT {
        let Some(eight) = b.get(at + k..at + k + 8) else {
            return b[(at + k).min(b.len())..]
                .iter()
                .position(is_stop)
                .map(|p| k + p);
        };
        let stops = stops(u64::from_le_bytes(eight.try_into().expect("eight bytes")));
        if stops != 0 {
            return Some(k + stops.trailing_zeros() as usize / 8);
        }
        k += 8;
    }
    None
}

/// The bytes of `word` (eight bytes of text, little-endian) that stop a
/// string, each marked by its high bit. The lowest mark is exact: a
/// subtraction's borrow only reaches the bytes above a byte it marked.
fn stops(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    below(word ^ (ONES * u64::from(b'"')), 1)
        | below(word ^ (ONES * u64::from(b'\\')), 1)
        | below(word, 0x20)
}

/// Whether a string's text holds an escape. A plain loop: the strings
/// asked (keys, names, ids) are too short to pay for `memchr`'s setup.
pub(crate) fn has_escape(text: &str) -> bool {
    text.bytes().any(|c| c == b'\\')
}

/// Where the first byte below 0x20 is. The fold finds whether there is
/// one without a branch per byte (vectorized); the search runs only then.
fn first_control(s: &[u8]) -> Option<usize> {
    if s.iter().fold(u8::MAX, |low, &c| low.min(c)) >= 0x20 {
        return None;
    }
    s.iter().position(|&c| c < 0x20)
}

/// Just past the escape whose backslash is `b[at]`.
fn escape_end(b: &[u8], at: usize) -> Result<usize, SyntaxError> {
    match b.get(at + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
        Some(b'u') => match b.get(at + 2..at + 6) {
            Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => Ok(at + 6),
            _ => Err(SyntaxError::at(b, at, "invalid \\u escape")),
        },
        _ => Err(SyntaxError::at(b, at, "invalid escape")),
    }
}

fn literal(b: &[u8], at: usize, word: &[u8]) -> Result<usize, SyntaxError> {
    if b[at..].starts_with(word) {
        Ok(at + word.len())
    } else {
        Err(SyntaxError::at(b, at, "expected a value"))
    }
}

/// Just past the number at `b[at]`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(b: &[u8], mut at: usize) -> Result<usize, SyntaxError> {
    let digits = |from: usize| {
        let n = b[from.min(b.len())..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        (from + n, n)
    };
    if b.get(at) == Some(&b'-') {
        at += 1;
    }
    at = match b.get(at) {
        Some(b'0') => at + 1,
        Some(b'1'..=b'9') => digits(at).0,
        _ => return Err(SyntaxError::at(b, at, "invalid number")),
    };
    if b.get(at) == Some(&b'.') {
        let (end, n) = digits(at + 1);
        if n == 0 {
            return Err(SyntaxError::at(b, end, "invalid number"));
        }
        at = end;
    }
    if matches!(b.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(b.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        let (end, n) = digits(at);
        if n == 0 {
            return Err(SyntaxError::at(b, end, "invalid number"));
        }
        at = end;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Rng;

    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<&RawValue>(text).is_ok()
    }

    #[test]
    fn accepts_what_json_allows() {
        for text in [
            "0",
            "-0",
            "-12.5e+3",
            "1E-2",
            "true",
            " null ",
            r#""""#,
            r#""a\"\\\/\b\f\n\r\t\u00E9\ud800 é""#,
            "[]",
            "{}",
            r#"{"a":[1,{"b":[]},"]"],"c":{"d":null}}"#,
            " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
        ] {
            assert_eq!(check(text), Ok(()), "{text}");
            assert!(serde_accepts(text), "serde_json agrees: {text}");
        }
    }

    #[test]
    fn refuses_what_json_does_not_and_says_where() {
        for (text, what, column) in [
            ("", "unexpected end of input", 1),
            ("01", "trailing characters", 2),
            ("1.", "invalid number", 3),
            ("-", "invalid number", 2),
            ("1e", "invalid number", 3),
            (".5", "expected a value", 1),
            ("tru", "expected a value", 1),
            ("[1,]", "expected a value", 4),
            ("[1 2]", "expected ',' or ']'", 4),
            (r#"{"a" 1}"#, "expected ':'", 6),
            (r#"{"a":1,}"#, "expected a key (a string)", 8),
            ("{1:2}", "expected a key (a string)", 2),
            (r#"{"a":1"#, "unexpected end of input", 7),
            (r#""abc"#, "unterminated string", 5),
            ("\"a\tb\"", "control character in a string", 3),
            (r#""\x""#, "invalid escape", 2),
            (r#""\u12g4""#, "invalid \\u escape", 2),
            ("[1]]", "trailing characters", 4),
            ("\u{c}1", "expected a value", 1),
        ] {
            let err = check(text).unwrap_err();
            assert_eq!((err.what, err.column), (what, column), "{text:?}");
            assert!(!serde_accepts(text), "serde_json agrees: {text:?}");
        }
        let err = check("{\n  \"a\": [1,\n  x]}").unwrap_err();
        assert_eq!(err.to_string(), "expected a value at line 3 column 3");
    }

    #[test]
    fn nesting_has_no_depth_limit_of_its_own() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(check(&deep), Ok(()));
        let unclosed = "[".repeat(100_000);
        assert!(check(&unclosed).is_err());
        // Objects and arrays mixed across the 64-level words of the stack:
        // each bracket must close what it opened.
        for depth in [63, 64, 65, 128, 129, 200] {
            let opens: String = (0..depth)
                .map(|i| if i % 3 == 0 { r#"{"k":"# } else { "[" })
                .collect();
            let closes: String = (0..depth)
                .rev()
                .map(|i| if i % 3 == 0 { "}" } else { "]" })
                .collect();
            let text = format!("{opens}1{closes}");
            assert_eq!(check(&text), Ok(()), "{depth}");
            let swapped = format!("{opens}1{}", closes.replacen('}', "]", 1));
            if closes.contains('}') {
                assert!(check(&swapped).is_err(), "{depth}: a ']' closing an object");
            }
        }
    }

    /// Eight bytes at a time finds the byte a byte-by-byte look finds: over
    /// texts of the bytes where the arithmetic could slip (just below and
    /// above a control character, a quote and a backslash, and the bytes of
    /// UTF-8 sequences), from random offsets, 0 to 39 bytes long.
    #[test]
    fn the_first_stop_is_found_as_byte_by_byte() {
        const BYTES: [u8; 12] = [
            0x00, 0x1f, 0x20, 0x21, b'"', 0x23, 0x5b, b'\\', 0x5d, 0x7f, 0x80, 0xff,
        ];
        let mut rng = Rng(0x5eed);
        for _ in 0..20_000 {
            let len = rng.below(40);
            let text: Vec<u8> = (0..len)
                .map(|_| match rng.below(3) {
                    0 => BYTES[rng.below(BYTES.len())],
                    _ => b'a' + rng.below(26) as u8,
                })
                .collect();
            let at = rng.below(len + 1);
            let slow = text[at..]
                .iter()
                .take(SHORT)
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20);
            assert_eq!(first_stop(&text, at), slow, "{text:?} from {at}");
        }
    }

    /// Against serde_json: valid documents, then each with a byte changed,
    /// inserted or cut where a careless checker would slip (brackets,
    /// quotes, escapes, digits, control characters), are accepted and
    /// refused as serde_json accepts and refuses them.
    #[test]
    fn agrees_with_serde_json_on_valid_and_broken_texts() {
        const SEEDS: [&str; 6] = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"s":"x\"}]\\","n":[1,-2.5e3,true,null]}}}"#,
            r#"[{"a":{}},[],"\u00e9\n",0,-0.0,1E+2]"#,
            "{\n  \"k\" : [ \"v\" , { \"w\" : false } ]\n}",
            r#""just a string with \\ and \" and \/""#,
            "12345678901234567890123",
            r#"{"é":"ü","":"","t":"tab\tx"}"#,
        ];
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut refused = 0;
        for seed in SEEDS {
            assert_eq!(check(seed).is_ok(), serde_accepts(seed), "{seed}");
            for _ in 0..3_000 {
                let Some(text) = rng.mutated(seed) else {
                    continue;
                };
                let ours = check(&text).is_ok();
                assert_eq!(ours, serde_accepts(&text), "{text:?}");
                refused += usize::from(!ours);
            }
        }
        assert!(
            refused > 5_000,
            "the mutations broke most texts ({refused})"
        );
    }

    #[test]
    fn a_json_is_made_checked_and_written_as_it_is() {
        assert!(Json::parse("{\"a\":").is_err());
        let json = Json::parse(" {\"a\" : 1.50}\n").unwrap();
        assert_eq!(json.get(), r#"{"a" : 1.50}"#, "the value alone");
        assert_eq!(Json::to(&[1, 2]).unwrap().get(), "[1,2]");
        let written = serde_json::to_string(&[&json]).unwrap();
        assert_eq!(
            written, r#"[{"a" : 1.50}]"#,
            "inside serde's output, as it is"
        );
        assert_eq!(json.as_valid().get(), json.get());
        let read: Vec<Json> = serde_json::from_str(r#"[1, {"a" : 2}]"#).unwrap();
        assert_eq!(
            read.iter().map(Json::get).collect::<Vec<_>>(),
            ["1", r#"{"a" : 2}"#]
        );
        assert!(serde_json::from_str::<Vec<Json>>("[1, {]").is_err());
    }
}
