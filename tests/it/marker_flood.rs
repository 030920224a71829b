//! A stranger floods the single-use markers (issue 17, item 1), over real HTTP: `GET
//! /auth/login` then `GET /auth/callback?state=…` costs a stranger nothing, and each finished
//! callback leaves a login-state marker. Each kind of marker has its own bound
//! (`MarkerLimits`): once the login states are full, an admin's Universal Logout
//! (draft-parecki-oauth-global-token-revocation §3) and the provider's back-channel logout
//! (OpenID Connect Back-Channel Logout 1.0 §2.8) are still answered and recorded, a new sign-in
//! still completes, and a DPoP request (RFC 9449 §11.1, its own markers) still passes.
//!
//! `flood_callbacks_for` with `OKTA_OIDC_FLOOD_SECS` set is the attack run of RELIABILITY.md
//! ("Hostile traffic (issue 17)"); without it the run is a short one.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use okta_oidc::store::{MarkerLimits, MemoryStore};
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{CallBudget, Dpop, ProtectedResource};

use crate::common::{self, client, location, now};
use crate::logout_app::{Browser, Instance};

/// The login-state bound of these tests: small, so that a test fills it fast.
const LOGIN_STATES: usize = 32;
/// The resource identifier of the DPoP requests (`htu` is built from it, not from `Host`).
const RESOURCE: &str = "https://api.example.com";

fn param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// One stranger's round: `GET /auth/login`, then the callback with the login cookie, the
/// state and `code` (a well-formed code the provider never issued), without ever visiting the
/// provider. The callback's status.
async fn stranger_round(http: &reqwest::Client, instance: &Instance, code: &str) -> u16 {
    let start = http
        .get(format!("{}/auth/login", instance.base))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 302);
    let mut jar = common::Jar::new();
    common::store_cookies(&mut jar, &start);
    let state = param(&location(&start), "state").expect("a state in the authorize URL");
    http.get(format!(
        "{}/auth/callback?state={state}&code={code}",
        instance.base
    ))
    .header("cookie", common::cookie_header(&jar))
    .send()
    .await
    .unwrap()
    .status()
    .as_u16()
}

/// An instance on a memory store whose login-state bound is [`LOGIN_STATES`], with DPoP on.
///
/// The code-exchange budget (which stops one client's flood of forged codes before any marker
/// is written: `hostile_login::forged_codes_from_one_client_leave_sign_in_to_the_others`) is
/// set out of the way, so that the flood reaches the marker store whose bound is tested here.
async fn instance(mock: &MockOkta, store: &MemoryStore) -> Instance {
    let store = store.clone();
    let unlimited = CallBudget::new(u32::MAX, u32::MAX, u32::MAX);
    Instance::start_with_login(
        mock,
        move |b| {
            b.revocation_store(store)
                .protected_resource(ProtectedResource::new(RESOURCE))
                .dpop(Dpop::new())
        },
        move |c| c.code_exchange_budget(unlimited, unlimited),
    )
    .await
}

fn store() -> MemoryStore {
    MemoryStore::new().marker_limits(MarkerLimits::new().login_states(LOGIN_STATES))
}

