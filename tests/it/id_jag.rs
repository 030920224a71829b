//! Cross App Access (ID-JAG) for a vendor that runs its own authorization server, over real
//! HTTP on 127.0.0.1: an agent signed in to the mock Okta exchanges the user's ID token for an
//! Identity Assertion JWT Authorization Grant (RFC 8693 token exchange;
//! draft-ietf-oauth-identity-assertion-authz-grant "Token Exchange"), presents it at the
//! app's token endpoint (RFC 7523 §2.1 JWT bearer grant), and calls the API with the RFC 9068
//! token it gets; every forged grant is refused with its RFC 6749 §5.2 error.

use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_oidc::testing::{MockOkta, TestAccessTokenSigner};
use okta_oidc::{
    Claims, GrantClient, JwtBearerGrant, JwtBearerGrantConfig, LogoutEndpoints,
    LogoutEndpointsConfig, OktaOidc, OktaOidcLayer, Tenant,
};
use serde_json::Value;

use crate::common::{capture_logs, client, now, tenant_for};

const AGENT: (&str, &str) = ("agent-7", "agent-secret");
const OTHER_AGENT: (&str, &str) = ("agent-8", "other-secret");
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The vendor's app: its API behind the layer, its authorization server (token endpoint,
/// metadata, keys) and the logout endpoints, on one server whose URL is the AS issuer.
struct Vendor {
    okta: MockOkta,
    /// The authorization server's issuer (the app's base URL).
    issuer: String,
    /// The API's resource identifier (the tokens' `aud`).
    resource: String,
    endpoints: LogoutEndpoints,
    http: reqwest::Client,
}

impl Vendor {
    async fn start() -> Vendor {
        let okta = MockOkta::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let resource = format!("{issuer}/api");
        okta.allow_cross_app_access(&issuer, AGENT.0, ["todos.read", "todos.write"]);
        // Lazy: the vendor's own key set is served by the app below, once it listens.
        let oidc = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(tenant_for("acme", &okta))
            .tenant(
                Tenant::new("vendor-as", &issuer)
                    .audience(&resource)
                    .own_authorization_server(true),
            )
            .build_lazy()
            .unwrap();
        let config = JwtBearerGrantConfig::new(&issuer)
            .resource(&resource)
            .client(GrantClient::new(AGENT.0, AGENT.1).allowed_scopes(["todos.read"]))
            .client(GrantClient::new(OTHER_AGENT.0, OTHER_AGENT.1).allowed_scopes(["todos.read"]));
        let grant = JwtBearerGrant::new(&oidc, config, TestAccessTokenSigner::new()).unwrap();
        let endpoints = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(&issuer)).unwrap();
        let app = Router::new()
            .route("/api/todos", get(|c: Claims| async move { Json(c) }))
            .layer(OktaOidcLayer::new(oidc))
            .merge(grant.router())
            .merge(endpoints.router());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Vendor {
            okta,
            issuer,
            resource,
            endpoints,
            http: client(),
        }
    }

    /// The agent's token exchange at Okta (RFC 8693 §2.1): the user's ID token for an ID-JAG.
    async fn exchange(&self, id_token: &str, scope: &str) -> (u16, Value) {
        let response = self
            .http
            .post(self.okta.url("/oauth2/v1/token"))
            .basic_auth(self.okta.client_id(), Some(self.okta.client_secret()))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:id-jag",
                ),
                ("subject_token", id_token),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:id_token",
                ),
                ("audience", &self.issuer),
                ("resource", &self.resource),
                ("scope", scope),
            ])
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// An ID-JAG straight from the mock org, for `client_id`, with the resource and scopes the
    /// exchange would put (forge it further with the builder).
    fn grant(&self) -> okta_oidc::testing::TokenBuilder {
        self.okta
            .id_jag(&self.issuer, AGENT.0)
            .claim("resource", &self.resource)
            .claim("scope", "todos.read todos.write")
    }

    /// `POST` the token endpoint with `form`, the client authenticated with HTTP Basic.
    async fn token(&self, client: (&str, &str), form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth2/token", self.issuer))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The JWT bearer grant request (RFC 7523 §2.1) with `assertion`, by `client`.
    async fn present(&self, client: (&str, &str), assertion: &str) -> (u16, Value) {
        let response = self
            .token(
                client,
                &[("grant_type", JWT_BEARER), ("assertion", assertion)],
            )
            .await;
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn api(&self, token: &str) -> u16 {
        self.http
            .get(format!("{}/api/todos", self.issuer))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

fn segment(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

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
    let logs = capture_logs();
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
    // (Other tests log too while this capture lives: at least one line per case.)
    let text = logs.text();
    assert!(
        text.matches("token request refused").count() >= cases.len(),
        "{text}"
    );
    assert!(text.contains(" INFO "), "{text}");
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
