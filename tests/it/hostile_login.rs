//! Issue 17, hostile traffic, the sign-in half: a session belongs to one tenant, and a
//! stranger's forged codes cannot spend the code exchanges an org's users need to sign in —
//! over real HTTP against the mock Okta.

use std::net::SocketAddr;

use http::Method;
use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{CallBudget, Login, LoginConfig, OktaOidc};

use crate::browser::{Browser, SECRET, Site, web_app};
use crate::common::{self, tenant_for};

/// A session signed in at tenant a counts as no session on a request that names tenant b: the
/// API answers 401, a page asks to sign in; on tenant a's requests it works.
#[tokio::test]
async fn a_session_of_tenant_a_is_no_session_on_tenant_b_routes() {
    let (a, b) = (MockOkta::start().await, MockOkta::start().await);
    let oidc = common::two_tenants(&a, &b, Some("x-tenant")).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let login = Login::new(&oidc, LoginConfig::new(&origin).session_secret(SECRET)).unwrap();
    let router = web_app(&login, "");
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let site = Site {
        mock: a,
        base: origin.clone(),
        origin,
    };
    let mut browser = Browser::new(&site);
    let signed_in = browser.sign_in("/auth/login?tenant=a").await;
    assert_eq!(signed_in.status(), 302);
    let on = |tenant: &'static str| [("sec-fetch-site", "same-origin"), ("x-tenant", tenant)];
    let me_a = browser.send(Method::GET, "/api/me", &on("a")).await;
    assert_eq!(me_a.status(), 200, "tenant a's own route");
    let me_b = browser.send(Method::GET, "/api/me", &on("b")).await;
    assert_eq!(me_b.status(), 401, "tenant b's route");
    let page_b = browser.send(Method::GET, "/profile", &on("b")).await;
    assert_eq!(page_b.status(), 302, "a page of tenant b asks to sign in");
    assert!(common::location(&page_b).contains("/auth/login"));
    let page_a = browser.send(Method::GET, "/profile", &on("a")).await;
    assert_eq!(page_a.status(), 200);
    drop(b);
}

/// The sign-in callback exchanges its code at the org's token endpoint, which Okta counts against
/// the org's `/token` rate limit, and a stranger can send forged codes for free: one client's
/// forged codes spend its share of the code-exchange budget (then `503` with `Retry-After`, the
/// login kept), and another client still signs in.
#[tokio::test]
async fn forged_codes_from_one_client_leave_sign_in_to_the_others() {
    let mock = MockOkta::start().await;
    let localhost = "127.0.0.1".parse().unwrap();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("acme", &mock))
        .trusted_proxies([localhost])
        .build()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let config = LoginConfig::new(&origin)
        .session_secret(SECRET)
        .code_exchange_budget(CallBudget::new(600, 100, 20), CallBudget::new(1, 3, 3));
    let login = Login::new(&oidc, config).unwrap();
    let router = web_app(&login, "").into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let site = Site {
        mock,
        base: origin.clone(),
        origin,
    };
    let attacker_address = [
        ("x-forwarded-for", "198.51.100.9"),
        ("sec-fetch-site", "cross-site"),
    ];
    let mut attacker = Browser::new(&site);
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let callback = attacker.start_login("/auth/login").await;
        let (before, _) = callback.split_once("code=").unwrap();
        let state = callback
            .split("state=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let forged = format!("{before}code=forged-code&state={state}");
        let response = attacker.send(Method::GET, &forged, &attacker_address).await;
        statuses.push(response.status().as_u16());
        if response.status() == 503 {
            assert!(common::retry_after(&response) >= 1);
            // The login is kept (its cookie not cleared): the callback can be sent again.
            let cleared = response
                .headers()
                .get_all(http::header::SET_COOKIE)
                .iter()
                .any(|c| c.to_str().unwrap().contains("Max-Age=0"));
            assert!(!cleared, "a refusal that may pass later keeps the login");
        }
    }
    assert!(statuses[..3].iter().all(|s| *s != 503), "{statuses:?}");
    assert_eq!(
        &statuses[3..],
        [503, 503, 503],
        "the attacker's share is spent"
    );
    assert_eq!(
        site.mock.hits(Endpoint::Token),
        3,
        "three forged codes reached Okta"
    );

    let mut user = Browser::new(&site);
    let signed_in = user.sign_in("/auth/login").await;
    assert_eq!(signed_in.status(), 302, "another client signs in");
    let me = user
        .send(Method::GET, "/api/me", &[("sec-fetch-site", "same-origin")])
        .await;
    assert_eq!(me.status(), 200);
}
