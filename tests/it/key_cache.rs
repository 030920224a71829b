//! The key cache over real HTTP: rotation, single flight, cooldown, last good set, outages,
//! discovery checks, lenient parsing, background refresh, tenants at runtime.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{Stack, builder_for, tenant_for};
use okta_oidc::testing::{Endpoint, Fault, MockOkta};
use okta_oidc::{
    BoxError, BuildError, KeyRefreshPolicy, LoadError, ManualClock, OktaOidc, Tenant, TenantKey,
};
use serde_json::json;

#[tokio::test]
async fn rotation_is_accepted_after_exactly_one_fetch() {
    let s = Stack::start().await;
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        1,
        "warm-up fetched the keys once"
    );
    let old = s.mock.id_token().build();
    let new_kid = s.mock.rotate_keys();
    let new = s.mock.id_token().build();
    assert!(new.len() > 10 && s.mock.signing_kid() == new_kid);
    assert_eq!(s.status(&new).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Keys), 2, "exactly one refetch");
    assert_eq!(s.status(&new).await, 200);
    assert_eq!(
        s.status(&old).await,
        200,
        "the previous key is still published"
    );
    assert_eq!(s.mock.hits(Endpoint::Keys), 2);
    assert_eq!(s.mock.hits(Endpoint::Discovery), 1);
}

#[tokio::test]
async fn concurrent_requests_with_a_new_kid_share_one_fetch() {
    let s = Arc::new(Stack::start().await);
    s.mock.rotate_keys();
    // Slow the key endpoint so all requests arrive while the refetch is in flight.
    s.mock
        .set_fault(Endpoint::Keys, Fault::Delay(Duration::from_millis(300)));
    let token = Arc::new(s.mock.id_token().build());
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (s, token) = (Arc::clone(&s), Arc::clone(&token));
        tasks.push(tokio::spawn(async move { s.status(&token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        2,
        "one warm-up fetch + one shared refetch"
    );
}

#[tokio::test]
async fn random_kids_are_bounded_by_the_cooldown() {
    let mock = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    let oidc = builder_for(&mock)
        .clock(clock.clone())
        .unknown_kid_cooldown(Duration::from_secs(30))
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock, oidc).await;
    // The first refetches and is invalid; the others, during the cooldown, are told to retry
    // when it ends (the kid may be a key published since), with no fetch.
    for i in 0..200 {
        let token = s.mock.id_token().kid(&format!("random-{i}")).build();
        let expected = if i == 0 { 401 } else { 503 };
        assert_eq!(s.status(&token).await, expected, "{i}");
    }
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        2,
        "warm-up + one refetch per cooldown"
    );
    clock.advance(Duration::from_secs(31));
    for i in 0..50 {
        let token = s.mock.id_token().kid(&format!("again-{i}")).build();
        let expected = if i == 0 { 401 } else { 503 };
        assert_eq!(s.status(&token).await, expected, "{i}");
    }
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        3,
        "one more after the cooldown"
    );
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
}

#[tokio::test]
async fn key_endpoint_down_after_load_keeps_the_last_good_set() {
    let s = Stack::start().await;
    let token = s.mock.id_token().build();
    for fault in [
        Fault::Status(500),
        Fault::Status(404),
        Fault::Garbage,
        Fault::Huge(2 * 1024 * 1024),
        Fault::RateLimited {
            reset_epoch_secs: 0,
        },
    ] {
        s.mock.set_fault(Endpoint::Keys, fault.clone());
        let refreshed = s.oidc.refresh_keys("mock").await;
        assert!(refreshed.is_err(), "{fault:?} must fail the refresh");
        assert!(s.oidc.last_key_error("mock").is_some());
        assert_eq!(
            s.status(&token).await,
            200,
            "still accepted during {fault:?}"
        );
    }
    s.mock.clear_fault(Endpoint::Keys);
    s.oidc.refresh_keys("mock").await.unwrap();
    assert!(s.oidc.last_key_error("mock").is_none());
    assert_eq!(s.status(&token).await, 200);
}

