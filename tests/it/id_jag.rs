//! Cross App Access (ID-JAG) for a vendor that runs its own authorization server, over real
//! HTTP on 127.0.0.1: an agent signed in to the mock Okta exchanges the user's ID token for an
//! Identity Assertion JWT Authorization Grant (RFC 8693 token exchange;
//! draft-ietf-oauth-identity-assertion-authz-grant "Token Exchange"), presents it at the
//! app's token endpoint (RFC 7523 §2.1 JWT bearer grant), and calls the API with the RFC 9068
//! token it gets; every forged grant is refused with its RFC 6749 §5.2 error.
use okta_oidc::testing::{MockOkta, TestAccessTokenSigner};
use serde_json::Value;

use crate::common::{capture_logs, now};
use crate::id_jag_app::{AGENT, JWT_BEARER, OTHER_AGENT, Vendor, segment};

/// The whole flow: agent → Okta (RFC 8693 exchange) → ID-JAG → our token endpoint (RFC 7523)
/// → an RFC 9068 token → the API (200); then Okta's Universal Logout of the user → the API
/// refuses that token (the revocation store ends tokens of the app's own authorization server
/// with their user's tenant).
#[tokio::test]
async fn agent_gets_a_token_through_cross_app_access_and_universal_logout_ends_it() {
    let vendor = Vendor::start().await;
    let id_token = vendor.okta.id_token().build();

    let (status, exchanged) = vendor.exchange(&id_token, "todos.read").await;
    assert_eq!(status, 200, "{exchanged}");
    assert_eq!(
        exchanged["issued_token_type"],
        "urn:ietf:params:oauth:token-type:id-jag"
    );
    assert_eq!(exchanged["token_type"], "N_A");
    let id_jag = exchanged["access_token"].as_str().unwrap();
    assert_eq!(segment(id_jag, 0)["typ"], "oauth-id-jag+jwt");
    let grant = segment(id_jag, 1);
    assert_eq!(grant["aud"], vendor.issuer.as_str());
    assert_eq!(grant["client_id"], AGENT.0);
    assert!(grant["exp"].as_i64().unwrap() - grant["iat"].as_i64().unwrap() <= 300);

    let response = vendor
        .token(AGENT, &[("grant_type", JWT_BEARER), ("assertion", id_jag)])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "todos.read");
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token: {body}"
    );
    let token = body["access_token"].as_str().unwrap();
    let header = segment(token, 0);
    assert_eq!(header["typ"], "at+jwt", "RFC 9068 §2.1");
    let claims = segment(token, 1);
    assert_eq!(claims["iss"], vendor.issuer.as_str());
    assert_eq!(claims["aud"], vendor.resource.as_str());
    assert_eq!(claims["sub"], "00u1mockuser");
    assert_eq!(claims["client_id"], AGENT.0);
    assert_eq!(claims["tenant"], "acme");
    assert_eq!(claims["scope"], "todos.read");
    for member in ["jti", "iat", "exp"] {
        assert!(claims.get(member).is_some(), "RFC 9068 §2.2 {member}");
    }

    assert_eq!(
        vendor.api(token).await,
        200,
        "the layer takes our own tokens"
    );
    assert_eq!(vendor.api(token).await, 200, "and from its cache");

    let signed_out = vendor
        .okta
        .universal_logout(
            vendor.endpoints.universal_logout_url(),
            vendor.okta.iss_sub("00u1mockuser"),
        )
        .await;
    assert_eq!(signed_out, 204);
    assert_eq!(
        vendor.api(token).await,
        401,
        "signed out at Okta: our token is over"
    );
}

