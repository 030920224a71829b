//! The web_app example's admin page (`examples/support/admin.rs`, compiled in here) over real
//! HTTP: only signed-in users listed in `ADMIN_USERS` see it (404 for anyone else, and for
//! everyone while it is unset); its "Check" POST runs the tenant doctor and shows the result;
//! a cross-site POST with the session cookie is refused (403, Fetch Metadata / `Origin`).

#[allow(dead_code)]
#[path = "../../examples/support/admin.rs"]
mod admin;

use std::sync::Arc;

use axum::Router;
use okta_oidc::testing::MockOkta;
use okta_oidc::{Login, LoginConfig, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc};
use reqwest::header::COOKIE;

use crate::common::{Jar, client, cookie_header, location, store_cookies, tenant_for};

const SESSION_SECRET: &[u8; 32] = b"admin-page-tests-session-secret0";

/// The app: login routes, Universal Logout, and the admin page for `admins`.
async fn app(mock: &MockOkta, admins: Option<&str>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    mock.allow_redirect_uri(&format!("{base}/auth/callback"));
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("mock", mock))
        .build()
        .await
        .unwrap();
    let login = Login::new(
        &oidc,
        LoginConfig::new(&base).session_secret(SESSION_SECRET),
    )
    .unwrap();
    let endpoints = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(&base)).unwrap();
    let admin = admin::Admin::new(oidc.clone(), admins.map(str::to_owned), &base, "");
    let app = Router::new()
        .merge(login.router())
        .merge(endpoints.router())
        .merge(admin::router(Arc::new(admin)).layer(login.layer().optional()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Signs the mock's user in; the session cookie jar.
async fn sign_in(base: &str) -> Jar {
    let http = client();
    let mut jar = Jar::new();
    let start = http.get(format!("{base}/auth/login")).send().await.unwrap();
    store_cookies(&mut jar, &start);
    let authorize = http.get(location(&start)).send().await.unwrap();
    let done = http
        .get(location(&authorize))
        .header(COOKIE, cookie_header(&jar))
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 302);
    store_cookies(&mut jar, &done);
    assert!(jar.contains_key("okta_session"));
    jar
}

async fn get(base: &str, jar: Option<&Jar>) -> reqwest::Response {
    let mut request = client().get(format!("{base}/admin/tenants"));
    if let Some(jar) = jar {
        request = request.header(COOKIE, cookie_header(jar));
    }
    request.send().await.unwrap()
}

async fn post(base: &str, jar: &Jar, site: &str, origin: &str) -> reqwest::Response {
    client()
        .post(format!("{base}/admin/tenants"))
        .header(COOKIE, cookie_header(jar))
        .header("sec-fetch-site", site)
        .header("origin", origin)
        .form(&[("tenant", "mock")])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn only_listed_admins_see_the_page() {
    let mock = MockOkta::start().await;
    // Listed by email (any case), the mock's user sees the page; nobody signed in does not.
    let base = app(&mock, Some("someone@example.com, Mock.User@example.com")).await;
    assert_eq!(get(&base, None).await.status(), 404);
    let jar = sign_in(&base).await;
    let page = get(&base, Some(&jar)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>Tenants</h1>"));
    assert!(html.contains(&format!("<code>{}</code>", mock.issuer())));
    // Listed by sub too.
    let base = app(&mock, Some("00u1mockuser")).await;
    let jar = sign_in(&base).await;
    assert_eq!(get(&base, Some(&jar)).await.status(), 200);
    // A signed-in user who is not listed, and ADMIN_USERS unset: no such page.
    for admins in [Some("someone@example.com"), None] {
        let base = app(&mock, admins).await;
        let jar = sign_in(&base).await;
        assert_eq!(get(&base, Some(&jar)).await.status(), 404, "{admins:?}");
        let same_site = post(&base, &jar, "same-origin", &base).await;
        assert_eq!(same_site.status(), 404, "{admins:?}");
    }
}

#[tokio::test]
async fn check_runs_the_doctor_and_cross_site_posts_are_refused() {
    let mock = MockOkta::start().await;
    let base = app(&mock, Some("mock.user@example.com")).await;
    let jar = sign_in(&base).await;
    // Another site's form, carrying the admin's cookie: refused before the handler runs.
    let forged = post(&base, &jar, "cross-site", "https://evil.example").await;
    assert_eq!(forged.status(), 403);
    let html = get(&base, Some(&jar)).await.text().await.unwrap();
    assert!(!html.contains("data-code="), "no check ran");
    // The page's own button: the checks run, then the page shows them (Post/Redirect/Get).
    let pressed = post(&base, &jar, "same-origin", &base).await;
    assert_eq!(pressed.status(), 303);
    assert_eq!(location(&pressed), "/admin/tenants");
    let html = get(&base, Some(&jar)).await.text().await.unwrap();
    assert!(html.contains("all checks pass"), "{html}");
    assert!(html.contains("data-code=\"client.redirect_uri\""));
    assert!(html.contains("data-code=\"universal_logout.reachable\""));
    // A wrong secret now: the failure and its fix are shown.
    mock.set_client_secrets(["rotated-away"]);
    assert_eq!(post(&base, &jar, "same-origin", &base).await.status(), 303);
    let html = get(&base, Some(&jar)).await.text().await.unwrap();
    assert!(html.contains("1 failed"), "{html}");
    assert!(html.contains("class=\"check fail\" data-code=\"client.credentials\""));
    assert!(html.contains("class=\"fix\""));
}
