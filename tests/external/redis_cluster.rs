//! The revocation store on a Redis Cluster (#24): three primaries the test starts on free
//! loopback ports (`--cluster-enabled yes`, `redis-cli --cluster create`). Two app instances
//! share revocations, single-use markers and login states; a revocation reaches the other
//! instance through cluster-wide pub/sub (the time is printed); and moving the revocations'
//! slot to another node while Universal Logouts keep coming loses none of them.

use std::time::{Duration, Instant};

use libtest_mimic::Failed;
use okta_oidc::store::RevocationStore;
use okta_oidc::testing::MockOkta;

use crate::common::now;
use crate::logout_app::Instance;
use crate::redis_common::{Pair, config, synced as store, within_secs as within};
use crate::redis_server::RedisServer;

/// The key prefix of the stores here (the default): revocations share its hash tag.
const TAG: &str = "{okta-oidc:}";

async fn node(port: u16) -> Result<redis::aio::MultiplexedConnection, Failed> {
    let client =
        redis::Client::open(format!("redis://127.0.0.1:{port}")).map_err(|e| e.to_string())?;
    Ok(client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?)
}

async fn query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> Result<T, Failed> {
    let mut conn = node(port).await?;
    cmd.query_async(&mut conn)
        .await
        .map_err(|e| format!("{cmd:?} on {port}: {e}").into())
}

