//! JSON Web Keys (RFC 7517): lenient parsing of a key set into ready verification keys, and the
//! look-up of a token's key. Pure: no I/O, no clock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::public_key::PublicKey;
use crate::algorithm::Algorithm;
use crate::error::LoadError;

static NEXT_KEY_ID: AtomicU64 = AtomicU64::new(1);

/// One usable verification key, parsed once (when its key set is loaded or refreshed) into the
/// backend's ready form.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) key: PublicKey,
    /// Process-unique id; kept across refreshes while the key material is unchanged.
    pub(crate) id: u64,
    fingerprint: String,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A parsed key set.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<Arc<VerifyKey>>,
    pub(crate) generation: u64,
}

/// The result of looking a token's key up.
pub(crate) enum Lookup<'a> {
    Found(&'a Arc<VerifyKey>),
    Unknown,
    Ambiguous,
    WrongAlgorithm,
}

impl KeySet {
    /// Finds the key for a token header. With a `kid`, the key of that id (which must be for
    /// `alg`); without, the single key of `alg`.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        match kid {
            Some(kid) => match self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                Some(k) if k.alg == alg => Lookup::Found(k),
                Some(_) => Lookup::WrongAlgorithm,
                None => Lookup::Unknown,
            },
            None => {
                let mut matching = self.keys.iter().filter(|k| k.alg == alg);
                match (matching.next(), matching.next()) {
                    (Some(k), None) => Lookup::Found(k),
                    (None, _) => Lookup::Unknown,
                    (Some(_), Some(_)) => Lookup::Ambiguous,
                }
            }
        }
    }

    /// Whether a key of this id is in the set.
    pub(crate) fn contains_id(&self, id: u64) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Parses a JWKS document leniently: every key that cannot be used is skipped, one at a time,
/// with a `tracing` event saying why. Only asymmetric signature keys for an allowed algorithm
/// are kept; `oct` (HMAC) keys never are.
pub(crate) fn parse_jwks(
    body: &[u8],
    allowed: &[Algorithm],
    previous: Option<&KeySet>,
    issuer: &str,
) -> Result<Vec<Arc<VerifyKey>>, LoadError> {
    parse_jwks_reporting(body, allowed, previous, issuer, &mut JwksReport::default())
}

/// What [`parse_jwks_reporting`] saw: how many keys the set listed, and which it skipped.
#[derive(Debug, Default)]
pub(crate) struct JwksReport {
    /// Entries of the `keys` array.
    pub(crate) listed: usize,
    /// Entries not kept, in order.
    pub(crate) skipped: Vec<SkippedKey>,
}

/// A key of a set that was not kept.
#[derive(Debug)]
pub(crate) struct SkippedKey {
    /// Its position in the `keys` array.
    pub(crate) index: usize,
    /// Its `kid`, as published (provider text: escape it before showing it).
    pub(crate) kid: Option<String>,
    /// Why, in this crate's words.
    pub(crate) why: &'static str,
}

