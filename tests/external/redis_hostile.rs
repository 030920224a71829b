//! The Redis store under issue 17 (hostile traffic), on a real `redis-server`:
//!
//! - a cold start while Redis is unreachable: until the first sync, identities issued before
//!   the instance started are `503` with `Retry-After` (a revoked one could be among them);
//!   once synced, a revoked one is `401` and a good one `200`; identities issued after the
//!   start are served throughout;
//! - every key the store writes has a TTL, so Redis never fills up with markers;
//! - an `allkeys-*` eviction policy is reported at start.

use std::time::Duration;

use libtest_mimic::Failed;
use okta_oidc::store::{RedisStore, RevocationStore};
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{Dpop, ManualClock, ProtectedResource};

use crate::common::{self, client, now};
use crate::logout_app::{Browser, Instance};
use crate::redis_common::{config, synced, within};
use crate::redis_server::{Proxy, RedisServer};

/// Issue 17, item 11: an instance that starts while Redis is away refuses, until its first
/// sync, the identities issued before it started; after, the revoked ones are 401.
pub async fn a_cold_start_without_redis_refuses_older_identities_until_synced() -> Result<(), Failed>
{
    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    // Instance A, on Redis: a session and two tokens; the user of one is revoked, and so is
    // the session (Universal Logout of the browser's user).
    let store_a = synced(config(&redis.url())).await?;
    let a = Instance::start(&mock, |b| b.revocation_store(store_a.clone())).await;
    let mut browser = Browser::new(&a);
    browser.login().await;
    let session_jar = browser.jar.clone();
    let token_of = |sub: &str| {
        mock.id_token()
            .claim("sub", sub)
            .issued_at(now() - 5)
            .build()
    };
    let (revoked, good) = (token_of("00urevoked"), token_of("00ugood"));
    assert_eq!(
        mock.universal_logout(&a.universal(), mock.iss_sub("00u1mockuser"))
            .await,
        204
    );
    let logout_token = mock.logout_token().claim("sub", "00urevoked").build();
    assert_eq!(
        mock.backchannel_logout(&a.backchannel(), &logout_token)
            .await,
        200
    );
    assert_eq!(browser.me().await, 401);

    // Instance B starts while Redis cannot be reached (its proxy is cut); C likewise, with the
    // check turned off.
    let proxy = Proxy::start(redis.port).await;
    proxy.cut();
    // B starts 2 s from now by its clock (tokens are dated to the second: one of B's own start
    // second counts as older).
    let clock = ManualClock::starting_now();
    clock.advance(Duration::from_secs(2));
    let store_b = RedisStore::with_config(config(&proxy.url()).clock(clock.clone()))
        .map_err(|e| e.to_string())?;
    let store_c = RedisStore::with_config(config(&proxy.url()).fail_closed_until_first_sync(false))
        .map_err(|e| e.to_string())?;
    let b = Instance::start(&mock, |o| {
        o.revocation_store(store_b.clone()).clock(clock.clone())
    })
    .await;
    let c = Instance::start(&mock, |o| o.revocation_store(store_c.clone())).await;
    assert!(store_b.mirror().awaiting_first_sync());
    let mut on_b = browser.at(&b);
    on_b.jar = session_jar;
    let session = on_b.get("/api/me").await;
    assert_eq!(session.status(), 503, "a session from before the start");
    assert!(session.headers().contains_key("retry-after"));
    for token in [&revoked, &good] {
        let response = client()
            .get(format!("{}/api/me", b.base))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503, "a token from before the start");
        assert!(response.headers().contains_key("retry-after"));
    }
    let newer = mock
        .id_token()
        .claim("sub", "00unew")
        .issued_at(now() + 3)
        .build();
    assert_eq!(b.bearer_status(&newer).await, 200, "issued after the start");
    assert_eq!(
        c.bearer_status(&revoked).await,
        200,
        "turned off: served (the revocation is not known yet)"
    );

    // Redis is back: B syncs, and then knows.
    proxy.restore();
    within("B's first sync", store_b.wait_synced()).await?;
    within("C's first sync", store_c.wait_synced()).await?;
    assert!(!store_b.mirror().awaiting_first_sync());
    assert_eq!(on_b.me().await, 401, "the revoked session");
    assert_eq!(b.bearer_status(&revoked).await, 401, "the revoked token");
    assert_eq!(b.bearer_status(&good).await, 200, "a good one");
    assert_eq!(c.bearer_status(&revoked).await, 401);
    Ok(())
}

/// Every key the store writes expires: revocations, login states, logout-signal and DPoP
/// markers (the Redis equivalent of `redis-cli --scan` then `PTTL` on each).
pub async fn every_key_in_redis_has_a_ttl() -> Result<(), Failed> {
    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    let store = synced(config(&redis.url())).await?;
    let app = Instance::start(&mock, |b| {
        b.revocation_store(store.clone())
            .protected_resource(ProtectedResource::new("https://api.example.com"))
            .dpop(Dpop::new())
    })
    .await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    assert_eq!(browser.get("/auth/logout").await.status(), 302);
    assert_eq!(
        mock.universal_logout(&app.universal(), mock.iss_sub("00u1"))
            .await,
        204
    );
    let logout_token = mock.logout_token().claim("sub", "00u2").build();
    assert_eq!(
        mock.backchannel_logout(&app.backchannel(), &logout_token)
            .await,
        200
    );
    let key = DpopKey::es256();
    let token = mock.access_token().bound_to(&key).build();
    let proof = key
        .proof("GET", "https://api.example.com/api/me")
        .claim("ath", DpopKey::ath(&token))
        .build();
    let dpop = client()
        .get(format!("{}/api/me", app.base))
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", proof)
        .send()
        .await
        .unwrap();
    assert_eq!(dpop.status(), 200);

    let mut redis_client = redis::Client::open(redis.url())?
        .get_multiplexed_async_connection()
        .await?;
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(100)
            .query_async(&mut redis_client)
            .await?;
        keys.extend(batch);
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    for kind in [
        "rev:",
        "used:login-state:",
        "used:gtr-jti:",
        "used:logout-jti:",
        "used:dpop-jti:",
    ] {
        assert!(
            keys.iter().any(|k| k.contains(kind)),
            "traffic wrote a {kind} key: {keys:?}"
        );
    }
    for key in &keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut redis_client)
            .await?;
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
    Ok(())
}

/// An `allkeys-*` policy may evict revocations before they expire: said at start.
pub async fn an_allkeys_eviction_policy_is_reported() -> Result<(), Failed> {
    let logs = common::capture_logs();
    let redis = RedisServer::start().await;
    let mut redis_client = redis::Client::open(redis.url())?
        .get_multiplexed_async_connection()
        .await?;
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query_async(&mut redis_client)
        .await?;
    let _store = synced(config(&redis.url())).await?;
    let text = logs.text();
    assert!(
        text.contains("Redis may evict revocations") && text.contains("allkeys-lru"),
        "{text}"
    );
    Ok(())
}
