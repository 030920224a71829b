//! The one token every benchmark validates, shared by `benches/validation.rs` and the peer
//! crate (`benches/peer`), so their rows are comparable.
//!
//! RS256 with the mock org's first RSA key (`src/testing/keys/rsa1.pem`, kid `mock-rsa-1`,
//! 2048 bits) over a fixed, Okta-shaped ID-token claims set whose `exp` is in 2100. RSASSA-PKCS1
//! v1.5 is deterministic, so the same input gives the same token bytes in both crates. Only
//! `iss` differs: the mock listens on an ephemeral port, the peer uses [`PEER_ISSUER`] of the
//! same length (5-digit port).
//!
//! The ES256 and EdDSA rows sign the same claims with the mock's P-256 and Ed25519 keys
//! ([`signing_input_for`]).
#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The signing key (PKCS#8 PEM).
pub const PRIVATE_PEM: &str = include_str!("../../src/testing/keys/rsa1.pem");
/// Its public half (SPKI PEM).
pub const PUBLIC_PEM: &str = include_str!("../../src/testing/keys/rsa1.pub.pem");
/// The kid the mock org publishes this key under.
pub const KID: &str = "mock-rsa-1";
/// `aud`: the mock org's default client id.
pub const AUDIENCE: &str = "0oa1mockclient";
/// `iss` used by the peer (no mock there); same length as the mock's.
pub const PEER_ISSUER: &str = "http://127.0.0.1:54321";
/// `exp`: 2100-01-01T00:00:00Z.
pub const EXP: i64 = 4_102_444_800;

/// The mock org's P-256 key (PKCS#8 PEM), published by `MockOkta::publish_ec_key`.
pub const EC_PRIVATE_PEM: &str = include_str!("../../src/testing/keys/ec1.pem");
/// Its kid at the mock.
pub const EC_KID: &str = "mock-ec-1";
/// The mock org's Ed25519 key (PKCS#8 PEM), published by `MockOkta::publish_ed_key`.
pub const ED_PRIVATE_PEM: &str = include_str!("../../src/testing/keys/ed1.pem");
/// Its kid at the mock.
pub const ED_KID: &str = "mock-ed-1";

/// `base64url(header).base64url(claims)` for this issuer (RS256, kid [`KID`]).
pub fn signing_input(issuer: &str) -> String {
    signing_input_for(issuer, "RS256", KID)
}

/// The same claims under another header: `{"alg":<alg>,"kid":<kid>}`.
pub fn signing_input_for(issuer: &str, alg: &str, kid: &str) -> String {
    claims_with(issuer, alg, kid, 1)
}

/// The RS256 claims with `jti` `ID.bench-<n as 4 hex digits>` (the same length for every
/// `n` up to 65,535; `n` = 1 is [`signing_input`]): distinct tokens of the same size.
pub fn signing_input_numbered(issuer: &str, n: u16) -> String {
    claims_with(issuer, "RS256", KID, n)
}

fn claims_with(issuer: &str, alg: &str, kid: &str, n: u16) -> String {
    let header = format!(r#"{{"alg":"{alg}","kid":"{kid}"}}"#);
    let claims = format!(
        concat!(
            r#"{{"ver":1,"jti":"ID.bench-{n:04x}","iss":"{iss}","aud":"{aud}","#,
            r#""sub":"00u1benchuser","iat":1700000000,"exp":{exp},"auth_time":1700000000,"#,
            r#""amr":["pwd"],"idp":"00o1mockidp","name":"Bench User","#,
            r#""email":"bench.user@example.com","email_verified":true,"#,
            r#""preferred_username":"bench.user@example.com"}}"#
        ),
        n = n,
        iss = issuer,
        aud = AUDIENCE,
        exp = EXP,
    );
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    )
}

/// The compact token, given the crate's RS256 signer (base64url signature of the input).
pub fn token(issuer: &str, sign: impl FnOnce(&[u8]) -> String) -> String {
    let input = signing_input(issuer);
    let signature = sign(input.as_bytes());
    format!("{input}.{signature}")
}

/// `n` distinct RS256 tokens ([`signing_input_numbered`] 2..n + 2), signed by `sign` on every
/// core.
pub fn distinct_tokens(
    issuer: &str,
    n: u16,
    sign: &(dyn Fn(&[u8]) -> String + Sync),
) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as u16;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (2 + t..2 + n)
                        .step_by(usize::from(threads))
                        .map(|i| {
                            let input = signing_input_numbered(issuer, i);
                            let signature = sign(input.as_bytes());
                            format!("{input}.{signature}")
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("signer"))
            .collect()
    })
}

/// `n` distinct tenants (`tenant-00000`, `https://t00000.okta.example`, client `0oa1tenant00000`…).
pub fn tenants(range: std::ops::Range<usize>) -> Vec<okta_oidc::Tenant> {
    range
        .map(|i| {
            okta_oidc::Tenant::new(
                format!("tenant-{i:05}"),
                format!("https://t{i:05}.okta.example"),
            )
            .client_id(format!("0oa1tenant{i:05}"))
        })
        .collect()
}
