//! Opaque Okta access tokens: introspection over real HTTP against the mock Okta, its cache,
//! single flight, rate limits, outages, tenant resolution and scope guards.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{self, Stack, builder_for, call, get_with_bearer, stack_with_clock};
use axum::Router;
use axum::routing::get;
use okta_oidc::testing::{Endpoint, Fault, MockOkta};
use okta_oidc::{Claims, Clock, OktaOidc, OktaOidcLayer, RequireScopes, Tenant};
use serde_json::json;

#[tokio::test]
async fn opaque_token_is_introspected_into_claims() {
    let s = Stack::start().await;
    let token = s.mock.opaque_token(json!({"scope": "openid orders:read"}));
    let response = s.get(&token).await;
    assert_eq!(response.status(), 200);
    let claims: serde_json::Value = response.json().await.unwrap();
    assert_eq!(claims["sub"], "mock.user@example.com");
    assert_eq!(claims["username"], "mock.user@example.com");
    assert_eq!(claims["cid"], s.mock.client_id());
    assert_eq!(claims["scope"], "openid orders:read");
    assert_eq!(claims["iss"], s.mock.issuer());
    assert!(claims.get("active").is_none());
    assert_eq!(s.mock.hits(Endpoint::Introspect), 1);
}

#[tokio::test]
async fn inactive_unknown_and_revoked_tokens_are_rejected() {
    let (s, clock) = stack_with_clock().await;
    let unknown = s.get("00TunknownOpaqueToken").await;
    assert_eq!(unknown.status(), 401);
    let challenge = unknown.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("invalid_token"), "{challenge}");
    let token = s.mock.opaque_token(json!({}));
    assert_eq!(s.status(&token).await, 200);
    assert!(s.mock.revoke_token(&token));
    clock.advance(Duration::from_secs(301));
    assert_eq!(
        s.status(&token).await,
        401,
        "revocation seen once the cached answer expires"
    );
    let expired = s.mock.opaque_token(json!({"exp": common::now() - 10}));
    assert_eq!(s.status(&expired).await, 401);
}

