//! Browser sign-in over real HTTP: a real axum app with the login router and the layer, the
//! real mock Okta, and a reqwest client with redirects off and a hand-kept cookie jar.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::{self, client, location};
use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::testing::{Endpoint, MockOkta, TokenBuilder};
use okta_oidc::{Claims, CredentialSource, Login, LoginConfig, ManualClock, OktaOidc, Tenant};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

type Hook = Box<dyn Fn(TokenBuilder) -> TokenBuilder + Send + Sync>;

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const SECRET2: &[u8; 32] = b"fedcba9876543210fedcba9876543210";

/// The app: `/api/me` (401 without credential), `/profile` (redirects to login), the login
/// routes.
fn app(login: &Login) -> Router {
    let api = Router::new()
        .route(
            "/api/me",
            get(|claims: Claims| async move {
                Json(serde_json::json!({
                    "claims": claims,
                    "session": claims.source() == CredentialSource::Session,
                    "tenant": &*claims.tenant().id,
                }))
            }),
        )
        .layer(login.layer());
    let pages = Router::new()
        .route(
            "/profile",
            get(|claims: Claims| async move { claims.name.clone().unwrap_or_default() }),
        )
        .layer(login.page_layer());
    Router::new()
        .merge(api)
        .merge(pages)
        .merge(login.router())
        .route("/", get(|| async { "home" }))
}

struct Setup {
    tenants: Vec<Tenant>,
    config: Box<dyn FnOnce(LoginConfig) -> LoginConfig>,
    clock: Option<ManualClock>,
    max_token: Option<usize>,
}

impl Setup {
    fn new(tenants: Vec<Tenant>) -> Self {
        Setup {
            tenants,
            config: Box::new(|c| c),
            clock: None,
            max_token: None,
        }
    }

    fn config(mut self, f: impl FnOnce(LoginConfig) -> LoginConfig + 'static) -> Self {
        self.config = Box::new(f);
        self
    }

    async fn start(self) -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let config = (self.config)(LoginConfig::new(&base).session_secret(SECRET));
        let mut builder = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenants(self.tenants);
        if let Some(clock) = self.clock {
            builder = builder.clock(clock);
        }
        if let Some(max) = self.max_token {
            builder = builder.max_token_size(max);
        }
        let oidc = builder.build().await.unwrap();
        let login = Login::new(&oidc, config).unwrap();
        let router = app(&login);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        App {
            base,
            http: client(),
            jar: BTreeMap::new(),
        }
    }
}

fn tenant(id: &str, mock: &MockOkta) -> Tenant {
    Tenant::new(id, mock.issuer()).client(mock.client_id(), mock.client_secret())
}

struct App {
    base: String,
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl App {
    async fn one(mock: &MockOkta) -> App {
        Setup::new(vec![tenant("acme", mock)]).start().await
    }

    fn cookie_header(&self) -> String {
        common::cookie_header(&self.jar)
    }

    fn store(&mut self, response: &reqwest::Response) {
        common::store_cookies(&mut self.jar, response);
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        // As a browser following the app's own links (a logout needs it).
        let mut request = self.http.get(url).header("sec-fetch-site", "same-origin");
        if !self.jar.is_empty() {
            request = request.header(COOKIE, self.cookie_header());
        }
        let response = request.send().await.unwrap();
        self.store(&response);
        response
    }

    /// GET /auth/login?query → the authorize URL.
    async fn start_login(&mut self, query: &str) -> String {
        let response = self.get(&format!("/auth/login{query}")).await;
        assert_eq!(response.status(), 302, "{:?}", response.text().await);
        location(&response)
    }

    /// Follows the provider's authorize URL (no app cookies) → the callback URL.
    async fn authorize(&self, url: &str) -> String {
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 302, "{url}");
        location(&response)
    }

    /// A full login; the callback's response.
    async fn login(&mut self, query: &str) -> reqwest::Response {
        let authorize = self.start_login(query).await;
        let callback = self.authorize(&authorize).await;
        self.get(&callback).await
    }

    async fn me(&mut self) -> reqwest::Response {
        self.get("/api/me").await
    }

    fn has_session(&self) -> bool {
        self.jar.contains_key("okta_session")
    }
}

fn param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn with_param(url: &str, name: &str, value: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair(name, value);
    url.into()
}

fn without_param(url: &str, name: &str) -> String {
    let mut url = reqwest::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url.into()
}

