//! The revocation store behind Redis Sentinel, and durable acknowledgements (#24), against real
//! servers the tests start on free loopback ports: a primary, a replica, three Sentinels.
//!
//! - A failover (the primary killed mid-run) loses no revocation that was answered `204`: the
//!   replica held it before the answer (`WAIT`), both app instances keep refusing every revoked
//!   credential, and record new revocations on the promoted replica.
//! - A revocation only the primary holds is never acknowledged: with `min_replicas_acked` (set,
//!   or by default when the primary has replicas) and the replica stopped, Universal Logout
//!   and back-channel logout answer `503`, so Okta sends them again.

use std::process::Stdio;
use std::time::Duration;

use libtest_mimic::Failed;
use okta_oidc::store::{RedisStore, RedisStoreConfig, RevocationStore};
use okta_oidc::testing::MockOkta;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::now;
use crate::harness::find;
use crate::logout_app::Instance;
use crate::redis_common::{Pair, config, synced as store, within_secs as within};
use crate::redis_server::{REDIS, RedisServer, free_port};

const MASTER: &str = "okta-oidc-test";

/// A Sentinel watching the primary on `primary` (quorum 2, down after 1 s).
struct SentinelServer {
    _child: Child,
    port: u16,
    _dir: TempDir,
}

/// A directory removed when dropped (a Sentinel rewrites its configuration file).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl SentinelServer {
    async fn start(primary: u16) -> SentinelServer {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("okta-oidc-sentinel-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {MASTER} 127.0.0.1 {primary} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\n\
                 sentinel failover-timeout {MASTER} 5000\n\
                 sentinel parallel-syncs {MASTER} 1\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        let program = find(&REDIS).expect("redis-server on PATH");
        let mut child = Command::new(program)
            .arg(&conf)
            .arg("--sentinel")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server --sentinel");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("+monitor master") {
                    return true;
                }
            }
            false
        })
        .await;
        assert!(matches!(ready, Ok(true)), "the Sentinel did not start");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        SentinelServer {
            _child: child,
            port,
            _dir: TempDir(dir),
        }
    }

    /// What this Sentinel says of `MASTER`: its primary's port and how many replicas it knows.
    async fn view(&self) -> Option<(u16, usize)> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}", self.port)).ok()?;
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        let address: Vec<String> = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg(MASTER)
            .query_async(&mut conn)
            .await
            .ok()?;
        let replicas: Vec<redis::Value> = redis::cmd("SENTINEL")
            .arg("replicas")
            .arg(MASTER)
            .query_async(&mut conn)
            .await
            .ok()?;
        Some((address.get(1)?.parse().ok()?, replicas.len()))
    }
}

