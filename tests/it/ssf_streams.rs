//! Shared Signals beyond one push: the org's stream managed through Okta's SSF Transmitter API
//! with a service app's `private_key_jwt` token (SSF 1.0 §7–8, RFC 7523), and which tenants an
//! org's SET speaks for (every app instance of the org, also on a custom authorization
//! server).

use okta_oidc::store::{MemoryStore, RevocationKind, RevocationStore};
use okta_oidc::testing::MockOkta;
use okta_oidc::{
    ClientKey, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, ServiceApp, SsfManageError,
    SsfTransmitter, Tenant,
};
use serde_json::json;

use crate::common::serve;
use crate::logout_app::{Browser, Instance};
use crate::ssf_receiver::{CREDENTIAL_CHANGE, PUSH_AUTH, SESSION_REVOKED, push_set, receiver};

#[tokio::test]
async fn ssf_stream_management_with_private_key_jwt_ssf_1_0_section_8_rfc_7523() {
    let mock = MockOkta::start().await;
    let app = Instance::start_with_endpoints(&mock, |b| b, receiver).await;
    let okta = app.ssf_transmitter(&mock).await;
    // SSF 1.0 §7.1: the transmitter's configuration names its keys (the org's).
    let config = okta.configuration();
    assert_eq!(config.issuer, mock.issuer());
    assert_eq!(config.jwks_uri, mock.url("/oauth2/v1/keys"));
    assert!(
        config
            .delivery_methods_supported
            .iter()
            .any(|m| m == "urn:ietf:rfc:8935")
    );

    // §8.1.1: created, read back, enabled. The token came from client credentials with a
    // client assertion the mock checked (RFC 7523 §3: iss = sub = client id, aud the token
    // endpoint, exp, the registered kid, a jti never seen before).
    let stream = okta.create_stream(&app.endpoints, PUSH_AUTH).await.unwrap();
    assert_eq!(stream.format.as_deref(), Some("iss_sub"));
    assert_eq!(
        stream.events_delivered,
        [SESSION_REVOKED, CREDENTIAL_CHANGE]
    );
    assert_eq!(
        stream.aud,
        Some(json!(app.endpoints.ssf_audience().unwrap()))
    );
    let streams = okta.streams().await.unwrap();
    assert_eq!(streams.len(), 1);
    assert_eq!(streams[0].stream_id, stream.stream_id);
    assert_eq!(okta.status(&stream.stream_id).await.unwrap(), "enabled");

    // §8.1.4.2: the verification event arrives, with our state.
    assert_eq!(app.endpoints.ssf_verification_state(&mock.issuer()), None);
    okta.request_verification(&stream.stream_id, "verify-1")
        .await
        .unwrap();
    assert_eq!(
        app.endpoints
            .ssf_verification_state(&mock.issuer())
            .as_deref(),
        Some("verify-1")
    );
    assert_eq!(app.endpoints.ssf_event_counts().verification, 1);

    // Pushed events now end sessions.
    let mut browser = Browser::new(&app);
    browser.login().await;
    assert_eq!(mock.end_okta_session_ssf("00u1mockuser").await, 202);
    assert_eq!(browser.me().await, 401);

    okta.delete_stream(&stream.stream_id).await.unwrap();
    assert!(okta.streams().await.unwrap().is_empty());
    assert!(mock.ssf_stream().is_none());

    // A service app with only ssf.read reads but cannot create; a key the org does not hold
    // for the app gets no token.
    let (pem, kid) = mock.add_service_app("0oa1reader", &["ssf.read"]);
    let key = ClientKey::from_pkcs8_pem(&pem, Some(&kid)).unwrap();
    let reader = SsfTransmitter::discover(
        &app.oidc,
        "mock",
        ServiceApp::new("0oa1reader", key.clone()).scopes("ssf.read"),
    )
    .await
    .unwrap();
    assert!(reader.streams().await.unwrap().is_empty());
    assert_eq!(
        reader
            .create_stream(&app.endpoints, PUSH_AUTH)
            .await
            .unwrap_err(),
        SsfManageError::Refused(403)
    );
    let asks_too_much =
        SsfTransmitter::discover(&app.oidc, "mock", ServiceApp::new("0oa1reader", key))
            .await
            .unwrap();
    assert_eq!(
        asks_too_much.streams().await.unwrap_err(),
        SsfManageError::Token(400)
    );
    let other_key = ClientKey::from_pkcs8_pem(&pem, Some("another-kid")).unwrap();
    let wrong =
        SsfTransmitter::discover(&app.oidc, "mock", ServiceApp::new("0oa1reader", other_key))
            .await
            .unwrap();
    assert_eq!(
        wrong.streams().await.unwrap_err(),
        SsfManageError::Token(401)
    );
}