#[tokio::test]
async fn full_login_session_and_profile() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    // A page without session redirects to login; the API answers 401.
    let profile = app.get("/profile?tab=1").await;
    assert_eq!(profile.status(), 302);
    assert_eq!(
        location(&profile),
        "/auth/login?return_to=%2Fprofile%3Ftab%3D1"
    );
    assert_eq!(app.me().await.status(), 401);

    let authorize = app.start_login("?return_to=/profile").await;
    assert!(authorize.starts_with(&mock.url("/oauth2/v1/authorize")));
    let state = param(&authorize, "state").unwrap();
    assert!(state.len() >= 22, "state carries at least 128 bits");
    assert_eq!(
        param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        param(&authorize, "scope").as_deref(),
        Some("openid profile email")
    );
    assert!(param(&authorize, "nonce").is_some());
    assert_eq!(
        param(&authorize, "redirect_uri"),
        Some(format!("{}/auth/callback", app.base))
    );
    let login_cookie = app
        .jar
        .keys()
        .find(|k| k.starts_with("okta_login_"))
        .cloned()
        .expect("login cookie");
    let callback = app.authorize(&authorize).await;
    let done = app.get(&callback).await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/profile");
    // Login cookie used up, session cookie set with the right attributes.
    assert!(!app.jar.contains_key(&login_cookie));
    let set: Vec<String> = done
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = set.iter().find(|c| c.starts_with("okta_session=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"), "loopback http: no Secure");
    assert_eq!(
        mock.last_token_auth_method().as_deref(),
        Some("client_secret_basic")
    );
    assert_eq!(mock.hits(Endpoint::Userinfo), 1);

    let me = app.me().await;
    assert_eq!(me.status(), 200);
    let body: serde_json::Value = me.json().await.unwrap();
    assert_eq!(body["session"], true);
    assert_eq!(body["tenant"], "acme");
    assert_eq!(body["claims"]["sub"], "00u1mockuser");
    assert_eq!(body["claims"]["email"], "mock.user@example.com");
    let profile = app.get("/profile").await;
    assert_eq!(profile.status(), 200);
    assert_eq!(profile.text().await.unwrap(), "Mock User");
}

#[tokio::test]
async fn wrong_state_is_refused() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    let authorize = app.start_login("").await;
    let callback = app.authorize(&authorize).await;
    let state = param(&callback, "state").unwrap();
    // Same cookie prefix, different tail; and a completely different state.
    let mut altered = state.clone();
    altered.pop();
    altered.push(if state.ends_with('A') { 'B' } else { 'A' });
    for bad in [altered.as_str(), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x"] {
        let response = app.get(&with_param(&callback, "state", bad)).await;
        assert_eq!(response.status(), 400, "{bad}");
        assert!(!app.has_session());
    }
    assert_eq!(mock.hits(Endpoint::Token), 0);
}

#[tokio::test]
async fn replayed_callback_is_refused() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    let authorize = app.start_login("").await;
    let saved_jar = app.jar.clone();
    let callback = app.authorize(&authorize).await;
    assert_eq!(app.get(&callback).await.status(), 302);
    assert!(app.has_session());
    // Same browser: the login cookie is gone.
    app.jar.remove("okta_session");
    assert_eq!(app.get(&callback).await.status(), 400);
    // Even with the login cookie replayed.
    app.jar = saved_jar;
    assert_eq!(app.get(&callback).await.status(), 400);
    assert!(!app.has_session());
    assert_eq!(mock.hits(Endpoint::Token), 1);
}

#[tokio::test]
async fn access_denied_shows_a_page_without_redirect() {
    let mock = MockOkta::start().await;
    mock.deny_logins(true);
    let mut app = App::one(&mock).await;
    let authorize = app.start_login("").await;
    let callback = app.authorize(&authorize).await;
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    let response = app.get(&callback).await;
    assert_eq!(response.status(), 403);
    assert!(response.headers().get(LOCATION).is_none());
    assert!(!app.has_session());
    assert!(!app.jar.keys().any(|k| k.starts_with("okta_login_")));
    assert!(response.text().await.unwrap().contains("Sign-in failed"));
    assert_eq!(mock.hits(Endpoint::Authorize), 1, "no loop to /authorize");
    assert_eq!(mock.hits(Endpoint::Token), 0);
}

