//! The token endpoint of the app's own authorization server for Cross App Access, over real
//! HTTP: client authentication, scopes, malformed requests (RFC 6749 §2.3.1, §3.3, §5.2) and
//! its RFC 8414 metadata.

use serde_json::Value;

use crate::id_jag_app::{AGENT, JWT_BEARER, Vendor};

/// RFC 6749 §5.2: bad client authentication is `invalid_client`, `401` with
/// `WWW-Authenticate: Basic` (the client used the `Authorization` header).
#[tokio::test]
async fn bad_client_authentication_is_invalid_client() {
    let vendor = Vendor::start().await;
    for client in [(AGENT.0, "wrong-secret"), ("no-such-client", AGENT.1)] {
        let grant = vendor.grant().build();
        let response = vendor
            .token(client, &[("grant_type", JWT_BEARER), ("assertion", &grant)])
            .await;
        assert_eq!(response.status(), 401);
        assert!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Basic")
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }
    // client_secret_post (RFC 6749 §2.3.1) works as well.
    let grant = vendor.grant().build();
    let response = vendor
        .http
        .post(format!("{}/oauth2/token", vendor.issuer))
        .form(&[
            ("grant_type", JWT_BEARER),
            ("assertion", &grant),
            ("client_id", AGENT.0),
            ("client_secret", AGENT.1),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// RFC 6749 §3.3 and §5.2: a requested scope beyond the grant, or beyond what the client is
/// allowed, is `invalid_scope` — refused, not silently narrowed; without `scope`, the token
/// holds the grant's scopes the client is allowed (the draft: the authorization server
/// follows §3.3 with the grant's `scope`).
#[tokio::test]
async fn scopes_are_the_grant_and_the_client_allowance_or_invalid_scope() {
    let vendor = Vendor::start().await;
    for asked in ["todos.write", "todos.admin", "todos.read todos.write"] {
        let grant = vendor.grant().build();
        let response = vendor
            .token(
                AGENT,
                &[
                    ("grant_type", JWT_BEARER),
                    ("assertion", &grant),
                    ("scope", asked),
                ],
            )
            .await;
        assert_eq!(response.status(), 400, "{asked}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_scope", "{asked}");
    }
    let (status, body) = vendor.present(AGENT, &vendor.grant().build()).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["scope"], "todos.read",
        "the grant's scopes the client may have"
    );
    let only_write = vendor.grant().claim("scope", "todos.write").build();
    let (status, body) = vendor.present(AGENT, &only_write).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
}

/// RFC 6749 §5.2: another grant type is `unsupported_grant_type`; a missing parameter or a
/// repeated one (§3.2) is `invalid_request`; another method than `POST` is `405`.
#[tokio::test]
async fn malformed_token_requests() {
    let vendor = Vendor::start().await;
    let response = vendor
        .token(
            AGENT,
            &[("grant_type", "authorization_code"), ("code", "x")],
        )
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_grant_type");
    let response = vendor.token(AGENT, &[("grant_type", JWT_BEARER)]).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "no assertion");
    let grant = vendor.grant().build();
    let response = vendor
        .token(
            AGENT,
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", &grant),
                ("assertion", &grant),
            ],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "a repeated parameter");
    let response = vendor
        .http
        .get(format!("{}/oauth2/token", vendor.issuer))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

/// RFC 8414 §3: the metadata names the token endpoint, the JWT bearer grant (RFC 7523 §2.1)
/// and the ID-JAG grant profile; the key set it points to verifies the tokens.
#[tokio::test]
async fn metadata_advertises_the_jwt_bearer_grant_and_the_id_jag_profile() {
    let vendor = Vendor::start().await;
    let url = format!("{}/.well-known/oauth-authorization-server", vendor.issuer);
    let doc: Value = vendor
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], vendor.issuer.as_str());
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/oauth2/token", vendor.issuer)
    );
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!([JWT_BEARER])
    );
    assert_eq!(
        doc["authorization_grant_profiles_supported"],
        serde_json::json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );
    let jwks: Value = vendor
        .http
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"][0]["kid"], "test-as-rsa-1");
}
