//! DPoP in the test kit (RFC 9449): client keys ([`DpopKey`]), proofs built with a
//! [`TokenBuilder`] (valid ones and deliberately broken ones), and tokens bound to a key.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::keys::{self, Material};
use super::token::{KeyLookup, TokenBuilder, now};

/// A client's DPoP key pair (embedded, never generated), to sign proofs with.
///
/// ```
/// use okta_oidc::testing::{DpopKey, MockOkta};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let okta = MockOkta::start().await;
/// let key = DpopKey::es256();
/// let token = okta.access_token().bound_to(&key).build(); // cnf.jkt = key's thumbprint
/// let proof = key
///     .proof("GET", "https://api.example.com/api/me")
///     .claim("ath", DpopKey::ath(&token))
///     .build();
/// // GET /api/me with `Authorization: DPoP <token>` and `DPoP: <proof>`.
/// # let _ = proof;
/// # }
/// ```
#[derive(Clone)]
pub struct DpopKey {
    name: &'static str,
    material: &'static Material,
}

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopKey")
            .field("name", &self.name)
            .field("thumbprint", &self.thumbprint())
            .finish()
    }
}

const ES256: &str = "dpop-es256";
const ED25519: &str = "dpop-ed25519";
const RS256: &str = "dpop-rs256";

impl DpopKey {
    /// A P-256 key (proofs with `alg` ES256): the usual DPoP key.
    pub fn es256() -> DpopKey {
        DpopKey {
            name: ES256,
            material: keys::ec(),
        }
    }

    /// An Ed25519 key (proofs with `alg` EdDSA).
    pub fn ed25519() -> DpopKey {
        DpopKey {
            name: ED25519,
            material: keys::ed(),
        }
    }

    /// A 2048-bit RSA key (proofs with `alg` RS256).
    pub fn rs256() -> DpopKey {
        DpopKey {
            name: RS256,
            material: keys::rsa(5),
        }
    }

    /// The name [`TokenBuilder::sign_with_kid`] knows this key by in a proof's builder: to
    /// sign a proof of one key with another (`.sign_with_kid(other.name())`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The public JWK, as a proof's header carries it.
    pub fn public_jwk(&self) -> Value {
        Value::Object(self.material.jwk().clone())
    }

    /// The JWK with its private member `d` too (a client bug a server must refuse, RFC 9449
    /// §4.3 step 6).
    ///
    /// # Panics
    ///
    /// For the RSA key (EC and Ed25519 only).
    pub fn private_jwk(&self) -> Value {
        let d = keys::private_scalar(self.material.alg)
            .unwrap_or_else(|| panic!("DpopKey::private_jwk: EC and Ed25519 keys only"));
        let mut jwk = self.material.jwk().clone();
        jwk.insert("d".into(), URL_SAFE_NO_PAD.encode(d).into());
        Value::Object(jwk)
    }

    /// The JWK SHA-256 thumbprint (RFC 7638): what a bound token's `cnf.jkt` holds.
    pub fn thumbprint(&self) -> String {
        let jwk = self.material.jwk();
        let required: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => &["e", "kty", "n"],
            Some("EC") => &["crv", "kty", "x", "y"],
            _ => &["crv", "kty", "x"],
        };
        let members: BTreeMap<&str, &Value> = required
            .iter()
            .filter_map(|m| jwk.get(*m).map(|v| (*m, v)))
            .collect();
        let canonical = serde_json::to_string(&members).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// The `ath` of a proof for `access_token`: base64url(SHA-256(token)).
    pub fn ath(access_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
    }

    /// A proof for `method` at `uri`, signed with this key: header `typ` `dpop+jwt`, `alg`,
    /// `jwk`; claims a fresh `jti`, `htm`, `htu` and `iat` now. Add `ath`
    /// ([`ath`](Self::ath)) and `nonce` with [`TokenBuilder::claim`], or break anything on
    /// purpose with the builder's other methods.
    pub fn proof(&self, method: &str, uri: &str) -> TokenBuilder {
        let claims = json!({
            "jti": random_jti(),
            "htm": method,
            "htu": uri,
            "iat": now(),
        });
        TokenBuilder::new(dpop_keys(), self.name, claims)
            .without_header("kid")
            .header("typ", "dpop+jwt")
            .header("alg", alg_name(self.material.alg))
            .header("jwk", self.public_jwk())
    }
}

impl TokenBuilder {
    /// Binds the token to a DPoP key: `cnf.jkt` = the key's thumbprint (RFC 9449 §6.1).
    pub fn bound_to(self, key: &DpopKey) -> Self {
        self.claim("cnf", json!({ "jkt": key.thumbprint() }))
    }
}

/// How proofs find the DPoP keys' private halves.
fn dpop_keys() -> KeyLookup {
    Arc::new(|name: &str| match name {
        ES256 => Some(keys::ec()),
        ED25519 => Some(keys::ed()),
        RS256 => Some(keys::rsa(5)),
        _ => None,
    })
}

fn alg_name(alg: Algorithm) -> &'static str {
    match alg {
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => "RS256",
    }
}

/// 128 random bits (std's per-process random hasher keys), base64url.
fn random_jti() -> String {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let a = std::collections::hash_map::RandomState::new().hash_one(serial);
    let b = std::collections::hash_map::RandomState::new().hash_one(a);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}
