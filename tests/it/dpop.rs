//! DPoP proofs at the resource server (RFC 9449 §4.3, the checks a server makes of a proof;
//! §7.1, the `DPoP` scheme): every check, each with a proof built by the test kit that passes
//! all the others — and, beside each, the same request with a good proof, accepted.
//!
//! Middleware behaviour: the router is called in process; the mock Okta serves keys over
//! loopback. Binding, `Bearer`, nonces and replays across instances: `dpop_binding.rs`.

use std::time::Duration;

use axum::Router;
use http::Request;
use http::header::AUTHORIZATION;
use okta_oidc::testing::{DpopKey, MockOkta, TokenBuilder};
use okta_oidc::{Dpop, ManualClock, OktaOidc, OktaOidcLayer, ProtectedResource};
use serde_json::json;

use crate::common::{Reply, api, builder_for, call};

/// The resource identifier clients use: what `htu` is checked against.
pub const RESOURCE: &str = "https://api.example.com";
/// The URI of `GET /api/me` as clients reach it.
pub const URI: &str = "https://api.example.com/api/me";

/// The API with DPoP on, called in process, on a manual clock starting now.
pub struct DpopApi {
    pub mock: MockOkta,
    pub oidc: OktaOidc,
    pub app: Router,
    pub clock: ManualClock,
}

impl DpopApi {
    pub async fn start(dpop: Dpop) -> DpopApi {
        DpopApi::with(MockOkta::start().await, dpop, |layer| layer).await
    }

    pub async fn with(
        mock: MockOkta,
        dpop: Dpop,
        layer: impl FnOnce(OktaOidcLayer) -> OktaOidcLayer,
    ) -> DpopApi {
        let clock = ManualClock::starting_now();
        let oidc = builder_for(&mock)
            .clock(clock.clone())
            .protected_resource(ProtectedResource::new(RESOURCE))
            .dpop(dpop)
            .build()
            .await
            .unwrap();
        let app = api(layer(OktaOidcLayer::new(oidc.clone())));
        DpopApi {
            mock,
            oidc,
            app,
            clock,
        }
    }

    /// An access token bound to `key`.
    pub fn bound_token(&self, key: &DpopKey) -> String {
        self.mock.access_token().bound_to(key).build()
    }

    /// A good proof for `GET /api/me` with `token`, dated by the API's clock.
    pub fn proof(&self, key: &DpopKey, token: &str) -> TokenBuilder {
        key.proof("GET", URI)
            .claim("ath", DpopKey::ath(token))
            .claim("iat", self.clock_secs())
    }

    pub fn clock_secs(&self) -> i64 {
        use okta_oidc::Clock;
        self.clock.now().as_secs() as i64
    }

    /// `GET /api/me` with `Authorization: DPoP <token>` and, when given, `DPoP: <proof>`.
    pub async fn send(&self, token: &str, proof: Option<&str>) -> Reply {
        let mut request = Request::get("/api/me").header(AUTHORIZATION, format!("DPoP {token}"));
        if let Some(proof) = proof {
            request = request.header("dpop", proof);
        }
        call(&self.app, request).await
    }
}

/// The error code of the challenge that carries one.
pub fn error_of(reply: &Reply) -> String {
    reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let at = v.find("error=\"")? + 7;
            Some(v[at..at + v[at..].find('"')?].to_owned())
        })
        .unwrap_or_default()
}

/// Asserts a `401` whose challenge says `error` (on the `DPoP` challenge).
#[track_caller]
pub fn assert_refused(reply: &Reply, error: &str) {
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(error_of(reply), error, "{reply:?}");
    let dpop = reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("DPoP "))
        .unwrap_or_else(|| panic!("a DPoP challenge in {reply:?}"));
    assert!(dpop.contains(&format!("error=\"{error}\"")), "{dpop}");
}

#[tokio::test]
async fn a_good_proof_is_accepted_with_every_key_type() {
    let s = DpopApi::start(Dpop::new()).await;
    for key in [DpopKey::es256(), DpopKey::ed25519(), DpopKey::rs256()] {
        let token = s.bound_token(&key);
        let reply = s.send(&token, Some(&s.proof(&key, &token).build())).await;
        assert_eq!(reply.status, 200, "{key:?}: {reply:?}");
        let claims: serde_json::Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
    }
}

