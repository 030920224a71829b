//! OpenID Connect Back-Channel Logout 1.0 against the mock Okta's logout tokens: `sub` and
//! `sid` logouts, and every refusal (§2.4 token, §2.6 validation, §2.8 answers).

use okta_oidc::testing::MockOkta;
use serde_json::json;

use crate::common::{client, now};
use crate::logout_app::{Browser, Instance};

async fn post(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(url).form(form).send().await.unwrap()
}

/// The mock, an app, and two browsers signed in as the same user (two provider sessions).
async fn two_sessions() -> (MockOkta, Instance, Browser, Browser) {
    let mock = MockOkta::start().await;
    let app = Instance::start(&mock, |b| b).await;
    let mut first = Browser::new(&app);
    first.login().await;
    let mut second = Browser::new(&app);
    second.login().await;
    (mock, app, first, second)
}

#[tokio::test]
async fn a_sid_logout_ends_that_session_only() {
    let (mock, app, mut first, mut second) = two_sessions().await;
    let sid = first.claims().await["sid"].as_str().unwrap().to_owned();
    assert_ne!(second.claims().await["sid"], sid.as_str());

    // §2.4: a token with `sid` only.
    let token = mock
        .logout_token()
        .without_claim("sub")
        .claim("sid", &sid)
        .build();
    let response = post(&app.backchannel(), &[("logout_token", &token)]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(first.me().await, 401);
    assert_eq!(
        second.me().await,
        200,
        "another provider session of the same user stays"
    );
}

#[tokio::test]
async fn a_sub_logout_ends_every_session_of_the_user() {
    let (mock, app, mut first, mut second) = two_sessions().await;
    let token = mock.logout_token().build();
    assert_eq!(
        mock.backchannel_logout(&app.backchannel(), &token).await,
        200
    );
    assert_eq!(first.me().await, 401);
    assert_eq!(second.me().await, 401);
    let mut later = Browser::new(&app);
    later.login().await;
    assert_eq!(later.me().await, 200);
}

#[tokio::test]
async fn invalid_logout_requests_get_400_no_store() {
    let mock = MockOkta::start().await;
    let other_org = MockOkta::start().await;
    let app = Instance::start(&mock, |b| b).await;
    let lt = || mock.logout_token();
    let cases = vec![
        ("no events", lt().without_claim("events").build()),
        (
            "another event",
            lt().claim("events", json!({"urn:example:event": {}}))
                .build(),
        ),
        (
            "event value not an object",
            lt().claim(
                "events",
                json!({"http://schemas.openid.net/event/backchannel-logout": "x"}),
            )
            .build(),
        ),
        ("neither sub nor sid", lt().without_claim("sub").build()),
        ("a nonce", lt().claim("nonce", "n").build()),
        ("an ID token", mock.id_token().build()),
        ("no jti", lt().without_claim("jti").build()),
        ("no iat", lt().without_claim("iat").build()),
        ("no exp", lt().without_claim("exp").build()),
        (
            "expired",
            lt().claim("iat", now() - 900)
                .claim("exp", now() - 600)
                .build(),
        ),
        (
            "too old",
            lt().claim("iat", now() - 3600)
                .claim("exp", now() + 60)
                .build(),
        ),
        ("wrong aud", lt().claim("aud", "0oaSOMEONEELSE").build()),
        ("wrong typ", lt().header("typ", "at+jwt").build()),
        ("bad signature", lt().signature("AAAA").build()),
        (
            "another org's key",
            other_org
                .logout_token()
                .claim("iss", mock.issuer())
                .claim("aud", mock.client_id())
                .build(),
        ),
    ];
    for (name, token) in cases {
        let response = post(&app.backchannel(), &[("logout_token", &token)]).await;
        assert_eq!(response.status(), 400, "{name}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{name}");
    }
    for form in [
        vec![],
        vec![("logout_token", "")],
        vec![("logout_token", "a"), ("logout_token", "b")],
    ] {
        assert_eq!(
            post(&app.backchannel(), &form).await.status(),
            400,
            "{form:?}"
        );
    }
    // A replayed jti: the first is accepted, the copy refused.
    let token = lt().build();
    assert_eq!(
        mock.backchannel_logout(&app.backchannel(), &token).await,
        200
    );
    assert_eq!(
        mock.backchannel_logout(&app.backchannel(), &token).await,
        400
    );
    // `typ` may be absent or plain JWT (§2.4 only recommends logout+jwt).
    for token in [
        lt().without_header("typ").build(),
        lt().header("typ", "JWT").build(),
    ] {
        assert_eq!(
            mock.backchannel_logout(&app.backchannel(), &token).await,
            200
        );
    }
}