/// `GET /api/me` with a DPoP-bound access token and a fresh proof; the status.
async fn dpop_status(instance: &Instance, mock: &MockOkta, key: &DpopKey) -> u16 {
    // Not the signed-out user's (a token of the revocation's own second is refused).
    let token = mock
        .access_token()
        .claim("sub", "00udpopuser")
        .claim("uid", "00udpopuser")
        .bound_to(key)
        .build();
    let proof = key
        .proof("GET", &format!("{RESOURCE}/api/me"))
        .claim("ath", DpopKey::ath(&token))
        .build();
    client()
        .get(format!("{}/api/me", instance.base))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A callback without a code, or with one that cannot be a code, is refused before anything is
/// spent: the same login then completes with its real code (today's `main` marked the state
/// used first, so the real callback was refused as "already completed").
#[tokio::test]
async fn a_callback_without_a_usable_code_spends_nothing() {
    let mock = MockOkta::start().await;
    let app = instance(&mock, &store()).await;
    let mut browser = Browser::new(&app);
    let callback = browser.start_login().await;
    let state = param(&callback, "state").unwrap();
    let jar = browser.jar.clone();
    for bad in [
        String::new(),
        "code=".to_owned(),
        format!("code={}", "A".repeat(2049)),
        "code=two%20words".to_owned(),
        "code=caf%C3%A9".to_owned(),
    ] {
        browser.jar = jar.clone();
        let response = browser
            .get(&format!("/auth/callback?state={state}&{bad}"))
            .await;
        assert_eq!(response.status(), 400, "{}", &bad[..bad.len().min(20)]);
    }
    browser.jar = jar;
    let done = browser.get(&callback).await;
    assert_eq!(done.status(), 302, "{:?}", done.text().await);
    assert_eq!(browser.me().await, 200);
}

/// The flood fills the login states (the oldest dropped, counted); logout signals, a new
/// sign-in and DPoP, each on its own bound, go on as before. With one bound for every kind (as
/// on today's `main`), the same flood made all of them `503`.
#[tokio::test]
async fn a_full_login_state_bound_blocks_no_logout_sign_in_or_dpop() {
    let logs = common::capture_logs();
    let mock = MockOkta::start().await;
    let store = store();
    let app = instance(&mock, &store).await;
    let mut victim = Browser::new(&app);
    victim.login().await;
    let token = mock
        .id_token()
        .claim("sub", "00uflooded")
        .issued_at(now() - 5)
        .build();
    assert_eq!(app.bearer_status(&token).await, 200);

    let rounds = 3 * LOGIN_STATES;
    let http = client();
    let statuses: Vec<u16> = futures_util::stream::iter(0..rounds)
        .map(|i| {
            let (app, http) = (&app, &http);
            async move { stranger_round(http, app, &format!("forged-code-{i}")).await }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    // Each forged code reached the provider, which refused it: 502, never 503.
    assert!(statuses.iter().all(|s| *s == 502), "{statuses:?}");
    let dropped = store.dropped_markers().login_states;
    // The victim's sign-in made one more.
    assert_eq!(
        dropped,
        (rounds + 1 - LOGIN_STATES) as u64,
        "the bound is full"
    );

    // Universal Logout: 204, and recorded (the victim's session is refused).
    assert_eq!(
        mock.universal_logout(&app.universal(), mock.iss_sub("00u1mockuser"))
            .await,
        204
    );
    assert_eq!(victim.me().await, 401, "the Universal Logout was recorded");
    // Back-channel logout: 200, and recorded.
    let logout_token = mock.logout_token().claim("sub", "00uflooded").build();
    assert_eq!(
        mock.backchannel_logout(&app.backchannel(), &logout_token)
            .await,
        200
    );
    assert_eq!(app.bearer_status(&token).await, 401, "recorded");
    // A new sign-in completes; DPoP passes.
    let mut newcomer = Browser::new(&app);
    newcomer.login().await;
    assert_eq!(newcomer.me().await, 200);
    assert_eq!(dpop_status(&app, &mock, &DpopKey::es256()).await, 200);
    assert_eq!(
        store.dropped_markers().dpop_proofs,
        0,
        "DPoP has its own bound"
    );
    let text = logs.text();
    assert!(
        text.contains("single-use markers of this kind are full") && text.contains("login-state"),
        "the drops are logged: {text}"
    );
}

/// The attack run: one client sends stranger rounds as fast as it can (8 at a time) for
/// `OKTA_OIDC_FLOOD_SECS` seconds (default 2), on the default bounds (the login states'
/// `OKTA_OIDC_FLOOD_LOGIN_STATES`, default 100,000, so a slow run fills it too), while a Universal
/// Logout and a back-channel logout are sent every 100 ms; every signal must be answered
/// 204/200 and recorded. Prints the figures (`-- --nocapture`).
#[tokio::test]
async fn flood_callbacks_for() {
    let secs: u64 = std::env::var("OKTA_OIDC_FLOOD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2)
        .min(900);
    let login_states: usize = std::env::var("OKTA_OIDC_FLOOD_LOGIN_STATES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let mock = MockOkta::start().await;
    let store = MemoryStore::new().marker_limits(MarkerLimits::new().login_states(login_states));
    let app = instance(&mock, &store).await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    let http = client();
    let flood = async {
        let mut sent = 0_u64;
        let mut statuses = std::collections::BTreeMap::<u16, u64>::new();
        while Instant::now() < deadline {
            let batch: Vec<u16> = futures_util::stream::iter(0..64)
                .map(|i| {
                    let (app, http) = (&app, &http);
                    async move { stranger_round(http, app, &format!("forged-{sent}-{i}")).await }
                })
                .buffer_unordered(8)
                .collect()
                .await;
            for status in batch {
                *statuses.entry(status).or_default() += 1;
            }
            sent += 64;
        }
        (sent, statuses)
    };
    let signals = async {
        let (mut sent, mut answered) = (0_u64, 0_u64);
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while Instant::now() < deadline {
            tick.tick().await;
            let user = format!("00usignal{sent}");
            let token = mock
                .id_token()
                .claim("sub", &user)
                .issued_at(now() - 5)
                .build();
            let universal = mock
                .universal_logout(&app.universal(), mock.iss_sub(&user))
                .await;
            let universal_recorded = app.bearer_status(&token).await == 401;
            let other = format!("00uback{sent}");
            let token = mock
                .id_token()
                .claim("sub", &other)
                .issued_at(now() - 5)
                .build();
            let logout_token = mock.logout_token().claim("sub", &other).build();
            let backchannel = mock
                .backchannel_logout(&app.backchannel(), &logout_token)
                .await;
            let backchannel_recorded = app.bearer_status(&token).await == 401;
            sent += 2;
            answered += u64::from(universal == 204 && universal_recorded)
                + u64::from(backchannel == 200 && backchannel_recorded);
        }
        (sent, answered)
    };
    let started = Instant::now();
    let ((rounds, statuses), (signals, answered)) = tokio::join!(flood, signals);
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "callback flood: {rounds} stranger rounds (login + callback) in {elapsed:.1} s = \
         {:.0} rounds/s ({:.0} requests/s), callback statuses {statuses:?}; logout signals: \
         {answered}/{signals} answered 204/200 and recorded ({:.1} %); login states dropped: {}",
        rounds as f64 / elapsed,
        2.0 * rounds as f64 / elapsed,
        100.0 * answered as f64 / signals.max(1) as f64,
        store.dropped_markers().login_states,
    );
    assert!(signals > 0);
    assert_eq!(
        answered, signals,
        "every logout signal answered and recorded"
    );
    assert!(statuses.keys().all(|s| *s == 502), "{statuses:?}");
}
