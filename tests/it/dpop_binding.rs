//! DPoP binding (RFC 9449 §6, §7): the token's `cnf.jkt` is the proof key's thumbprint
//! (RFC 7638); a bound token is refused as `Bearer` (§7.2), also from the verified-token
//! cache; a route may require DPoP; challenges offer both schemes (§7.1); server nonces (§9);
//! introspected tokens with `cnf` and `token_type` `DPoP`; and single use across two
//! instances that share a replay store (§11.1).

use std::sync::Arc;
use std::time::Duration;

use http::Request;
use http::header::AUTHORIZATION;
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{Dpop, MemoryProofReplay, OktaOidcLayer};
use serde_json::json;

use crate::common::{call, get_with_bearer};
use crate::dpop::{DpopApi, assert_refused, error_of};

/// RFC 9449 §4.3 step 12 / §6.1: the proof's key must be the one the token is bound to.
#[tokio::test]
async fn a_thumbprint_mismatch_is_refused() {
    let s = DpopApi::start(Dpop::new()).await;
    let (mine, theirs) = (DpopKey::es256(), DpopKey::ed25519());
    let token = s.bound_token(&mine);
    let stolen = s.proof(&theirs, &token).build();
    assert_refused(&s.send(&token, Some(&stolen)).await, "invalid_token");
    // A token bound to nothing is refused with the DPoP scheme.
    let unbound = s.mock.access_token().build();
    let proof = s.proof(&mine, &unbound).build();
    assert_refused(&s.send(&unbound, Some(&proof)).await, "invalid_token");
    let good = s.proof(&mine, &token).build();
    assert_eq!(s.send(&token, Some(&good)).await.status, 200);
}

/// RFC 9449 §7.2: a DPoP-bound token sent as `Bearer` is refused — also once it is in the
/// verified-token cache (the synchronous fast path).
#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let as_bearer = call(&s.app, get_with_bearer("/api/me", &token)).await;
    assert_eq!(as_bearer.status, 401);
    assert_eq!(error_of(&as_bearer), "invalid_token");
    let bearer_challenge = as_bearer.headers["www-authenticate"].to_str().unwrap();
    assert!(bearer_challenge.starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
    // Accepted with its proof (and cached), still refused as Bearer.
    let proof = s.proof(&key, &token).build();
    assert_eq!(s.send(&token, Some(&proof)).await.status, 200);
    let again = call(&s.app, get_with_bearer("/api/me", &token)).await;
    assert_eq!(again.status, 401);
    assert!(s.oidc.validate(&token).await.is_err(), "validate() too");
    // Unbound tokens keep working as Bearer where DPoP is optional.
    let plain = s.mock.access_token().build();
    assert_eq!(
        call(&s.app, get_with_bearer("/api/me", &plain))
            .await
            .status,
        200
    );
    assert!(s.oidc.validate(&plain).await.is_ok());
}

/// A route may require DPoP: `Bearer` is refused there, and only `DPoP` is offered.
#[tokio::test]
async fn a_route_may_require_dpop() {
    let mock = MockOkta::start().await;
    let s = DpopApi::with(mock, Dpop::new(), OktaOidcLayer::require_dpop).await;
    let plain = s.mock.access_token().build();
    let refused = call(&s.app, get_with_bearer("/api/me", &plain)).await;
    assert_refused(&refused, "invalid_token");
    let challenges: Vec<_> = refused.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(challenges.len(), 1, "DPoP only: {challenges:?}");
    let missing = call(&s.app, Request::get("/api/me")).await;
    assert_eq!(missing.status, 401);
    let only: Vec<_> = missing.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(only.len(), 1);
    assert!(
        only[0]
            .to_str()
            .unwrap()
            .starts_with("DPoP realm=\"api\", algs=\"")
    );
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let proof = s.proof(&key, &token).build();
    assert_eq!(s.send(&token, Some(&proof)).await.status, 200);
    // `Dpop::required` does the same for every route.
    let everywhere = DpopApi::start(Dpop::new().required(true)).await;
    let plain = everywhere.mock.access_token().build();
    let refused = call(&everywhere.app, get_with_bearer("/api/me", &plain)).await;
    assert_refused(&refused, "invalid_token");
}

