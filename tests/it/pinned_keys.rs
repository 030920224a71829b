//! Pinned app keys: an Okta app with custom signing keys (automatic key rotation off) signs its
//! tokens with keys published only at `/oauth2/v1/keys?client_id=<client id>`
//! (reference/okta-oin-requirements.md, R3.4). A tenant with `pinned_app_keys` fetches and
//! caches that set beside the org's, over real HTTP against the mock.

use okta_oidc::OktaOidc;
use okta_oidc::testing::{Endpoint, MockOkta};

use crate::common::{Stack, tenant_for};

#[tokio::test]
async fn tokens_signed_with_the_apps_own_key_need_pinned_app_keys() {
    let mock = MockOkta::start().await;
    let app_kid = mock.pin_app_key(&mock.client_id());
    assert!(
        !mock.jwks().to_string().contains(&app_kid),
        "the app's key is not in the org's key set"
    );

    let pinned = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("mock", &mock).pinned_app_keys(true))
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock.clone(), pinned).await;
    let by_app_key = mock.id_token().kid(&app_kid).build();
    assert_eq!(s.status(&by_app_key).await, 200);
    // Tokens signed with the org's keys still verify for this tenant.
    assert_eq!(s.status(&mock.id_token().build()).await, 200);
    // And cached: the key that verified it is in the app's current set.
    mock.reset_hits();
    assert_eq!(s.status(&by_app_key).await, 200);
    assert_eq!(mock.hits(Endpoint::Keys), 0);

    // Without the option, the app's key is unknown: the token is refused.
    let plain = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("mock", &mock))
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock.clone(), plain).await;
    assert_eq!(s.status(&by_app_key).await, 401);
    assert_eq!(s.status(&mock.id_token().build()).await, 200);
}

#[tokio::test]
async fn pinned_app_keys_need_a_client_id() {
    let mock = MockOkta::start().await;
    let tenant = okta_oidc::Tenant::new("x", mock.issuer())
        .audience("api://default")
        .pinned_app_keys(true);
    assert!(
        OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(tenant)
            .build_lazy()
            .is_err()
    );
}
