//! The whole Shared Signals loop (#21) on two instances sharing one real Redis: the mock Okta's
//! stream created to the app and verified (SSF 1.0 §8.1.4.2), a user signed in, their Okta
//! session ended in the mock (`user.session.end` → CAEP `session-revoked`, RFC 8935 push to
//! instance A), and the app's session refused on A and on B within one second; the SET's `jti`
//! is single use across instances.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use okta_oidc::store::{RedisStore, RedisStoreConfig, RevocationStore};
use okta_oidc::testing::MockOkta;

use crate::harness::requires;
use crate::logout_app::{Browser, Instance};
use crate::redis_server::{REDIS, RedisServer};

const PUSH_AUTH: &str = "Bearer ssf-loop-secret-0123456789";

/// `redis-server` on PATH.
pub fn needs() -> Option<String> {
    requires(&REDIS)
}

async fn within<T>(
    what: &str,
    limit: Duration,
    future: impl Future<Output = T>,
) -> Result<T, Failed> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| format!("not within {limit:?}: {what}").into())
}

async fn store(url: &str) -> Result<RedisStore, Failed> {
    let config = RedisStoreConfig::new(url).reconnect_delay(Duration::from_millis(50));
    let store = RedisStore::with_config(config).map_err(|e| e.to_string())?;
    within(
        "the first sync",
        Duration::from_secs(15),
        store.wait_synced(),
    )
    .await?;
    Ok(store)
}

pub async fn an_okta_session_ended_in_the_mock_ends_the_app_session_on_both_instances()
-> Result<(), Failed> {
    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    let store_a = store(&redis.url()).await?;
    let store_b = store(&redis.url()).await?;
    let a = Instance::start_with_endpoints(
        &mock,
        |b| b.revocation_store(store_a.clone()),
        |c| c.ssf_push_authorization(PUSH_AUTH),
    )
    .await;
    // Behind one load balancer both instances answer to one public URL: B's audience is A's.
    let audience = a.endpoints.ssf_audience().unwrap().to_owned();
    let b = Instance::start_with_endpoints(
        &mock,
        |b| b.revocation_store(store_b.clone()),
        |c| c.ssf_push_authorization(PUSH_AUTH).ssf_audience(audience),
    )
    .await;

    // The stream, created and verified.
    let okta = a.ssf_transmitter(&mock).await;
    let stream = okta.create_stream(&a.endpoints, PUSH_AUTH).await?;
    okta.request_verification(&stream.stream_id, "loop-1")
        .await?;
    assert_eq!(
        a.endpoints
            .ssf_verification_state(&mock.issuer())
            .as_deref(),
        Some("loop-1")
    );

    // Signed in on A; the session cookie works on both.
    let mut on_a = Browser::new(&a);
    on_a.login().await;
    let mut on_b = on_a.at(&b);
    assert_eq!(on_a.me().await, 200);
    assert_eq!(on_b.me().await, 200);

    // The user's Okta session ends: Okta pushes session-revoked to A.
    let seen = store_b.mirror().generation();
    let start = Instant::now();
    let set = mock.session_revoked_event("00u1mockuser").build();
    let (status, _) = mock.push_security_event(&set).await;
    assert_eq!(status, 202);
    assert_eq!(on_a.me().await, 401, "refused on A at once");
    within(
        "B's mirror holds the revocation",
        Duration::from_secs(1),
        store_b.mirror().changed_since(seen),
    )
    .await?;
    assert_eq!(on_b.me().await, 401, "refused on B");
    let elapsed = start.elapsed();
    println!("SSF session-revoked pushed to A → session refused on B after {elapsed:?}");
    assert!(elapsed < Duration::from_secs(1), "{elapsed:?}");

    // The same SET replayed to B: its jti was used up in Redis by A (RFC 8417 §2.2 jti).
    let replay = crate::common::client()
        .post(b.endpoints.ssf_events_url().unwrap())
        .header("content-type", "application/secevent+jwt")
        .header("authorization", PUSH_AUTH)
        .body(set)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    assert_eq!(replay.status(), 400, "a replay on the other instance");
    // A sign-in after the event works on both.
    let mut again = Browser::new(&b);
    again.login().await;
    assert_eq!(again.me().await, 200);
    assert_eq!(again.at(&a).me().await, 200);
    Ok(())
}
