//! Embedded key material of the mock org (never generated at run time).

use std::sync::OnceLock;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value};

/// Kid of the embedded P-256 key.
pub(crate) const EC_KID: &str = "mock-ec-1";
/// Kid of the embedded Ed25519 key.
pub(crate) const ED_KID: &str = "mock-ed-1";
/// Kid of the 1024-bit RSA key (published only on request, never signs).
pub(crate) const WEAK_KID: &str = "mock-weak-1";

const RSA_POOL: [(&str, &str); 6] = [
    (
        include_str!("keys/rsa1.pem"),
        include_str!("keys/rsa1.pub.pem"),
    ),
    (
        include_str!("keys/rsa2.pem"),
        include_str!("keys/rsa2.pub.pem"),
    ),
    (
        include_str!("keys/rsa3.pem"),
        include_str!("keys/rsa3.pub.pem"),
    ),
    (
        include_str!("keys/rsa4.pem"),
        include_str!("keys/rsa4.pub.pem"),
    ),
    (
        include_str!("keys/rsa5.pem"),
        include_str!("keys/rsa5.pub.pem"),
    ),
    (
        include_str!("keys/rsa6.pem"),
        include_str!("keys/rsa6.pub.pem"),
    ),
];
const EC_PEM: (&str, &str) = (
    include_str!("keys/ec1.pem"),
    include_str!("keys/ec1.pub.pem"),
);
const ED_PEM: (&str, &str) = (
    include_str!("keys/ed1.pem"),
    include_str!("keys/ed1.pub.pem"),
);
/// aws-lc refuses RSA keys under 2048 bits, so the weak key's public JWK is
/// precomputed (`openssl rsa -modulus`) instead of derived.
const WEAK_JWK: &str = include_str!("keys/rsa1024.jwk.json");
const WEAK_PUB_PEM: &str = include_str!("keys/rsa1024.pub.pem");

/// A private key, its signing algorithm and its public halves.
pub(crate) struct Material {
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    /// Public JWK without `kid` and `use`.
    jwk: Map<String, Value>,
    pub(crate) public_pem: &'static str,
}

impl Material {
    fn load(alg: Algorithm, (private, public): (&str, &'static str)) -> Material {
        let pem = private.as_bytes();
        let encoding = match alg {
            Algorithm::ES256 => EncodingKey::from_ec_pem(pem),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
            _ => EncodingKey::from_rsa_pem(pem),
        }
        .expect("MockOkta: embedded private key must parse");
        let jwk = Jwk::from_encoding_key(&encoding, alg)
            .expect("MockOkta: cannot derive the public JWK of an embedded key");
        let jwk = match serde_json::to_value(jwk) {
            Ok(Value::Object(map)) => map,
            _ => panic!("MockOkta: a JWK must serialize to a JSON object"),
        };
        Material {
            alg,
            encoding,
            jwk,
            public_pem: public,
        }
    }

    /// The public JWK, without `kid` and `use`.
    pub(crate) fn jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    /// Whether this is an RSA key (the rotating kind).
    pub(crate) fn is_rsa(&self) -> bool {
        self.alg == Algorithm::RS256
    }

    /// The public JWK as published under `kid`.
    pub(crate) fn public_jwk(&self, kid: &str) -> Value {
        let mut jwk = self.jwk.clone();
        jwk.insert("kid".into(), kid.into());
        jwk.insert("use".into(), "sig".into());
        Value::Object(jwk)
    }
}

/// The RSA key at `index` in the pool of six (wrapping).
pub(crate) fn rsa(index: usize) -> &'static Material {
    static POOL: [OnceLock<Material>; 6] = [const { OnceLock::new() }; 6];
    let i = index % POOL.len();
    POOL[i].get_or_init(|| Material::load(Algorithm::RS256, RSA_POOL[i]))
}

/// The private PEM (PKCS #8) of the RSA key at `index` in the pool (wrapping): what an API
/// service app of the mock holds for `private_key_jwt`.
pub(crate) fn rsa_private_pem(index: usize) -> &'static str {
    RSA_POOL[index % RSA_POOL.len()].0
}

/// The P-256 key.
pub(crate) fn ec() -> &'static Material {
    static KEY: OnceLock<Material> = OnceLock::new();
    KEY.get_or_init(|| Material::load(Algorithm::ES256, EC_PEM))
}

/// The Ed25519 key.
pub(crate) fn ed() -> &'static Material {
    static KEY: OnceLock<Material> = OnceLock::new();
    KEY.get_or_init(|| Material::load(Algorithm::EdDSA, ED_PEM))
}

/// Public JWK of the 1024-bit RSA key.
pub(crate) fn weak_jwk() -> Value {
    serde_json::from_str(WEAK_JWK).expect("MockOkta: embedded weak JWK must be JSON")
}

/// SPKI PEM of the 1024-bit RSA key.
pub(crate) fn weak_public_pem() -> &'static str {
    WEAK_PUB_PEM
}

/// The private scalar `d` of the P-256 or Ed25519 key (RFC 7518 §6.2.2.1, RFC 8037 §2), read
/// from its PKCS #8 document: the one layout these embedded keys have.
pub(crate) fn private_scalar(alg: Algorithm) -> Option<Vec<u8>> {
    use base64::Engine;
    let (pem, prefix): (&str, &[u8]) = match alg {
        Algorithm::ES256 => (
            EC_PEM.0,
            &[
                0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce,
                0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04,
                0x6d, 0x30, 0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
            ],
        ),
        Algorithm::EdDSA => (
            ED_PEM.0,
            &[
                0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
                0x04, 0x20,
            ],
        ),
        _ => return None,
    };
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .ok()?;
    let rest = der.strip_prefix(prefix)?;
    rest.get(..32).map(<[u8]>::to_vec)
}
