//! The revocation store on a real Redis (`redis-server`, started by each test on a free
//! loopback port without persistence): two app instances share revocations, single-use
//! markers and login states; and the outage policy (README "Redis outages"): nothing panics,
//! validation goes on with the mirror, revocations that cannot be recorded get `503`, the
//! optional staleness limit fails closed, revocations made while an instance was cut off are
//! picked up when it is back, and a Redis restarted empty gets the revocations back.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use okta_oidc::ManualClock;
use okta_oidc::store::RevocationStore;
use okta_oidc::testing::MockOkta;

use crate::common::{self, now};
use crate::harness::requires;
use crate::logout_app::{Browser, Instance};
use crate::redis_common::{Pair, config, synced as store, within};
use crate::redis_server::{Proxy, REDIS, RedisServer};

/// `redis-server` on PATH.
pub fn needs() -> Option<String> {
    requires(&REDIS)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// A Universal Logout posted to instance A is enforced on instance B; the time from A's `204`
/// to B's mirror holding it is measured (BENCHMARKS.md, "Revocation propagation").
pub async fn universal_logout_on_one_instance_holds_on_the_other() -> Result<(), Failed> {
    let redis = RedisServer::start().await;
    let mock = MockOkta::start().await;
    let Pair {
        store_a: _store_a,
        store_b,
        a,
        b,
    } = Pair::start(&mock, &redis.url()).await?;

    // A session made on A and a token validated (and cached) on B.
    let (_browser, mut on_b) = Pair::signed_in_on(&a, &b).await;
    let id_token = mock.id_token().issued_at(now() - 5).build();
    assert_eq!(b.bearer_status(&id_token).await, 200);

    let seen = store_b.mirror().generation();
    assert_eq!(
        mock.universal_logout(&a.universal(), mock.iss_sub("00u1mockuser"))
            .await,
        204
    );
    within("B's mirror", store_b.mirror().changed_since(seen)).await?;
    assert_eq!(on_b.me().await, 401, "the session, on the other instance");
    assert_eq!(
        b.bearer_status(&id_token).await,
        401,
        "the cached ID token, on the other instance"
    );
    let mut later = Browser::new(&b);
    later.login().await;
    assert_eq!(later.me().await, 200, "a session started after");

    // Single use across instances: a Universal Logout request's jti, a logout token's jti, a
    // login state.
    let request = mock.global_token_revocation_token(&a.universal()).build();
    let body = serde_json::json!({"sub_id": mock.iss_sub("00u9")}).to_string();
    let at_b = mock
        .global_token_revocation_token(&b.universal())
        .claim("jti", "shared-jti")
        .build();
    let at_a = mock
        .global_token_revocation_token(&a.universal())
        .claim("jti", "shared-jti")
        .build();
    assert_eq!(
        mock.send_universal_logout(&a.universal(), Some(&request), &body)
            .await,
        204
    );
    assert_eq!(
        mock.send_universal_logout(&b.universal(), Some(&at_b), &body)
            .await,
        204
    );
    assert_eq!(
        mock.send_universal_logout(&a.universal(), Some(&at_a), &body)
            .await,
        401
    );
    let logout_token = mock.logout_token().claim("sub", "00u8").build();
    assert_eq!(
        mock.backchannel_logout(&a.backchannel(), &logout_token)
            .await,
        200
    );
    assert_eq!(
        mock.backchannel_logout(&b.backchannel(), &logout_token)
            .await,
        400
    );
    let mut browser = Browser::new(&a);
    let callback = browser.start_login().await;
    let mut replay = browser.at(&b);
    assert_eq!(browser.get(&callback).await.status(), 302);
    let path = callback.strip_prefix(&a.base).unwrap().to_owned();
    assert_eq!(
        replay.get(&path).await.status(),
        400,
        "a callback replayed on B"
    );

    // Propagation time, measured (not asserted beyond the 15 s guard) over 200 users: from the
    // moment the call to A starts to the moment B's mirror holds the revocation (B learns it
    // through pub/sub, often before A's `204` reaches the caller), and the call's own time.
    const ROUNDS: usize = 200;
    let mut to_b = Vec::with_capacity(ROUNDS);
    let mut answered = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let seen = store_b.mirror().generation();
        let sub = format!("00uprop{i}");
        let start = Instant::now();
        let (status, b_at) = tokio::join!(
            async {
                let status = mock
                    .universal_logout(&a.universal(), mock.iss_sub(&sub))
                    .await;
                answered.push(start.elapsed());
                status
            },
            async {
                within("B's mirror", store_b.mirror().changed_since(seen)).await?;
                Ok::<_, Failed>(start.elapsed())
            }
        );
        assert_eq!(status, 204);
        to_b.push(b_at?);
    }
    to_b.sort();
    answered.sort();
    println!(
        "revocation propagation, Universal Logout sent to A → in B's mirror, {ROUNDS} rounds: \
         p50 {:?}, p99 {:?}, max {:?}; A's 204 answer: p50 {:?}, p99 {:?}",
        percentile(&to_b, 0.50),
        percentile(&to_b, 0.99),
        to_b[ROUNDS - 1],
        percentile(&answered, 0.50),
        percentile(&answered, 0.99),
    );
    let token = mock
        .id_token()
        .claim("sub", format!("00uprop{}", ROUNDS - 1))
        .issued_at(now() - 5)
        .build();
    assert_eq!(b.bearer_status(&token).await, 401);
    Ok(())
}

