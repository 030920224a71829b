//! Ended and unreadable session cookies, over real HTTP: a tampered cookie is no session (a page
//! redirects to sign in, as without a cookie, and nothing says a session ended); a revoked,
//! expired or idle session is explained (the page route's own page, or `SessionEnd` for an
//! optional page) and every one of its cookies is deleted (`Set-Cookie` with `Max-Age=0`, same
//! name and path: RFC 6265 §5.3 step 11 replaces the stored cookie, which then expires).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, Login, LoginConfig, ManualClock, OktaOidc, SessionEnd};

use crate::browser::{Browser, SECRET, Site, set_cookies, web_app};
use crate::common::{location, tenant_for};

/// The browser.rs web app (`/profile`: a page route; `/api/me`: the API) plus `/home`, a page
/// where signing in is optional that says what it knows about the visitor.
async fn serve(
    mock: MockOkta,
    clock: ManualClock,
    config: impl FnOnce(LoginConfig) -> LoginConfig,
) -> Site {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .clock(clock)
        .tenant(tenant_for("acme", &mock))
        .build()
        .await
        .unwrap();
    let login = Login::new(
        &oidc,
        config(LoginConfig::new(&origin).session_secret(SECRET)),
    )
    .unwrap();
    let home = |claims: Option<Claims>, ended: Option<SessionEnd>| async move {
        match (claims, ended) {
            (Some(c), _) => format!("hello {}", c.sub),
            (None, Some(end)) => format!("ended: {end:?}"),
            (None, None) => "stranger".to_owned(),
        }
    };
    let router = web_app(&login, "").merge(
        Router::new()
            .route("/home", get(home))
            .layer(login.layer().optional()),
    );
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Site {
        mock,
        base: origin.clone(),
        origin,
    }
}

/// A mock org whose user makes a session of several cookies (`okta_session`, `_1`, …).
async fn mock_with_a_large_user() -> MockOkta {
    let mock = MockOkta::start().await;
    mock.set_user(serde_json::json!({
        "sub": "00ubig",
        "name": "Big User",
        "bio": "x".repeat(4000),
    }));
    mock
}

/// Signs `browser` in; the names of its session cookies (two or more).
async fn sign_in(browser: &mut Browser) -> Vec<String> {
    let done = browser.sign_in("/auth/login").await;
    assert_eq!(done.status(), 302);
    let names = browser.cookies_named("okta_session");
    assert!(names.len() >= 2, "a chunked session: {names:?}");
    assert_eq!(browser.get("/profile").await.status(), 200);
    names
}

/// Asserts `response` deletes each of `names` at the session's path.
fn deletes_every_cookie(response: &reqwest::Response, names: &[String]) {
    let all = set_cookies(response);
    for name in names {
        assert!(
            all.iter().any(|c| c.starts_with(&format!("{name}=;"))
                && c.contains("Max-Age=0")
                && c.contains("Path=/;")),
            "{name} not deleted: {all:?}"
        );
    }
}

#[tokio::test]
async fn a_tampered_session_cookie_is_no_session() {
    let clock = ManualClock::starting_now();
    let site = serve(MockOkta::start().await, clock, |c| c).await;
    let mut browser = Browser::new(&site);
    assert_eq!(browser.sign_in("/auth/login").await.status(), 302);
    let value = browser.jar.get_mut("okta_session").unwrap();
    let last = value.pop().unwrap();
    value.push(if last == 'A' { 'B' } else { 'A' });

    let page = browser.get("/profile").await;
    assert_eq!(page.status(), 302, "as without a cookie");
    assert_eq!(location(&page), "/auth/login?return_to=%2Fprofile");
    assert!(set_cookies(&page).is_empty(), "{:?}", set_cookies(&page));
    assert!(!page.text().await.unwrap().contains("ended"));
    let home = browser.get("/home").await;
    assert_eq!(home.text().await.unwrap(), "stranger", "no session ended");
    assert_eq!(browser.get("/api/me").await.status(), 401);
}

/// A copy of the cookie taken before a logout (RP-Initiated Logout 1.0 §2: the RP ends its own
/// session) is a revoked session: its page explains, and every cookie is deleted.
#[tokio::test]
async fn a_revoked_session_is_explained_and_every_cookie_deleted() {
    let clock = ManualClock::starting_now();
    let site = serve(mock_with_a_large_user().await, clock, |c| c).await;
    let mut browser = Browser::new(&site);
    let names = sign_in(&mut browser).await;
    let copy_of = |browser: &Browser| {
        let mut copy = Browser::new(&site);
        copy.jar = browser.jar.clone();
        copy
    };
    let (mut copy, mut home, mut api) = (copy_of(&browser), copy_of(&browser), copy_of(&browser));
    assert_eq!(browser.get("/auth/logout").await.status(), 302);

    let page = copy.get("/profile").await;
    assert_eq!(page.status(), 200);
    deletes_every_cookie(&page, &names);
    assert_eq!(
        page.headers()["cache-control"].to_str().unwrap(),
        "no-store"
    );
    let text = page.text().await.unwrap();
    assert!(text.contains("Your session has ended"), "{text}");
    assert!(text.contains("signed out"), "{text}");
    assert!(
        text.contains("href=\"/auth/login?return_to=%2Fprofile\""),
        "{text}"
    );
    assert!(copy.cookies_named("okta_session").is_empty());

    // An optional page learns why (and deletes the cookies too); the API answers 401.
    let optional = home.get("/home").await;
    deletes_every_cookie(&optional, &names);
    assert_eq!(optional.text().await.unwrap(), "ended: Revoked");
    let me = api.get("/api/me").await;
    assert_eq!(me.status(), 401);
    deletes_every_cookie(&me, &names);
}

/// Expired (the absolute lifetime) and idle sessions are explained the same way.
#[tokio::test]
async fn expired_and_idle_sessions_are_explained_and_every_cookie_deleted() {
    let clock = ManualClock::starting_now();
    let config = |c: LoginConfig| {
        c.session_lifetime(Duration::from_secs(3600))
            .idle_timeout(Duration::from_secs(7200))
    };
    let site = serve(mock_with_a_large_user().await, clock.clone(), config).await;
    let mut browser = Browser::new(&site);
    let names = sign_in(&mut browser).await;
    let mut optional = Browser::new(&site);
    optional.jar = browser.jar.clone();
    let mut api = Browser::new(&site);
    api.jar = browser.jar.clone();
    clock.advance(Duration::from_secs(3601));
    let page = browser.get("/profile").await;
    assert_eq!(page.status(), 200);
    deletes_every_cookie(&page, &names);
    assert!(page.text().await.unwrap().contains("maximum length"));
    let home = optional.get("/home").await;
    deletes_every_cookie(&home, &names);
    assert_eq!(home.text().await.unwrap(), "ended: Expired");
    let me = api.get("/api/me").await;
    assert_eq!(me.status(), 401);
    deletes_every_cookie(&me, &names);

    // Idle: default lifetimes, an hour and a second unused.
    let clock = ManualClock::starting_now();
    let site = serve(mock_with_a_large_user().await, clock.clone(), |c| c).await;
    let mut browser = Browser::new(&site);
    let names = sign_in(&mut browser).await;
    clock.advance(Duration::from_secs(3601));
    let page = browser.get("/profile").await;
    assert_eq!(page.status(), 200);
    deletes_every_cookie(&page, &names);
    assert!(page.text().await.unwrap().contains("not used for a while"));
}