/// The draft's processing rules and RFC 7523 §3: each forged grant is `invalid_grant`
/// (RFC 6749 §5.2), with an `INFO` line that says why and never shows the grant.
#[tokio::test]
async fn forged_grants_are_refused_with_invalid_grant() {
    let vendor = Vendor::start().await;
    let stranger = MockOkta::start().await;
    let cases: Vec<(&str, &str, String, (&str, &str))> = vec![
        (
            "wrong typ (RFC 8725 §3.11)",
            "typ header not accepted",
            vendor.grant().header("typ", "JWT").build(),
            AGENT,
        ),
        (
            "another audience (RFC 7523 §3 item 3)",
            "audience not accepted",
            vendor
                .grant()
                .claim("aud", "https://other-as.example")
                .build(),
            AGENT,
        ),
        (
            "exp an hour away (RFC 7523 §3 item 4; at most 5 minutes)",
            "exp is more than 5 minutes away",
            vendor.grant().claim("exp", now() + 3600).build(),
            AGENT,
        ),
        (
            "an issuer that is no tenant (RFC 7523 §3 item 1)",
            "issuer is not a registered tenant",
            stranger
                .id_jag(&vendor.issuer, AGENT.0)
                .claim("scope", "todos.read")
                .build(),
            AGENT,
        ),
        (
            "presented by a client that is not its client_id",
            "cid is not the client id",
            vendor.grant().build(),
            OTHER_AGENT,
        ),
        (
            "expired (RFC 7523 §3 item 4)",
            "token expired",
            vendor
                .grant()
                .claim("iat", now() - 900)
                .claim("exp", now() - 600)
                .build(),
            AGENT,
        ),
        (
            "a resource not served here",
            "the grant names a resource not served here",
            vendor
                .grant()
                .claim("resource", "https://elsewhere.example")
                .build(),
            AGENT,
        ),
        (
            "not signed by the org",
            "signature does not verify",
            vendor.grant().signature("c2lnbmF0dXJl").build(),
            AGENT,
        ),
    ];
    for (what, reason, assertion, client) in &cases {
        let logs = capture_logs();
        let (status, body) = vendor.present(*client, assertion).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{what}"
        );
        let text = logs.text();
        assert!(
            text.contains(reason),
            "{what}: the reason in the log: {text}"
        );
        assert!(
            !text.contains(assertion.as_str()),
            "{what}: a grant in the log"
        );
    }
}

/// RFC 7523 §3 item 7: a grant's `jti` is used once; a refusal for another client does not
/// use it up (the rules run before the marker).
#[tokio::test]
async fn a_grant_is_single_use_and_a_refused_client_does_not_spend_it() {
    let vendor = Vendor::start().await;
    let grant = vendor.grant().build();
    let (status, body) = vendor.present(OTHER_AGENT, &grant).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, body) = vendor.present(AGENT, &grant).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = vendor.present(AGENT, &grant).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "replayed jti"
    );
}

/// A grant is no credential: the API refuses an ID-JAG as a bearer token (RFC 8725 §3.11); and
/// a user Okta signed out after the grant was issued gets no token from it.
#[tokio::test]
async fn a_grant_is_no_credential_and_a_signed_out_user_gets_no_token() {
    let vendor = Vendor::start().await;
    let grant = vendor
        .grant()
        .claim("iat", now() - 5)
        .claim("exp", now() + 290)
        .build();
    assert_eq!(
        vendor.api(&grant).await,
        401,
        "an ID-JAG is not an access token"
    );
    let signed_out = vendor
        .okta
        .universal_logout(
            vendor.endpoints.universal_logout_url(),
            vendor.okta.iss_sub("00u1mockuser"),
        )
        .await;
    assert_eq!(signed_out, 204);
    let logs = capture_logs();
    let (status, body) = vendor.present(AGENT, &grant).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(logs.text().contains("revoked"), "{}", logs.text());
}

/// The draft's "Cross-Domain Use": a grant signed by the app's own authorization server (its
/// own key, its own issuer) is refused — grants come from a tenant's org only.
#[tokio::test]
async fn a_grant_from_our_own_authorization_server_is_refused() {
    let vendor = Vendor::start().await;
    let own = TestAccessTokenSigner::new()
        .token(serde_json::json!({
            "iss": vendor.issuer, "sub": "00u1mockuser", "aud": vendor.issuer,
            "client_id": AGENT.0, "jti": "self-1", "iat": now(), "exp": now() + 60,
            "scope": "todos.read",
        }))
        .header("typ", "oauth-id-jag+jwt")
        .build();
    let logs = capture_logs();
    let (status, body) = vendor.present(AGENT, &own).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert!(
        logs.text().contains("issuer is not a registered tenant"),
        "{}",
        logs.text()
    );
}
