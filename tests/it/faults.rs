//! Fault injection against the mock Okta org: the key and discovery endpoints slow (beyond the
//! client timeout), failing (5xx, garbage, huge, rate limited), flapping, or gone (connection
//! refused); the token endpoint failing in the middle of a login; clocks skewed at and beyond
//! the leeway.
//!
//! In every case: valid tokens whose keys are known keep working, nothing panics, and nothing
//! hangs. Every await that could hang is wrapped in [`bounded`], a hang detector (it fails the
//! test) and never a way to wait for something to happen.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use crate::common::{self, Stack, builder_for, location, serve};
use okta_oidc::testing::{Endpoint, Fault, MockOkta};
use okta_oidc::{
    AuthError, KeyRefreshPolicy, Login, LoginConfig, ManualClock, OktaOidc, OktaOidcBuilder,
    OktaOidcLayer, TokenError,
};
use reqwest::header::COOKIE;

/// The HTTP client timeout of these tests' validators.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(200);
/// How long the slow faults stall: far beyond the client timeout.
const STALL: Duration = Duration::from_secs(5);
/// Hang detector: no single step of these tests may take this long.
const HANG: Duration = Duration::from_secs(20);

async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(HANG, f).await {
        Ok(out) => out,
        Err(_) => panic!("hang: {what} took more than {HANG:?}"),
    }
}

/// A builder with the short client timeout and a manual clock (cooldowns move only when told).
fn builder(mock: &MockOkta, clock: &ManualClock) -> OktaOidcBuilder {
    builder_for(mock)
        .http_timeout(CLIENT_TIMEOUT)
        .clock(clock.clone())
}

async fn stack(clock: &ManualClock) -> Stack {
    let mock = MockOkta::start().await;
    let oidc = bounded("warm-up", builder(&mock, clock).build())
        .await
        .unwrap();
    Stack::with(mock, oidc).await
}

fn next_cooldown(clock: &ManualClock) {
    clock.advance(KeyRefreshPolicy::default().unknown_kid_cooldown + Duration::from_secs(1));
}

/// A token signed with a newly rotated key (unknown to the validator until it refetches).
fn rotated_token(mock: &MockOkta) -> String {
    mock.rotate_keys();
    mock.id_token().build()
}

#[tokio::test]
async fn slow_key_endpoint_is_cut_at_the_client_timeout() {
    let clock = ManualClock::starting_now();
    let s = stack(&clock).await;
    let known = s.mock.id_token().build();
    s.mock.set_fault(Endpoint::Keys, Fault::Delay(STALL));
    let new = rotated_token(&s.mock);

    let started = Instant::now();
    let refetch = tokio::spawn({
        let oidc = s.oidc.clone();
        let new = new.clone();
        async move { oidc.validate(&new).await }
    });
    // While the refetch is stalled, tokens with known keys are answered.
    s.mock.wait_for_hits(Endpoint::Keys, 2).await;
    for _ in 0..20 {
        assert_eq!(bounded("known token", s.status(&known)).await, 200);
    }
    let outcome = bounded("refetch", refetch).await.unwrap();
    assert!(
        matches!(outcome, Err(AuthError::KeysUnavailable { .. })),
        "a valid token whose key cannot be fetched is 503, not 401: {outcome:?}"
    );
    assert!(
        started.elapsed() < STALL - Duration::from_secs(1),
        "the refetch was cut by the client timeout, not by the server ({:?})",
        started.elapsed()
    );
    let response = bounded("new token", s.get(&new)).await;
    assert_eq!(
        response.status(),
        503,
        "still unavailable within the cooldown"
    );
    assert!(response.headers().contains_key("retry-after"));

    s.mock.clear_fault(Endpoint::Keys);
    next_cooldown(&clock);
    assert_eq!(bounded("recovered", s.status(&new)).await, 200);
    assert_eq!(s.status(&known).await, 200);
}

