//! RP logout through Redis (#17): the revocations a logout records — the ID token's digest
//! (`token_digest`, a kind newer than the first Redis wire format) and its `sid` — reach the
//! other instance, and a revocation of a kind this version does not know (as a newer version
//! would write) is skipped, published or found at a full sync, without stopping the sync.

use std::time::Duration;

use libtest_mimic::Failed;
use okta_oidc::store::{RedisStore, RedisStoreConfig, RevocationStore};
use okta_oidc::testing::MockOkta;

use crate::common::location;
use crate::harness::requires;
use crate::logout_app::{Browser, Instance};
use crate::redis_server::{REDIS, RedisServer};

/// `redis-server` on PATH.
pub fn needs() -> Option<String> {
    requires(&REDIS)
}

async fn within<T>(what: &str, future: impl Future<Output = T>) -> Result<T, Failed> {
    tokio::time::timeout(Duration::from_secs(15), future)
        .await
        .map_err(|_| format!("timed out waiting for {what}").into())
}

async fn store(url: &str) -> Result<RedisStore, Failed> {
    let config = RedisStoreConfig::new(url)
        .reconnect_delay(Duration::from_millis(50))
        .resync_interval(Duration::from_millis(300));
    let store = RedisStore::with_config(config).map_err(|e| e.to_string())?;
    within("the first sync", store.wait_synced()).await?;
    Ok(store)
}

/// Writes and publishes a revocation of a kind no version knows, as the store would.
async fn write_unknown_kind(url: &str) -> Result<(), Failed> {
    let client = redis::Client::open(url).map_err(|e| e.to_string())?;
    let mut c = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    let far = u64::try_from(crate::common::now() + 3600).unwrap() * 1000;
    let json = format!(
        r#"{{"kind":"some_future_kind","tenant":"mock","value":"v","before_ms":0,"until_ms":{far}}}"#
    );
    redis::pipe()
        .cmd("SET")
        .arg("okta-oidc:rev:00000000000000000000000000000000")
        .arg(&json)
        .arg("PXAT")
        .arg(far)
        .ignore()
        .cmd("PUBLISH")
        .arg("okta-oidc:revocations")
        .arg(&json)
        .ignore()
        .query_async::<()>(&mut c)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// An ID token without `jti` or `sid`, used as the `id_token_hint` of a logout on A, is refused
/// on B (its digest went through Redis); an unknown kind in Redis is skipped and the mirror
/// keeps syncing.
pub async fn a_logout_on_one_instance_refuses_its_id_token_on_the_other() -> Result<(), Failed> {
    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    mock.on_id_token(|t| t.without_claim("jti").without_claim("sid"));
    let store_a = store(&redis.url()).await?;
    let store_b = store(&redis.url()).await?;
    let a = Instance::start(&mock, |b| b.revocation_store(store_a.clone())).await;
    let b = Instance::start(&mock, |b| b.revocation_store(store_b.clone())).await;
    let control = Instance::start(&mock, |b| b).await;

    write_unknown_kind(&redis.url()).await?;
    let syncs = store_b.syncs();
    within(
        "a full sync past the unknown kind",
        store_b.synced_after(syncs),
    )
    .await?;
    assert!(store_b.is_connected(), "the sync goes on");

    let mut browser = Browser::new(&a);
    browser.login().await;
    let seen = store_b.mirror().generation();
    let out = browser.get("/auth/logout").await;
    assert_eq!(out.status(), 302);
    let hint = reqwest::Url::parse(&location(&out))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "id_token_hint")
        .map(|(_, v)| v.into_owned())
        .expect("id_token_hint");
    // Every revocation of the logout was in Redis before its answer: B holds them all after
    // its next full sync at the latest (published, they usually arrive sooner).
    within("B's mirror", store_b.mirror().changed_since(seen)).await?;
    let syncs = store_b.syncs();
    within("another full sync", store_b.synced_after(syncs)).await?;
    assert_eq!(control.bearer_status(&hint).await, 200, "a valid bearer");
    assert_eq!(
        b.bearer_status(&hint).await,
        401,
        "refused on the other instance"
    );
    Ok(())
}