/// RFC 9449 §7.1: with DPoP on, a request without credential is offered both schemes, with
/// the algorithms; a proof's error goes on the `DPoP` challenge.
#[tokio::test]
async fn challenges_offer_bearer_and_dpop() {
    let s = DpopApi::start(Dpop::new()).await;
    let missing = call(&s.app, Request::get("/api/me")).await;
    assert_eq!(missing.status, 401);
    let values: Vec<&str> = missing
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let metadata =
        "resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\"";
    assert_eq!(
        values,
        [
            format!("Bearer realm=\"api\", {metadata}"),
            format!("DPoP realm=\"api\", algs=\"ES256 ES384 EdDSA PS256 RS256\", {metadata}"),
        ]
    );
}

/// RFC 9449 §7.1 (and RFC 6750 §3.1 `insufficient_scope`): a DPoP request that lacks a scope
/// that `RequireScopes` asks for hears so on the `DPoP` challenge, the scheme it used, with the
/// algorithms; `Bearer` is offered beside it without an error, as on the layer's own answers.
#[tokio::test]
async fn require_scopes_answers_a_dpop_request_on_the_dpop_challenge() {
    use axum::Router;
    use axum::routing::get;
    use okta_oidc::RequireScopes;

    let s = DpopApi::start(Dpop::new()).await;
    let app = Router::new()
        .route(
            "/api/me",
            get(|| async { "ok" }).route_layer(RequireScopes::new(["orders:write"])),
        )
        .layer(OktaOidcLayer::new(s.oidc.clone()));
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let request = Request::get("/api/me")
        .header(AUTHORIZATION, format!("DPoP {token}"))
        .header("dpop", s.proof(&key, &token).build());
    let reply = call(&app, request).await;
    assert_eq!(reply.status, 403, "{reply:?}");
    let values: Vec<&str> = reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(values.len(), 2, "{values:?}");
    assert_eq!(values[0], "Bearer realm=\"api\"");
    assert!(
        values[1].starts_with("DPoP realm=\"api\", algs=\"ES256 ES384 EdDSA PS256 RS256\", error=\"insufficient_scope\""),
        "{values:?}"
    );
    assert!(values[1].contains("scope=\"orders:write\""), "{values:?}");
    // A bearer request keeps its `Bearer` challenge.
    let plain = s.mock.access_token().build();
    let reply = call(&app, get_with_bearer("/api/me", &plain)).await;
    assert_eq!(reply.status, 403);
    assert!(
        reply.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"api\", error=\"insufficient_scope\"")
    );
}

/// RFC 9449 §9: with server nonces on, a proof without the current nonce gets `401`
/// `use_dpop_nonce` and a `DPoP-Nonce` to retry with; an old nonce is refused once two
/// nonce lifetimes went by.
#[tokio::test]
async fn server_nonces() {
    let lifetime = Duration::from_secs(300);
    let s = DpopApi::start(Dpop::new().server_nonces([9; 32]).nonce_lifetime(lifetime)).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let first = s.send(&token, Some(&s.proof(&key, &token).build())).await;
    assert_refused(&first, "use_dpop_nonce");
    let nonce = first.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let retry = s.proof(&key, &token).claim("nonce", &nonce).build();
    assert_eq!(s.send(&token, Some(&retry)).await.status, 200);
    let wrong = s.proof(&key, &token).claim("nonce", "made-up").build();
    assert_refused(&s.send(&token, Some(&wrong)).await, "use_dpop_nonce");
    s.clock.advance(lifetime * 2);
    let token = s.bound_token(&key);
    let old = s.proof(&key, &token).claim("nonce", &nonce).build();
    let refused = s.send(&token, Some(&old)).await;
    assert_refused(&refused, "use_dpop_nonce");
    let fresh = refused.headers["dpop-nonce"].to_str().unwrap().to_owned();
    assert_ne!(fresh, nonce);
    let renewed = s.proof(&key, &token).claim("nonce", &fresh).build();
    assert_eq!(s.send(&token, Some(&renewed)).await.status, 200);
}

