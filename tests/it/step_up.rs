//! Step-up authentication (RFC 9470) over real HTTP on 127.0.0.1 with the real mock Okta:
//! `RequireAuthentication` refusals and their challenge parameters (§3), the page route that
//! sends a session to sign in again asking for `acr_values` and `max_age` (§4, OpenID Connect
//! Core §3.1.2.1), and the callback's checks of the ID token's `acr` and `auth_time` (Core
//! §3.1.2.1, §3.1.3.7).

use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, Login, LoginConfig, OktaOidcLayer, RequireAuthentication, RequireScopes};
use serde_json::Value;

use crate::browser::{Browser, Site};
use crate::common::{self, builder_for, client, location, now, tenant_for};

const TWO_FACTOR: &str = "urn:okta:loa:2fa:any";
const PHISHING_RESISTANT: &str = "urn:okta:loa:2fa:any:ifpossible";

/// The API: `/api/me`, `/api/pay` (an acr of two factors, at most 300 s since sign-in),
/// `/api/recent` (at most 60 s), `/api/orders` (scope `orders:write`), all behind the layer.
async fn api(mock: &MockOkta) -> String {
    let oidc = builder_for(mock).build().await.unwrap();
    let pay = RequireAuthentication::acr([TWO_FACTOR, PHISHING_RESISTANT])
        .max_age(Duration::from_secs(300));
    let claims = || get(|c: Claims| async move { Json(c) });
    let app = Router::new()
        .route("/api/me", claims())
        .merge(Router::new().route("/api/pay", claims()).route_layer(pay))
        .merge(
            Router::new()
                .route("/api/recent", claims())
                .route_layer(RequireAuthentication::recent(Duration::from_secs(60))),
        )
        .merge(
            Router::new()
                .route("/api/orders", claims())
                .route_layer(RequireScopes::new(["orders:write"])),
        )
        .layer(OktaOidcLayer::new(oidc));
    common::serve(app).await
}