/// Redis lost and found again (README "Redis outages").
pub async fn redis_outages_follow_the_documented_policy() -> Result<(), Failed> {
    let logs = common::capture_logs();
    let mut redis = RedisServer::start().await;
    let proxy = Proxy::start(redis.port).await;
    let mock = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    // A reaches Redis through a proxy the test cuts; B directly; C directly, with a staleness
    // limit and a manual clock.
    let store_a = store(config(&proxy.url())).await?;
    let store_b = store(config(&redis.url())).await?;
    let store_c = store(config(&redis.url()).clock(clock.clone())).await?;
    let a = Instance::start(&mock, |b| b.revocation_store(store_a.clone())).await;
    let b = Instance::start(&mock, |b| b.revocation_store(store_b.clone())).await;
    let c = Instance::start(&mock, |b| {
        b.revocation_store(store_c.clone())
            .clock(clock.clone())
            .revocation_staleness_limit(Duration::from_secs(30))
    })
    .await;
    let token_of = |sub: &str| {
        mock.id_token()
            .claim("sub", sub)
            .issued_at(now() - 5)
            .build()
    };
    let (t1, t2, t3) = (token_of("00uone"), token_of("00utwo"), token_of("00uthree"));
    let mut browser = Browser::new(&a);
    browser.login().await;

    // R1 recorded on B reaches A.
    let seen = store_a.mirror().generation();
    assert_eq!(
        mock.universal_logout(&b.universal(), mock.iss_sub("00uone"))
            .await,
        204
    );
    within("A's mirror", store_a.mirror().changed_since(seen)).await?;

    // A loses Redis.
    proxy.cut();
    within("A to notice", store_a.wait_connected(false)).await?;
    // Validation goes on with the mirror: R1 still refused, the session still served.
    assert_eq!(a.bearer_status(&t1).await, 401);
    assert_eq!(browser.me().await, 200);
    assert_eq!(a.bearer_status(&t2).await, 200);
    // A revocation A cannot record: 503, never 204.
    assert_eq!(
        mock.universal_logout(&a.universal(), mock.iss_sub("00uthree"))
            .await,
        503
    );
    // R2 recorded on B while A is away.
    assert_eq!(
        mock.universal_logout(&b.universal(), mock.iss_sub("00utwo"))
            .await,
        204
    );
    assert_eq!(a.bearer_status(&t2).await, 200, "A has not seen it yet");
    // A is back: it re-syncs and picks R2 up.
    let syncs = store_a.syncs();
    proxy.restore();
    within("A to come back", store_a.wait_connected(true)).await?;
    within("A's re-sync", store_a.synced_after(syncs)).await?;
    assert_eq!(
        a.bearer_status(&t2).await,
        401,
        "picked up after the outage"
    );

    // Redis itself stops: nobody can record; C's staleness limit fails closed once passed.
    redis.stop().await;
    within("B to notice", store_b.wait_connected(false)).await?;
    within("C to notice", store_c.wait_connected(false)).await?;
    assert_eq!(
        mock.universal_logout(&b.universal(), mock.iss_sub("00uthree"))
            .await,
        503
    );
    let logout_token = mock.logout_token().claim("sub", "00uthree").build();
    assert_eq!(
        mock.backchannel_logout(&b.backchannel(), &logout_token)
            .await,
        503
    );
    let mut on_c = browser.at(&c);
    assert_eq!(on_c.me().await, 200, "within the staleness limit");
    assert_eq!(c.bearer_status(&t3).await, 200);
    clock.advance(Duration::from_secs(31));
    let stale = on_c.get("/api/me").await;
    assert_eq!(stale.status(), 503, "a session, past the staleness limit");
    assert!(stale.headers().contains_key("retry-after"));
    assert_eq!(
        c.bearer_status(&t3).await,
        503,
        "an ID token, past the staleness limit"
    );
    let access_token = mock.access_token().claim("uid", "00uthree").build();
    assert_eq!(
        c.bearer_status(&access_token).await,
        200,
        "access tokens are not affected"
    );
    assert_eq!(browser.me().await, 200, "no limit on A: the mirror serves");
    assert_eq!(a.bearer_status(&t1).await, 401);

    // Redis comes back empty (no persistence): the instances write back what they hold.
    let syncs = (store_b.syncs(), store_c.syncs());
    redis.restart().await;
    within("B to come back", store_b.synced_after(syncs.0)).await?;
    within("C to come back", store_c.synced_after(syncs.1)).await?;
    assert_eq!(on_c.me().await, 200, "fresh again");
    let fresh = store(config(&redis.url())).await?;
    assert!(
        fresh.mirror().len() >= 2,
        "written back: {}",
        fresh.mirror().len()
    );
    let d = Instance::start(&mock, |b| b.revocation_store(fresh.clone())).await;
    assert_eq!(
        d.bearer_status(&t1).await,
        401,
        "a new instance learns R1 from Redis"
    );
    assert_eq!(d.bearer_status(&t2).await, 401, "and R2");

    let text = logs.text();
    assert!(text.contains("revocation store lost"), "{text}");
    assert!(text.contains("revocation store found again"), "{text}");
    assert!(!text.contains("panicked"));
    Ok(())
}
