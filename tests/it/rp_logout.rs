//! RP-initiated logout revokes what it ends: a copy of the session cookie and the ID token
//! sent as `id_token_hint` are refused afterwards, while a session of the same user started
//! after works; and a login `state` is single use across instances that share a store.

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
