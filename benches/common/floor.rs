//! The floor of a validation: one signature check with the key parsed once, in the backend's
//! own ready form, of the fixture token's signing input and (decoded) signature — nothing else.
//!
//! Built here, directly on the backend crate, from the JWK the mock org publishes (not through
//! okta-oidc's private key type), so the floor does not move with the library's code:
//!
//! - feature `aws_lc_rs`: `aws_lc_rs::signature::ParsedPublicKey`;
//! - feature `rust_crypto` alone: the RustCrypto verifying key (`rsa::pkcs1v15::VerifyingKey`,
//!   `p256::ecdsa::VerifyingKey`, `ed25519_dalek::VerifyingKey`).
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

fn component(jwk: &Value, name: &str) -> Vec<u8> {
    let text = jwk[name]
        .as_str()
        .unwrap_or_else(|| panic!("JWK without {name}"));
    URL_SAFE_NO_PAD
        .decode(text)
        .expect("base64url JWK component")
}

/// The published JWK of `kid` in a key set document (`{"keys": [...]}`).
pub fn jwk<'a>(jwks: &'a Value, kid: &str) -> &'a Value {
    jwks["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["kid"] == kid)
        .unwrap_or_else(|| panic!("no key {kid} published"))
}

/// The signing input (`header.payload`) and decoded signature of a compact token.
pub fn split(token: &str) -> (Vec<u8>, Vec<u8>) {
    let (message, signature) = token.rsplit_once('.').expect("compact JWS");
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .expect("base64url signature");
    (message.as_bytes().to_vec(), signature)
}

#[cfg(feature = "aws_lc_rs")]
mod backend {
    use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
    use serde_json::Value;

    use super::component;

    pub struct Floor(ParsedPublicKey);

    impl Floor {
        /// The key of this JWK for its algorithm: RS256, ES256 (P-256) or EdDSA (Ed25519).
        pub fn new(jwk: &Value) -> Floor {
            let key = match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
                (Some("RSA"), _) => RsaPublicKeyComponents {
                    n: component(jwk, "n"),
                    e: component(jwk, "e"),
                }
                .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256),
                (Some("EC"), Some("P-256")) => {
                    let mut point = vec![0x04];
                    point.extend(component(jwk, "x"));
                    point.extend(component(jwk, "y"));
                    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                }
                (Some("OKP"), Some("Ed25519")) => {
                    ParsedPublicKey::new(&signature::ED25519, component(jwk, "x"))
                }
                other => panic!("no floor for {other:?}"),
            };
            Floor(key.expect("public key"))
        }

        #[inline]
        pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            self.0.verify_sig(message, signature).is_ok()
        }
    }
}

#[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
mod backend {
    // One `Verifier` trait (signature 2.x) serves rsa, p256, p384 and ed25519-dalek.
    use rsa::signature::Verifier as _;
    use serde_json::Value;

    use super::component;

    pub enum Floor {
        Rs256(rsa::pkcs1v15::VerifyingKey<sha2::Sha256>),
        Es256(p256::ecdsa::VerifyingKey),
        EdDsa(ed25519_dalek::VerifyingKey),
    }

    impl Floor {
        /// The key of this JWK for its algorithm: RS256, ES256 (P-256) or EdDSA (Ed25519).
        pub fn new(jwk: &Value) -> Floor {
            match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
                (Some("RSA"), _) => {
                    let n = rsa::BigUint::from_bytes_be(&component(jwk, "n"));
                    let e = rsa::BigUint::from_bytes_be(&component(jwk, "e"));
                    let key = rsa::RsaPublicKey::new(n, e).expect("RSA key");
                    Floor::Rs256(rsa::pkcs1v15::VerifyingKey::new(key))
                }
                (Some("EC"), Some("P-256")) => {
                    let mut point = vec![0x04];
                    point.extend(component(jwk, "x"));
                    point.extend(component(jwk, "y"));
                    Floor::Es256(p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("EC"))
                }
                (Some("OKP"), Some("Ed25519")) => {
                    let x: [u8; 32] = component(jwk, "x").try_into().expect("32 bytes");
                    Floor::EdDsa(ed25519_dalek::VerifyingKey::from_bytes(&x).expect("Ed25519"))
                }
                other => panic!("no floor for {other:?}"),
            }
        }

        #[inline]
        pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
            match self {
                Floor::Rs256(k) => rsa::pkcs1v15::Signature::try_from(signature)
                    .is_ok_and(|s| k.verify(message, &s).is_ok()),
                Floor::Es256(k) => p256::ecdsa::Signature::from_slice(signature)
                    .is_ok_and(|s| k.verify(message, &s).is_ok()),
                Floor::EdDsa(k) => ed25519_dalek::Signature::from_slice(signature)
                    .is_ok_and(|s| k.verify(message, &s).is_ok()),
            }
        }
    }
}

pub use backend::Floor;
