//! The vendor app of the Cross App Access tests: its API behind the layer, its own
//! authorization server (`JwtBearerGrant`: token endpoint, metadata, keys) and the logout
//! endpoints, on one real axum server on 127.0.0.1 whose URL is the authorization server's
//! issuer; the mock Okta as the customer's org; an agent's HTTP calls.
#![allow(dead_code)]

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

use crate::common::{client, tenant_for};

pub const AGENT: (&str, &str) = ("agent-7", "agent-secret");
pub const OTHER_AGENT: (&str, &str) = ("agent-8", "other-secret");
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The vendor's app: its API behind the layer, its authorization server (token endpoint,
/// metadata, keys) and the logout endpoints, on one server whose URL is the AS issuer.
pub struct Vendor {
    pub okta: MockOkta,
    /// The authorization server's issuer (the app's base URL).
    pub issuer: String,
    /// The API's resource identifier (the tokens' `aud`).
    pub resource: String,
    pub endpoints: LogoutEndpoints,
    pub http: reqwest::Client,
}

impl Vendor {
    pub async fn start() -> Vendor {
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
                    .access_token_typ(["at+jwt"]) // RFC 9068 §4: ours always carry it
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
    pub async fn exchange(&self, id_token: &str, scope: &str) -> (u16, Value) {
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
    pub fn grant(&self) -> okta_oidc::testing::TokenBuilder {
        self.okta
            .id_jag(&self.issuer, AGENT.0)
            .claim("resource", &self.resource)
            .claim("scope", "todos.read todos.write")
    }

    /// `POST` the token endpoint with `form`, the client authenticated with HTTP Basic.
    pub async fn token(&self, client: (&str, &str), form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth2/token", self.issuer))
            .basic_auth(client.0, Some(client.1))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The JWT bearer grant request (RFC 7523 §2.1) with `assertion`, by `client`.
    pub async fn present(&self, client: (&str, &str), assertion: &str) -> (u16, Value) {
        let response = self
            .token(
                client,
                &[("grant_type", JWT_BEARER), ("assertion", assertion)],
            )
            .await;
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub async fn api(&self, token: &str) -> u16 {
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

pub fn segment(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}
