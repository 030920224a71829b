//! Correctness of the verified-token cache, against a real mock Okta over HTTP and a manual
//! clock (no sleeps): a cached token is never served past its time, its key or its tenant, and
//! no other token is ever served a cached entry.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{AuthError, Claims, ManualClock, OktaOidc, OktaOidcBuilder, OktaOidcLayer};
use okta_oidc::{Tenant, TokenError};

const LEEWAY: u64 = 120;

fn tenant(id: &str, okta: &MockOkta) -> Tenant {
    Tenant::new(id, okta.issuer()).client_id(okta.client_id())
}

fn builder(okta: &MockOkta, clock: &ManualClock) -> OktaOidcBuilder {
    OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant("acme", okta))
        .clock(clock.clone())
        .leeway(Duration::from_secs(LEEWAY))
        .background_refresh(false)
        .unknown_kid_cooldown(Duration::ZERO)
}

async fn setup() -> (MockOkta, ManualClock, OktaOidc) {
    let okta = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    let oidc = builder(&okta, &clock).build().await.unwrap();
    (okta, clock, oidc)
}

fn token_error(result: Result<Claims, AuthError>) -> TokenError {
    match result {
        Err(AuthError::InvalidToken(e)) => e,
        Err(other) => panic!("expected an invalid token, got {other:?}"),
        Ok(claims) => panic!("expected a rejection, got claims of {}", claims.sub),
    }
}

/// Replaces one character of the signature segment (well inside it, so the bits are real).
fn flip_signature_char(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 10;
    let mut bytes = token.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn cached_token_is_rejected_after_exp_plus_leeway() {
    let (okta, clock, oidc) = setup().await;
    let token = okta.id_token().expires_in(60).build();
    assert!(oidc.validate(&token).await.is_ok());
    assert!(oidc.validate(&token).await.is_ok()); // served from the cache

    clock.advance(Duration::from_secs(60 + LEEWAY - 5));
    assert!(
        oidc.validate(&token).await.is_ok(),
        "still inside the leeway"
    );

    clock.advance(Duration::from_secs(10));
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::Expired
    );
    // And it stays rejected (the entry was dropped, not re-inserted).
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::Expired
    );
}

#[tokio::test]
async fn cached_token_is_rejected_over_http_after_expiry() {
    let (okta, clock, oidc) = setup().await;
    let app = Router::new()
        .route("/me", get(|c: Claims| async move { c.sub.clone() }))
        .layer(OktaOidcLayer::new(oidc));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/me", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    let token = okta.id_token().expires_in(30).build();
    for _ in 0..2 {
        let res = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status(), 200);
    }
    clock.advance(Duration::from_secs(30 + LEEWAY + 1));
    let res = http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("invalid_token"), "{challenge}");
}

#[tokio::test]
async fn nbf_is_rechecked_when_the_clock_moves_back() {
    let (okta, clock, oidc) = setup().await;
    let now = clock.now_secs();
    let token = okta.id_token().claim("nbf", now).build();
    assert!(oidc.validate(&token).await.is_ok());
    clock.set(Duration::from_secs(
        u64::try_from(now).unwrap() - LEEWAY - 10,
    ));
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::NotYetValid
    );
}

#[tokio::test]
async fn max_ttl_bounds_an_entry_and_revalidation_uses_current_keys() {
    let okta = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    let oidc = builder(&okta, &clock)
        .token_cache_max_ttl(Duration::from_secs(10))
        .build()
        .await
        .unwrap();
    let old_kid = okta.signing_kid();
    let token = okta.id_token().build();
    assert!(oidc.validate(&token).await.is_ok());
    // The key leaves the published set but our key set is not refreshed yet: the token is
    // still good (the key set we hold still has the key).
    okta.rotate_keys();
    okta.retire_key(&old_kid);
    assert!(oidc.validate(&token).await.is_ok());
    let keys_hits = okta.hits(Endpoint::Keys);
    // Past the max TTL the entry is not served; full validation runs with the key set we
    // hold, which still has the key: accepted, no network call.
    clock.advance(Duration::from_secs(11));
    assert!(oidc.validate(&token).await.is_ok());
    assert_eq!(okta.hits(Endpoint::Keys), keys_hits);
}

#[tokio::test]
async fn cached_token_is_rejected_once_its_key_left_the_key_set() {
    let (okta, _clock, oidc) = setup().await;
    let old_kid = okta.signing_kid();
    let token = okta.id_token().build();
    assert!(oidc.validate(&token).await.is_ok());
    assert!(oidc.validate(&token).await.is_ok());

    // A refresh that keeps the key keeps the entry.
    let before = okta.hits(Endpoint::Keys);
    oidc.refresh_keys("acme").await.unwrap();
    assert_eq!(okta.hits(Endpoint::Keys), before + 1);
    assert!(oidc.validate(&token).await.is_ok());

    // Emergency rotation: the key is unpublished and our key set refreshed.
    okta.rotate_keys();
    okta.retire_key(&old_kid);
    oidc.refresh_keys("acme").await.unwrap();
    assert!(!oidc.key_ids("acme").contains(&old_kid));
    let before = okta.hits(Endpoint::Keys);
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::UnknownKey
    );
    // The rejection came from full validation: the unknown kid made it refetch the key set.
    assert_eq!(okta.hits(Endpoint::Keys), before + 1);
    // New tokens, signed with the new key, are fine.
    assert!(oidc.validate(&okta.id_token().build()).await.is_ok());
}