/// Three primaries, their slots assigned; returns once every node says `cluster_state:ok`.
async fn cluster() -> Result<Vec<RedisServer>, Failed> {
    let mut nodes = Vec::new();
    for _ in 0..3 {
        nodes.push(RedisServer::start_cluster_node().await);
    }
    let status = tokio::process::Command::new("redis-cli")
        .arg("--cluster")
        .arg("create")
        .args(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| format!("redis-cli (package redis-tools): {e}"))?;
    if !status.success() {
        return Err("redis-cli --cluster create failed".into());
    }
    // Redis has no notification for this: every node is asked every 100 ms (bounded).
    within("cluster_state:ok on every node", 20, async {
        loop {
            let mut ok = true;
            for n in &nodes {
                let info: Result<String, _> =
                    query(n.port, &redis::cmd("CLUSTER").arg("INFO").clone()).await;
                ok &= info.is_ok_and(|i| i.contains("cluster_state:ok"));
            }
            if ok {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await?;
    Ok(nodes)
}

/// Each node's id and the slot ranges it serves, from `CLUSTER NODES` (port → (id, ranges)).
async fn topology(port: u16) -> Result<Vec<(u16, String, Vec<(u16, u16)>)>, Failed> {
    let text: String = query(port, &redis::cmd("CLUSTER").arg("NODES").clone()).await?;
    let mut nodes = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (Some(id), Some(address)) = (fields.first(), fields.get(1)) else {
            continue;
        };
        let node_port: u16 = address
            .split(['@', ':'])
            .nth(1)
            .and_then(|p| p.parse().ok())
            .ok_or("CLUSTER NODES: an address without a port")?;
        let ranges = fields
            .iter()
            .skip(8)
            .filter_map(|r| {
                let (a, b) = r.split_once('-').unwrap_or((r, r));
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect();
        nodes.push((node_port, (*id).to_owned(), ranges));
    }
    Ok(nodes)
}

/// Waits for the writer's next answer.
async fn next_write(answered: &mut tokio::sync::watch::Receiver<usize>) -> Result<(), Failed> {
    answered.borrow_and_update();
    within("the next Universal Logout", 15, answered.changed())
        .await?
        .map_err(|e| e.to_string().into())
}

pub async fn two_instances_share_a_cluster_and_a_resharding_loses_nothing() -> Result<(), Failed> {
    let nodes = cluster().await?;
    let url = format!(
        "redis+cluster://127.0.0.1:{},127.0.0.1:{}",
        nodes[0].port, nodes[1].port
    );
    let mock = MockOkta::start().await;
    let Pair {
        store_a: _store_a,
        store_b,
        a,
        b,
    } = Pair::start(&mock, &url).await?;

    // Login state and session: signed in on A (its state marked in the cluster), served on B.
    let (_browser, mut on_b) = Pair::signed_in_on(&a, &b).await;
    let id_token = mock.id_token().issued_at(now() - 5).build();
    assert_eq!(b.bearer_status(&id_token).await, 200);

    // A revocation on A reaches B through pub/sub.
    let seen = store_b.mirror().generation();
    let sent = Instant::now();
    assert_eq!(
        mock.universal_logout(&a.universal(), mock.iss_sub("00u1mockuser"))
            .await,
        204
    );
    within("B's mirror", 1, store_b.mirror().changed_since(seen)).await?;
    println!(
        "cluster: a revocation posted to A was in B's mirror {} µs after it was sent",
        sent.elapsed().as_micros()
    );
    assert_eq!(on_b.me().await, 401);
    assert_eq!(b.bearer_status(&id_token).await, 401);
    // Propagation over 100 more (README, "Many instances"): from the request to B's mirror.
    let mut times = Vec::new();
    for i in 0..100 {
        let seen = store_b.mirror().generation();
        let sent = Instant::now();
        let user = format!("00uprop{i:03}");
        assert_eq!(
            mock.universal_logout(&a.universal(), mock.iss_sub(&user))
                .await,
            204
        );
        within("B's mirror", 1, store_b.mirror().changed_since(seen)).await?;
        times.push(sent.elapsed());
    }
    times.sort();
    println!(
        "cluster: Universal Logout on A to B's mirror, 100 runs: p50 {:?}, p99 {:?}, max {:?}",
        times[49], times[98], times[99]
    );

    // Single use across instances: a Universal Logout request's jti.
    let request = mock
        .global_token_revocation_token(&a.universal())
        .claim("jti", "cluster-jti")
        .build();
    let again = mock
        .global_token_revocation_token(&b.universal())
        .claim("jti", "cluster-jti")
        .build();
    let body = serde_json::json!({"sub_id": mock.iss_sub("00u9")}).to_string();
    assert_eq!(
        mock.send_universal_logout(&a.universal(), Some(&request), &body)
            .await,
        204
    );
    assert_eq!(
        mock.send_universal_logout(&b.universal(), Some(&again), &body)
            .await,
        401,
        "the jti is used up on the other instance"
    );

    // Move the revocations' slot to another node while Universal Logouts keep coming.
    let slot: u16 = query(
        nodes[0].port,
        &redis::cmd("CLUSTER").arg("KEYSLOT").arg(TAG).clone(),
    )
    .await?;
    let layout = topology(nodes[0].port).await?;
    let owns = |ranges: &[(u16, u16)]| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&slot));
    let (src_port, src_id, _) = layout
        .iter()
        .find(|(_, _, r)| owns(r))
        .cloned()
        .ok_or("nobody serves the slot")?;
    let (dst_port, dst_id, _) = layout
        .iter()
        .find(|(p, _, _)| *p != src_port)
        .cloned()
        .ok_or("no other node")?;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    // How many Universal Logouts were answered so far: the move waits on it between batches,
    // so writes land in every stage of it.
    let (progress, mut answered) = tokio::sync::watch::channel(0_usize);
    let writer = {
        let mock = mock.clone();
        let endpoint = a.universal();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..2_000 {
                if *stopped.borrow() && i >= 100 {
                    break;
                }
                let user = format!("00umig{i:04}");
                let status = mock.universal_logout(&endpoint, mock.iss_sub(&user)).await;
                statuses.push((user, status));
                progress.send_replace(statuses.len());
            }
            statuses
        })
    };
    // Let some writes land on the old owner first.
    within("writes before the move", 15, async {
        loop {
            let n: usize = query(
                src_port,
                &redis::cmd("CLUSTER")
                    .arg("COUNTKEYSINSLOT")
                    .arg(slot)
                    .clone(),
            )
            .await
            .unwrap_or(0);
            if n >= 20 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await?;
    let setslot = |state: &str, id: &str| {
        redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg(state)
            .arg(id)
            .clone()
    };
    let before_move = *answered.borrow();
    let () = query(dst_port, &setslot("IMPORTING", &src_id)).await?;
    next_write(&mut answered).await?;
    let () = query(src_port, &setslot("MIGRATING", &dst_id)).await?;
    next_write(&mut answered).await?;
    let mut moved = 0;
    loop {
        let keys: Vec<String> = query(
            src_port,
            &redis::cmd("CLUSTER")
                .arg("GETKEYSINSLOT")
                .arg(slot)
                .arg(5)
                .clone(),
        )
        .await?;
        if keys.is_empty() {
            break;
        }
        moved += keys.len();
        let mut migrate = redis::cmd("MIGRATE");
        migrate
            .arg("127.0.0.1")
            .arg(dst_port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(&keys);
        let _: redis::Value = query(src_port, &migrate).await?;
        next_write(&mut answered).await?;
    }
    for (port, _, _) in &layout {
        let () = query(*port, &setslot("NODE", &dst_id)).await?;
    }
    let during_move = *answered.borrow() - before_move;
    stop.send_replace(true);
    let statuses = writer.await.map_err(|e| e.to_string())?;
    println!(
        "cluster: slot {slot} moved from :{src_port} to :{dst_port} ({moved} keys, 5 a batch); \
         {during_move} Universal Logouts answered while it moved, {} in all",
        statuses.len()
    );
    assert!(
        during_move >= 3,
        "writes while the slot moved: {during_move}"
    );
    let refused: Vec<_> = statuses.iter().filter(|(_, s)| *s != 204).collect();
    assert!(refused.is_empty(), "refused during the move: {refused:?}");

    // Nothing is lost: a new instance's mirror, filled from the cluster alone, refuses every
    // one of those users.
    let keys: usize = query(
        dst_port,
        &redis::cmd("CLUSTER")
            .arg("COUNTKEYSINSLOT")
            .arg(slot)
            .clone(),
    )
    .await?;
    let store_c = store(config(&url)).await?;
    assert!(
        store_c.mirror().len() >= statuses.len() + 102,
        "{} revocations in a new mirror, {} written ({keys} keys on the new owner)",
        store_c.mirror().len(),
        statuses.len() + 102
    );
    let c = Instance::start(&mock, |b| b.revocation_store(store_c.clone())).await;
    for (user, _) in statuses.iter().step_by(17) {
        let token = mock
            .id_token()
            .claim("sub", user.as_str())
            .issued_at(now() - 5)
            .build();
        assert_eq!(c.bearer_status(&token).await, 401, "{user}");
    }
    Ok(())
}