#[tokio::test]
async fn empty_or_unusable_key_set_keeps_the_last_good_set() {
    let s = Stack::start().await;
    let token = s.mock.id_token().build();
    let kid = s.mock.signing_kid();
    s.mock.retire_key(&kid);
    s.mock
        .add_raw_jwk(json!({"kty":"oct","kid":"h","k":"c2VjcmV0"}));
    assert_eq!(
        s.oidc.refresh_keys("mock").await,
        Err(LoadError::NoUsableKeys)
    );
    assert_eq!(s.status(&token).await, 200);
}

#[tokio::test]
async fn keys_down_from_the_start_answers_503_then_recovers() {
    let mock = MockOkta::start().await;
    mock.set_fault(Endpoint::Keys, Fault::Status(503));
    let clock = ManualClock::starting_now();
    let strict = builder_for(&mock)
        .clock(clock.clone())
        .require_warm_up(true)
        .build()
        .await;
    match strict {
        Err(BuildError::WarmUp(e)) => assert!(e.to_string().contains("mock"), "{e}"),
        other => panic!("expected a warm-up error, got {other:?}"),
    }
    // Start-up never depends on the org: the default build goes on and serves 503.
    let oidc = builder_for(&mock)
        .clock(clock.clone())
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock, oidc).await;
    let token = s.mock.id_token().build();
    let response = s.get(&token).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(!response.headers().contains_key("www-authenticate"));
    let hits = s.mock.hits(Endpoint::Keys);
    assert_eq!(s.status(&token).await, 503);
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        hits,
        "no retry storm within the cooldown"
    );
    s.mock.clear_fault(Endpoint::Keys);
    clock.advance(Duration::from_secs(31));
    assert_eq!(s.status(&token).await, 200, "recovers after the cooldown");
}

#[tokio::test]
async fn discovery_issuer_mismatch_accepts_no_token() {
    let mock = MockOkta::start().await;
    mock.set_discovery_issuer("https://evil.example.com");
    let err = builder_for(&mock)
        .require_warm_up(true)
        .build()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("evil.example.com"), "{err}");
    let oidc = builder_for(&mock).build_lazy().unwrap();
    let s = Stack::with(mock, oidc).await;
    assert_eq!(s.status(&s.mock.id_token().build()).await, 503);
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        0,
        "keys never fetched from a lying provider"
    );
    assert!(matches!(
        s.oidc.last_key_error("mock"),
        Some(LoadError::IssuerMismatch { .. })
    ));
}