/// RFC 9449 §4.3 step 12 and §11.1: a `jti` is accepted once within the window.
#[tokio::test]
async fn a_replayed_proof_is_refused() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let proof = s.proof(&key, &token).build();
    assert_eq!(s.send(&token, Some(&proof)).await.status, 200);
    assert_refused(&s.send(&token, Some(&proof)).await, "invalid_dpop_proof");
    // The same jti in a new proof (other iat, new signature) is a replay too.
    let same_jti = s.proof(&key, &token).claim("jti", "fixed-jti-1");
    let again = same_jti.claim("iat", s.clock_secs() - 1).build();
    let first = s.proof(&key, &token).claim("jti", "fixed-jti-1").build();
    assert_eq!(s.send(&token, Some(&first)).await.status, 200);
    assert_refused(&s.send(&token, Some(&again)).await, "invalid_dpop_proof");
}

/// RFC 9449 §4.3 steps 8 and 9: `htm` and `htu` are the request's method and URI.
#[tokio::test]
async fn a_wrong_method_or_uri_is_refused() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let wrong = [
        s.proof(&key, &token).claim("htm", "POST").build(),
        s.proof(&key, &token).claim("htm", "get").build(),
        s.proof(&key, &token).without_claim("htm").build(),
        s.proof(&key, &token)
            .claim("htu", "https://api.example.com/api/other")
            .build(),
        s.proof(&key, &token)
            .claim("htu", "https://evil.example.com/api/me")
            .build(),
        s.proof(&key, &token)
            .claim("htu", "http://api.example.com/api/me")
            .build(),
        s.proof(&key, &token).without_claim("htu").build(),
    ];
    for proof in &wrong {
        assert_refused(&s.send(&token, Some(proof)).await, "invalid_dpop_proof");
    }
    // Normalized (RFC 3986 §6.2.2, §6.2.3), and query and fragment ignored.
    let equivalent = s
        .proof(&key, &token)
        .claim("htu", "HTTPS://API.example.com:443/api/%6De?x=1#f")
        .build();
    assert_eq!(s.send(&token, Some(&equivalent)).await.status, 200);
}

/// The URI is the configured resource's, never the `Host` header's: a proof made for the
/// attacker's host, sent with that host, is still refused.
#[tokio::test]
async fn the_host_header_does_not_choose_the_uri() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let proof = s
        .proof(&key, &token)
        .claim("htu", "https://evil.example.com/api/me")
        .build();
    let request = Request::get("/api/me")
        .header("host", "evil.example.com")
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header("dpop", proof);
    assert_refused(&call(&s.app, request).await, "invalid_dpop_proof");
}

/// `htu` is the URI the client used (RFC 9449 §4.3 step 9), also when the layer sits in a
/// router that axum's `Router::nest` reaches with the prefix stripped: the layer sees `/me`,
/// the client sent `/api/me`.
#[tokio::test]
async fn a_layer_in_a_nested_router_checks_the_uri_the_client_used() {
    use axum::routing::get;
    use okta_oidc::Claims;

    let s = DpopApi::start(Dpop::new()).await;
    let nested = Router::new().nest(
        "/api",
        Router::new()
            .route(
                "/me",
                get(|claims: Claims| async move { claims.sub.clone() }),
            )
            .layer(OktaOidcLayer::new(s.oidc.clone())),
    );
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let send = |proof: String| {
        call(
            &nested,
            Request::get("/api/me")
                .header(AUTHORIZATION, format!("DPoP {token}"))
                .header("dpop", proof),
        )
    };
    let reply = send(s.proof(&key, &token).build()).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let stripped = s
        .proof(&key, &token)
        .claim("htu", format!("{RESOURCE}/me"))
        .build();
    assert_refused(&send(stripped).await, "invalid_dpop_proof");
}

/// RFC 9449 §4.3 step 11: `iat` within the window (here 60 s old, 5 s ahead).
#[tokio::test]
async fn a_stale_or_future_proof_is_refused() {
    let s = DpopApi::start(Dpop::new().proof_max_age(Duration::from_secs(60))).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let now = s.clock_secs();
    for iat in [now - 61, now + 6] {
        let proof = s.proof(&key, &token).claim("iat", iat).build();
        assert_refused(&s.send(&token, Some(&proof)).await, "invalid_dpop_proof");
    }
    let missing = s.proof(&key, &token).without_claim("iat").build();
    assert_refused(&s.send(&token, Some(&missing)).await, "invalid_dpop_proof");
    for iat in [now - 59, now + 4] {
        let proof = s.proof(&key, &token).claim("iat", iat).build();
        assert_eq!(s.send(&token, Some(&proof)).await.status, 200, "iat {iat}");
    }
    // The same proof, accepted now, is stale once the clock moved past its window.
    let later = s.proof(&key, &token).build();
    s.clock.advance(Duration::from_secs(61));
    assert_refused(&s.send(&token, Some(&later)).await, "invalid_dpop_proof");
}

