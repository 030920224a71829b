//! Sealing cookie values: XChaCha20-Poly1305 with keys derived by HKDF-SHA256 from the session
//! secrets, random values from the operating system.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Version byte in front of every sealed value.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// What a key is for; each purpose gets its own derived key.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Purpose {
    Login,
    Session,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Purpose::Login => b"okta-oidc login cookie v1",
            Purpose::Session => b"okta-oidc session cookie v1",
        }
    }
}

/// The derived keys of one secret.
struct KeyPair {
    login: XChaCha20Poly1305,
    session: XChaCha20Poly1305,
}

/// The keys of the current secret (first) and of older secrets (decrypt only).
pub(crate) struct KeyRing {
    keys: Vec<KeyPair>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

fn derive(secret: &[u8], purpose: Purpose) -> XChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(b"okta-oidc"), secret);
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit of 8160: this cannot fail.
    let _ = hk.expand(purpose.info(), &mut okm);
    XChaCha20Poly1305::new((&okm).into())
}

impl KeyRing {
    /// Keys from secrets, the current one first.
    pub(crate) fn new(secrets: &[Vec<u8>]) -> Self {
        KeyRing {
            keys: secrets
                .iter()
                .map(|s| KeyPair {
                    login: derive(s, Purpose::Login),
                    session: derive(s, Purpose::Session),
                })
                .collect(),
        }
    }

    fn cipher(pair: &KeyPair, purpose: Purpose) -> &XChaCha20Poly1305 {
        match purpose {
            Purpose::Login => &pair.login,
            Purpose::Session => &pair.session,
        }
    }

    /// Encrypts and authenticates `plaintext` (bound to `aad`, e.g. the cookie name) with the
    /// current key; returns base64url text.
    pub(crate) fn seal(&self, purpose: Purpose, aad: &[u8], plaintext: &[u8]) -> Option<String> {
        let pair = self.keys.first()?;
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce).ok()?;
        let ciphertext = Self::cipher(pair, purpose)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Some(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts a value sealed by any key of the ring; `None` if it was tampered with, sealed
    /// for another purpose or name, or with an unknown key.
    pub(crate) fn open(&self, purpose: Purpose, aad: &[u8], sealed: &str) -> Option<Vec<u8>> {
        let raw = URL_SAFE_NO_PAD.decode(sealed).ok()?;
        if raw.len() < 1 + NONCE_LEN + TAG_LEN || raw[0] != VERSION {
            return None;
        }
        let (nonce, ciphertext) = raw[1..].split_at(NONCE_LEN);
        let nonce = XNonce::from(<[u8; NONCE_LEN]>::try_from(nonce).ok()?);
        self.keys.iter().find_map(|pair| {
            Self::cipher(pair, purpose)
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad,
                    },
                )
                .ok()
        })
    }
}

/// Fills `buf` from the operating system's random source.
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

/// `bytes` random bytes as base64url without padding.
pub(crate) fn random_token(bytes: usize) -> Option<String> {
    let mut buf = vec![0u8; bytes];
    fill_random(&mut buf).ok()?;
    Some(URL_SAFE_NO_PAD.encode(buf))
}

/// A fresh random secret, for apps that start without one.
pub(crate) fn random_secret() -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 32];
    fill_random(&mut buf).ok()?;
    Some(buf)
}

/// The PKCE S256 challenge of a verifier.
pub(crate) fn pkce_challenge(verifier: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_rotation_and_tamper() {
        let old = KeyRing::new(&[b"old secret old secret old secret".to_vec()]);
        let rotated = KeyRing::new(&[
            b"new secret new secret new secret".to_vec(),
            b"old secret old secret old secret".to_vec(),
        ]);
        let sealed = old.seal(Purpose::Session, b"s", b"hello").unwrap();
        assert_eq!(
            rotated.open(Purpose::Session, b"s", &sealed).as_deref(),
            Some(&b"hello"[..])
        );
        assert!(rotated.open(Purpose::Login, b"s", &sealed).is_none());
        assert!(rotated.open(Purpose::Session, b"t", &sealed).is_none());
        let fresh = rotated.seal(Purpose::Session, b"s", b"hi").unwrap();
        assert!(old.open(Purpose::Session, b"s", &fresh).is_none());
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        assert!(old.open(Purpose::Session, b"s", &tampered).is_none());
        assert!(old.open(Purpose::Session, b"s", "").is_none());
        assert!(old.open(Purpose::Session, b"s", "!!!").is_none());
    }

    #[test]
    fn pkce_rfc7636_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
