//! The public key of a DPoP proof: the header's `jwk` (RFC 9449 §4.2), checked to be a public
//! key of the proof's algorithm, made ready to verify, and its JWK SHA-256 thumbprint
//! (RFC 7638 §3).
//!
//! Separate from `provider/jwk.rs` on purpose: a key set is parsed leniently (an unusable key is
//! skipped), a proof key strictly (anything odd refuses the proof), and a proof key is never
//! cached or trusted beyond the one proof it signs.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::algorithm::Algorithm;
use crate::error::ProofError;
use crate::provider::public_key::PublicKey;

/// JWK members that only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1;
/// RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof's public key, ready to verify its signature.
pub(crate) struct ProofKey {
    pub(crate) key: PublicKey,
    /// base64url(SHA-256(the RFC 7638 canonical JSON of the key)).
    pub(crate) thumbprint: String,
}

/// Reads the header `jwk` of a proof signed with `alg`: a public key of the matching type,
/// with no private member.
pub(crate) fn proof_key(jwk: &Map<String, Value>, alg: Algorithm) -> Result<ProofKey, ProofError> {
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(ProofError::PrivateKey);
    }
    let member = |name: &'static str| -> Result<&str, ProofError> {
        let value = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or(ProofError::InvalidKey("a required member is missing"))?;
        if value.is_empty() || !value.bytes().all(is_base64url) {
            return Err(ProofError::InvalidKey("a member is not base64url"));
        }
        Ok(value)
    };
    let kty = jwk.get("kty").and_then(Value::as_str);
    let crv = jwk.get("crv").and_then(Value::as_str);
    if let Some(key_alg) = jwk.get("alg")
        && key_alg.as_str() != Some(alg.name())
    {
        return Err(ProofError::InvalidKey("the key's alg is not the proof's"));
    }
    match alg {
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => {
            if kty != Some("RSA") {
                return Err(ProofError::InvalidKey("kty is not RSA"));
            }
            let (n, e) = (member("n")?, member("e")?);
            let key =
                PublicKey::rsa(alg, &decode(n)?, &decode(e)?).map_err(ProofError::InvalidKey)?;
            Ok(ProofKey {
                key,
                thumbprint: thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#)),
            })
        }
        Algorithm::ES256 | Algorithm::ES384 => {
            let (curve, size) = if alg == Algorithm::ES256 {
                ("P-256", 32)
            } else {
                ("P-384", 48)
            };
            if kty != Some("EC") || crv != Some(curve) {
                return Err(ProofError::InvalidKey(
                    "not an EC key on the algorithm's curve",
                ));
            }
            let (x, y) = (member("x")?, member("y")?);
            let (x_bytes, y_bytes) = (decode(x)?, decode(y)?);
            if x_bytes.len() != size || y_bytes.len() != size {
                return Err(ProofError::InvalidKey("EC coordinates of the wrong size"));
            }
            let key = PublicKey::ec(curve, &x_bytes, &y_bytes).map_err(ProofError::InvalidKey)?;
            let canonical = format!(r#"{{"crv":"{curve}","kty":"EC","x":"{x}","y":"{y}"}}"#);
            Ok(ProofKey {
                key,
                thumbprint: thumbprint(&canonical),
            })
        }
        Algorithm::EdDSA => {
            if kty != Some("OKP") || crv != Some("Ed25519") {
                return Err(ProofError::InvalidKey("not an Ed25519 key"));
            }
            let x = member("x")?;
            let key = PublicKey::ed25519(&decode(x)?).map_err(ProofError::InvalidKey)?;
            Ok(ProofKey {
                key,
                thumbprint: thumbprint(&format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#)),
            })
        }
    }
}

fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn decode(member: &str) -> Result<Vec<u8>, ProofError> {
    URL_SAFE_NO_PAD
        .decode(member)
        .map_err(|_| ProofError::InvalidKey("a member is not base64url"))
}

/// base64url(SHA-256(`canonical`)): the members were checked to be base64url, so the
/// canonical JSON needs no escaping (RFC 7638 §3.3).
fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1: the example RSA key and its thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = object(serde_json::json!({"kty": "RSA", "e": "AQAB", "n": n, "alg": "RS256"}));
        let key = proof_key(&jwk, Algorithm::RS256).unwrap();
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn private_and_mismatched_keys_are_refused() {
        let ec = serde_json::json!({"kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])});
        let mut private = object(ec.clone());
        private.insert("d".into(), "AAAA".into());
        assert!(matches!(
            proof_key(&private, Algorithm::ES256),
            Err(ProofError::PrivateKey)
        ));
        let public = object(ec);
        for alg in [Algorithm::ES384, Algorithm::RS256, Algorithm::EdDSA] {
            assert!(
                matches!(proof_key(&public, alg), Err(ProofError::InvalidKey(_))),
                "{alg}"
            );
        }
        let mut wrong_alg = public.clone();
        wrong_alg.insert("alg".into(), "ES384".into());
        assert!(proof_key(&wrong_alg, Algorithm::ES256).is_err());
        let oct = object(serde_json::json!({"kty": "oct", "k": "c2VjcmV0"}));
        assert!(matches!(
            proof_key(&oct, Algorithm::ES256),
            Err(ProofError::PrivateKey)
        ));
    }
}