#[tokio::test]
async fn concurrent_requests_share_one_introspection() {
    let s = Arc::new(Stack::start().await);
    s.mock.set_fault(
        Endpoint::Introspect,
        Fault::Delay(Duration::from_millis(300)),
    );
    let token = Arc::new(s.mock.opaque_token(json!({})));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (s, token) = (Arc::clone(&s), Arc::clone(&token));
        tasks.push(tokio::spawn(async move { s.status(&token).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(s.mock.hits(Endpoint::Introspect), 1);
}

#[tokio::test]
async fn sequential_requests_are_served_from_the_cache_until_expiry() {
    let (s, clock) = stack_with_clock().await;
    let exp = clock.now().as_secs() as i64 + 120;
    let token = s.mock.opaque_token(json!({"exp": exp}));
    for _ in 0..20 {
        assert_eq!(s.status(&token).await, 200);
    }
    assert_eq!(s.mock.hits(Endpoint::Introspect), 1);
    clock.advance(Duration::from_secs(121));
    assert_eq!(s.status(&token).await, 401, "expired by our clock");
    assert_eq!(
        s.mock.hits(Endpoint::Introspect),
        2,
        "introspected again after expiry"
    );
}

#[tokio::test]
async fn rate_limit_answers_503_and_waits_for_the_reset() {
    let (s, clock) = stack_with_clock().await;
    common::rate_limit_introspection(&s.mock, &clock, 30);
    let token = s.mock.opaque_token(json!({}));
    let response = s.get(&token).await;
    assert_eq!(response.status(), 503);
    let retry = common::retry_after(&response);
    assert!((29..=31).contains(&retry), "Retry-After {retry}");
    for _ in 0..10 {
        let other = s.mock.opaque_token(json!({}));
        assert_eq!(s.status(&other).await, 503);
    }
    assert_eq!(
        s.mock.hits(Endpoint::Introspect),
        1,
        "no call before the reset"
    );
    s.mock.clear_fault(Endpoint::Introspect);
    clock.advance(Duration::from_secs(31));
    assert_eq!(s.status(&token).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Introspect), 2);
}

#[tokio::test]
async fn introspection_down_answers_503() {
    let s = Stack::start().await;
    let token = s.mock.opaque_token(json!({}));
    for fault in [Fault::Status(500), Fault::Garbage, Fault::Huge(1024 * 1024)] {
        s.mock.set_fault(Endpoint::Introspect, fault.clone());
        let response = s.get(&token).await;
        assert_eq!(response.status(), 503, "{fault:?}");
        assert!(!response.headers().contains_key("www-authenticate"));
    }
    s.mock.clear_fault(Endpoint::Introspect);
    assert_eq!(s.status(&token).await, 200, "nothing bad was cached");
}

#[tokio::test]
async fn unreachable_introspection_answers_503() {
    let mock = MockOkta::start().await;
    let (_reserved, closed) = common::refusing_address();
    mock.set_discovery_field(
        "introspection_endpoint",
        json!(format!("http://{closed}/introspect")),
    );
    let oidc = builder_for(&mock).build().await.unwrap();
    let s = Stack::with(mock, oidc).await;
    let token = s.mock.opaque_token(json!({}));
    let response = s.get(&token).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn several_tenants_need_the_resolver() {
    let a = MockOkta::start().await;
    let b = MockOkta::start().await;
    let oidc = common::two_tenants(&a, &b, None).await;
    let s = Stack::with(a.clone(), oidc).await;
    let token = b.opaque_token(json!({}));
    assert_eq!(s.status(&token).await, 401);
    assert_eq!(
        a.hits(Endpoint::Introspect) + b.hits(Endpoint::Introspect),
        0,
        "no call"
    );

    let oidc = common::two_tenants(&a, &b, Some("x-okta-tenant")).await;
    let s = Stack::with(a.clone(), oidc).await;
    let send = |tenant: Option<&'static str>| {
        let mut request = s.http.get(format!("{}/api/me", s.base)).bearer_auth(&token);
        if let Some(t) = tenant {
            request = request.header("x-okta-tenant", t);
        }
        request.send()
    };
    assert_eq!(send(None).await.unwrap().status(), 401);
    assert_eq!(send(Some("nope")).await.unwrap().status(), 401);
    assert_eq!(
        a.hits(Endpoint::Introspect) + b.hits(Endpoint::Introspect),
        0
    );
    assert_eq!(
        send(Some("a")).await.unwrap().status(),
        401,
        "a does not know b's token"
    );
    assert_eq!(send(Some("b")).await.unwrap().status(), 200);
    assert_eq!(a.hits(Endpoint::Introspect), 1);
    assert_eq!(b.hits(Endpoint::Introspect), 1);
}

#[tokio::test]
async fn org_authorization_server_access_tokens_are_introspected() {
    let s = Stack::start().await;
    let token = s.mock.org_access_token();
    let response = s.get(&token).await;
    assert_eq!(response.status(), 200);
    let claims: serde_json::Value = response.json().await.unwrap();
    assert_eq!(claims["cid"], s.mock.client_id());
    assert_eq!(s.mock.hits(Endpoint::Introspect), 1);
    // A forged JWT with the same shape is not active at the issuer.
    let forged = s
        .mock
        .access_token()
        .claim("aud", s.mock.issuer())
        .kid("org-as-unpublished")
        .build();
    assert_eq!(s.status(&forged).await, 401);
}

#[tokio::test]
async fn client_secret_post_and_secret_rotation() {
    let mock = MockOkta::start().await;
    mock.set_discovery_field(
        "introspection_endpoint_auth_methods_supported",
        json!(["client_secret_post"]),
    );
    let rotated = Tenant::new("mock", mock.issuer())
        .client(mock.client_id(), "old-secret-already-revoked")
        .secondary_secret(mock.client_secret());
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(rotated)
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock, oidc).await;
    let token = s.mock.opaque_token(json!({}));
    assert_eq!(s.status(&token).await, 200);
    assert_eq!(
        s.mock.hits(Endpoint::Introspect),
        2,
        "first secret refused, second accepted"
    );

    let wrong = Tenant::new("mock", s.mock.issuer()).client(s.mock.client_id(), "wrong");
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(wrong)
        .build()
        .await
        .unwrap();
    let s2 = Stack::with(s.mock.clone(), oidc).await;
    assert_eq!(
        s2.status(&s.mock.opaque_token(json!({}))).await,
        503,
        "our misconfiguration"
    );
}

/// Middleware behaviour: the router is called in process (the mock still answers introspection
/// over loopback).
#[tokio::test]
async fn scope_guards_work_for_both_paths() {
    let mock = MockOkta::start().await;
    let oidc = builder_for(&mock).build().await.unwrap();
    let app = Router::new()
        .route("/orders", get(|c: Claims| async move { c.sub.clone() }))
        .route_layer(RequireScopes::new(["orders:read"]))
        .route("/any", get(|c: Claims| async move { c.sub.clone() }))
        .layer(OktaOidcLayer::new(oidc.clone()));
    let app = &app;
    let status = |path: &'static str, token: String| async move {
        call(app, get_with_bearer(path, &token)).await
    };
    let opaque_ok = mock.opaque_token(json!({"scope": "openid orders:read"}));
    let opaque_no = mock.opaque_token(json!({"scope": "openid"}));
    let jwt_ok = mock
        .access_token()
        .claim("scp", ["openid", "orders:read"])
        .build();
    let jwt_no = mock.access_token().claim("scp", ["openid"]).build();
    for ok in [&opaque_ok, &jwt_ok] {
        assert_eq!(status("/orders", ok.clone()).await.status, 200);
    }
    for no in [&opaque_no, &jwt_no] {
        let response = status("/orders", no.clone()).await;
        assert_eq!(response.status, 403);
        let challenge = response.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(challenge.contains("scope=\"orders:read\""), "{challenge}");
        assert_eq!(status("/any", no.clone()).await.status, 200);
    }
    // The layer-wide requirement behaves the same.
    let app = Router::new()
        .route("/x", get(|| async { "x" }))
        .layer(OktaOidcLayer::new(oidc).require_scopes(["orders:read"]));
    let r = call(&app, get_with_bearer("/x", &opaque_no)).await;
    assert_eq!(r.status, 403);
    let r = call(&app, get_with_bearer("/x", &jwt_ok)).await;
    assert_eq!(r.status, 200);
}
