//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9) for a tenant's own client: the
//! code exchange of a sign-in and introspection send a signed client assertion instead of a
//! secret, over real HTTP against the mock Okta, which checks it with the key registered for
//! the app.

use axum::Router;
use axum::routing::get;
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, ClientKey, Login, LoginConfig, OktaOidc, OktaOidcLayer, Tenant};
use serde_json::json;

use crate::browser::{Browser, Site};
use crate::common::client;

/// The app (`/api/me` by bearer or session, the login routes) of one tenant whose client
/// authenticates with `key`; its base URL.
async fn app(mock: &MockOkta, key: ClientKey) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let tenant = Tenant::new("acme", mock.issuer())
        .client_id(mock.client_id())
        .client_key(key)
        .audience("api://default");
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant)
        .build()
        .await
        .unwrap();
    let login = Login::new(
        &oidc,
        LoginConfig::new(&base).session_secret(*b"private-key-jwt-session-secret-0"),
    )
    .unwrap();
    let router = Router::new()
        .route("/api/me", get(|c: Claims| async move { c.sub.clone() }))
        .layer(OktaOidcLayer::new(oidc).sessions(login.clone()))
        .merge(login.router());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

async fn bearer(base: &str, token: &str) -> u16 {
    client()
        .get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn sign_in_and_introspection_authenticate_with_a_client_assertion() {
    let mock = MockOkta::start().await;
    let (pem, kid) = mock.use_private_key_jwt();
    let base = app(&mock, ClientKey::from_pkcs8_pem(&pem, Some(&kid)).unwrap()).await;

    // Introspection: an opaque token vouched for, and no secret configured.
    let opaque = mock.opaque_token(json!({"scope": "openid"}));
    assert_eq!(bearer(&base, &opaque).await, 200);

    // Sign-in: the code exchange authenticates with the assertion.
    let site = Site {
        mock: mock.clone(),
        base: base.clone(),
        origin: base.clone(),
    };
    let mut browser = Browser::new(&site);
    let done = browser.sign_in("/auth/login").await;
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    assert_eq!(
        mock.last_token_auth_method().as_deref(),
        Some("private_key_jwt")
    );
    assert_eq!(browser.get("/api/me").await.status(), 200);
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_refused() {
    let mock = MockOkta::start().await;
    let _ = mock.use_private_key_jwt();
    // A key Okta does not know for this client (another app's).
    let (other_pem, other_kid) = mock.add_service_app("0oa-other-app", &[]);
    let key = ClientKey::from_pkcs8_pem(&other_pem, Some(&other_kid)).unwrap();
    let base = app(&mock, key).await;

    // Introspection refuses the client: the token cannot be vouched for now (503), never
    // accepted.
    let opaque = mock.opaque_token(json!({"scope": "openid"}));
    assert_eq!(bearer(&base, &opaque).await, 503);

    // The sign-in fails at the code exchange: no session.
    let site = Site {
        mock: mock.clone(),
        base: base.clone(),
        origin: base.clone(),
    };
    let mut browser = Browser::new(&site);
    let done = browser.sign_in("/auth/login").await;
    assert_ne!(done.status(), 302);
    assert!(!browser.jar.contains_key("okta_session"));
}
