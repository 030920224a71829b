//! Cross-site requests cannot use the session, over real HTTP: a request the session cookie
//! authenticates with an unsafe method must come from the app's own origin (Fetch Metadata
//! `Sec-Fetch-Site`, else `Origin`, else `Referer`); logout too.

use http::Method;
use okta_oidc::testing::{Endpoint, MockOkta};

use crate::browser::{Browser, serve_site};
use crate::common::location;

#[tokio::test]
async fn unsafe_session_requests_must_come_from_the_app() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    assert_eq!(browser.sign_in("/auth/login").await.status(), 302);
    let origin = site.origin.clone();
    let page = format!("{origin}/profile");
    let refused: Vec<(Method, Vec<(&str, &str)>)> = vec![
        (Method::POST, vec![("sec-fetch-site", "cross-site")]),
        (Method::POST, vec![("sec-fetch-site", "same-site")]),
        // Fetch Metadata wins over an Origin that claims the app.
        (
            Method::POST,
            vec![("sec-fetch-site", "cross-site"), ("origin", &origin)],
        ),
        (Method::PUT, vec![("origin", "https://evil.example")]),
        (Method::PATCH, vec![("origin", "null")]),
        (
            Method::DELETE,
            vec![("referer", "https://evil.example/page")],
        ),
        // Nothing says where it comes from.
        (Method::POST, vec![]),
    ];
    for (method, headers) in refused {
        let response = browser.send(method.clone(), "/api/me", &headers).await;
        assert_eq!(response.status(), 403, "{method} {headers:?}");
        assert!(response.headers().get("www-authenticate").is_none());
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"], "cross_site_request");
    }
    let allowed: Vec<(Method, Vec<(&str, &str)>)> = vec![
        (Method::POST, vec![("sec-fetch-site", "same-origin")]),
        (Method::POST, vec![("origin", &origin)]),
        (Method::POST, vec![("referer", &page)]),
        // Safe methods are not refused, whatever their origin.
        (Method::GET, vec![("sec-fetch-site", "cross-site")]),
    ];
    for (method, headers) in allowed {
        let response = browser.send(method.clone(), "/api/me", &headers).await;
        assert_eq!(response.status(), 200, "{method} {headers:?}");
        assert_eq!(response.text().await.unwrap(), "00u1mockuser");
    }
}

/// Bearer tokens are not cookies: a cross-site request with one is not refused.
#[tokio::test]
async fn bearer_requests_are_not_affected() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let token = site.mock.id_token().build();
    let response = crate::common::client()
        .post(format!("{}/api/me", site.origin))
        .bearer_auth(&token)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// A logout link on another site does not end the session: it shows a page whose button
/// signs out with a same-origin `POST`.
#[tokio::test]
async fn logout_ends_the_session_only_from_the_app() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    browser.sign_in("/auth/login").await;
    let cross_site = [("sec-fetch-site", "cross-site")];
    let page = browser.send(Method::GET, "/auth/logout", &cross_site).await;
    assert_eq!(page.status(), 200);
    assert!(page.headers().get("location").is_none());
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<form method=\"post\" action=\"/auth/logout\">"),
        "{html}"
    );
    let forged = browser
        .send(Method::POST, "/auth/logout", &cross_site)
        .await;
    assert_eq!(forged.status(), 403);
    let no_headers = browser.send(Method::GET, "/auth/logout", &[]).await;
    assert_eq!(no_headers.status(), 200, "a page, not a logout");
    assert!(browser.jar.contains_key("okta_session"));
    assert_eq!(
        browser.get("/api/me").await.status(),
        200,
        "still signed in"
    );
    assert!(site.mock.logouts().is_empty());

    // The page's button: a POST from the app's own origin.
    let origin = site.origin.clone();
    let out = browser
        .send(Method::POST, "/auth/logout", &[("origin", &origin)])
        .await;
    assert_eq!(out.status(), 302);
    assert!(location(&out).starts_with(&site.mock.url(Endpoint::Logout.path())));
    assert!(!browser.jar.contains_key("okta_session"));
    assert_eq!(browser.get("/api/me").await.status(), 401);
}

/// The log says why: a write without any header naming its origin is not called cross-site.
#[tokio::test]
async fn the_refusal_log_tells_a_missing_origin_from_another_site() {
    let site = serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);
    assert_eq!(browser.sign_in("/auth/login").await.status(), 302);
    let logs = crate::common::capture_logs();
    let path = "/api/me?csrf-log-test";
    let none = browser.send(Method::POST, path, &[]).await;
    assert_eq!(none.status(), 403);
    let evil = [("origin", "https://evil.example")];
    assert_eq!(browser.send(Method::PUT, path, &evil).await.status(), 403);
    let text = logs.text();
    let line = |method: &str| {
        text.lines()
            .find(|l| {
                l.contains("session cookie refused")
                    && l.contains(&format!("method=\"{method}\""))
                    && l.contains("path=\"/api/me\"")
            })
            .unwrap_or_else(|| panic!("no {method} line in {text}"))
            .to_owned()
    };
    assert!(line("POST").contains("without Origin or Sec-Fetch-Site"));
    assert!(line("PUT").contains("from another site"));
}
