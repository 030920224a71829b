//! RP-initiated logout revokes what it ends: a copy of the session cookie and the ID token
//! sent as `id_token_hint` are refused afterwards, while a session of the same user started
//! after works; and a login `state` is single use across instances that share a store.

use std::sync::{Arc, Mutex};

use okta_oidc::store::MemoryStore;
use okta_oidc::testing::MockOkta;

use crate::common::location;
use crate::logout_app::{Browser, Instance};

#[tokio::test]
async fn a_copied_cookie_and_the_id_token_hint_are_refused_after_logout() {
    let mock = MockOkta::start().await;
    let app = Instance::start(&mock, |b| b).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    let copy = browser.clone();
    assert_eq!(browser.me().await, 200);

    let out = browser.get("/auth/logout").await;
    assert_eq!(out.status(), 302);
    let end_session = location(&out);
    let hint = reqwest::Url::parse(&end_session)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned())
        .expect("id_token_hint");
    assert_eq!(browser.me().await, 401);

    // The cookie copied before logout, and the hint as a bearer token: both refused.
    let mut copy = copy;
    assert_eq!(copy.me().await, 401);
    assert_eq!(app.bearer_status(&hint).await, 401);
    // A new session of the same user works.
    let mut again = Browser::new(&app);
    again.login().await;
    assert_eq!(again.me().await, 200);
}

#[tokio::test]
async fn a_login_state_is_single_use_across_instances_sharing_a_store() {
    let mock = MockOkta::start().await;
    let store = MemoryStore::new();
    let a = Instance::start(&mock, |b| b.revocation_store(store.clone())).await;
    let b = Instance::start(&mock, |b| b.revocation_store(store.clone())).await;
    let mut browser = Browser::new(&a);
    let callback = browser.start_login().await;
    // The same callback (and login cookie) replayed on the other instance after it completed.
    let mut replay = browser.at(&b);
    let path = callback.strip_prefix(&a.base).unwrap();
    assert_eq!(browser.get(&callback).await.status(), 302);
    assert_eq!(replay.get(path).await.status(), 400);
    assert!(!replay.jar.contains_key("okta_session"));
}

/// The claims of a compact JWT (not verified: the test reads what the mock minted).
fn payload(token: &str) -> serde_json::Value {
    use base64::Engine;
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Signs in at `app`, logs out there: the `id_token_hint` the provider was sent.
async fn sign_in_and_out(app: &Instance) -> String {
    let mut browser = Browser::new(app);
    browser.login().await;
    assert_eq!(browser.me().await, 200);
    let out = browser.get("/auth/logout").await;
    assert_eq!(out.status(), 302);
    reqwest::Url::parse(&location(&out))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned())
        .expect("id_token_hint")
}

/// An ID token without `jti` (OpenID Connect Core §2 makes `jti` optional) is a working bearer
/// until the RP logout (RP-Initiated Logout 1.0 §2) ends its session; then it is refused, by its
/// `sid`. An instance that did not see the logout (its own store) still takes it: the token
/// itself is valid, only the logout refuses it.
#[tokio::test]
async fn an_id_token_without_jti_is_refused_after_logout() {
    let mock = MockOkta::start().await;
    mock.on_id_token(|t| t.without_claim("jti"));
    let app = Instance::start(&mock, |b| b).await;
    let elsewhere = Instance::start(&mock, |b| b).await;
    let hint = sign_in_and_out(&app).await;
    let claims = payload(&hint);
    assert!(
        claims.get("jti").is_none() && claims.get("sid").is_some(),
        "{claims}"
    );
    assert_eq!(elsewhere.bearer_status(&hint).await, 200, "a valid bearer");
    assert_eq!(app.bearer_status(&hint).await, 401, "ended by the logout");
    // By its `sid`: another token of that provider session issued before the logout is
    // refused too; one issued after it (a new sign-in in the same session) is not.
    let sid = claims["sid"].as_str().unwrap();
    let iat = claims["iat"].as_i64().unwrap();
    let sibling = |iat: i64| {
        mock.id_token()
            .without_claim("jti")
            .claim("sid", sid)
            .issued_at(iat)
            .build()
    };
    assert_eq!(elsewhere.bearer_status(&sibling(iat - 5)).await, 200);
    assert_eq!(app.bearer_status(&sibling(iat - 5)).await, 401);
    assert_eq!(app.bearer_status(&sibling(iat + 5)).await, 200);
}

/// Makes `mock` mint ID tokens without `jti` and `sid`, and keeps a copy of the last one (a
/// hook that rebuilds the token from its claims twice: RS256 signatures are deterministic, so
/// the copy is the very token the app gets).
fn mint_without_jti_or_sid(mock: &MockOkta) -> Arc<Mutex<Option<String>>> {
    let last = Arc::new(Mutex::new(None));
    let (kept, minter) = (Arc::clone(&last), mock.clone());
    mock.on_id_token(move |t| {
        let claims = t.claims();
        let rebuild = || {
            let mut b = minter.id_token();
            let defaults: Vec<String> = b.claims().as_object().unwrap().keys().cloned().collect();
            for name in defaults {
                b = b.without_claim(&name);
            }
            for (name, value) in claims.as_object().unwrap() {
                if name != "jti" && name != "sid" {
                    b = b.claim(name, value);
                }
            }
            b
        };
        *kept.lock().unwrap() = Some(rebuild().build());
        rebuild()
    });
    last
}

/// Without `jti` and without `sid`, the logout still refuses the very token it was sent as
/// `id_token_hint` (by its digest): on the instance that already accepted it as a bearer (and
/// holds it in its verified-token cache), and on every instance sharing the store; a new
/// sign-in of the same user works.
#[tokio::test]
async fn an_id_token_without_jti_or_sid_is_refused_after_logout_everywhere() {
    let mock = MockOkta::start().await;
    let minted = mint_without_jti_or_sid(&mock);
    let store = MemoryStore::new();
    let app = Instance::start(&mock, |b| b.revocation_store(store.clone())).await;
    let peer = Instance::start(&mock, |b| b.revocation_store(store.clone())).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    let token = minted
        .lock()
        .unwrap()
        .clone()
        .expect("an ID token was minted");
    let claims = payload(&token);
    assert!(
        claims.get("jti").is_none() && claims.get("sid").is_none(),
        "{claims}"
    );
    assert_eq!(app.bearer_status(&token).await, 200, "a working bearer");
    assert_eq!(peer.bearer_status(&token).await, 200);

    let out = browser.get("/auth/logout").await;
    assert_eq!(out.status(), 302);
    assert!(
        location(&out).contains(&token),
        "the session's own ID token is the hint"
    );
    assert_eq!(app.bearer_status(&token).await, 401, "cached, and refused");
    assert_eq!(
        peer.bearer_status(&token).await,
        401,
        "shared through the store"
    );
    let mut again = Browser::new(&app);
    again.login().await;
    assert_eq!(again.me().await, 200);
}
