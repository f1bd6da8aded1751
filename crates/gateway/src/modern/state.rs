//! The `requestState` of a multi round-trip request: a gateway-minted token
//! the client echoes on its retry, naming the backend call held for it.
//!
//! The token is `<payload>.<mac>` (base64url): the payload names the held
//! call and an expiry, and an HMAC-SHA256 under a key made at start covers
//! the payload together with a digest of the request it belongs to (method,
//! tool name or URI, arguments). A token that was altered, has expired, or
//! comes back on another request does not open. The client is never
//! trusted with anything but the handle.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use mcp_wire::Json;
use serde::Deserialize;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Mints and opens request states.
pub struct Sealer {
    key: [u8; 32],
    pub ttl: Duration,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("requestState is malformed or was altered")]
    Invalid,
    #[error("requestState has expired")]
    Expired,
}

impl Sealer {
    /// A sealer with a fresh random key: states do not outlive the process
    /// (neither do the calls they name).
    pub fn new(ttl: Duration) -> Sealer {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).expect("the OS random source is available");
        Sealer { key, ttl }
    }

    /// A state naming `handle` for the request with digest `binding`.
    pub fn seal(&self, handle: &str, binding: &[u8; 32]) -> String {
        let expires = now_ms() + self.ttl.as_millis() as u64;
        let payload = format!("{handle}.{expires}");
        let mac = self.mac(&payload, binding);
        format!("{}.{}", B64.encode(payload), B64.encode(mac))
    }

    /// The handle a state names, if it is intact, fresh, and belongs to the
    /// request with digest `binding`.
    pub fn open(&self, state: &str, binding: &[u8; 32]) -> Result<String, StateError> {
        let (payload, mac) = state.split_once('.').ok_or(StateError::Invalid)?;
        let payload = B64.decode(payload).map_err(|_| StateError::Invalid)?;
        let mac = B64.decode(mac).map_err(|_| StateError::Invalid)?;
        let payload = String::from_utf8(payload).map_err(|_| StateError::Invalid)?;
        self.hmac(&payload, binding)
            .verify_slice(&mac)
            .map_err(|_| StateError::Invalid)?;
        let (handle, expires) = payload.rsplit_once('.').ok_or(StateError::Invalid)?;
        let expires: u64 = expires.parse().map_err(|_| StateError::Invalid)?;
        if now_ms() > expires {
            return Err(StateError::Expired);
        }
        Ok(handle.to_owned())
    }

    fn hmac(&self, payload: &str, binding: &[u8; 32]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(binding);
        mac.update(payload.as_bytes());
        mac
    }

    fn mac(&self, payload: &str, binding: &[u8; 32]) -> Vec<u8> {
        self.hmac(payload, binding).finalize().into_bytes().to_vec()
    }
}

/// The digest a state is bound to: the method, the tool or prompt name or
/// resource URI, and the arguments (canonical JSON, keys sorted), so a
/// state only opens on a retry of the same request.
pub fn binding(method: &str, params: Option<&Json>) -> [u8; 32] {
    #[derive(Deserialize)]
    struct P {
        name: Option<String>,
        uri: Option<String>,
        arguments: Option<serde_json::Value>,
    }
    let p = params.and_then(|p| serde_json::from_str::<P>(p.get()).ok());
    let mut h = Sha256::new();
    h.update(method.as_bytes());
    h.update([0]);
    if let Some(p) = p {
        h.update(p.name.unwrap_or_default().as_bytes());
        h.update([0]);
        h.update(p.uri.unwrap_or_default().as_bytes());
        h.update([0]);
        // serde_json's map is ordered by key: the text is canonical.
        h.update(p.arguments.unwrap_or_default().to_string().as_bytes());
    }
    h.finalize().into()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(s: &str) -> Json {
        Json::parse(s).unwrap()
    }

    #[test]
    fn a_state_opens_only_intact_fresh_and_on_its_own_request() {
        let sealer = Sealer::new(Duration::from_secs(60));
        let b = binding(
            "tools/call",
            Some(&params(r#"{"name":"t","arguments":{"b":1,"a":2}}"#)),
        );
        let same = binding(
            "tools/call",
            Some(&params(
                r#"{"arguments":{"a":2,"b":1},"name":"t","_meta":{"x":1}}"#,
            )),
        );
        assert_eq!(b, same, "key order and _meta do not matter");
        let state = sealer.seal("h1", &b);
        assert_eq!(sealer.open(&state, &b), Ok("h1".into()));

        let other = binding(
            "tools/call",
            Some(&params(r#"{"name":"t","arguments":{"a":3}}"#)),
        );
        assert_eq!(sealer.open(&state, &other), Err(StateError::Invalid));
        assert_eq!(
            sealer.open(&format!("{state}-TAMPERED"), &b),
            Err(StateError::Invalid)
        );
        assert_eq!(sealer.open("garbage", &b), Err(StateError::Invalid));
        assert_eq!(
            Sealer::new(Duration::from_secs(60)).open(&state, &b),
            Err(StateError::Invalid),
            "another key"
        );

        let short = Sealer {
            key: sealer.key,
            ttl: Duration::ZERO,
        };
        let stale = short.seal("h2", &b);
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(short.open(&stale, &b), Err(StateError::Expired));
    }
}