/// [`parse_jwks`], also telling in `report` which keys were skipped and why (the tenant
/// doctor shows it).
pub(crate) fn parse_jwks_reporting(
    body: &[u8],
    allowed: &[Algorithm],
    previous: Option<&KeySet>,
    issuer: &str,
    report: &mut JwksReport,
) -> Result<Vec<Arc<VerifyKey>>, LoadError> {
    let raw: RawJwks =
        serde_json::from_slice(body).map_err(|e| LoadError::Document(format!("key set: {e}")))?;
    report.listed = raw.keys.len();
    let mut keys: Vec<Arc<VerifyKey>> = Vec::with_capacity(raw.keys.len());
    let mut skip = |index: usize, kid: Option<&str>, why: &'static str| {
        report.skipped.push(SkippedKey {
            index,
            kid: kid.map(str::to_owned),
            why,
        });
    };
    for (index, value) in raw.keys.iter().enumerate() {
        let described = match describe(value, allowed) {
            Ok(described) => described,
            Err(why) => {
                tracing::info!(issuer, index, why, "skipping key");
                skip(index, value.get("kid").and_then(|k| k.as_str()), why);
                continue;
            }
        };
        let Described {
            kid,
            alg,
            fingerprint,
            material,
        } = described;
        if kid.is_some() && keys.iter().any(|k| k.kid == kid) {
            tracing::warn!(issuer, index, kid = ?kid, "skipping key: duplicate kid");
            skip(index, kid.as_deref(), "duplicate kid");
            continue;
        }
        // The same key listed twice without a kid: keep one, or tokens without a kid would
        // find two candidates and be refused as ambiguous.
        if kid.is_none()
            && keys
                .iter()
                .any(|k| k.kid.is_none() && k.alg == alg && k.fingerprint == fingerprint)
        {
            tracing::info!(issuer, index, "skipping key: listed twice");
            skip(index, None, "listed twice");
            continue;
        }
        // An unchanged key keeps its parsed form (and id): only new keys are parsed.
        let reused = previous.and_then(|set| {
            set.keys
                .iter()
                .find(|k| k.kid == kid && k.alg == alg && k.fingerprint == fingerprint)
        });
        if let Some(k) = reused {
            keys.push(Arc::clone(k));
            continue;
        }
        match material.parse(alg) {
            Ok(key) => keys.push(Arc::new(VerifyKey {
                kid,
                alg,
                key,
                id: NEXT_KEY_ID.fetch_add(1, Ordering::Relaxed),
                fingerprint,
            })),
            Err(why) => {
                tracing::info!(issuer, index, why, "skipping key");
                skip(index, kid.as_deref(), why);
            }
        }
    }
    if keys.is_empty() {
        return Err(LoadError::NoUsableKeys);
    }
    Ok(keys)
}

/// A JWK that passed every check that needs no parsing of its key material.
struct Described {
    kid: Option<String>,
    alg: Algorithm,
    /// The key material as published, to tell an unchanged key on a refresh.
    fingerprint: String,
    material: Material,
}

/// The base64url key material of a JWK, parsed only when the key is new.
enum Material {
    Rsa { n: String, e: String },
    Ec { crv: String, x: String, y: String },
    Ed25519 { x: String },
}

impl Material {
    /// The key in the backend's ready form (size and length rules in [`PublicKey`]).
    fn parse(&self, alg: Algorithm) -> Result<PublicKey, &'static str> {
        let decode = |text: &str, what| URL_SAFE_NO_PAD.decode(text).map_err(|_| what);
        let key = match self {
            Material::Rsa { n, e } => PublicKey::rsa(
                alg,
                &decode(n, "n is not base64url")?,
                &decode(e, "e is not base64url")?,
            ),
            Material::Ec { crv, x, y } => PublicKey::ec(
                crv,
                &decode(x, "x is not base64url")?,
                &decode(y, "y is not base64url")?,
            ),
            Material::Ed25519 { x } => PublicKey::ed25519(&decode(x, "x is not base64url")?),
        }?;
        // The curve decides an EC key's algorithm; it must be the one the JWK was taken for.
        if key.alg() != alg {
            return Err("key algorithm differs from the JWK's");
        }
        Ok(key)
    }
}

