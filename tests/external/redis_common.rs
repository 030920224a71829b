//! What the Redis tests share: a bounded wait, and stores that reconnect and re-sync quickly.

use std::time::Duration;

use libtest_mimic::Failed;
use okta_oidc::store::{RedisStore, RedisStoreConfig};
use okta_oidc::testing::MockOkta;

use crate::logout_app::{Browser, Instance};

/// Fails the test instead of hanging when something never happens (15 s).
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> Result<T, Failed> {
    within_secs(what, 15, future).await
}

/// [`within`], with the bound in seconds.
pub async fn within_secs<T>(
    what: &str,
    secs: u64,
    future: impl Future<Output = T>,
) -> Result<T, Failed> {
    tokio::time::timeout(Duration::from_secs(secs), future)
        .await
        .map_err(|_| format!("timed out waiting for {what}").into())
}

/// A store at `url` that reconnects after 50 ms and re-syncs every 300 ms.
pub fn config(url: &str) -> RedisStoreConfig {
    RedisStoreConfig::new(url)
        .reconnect_delay(Duration::from_millis(50))
        .resync_interval(Duration::from_millis(300))
}

/// A store made from `config`, once its mirror has synced.
pub async fn synced(config: RedisStoreConfig) -> Result<RedisStore, Failed> {
    let store = RedisStore::with_config(config).map_err(|e| e.to_string())?;
    within("the first sync", store.wait_synced()).await?;
    Ok(store)
}

/// Two instances of `mock`'s app, each with its own synced store at `url`.
pub struct Pair {
    pub store_a: RedisStore,
    pub store_b: RedisStore,
    pub a: Instance,
    pub b: Instance,
}

impl Pair {
    pub async fn start(mock: &MockOkta, url: &str) -> Result<Pair, Failed> {
        let store_a = synced(config(url)).await?;
        let store_b = synced(config(url)).await?;
        let a = Instance::start(mock, |b| b.revocation_store(store_a.clone())).await;
        let b = Instance::start(mock, |b| b.revocation_store(store_b.clone())).await;
        Ok(Pair {
            store_a,
            store_b,
            a,
            b,
        })
    }

    /// A browser signed in on `a`, and the same cookies sent to `b` (a load balancer's next
    /// pick), whose session `b` serves.
    pub async fn signed_in_on(a: &Instance, b: &Instance) -> (Browser, Browser) {
        let mut browser = Browser::new(a);
        browser.login().await;
        let mut on_b = browser.at(b);
        assert_eq!(on_b.me().await, 200, "A's session, on B");
        (browser, on_b)
    }
}
