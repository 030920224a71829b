//! Which provider URLs are trusted, over real HTTP against the mock Okta: `http://` issuers and
//! endpoints only where the application asks for them, discovery endpoints on the issuer's
//! host, and a discovery document refreshed with the key set (at most daily).

use std::time::Duration;

use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{Clock, ConfigError, LoadError, OktaOidc, Tenant};
use serde_json::json;

use crate::common::{self, Stack, builder_for, tenant_for};

/// The mock serves `http://127.0.0.1`: refused unless the application allows loopback `http://`
/// explicitly — at build, at runtime, and from the loader.
#[tokio::test]
async fn loopback_http_issuers_need_the_builder_option() {
    let mock = MockOkta::start().await;
    let refused = OktaOidc::builder()
        .tenant(tenant_for("mock", &mock))
        .build_lazy();
    match refused {
        Err(ConfigError::InvalidIssuer { reason, .. }) => {
            assert!(reason.contains("allow_loopback_http"), "{reason}");
        }
        other => panic!("an http:// issuer was accepted: {other:?}"),
    }
    let strict = OktaOidc::builder().build_lazy().unwrap();
    assert!(strict.add_tenant(tenant_for("mock", &mock)).is_err());
    let issuer = mock.issuer();
    let loading = OktaOidc::builder()
        .loader(move |_key: okta_oidc::TenantKey| {
            let tenant = Tenant::new("mock", issuer.clone()).client_id("0oa1mockclient");
            async move { Ok::<_, okta_oidc::BoxError>(Some(tenant)) }
        })
        .build_lazy()
        .unwrap();
    let s = Stack::with(mock.clone(), loading).await;
    assert_eq!(s.status(&mock.id_token().build()).await, 401);
    assert_eq!(mock.hits(Endpoint::Discovery), 0, "never contacted");

    let allowed = builder_for(&mock).build().await.unwrap();
    let s = Stack::with(mock.clone(), allowed).await;
    assert_eq!(s.status(&mock.id_token().build()).await, 200);
}

/// A discovery document naming endpoints on another host is refused (its keys are never
/// fetched) unless the application allows it.
#[tokio::test]
async fn discovery_endpoints_must_be_on_the_issuer_host() {
    let mock = MockOkta::start().await;
    // Same server, another host name: `localhost` instead of `127.0.0.1`.
    let port = reqwest::Url::parse(&mock.issuer()).unwrap().port().unwrap();
    let elsewhere = format!("http://localhost:{port}/oauth2/v1/keys");
    mock.set_discovery_field("jwks_uri", json!(elsewhere));
    let oidc = builder_for(&mock).build().await.unwrap();
    match oidc.last_key_error("mock") {
        Some(LoadError::Document(why)) => assert!(why.contains("issuer's host"), "{why}"),
        other => panic!("a jwks_uri on another host was accepted: {other:?}"),
    }
    assert_eq!(mock.hits(Endpoint::Keys), 0);
    let s = Stack::with(mock.clone(), oidc).await;
    assert_eq!(s.status(&mock.id_token().build()).await, 503);

    let allowed = builder_for(&mock)
        .allow_endpoints_on_other_hosts(true)
        .build()
        .await
        .unwrap();
    assert!(allowed.last_key_error("mock").is_none());
    let s = Stack::with(mock.clone(), allowed).await;
    assert_eq!(s.status(&mock.id_token().build()).await, 200);
}

/// A changed discovery document is picked up with a key refresh once the document is a day
/// old — without a restart — and not before.
#[tokio::test]
async fn discovery_is_refreshed_at_most_daily() {
    let mock = MockOkta::start().await;
    // The introspection endpoint refuses connections.
    let (_reserved, closed) = common::refusing_address();
    mock.set_discovery_field(
        "introspection_endpoint",
        json!(format!("http://{closed}/introspect")),
    );
    let (s, clock) = common::clocked_stack(mock.clone(), |b| b).await;
    // Valid for the days this test moves its clock through.
    let exp = clock.now().as_secs() + 4 * 24 * 3600;
    let token = mock.opaque_token(json!({ "exp": exp }));
    assert_eq!(s.status(&token).await, 503);

    // The org moves its endpoint.
    mock.set_discovery_field(
        "introspection_endpoint",
        json!(mock.url(Endpoint::Introspect.path())),
    );
    let discoveries = mock.hits(Endpoint::Discovery);
    clock.advance(Duration::from_secs(3600));
    s.oidc.refresh_keys("mock").await.unwrap();
    assert_eq!(
        mock.hits(Endpoint::Discovery),
        discoveries,
        "not before a day"
    );
    assert_eq!(s.status(&token).await, 503);

    clock.advance(Duration::from_secs(24 * 3600));
    s.oidc.refresh_keys("mock").await.unwrap();
    assert_eq!(mock.hits(Endpoint::Discovery), discoveries + 1);
    assert_eq!(
        s.oidc
            .provider_metadata("mock")
            .unwrap()
            .introspection_endpoint,
        Some(mock.url(Endpoint::Introspect.path()))
    );
    assert_eq!(s.status(&token).await, 200, "picked up without a restart");

    // A failed refresh keeps the last good document.
    mock.set_fault(Endpoint::Discovery, okta_oidc::testing::Fault::Status(500));
    clock.advance(Duration::from_secs(25 * 3600));
    s.oidc.refresh_keys("mock").await.unwrap();
    assert!(s.oidc.provider_metadata("mock").is_some());
    assert_eq!(
        s.status(&mock.opaque_token(json!({ "exp": exp }))).await,
        200
    );
}
