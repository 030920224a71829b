//! A signing-key rotation never fails a sign-in or a valid token (OpenID Connect Core 1.0
//! §10.1.1, "Rotation of Asymmetric Signing Keys"; the OpenID RP certification module
//! "SigningKeyRotation"), over real HTTP against the mock Okta, with a `ManualClock` for the
//! unknown-`kid` cooldown:
//!
//! - an ID token from the token endpoint (the back channel) refetches the key set at once,
//!   whatever the cooldown, sharing a refetch in progress;
//! - a bearer token with a new `kid` during the cooldown is answered `503` with `Retry-After`
//!   (RFC 9110 §10.2.3), then accepted; a made-up `kid` costs no fetch;
//! - a key published before it signs is verified without any fetch.

use std::time::Duration;

use okta_oidc::testing::{Endpoint, Fault, MockOkta};

use crate::browser::{Browser, site_with_clock};
use crate::common::{client, clocked_stack, retry_after};

const COOLDOWN: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_rotation_right_after_a_refetch_fails_no_sign_in() {
    // The RP is running (keys warmed up); the clock never moves: every step is within the
    // 30 s cooldown of the one before.
    let (site, _clock) = site_with_clock().await;
    let mock = &site.mock;
    assert_eq!(mock.hits(Endpoint::Keys), 1, "warm-up");
    // The first sign-in after a rotation: its ID token names a new kid, so the key set is
    // refetched.
    mock.rotate_keys();
    let mut first = Browser::new(&site);
    assert_eq!(first.sign_in("/auth/login").await.status(), 302);
    assert_eq!(mock.hits(Endpoint::Keys), 2);
    // The provider rotates again; the next sign-in succeeds on the first try.
    mock.rotate_keys();
    let mut second = Browser::new(&site);
    let done = second.sign_in("/auth/login").await;
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    assert_eq!(mock.hits(Endpoint::Keys), 3, "one refetch, at once");
    assert_eq!(second.get("/api/me").await.status(), 200, "signed in");
}

#[tokio::test]
async fn a_strangers_made_up_kid_before_a_rotation_fails_no_sign_in() {
    let (site, _clock) = site_with_clock().await;
    let mock = site.mock.clone();
    let http = client();
    let api = |token: String| {
        let request = http.get(format!("{}/api/me", site.base)).bearer_auth(token);
        async move { request.send().await.unwrap() }
    };
    // A stranger's token with a made-up kid: one refetch, which starts the cooldown.
    let made_up = |n: u32| mock.access_token().kid(&format!("made-up-{n}")).build();
    assert_eq!(api(made_up(1)).await.status(), 401);
    assert_eq!(mock.hits(Endpoint::Keys), 2);
    assert_eq!(api(made_up(2)).await.status(), 503, "cooling down");
    assert_eq!(mock.hits(Endpoint::Keys), 2);
    // Okta rotates its keys: the cooldown holds back no sign-in.
    mock.rotate_keys();
    let mut browser = Browser::new(&site);
    assert_eq!(browser.sign_in("/auth/login").await.status(), 302);
    assert_eq!(mock.hits(Endpoint::Keys), 3);
    // The refetch for the sign-in started no cooldown of its own, and the stranger's still
    // runs: made-up kids still cost no fetch.
    assert_eq!(api(made_up(3)).await.status(), 503);
    assert_eq!(mock.hits(Endpoint::Keys), 3);
    // Tokens signed with the new key are accepted at once (the key set has it).
    assert_eq!(api(mock.access_token().build()).await.status(), 200);
}

#[tokio::test]
async fn a_sign_in_shares_the_refetch_in_progress() {
    let (site, _clock) = site_with_clock().await;
    let mock = site.mock.clone();
    mock.rotate_keys();
    let mut browser = Browser::new(&site);
    let callback = browser.start_login("/auth/login").await;
    // A slow key endpoint; a bearer token with the new kid starts the refetch.
    mock.set_fault(Endpoint::Keys, Fault::Delay(Duration::from_millis(1500)));
    let request = client()
        .get(format!("{}/api/me", site.base))
        .bearer_auth(mock.access_token().build());
    let bearer = tokio::spawn(async move { request.send().await.unwrap().status() });
    tokio::time::timeout(
        Duration::from_secs(20),
        mock.wait_for_hits(Endpoint::Keys, 2),
    )
    .await
    .expect("the bearer's refetch went out");
    // The sign-in's ID token, with the same new kid, waits for that refetch.
    assert_eq!(browser.finish_login(&callback).await.status(), 302);
    assert_eq!(bearer.await.unwrap(), 200);
    assert_eq!(mock.hits(Endpoint::Keys), 2, "one fetch for both");
}

