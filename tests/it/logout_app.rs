//! An app instance for the logout and revocation tests: the API (`/api/me`, bearer or session),
//! a page (`/profile`, redirects to sign in), the login routes and both logout endpoints, on a
//! real axum server on 127.0.0.1; and a browser with a hand-kept cookie jar. Several instances
//! share the session secret, as instances behind one load balancer do.
#![allow(dead_code)]

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::testing::MockOkta;
use okta_oidc::{
    Claims, ClientKey, Login, LoginConfig, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc,
    OktaOidcBuilder, ServiceApp, SsfStream, SsfTransmitter,
};
use reqwest::header::COOKIE;

use crate::common::{self, Jar, client, location, tenant_for};

pub const SESSION_SECRET: &[u8; 32] = b"logout-tests-session-secret-0123";

/// One running instance of the app.
pub struct Instance {
    pub base: String,
    pub oidc: OktaOidc,
    pub endpoints: LogoutEndpoints,
}

impl Instance {
    /// An instance for `mock`'s tenant (`"mock"`), its `OktaOidc` built by `configure`.
    pub async fn start(
        mock: &MockOkta,
        configure: impl FnOnce(OktaOidcBuilder) -> OktaOidcBuilder,
    ) -> Instance {
        Self::start_with_login(mock, configure, |c| c).await
    }

    /// [`start`](Self::start), with the sign-in configuration adjusted by `login_config`.
    pub async fn start_with_login(
        mock: &MockOkta,
        configure: impl FnOnce(OktaOidcBuilder) -> OktaOidcBuilder,
        login_config: impl FnOnce(LoginConfig) -> LoginConfig,
    ) -> Instance {
        Self::start_full(mock, configure, login_config, |c| c).await
    }

    /// [`start`](Self::start), with the logout endpoints' configuration adjusted by
    /// `endpoints_config` (the Shared Signals receiver).
    pub async fn start_with_endpoints(
        mock: &MockOkta,
        configure: impl FnOnce(OktaOidcBuilder) -> OktaOidcBuilder,
        endpoints_config: impl FnOnce(LogoutEndpointsConfig) -> LogoutEndpointsConfig,
    ) -> Instance {
        Self::start_full(mock, configure, |c| c, endpoints_config).await
    }

    async fn start_full(
        mock: &MockOkta,
        configure: impl FnOnce(OktaOidcBuilder) -> OktaOidcBuilder,
        login_config: impl FnOnce(LoginConfig) -> LoginConfig,
        endpoints_config: impl FnOnce(LogoutEndpointsConfig) -> LogoutEndpointsConfig,
    ) -> Instance {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let oidc = configure(
            OktaOidc::builder()
                .allow_loopback_http(true)
                .tenant(tenant_for("mock", mock)),
        )
        .build()
        .await
        .unwrap();
        let login = Login::new(
            &oidc,
            login_config(LoginConfig::new(&base).session_secret(SESSION_SECRET)),
        )
        .unwrap();
        let endpoints =
            LogoutEndpoints::new(&oidc, endpoints_config(LogoutEndpointsConfig::new(&base)))
                .unwrap();
        let app = Router::new()
            .route("/api/me", get(|c: Claims| async move { Json(c) }))
            .layer(login.layer())
            .merge(
                Router::new()
                    .route("/profile", get(|c: Claims| async move { c.sub.clone() }))
                    .layer(login.page_layer()),
            )
            .merge(login.router())
            .merge(endpoints.router());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Instance {
            base,
            oidc,
            endpoints,
        }
    }

    /// The Universal Logout endpoint's URL.
    pub fn universal(&self) -> String {
        self.endpoints.universal_logout_url().to_owned()
    }

    /// The back-channel logout endpoint's URL.
    pub fn backchannel(&self) -> String {
        format!("{}{}", self.base, self.endpoints.backchannel_logout_path())
    }

    /// `mock`'s org as an SSF transmitter, managed by a service app granted `ssf.manage` and
    /// `ssf.read` (client credentials, `private_key_jwt`).
    pub async fn ssf_transmitter(&self, mock: &MockOkta) -> SsfTransmitter {
        let (pem, kid) = mock.add_service_app("0oa1ssfservice", &["ssf.manage", "ssf.read"]);
        let key = ClientKey::from_pkcs8_pem(&pem, Some(&kid)).unwrap();
        SsfTransmitter::discover(&self.oidc, "mock", ServiceApp::new("0oa1ssfservice", key))
            .await
            .unwrap()
    }

    /// Creates `mock`'s SSF stream (through its SSF Transmitter API, as the app's admin would)
    /// pushing to this instance's endpoint with `authorization`: session-revoked and
    /// credential-change, subjects `iss_sub`.
    pub async fn create_ssf_stream(&self, mock: &MockOkta, authorization: &str) -> SsfStream {
        self.ssf_transmitter(mock)
            .await
            .create_stream(&self.endpoints, authorization)
            .await
            .unwrap()
    }

    /// GET /api/me with a bearer token; the status.
    pub async fn bearer_status(&self, token: &str) -> u16 {
        client()
            .get(format!("{}/api/me", self.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// A browser: a cookie jar, pointed at one instance (another with [`Browser::at`]).
#[derive(Clone)]
pub struct Browser {
    pub base: String,
    pub jar: Jar,
    http: reqwest::Client,
}

impl Browser {
    pub fn new(instance: &Instance) -> Browser {
        Browser {
            base: instance.base.clone(),
            jar: Jar::new(),
            http: client(),
        }
    }

    /// The same cookies, sent to `instance` (a load balancer's next pick).
    pub fn at(&self, instance: &Instance) -> Browser {
        Browser {
            base: instance.base.clone(),
            ..self.clone()
        }
    }

    pub async fn get(&mut self, path_or_url: &str) -> reqwest::Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        // A browser following the app's own links (logout is same-origin only).
        let mut request = self.http.get(url).header("sec-fetch-site", "same-origin");
        if !self.jar.is_empty() {
            request = request.header(COOKIE, common::cookie_header(&self.jar));
        }
        let response = request.send().await.unwrap();
        common::store_cookies(&mut self.jar, &response);
        response
    }

    /// GET /auth/login, the provider's authorize: the callback URL (not followed yet).
    pub async fn start_login(&mut self) -> String {
        let start = self.get("/auth/login").await;
        assert_eq!(start.status(), 302);
        let authorize = self.http.get(location(&start)).send().await.unwrap();
        assert_eq!(authorize.status(), 302);
        location(&authorize)
    }

    /// A full sign-in; panics unless it succeeds.
    pub async fn login(&mut self) {
        let callback = self.start_login().await;
        let done = self.get(&callback).await;
        assert_eq!(done.status(), 302, "{:?}", done.text().await);
        assert!(self.jar.contains_key("okta_session"));
    }

    /// GET /api/me's status.
    pub async fn me(&mut self) -> u16 {
        self.get("/api/me").await.status().as_u16()
    }

    /// GET /api/me's claims (panics unless 200).
    pub async fn claims(&mut self) -> serde_json::Value {
        let response = self.get("/api/me").await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}
