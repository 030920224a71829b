//! The sign-in cookies under abuse, over real HTTP: a bounded number of small login cookies
//! per browser, the security prefixes of the cookie names, and no session in a shared cache.

use http::header::{CACHE_CONTROL, COOKIE};
use okta_oidc::testing::MockOkta;
use okta_oidc::{Login, LoginConfig, OktaOidc};

use crate::browser::{
    Browser, SECRET, past_session_refresh, serve_site, set_cookie, set_cookies, site_with_clock,
    web_app,
};
use crate::common::{cookie_header, location, tenant_for};

/// A browser that opens `/auth/login` 50 times still sends a small `Cookie` header, keeps at
/// most three login cookies, and its newest login completes (the oldest ones were dropped).
#[tokio::test]
async fn fifty_logins_keep_the_cookie_header_small_and_the_newest_completes() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    let long_return_to = format!("/profile?{}", "x".repeat(400));
    let mut callbacks = Vec::new();
    for i in 0..50 {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", &format!("{long_return_to}&tab={i}"))
            .finish();
        callbacks.push(browser.start_login(&format!("/auth/login?{q}")).await);
        let pending = browser.cookies_named("okta_login_");
        assert!(
            pending.len() <= 3,
            "login {i}: {} login cookies",
            pending.len()
        );
    }
    let header = cookie_header(&browser.jar);
    assert!(
        header.len() < 4096,
        "Cookie header of {} bytes",
        header.len()
    );
    for value in browser.jar.values() {
        assert!(
            value.len() < 1024,
            "a login cookie of {} bytes",
            value.len()
        );
    }
    // The oldest login's cookie is gone: it cannot complete.
    let first = browser.finish_login(&callbacks[0]).await;
    assert_eq!(first.status(), 400);
    let newest = browser.finish_login(&callbacks[49]).await;
    assert_eq!(newest.status(), 302);
    assert_eq!(location(&newest), format!("{long_return_to}&tab=49"));
    assert!(browser.jar.contains_key("okta_session"));
    assert_eq!(browser.get("/api/me").await.status(), 200);
}

/// A page that keeps sending the browser to sign in does not pile up cookies, and a page with
/// a very long address is not kept in the login cookie (the user lands on the home page).
#[tokio::test]
async fn repeated_redirects_to_login_do_not_pile_up_cookies() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    for i in 0..20 {
        let page = browser.get(&format!("/profile?view={i}")).await;
        assert_eq!(page.status(), 302);
        browser.start_login(&location(&page)).await;
    }
    assert_eq!(browser.cookies_named("okta_login_").len(), 3);
    assert!(cookie_header(&browser.jar).len() < 4096);

    let long = format!("/profile?q={}", "y".repeat(2000));
    let page = browser.get(&long).await;
    assert_eq!(location(&page), "/auth/login", "no return_to that long");
    let callback = browser.start_login(&location(&page)).await;
    assert!(browser.jar.values().all(|v| v.len() < 1024));
    let done = browser.finish_login(&callback).await;
    assert_eq!(location(&done), "/");
}

/// Over real HTTP on 127.0.0.1 (https cannot be served offline, and the cookies' attributes
/// come from the configuration, not the connection): the login and session cookies of an app
/// configured at `app_base_url` (https), signed in through the mock org over loopback.
async fn https_cookies(app_base_url: &str, path: &str) -> (Vec<String>, Vec<String>, u16) {
    https_cookies_with(app_base_url, path, |c| c).await
}

/// [`https_cookies`] with the sign-in configuration adjusted by `config`.
async fn https_cookies_with(
    app_base_url: &str,
    path: &str,
    config: impl FnOnce(LoginConfig) -> LoginConfig,
) -> (Vec<String>, Vec<String>, u16) {
    let mock = MockOkta::start().await;
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("acme", &mock))
        .build()
        .await
        .unwrap();
    let login = Login::new(
        &oidc,
        config(LoginConfig::new(app_base_url).session_secret(SECRET)),
    )
    .unwrap();
    let origin = crate::common::serve(web_app(&login, path)).await;
    let http = crate::common::client();
    let send = |path_and_query: String, cookie: Option<String>| {
        let mut request = http.get(format!("{origin}{path_and_query}"));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        async move { request.send().await.unwrap() }
    };
    let started = send(format!("{path}/auth/login"), None).await;
    let login_cookies = set_cookies(&started);
    let back = http.get(location(&started)).send().await.unwrap();
    let callback = url::Url::parse(&location(&back)).unwrap();
    assert!(callback.as_str().starts_with(app_base_url), "{callback}");
    let pair = login_cookies[0].split(';').next().unwrap().to_owned();
    let target = format!("{}?{}", callback.path(), callback.query().unwrap());
    let done = send(target, Some(pair)).await;
    let session_cookies = set_cookies(&done);
    let session = session_cookies
        .iter()
        .find(|c| c.contains("okta_session=") && !c.contains("Max-Age=0"))
        .unwrap();
    let session_pair = session.split(';').next().unwrap().to_owned();
    let me = send(format!("{path}/api/me"), Some(session_pair)).await;
    (login_cookies, session_cookies, me.status().as_u16())
}

