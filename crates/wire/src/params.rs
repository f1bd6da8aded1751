//! A request's params on their way upstream: the text a client sent, that
//! text edited ([`crate::object::with_member_at`]: a progress token swapped), or a
//! `tools/call` put together from parts of one ([`Call`]). Edited or
//! composed params are written straight into the line or body that carries
//! them: their parts were checked when the client's message was parsed, and
//! are not checked again (`gateway_invoke` would otherwise scan its whole
//! argument a second time to build the backend's params).

use std::borrow::Cow;

use crate::chunks::Sink;
use crate::object::Valid;
use crate::Json;

#[derive(Debug, Clone, Copy)]
pub enum Params<'a> {
    Raw(&'a Json),
    /// Params as sent, and their `_meta` as the parse found it (`None`:
    /// they have none), so no one looks for it through a large argument
    /// ([`crate::Message::sent_params`]).
    Sent(&'a Json, Option<Valid<'a>>),
    Edited(Valid<'a>),
    Call(Call<'a>),
}

/// `tools/call` params: `{"name":…,"arguments":…,"_meta":…,"task":…}`, the
/// members that are `None` left out.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The tool's name as it reads (escaped when written).
    pub name: &'a str,
    pub arguments: Option<Valid<'a>>,
    pub meta: Option<Valid<'a>>,
    pub task: Option<Valid<'a>>,
    /// The params these parts were found in: a large part goes out shared
    /// with them rather than copied ([`crate::Chunks`]).
    pub within: Option<&'a Json>,
}

impl<'a> Params<'a> {
    /// As JSON text: borrowed as it is, or written out (for the rare paths
    /// that edit or inspect params).
    pub fn to_raw(self) -> Cow<'a, Json> {
        match self {
            Params::Raw(raw) | Params::Sent(raw, _) => Cow::Borrowed(raw),
            Params::Edited(_) | Params::Call(_) => {
                let mut out = Vec::with_capacity(self.len_hint());
                self.write_to(&mut out);
                let text = String::from_utf8(out).expect("JSON is UTF-8");
                Cow::Owned(Json::checked(text))
            }
        }
    }

    /// Where a `_meta` member can be: the whole text, `_meta` itself when
    /// it was found, or a composed call's own `_meta`.
    pub fn meta_text(self) -> Option<&'a str> {
        match self {
            Params::Raw(raw) => Some(raw.get()),
            Params::Sent(_, meta) => meta.map(Valid::get),
            Params::Edited(text) => Some(text.get()),
            Params::Call(call) => call.meta.map(Valid::get),
        }
    }

    pub fn write_to(self, out: &mut Vec<u8>) {
        self.write_into(out)
    }

    pub(crate) fn write_into(self, out: &mut impl Sink) {
        let call = match self {
            Params::Raw(raw) | Params::Sent(raw, _) => return out.value(raw.get(), Some(raw)),
            Params::Edited(text) => return out.value(text.get(), None),
            Params::Call(call) => call,
        };
        let buf = out.buf();
        buf.extend_from_slice(br#"{"name":"#);
        serde_json::to_writer(&mut *buf, call.name).expect("a string serialises");
        for (key, value) in [
            (&br#","arguments":"#[..], call.arguments),
            (br#","_meta":"#, call.meta),
            (br#","task":"#, call.task),
        ] {
            if let Some(value) = value {
                out.buf().extend_from_slice(key);
                out.value(value.get(), call.within);
            }
        }
        out.buf().push(b'}');
    }

    /// About the written length.
    pub fn len_hint(self) -> usize {
        match self {
            Params::Raw(raw) | Params::Sent(raw, _) => raw.get().len(),
            Params::Edited(text) => text.get().len(),
            Params::Call(call) => {
                let len = |v: Option<Valid>| v.map_or(0, |v| v.get().len() + 12);
                16 + call.name.len() + len(call.arguments) + len(call.meta) + len(call.task)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::members;
    use crate::testing::json;

    #[test]
    fn a_composed_call_is_written_from_its_parts_as_they_are() {
        let sent = json(r#"{"a": {"x" : [1, "é\"}"]}, "m":{"progressToken":3},"t":null}"#);
        let part = |k: &str| members(&sent).find(|(key, _)| key == k).map(|(_, v)| v);
        let call = Params::Call(Call {
            name: "say \"hi\"",
            arguments: part("a"),
            meta: part("m"),
            task: None,
            within: Some(&sent),
        });
        let want =
            r#"{"name":"say \"hi\"","arguments":{"x" : [1, "é\"}"]},"_meta":{"progressToken":3}}"#;
        let mut out = Vec::new();
        call.write_to(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), want);
        assert_eq!(call.to_raw().get(), want);
        assert!(call.len_hint() >= want.len());
        assert_eq!(call.meta_text(), Some(r#"{"progressToken":3}"#));

        let bare = Params::Call(Call {
            name: "x",
            arguments: None,
            meta: None,
            task: part("t"),
            within: None,
        });
        assert_eq!(bare.to_raw().get(), r#"{"name":"x","task":null}"#);
        assert_eq!(bare.meta_text(), None);
    }

    #[test]
    fn raw_params_are_borrowed_as_they_are() {
        let sent = json(r#"{ "name": "a" }"#);
        let params = Params::Raw(&sent);
        assert!(matches!(params.to_raw(), Cow::Borrowed(_)));
        assert_eq!(params.meta_text(), Some(r#"{ "name": "a" }"#));
        let mut out = Vec::new();
        params.write_to(&mut out);
        assert_eq!(out, br#"{ "name": "a" }"#);

        // Sent on with their `_meta` known: that is where a token is looked for.
        let msg = crate::Message::parse_one(
            r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":"x","_meta":{"k":1}}}"#,
        )
        .unwrap();
        let params = msg.sent_params().unwrap();
        assert!(matches!(params, Params::Sent(_, Some(_))));
        assert_eq!(params.meta_text(), Some(r#"{"k":1}"#));
        assert!(matches!(params.to_raw(), Cow::Borrowed(_)));
        let mut out = Vec::new();
        params.write_to(&mut out);
        assert_eq!(out, br#"{"a":"x","_meta":{"k":1}}"#);
        let bare =
            crate::Message::parse_one(r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{}}"#);
        assert_eq!(bare.unwrap().sent_params().unwrap().meta_text(), None);

        let edited = crate::object::with_member(&sent, "name", &json("1")).unwrap();
        let params = Params::Edited(edited.as_valid());
        assert_eq!(params.to_raw().get(), r#"{"name":1}"#);
        assert_eq!(params.meta_text(), Some(r#"{"name":1}"#));
        let mut out = Vec::new();
        params.write_to(&mut out);
        assert_eq!(out, br#"{"name":1}"#);
        assert_eq!(params.len_hint(), out.len());
    }
}