#[tokio::test]
async fn other_tokens_are_never_served_a_cached_entry() {
    let (okta, _clock, oidc) = setup().await;
    let token = okta.id_token().claim("sub", "00u1alice").build();
    assert_eq!(oidc.validate(&token).await.unwrap().sub, "00u1alice");
    let (message, signature) = token.rsplit_once('.').unwrap();
    let (header, payload) = message.split_once('.').unwrap();

    // Same prefix: the token with one more character, and the token cut short.
    let longer = format!("{token}A");
    assert!(oidc.validate(&longer).await.is_err());
    let shorter = &token[..token.len() - 1];
    assert!(oidc.validate(shorter).await.is_err());
    // Same header and payload (same prefix up to the signature), other signature bytes.
    assert_eq!(
        token_error(oidc.validate(&flip_signature_char(&token)).await),
        TokenError::InvalidSignature
    );
    // Same signature bytes on another payload (another user).
    let forged = okta
        .id_token()
        .claim("sub", "00u1mallory")
        .signature(signature)
        .build();
    assert_eq!(
        token_error(oidc.validate(&forged).await),
        TokenError::InvalidSignature
    );
    // Same payload and signature under another header.
    let other_header = okta.id_token().header("typ", "JWT").build();
    let other_header = other_header.split('.').next().unwrap();
    assert_ne!(other_header, header);
    let spliced = format!("{other_header}.{payload}.{signature}");
    assert_eq!(
        token_error(oidc.validate(&spliced).await),
        TokenError::InvalidSignature
    );
    // The genuine token is still served, and is still alice.
    assert_eq!(oidc.validate(&token).await.unwrap().sub, "00u1alice");
}

#[tokio::test]
async fn removed_or_replaced_tenant_rejects_cached_tokens() {
    let (okta, _clock, oidc) = setup().await;
    let token = okta.id_token().build();
    assert!(oidc.validate(&token).await.is_ok());
    assert!(oidc.validate(&token).await.is_ok());

    // Replaced: same id and issuer, another client id: the token's audience no longer fits.
    oidc.add_tenant(Tenant::new("acme", okta.issuer()).client_id("0oa1other"))
        .unwrap();
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::AudienceMismatch
    );

    // Restored, cached again, then removed.
    oidc.add_tenant(tenant("acme", &okta)).unwrap();
    assert!(oidc.validate(&token).await.is_ok());
    assert!(oidc.validate(&token).await.is_ok());
    assert!(oidc.remove_tenant("acme"));
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::UnknownIssuer
    );
}

#[tokio::test]
async fn cache_off_validates_every_time() {
    let okta = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    let oidc = builder(&okta, &clock)
        .disable_token_cache()
        .build()
        .await
        .unwrap();
    let old_kid = okta.signing_kid();
    let token = okta.id_token().expires_in(60).build();
    for _ in 0..3 {
        assert!(oidc.validate(&token).await.is_ok());
    }
    assert!(
        oidc.validate(&flip_signature_char(&token)).await.is_err(),
        "a bad signature is still refused"
    );
    okta.rotate_keys();
    okta.retire_key(&old_kid);
    oidc.refresh_keys("acme").await.unwrap();
    assert_eq!(
        token_error(oidc.validate(&token).await),
        TokenError::UnknownKey
    );
    clock.advance(Duration::from_secs(60 + LEEWAY + 1));
    assert_eq!(
        token_error(oidc.validate(&okta.id_token().expires_in(60).build()).await),
        TokenError::Expired
    );

    // Capacity 0 and max TTL 0 also turn it off.
    for b in [
        builder(&okta, &clock).token_cache_capacity(0),
        builder(&okta, &clock).token_cache_max_ttl(Duration::ZERO),
    ] {
        let oidc = b.build().await.unwrap();
        let token = okta.id_token().claim("iat", clock.now_secs()).build();
        assert!(oidc.validate(&token).await.is_ok());
        assert!(oidc.validate(&token).await.is_ok());
    }
}

trait NowSecs {
    fn now_secs(&self) -> i64;
}

impl NowSecs for ManualClock {
    fn now_secs(&self) -> i64 {
        use okta_oidc::Clock;
        i64::try_from(self.now().as_secs()).unwrap()
    }
}
