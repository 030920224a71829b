//! Minting tokens (valid ones and deliberately broken ones).

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};

use super::keys::Material;

/// Seconds since the Unix epoch.
/// How a token finds the signing key of a `kid` (the mock org's held keys).
pub(super) type KeyLookup = Arc<dyn Fn(&str) -> Option<&'static Material> + Send + Sync>;

pub(super) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn to_value(what: &str, name: &str, value: impl serde::Serialize) -> Value {
    serde_json::to_value(value)
        .unwrap_or_else(|e| panic!("TokenBuilder: {what} {name:?} is not JSON: {e}"))
}

enum Signer {
    /// A key held by the mock, signing with its own algorithm.
    Kid(String),
    /// HS256 with this secret.
    Hmac(Vec<u8>),
    /// This signature segment, verbatim.
    Raw(String),
}

/// Builds a compact JWS: `header.payload.signature`.
///
/// Starts from [`MockOkta::id_token`](super::MockOkta::id_token),
/// [`access_token`](super::MockOkta::access_token) or
/// [`token`](super::MockOkta::token). Header and claims are free-form; the
/// signature comes from the last of [`kid`](Self::kid) (for a held key),
/// [`sign_with_kid`](Self::sign_with_kid),
/// [`sign_with_hmac`](Self::sign_with_hmac) and
/// [`signature`](Self::signature), else from the mock's signing key.
#[must_use]
pub struct TokenBuilder {
    keys: KeyLookup,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    signer: Signer,
}

impl fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder {
    pub(super) fn new(keys: KeyLookup, signing_kid: &str, claims: Value) -> TokenBuilder {
        let mut header = Map::new();
        header.insert("alg".into(), "RS256".into());
        header.insert("kid".into(), signing_kid.into());
        TokenBuilder {
            keys,
            header,
            claims: match claims {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            signer: Signer::Kid(signing_kid.to_owned()),
        }
    }

    /// Sets (or replaces) a claim.
    ///
    /// # Panics
    ///
    /// If `value` cannot be serialized to JSON.
    pub fn claim(mut self, name: &str, value: impl serde::Serialize) -> Self {
        let value = to_value("claim", name, value);
        self.claims.insert(name.to_owned(), value);
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets (or replaces) a header parameter.
    ///
    /// # Panics
    ///
    /// If `value` cannot be serialized to JSON.
    pub fn header(mut self, name: &str, value: impl serde::Serialize) -> Self {
        let value = to_value("header", name, value);
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Removes a header parameter.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Sets the header `kid`, and signs with that key if the mock holds it.
    pub fn kid(mut self, kid: &str) -> Self {
        self.header.insert("kid".into(), kid.into());
        if (self.keys)(kid).is_some() {
            self.signer = Signer::Kid(kid.to_owned());
        }
        self
    }

    /// Sets the header `alg` string only (any string, e.g. `"none"`); the
    /// signature is unaffected.
    pub fn alg(mut self, alg: &str) -> Self {
        self.header.insert("alg".into(), alg.into());
        self
    }

    /// Sets `exp` to `iat + secs` (`iat` defaults to now; negative allowed).
    pub fn expires_in(mut self, secs: i64) -> Self {
        let iat = self.int_claim("iat").unwrap_or_else(now);
        self.claims
            .insert("exp".into(), iat.saturating_add(secs).into());
        self
    }

    /// Sets `iat`, moving `exp` (if any) to keep the same lifetime.
    pub fn issued_at(mut self, unix: i64) -> Self {
        if let Some(exp) = self.int_claim("exp") {
            let lifetime = exp.saturating_sub(self.int_claim("iat").unwrap_or_else(now));
            self.claims
                .insert("exp".into(), unix.saturating_add(lifetime).into());
        }
        self.claims.insert("iat".into(), unix.into());
        self
    }

    /// Signs with the held key `kid`, leaving the header `kid` as it is.
    /// [`build`](Self::build) panics if the mock holds no such key.
    pub fn sign_with_kid(mut self, kid: &str) -> Self {
        self.signer = Signer::Kid(kid.to_owned());
        self
    }

    /// Signs with HS256 keyed by `secret`, and sets the header `alg` to HS256.
    pub fn sign_with_hmac(mut self, secret: &[u8]) -> Self {
        self.header.insert("alg".into(), "HS256".into());
        self.signer = Signer::Hmac(secret.to_vec());
        self
    }

    /// Uses `raw_b64url` verbatim as the signature segment (e.g. `""`).
    pub fn signature(mut self, raw_b64url: &str) -> Self {
        self.signer = Signer::Raw(raw_b64url.to_owned());
        self
    }

    /// The claims as they stand.
    pub fn claims(&self) -> Value {
        Value::Object(self.claims.clone())
    }

    /// The compact token, `header.payload.signature`.
    ///
    /// # Panics
    ///
    /// If [`sign_with_kid`](Self::sign_with_kid) named a key the mock does not
    /// hold.
    pub fn build(self) -> String {
        let encode = |map: &Map<String, Value>| {
            let json = serde_json::to_vec(map).unwrap_or_default();
            URL_SAFE_NO_PAD.encode(json)
        };
        let message = format!("{}.{}", encode(&self.header), encode(&self.claims));
        let signature = match &self.signer {
            Signer::Raw(raw) => raw.clone(),
            Signer::Hmac(secret) => sign(
                &message,
                &EncodingKey::from_secret(secret),
                Algorithm::HS256,
            ),
            Signer::Kid(kid) => {
                let material = (self.keys)(kid);
                let material =
                    material.unwrap_or_else(|| panic!("TokenBuilder: no key with kid {kid:?}"));
                sign(&message, &material.encoding, material.alg)
            }
        };
        format!("{message}.{signature}")
    }

    fn int_claim(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }
}

fn sign(message: &str, key: &EncodingKey, alg: Algorithm) -> String {
    jsonwebtoken::crypto::sign(message.as_bytes(), key, alg)
        .unwrap_or_else(|e| panic!("TokenBuilder: signing with {alg:?} failed: {e}"))
}
