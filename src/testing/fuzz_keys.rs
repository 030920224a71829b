//! The signing keys of the fuzz harness (`rust_crypto` backend): an Ed25519 key for the
//! tenants (logout tokens, the DPoP-bound access token), another for the DPoP client, and an
//! RSA key for the tenants' Universal Logout requests (RS256 only). Fixed material, never
//! generated: the seeds signed with them stay valid.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub(crate) const TENANT_SEED: [u8; 32] = [0x51; 32];
pub(crate) const CLIENT_SEED: [u8; 32] = [0x44; 32];

/// An Ed25519 key of the harness: its public JWK and its signer (the crate's own backend).
pub(crate) struct EdKey {
    seed: [u8; 32],
    public: [u8; 32],
}

impl EdKey {
    pub(crate) fn new(seed: [u8; 32]) -> EdKey {
        let (public, _) = ed25519(&seed, b"");
        EdKey { seed, public }
    }

    pub(crate) fn jwk(&self) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(self.public)})
    }

    /// RFC 7638 thumbprint: the members `crv`, `kty`, `x` in that order.
    pub(crate) fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
            URL_SAFE_NO_PAD.encode(self.public)
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// `header.payload.signature`, both segments the given bytes verbatim.
    pub(crate) fn sign(&self, header: &[u8], payload: &[u8]) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let (_, signature) = ed25519(&self.seed, message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

fn ed25519(seed: &[u8; 32], message: &[u8]) -> ([u8; 32], [u8; 64]) {
    use ed25519_dalek::{Signer, SigningKey};
    let key = SigningKey::from_bytes(seed);
    (key.verifying_key().to_bytes(), key.sign(message).to_bytes())
}

/// An RSA key of the harness (`src/testing/keys/rsa6.pem`, which the mock org never publishes):
/// Universal Logout requests are RS256 only.
///
/// RSA signing is slow under the fuzzer's instrumentation (about half a second a signature with
/// AddressSanitizer and comparison tracing), so signatures are remembered by message: the
/// fuzzer mutating a request's body reuses its token's signature.
pub(crate) struct RsaKey {
    signer: rsa::pkcs1v15::SigningKey<Sha256>,
    pub(crate) jwk: Value,
    signed: Mutex<HashMap<String, String>>,
}

/// Signatures remembered at most (then forgotten all at once).
const MAX_SIGNED: usize = 4096;

impl RsaKey {
    pub(crate) fn new() -> RsaKey {
        use base64::engine::general_purpose::STANDARD;
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let pem = include_str!("keys/rsa6.pem");
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body).expect("an embedded PEM key");
        let key = rsa::RsaPrivateKey::from_pkcs8_der(&der).expect("an embedded RSA key");
        let jwk = json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        });
        RsaKey {
            signer: rsa::pkcs1v15::SigningKey::<Sha256>::new(key),
            jwk,
            signed: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn sign(&self, header: &[u8], payload: &[u8]) -> String {
        use rsa::signature::{SignatureEncoding, Signer};
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let mut signed = self.signed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(signature) = signed.get(&message) {
            return format!("{message}.{signature}");
        }
        let signature = URL_SAFE_NO_PAD.encode(self.signer.sign(message.as_bytes()).to_vec());
        if signed.len() >= MAX_SIGNED {
            signed.clear();
        }
        signed.insert(message.clone(), signature.clone());
        format!("{message}.{signature}")
    }
}