/// RFC 9449 §9: the server may hand out its next nonce on any response. A client that keeps
/// the `DPoP-Nonce` of each success never meets a `use_dpop_nonce` refusal while it keeps
/// calling: the previous period's nonce is still accepted when the new one is handed out.
#[tokio::test]
async fn a_success_hands_out_the_current_nonce() {
    let lifetime = Duration::from_secs(300);
    let s = DpopApi::start(Dpop::new().server_nonces([9; 32]).nonce_lifetime(lifetime)).await;
    let key = DpopKey::es256();
    let token = s.bound_token(&key);
    let first = s.send(&token, Some(&s.proof(&key, &token).build())).await;
    let mut nonce = first.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let mut seen = vec![nonce.clone()];
    for _ in 0..4 {
        let token = s.bound_token(&key);
        let proof = s.proof(&key, &token).claim("nonce", &nonce).build();
        let reply = s.send(&token, Some(&proof)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        nonce = reply.headers["dpop-nonce"].to_str().unwrap().to_owned();
        seen.push(nonce.clone());
        s.clock.advance(lifetime);
    }
    seen.dedup();
    assert_eq!(seen.len(), 4, "a new nonce each period: {seen:?}");
    // Bearer answers carry none; without server nonces, DPoP answers carry none either.
    let plain = s.mock.access_token().build();
    let reply = call(&s.app, get_with_bearer("/api/me", &plain)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("dpop-nonce").is_none());
    let without = DpopApi::start(Dpop::new()).await;
    let token = without.bound_token(&key);
    let reply = without
        .send(&token, Some(&without.proof(&key, &token).build()))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.headers.get("dpop-nonce").is_none());
}

/// Introspected tokens: `cnf.jkt` binds them; `token_type` `DPoP` alone marks them bound (and,
/// with no thumbprint to check a proof against, usable by nobody).
#[tokio::test]
async fn introspected_tokens_honour_cnf_and_token_type() {
    let s = DpopApi::start(Dpop::new()).await;
    let key = DpopKey::es256();
    let bound = s.mock.opaque_token(json!({
        "token_type": "DPoP",
        "cnf": {"jkt": key.thumbprint()},
    }));
    let proof = s.proof(&key, &bound).build();
    assert_eq!(s.send(&bound, Some(&proof)).await.status, 200);
    let as_bearer = call(&s.app, get_with_bearer("/api/me", &bound)).await;
    assert_eq!(
        (as_bearer.status.as_u16(), error_of(&as_bearer).as_str()),
        (401, "invalid_token")
    );
    let stolen = s.proof(&DpopKey::ed25519(), &bound).build();
    assert_refused(&s.send(&bound, Some(&stolen)).await, "invalid_token");
    let typed_only = s.mock.opaque_token(json!({"token_type": "DPoP"}));
    assert_eq!(
        call(&s.app, get_with_bearer("/api/me", &typed_only))
            .await
            .status,
        401
    );
    let proof = s.proof(&key, &typed_only).build();
    assert_refused(&s.send(&typed_only, Some(&proof)).await, "invalid_token");
    let plain = s.mock.opaque_token(json!({}));
    assert_eq!(
        call(&s.app, get_with_bearer("/api/me", &plain))
            .await
            .status,
        200
    );
}

/// RFC 9449 §11.1: two instances sharing one replay store accept a proof once between them;
/// with a store each, the second would accept it again. (Across instances through Redis:
/// `tests/external/dpop_redis.rs`.)
#[tokio::test]
async fn a_proof_is_single_use_across_instances_sharing_a_store() {
    let mock = MockOkta::start().await;
    let store = Arc::new(MemoryProofReplay::new(1_000));
    let shared = || Dpop::new().replay_store(Arc::clone(&store));
    let a = DpopApi::with(mock.clone(), shared(), |l| l).await;
    let b = DpopApi::with(mock.clone(), shared(), |l| l).await;
    let key = DpopKey::es256();
    let token = a.bound_token(&key);
    let proof = a.proof(&key, &token).build();
    assert_eq!(a.send(&token, Some(&proof)).await.status, 200);
    assert_refused(&b.send(&token, Some(&proof)).await, "invalid_dpop_proof");
    // Without a shared store, each instance remembers only its own proofs.
    let c = DpopApi::with(mock.clone(), Dpop::new(), |l| l).await;
    let d = DpopApi::with(mock, Dpop::new(), |l| l).await;
    let proof = c.proof(&key, &token).build();
    assert_eq!(c.send(&token, Some(&proof)).await.status, 200);
    assert_eq!(d.send(&token, Some(&proof)).await.status, 200);
}

/// The `DPoP` scheme is not read when DPoP is off: such a request has no credential.
#[tokio::test]
async fn dpop_scheme_without_dpop_configured_is_no_credential() {
    let s = crate::common::InProcess::start().await;
    let key = DpopKey::es256();
    let token = s.mock.access_token().bound_to(&key).build();
    let reply = s
        .call(Request::get("/api/me").header(AUTHORIZATION, format!("DPoP {token}")))
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.headers["www-authenticate"], "Bearer realm=\"api\"");
    // And a bound token is refused as Bearer there too: its binding cannot be honoured.
    assert_eq!(s.get(&token).await.status, 401);
}