#[tokio::test]
async fn slow_discovery_fails_the_warm_up_quickly_then_recovers() {
    let mock = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    mock.set_fault(Endpoint::Discovery, Fault::Delay(STALL));
    let started = Instant::now();
    let built = bounded(
        "warm-up",
        builder(&mock, &clock).require_warm_up(true).build(),
    )
    .await;
    assert!(
        built.is_err(),
        "a strict warm-up must fail on a stalled discovery"
    );
    assert!(started.elapsed() < STALL - Duration::from_secs(1));

    let oidc = builder(&mock, &clock).build_lazy().unwrap();
    let s = Stack::with(mock, oidc).await;
    let token = s.mock.id_token().build();
    let response = bounded("first request", s.get(&token)).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    s.mock.clear_fault(Endpoint::Discovery);
    next_cooldown(&clock);
    assert_eq!(bounded("recovered", s.status(&token)).await, 200);
}

#[tokio::test]
async fn failing_key_endpoint_on_the_request_path() {
    let clock = ManualClock::starting_now();
    let s = stack(&clock).await;
    // A token of the current key; the key stays published for the next rotation (the mock
    // keeps three), so it is renewed every round.
    let mut known = s.mock.id_token().build();
    let faults = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(503),
        Fault::Status(404),
        Fault::Garbage,
        Fault::Huge(8 * 1024 * 1024),
        Fault::RateLimited {
            reset_epoch_secs: clock.now_secs() + 60,
        },
    ];
    for fault in faults {
        s.mock.set_fault(Endpoint::Keys, fault.clone());
        let new = rotated_token(&s.mock);
        next_cooldown(&clock);
        let before = s.mock.hits(Endpoint::Keys);
        for _ in 0..5 {
            let response = bounded("new token", s.get(&new)).await;
            assert_eq!(
                response.status(),
                503,
                "{fault:?}: valid token, keys unreachable"
            );
            assert_eq!(bounded("known", s.status(&known)).await, 200, "{fault:?}");
        }
        assert_eq!(
            s.mock.hits(Endpoint::Keys),
            before + 1,
            "{fault:?}: one refetch per cooldown"
        );
        assert!(s.oidc.last_key_error("mock").is_some(), "{fault:?}");
        s.mock.clear_fault(Endpoint::Keys);
        next_cooldown(&clock);
        assert_eq!(bounded("recovered", s.status(&new)).await, 200, "{fault:?}");
        assert!(s.oidc.last_key_error("mock").is_none());
        known = new;
    }
    // Forged tokens with unknown kids are still refused as invalid once the keys are back (and
    // the cooldown of the last refetch is over: during it, they are told to retry).
    next_cooldown(&clock);
    let forged = s.mock.id_token().kid("not-published").build();
    assert_eq!(s.status(&forged).await, 401);
}

#[tokio::test]
async fn flapping_key_endpoint_never_refuses_a_valid_token() {
    let clock = ManualClock::starting_now();
    let s = stack(&clock).await;
    let mut known = s.mock.id_token().build();
    s.mock.set_fault(
        Endpoint::Keys,
        Fault::Flapping {
            every: 2,
            fault: Box::new(Fault::Status(500)),
        },
    );
    let (mut ok, mut unavailable) = (0, 0);
    for round in 0..12 {
        let new = rotated_token(&s.mock);
        next_cooldown(&clock);
        // Retry after the cooldown until the flapping endpoint answers: at most two rounds.
        let mut accepted = false;
        for _ in 0..3 {
            match bounded("new token", s.status(&new)).await {
                200 => {
                    ok += 1;
                    accepted = true;
                    break;
                }
                503 => {
                    unavailable += 1;
                    next_cooldown(&clock);
                }
                other => panic!("round {round}: a valid token got {other}"),
            }
        }
        assert!(accepted, "round {round}: never accepted");
        assert_eq!(bounded("known", s.status(&known)).await, 200);
        known = new;
    }
    assert_eq!(ok, 12);
    assert!(unavailable >= 1, "the flapping fault was exercised");
    let fetches = s.mock.hits(Endpoint::Keys);
    assert!(
        fetches <= 1 + 12 * 2,
        "refetches bounded by rotations and failures: {fetches}"
    );
}