#[tokio::test]
async fn bad_id_tokens_are_refused() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    let cases: Vec<(&str, Hook)> = vec![
        (
            "wrong nonce",
            Box::new(|t| t.claim("nonce", "not-the-nonce")),
        ),
        ("no nonce", Box::new(|t| t.without_claim("nonce"))),
        (
            "wrong iss",
            Box::new(|t| t.claim("iss", "https://evil.okta.com")),
        ),
        ("wrong aud", Box::new(|t| t.claim("aud", "0oaSOMEONEELSE"))),
        (
            "aud list without azp",
            Box::new(|t| t.claim("aud", ["0oa1mockclient", "other"])),
        ),
        ("bad signature", Box::new(|t| t.signature("AAAA"))),
        (
            "expired",
            Box::new(|t| t.issued_at(1_600_000_000).expires_in(60)),
        ),
        ("no sub", Box::new(|t| t.without_claim("sub"))),
        ("alg none", Box::new(|t| t.alg("none").signature(""))),
        ("alg none signed", Box::new(|t| t.alg("none"))),
        (
            "wrong at_hash",
            Box::new(|t| t.claim("at_hash", "AAAAAAAAAAAAAAAAAAAAAA")),
        ),
        (
            "HS256",
            Box::new(|t| t.sign_with_hmac(b"mock-client-secret")),
        ),
    ];
    for (name, hook) in cases {
        mock.on_id_token(hook);
        let response = app.login("").await;
        assert!(
            response.status().is_client_error(),
            "{name}: {}",
            response.status()
        );
        assert!(response.headers().get(LOCATION).is_none(), "{name}");
        assert!(!app.has_session(), "{name}");
        assert_eq!(app.me().await.status(), 401, "{name}");
    }
    mock.clear_id_token_hook();
    assert_eq!(app.login("").await.status(), 302);
    assert!(app.has_session());
}

#[tokio::test]
async fn userinfo_sub_mismatch_is_refused() {
    let mock = MockOkta::start().await;
    mock.set_userinfo_sub(Some("00uSOMEONEELSE"));
    let mut app = App::one(&mock).await;
    let response = app.login("").await;
    assert_eq!(response.status(), 401);
    assert!(!app.has_session());
}

#[tokio::test]
async fn off_site_return_to_is_refused() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    for bad in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "evil.example",
    ] {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", bad)
            .finish();
        let response = app.get(&format!("/auth/login?{q}")).await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    assert_eq!(mock.hits(Endpoint::Authorize), 0);
    // An off-site target_link_uri is ignored; a same-origin one is honoured.
    let done = app
        .login("?target_link_uri=https%3A%2F%2Fevil.example%2F")
        .await;
    assert_eq!(location(&done), "/");
    let target = format!("{}/profile?x=1", app.base);
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("target_link_uri", &target)
        .finish();
    let done = app.login(&format!("?{q}")).await;
    assert_eq!(location(&done), "/profile?x=1");
}

#[tokio::test]
async fn okta_initiated_login_by_iss() {
    let mock = MockOkta::start().await;
    let unknown = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &unknown.issuer())
        .finish();
    let response = app.get(&format!("/auth/login?{q}")).await;
    assert_eq!(response.status(), 400);
    for endpoint in [
        Endpoint::Discovery,
        Endpoint::Keys,
        Endpoint::Authorize,
        Endpoint::Token,
    ] {
        assert_eq!(unknown.hits(endpoint), 0, "{endpoint:?}");
    }
    // Trailing slash: not an exact match.
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &format!("{}/", mock.issuer()))
        .finish();
    assert_eq!(app.get(&format!("/auth/login?{q}")).await.status(), 400);
    // Known issuer, with login_hint passed on and unknown parameters ignored.
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("iss", &mock.issuer())
        .append_pair("login_hint", "mock.user@example.com")
        .append_pair("whatever", "1")
        .finish();
    let authorize = app.start_login(&format!("?{q}")).await;
    assert_eq!(
        param(&authorize, "login_hint").as_deref(),
        Some("mock.user@example.com")
    );
    let callback = app.authorize(&authorize).await;
    assert_eq!(app.get(&callback).await.status(), 302);
    assert_eq!(app.me().await.status(), 200);
}

#[tokio::test]
async fn two_tabs_complete_in_reverse_order() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    let first = app.start_login("?return_to=/one").await;
    let second = app.start_login("?return_to=/two").await;
    assert_eq!(
        app.jar
            .keys()
            .filter(|k| k.starts_with("okta_login_"))
            .count(),
        2
    );
    let cb_first = app.authorize(&first).await;
    let cb_second = app.authorize(&second).await;
    let done = app.get(&cb_second).await;
    assert_eq!(location(&done), "/two");
    let done = app.get(&cb_first).await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/one");
    assert_eq!(app.me().await.status(), 200);
}

