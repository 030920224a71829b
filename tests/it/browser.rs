//! A web app with sign-in served over real HTTP on 127.0.0.1, and a browser-like client for
//! it: a hand-kept cookie jar, redirects off, and the request headers a browser adds
//! (`Sec-Fetch-Site`, `Origin`) under the test's control.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, Method};
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, Login, LoginConfig, ManualClock, OktaOidc, OktaOidcBuilder};
use reqwest::header::{COOKIE, SET_COOKIE};

use crate::common::{Jar, client, cookie_header, location, store_cookies, tenant_for};

/// The session secret of these apps.
pub const SECRET: &[u8; 32] = b"hardening-secret-hardening-secre";

/// A web app: `/api/me` (GET and POST, the session or a bearer token, else 401), `/profile`
/// (redirects to sign in), `/private-default`, `/public-page` (`Cache-Control: public`) and
/// `/no-store-page` behind the session layer, and the login routes — all under `path`.
pub fn web_app(login: &Login, path: &str) -> Router {
    let at = |route: &str| format!("{path}{route}");
    let me = |claims: Claims| async move { claims.sub.clone() };
    let cached = |value: &'static str| {
        move |claims: Claims| async move {
            (
                [(CACHE_CONTROL, HeaderValue::from_static(value))],
                claims.sub.clone(),
            )
        }
    };
    let api = Router::new()
        .route(&at("/api/me"), get(me).post(me))
        .route(&at("/public-page"), get(cached("public, max-age=600")))
        .route(&at("/no-store-page"), get(cached("no-store")))
        .layer(login.layer());
    let pages = Router::new()
        .route(&at("/profile"), get(me))
        .layer(login.page_layer());
    Router::new().merge(api).merge(pages).merge(login.router())
}

/// A running web app and the mock org it signs in with.
pub struct Site {
    pub mock: MockOkta,
    /// `http://127.0.0.1:port` followed by the app's path.
    pub base: String,
    /// `http://127.0.0.1:port`.
    pub origin: String,
}

/// Serves [`web_app`] under `path` with one tenant of `mock`; `builder` and `config` adjust the
/// handle and the sign-in configuration.
pub async fn serve_site(
    mock: MockOkta,
    path: &str,
    builder: impl FnOnce(OktaOidcBuilder) -> OktaOidcBuilder,
    config: impl FnOnce(LoginConfig) -> LoginConfig,
) -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let base = format!("{origin}{path}");
    let oidc = builder(
        OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(tenant_for("acme", &mock)),
    )
    .build()
    .await
    .unwrap();
    let login = Login::new(
        &oidc,
        config(LoginConfig::new(&base).session_secret(SECRET)),
    )
    .unwrap();
    let router = web_app(&login, path);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Site { mock, base, origin }
}

/// [`serve_site`] at the root with a mock org of its own, and a clock the test moves.
pub async fn site_with_clock() -> (Site, ManualClock) {
    let clock = ManualClock::starting_now();
    let moved = clock.clone();
    let site = serve_site(MockOkta::start().await, "", |b| b.clock(moved), |c| c).await;
    (site, clock)
}

/// A browser: its cookie jar for the app, and a client that follows no redirect.
pub struct Browser {
    pub origin: String,
    pub http: reqwest::Client,
    pub jar: Jar,
}

impl Browser {
    pub fn new(site: &Site) -> Browser {
        Browser {
            origin: site.origin.clone(),
            http: client(),
            jar: Jar::new(),
        }
    }

    /// `method path_or_url` with the jar's cookies and these extra headers; stores the answer's
    /// cookies.
    pub async fn send(
        &mut self,
        method: Method,
        path_or_url: &str,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.origin)
        };
        let mut request = self.http.request(method, url);
        if !self.jar.is_empty() {
            request = request.header(COOKIE, cookie_header(&self.jar));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        store_cookies(&mut self.jar, &response);
        response
    }

    /// A `GET` as a browser following a link of the app itself.
    pub async fn get(&mut self, path_or_url: &str) -> reqwest::Response {
        self.send(
            Method::GET,
            path_or_url,
            &[("sec-fetch-site", "same-origin")],
        )
        .await
    }

    /// Starts a login at `login_url` and goes through the mock's authorize endpoint: the
    /// callback URL it sends the browser back to.
    pub async fn start_login(&mut self, login_url: &str) -> String {
        let start = self.get(login_url).await;
        assert_eq!(start.status(), 302, "{login_url}");
        let authorize = location(&start);
        let back = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(back.status(), 302, "{authorize}");
        location(&back)
    }

    /// The callback, as the browser arriving from the provider.
    pub async fn finish_login(&mut self, callback: &str) -> reqwest::Response {
        self.send(Method::GET, callback, &[("sec-fetch-site", "cross-site")])
            .await
    }

    /// A whole sign-in through `login_url`; the callback's answer.
    pub async fn sign_in(&mut self, login_url: &str) -> reqwest::Response {
        let callback = self.start_login(login_url).await;
        self.finish_login(&callback).await
    }

    /// The names of the jar's cookies that start with `prefix`.
    pub fn cookies_named(&self, prefix: &str) -> Vec<String> {
        self.jar
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// The `Set-Cookie` values of a response.
pub fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

/// The `Set-Cookie` value that sets the cookie `name` (not one that deletes it).
pub fn set_cookie<'a>(all: &'a [String], name: &str) -> &'a str {
    all.iter()
        .find(|c| c.starts_with(&format!("{name}=")) && !c.contains("Max-Age=0"))
        .unwrap_or_else(|| panic!("no Set-Cookie for {name} in {all:?}"))
}

/// Moves `clock` by more than a quarter of the default idle timeout's refresh step, so that the
/// next session request refreshes the cookie.
pub fn past_session_refresh(clock: &ManualClock) {
    clock.advance(Duration::from_secs(61));
}
