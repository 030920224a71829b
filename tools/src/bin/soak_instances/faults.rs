//! The faults, each in an announced window: an instance cut off from Redis, Redis restarted empty.

use super::*;

/// The faults, cycle after cycle: key rotation; C cut off from Redis, restored; Redis
/// restarted empty.
pub(crate) async fn faults(
    shared: Arc<Shared>,
    mut redis: RedisServer,
    proxy: Arc<Proxy>,
    cut: bool,
) -> RedisServer {
    let url = redis.url();
    let max_cycles = 10_000;
    for _ in 0..max_cycles {
        let cycle_start = tokio::time::Instant::now();
        if shared.done() {
            break;
        }
        shared.mock.rotate_keys();
        add(&shared.load.rotations);

        tokio::time::sleep_until(cycle_start + CUT_AT).await;
        if shared.done() {
            break;
        }
        if cut {
            let store_c = &shared.instances[2].store;
            let w = shared.faults.open("instance C cut off from Redis");
            proxy.cut();
            let noticed = Instant::now();
            let _ =
                tokio::time::timeout(Duration::from_secs(10), store_c.wait_connected(false)).await;
            let noticed = noticed.elapsed();
            tokio::time::sleep(CUT_FOR).await;
            let syncs = store_c.syncs();
            proxy.restore();
            let back = Instant::now();
            let synced = tokio::time::timeout(Duration::from_secs(15), store_c.synced_after(syncs))
                .await
                .is_ok();
            shared.faults.close(
                w,
                format!(
                    "C noticed in {} ms; re-synced {} {} ms after restore",
                    noticed.as_millis(),
                    if synced { "" } else { "NOT (timeout)" },
                    back.elapsed().as_millis()
                ),
            );
        }

        tokio::time::sleep_until(cycle_start + RESTART_AT).await;
        if shared.done() {
            break;
        }
        let w = shared.faults.open("Redis killed, restarted empty");
        let keys_before = dbsize(&url).await;
        let syncs: Vec<u64> = shared.instances.iter().map(|i| i.store.syncs()).collect();
        redis.stop().await;
        tokio::time::sleep(REDIS_DOWN_FOR).await;
        let restarted = redis.restart().await;
        let back = Instant::now();
        let mut all = true;
        for (i, seen) in shared.instances.iter().zip(syncs) {
            all &= tokio::time::timeout(Duration::from_secs(15), i.store.synced_after(seen))
                .await
                .is_ok();
        }
        let synced_in = back.elapsed();
        // A moment for the write-back of the last instance.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let keys_after = dbsize(&url).await;
        shared.faults.close(
            w,
            format!(
                "restart {}; all re-synced{} in {} ms; keys before {keys_before}, written back {keys_after}",
                if restarted.is_ok() { "ok" } else { "FAILED" },
                if all { "" } else { " NOT (timeout)" },
                synced_in.as_millis()
            ),
        );
        tokio::time::sleep_until(cycle_start + CYCLE).await;
    }
    redis
}