#[tokio::test]
async fn state_of_tenant_a_with_code_of_tenant_b() {
    let a = MockOkta::start().await;
    let b = MockOkta::start().await;
    let mut app = Setup::new(vec![tenant("a", &a), tenant("b", &b)])
        .start()
        .await;
    // Several tenants and no hint: 400.
    assert_eq!(app.get("/auth/login").await.status(), 400);
    let auth_a = app.start_login("?tenant=a").await;
    assert!(auth_a.starts_with(&a.issuer()));
    let auth_b = app.start_login("?tenant=b").await;
    let cb_b = app.authorize(&auth_b).await;
    let state_a = param(&auth_a, "state").unwrap();
    let forged = with_param(&cb_b, "state", &state_a);
    // With B's iss (RFC 9207) it is refused before any exchange.
    let response = app.get(&forged).await;
    assert_eq!(response.status(), 400);
    assert_eq!(a.hits(Endpoint::Token) + b.hits(Endpoint::Token), 0);
    // Without iss, B's code goes to A's token endpoint, which does not know it.
    let auth_a = app.start_login("?tenant=a").await;
    let state_a = param(&auth_a, "state").unwrap();
    let forged = without_param(&with_param(&cb_b, "state", &state_a), "iss");
    let response = app.get(&forged).await;
    assert!(response.status().is_client_error() || response.status().is_server_error());
    assert_eq!(b.hits(Endpoint::Token), 0, "B's code never reaches B");
    assert!(!app.has_session());
    assert_eq!(app.me().await.status(), 401);
}

#[tokio::test]
async fn tampered_session_cookie_is_refused() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    app.login("").await;
    assert_eq!(app.me().await.status(), 200);
    let good = app.jar["okta_session"].clone();
    let mut bytes = good.clone().into_bytes();
    let i = bytes.len() - 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    app.jar
        .insert("okta_session".into(), String::from_utf8(bytes).unwrap());
    assert_eq!(app.me().await.status(), 401);
    let profile = app.get("/profile").await;
    assert_eq!(profile.status(), 302);
    app.jar.insert("okta_session".into(), "1.garbage".into());
    assert_eq!(app.me().await.status(), 401);
    app.jar.insert("okta_session".into(), good);
    assert_eq!(app.me().await.status(), 200);
}

#[tokio::test]
async fn session_secret_rotation() {
    let mock = MockOkta::start().await;
    let mut old = App::one(&mock).await;
    old.login("").await;
    let cookie = old.jar["okta_session"].clone();
    // An instance with the new secret current and the old one still accepted.
    let mut rotated = Setup::new(vec![tenant("acme", &mock)])
        .config(|c| c.session_secret(SECRET2))
        .start()
        .await;
    rotated.jar.insert("okta_session".into(), cookie.clone());
    assert_eq!(rotated.me().await.status(), 200);
    // An instance that dropped the old secret refuses it.
    let mut only_new = Setup::new(vec![tenant("acme", &mock)])
        .config(|_| LoginConfig::new("http://127.0.0.1:1").session_secret(SECRET2))
        .start()
        .await;
    only_new.jar.insert("okta_session".into(), cookie);
    assert_eq!(only_new.me().await.status(), 401);
}

#[tokio::test]
async fn client_secret_rotation_and_post_auth() {
    let mock = MockOkta::start().await;
    mock.set_client_secrets(["new-secret"]);
    let t = Tenant::new("acme", mock.issuer())
        .client(mock.client_id(), mock.client_secret())
        .secondary_secret("new-secret");
    let mut app = Setup::new(vec![t]).start().await;
    assert_eq!(app.login("").await.status(), 302);
    assert_eq!(
        mock.hits(Endpoint::Token),
        2,
        "first secret refused, second accepted"
    );
    assert_eq!(app.me().await.status(), 200);

    let post_only = MockOkta::start().await;
    post_only.set_discovery_field(
        "token_endpoint_auth_methods_supported",
        serde_json::json!(["client_secret_post"]),
    );
    let mut app = App::one(&post_only).await;
    assert_eq!(app.login("").await.status(), 302);
    assert_eq!(
        post_only.last_token_auth_method().as_deref(),
        Some("client_secret_post")
    );
}