#[tokio::test]
async fn connection_refused_keeps_known_keys() {
    let clock = ManualClock::starting_now();
    let mock = MockOkta::start().await;
    let oidc = bounded("warm-up", builder(&mock, &clock).build())
        .await
        .unwrap();
    let known = mock.id_token().build();
    let new = rotated_token(&mock);
    drop(mock); // the port is closed: every call is refused
    for _ in 0..10 {
        let claims = bounded("known", oidc.validate(&known)).await;
        assert!(claims.is_ok(), "{claims:?}");
    }
    next_cooldown(&clock);
    let outcome = bounded("new", oidc.validate(&new)).await;
    assert!(
        matches!(outcome, Err(AuthError::KeysUnavailable { .. })),
        "{outcome:?}"
    );
    let refreshed = bounded("refresh", oidc.refresh_keys("mock")).await;
    assert!(refreshed.is_err());
    assert!(oidc.last_key_error("mock").is_some());
    assert!(bounded("known", oidc.validate(&known)).await.is_ok());
}

#[tokio::test]
async fn unreachable_issuer_from_the_start() {
    let clock = ManualClock::starting_now();
    // Bound but not listening: connections are refused, and no other test can take the port.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let closed = reserved.local_addr().unwrap();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(okta_oidc::Tenant::new("gone", format!("http://{closed}")).client_id("0oa1"))
        .http_timeout(CLIENT_TIMEOUT)
        .clock(clock.clone())
        .build_lazy()
        .unwrap();
    assert!(bounded("warm-up", oidc.warm_up()).await.is_err());
    // Any token naming that issuer: 503, never a hang, never a panic.
    let mock = MockOkta::start().await;
    let token = mock
        .id_token()
        .claim("iss", format!("http://{closed}"))
        .claim("aud", "0oa1")
        .build();
    let outcome = bounded("validate", oidc.validate(&token)).await;
    assert!(
        matches!(outcome, Err(AuthError::KeysUnavailable { .. })),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn huge_documents_are_refused_without_buffering_them() {
    let clock = ManualClock::starting_now();
    let mock = MockOkta::start().await;
    mock.set_fault(Endpoint::Discovery, Fault::Huge(64 * 1024 * 1024));
    let err = bounded(
        "warm-up",
        builder(&mock, &clock).require_warm_up(true).build(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
    mock.clear_fault(Endpoint::Discovery);
    mock.set_fault(Endpoint::Keys, Fault::Huge(64 * 1024 * 1024));
    let err = bounded(
        "warm-up",
        builder(&mock, &clock).require_warm_up(true).build(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("larger than"), "{err}");
}

#[tokio::test]
async fn clock_skew_at_and_beyond_the_leeway() {
    let clock = ManualClock::starting_now();
    let mock = MockOkta::start().await;
    let leeway = 30;
    let oidc = bounded(
        "warm-up",
        builder(&mock, &clock)
            .leeway(Duration::from_secs(leeway))
            .disable_token_cache()
            .build(),
    )
    .await
    .unwrap();
    let now = clock.now_secs() as i64;
    let leeway = leeway as i64;
    // The provider's clock runs ahead of ours by `skew` seconds: iat and nbf in our future.
    let ahead = |skew: i64| {
        mock.id_token()
            .claim("iat", now + skew)
            .claim("nbf", now + skew)
            .claim("exp", now + skew + 300)
            .build()
    };
    assert!(oidc.validate(&ahead(leeway)).await.is_ok(), "at the leeway");
    assert!(matches!(
        oidc.validate(&ahead(leeway + 1)).await,
        Err(AuthError::InvalidToken(
            TokenError::NotYetValid | TokenError::IssuedInFuture
        ))
    ));
    // The provider's clock runs behind: the token expired `lag` seconds ago by our clock.
    let behind = |lag: i64| {
        mock.id_token()
            .claim("iat", now - 600)
            .claim("exp", now - lag)
            .build()
    };
    assert!(oidc.validate(&behind(leeway - 1)).await.is_ok());
    assert!(matches!(
        oidc.validate(&behind(leeway)).await,
        Err(AuthError::InvalidToken(TokenError::Expired))
    ));
    // Our own clock jumps (NTP step) across a token's lifetime, both ways.
    let token = mock
        .id_token()
        .claim("iat", now)
        .claim("exp", now + 60)
        .build();
    assert!(oidc.validate(&token).await.is_ok());
    clock.set(Duration::from_secs((now + 60 + leeway) as u64));
    assert!(oidc.validate(&token).await.is_err());
    clock.set(Duration::from_secs((now - leeway - 1) as u64));
    assert!(
        oidc.validate(&token).await.is_err(),
        "iat beyond the leeway"
    );
    clock.set(Duration::from_secs(now as u64));
    assert!(oidc.validate(&token).await.is_ok());
}

// ------------------------------------------------------------------ login

const SECRET: &[u8; 32] = b"faults-session-secret-0123456789";

/// A browser with a cookie jar, against an app with the login router and an API.
struct Browser {
    base: String,
    http: reqwest::Client,
    jar: BTreeMap<String, String>,
}

impl Browser {
    async fn start(mock: &MockOkta, clock: &ManualClock) -> (Browser, OktaOidc) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let oidc = bounded("warm-up", builder(mock, clock).build())
            .await
            .unwrap();
        let login = Login::new(&oidc, LoginConfig::new(&base).session_secret(SECRET)).unwrap();
        let app = common::api(login.layer()).merge(login.router());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let browser = Browser {
            base,
            http: common::client(),
            jar: BTreeMap::new(),
        };
        (browser, oidc)
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let mut request = self.http.get(url);
        if !self.jar.is_empty() {
            request = request.header(COOKIE, common::cookie_header(&self.jar));
        }
        let response = bounded("browser request", request.send()).await.unwrap();
        common::store_cookies(&mut self.jar, &response);
        response
    }

    /// Login up to the callback URL the provider sends the browser to.
    async fn until_callback(&mut self) -> String {
        let login = self.get("/auth/login").await;
        assert_eq!(login.status(), 302);
        let authorize = location(&login);
        let response = bounded("authorize", self.http.get(&authorize).send())
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        location(&response)
    }

    fn has_session(&self) -> bool {
        self.jar.contains_key("okta_session")
    }
}

#[tokio::test]
async fn token_endpoint_failing_mid_login() {
    let clock = ManualClock::starting_now();
    let mock = MockOkta::start().await;
    let (mut browser, oidc) = Browser::start(&mock, &clock).await;
    let bearer = mock.access_token().build();
    let api = serve(common::api(OktaOidcLayer::new(oidc.clone()))).await;
    let faults = [
        Fault::Status(500),
        Fault::Status(503),
        Fault::Garbage,
        Fault::Huge(4 * 1024 * 1024),
        Fault::Delay(STALL),
        Fault::RateLimited {
            reset_epoch_secs: clock.now_secs() + 60,
        },
    ];
    for fault in faults {
        let callback = browser.until_callback().await;
        mock.set_fault(Endpoint::Token, fault.clone());
        let started = Instant::now();
        let response = browser.get(&callback).await;
        let status = response.status().as_u16();
        assert!(
            matches!(status, 502 | 503),
            "{fault:?}: the callback answered {status}"
        );
        assert!(
            started.elapsed() < STALL - Duration::from_secs(1),
            "{fault:?}"
        );
        assert!(!browser.has_session(), "{fault:?}: no session");
        assert!(
            browser.jar.keys().all(|k| !k.starts_with("okta_login_")),
            "{fault:?}: the login cookie is used up"
        );
        // Bearer tokens are unaffected by the failing login.
        let status = common::client()
            .get(format!("{api}/api/me"))
            .bearer_auth(&bearer)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200, "{fault:?}");
        // The failed login cannot be retried with the same code and state.
        mock.clear_fault(Endpoint::Token);
        assert_eq!(browser.get(&callback).await.status(), 400, "{fault:?}");
    }
    // Once the provider is back, a fresh login works.
    let callback = browser.until_callback().await;
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert!(browser.has_session());
    assert_eq!(browser.get("/api/me").await.status(), 200);
}

trait NowSecs {
    fn now_secs(&self) -> u64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> u64 {
        okta_oidc::Clock::now(self).as_secs()
    }
}