fn describe(value: &serde_json::Value, allowed: &[Algorithm]) -> Result<Described, &'static str> {
    let jwk = RawJwk::deserialize(value).map_err(|_| "not a JWK object")?;
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        return Err("key_ops lacks verify");
    }
    let kty = jwk.kty.as_deref().ok_or("no kty")?;
    let (alg, fingerprint, material) = match kty {
        "RSA" => {
            let alg = match jwk.alg.as_deref() {
                None => Algorithm::RS256,
                Some(a @ ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512")) => {
                    Algorithm::from_name(a).ok_or("unsupported alg")?
                }
                Some(_) => return Err("unsupported alg for RSA"),
            };
            let (n, e) = jwk.n.zip(jwk.e).ok_or("RSA key without n or e")?;
            (alg, format!("RSA|{n}|{e}"), Material::Rsa { n, e })
        }
        "EC" => {
            let crv = jwk.crv.ok_or("EC key without crv")?;
            let alg = match (crv.as_str(), jwk.alg.as_deref()) {
                ("P-256", None | Some("ES256")) => Algorithm::ES256,
                ("P-384", None | Some("ES384")) => Algorithm::ES384,
                _ => return Err("unsupported EC curve or alg"),
            };
            let (x, y) = jwk.x.zip(jwk.y).ok_or("EC key without x or y")?;
            let fingerprint = format!("EC|{crv}|{x}|{y}");
            (alg, fingerprint, Material::Ec { crv, x, y })
        }
        "OKP" => {
            match (jwk.crv.as_deref(), jwk.alg.as_deref()) {
                (Some("Ed25519"), None | Some("EdDSA") | Some("Ed25519")) => {}
                _ => return Err("unsupported OKP curve or alg"),
            }
            let x = jwk.x.ok_or("OKP key without x")?;
            (
                Algorithm::EdDSA,
                format!("OKP|{x}"),
                Material::Ed25519 { x },
            )
        }
        "oct" => return Err("symmetric (oct) keys are never used"),
        _ => return Err("unknown kty"),
    };
    if !allowed.contains(&alg) {
        return Err("algorithm not in the allow-list");
    }
    Ok(Described {
        kid: jwk.kid,
        alg,
        fingerprint,
        material,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_jwk(kid: &str, bits: usize) -> serde_json::Value {
        let mut n = vec![0xC5u8; bits / 8];
        n[bits / 8 - 1] = 0x01;
        serde_json::json!({"kty":"RSA","kid":kid,"alg":"RS256","use":"sig",
            "n": URL_SAFE_NO_PAD.encode(&n), "e":"AQAB"})
    }

    #[test]
    fn lenient_parsing_skips_unusable_keys() {
        let doc = serde_json::json!({"keys":[
            rsa_jwk("good", 2048),
            rsa_jwk("small", 1024),
            {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"XYZ","kid":"weird"},
            {"kty":"RSA","kid":"hs","alg":"HS256","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bad-b64","n":"!!!","e":"AQAB"},
            "not an object",
            rsa_jwk("good", 2048),
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes(), &[Algorithm::RS256], None, "x").unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("good"));
    }

    #[test]
    fn only_allowed_algorithms_and_stable_ids() {
        let doc = serde_json::json!({"keys":[rsa_jwk("a", 2048), rsa_jwk("b", 4096)]}).to_string();
        assert!(matches!(
            parse_jwks(doc.as_bytes(), &[Algorithm::ES256], None, "x"),
            Err(LoadError::NoUsableKeys)
        ));
        let first = KeySet {
            keys: parse_jwks(doc.as_bytes(), &[Algorithm::RS256], None, "x").unwrap(),
            generation: 1,
        };
        let second = parse_jwks(doc.as_bytes(), &[Algorithm::RS256], Some(&first), "x").unwrap();
        assert_eq!(first.keys[0].id, second[0].id);
        assert_eq!(first.keys[1].id, second[1].id);
    }

    #[test]
    fn lookup_rules() {
        let doc = serde_json::json!({"keys":[rsa_jwk("a", 2048), rsa_jwk("b", 2048)]}).to_string();
        let set = KeySet {
            keys: parse_jwks(doc.as_bytes(), &[Algorithm::RS256], None, "x").unwrap(),
            generation: 1,
        };
        assert!(matches!(
            set.find(Some("a"), Algorithm::RS256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.find(Some("a"), Algorithm::PS256),
            Lookup::WrongAlgorithm
        ));
        assert!(matches!(
            set.find(Some("z"), Algorithm::RS256),
            Lookup::Unknown
        ));
        assert!(matches!(
            set.find(None, Algorithm::RS256),
            Lookup::Ambiguous
        ));
        assert!(matches!(set.find(None, Algorithm::ES256), Lookup::Unknown));
    }

    // Parsed keys across a key-set rotation, against the mock Okta over HTTP: a refresh parses
    // the new key (off the request path) and keeps the parsed form of an unchanged one; a key
    // that leaves the set is freed as soon as no verification holds it (the token cache keeps
    // key ids, never keys), and the tokens it verified stop being served.
    #[cfg(feature = "test-util")]
    use {
        crate::error::{AuthError, TokenError},
        crate::handle::OktaOidc,
        crate::provider::key_cache::KeyCache,
        crate::tenant::config::Tenant,
        crate::testing::MockOkta,
        std::sync::Weak,
    };

    #[cfg(feature = "test-util")]
    async fn setup() -> (MockOkta, OktaOidc, Arc<KeyCache>) {
        let okta = MockOkta::start().await;
        let oidc = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(Tenant::new("acme", okta.issuer()).client_id(okta.client_id()))
            .background_refresh(false)
            .build()
            .await
            .unwrap();
        let keys = oidc
            .directory()
            .registry
            .by_issuer(&okta.issuer())
            .unwrap()
            .keys
            .clone();
        (okta, oidc, keys)
    }

    /// The signing input and the decoded signature of a compact token.
    #[cfg(feature = "test-util")]
    fn signed_parts(token: &str) -> (&[u8], Vec<u8>) {
        let (message, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        (message.as_bytes(), signature)
    }

    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn rotation_swaps_in_a_new_parsed_key_and_frees_the_old_one() {
        let (okta, oidc, keys) = setup().await;
        let old_kid = okta.signing_kid();
        let old_token = okta.id_token().build();
        oidc.validate(&old_token).await.unwrap(); // verified, and now cached
        let old_key = keys.current_key(Some(&old_kid), Algorithm::RS256).unwrap();
        let old_weak: Weak<_> = Arc::downgrade(&old_key);

        // Rotation: the new key is published and signs; the old one stays published.
        let new_kid = okta.rotate_keys();
        assert!(keys.current_key(Some(&new_kid), Algorithm::RS256).is_none());
        oidc.refresh_keys("acme").await.unwrap();
        let new_key = keys.current_key(Some(&new_kid), Algorithm::RS256).unwrap();
        assert_ne!(new_key.id, old_key.id);
        let new_token = okta.id_token().build();
        let (message, signature) = signed_parts(&new_token);
        assert!(
            new_key.key.verify(message, &signature),
            "the new key, parsed"
        );
        assert!(!old_key.key.verify(message, &signature));
        // The unchanged key keeps its parsed form: the same value, not parsed again.
        let kept = keys.current_key(Some(&old_kid), Algorithm::RS256).unwrap();
        assert!(Arc::ptr_eq(&kept, &old_key));
        drop(kept);
        oidc.validate(&new_token).await.unwrap();
        oidc.validate(&old_token).await.unwrap();

        // The old key leaves the set. A verification still holding it (`old_key` here) keeps it
        // alive; once it lets go, nothing does: the key set, the token cache (key ids only) and
        // the cached tokens it verified hold no reference.
        okta.retire_key(&old_kid);
        oidc.refresh_keys("acme").await.unwrap();
        assert!(keys.current_key(Some(&old_kid), Algorithm::RS256).is_none());
        assert!(
            old_weak.upgrade().is_some(),
            "held by an in-flight verification"
        );
        drop(old_key);
        assert!(old_weak.upgrade().is_none(), "the old parsed key is freed");
        // The token it verified is no longer served from the cache, nor verified again.
        assert!(matches!(
            oidc.validate(&old_token).await,
            Err(AuthError::InvalidToken(TokenError::UnknownKey))
        ));
        oidc.validate(&new_token).await.unwrap();
    }
}
