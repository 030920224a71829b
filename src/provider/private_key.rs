//! [`ClientKey`]: a client's private key for `private_key_jwt` client authentication (OpenID
//! Connect Core §9, RFC 7523 §2.2): an RSA key (RS256, as Okta accepts for service apps),
//! parsed once into the crypto backend's signing form, that signs client assertions.
//!
//! Backends as for verification (`public_key.rs`): aws-lc-rs with feature `aws_lc_rs`, else the
//! RustCrypto `rsa` crate with `rust_crypto`.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::ConfigError;

/// A client's private signing key (RSA, RS256) for `private_key_jwt`, with the `kid` of its
/// public half as registered at the provider (Okta: the app's **Public keys**). `Debug` never
/// shows the key.
///
/// ```
/// # fn main() {
/// let pem = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n";
/// assert!(okta_oidc::ClientKey::from_pkcs8_pem(pem, Some("key-1")).is_err());
/// # }
/// ```
#[derive(Clone)]
pub struct ClientKey {
    kid: Option<Arc<str>>,
    key: Arc<backend::Key>,
}

impl fmt::Debug for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ClientKey {
    /// An RSA private key in PKCS #8 PEM (`-----BEGIN PRIVATE KEY-----`), 2048 bits or more.
    pub fn from_pkcs8_pem(pem: &str, kid: Option<&str>) -> Result<Self, ConfigError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN PRIVATE KEY-----")
            .skip(1)
            .take_while(|l| *l != "-----END PRIVATE KEY-----")
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| ConfigError::Invalid("the client key is not PKCS #8 PEM"))?;
        Self::from_pkcs8_der(&der, kid)
    }

    /// An RSA private key in PKCS #8 DER, 2048 bits or more.
    pub fn from_pkcs8_der(der: &[u8], kid: Option<&str>) -> Result<Self, ConfigError> {
        let key = backend::rsa(der).map_err(ConfigError::Invalid)?;
        Ok(ClientKey {
            kid: kid.map(Arc::from),
            key: Arc::new(key),
        })
    }

    /// The `kid` its assertions name.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The RS256 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>, &'static str> {
        backend::sign(&self.key, message)
    }
}

#[cfg(feature = "aws_lc_rs")]
mod backend {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

    pub(super) struct Key(RsaKeyPair);

    pub(super) fn rsa(der: &[u8]) -> Result<Key, &'static str> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|_| "the client key is not an RSA private key (PKCS #8) of 2048+ bits")?;
        Ok(Key(pair))
    }

    pub(super) fn sign(key: &Key, message: &[u8]) -> Result<Vec<u8>, &'static str> {
        let mut signature = vec![0; key.0.public_modulus_len()];
        key.0
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message,
                &mut signature,
            )
            .map_err(|_| "RS256 signing failed")?;
        Ok(signature)
    }
}

#[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
mod backend {
    use rsa::pkcs1v15::SigningKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::{SignatureEncoding, Signer};
    use rsa::traits::PublicKeyParts;

    pub(super) struct Key(SigningKey<sha2::Sha256>);

    pub(super) fn rsa(der: &[u8]) -> Result<Key, &'static str> {
        let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
            .map_err(|_| "the client key is not an RSA private key (PKCS #8)")?;
        if key.size() * 8 < 2048 {
            return Err("the client key is under 2048 bits");
        }
        Ok(Key(SigningKey::new(key)))
    }

    pub(super) fn sign(key: &Key, message: &[u8]) -> Result<Vec<u8>, &'static str> {
        key.0
            .try_sign(message)
            .map(|s| s.to_vec())
            .map_err(|_| "RS256 signing failed")
    }
}

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
mod backend {
    pub(super) enum Key {}

    pub(super) fn rsa(_: &[u8]) -> Result<Key, &'static str> {
        Err("no signature backend (enable aws_lc_rs or rust_crypto)")
    }

    pub(super) fn sign(key: &Key, _: &[u8]) -> Result<Vec<u8>, &'static str> {
        match *key {}
    }
}

#[cfg(all(
    test,
    feature = "test-util",
    any(feature = "aws_lc_rs", feature = "rust_crypto")
))]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use jsonwebtoken::EncodingKey;
    use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};

    use super::ClientKey;
    use crate::algorithm::Algorithm;
    use crate::provider::public_key::PublicKey;

    const RSA_PEM: &str = include_str!("../testing/keys/rsa2.pem");
    const EC_PEM: &str = include_str!("../testing/keys/ec1.pem");

    #[test]
    fn signs_rs256_that_the_public_half_verifies_rfc_7523() {
        #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let key = ClientKey::from_pkcs8_pem(RSA_PEM, Some("k1")).unwrap();
        assert_eq!(key.kid(), Some("k1"));
        assert!(!format!("{key:?}").contains("PRIVATE"));
        let encoding = EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
        let jwk = Jwk::from_encoding_key(&encoding, jsonwebtoken::Algorithm::RS256).unwrap();
        let AlgorithmParameters::RSA(p) = &jwk.algorithm else {
            panic!("an RSA JWK")
        };
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).unwrap();
        let public = PublicKey::rsa(Algorithm::RS256, &b64(&p.n), &b64(&p.e)).unwrap();
        let signature = key.sign(b"header.payload").unwrap();
        assert!(public.verify(b"header.payload", &signature));
        assert!(!public.verify(b"header.payloaD", &signature));
    }

    #[test]
    fn refuses_what_is_not_an_rsa_pkcs8_key() {
        assert!(ClientKey::from_pkcs8_pem(EC_PEM, None).is_err());
        assert!(ClientKey::from_pkcs8_pem("no pem", None).is_err());
        assert!(ClientKey::from_pkcs8_der(b"\x30\x00", None).is_err());
    }
}
