//! Where a login goes, over real HTTP: an app served under a path (`APP_BASE_URL` with a
//! path) keeps every route, redirect and cookie under it; and a login stays on the tenant the
//! application resolves from the request.

use http::Method;
use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{Login, LoginConfig};

use crate::browser::{Browser, SECRET, serve_site, set_cookie, set_cookies, web_app};
use crate::common::{location, serve};

fn param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn an_app_under_a_path_works_end_to_end() {
    let site = serve_site(MockOkta::start().await, "/app", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    // The page redirects to the login route under the path, coming back to the page.
    let page = browser.get("/app/profile?tab=2").await;
    assert_eq!(page.status(), 302);
    assert_eq!(
        location(&page),
        "/app/auth/login?return_to=%2Fapp%2Fprofile%3Ftab%3D2"
    );
    assert_eq!(
        browser.get("/auth/login").await.status(),
        404,
        "nothing at the root"
    );
    let start = browser.get(&location(&page)).await;
    assert_eq!(start.status(), 302);
    assert_eq!(
        param(&location(&start), "redirect_uri"),
        Some(format!("{}/auth/callback", site.base))
    );
    let login_cookie = set_cookies(&start).remove(0);
    // Login cookies live at the root, named for the app's path (several apps on one host).
    assert!(login_cookie.contains("Path=/;"), "{login_cookie}");
    assert!(login_cookie.starts_with("okta_login_"), "{login_cookie}");
    let back = browser.http.get(location(&start)).send().await.unwrap();
    let callback = location(&back);
    assert!(callback.starts_with(&format!("{}/auth/callback?", site.base)));
    let done = browser.finish_login(&callback).await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/app/profile?tab=2");
    let all = set_cookies(&done);
    let session = set_cookie(&all, "okta_session");
    assert!(session.contains("Path=/app;"), "{session}");
    assert_eq!(browser.get("/app/profile").await.status(), 200);
    assert_eq!(browser.get("/app/api/me").await.status(), 200);

    // return_to stays under the path; the default is the app's home.
    for bad in ["/elsewhere", "/application", "//evil.example/app"] {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("return_to", bad)
            .finish();
        let response = browser.get(&format!("/app/auth/login?{q}")).await;
        assert_eq!(response.status(), 400, "{bad}");
        let html = response.text().await.unwrap();
        assert!(html.contains("href=\"/app/\""), "the home link: {html}");
    }
    let done = browser.sign_in("/app/auth/login").await;
    assert_eq!(location(&done), "/app/");

    // Logout from the app: its cookie path, and back to the app's home.
    let out = browser.get("/app/auth/logout").await;
    assert_eq!(out.status(), 302);
    let cleared = set_cookies(&out);
    assert!(
        cleared
            .iter()
            .any(|c| c.starts_with("okta_session=;") && c.contains("Path=/app;")),
        "{cleared:?}"
    );
    let back = browser.http.get(location(&out)).send().await.unwrap();
    let home = location(&back);
    assert_eq!(home.split('?').next(), Some(&*format!("{}/", site.base)));
    assert_eq!(browser.get("/app/api/me").await.status(), 401);
}

/// When the application resolves the tenant from the request, `?tenant=` and `?iss=` naming
/// another tenant are refused, without contacting the other tenant's org.
#[tokio::test]
async fn a_login_stays_on_the_tenant_of_its_request() {
    let a = MockOkta::start().await;
    let b = MockOkta::start().await;
    let oidc = crate::common::two_tenants(&a, &b, Some("x-tenant")).await;
    // No login here completes: the redirect URI's port does not matter.
    let config = LoginConfig::new("http://127.0.0.1:1").session_secret(SECRET);
    let login = Login::new(&oidc, config).unwrap();
    let base = serve(web_app(&login, "")).await;
    let http = crate::common::client();
    let login_on_a = |query: String| {
        http.get(format!("{base}/auth/login{query}"))
            .header("x-tenant", "a")
            .send()
    };
    let iss = |issuer: String| -> String {
        url::form_urlencoded::Serializer::new(String::from("?"))
            .append_pair("iss", &issuer)
            .finish()
    };
    b.reset_hits();
    for query in [
        "?tenant=b".to_owned(),
        iss(b.issuer()),
        format!("{}&tenant=b", iss(b.issuer())),
        "?tenant=nobody".to_owned(),
    ] {
        let response = login_on_a(query.clone()).await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }
    assert_eq!(b.hits(Endpoint::Authorize), 0);
    for query in [String::new(), "?tenant=a".to_owned(), iss(a.issuer())] {
        let response = login_on_a(query.clone()).await.unwrap();
        assert_eq!(response.status(), 302, "{query}");
        assert!(location(&response).starts_with(&a.issuer()), "{query}");
    }
    // A request the resolver names no tenant for may still pick one.
    let response = http
        .request(Method::GET, format!("{base}/auth/login?tenant=b"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 302);
    assert!(location(&response).starts_with(&b.issuer()));
}
