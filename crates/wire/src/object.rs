//! Editing one member of a raw JSON object without touching the others:
//! order, spacing of values and unknown members are kept.

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
}