#[tokio::test]
async fn a_sign_in_with_the_key_set_unreachable_is_unavailable_not_refused() {
    let (site, _clock) = site_with_clock().await;
    site.mock.rotate_keys();
    site.mock.set_fault(Endpoint::Keys, Fault::Status(500));
    let mut browser = Browser::new(&site);
    let done = browser.sign_in("/auth/login").await;
    assert_eq!(
        done.status(),
        503,
        "nothing wrong with the answer: try again"
    );
    site.mock.clear_fault(Endpoint::Keys);
    let mut again = Browser::new(&site);
    assert_eq!(again.sign_in("/auth/login").await.status(), 302);
}

#[tokio::test]
async fn a_new_kid_during_the_cooldown_is_told_to_retry_then_accepted() {
    let (s, clock) = clocked_stack(MockOkta::start().await, |b| {
        b.unknown_kid_cooldown(COOLDOWN)
    })
    .await;
    // A first rotation: a bearer token with the new kid refetches, and starts the cooldown.
    s.mock.rotate_keys();
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Keys), 2);
    clock.advance(Duration::from_secs(10));
    // An emergency rotation 10 s later (a key never published before), and a token minted
    // with it: not refused as invalid, but "retry when the cooldown ends".
    s.mock.rotate_keys();
    let fresh = s.mock.access_token().build();
    let response = s.get(&fresh).await;
    assert_eq!(response.status(), 503);
    assert_eq!(
        retry_after(&response),
        20,
        "the seconds left in the cooldown"
    );
    assert!(!response.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        2,
        "no fetch during the cooldown"
    );
    // The client retries after Retry-After: the refetch is due, the token is accepted.
    clock.advance(Duration::from_secs(20));
    assert_eq!(s.status(&fresh).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Keys), 3);
}

#[tokio::test]
async fn made_up_kids_cost_no_fetch_and_are_refused_once_the_key_set_is_current() {
    let (s, clock) = clocked_stack(MockOkta::start().await, |b| {
        b.unknown_kid_cooldown(COOLDOWN)
    })
    .await;
    let made_up = |n: u32| s.mock.access_token().kid(&format!("made-up-{n}")).build();
    // Outside a cooldown: one refetch, and the kid is not in the current set: invalid.
    let response = s.get(&made_up(0)).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_eq!(s.mock.hits(Endpoint::Keys), 2);
    // During the cooldown, any number of made-up kids: the answer, and no fetch.
    for n in 1..=100 {
        let response = s.get(&made_up(n)).await;
        assert_eq!(response.status(), 503, "{n}");
        assert_eq!(retry_after(&response), 30);
    }
    assert_eq!(s.mock.hits(Endpoint::Keys), 2);
    // A retry after the cooldown: one refetch for all of them, then invalid.
    clock.advance(COOLDOWN);
    assert_eq!(s.status(&made_up(1)).await, 401);
    assert_eq!(s.status(&made_up(2)).await, 503);
    assert_eq!(s.mock.hits(Endpoint::Keys), 3);
    // Tokens of known keys are never held up.
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
}

#[tokio::test]
async fn a_pre_published_key_verifies_its_first_token_without_a_fetch() {
    // Okta publishes the next key weeks before it signs with it (reference/okta-oin-
    // requirements.md, R3.4).
    let mock = MockOkta::start().await;
    let next = mock.publish_next_key();
    let (s, _clock) = clocked_stack(mock, |b| b.unknown_kid_cooldown(COOLDOWN)).await;
    assert_eq!(s.mock.hits(Endpoint::Keys), 1, "warm-up");
    assert!(s.oidc.key_ids("mock").contains(&next));
    s.mock.use_signing_key(&next);
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Keys), 1, "verified with no fetch");
    // A key published while the RP runs, picked up by a refresh (the background refresh, or
    // the application's): its first token, no fetch either.
    let after = s.mock.publish_next_key();
    s.oidc.refresh_keys("mock").await.unwrap();
    assert_eq!(s.mock.hits(Endpoint::Keys), 2);
    s.mock.use_signing_key(&after);
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Keys), 2, "verified with no fetch");
}
