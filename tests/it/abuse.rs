//! Strangers cannot make the crate call a customer's Okta, or the application's tenant store,
//! at will — over real HTTP against the mock Okta, with an injected clock (no sleeps).
//!
//! `attack_ten_thousand_unknown_opaque_tokens` is the bounded attack run recorded in
//! RELIABILITY.md (`cargo test --all-features --test it abuse::attack -- --nocapture` prints
//! its figures).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{CallBudget, Clock, TenantKey};
use serde_json::json;

use crate::common::{self, Stack, clocked_stack};

/// Sends every token once, 32 at a time; the statuses in the order of the tokens.
async fn flood(s: &Stack, tokens: &[String]) -> Vec<u16> {
    futures_util::stream::iter(tokens)
        .map(|token| s.status(token))
        .buffered(32)
        .collect()
        .await
}

/// A token that has the shape of an opaque access token and that the org never issued.
fn unknown_token(i: usize) -> String {
    format!("00Tattack{i:08}x{}", "A".repeat(24))
}

#[tokio::test]
async fn attack_ten_thousand_unknown_opaque_tokens() {
    const PER_MINUTE: u32 = 60;
    const BURST: u32 = 20;
    // The bucket refills by its whole burst each step: the budget is spent and refilled ten times.
    const STEP: Duration = Duration::from_secs(20);
    let capture = common::capture_logs();
    let (s, clock) = clocked_stack(MockOkta::start().await, |b| {
        // Every request comes from one address here: its share of the org's budget is opened
        // wide so that the org's budget is what the flood spends (the share, which binds first
        // for one client, is tested in `hostile.rs`).
        b.introspection_budget(CallBudget::new(PER_MINUTE, BURST, 5))
            .introspection_client_share(CallBudget::new(100_000, 100_000, 64))
    })
    .await;
    let legit = s.mock.opaque_token(json!({}));
    assert_eq!(s.status(&legit).await, 200);
    s.mock.reset_hits();

    let wall = Instant::now();
    let start = clock.now();
    let (mut refused_401, mut refused_503) = (0, 0);
    for round in 0..10 {
        let tokens: Vec<String> = (round * 1000..(round + 1) * 1000)
            .map(unknown_token)
            .collect();
        for status in flood(&s, &tokens).await {
            match status {
                401 => refused_401 += 1,
                503 => refused_503 += 1,
                other => panic!("an unknown token answered {other}"),
            }
        }
        // The legitimate user, known before the attack, keeps working throughout — also once
        // its cached answer is older than the 5-minute freshness and no call can be made.
        assert_eq!(s.status(&legit).await, 200, "round {round}");
        clock.advance(STEP);
    }
    let minutes = (clock.now() - start).as_secs_f64() / 60.0;
    let budgeted = BURST as usize + (minutes * f64::from(PER_MINUTE)).ceil() as usize;
    let calls = s.mock.hits(Endpoint::Introspect);
    println!(
        "attack: 10,000 unknown opaque tokens in {:.1} s (wall), {minutes:.1} min (clock): \
         {calls} introspection calls (budget {budgeted}), {refused_401} answered 401, \
         {refused_503} answered 503",
        wall.elapsed().as_secs_f64()
    );
    assert!(calls <= budgeted, "{calls} calls, budget {budgeted}");
    assert!(calls >= BURST as usize, "the budget is used, not starved");
    assert_eq!(refused_401 + refused_503, 10_000);
    let warnings = capture.text().matches("call budget spent").count();
    assert!(
        (1..=(minutes.ceil() as usize + 1)).contains(&warnings),
        "{warnings} warnings: at most one a minute"
    );

    // Okta answers 429: no call until its reset, for new tokens only.
    clock.advance(Duration::from_secs(60));
    common::rate_limit_introspection(&s.mock, &clock, 30);
    let newcomer = s.mock.opaque_token(json!({}));
    let response = s.get(&newcomer).await;
    assert_eq!(response.status(), 503);
    let retry = common::retry_after(&response);
    assert!((29..=31).contains(&retry), "Retry-After {retry}");
    let before = s.mock.hits(Endpoint::Introspect);
    assert_eq!(s.status(&legit).await, 200, "a known token is not delayed");
    assert_eq!(s.status(&s.mock.opaque_token(json!({}))).await, 503);
    assert_eq!(
        s.mock.hits(Endpoint::Introspect),
        before,
        "no call before the reset"
    );
    s.mock.clear_fault(Endpoint::Introspect);
    clock.advance(Duration::from_secs(31));
    assert_eq!(s.status(&newcomer).await, 200, "after the reset");
}

/// Values that cannot be an access token are refused without any call: a wrong length, a
/// wrong charset, a JWT naming no registered issuer. Org-server access tokens (JWTs whose keys
/// Okta does not publish) still go to introspection.
#[tokio::test]
async fn values_that_cannot_be_access_tokens_cost_no_call() {
    let (s, _clock) = clocked_stack(MockOkta::start().await, |b| b).await;
    let stranger = MockOkta::start().await;
    for value in [
        "short".to_owned(),
        "x".repeat(19),
        "a".repeat(2049),
        "standard+base64/with/padding==".to_owned(),
        stranger.access_token().build(),
        stranger.org_access_token(),
    ] {
        assert_eq!(
            s.status(&value).await,
            401,
            "{}",
            &value[..value.len().min(40)]
        );
    }
    assert_eq!(s.mock.hits(Endpoint::Introspect), 0);
    assert_eq!(stranger.hits(Endpoint::Introspect), 0);
    assert_eq!(s.status(&s.mock.org_access_token()).await, 200);
    assert_eq!(s.status(&s.mock.opaque_token(json!({}))).await, 200);
    assert_eq!(s.mock.hits(Endpoint::Introspect), 2);
}

/// An unknown token that came back inactive is remembered (by hash): asking again later costs
/// no call.
#[tokio::test]
async fn inactive_answers_are_remembered() {
    let (s, clock) = clocked_stack(MockOkta::start().await, |b| b).await;
    let unknown = unknown_token(1);
    assert_eq!(s.status(&unknown).await, 401);
    clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(s.status(&unknown).await, 401);
    assert_eq!(s.mock.hits(Endpoint::Introspect), 1);
}

/// A flood of tokens naming random issuers costs at most the loader budget; each unknown
/// issuer is remembered; registered tenants are not affected.
#[tokio::test]
async fn random_issuers_cost_a_bounded_number_of_loader_calls() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let (s, _clock) = clocked_stack(MockOkta::start().await, move |b| {
        b.loader(move |_key: TenantKey| {
            counter.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, okta_oidc::BoxError>(None) }
        })
        .loader_budget(CallBudget::new(60, 10, 4))
    })
    .await;
    let tokens: Vec<String> = (0..1000)
        .map(|i| {
            s.mock
                .access_token()
                .claim("iss", format!("https://org{i}.okta.example"))
                .build()
        })
        .collect();
    let statuses = flood(&s, &tokens).await;
    assert!(
        statuses.iter().all(|st| *st == 401 || *st == 503),
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|st| **st == 401).count(), 10);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        10,
        "the loader budget's burst"
    );
    // Asked again: the ones the loader answered are remembered, no new call.
    let again = flood(&s, &tokens[..50]).await;
    assert!(again.iter().all(|st| *st == 401 || *st == 503));
    assert_eq!(calls.load(Ordering::SeqCst), 10);
    // The registered tenant never waits on the loader.
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
}