/// Waits (checking every 100 ms, at most `secs`) until every Sentinel names `primary` with at
/// least `replicas` replicas: Sentinel has no notification a test can wait on.
async fn sentinels_agree(
    sentinels: &[SentinelServer],
    primary: u16,
    replicas: usize,
    secs: u64,
) -> Result<(), Failed> {
    within("the Sentinels to agree", secs, async {
        loop {
            let mut agreed = true;
            for sentinel in sentinels {
                agreed &= matches!(
                    sentinel.view().await,
                    Some((port, n)) if port == primary && n >= replicas
                );
            }
            if agreed {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

/// The revocation keys a node holds.
async fn revocation_keys(port: u16) -> Result<Vec<String>, Failed> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    redis::cmd("KEYS")
        .arg("okta-oidc:rev:*")
        .query_async(&mut conn)
        .await
        .map_err(|e| e.to_string().into())
}

/// Waits (checking every 100 ms, at most 15 s) until the primary on `port` has a replica that
/// confirms its writes (`WAIT 1`).
async fn replica_in_sync(port: u16) -> Result<(), Failed> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    within("the replica to be in sync", 15, async {
        loop {
            let _: Result<(), _> = redis::cmd("SET")
                .arg("okta-oidc-test:probe")
                .arg(1)
                .arg("PX")
                .arg(1000)
                .query_async(&mut conn)
                .await;
            let acked: Result<u32, _> = redis::cmd("WAIT")
                .arg(1)
                .arg(100)
                .query_async(&mut conn)
                .await;
            if matches!(acked, Ok(n) if n >= 1) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
}

/// Waits until `store` has lost its primary and synced with the next one.
async fn follows_the_failover(store: &RedisStore) -> Result<(), Failed> {
    within("the store to notice", 15, store.wait_connected(false)).await?;
    let seen = store.syncs();
    within("a sync with the new primary", 40, store.synced_after(seen)).await
}

pub async fn a_failover_loses_no_acknowledged_revocation() -> Result<(), Failed> {
    let mut primary = RedisServer::start().await;
    let replica = RedisServer::start_replica_of(primary.port).await;
    let mut sentinels = Vec::new();
    for _ in 0..3 {
        sentinels.push(SentinelServer::start(primary.port).await);
    }
    sentinels_agree(&sentinels, primary.port, 1, 20).await?;
    replica_in_sync(primary.port).await?;
    let url = format!(
        "redis+sentinel://{}/{MASTER}",
        sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect::<Vec<_>>()
            .join(",")
    );
    let mock = MockOkta::start().await;
    // The default: the primary has a replica, so each revocation waits for it.
    let Pair {
        store_a,
        store_b,
        a,
        b,
    } = Pair::start(&mock, &url).await?;

    let (mut browser, mut on_b) = Pair::signed_in_on(&a, &b).await;
    let seen = store_b.mirror().generation();
    assert_eq!(
        mock.universal_logout(&a.universal(), mock.iss_sub("00u1mockuser"))
            .await,
        204,
        "before the failover"
    );
    // Acknowledged only once the replica held it (WAIT 1).
    let held = revocation_keys(replica.port).await?.len();
    assert!(
        held >= 1,
        "the replica holds the revocation when the 204 is sent"
    );
    within("B's mirror", 15, store_b.mirror().changed_since(seen)).await?;
    assert_eq!(on_b.me().await, 401);
    assert_eq!(store_a.unacknowledged_revocations(), 0);

    // The primary dies; the Sentinels promote the replica.
    let killed = std::time::Instant::now();
    primary.stop().await;
    let (followed_a, followed_b) = tokio::join!(
        follows_the_failover(&store_a),
        follows_the_failover(&store_b)
    );
    followed_a?;
    followed_b?;
    // The failover window (README, "Many instances"): no revocation can be recorded meanwhile
    // (answered 503); validation goes on with the mirrors.
    println!(
        "sentinel failover: both instances synced with the promoted replica {} ms after the \
         primary was killed (down-after-milliseconds 1000)",
        killed.elapsed().as_millis()
    );
    sentinels_agree(&sentinels, replica.port, 0, 20).await?;

    // Every revoked credential stays refused, on both instances and on a new one whose mirror
    // comes from the promoted replica alone.
    assert_eq!(browser.me().await, 401, "A, after the failover");
    assert_eq!(on_b.me().await, 401, "B, after the failover");
    let store_c = store(config(&url)).await?;
    let c = Instance::start(&mock, |b| b.revocation_store(store_c.clone())).await;
    assert_eq!(browser.at(&c).me().await, 401, "a new instance");
    drop(c);

    // New revocations are recorded on the new primary (it has no replica now: no wait) and
    // reach the other instance.
    let token = mock
        .id_token()
        .claim("sub", "00u2other")
        .issued_at(now() - 5)
        .build();
    assert_eq!(a.bearer_status(&token).await, 200);
    let seen = store_a.mirror().generation();
    assert_eq!(
        mock.universal_logout(&b.universal(), mock.iss_sub("00u2other"))
            .await,
        204,
        "after the failover"
    );
    within("A's mirror", 15, store_a.mirror().changed_since(seen)).await?;
    assert_eq!(a.bearer_status(&token).await, 401);
    assert!(revocation_keys(replica.port).await?.len() > held);
    Ok(())
}

pub async fn an_unreplicated_revocation_is_never_acknowledged() -> Result<(), Failed> {
    let primary = RedisServer::start().await;
    let mut replica = RedisServer::start_replica_of(primary.port).await;
    replica_in_sync(primary.port).await?;
    let mock = MockOkta::start().await;
    let ack = |c: RedisStoreConfig| c.replica_ack_timeout(Duration::from_millis(300));
    let explicit = store(ack(config(&primary.url()).min_replicas_acked(1))).await?;
    // The default, with a replica present when the store connected: the same.
    let by_default = store(ack(config(&primary.url()))).await?;
    let a = Instance::start(&mock, |b| b.revocation_store(explicit.clone())).await;
    let b = Instance::start(&mock, |b| b.revocation_store(by_default.clone())).await;
    for instance in [&a, &b] {
        assert_eq!(
            mock.universal_logout(&instance.universal(), mock.iss_sub("00u0"))
                .await,
            204,
            "acknowledged while the replica is up"
        );
    }
    let before = explicit.unacknowledged_revocations();

    replica.stop().await;
    for (instance, store) in [(&a, &explicit), (&b, &by_default)] {
        let counted = store.unacknowledged_revocations();
        assert_eq!(
            mock.universal_logout(&instance.universal(), mock.iss_sub("00u3"))
                .await,
            503,
            "Universal Logout that only the primary holds"
        );
        let logout_token = mock.logout_token().claim("sub", "00u4").build();
        assert_eq!(
            mock.backchannel_logout(&instance.backchannel(), &logout_token)
                .await,
            503,
            "back-channel logout that only the primary holds"
        );
        assert_eq!(store.unacknowledged_revocations(), counted + 2);
    }
    assert_eq!(explicit.unacknowledged_revocations(), before + 2);
    // The instance itself refuses the user at once (its mirror), whatever Redis confirmed.
    let token = mock
        .id_token()
        .claim("sub", "00u3")
        .issued_at(now() - 5)
        .build();
    assert_eq!(a.bearer_status(&token).await, 401);
    Ok(())
}

/// The examples' contract (#24): `REDIS_URL` takes the Sentinel form, and
/// `REDIS_MIN_REPLICAS_ACKED` makes a logout signal that only the primary holds a `503`.
pub async fn the_api_example_reads_sentinel_urls_and_replica_acks() -> Result<(), Failed> {
    use crate::api_example::{build, shared::Env};

    let primary = RedisServer::start().await;
    let mut replica = RedisServer::start_replica_of(primary.port).await;
    replica_in_sync(primary.port).await?;
    let mock = MockOkta::start().await;
    let start = |redis_url: String, acks: &'static str| {
        let issuer = mock.issuer();
        let (client_id, secret) = (mock.client_id(), mock.client_secret());
        async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let base = format!("http://{addr}");
            let vars = [
                ("OKTA_ISSUER", issuer),
                ("OKTA_AUDIENCE", "api://default".to_owned()),
                // Okta's Universal Logout request names the app (`cid`).
                ("OKTA_CLIENT_ID", client_id),
                ("OKTA_CLIENT_SECRET", secret),
                ("OKTA_ALLOW_LOOPBACK_HTTP", "1".to_owned()),
                ("REDIS_URL", redis_url),
                ("REDIS_MIN_REPLICAS_ACKED", acks.to_owned()),
                ("APP_BASE_URL", base.clone()),
            ];
            let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let api = build(&Env::from_pairs(&vars), addr).await?;
            tokio::spawn(async move { axum::serve(listener, api.router).await });
            Ok::<_, String>(format!("{base}/auth/global-token-revocation"))
        }
    };
    // Bad values name the variable; a Sentinel URL is taken (its store connects later).
    let error = start(primary.url(), "lots").await.unwrap_err();
    assert!(error.contains("REDIS_MIN_REPLICAS_ACKED"), "{error}");
    let error = start("redis+sentinel://127.0.0.1:1".into(), "1")
        .await
        .unwrap_err();
    assert!(
        error.contains("REDIS_URL") && error.contains("master name"),
        "{error}"
    );
    start(
        format!("redis+sentinel://127.0.0.1:{}/{MASTER}", free_port()),
        "1",
    )
    .await?;
    #[cfg(feature = "redis-cluster")]
    start(format!("redis+cluster://127.0.0.1:{}", free_port()), "0").await?;

    let endpoint = start(primary.url(), "1").await?;
    // Acknowledged while the replica is up (once the store has connected: bounded retries).
    let mut status = 0;
    for _ in 0..100 {
        status = mock.universal_logout(&endpoint, mock.iss_sub("00u5")).await;
        if status != 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 204, "acknowledged while the replica is up");
    replica.stop().await;
    assert_eq!(
        mock.universal_logout(&endpoint, mock.iss_sub("00u6")).await,
        503,
        "only the primary holds it: Okta must send it again"
    );
    Ok(())
}
