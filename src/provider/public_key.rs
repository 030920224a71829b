//! A verification key parsed once into the crypto backend's ready form.
//!
//! `jsonwebtoken` keeps a key as its JWK components and rebuilds the backend's key on every
//! verification (for RSA: two big numbers, an `RSA` object and its Montgomery context). A
//! [`PublicKey`] is built once per key-set entry and reused for every token, so a verification
//! costs the signature check alone.
//!
//! Backends: with feature `aws_lc_rs` (the default), an `aws_lc_rs::signature::ParsedPublicKey`;
//! with only `rust_crypto`, the RustCrypto verifying keys (`rsa`, `p256`, `p384`,
//! `ed25519-dalek`) that `jsonwebtoken` already builds on. When both features are on, aws-lc-rs
//! is used. Key policy is the crate's: RSA moduli under 2048 bits are refused; EC and Ed25519
//! coordinates must have their exact length (RFC 7518 §6.2.1.2, RFC 8037 §2).
//!
//! Signatures are the raw JWS bytes (already base64url-decoded): RSA as is, ECDSA as the
//! fixed-size `r || s` of RFC 7518 §3.4 (not DER), Ed25519 as its 64 bytes.

use std::fmt;

use crate::algorithm::Algorithm;

/// Smallest RSA modulus accepted, in bits (counted as significant bytes × 8, as the key-set
/// parser always has).
const MIN_RSA_BITS: usize = 2048;
/// Largest RSA modulus accepted, in bits (aws-lc's verification limit).
const MAX_RSA_BITS: usize = 8192;
/// Largest RSA public exponent accepted, in bytes.
const MAX_RSA_EXPONENT_BYTES: usize = 8;

/// A signature verification key for one algorithm, parsed once.
pub(crate) struct PublicKey {
    alg: Algorithm,
    key: backend::Key,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// An RSA key from its JWK components `n` and `e` (big-endian, leading zeros allowed),
    /// for `alg` one of RS256/384/512 or PS256/384/512.
    pub(crate) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<PublicKey, &'static str> {
        if !matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ) {
            return Err("not an RSA algorithm");
        }
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        if n.len() * 8 < MIN_RSA_BITS {
            return Err("RSA key under 2048 bits");
        }
        if n.len() * 8 > MAX_RSA_BITS {
            return Err("RSA key over 8192 bits");
        }
        if e.is_empty() || e.len() > MAX_RSA_EXPONENT_BYTES {
            return Err("RSA exponent out of range");
        }
        let key = backend::rsa(alg, n, e)?;
        Ok(PublicKey { alg, key })
    }

    /// An EC key from its JWK `crv` and coordinates `x`, `y` (each exactly the curve's field
    /// size): P-256 gives ES256, P-384 gives ES384.
    pub(crate) fn ec(crv: &str, x: &[u8], y: &[u8]) -> Result<PublicKey, &'static str> {
        let (alg, size) = match crv {
            "P-256" => (Algorithm::ES256, 32),
            "P-384" => (Algorithm::ES384, 48),
            _ => return Err("unsupported EC curve"),
        };
        if x.len() != size || y.len() != size {
            return Err("EC coordinate of the wrong length");
        }
        // SEC1 uncompressed point: 0x04 || x || y.
        let mut point = [0u8; 1 + 2 * 48];
        point[0] = 0x04;
        point[1..=size].copy_from_slice(x);
        point[1 + size..=2 * size].copy_from_slice(y);
        let key = backend::ec(alg, &point[..=2 * size])?;
        Ok(PublicKey { alg, key })
    }

    /// An Ed25519 key (JWK `kty` OKP, `crv` Ed25519) from its 32-byte `x`; algorithm EdDSA.
    pub(crate) fn ed25519(x: &[u8]) -> Result<PublicKey, &'static str> {
        let x: &[u8; 32] = x
            .try_into()
            .map_err(|_| "Ed25519 key of the wrong length")?;
        let key = backend::ed25519(x)?;
        Ok(PublicKey {
            alg: Algorithm::EdDSA,
            key,
        })
    }

    /// The algorithm this key verifies.
    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Whether `signature` (raw bytes, base64url already decoded) is this key's signature of
    /// `message` under its algorithm.
    #[inline]
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        backend::verify(&self.key, message, signature)
    }
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// aws-lc-rs: one `ParsedPublicKey` (an `EVP_PKEY` with its algorithm) per key.
#[cfg(feature = "aws_lc_rs")]
mod backend {
    use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};

    use crate::algorithm::Algorithm;

    pub(super) type Key = ParsedPublicKey;

    pub(super) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Key, &'static str> {
        let params: &'static RsaParameters = match alg {
            Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
            _ => return Err("not an RSA algorithm"),
        };
        RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .map_err(|_| "invalid RSA key")
    }

    pub(super) fn ec(alg: Algorithm, sec1_point: &[u8]) -> Result<Key, &'static str> {
        let params = match alg {
            Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &signature::ECDSA_P384_SHA384_FIXED,
            _ => return Err("not an EC algorithm"),
        };
        ParsedPublicKey::new(params, sec1_point).map_err(|_| "invalid EC point")
    }

    pub(super) fn ed25519(x: &[u8; 32]) -> Result<Key, &'static str> {
        ParsedPublicKey::new(&signature::ED25519, x).map_err(|_| "invalid Ed25519 key")
    }

    #[inline]
    pub(super) fn verify(key: &Key, message: &[u8], signature: &[u8]) -> bool {
        key.verify_sig(message, signature).is_ok()
    }
}