/// RFC 9449 §4.3 step 12, §7.1: `ath` is base64url(SHA-256(access token)).
#[tokio::test]
async fn a_wrong_access_token_hash_is_refused() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let other = s.bound_token(&key);
    let wrong = s
        .proof(&key, &token)
        .claim("ath", DpopKey::ath(&other))
        .build();
    assert_refused(&s.send(&token, Some(&wrong)).await, "invalid_dpop_proof");
    let missing = s.proof(&key, &token).without_claim("ath").build();
    assert_refused(&s.send(&token, Some(&missing)).await, "invalid_dpop_proof");
}

/// RFC 9449 §4.3 steps 4, 5 and 7: an asymmetric algorithm on the allow-list, never HMAC.
#[tokio::test]
async fn a_proof_signed_with_hs256_or_off_the_list_is_refused() {
    let s = DpopApi::start(Dpop::new().algorithms([okta_oidc::Algorithm::ES256])).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let hmac = s.proof(&key, &token).sign_with_hmac(b"shared").build();
    assert_refused(&s.send(&token, Some(&hmac)).await, "invalid_dpop_proof");
    let none = s.proof(&key, &token).alg("none").signature("").build();
    assert_refused(&s.send(&token, Some(&none)).await, "invalid_dpop_proof");
    // EdDSA is a fine algorithm, but not on this server's list.
    let ed = DpopKey::ed25519();
    let ed_token = s.bound_token(&ed);
    let off_list = s.proof(&ed, &ed_token).build();
    assert_refused(
        &s.send(&ed_token, Some(&off_list)).await,
        "invalid_dpop_proof",
    );
    let reply = s
        .send(&ed_token, Some(&s.proof(&ed, &ed_token).build()))
        .await;
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("Bearer realm")
            && reply
                .headers
                .get_all("www-authenticate")
                .iter()
                .any(|v| v.to_str().unwrap().contains("algs=\"ES256\"")),
        "{reply:?}"
    );
}

/// RFC 9449 §4.3 step 6: the header's `jwk` is a public key, never a private one.
#[tokio::test]
async fn a_proof_carrying_a_private_key_is_refused() {
    let s = DpopApi::start(Dpop::new()).await;
    for key in [DpopKey::es256(), DpopKey::ed25519()] {
        let token = s.bound_token(&key);
        let proof = s
            .proof(&key, &token)
            .header("jwk", key.private_jwk())
            .build();
        assert_refused(&s.send(&token, Some(&proof)).await, "invalid_dpop_proof");
        // The same proof with the public key only is fine.
        assert_eq!(
            s.send(&token, Some(&s.proof(&key, &token).build()))
                .await
                .status,
            200
        );
    }
}

/// RFC 9449 §4.3 steps 2 to 7: `typ`, a `jwk` that matches `alg` and verifies the signature.
#[tokio::test]
async fn header_and_signature_checks() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let ed = DpopKey::ed25519();
    let broken = [
        s.proof(&key, &token).header("typ", "JWT").build(),
        s.proof(&key, &token).without_header("typ").build(),
        s.proof(&key, &token).without_header("jwk").build(),
        s.proof(&key, &token).header("jwk", ed.public_jwk()).build(),
        s.proof(&key, &token)
            .sign_with_kid(ed.name())
            .alg("ES256")
            .build(),
        s.proof(&key, &token).signature("AAAA").build(),
        s.proof(&key, &token).header("crit", json!(["exp"])).build(),
        s.proof(&key, &token).without_claim("jti").build(),
        "not.a.proof".to_owned(),
        "a".repeat(9 * 1024),
    ];
    for proof in &broken {
        assert_refused(&s.send(&token, Some(proof)).await, "invalid_dpop_proof");
    }
    // No proof, and two proofs.
    assert_refused(&s.send(&token, None).await, "invalid_dpop_proof");
    let good = s.proof(&key, &token).build();
    let two = Request::get("/api/me")
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header("dpop", &good)
        .header("dpop", &good);
    assert_refused(&call(&s.app, two).await, "invalid_dpop_proof");
}