#[tokio::test]
async fn logout_sends_the_right_id_token_hint() {
    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    app.login("").await;
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    let jti = me["claims"]["jti"].as_str().unwrap().to_owned();
    let response = app.get("/auth/logout").await;
    assert_eq!(response.status(), 302);
    let to = location(&response);
    assert!(to.starts_with(&mock.url("/oauth2/v1/logout")));
    assert!(!app.has_session());
    assert_eq!(app.me().await.status(), 401);
    let back = app.get(&to).await;
    assert_eq!(
        location(&back).split('?').next(),
        Some(&*format!("{}/", app.base))
    );
    let logouts = mock.logouts();
    assert_eq!(logouts.len(), 1);
    let hint = logouts[0].id_token_hint.clone().unwrap();
    let payload = hint.split('.').nth(1).unwrap();
    use base64::Engine;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["jti"], jti.as_str());
    assert_eq!(
        logouts[0].post_logout_redirect_uri.as_deref(),
        Some(&*format!("{}/", app.base))
    );
    assert!(logouts[0].state.as_deref().is_some_and(|s| s.len() >= 16));
    // Without a session: local logout.
    let response = app.get("/auth/logout").await;
    assert_eq!(location(&response), format!("{}/", app.base));
    assert_eq!(mock.logouts().len(), 1);
}

#[tokio::test]
async fn idle_timeout_and_absolute_lifetime() {
    let mock = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    let mut setup = Setup::new(vec![tenant("acme", &mock)]).config(|c| {
        c.idle_timeout(Duration::from_secs(600))
            .session_lifetime(Duration::from_secs(3000))
    });
    setup.clock = Some(clock.clone());
    let mut app = setup.start().await;
    app.login("").await;
    assert_eq!(app.me().await.status(), 200);
    // Used every 5 minutes: the cookie is refreshed and stays valid.
    for _ in 0..4 {
        clock.advance(Duration::from_secs(300));
        let response = app.me().await;
        assert_eq!(response.status(), 200);
    }
    // Idle for 11 minutes ends it.
    clock.advance(Duration::from_secs(660));
    assert_eq!(app.me().await.status(), 401);
    // Absolute lifetime: used every 5 minutes, still over 3000 s after login.
    app.jar.clear();
    app.login("").await;
    for _ in 0..9 {
        clock.advance(Duration::from_secs(300));
        assert_eq!(app.me().await.status(), 200);
    }
    clock.advance(Duration::from_secs(300));
    assert_eq!(app.me().await.status(), 401, "3000 s after login");
}

#[tokio::test]
async fn large_sessions_are_split_or_refused() {
    let mock = MockOkta::start().await;
    mock.set_user(serde_json::json!({
        "sub": "00ubig",
        "name": "Big User",
        "bio": "x".repeat(6000),
    }));
    let mut setup = Setup::new(vec![tenant("acme", &mock)]);
    setup.max_token = Some(256 * 1024);
    let mut app = setup.start().await;
    assert_eq!(app.login("").await.status(), 302);
    assert!(app.jar.contains_key("okta_session_1"));
    let me: serde_json::Value = app.me().await.json().await.unwrap();
    assert_eq!(me["claims"]["bio"].as_str().unwrap().len(), 6000);

    mock.set_user(serde_json::json!({
        "sub": "00uhuge",
        "bio": "x".repeat(40_000),
    }));
    app.jar.clear();
    let response = app.login("").await;
    assert_eq!(response.status(), 500);
    assert!(response.text().await.unwrap().contains("too large"));
    assert!(!app.has_session());
}

#[tokio::test]
async fn codes_tokens_secrets_and_cookies_never_reach_logs_or_debug() {
    let capture = common::capture_logs();

    let mock = MockOkta::start().await;
    let mut app = App::one(&mock).await;
    let authorize = app.start_login("").await;
    let callback = app.authorize(&authorize).await;
    let code = param(&callback, "code").unwrap();
    let state = param(&callback, "state").unwrap();
    app.get(&callback).await;
    let session = app.jar["okta_session"].clone();
    app.me().await;
    let out = app.get("/auth/logout").await;
    let hint = param(&location(&out), "id_token_hint").unwrap();
    // A failed login too.
    mock.on_id_token(|t| t.claim("nonce", "x"));
    app.login("").await;

    let logs = capture.text();
    assert!(logs.contains("login succeeded"), "{logs}");
    assert!(
        logs.contains("login failed") && logs.contains("nonce"),
        "{logs}"
    );
    let secret = String::from_utf8(SECRET.to_vec()).unwrap();
    let session_prefix = session[..40].to_owned();
    for needle in [
        code.as_str(),
        state.as_str(),
        hint.as_str(),
        session_prefix.as_str(),
        "mock-client-secret",
        secret.as_str(),
    ] {
        assert!(!logs.contains(needle), "{needle} leaked into the logs");
    }
    let config = LoginConfig::new("http://127.0.0.1:1").session_secret(SECRET);
    assert!(!format!("{config:?}").contains(&secret));
}