/// Over https, the session cookie is `__Host-` at the root path and `__Secure-` under a path or
/// with a cookie domain; the login cookies are always `__Host-` at `Path=/`, host-only, so a
/// sibling subdomain cannot plant one (login CSRF); all `Secure`. (RFC 6265bis §4.1.3.2: a
/// `__Host-` cookie is `Secure`, has no `Domain` and `Path=/`.)
#[tokio::test]
async fn cookie_names_carry_security_prefixes_over_https() {
    fn host_only_root(login: &str) {
        assert!(login.starts_with("__Host-okta_login_"), "{login}");
        assert!(
            login.contains("; Secure") && login.contains("Path=/;"),
            "{login}"
        );
        assert!(!login.contains("Domain="), "{login}");
    }
    let (login, session, me) = https_cookies("https://app.example.com", "").await;
    host_only_root(&login[0]);
    let session = set_cookie(&session, "__Host-okta_session");
    assert!(
        session.contains("; Secure") && session.contains("Path=/;"),
        "{session}"
    );
    assert!(!session.contains("Domain="), "{session}");
    assert_eq!(me, 200, "the prefixed session authenticates");

    let (login, session, me) = https_cookies("https://example.com/app", "/app").await;
    host_only_root(&login[0]);
    // Under a path the name carries a tag of it: apps on one host keep their logins apart.
    let name = login[0].split('=').next().unwrap();
    let tag = name.strip_prefix("__Host-okta_login_").unwrap();
    assert_eq!(tag.len(), 8 + 1 + 16, "{name}");
    assert_eq!(tag.as_bytes()[8], b'_', "{name}");
    let session = set_cookie(&session, "__Secure-okta_session");
    assert!(
        session.contains("; Secure") && session.contains("Path=/app"),
        "{session}"
    );
    assert_eq!(me, 200);

    // A cookie domain is for the session only: the login cookies stay host-only `__Host-`.
    let (login, session, me) = https_cookies_with("https://app.example.com", "", |c| {
        c.cookie_domain("example.com")
    })
    .await;
    host_only_root(&login[0]);
    let session = set_cookie(&session, "__Secure-okta_session");
    assert!(session.contains("Domain=example.com"), "{session}");
    assert_eq!(me, 200);
}

/// Loopback `http://` (the offline demo) keeps plain names, without `Secure`.
#[tokio::test]
async fn loopback_http_keeps_plain_cookie_names() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    let callback = browser.start_login("/auth/login").await;
    assert_eq!(browser.cookies_named("okta_login_").len(), 1);
    let done = browser.finish_login(&callback).await;
    let all = set_cookies(&done);
    let session = set_cookie(&all, "okta_session");
    assert!(!session.contains("Secure"), "{session}");
}

/// A response on which the layer refreshes the session cookie is `Cache-Control: private`, or
/// keeps the application's own stricter value: no shared cache stores one user's cookie.
#[tokio::test]
async fn refreshed_session_cookies_are_never_shared_cacheable() {
    let (site, clock) = site_with_clock().await;
    let mut browser = Browser::new(&site);
    assert_eq!(browser.sign_in("/auth/login").await.status(), 302);
    for (path, expected) in [
        ("/api/me", "private"),
        ("/public-page", "private, max-age=600"),
        ("/no-store-page", "no-store"),
    ] {
        past_session_refresh(&clock);
        let response = browser.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            !set_cookies(&response).is_empty(),
            "{path}: the session was refreshed"
        );
        assert_eq!(response.headers()[CACHE_CONTROL], expected, "{path}");
    }
    // Without a refreshed cookie, the application's own value is left alone.
    let response = browser.get("/public-page").await;
    assert!(set_cookies(&response).is_empty());
    assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=600");
}

/// Two apps on one host, at the root and under `/app`: login cookies now live at `Path=/`, so
/// each browser request carries both apps' logins; each app's login cookie names carry their
/// app path, so starting a login at one never drops the other's pending login.
#[tokio::test]
async fn apps_sharing_a_host_keep_their_pending_logins_apart() {
    let mock = MockOkta::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("acme", &mock))
        .build()
        .await
        .unwrap();
    // Different secrets: neither app can open the other's cookies.
    let login_at = |base: String, secret: &[u8]| {
        Login::new(&oidc, LoginConfig::new(base).session_secret(secret)).unwrap()
    };
    let root = login_at(origin.clone(), SECRET);
    let app = login_at(format!("{origin}/app"), b"another-app-secret-another-app-s");
    let router = web_app(&root, "").merge(web_app(&app, "/app"));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let site = crate::browser::Site {
        mock,
        base: origin.clone(),
        origin,
    };
    let mut browser = Browser::new(&site);
    let app_callback = browser.start_login("/app/auth/login").await;
    // The root app's login start sees the other app's cookie, and leaves it alone.
    let start = browser.get("/auth/login").await;
    assert_eq!(start.status(), 302);
    assert!(
        set_cookies(&start).iter().all(|c| !c.contains("Max-Age=0")),
        "{:?}",
        set_cookies(&start)
    );
    assert_eq!(browser.cookies_named("okta_login_").len(), 2);
    let done = browser.finish_login(&app_callback).await;
    assert_eq!(done.status(), 302, "the /app login completes");
    assert_eq!(browser.get("/app/api/me").await.status(), 200);
}