#[tokio::test]
async fn insecure_issuers_are_refused() {
    for issuer in [
        "http://acme.okta.com",
        "ftp://acme.okta.com",
        "acme.okta.com",
    ] {
        let built = OktaOidc::builder()
            .tenant(Tenant::new("t", issuer).client_id("0oa1"))
            .build_lazy();
        assert!(built.is_err(), "{issuer}");
    }
    let mock = MockOkta::start().await;
    mock.set_discovery_field("jwks_uri", json!("http://keys.example.com/keys"));
    assert!(
        builder_for(&mock)
            .require_warm_up(true)
            .build()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn lenient_key_set_parsing() {
    let mock = MockOkta::start().await;
    mock.add_raw_jwk(json!({"kty":"RSA","kid":"enc-key","use":"enc","n":"AQAB","e":"AQAB"}));
    mock.add_raw_jwk(json!({"kty":"oct","kid":"hmac","k":"c2VjcmV0"}));
    mock.add_raw_jwk(json!({"kty":"PQC","kid":"future"}));
    mock.add_raw_jwk(json!({"kty":"RSA","kid":"odd-alg","alg":"RSA-OAEP","n":"AQAB","e":"AQAB"}));
    mock.add_raw_jwk(mock.weak_rsa_jwk());
    let s = Stack::with(mock.clone(), builder_for(&mock).build().await.unwrap()).await;
    assert_eq!(s.oidc.key_ids("mock"), vec![s.mock.signing_kid()]);
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
    // An HMAC token naming the published oct key is rejected.
    let hmac = s
        .mock
        .id_token()
        .kid("hmac")
        .sign_with_hmac(b"secret")
        .build();
    assert_eq!(s.status(&hmac).await, 401);
}

#[tokio::test]
async fn conditional_refresh_uses_etag() {
    let s = Stack::start().await;
    let token = s.mock.id_token().build();
    s.oidc.refresh_keys("mock").await.unwrap();
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        2,
        "the refresh went out (answered 304)"
    );
    assert_eq!(s.status(&token).await, 200);
    assert_eq!(s.oidc.key_ids("mock"), vec![s.mock.signing_kid()]);
    // A changed set is picked up by the next refresh.
    let next = s.mock.publish_next_key();
    s.oidc.refresh_keys("mock").await.unwrap();
    assert!(s.oidc.key_ids("mock").contains(&next));
}

#[tokio::test]
async fn background_refresh_follows_cache_control() {
    let mock = MockOkta::builder()
        .keys_cache_control(Some("max-age=0, must-revalidate".into()))
        .build()
        .await;
    let mut policy = KeyRefreshPolicy::default();
    policy.min_refresh = Duration::from_millis(150);
    let oidc = builder_for(&mock)
        .key_refresh(policy)
        .build()
        .await
        .unwrap();
    let next = mock.publish_next_key();
    // Woken by the mock's hit counter, not by a sleep.
    tokio::time::timeout(
        Duration::from_secs(20),
        mock.wait_for_hits(Endpoint::Keys, 3),
    )
    .await
    .expect("background refresh ran");
    let s = Stack::with(mock, oidc).await;
    s.oidc.refresh_keys("mock").await.unwrap();
    assert!(s.oidc.key_ids("mock").contains(&next));
    drop(s);
}

#[tokio::test]
async fn tenants_come_and_go_at_runtime() {
    let a = MockOkta::start().await;
    let b = MockOkta::start().await;
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("a", &a))
        .build()
        .await
        .unwrap();
    let s = Stack::with(a.clone(), oidc).await;
    let token_b = b.id_token().build();
    assert_eq!(s.status(&token_b).await, 401);
    s.oidc.add_tenant(tenant_for("b", &b)).unwrap();
    assert_eq!(s.status(&token_b).await, 200, "keys load on first use");
    assert!(s.oidc.remove_tenant("b"));
    assert_eq!(
        s.status(&token_b).await,
        401,
        "a removed tenant's tokens stop at once"
    );
    assert!(!s.oidc.remove_tenant("b"));
    assert_eq!(s.status(&a.id_token().build()).await, 200);
    // Replacing a tenant keeps its issuer's keys (no refetch).
    let hits = a.hits(Endpoint::Keys);
    s.oidc
        .add_tenant(tenant_for("a", &a).audience("api://more"))
        .unwrap();
    assert_eq!(
        s.status(&a.access_token().claim("aud", "api://more").build())
            .await,
        200
    );
    assert_eq!(a.hits(Endpoint::Keys), hits);
    // Two instances of one app in one org need distinct client ids.
    let dup = Tenant::new("a2", a.issuer()).client_id(a.client_id());
    assert!(s.oidc.add_tenant(dup).is_err());
}

#[tokio::test]
async fn loader_vouches_for_issuers_and_is_not_asked_twice() {
    let known = MockOkta::start().await;
    let stranger = MockOkta::start().await;
    let known_issuer = known.issuer();
    let client_id = known.client_id();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .loader(move |key: TenantKey| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let known = (key.issuer() == Some(known_issuer.as_str()))
                .then(|| Tenant::new("k", known_issuer.clone()).client_id(client_id.clone()));
            async move { Ok::<_, BoxError>(known) }
        })
        .build_lazy()
        .unwrap();
    let s = Stack::with(known.clone(), oidc).await;
    assert_eq!(s.status(&known.id_token().build()).await, 200);
    assert_eq!(s.status(&known.id_token().build()).await, 200);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(s.oidc.tenant("k").is_some());
    for _ in 0..5 {
        assert_eq!(s.status(&stranger.id_token().build()).await, 401);
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "unknown issuer remembered"
    );
    assert_eq!(
        stranger.hits(Endpoint::Discovery) + stranger.hits(Endpoint::Keys),
        0
    );
}