/// The receiver alone (no sign-in) for `tenants`, its audience `https://app.example.com`; the
/// push URL and the store, to look at what was recorded.
async fn receiver_for(tenants: Vec<Tenant>) -> (String, MemoryStore) {
    let store = MemoryStore::new();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenants(tenants)
        .revocation_store(store.clone())
        .build_lazy()
        .unwrap();
    let config = receiver(LogoutEndpointsConfig::new("https://app.example.com"));
    let endpoints = LogoutEndpoints::new(&oidc, config).unwrap();
    let base = serve(endpoints.router()).await;
    (format!("{base}/auth/ssf/events"), store)
}

/// The tenants a revocation of `sub` was recorded for, sorted.
fn revoked_in(store: &MemoryStore, sub: &str) -> Vec<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let mut tenants: Vec<String> = store
        .mirror()
        .snapshot(now)
        .into_iter()
        .filter(|r| r.kind == RevocationKind::Subject && r.value == sub)
        .map(|r| r.tenant)
        .collect();
    tenants.sort();
    tenants
}

#[tokio::test]
async fn ssf_okta_names_the_org_url_for_every_app_instance_of_the_org_also_on_a_custom_authorization_server()
 {
    let mock = MockOkta::start().await;
    let other_org = MockOkta::start().await;
    let custom = format!("{}/oauth2/aus1custom", mock.issuer());
    let set = |org: &MockOkta| {
        org.session_revoked_event("00u1mockuser")
            .claim("aud", "https://app.example.com")
            .build()
    };

    // Two instances of the app on the org server, one on a custom authorization server of the
    // same org, one of another org: the org's SET (iss = the org URL) ends the user in the
    // first three.
    let (url, store) = receiver_for(vec![
        Tenant::new("acme-1", mock.issuer()).client_id("0oa1first"),
        Tenant::new("acme-2", mock.issuer()).client_id("0oa1second"),
        Tenant::new("acme-custom", custom.clone()).client_id("0oa1custom"),
        Tenant::new("globex", other_org.issuer()).client_id("0oa1globex"),
    ])
    .await;
    assert_eq!(push_set(&url, &set(&mock)).await.status, 202);
    assert_eq!(
        revoked_in(&store, "00u1mockuser"),
        ["acme-1", "acme-2", "acme-custom"]
    );

    // Only a custom authorization server registered: the org URL's keys (its discovery, never
    // a URL from the SET) verify the SET. Another org's SET still names an unknown issuer.
    let (url, store) = receiver_for(vec![
        Tenant::new("acme-custom", custom).client_id("0oa1custom"),
    ])
    .await;
    assert_eq!(push_set(&url, &set(&mock)).await.status, 202);
    assert_eq!(revoked_in(&store, "00u1mockuser"), ["acme-custom"]);
    let elsewhere = push_set(&url, &set(&other_org)).await;
    assert_eq!(
        (elsewhere.status, &elsewhere.body["err"]),
        (400, &json!("invalid_issuer"))
    );
}