/// RustCrypto: the verifying key of each algorithm's own crate.
#[cfg(all(feature = "rust_crypto", not(feature = "aws_lc_rs")))]
mod backend {
    // One `Verifier` trait (signature 2.x) serves rsa, p256, p384 and ed25519-dalek.
    use rsa::signature::Verifier as _;
    use rsa::{BigUint, RsaPublicKey, pkcs1v15, pss};
    use sha2::{Sha256, Sha384, Sha512};

    use crate::algorithm::Algorithm;

    pub(super) enum Key {
        Rs256(pkcs1v15::VerifyingKey<Sha256>),
        Rs384(pkcs1v15::VerifyingKey<Sha384>),
        Rs512(pkcs1v15::VerifyingKey<Sha512>),
        Ps256(pss::VerifyingKey<Sha256>),
        Ps384(pss::VerifyingKey<Sha384>),
        Ps512(pss::VerifyingKey<Sha512>),
        Es256(p256::ecdsa::VerifyingKey),
        Es384(p384::ecdsa::VerifyingKey),
        Ed25519(ed25519_dalek::VerifyingKey),
    }

    pub(super) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Key, &'static str> {
        let key = RsaPublicKey::new(BigUint::from_bytes_be(n), BigUint::from_bytes_be(e))
            .map_err(|_| "invalid RSA key")?;
        Ok(match alg {
            Algorithm::RS256 => Key::Rs256(pkcs1v15::VerifyingKey::new(key)),
            Algorithm::RS384 => Key::Rs384(pkcs1v15::VerifyingKey::new(key)),
            Algorithm::RS512 => Key::Rs512(pkcs1v15::VerifyingKey::new(key)),
            Algorithm::PS256 => Key::Ps256(pss::VerifyingKey::new(key)),
            Algorithm::PS384 => Key::Ps384(pss::VerifyingKey::new(key)),
            Algorithm::PS512 => Key::Ps512(pss::VerifyingKey::new(key)),
            _ => return Err("not an RSA algorithm"),
        })
    }

    pub(super) fn ec(alg: Algorithm, sec1_point: &[u8]) -> Result<Key, &'static str> {
        match alg {
            Algorithm::ES256 => p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1_point)
                .map(Key::Es256)
                .map_err(|_| "invalid EC point"),
            Algorithm::ES384 => p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1_point)
                .map(Key::Es384)
                .map_err(|_| "invalid EC point"),
            _ => Err("not an EC algorithm"),
        }
    }

    pub(super) fn ed25519(x: &[u8; 32]) -> Result<Key, &'static str> {
        ed25519_dalek::VerifyingKey::from_bytes(x)
            .map(Key::Ed25519)
            .map_err(|_| "invalid Ed25519 key")
    }

    pub(super) fn verify(key: &Key, message: &[u8], signature: &[u8]) -> bool {
        match key {
            Key::Rs256(k) => rsa_pkcs1(k, message, signature),
            Key::Rs384(k) => rsa_pkcs1(k, message, signature),
            Key::Rs512(k) => rsa_pkcs1(k, message, signature),
            Key::Ps256(k) => rsa_pss(k, message, signature),
            Key::Ps384(k) => rsa_pss(k, message, signature),
            Key::Ps512(k) => rsa_pss(k, message, signature),
            Key::Es256(k) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
            Key::Es384(k) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
            Key::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify(message, &s).is_ok()),
        }
    }

    fn rsa_pkcs1<D>(key: &pkcs1v15::VerifyingKey<D>, message: &[u8], signature: &[u8]) -> bool
    where
        D: sha2::Digest,
    {
        pkcs1v15::Signature::try_from(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
    }

    fn rsa_pss<D>(key: &pss::VerifyingKey<D>, message: &[u8], signature: &[u8]) -> bool
    where
        D: sha2::Digest + sha2::digest::FixedOutputReset,
    {
        pss::Signature::try_from(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
    }
}

/// No backend feature: every key is refused (jsonwebtoken cannot verify either).
#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
mod backend {
    use crate::algorithm::Algorithm;

    pub(super) enum Key {}

    const NO_BACKEND: &str = "no signature backend (enable aws_lc_rs or rust_crypto)";

    pub(super) fn rsa(_: Algorithm, _: &[u8], _: &[u8]) -> Result<Key, &'static str> {
        Err(NO_BACKEND)
    }

    pub(super) fn ec(_: Algorithm, _: &[u8]) -> Result<Key, &'static str> {
        Err(NO_BACKEND)
    }

    pub(super) fn ed25519(_: &[u8; 32]) -> Result<Key, &'static str> {
        Err(NO_BACKEND)
    }

    pub(super) fn verify(key: &Key, _: &[u8], _: &[u8]) -> bool {
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

    use super::PublicKey;
    use crate::algorithm::Algorithm;

    const RSA_PEM: &str = include_str!("../testing/keys/rsa1.pem");
    const RSA2_PEM: &str = include_str!("../testing/keys/rsa2.pem");
    const EC_PEM: &str = include_str!("../testing/keys/ec1.pem");
    const ED_PEM: &str = include_str!("../testing/keys/ed1.pem");
    /// A P-384 key for ES384 only here (the mock has none); made with
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384`.
    const EC384_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDDeZ2U392GMuGDHavlN
G7pvrph/eTVHHUTbkNMGK95tYBlRdKbzGwssUCF8Yw30PpuhZANiAARi7jjrA5So
Pa4RsDcvI6QSu0NqrZmkOaZlJOzz6iPKofFO26VwuOkXeyqJnKZ72DL5qGBkC1bh
jUL8G5siJ7bG1jB8CIi/xmbrUYWm+175eBe+DbVY+ucvRDnFLS7Sczs=
-----END PRIVATE KEY-----
";
    const WEAK_JWK: &str = include_str!("../testing/keys/rsa1024.jwk.json");

    const MESSAGE: &[u8] = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIwMHUxIn0";

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).expect("base64url")
    }

    /// The signing key of `alg` from the embedded PEMs, and its public key built through
    /// `PublicKey` from the JWK jsonwebtoken derives.
    fn material(alg: Algorithm, pem: &str) -> (EncodingKey, PublicKey) {
        // jsonwebtoken signs; with both backends on it needs a process-wide choice.
        #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let pem = pem.as_bytes();
        let encoding = match alg {
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .expect("embedded key");
        let jwk = Jwk::from_encoding_key(&encoding, alg.to_jsonwebtoken()).expect("jwk");
        let public = match &jwk.algorithm {
            AlgorithmParameters::RSA(p) => PublicKey::rsa(alg, &b64(&p.n), &b64(&p.e)),
            AlgorithmParameters::EllipticCurve(p) => {
                let crv = match alg {
                    Algorithm::ES256 => "P-256",
                    _ => "P-384",
                };
                PublicKey::ec(crv, &b64(&p.x), &b64(&p.y))
            }
            AlgorithmParameters::OctetKeyPair(p) => PublicKey::ed25519(&b64(&p.x)),
            _ => panic!("no symmetric keys here"),
        }
        .expect("public key");
        assert_eq!(public.alg(), alg);
        (encoding, public)
    }

    fn sign(message: &[u8], key: &EncodingKey, alg: Algorithm) -> Vec<u8> {
        b64(&jsonwebtoken::crypto::sign(message, key, alg.to_jsonwebtoken()).expect("sign"))
    }

    /// jsonwebtoken's signature verifies; a flipped bit, a wrong length, another message and
    /// another key's signature do not.
    fn check(alg: Algorithm, pem: &str) {
        let (encoding, public) = material(alg, pem);
        let signature = sign(MESSAGE, &encoding, alg);
        assert!(public.verify(MESSAGE, &signature), "{alg:?}: valid");
        for bit in [0, signature.len() * 8 / 2, signature.len() * 8 - 1] {
            let mut flipped = signature.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(!public.verify(MESSAGE, &flipped), "{alg:?}: bit {bit}");
        }
        let mut flipped_message = MESSAGE.to_vec();
        flipped_message[3] ^= 1;
        assert!(!public.verify(&flipped_message, &signature), "{alg:?}");
        assert!(
            !public.verify(MESSAGE, &signature[..signature.len() - 1]),
            "{alg:?}: short"
        );
        let mut long = signature.clone();
        long.push(0);
        assert!(!public.verify(MESSAGE, &long), "{alg:?}: long");
        assert!(!public.verify(MESSAGE, &[]), "{alg:?}: empty");
        let other = sign(b"another message", &encoding, alg);
        assert!(!public.verify(MESSAGE, &other), "{alg:?}: other message");
    }

    #[test]
    fn rsa_algorithms() {
        let rsa = |a: &Algorithm| a.name().starts_with("RS") || a.name().starts_with("PS");
        for alg in Algorithm::ALL.iter().filter(|a| rsa(a)) {
            check(*alg, RSA_PEM);
        }
    }

    #[test]
    fn ecdsa_algorithms() {
        check(Algorithm::ES256, EC_PEM);
        check(Algorithm::ES384, EC384_PEM);
    }

    #[test]
    fn eddsa() {
        check(Algorithm::EdDSA, ED_PEM);
    }

    #[test]
    fn key_is_bound_to_its_algorithm_and_material() {
        let (rsa1, public) = material(Algorithm::RS256, RSA_PEM);
        let (rsa2, _) = material(Algorithm::RS256, RSA2_PEM);
        assert!(!public.verify(MESSAGE, &sign(MESSAGE, &rsa2, Algorithm::RS256)));
        // The same key material under PS256 refuses an RS256 signature, and the reverse.
        let (_, pss) = material(Algorithm::PS256, RSA_PEM);
        assert!(!pss.verify(MESSAGE, &sign(MESSAGE, &rsa1, Algorithm::RS256)));
        assert!(!public.verify(MESSAGE, &sign(MESSAGE, &rsa1, Algorithm::PS256)));
        let (_, rs512) = material(Algorithm::RS512, RSA_PEM);
        assert!(!rs512.verify(MESSAGE, &sign(MESSAGE, &rsa1, Algorithm::RS256)));
    }

    #[test]
    fn weak_rsa_key_is_refused() {
        let jwk: serde_json::Value = serde_json::from_str(WEAK_JWK).expect("json");
        let n = b64(jwk["n"].as_str().expect("n"));
        let e = b64(jwk["e"].as_str().expect("e"));
        assert_eq!(n.len(), 128);
        assert_eq!(
            PublicKey::rsa(Algorithm::RS256, &n, &e).err(),
            Some("RSA key under 2048 bits")
        );
        // Leading zeros do not make a key bigger.
        let mut padded = vec![0u8; 200];
        padded.extend_from_slice(&n);
        assert_eq!(
            PublicKey::rsa(Algorithm::RS256, &padded, &e).err(),
            Some("RSA key under 2048 bits")
        );
    }

    #[test]
    fn malformed_keys_are_refused() {
        let (encoding, _) = material(Algorithm::RS256, RSA_PEM);
        let jwk =
            Jwk::from_encoding_key(&encoding, Algorithm::RS256.to_jsonwebtoken()).expect("jwk");
        let AlgorithmParameters::RSA(p) = &jwk.algorithm else {
            panic!("RSA")
        };
        let (n, e) = (b64(&p.n), b64(&p.e));
        assert!(PublicKey::rsa(Algorithm::ES256, &n, &e).is_err());
        assert!(PublicKey::rsa(Algorithm::RS256, &n, &[]).is_err());
        assert!(PublicKey::rsa(Algorithm::RS256, &n, &[1; 9]).is_err());
        assert!(PublicKey::rsa(Algorithm::RS256, &[0xff; 1025], &e).is_err());
        // A leading zero byte on n (as some JWKs carry) is accepted.
        let mut padded = vec![0u8];
        padded.extend_from_slice(&n);
        let padded = PublicKey::rsa(Algorithm::RS256, &padded, &e).expect("padded n");
        assert!(padded.verify(MESSAGE, &sign(MESSAGE, &encoding, Algorithm::RS256)));

        let (ec, _) = material(Algorithm::ES256, EC_PEM);
        let jwk = Jwk::from_encoding_key(&ec, Algorithm::ES256.to_jsonwebtoken()).expect("jwk");
        let AlgorithmParameters::EllipticCurve(p) = &jwk.algorithm else {
            panic!("EC")
        };
        let (x, y) = (b64(&p.x), b64(&p.y));
        assert!(PublicKey::ec("P-256", &x, &y).is_ok());
        assert!(PublicKey::ec("P-521", &x, &y).is_err());
        assert!(PublicKey::ec("P-384", &x, &y).is_err());
        assert!(PublicKey::ec("P-256", &x[1..], &y).is_err());
        let mut off_curve = y.clone();
        off_curve[31] ^= 1;
        assert_eq!(
            PublicKey::ec("P-256", &x, &off_curve).err(),
            Some("invalid EC point")
        );

        assert!(PublicKey::ed25519(&[7; 31]).is_err());
        assert!(PublicKey::ed25519(&[7; 33]).is_err());
    }
}