/// GET `url` with `token`: the status and the `WWW-Authenticate` value.
async fn call(url: &str, token: &str) -> (u16, String) {
    let response = client().get(url).bearer_auth(token).send().await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn rfc9470_section_3_each_refusal_names_what_would_be_accepted() {
    let mock = MockOkta::start().await;
    let base = api(&mock).await;
    let pay = format!("{base}/api/pay");
    let recent = format!("{base}/api/recent");
    let now = now();

    // Strong and recent: accepted, on both routes.
    let strong = mock
        .access_token()
        .claim("acr", TWO_FACTOR)
        .claim("auth_time", now - 10)
        .build();
    assert_eq!(call(&pay, &strong).await.0, 200);
    assert_eq!(call(&recent, &strong).await.0, 200);

    // A password-only sign-in: acr refused; both parameters on the challenge, in the route's
    // order of preference.
    let password = mock
        .access_token()
        .claim("acr", "urn:okta:loa:1fa:pwd")
        .claim("auth_time", now - 10)
        .build();
    let (status, challenge) = call(&pay, &password).await;
    assert_eq!(status, 401);
    assert!(challenge.starts_with("Bearer realm=\"api\""), "{challenge}");
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#),
        "{challenge}"
    );
    assert!(challenge.contains("error_description=\""), "{challenge}");
    assert!(
        challenge.contains(&format!(
            r#"acr_values="{TWO_FACTOR} {PHISHING_RESISTANT}""#
        )),
        "{challenge}"
    );
    assert!(challenge.contains(r#"max_age="300""#), "{challenge}");

    // No acr at all: refused the same way.
    let no_acr = mock.access_token().claim("auth_time", now - 10).build();
    assert_eq!(call(&pay, &no_acr).await.0, 401);

    // Strong but old: refused; on the max-age-only route, only `max_age` is named.
    let old = mock
        .access_token()
        .claim("acr", TWO_FACTOR)
        .claim("auth_time", now - 600)
        .build();
    assert_eq!(call(&pay, &old).await.0, 401);
    let (status, challenge) = call(&recent, &old).await;
    assert_eq!(status, 401);
    assert!(challenge.contains(r#"max_age="60""#), "{challenge}");
    assert!(!challenge.contains("acr_values"), "{challenge}");

    // No `auth_time`: nothing proves a recent sign-in (Core §3.1.2.1).
    let timeless = mock
        .access_token()
        .claim("acr", TWO_FACTOR)
        .without_claim("auth_time")
        .build();
    let (status, challenge) = call(&recent, &timeless).await;
    assert_eq!(status, 401);
    assert!(challenge.contains("insufficient_user_authentication"));

    // An `auth_time` in the future proves nothing either.
    let future = mock.access_token().claim("auth_time", now + 3600).build();
    assert_eq!(call(&recent, &future).await.0, 401);

    // Without a credential: the plain challenge of RFC 6750 §3.1, no error code.
    let response = client().get(&pay).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(!challenge.contains("error="), "{challenge}");
    // The body names the error too.
    let body: Value = client()
        .get(&pay)
        .bearer_auth(&password)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["error"], "insufficient_user_authentication");
}

/// MCP authorization (SEP-2350): a 403 `insufficient_scope` names the scopes this route needs,
/// not the token's or any other route's.
#[tokio::test]
async fn insufficient_scope_lists_only_the_scopes_of_the_route() {
    let mock = MockOkta::start().await;
    let base = api(&mock).await;
    let token = mock
        .access_token()
        .claim("scp", ["orders:read", "profile"])
        .build();
    let (status, challenge) = call(&format!("{base}/api/orders"), &token).await;
    assert_eq!(status, 403);
    assert!(challenge.contains(r#"scope="orders:write""#), "{challenge}");
    assert!(!challenge.contains("orders:read"), "{challenge}");
    assert!(!challenge.contains("profile"), "{challenge}");
}

/// A page route that requires two factors: a password-only session is sent to sign in again,
/// asking Okta for the route's `acr_values` and `max_age`; the mock honours them; the page
/// then opens.
#[tokio::test]
async fn a_page_sends_the_session_to_sign_in_again_asking_for_the_step_up() {
    let mock = MockOkta::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let oidc = okta_oidc::OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant_for("acme", &mock))
        .build()
        .await
        .unwrap();
    let login = Login::new(
        &oidc,
        LoginConfig::new(&origin).session_secret(*b"step-up-tests-session-secret-012"),
    )
    .unwrap();
    let acr = |c: Claims| async move { c.acr.clone().unwrap_or_default() };
    let app = Router::new()
        .route("/profile", get(acr))
        .merge(Router::new().route("/admin", get(acr)).route_layer(
            RequireAuthentication::acr([TWO_FACTOR]).max_age(Duration::from_secs(300)),
        ))
        .layer(login.page_layer())
        .merge(login.router());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let site = Site {
        mock,
        base: origin.clone(),
        origin: origin.clone(),
    };
    let mut browser = Browser::new(&site);

    // A plain sign-in: Okta's password-only class.
    assert_eq!(browser.sign_in("/auth/login").await.status(), 302);
    let profile = browser.get("/profile").await;
    assert_eq!(profile.text().await.unwrap(), "urn:okta:loa:1fa:pwd");

    // The admin page asks for more: a sign-in that asks Okta for it, and comes back here.
    let refused = browser.get("/admin").await;
    assert_eq!(refused.status(), 302);
    let step_up = location(&refused);
    assert!(step_up.starts_with("/auth/login?"), "{step_up}");
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(step_up.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    assert!(
        query.contains(&("return_to".into(), "/admin".into())),
        "{query:?}"
    );
    assert!(
        query.contains(&("acr_values".into(), TWO_FACTOR.into())),
        "{query:?}"
    );
    assert!(
        query.contains(&("max_age".into(), "300".into())),
        "{query:?}"
    );

    // The authorize request carries both; the new session has the class asked.
    let start = browser.get(&step_up).await;
    let authorize = location(&start);
    assert!(
        authorize.contains("acr_values=urn%3Aokta%3Aloa%3A2fa%3Aany"),
        "{authorize}"
    );
    assert!(authorize.contains("max_age=300"), "{authorize}");
    let back = browser.http.get(&authorize).send().await.unwrap();
    let done = browser.finish_login(&location(&back)).await;
    assert_eq!(done.status(), 302);
    assert_eq!(location(&done), "/admin");
    let admin = browser.get("/admin").await;
    assert_eq!(admin.status(), 200);
    assert_eq!(admin.text().await.unwrap(), TWO_FACTOR);
}

/// The provider may ignore `acr_values` (Core §3.1.2.1: a voluntary claim) or answer with an
/// old authentication: the callback checks the ID token and refuses the session.
#[tokio::test]
async fn the_callback_refuses_an_id_token_without_the_class_or_recency_asked() {
    let site = crate::browser::serve_site(MockOkta::start().await, "", |b| b, |c| c).await;
    let mut browser = Browser::new(&site);

    // Asked two factors, got a password.
    site.mock
        .on_id_token(|t| t.claim("acr", "urn:okta:loa:1fa:pwd"));
    let url = format!("/auth/login?acr_values={}", TWO_FACTOR.replace(':', "%3A"));
    let refused = browser.sign_in(&url).await;
    assert_eq!(refused.status(), 401);
    assert!(!browser.jar.contains_key("okta_session"));

    // Asked a sign-in at most 60 s old, got one of an hour ago.
    let hour_ago = now() - 3600;
    site.mock
        .on_id_token(move |t| t.claim("auth_time", hour_ago));
    assert_eq!(
        browser.sign_in("/auth/login?max_age=60").await.status(),
        401
    );
    // Asked `max_age`, got no `auth_time` at all.
    site.mock.on_id_token(|t| t.without_claim("auth_time"));
    assert_eq!(
        browser.sign_in("/auth/login?max_age=60").await.status(),
        401
    );

    // Honoured: signed in.
    site.mock.on_id_token(|t| t);
    let done = browser.sign_in(&format!("{url}&max_age=60")).await;
    assert_eq!(done.status(), 302);
    assert!(browser.jar.contains_key("okta_session"));

    // Malformed asks are refused before anything is sent.
    for bad in ["/auth/login?max_age=soon", "/auth/login?acr_values=%22x%22"] {
        assert_eq!(browser.get(bad).await.status(), 400, "{bad}");
    }
}

/// RFC 9470 §3 with RFC 9449 §7.1: a DPoP request's refusal goes on the `DPoP` challenge, with
/// the same parameters; the `Bearer` challenge offered beside it carries no error.
#[tokio::test]
async fn a_dpop_request_gets_the_step_up_on_the_dpop_challenge() {
    use http::Request;
    use http::header::AUTHORIZATION;
    use okta_oidc::Dpop;
    use okta_oidc::testing::DpopKey;

    use crate::dpop::{DpopApi, assert_refused};

    let dpop = DpopApi::start(Dpop::new()).await;
    let app = Router::new()
        .route("/api/me", get(|c: Claims| async move { Json(c) }))
        .route_layer(RequireAuthentication::acr([TWO_FACTOR]).max_age(Duration::from_secs(300)))
        .layer(OktaOidcLayer::new(dpop.oidc.clone()));
    let key = DpopKey::es256();
    let send = async |token: &str| {
        let proof = dpop.proof(&key, token).build();
        let request = Request::get("/api/me")
            .header(AUTHORIZATION, format!("DPoP {token}"))
            .header("dpop", proof);
        common::call(&app, request).await
    };
    let weak = dpop
        .mock
        .access_token()
        .bound_to(&key)
        .claim("acr", "urn:okta:loa:1fa:pwd")
        .claim("auth_time", now() - 10)
        .build();
    let reply = send(&weak).await;
    assert_refused(&reply, "insufficient_user_authentication");
    let challenges: Vec<&str> = reply
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let on_dpop = challenges.iter().find(|c| c.starts_with("DPoP ")).unwrap();
    assert!(
        on_dpop.contains(&format!(r#"acr_values="{TWO_FACTOR}""#)),
        "{on_dpop}"
    );
    assert!(on_dpop.contains(r#"max_age="300""#), "{on_dpop}");
    let on_bearer = challenges
        .iter()
        .find(|c| c.starts_with("Bearer "))
        .unwrap();
    assert!(!on_bearer.contains("error="), "{on_bearer}");

    let strong = dpop
        .mock
        .access_token()
        .bound_to(&key)
        .claim("acr", TWO_FACTOR)
        .claim("auth_time", now() - 10)
        .build();
    assert_eq!(send(&strong).await.status, 200);
}
