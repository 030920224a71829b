//! The revocation store over TLS (feature `redis-tls`): a `redis-server` that speaks TLS only,
//! with a certificate from a test CA (`fixtures/redis-tls`).

use std::time::Duration;

use libtest_mimic::Failed;
use okta_oidc::store::{RedisStore, RedisStoreConfig, RevocationStore};
use okta_oidc::testing::MockOkta;

use crate::common::now;
use crate::logout_app::Instance;
use crate::redis_server::{RedisServer, tls_fixture};

pub use crate::redis::needs;

/// Two instances on one `rediss://` server, each trusting the test CA: a Universal Logout
/// posted to A is enforced on B. A store that trusts only the system's roots, or that speaks
/// plain Redis to the TLS port, never connects, and the instance goes on without it.
pub async fn instances_share_revocations_over_tls() -> Result<(), Failed> {
    let redis = RedisServer::start_tls().await;
    assert!(redis.url().starts_with("rediss://"));
    let ca = std::fs::read(tls_fixture("ca.crt"))?;
    let config = |url: String| {
        RedisStoreConfig::new(url)
            .reconnect_delay(Duration::from_millis(50))
            .resync_interval(Duration::from_millis(300))
    };
    let store = |config: RedisStoreConfig| async move {
        let store = RedisStore::with_config(config).map_err(|e| e.to_string())?;
        tokio::time::timeout(Duration::from_secs(15), store.wait_synced())
            .await
            .map_err(|_| "timed out waiting for the first sync over TLS".to_owned())?;
        Ok::<_, Failed>(store)
    };
    let store_a = store(config(redis.url()).tls_root_certificate(ca.clone())).await?;
    let store_b = store(config(redis.url()).tls_root_certificate(ca)).await?;
    assert!(store_a.is_connected() && store_b.is_connected());

    let mock = MockOkta::start().await;
    let a = Instance::start(&mock, |b| b.revocation_store(store_a.clone())).await;
    let b = Instance::start(&mock, |b| b.revocation_store(store_b.clone())).await;
    let id_token = mock.id_token().issued_at(now() - 5).build();
    assert_eq!(b.bearer_status(&id_token).await, 200);
    let seen = store_b.mirror().generation();
    let answer = mock
        .universal_logout(&a.universal(), mock.iss_sub("00u1mockuser"))
        .await;
    assert_eq!(answer, 204, "recorded through TLS");
    tokio::time::timeout(
        Duration::from_secs(15),
        store_b.mirror().changed_since(seen),
    )
    .await
    .map_err(|_| "timed out waiting for B's mirror")?;
    assert_eq!(b.bearer_status(&id_token).await, 401, "refused on B");

    // Not trusted, or not TLS: no connection. Both stores above connected within
    // milliseconds; these get a bounded chance of a second.
    let untrusted = RedisStore::with_config(config(redis.url())).map_err(|e| e.to_string())?;
    let plain = RedisStore::with_config(config(redis.url().replacen("rediss", "redis", 1)))
        .map_err(|e| e.to_string())?;
    let connected = tokio::time::timeout(Duration::from_secs(1), async {
        tokio::select! {
            _ = untrusted.wait_connected(true) => "the store that trusts only the system's roots",
            _ = plain.wait_connected(true) => "the plain-Redis store",
        }
    })
    .await;
    if let Ok(which) = connected {
        return Err(format!("{which} connected to a TLS server it should not trust").into());
    }
    assert!(!untrusted.is_connected() && !plain.is_connected());
    Ok(())
}
