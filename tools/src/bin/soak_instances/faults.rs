//! The faults, each in an announced window: introspection answered 429 and 5xx, an instance
//! cut off from Redis, Redis restarted empty, and Redis restarted from a snapshot with one
//! instance cold-started while it was down.

use okta_oidc::testing::{Endpoint, Fault};

use super::*;

/// The fault cycle's other moments (see `CYCLE`, `CUT_AT`, `RESTART_AT` in main).
pub(crate) const RATE_LIMIT_AT: Duration = Duration::from_secs(8);
pub(crate) const SERVER_ERROR_AT: Duration = Duration::from_secs(48);
pub(crate) const INTROSPECTION_FAULT_FOR: Duration = Duration::from_secs(8);
pub(crate) const SNAPSHOT_AT: Duration = Duration::from_secs(85);
pub(crate) const COLD_AT: Duration = Duration::from_secs(92);
/// How long Redis stays down around the cold start.
pub(crate) const COLD_REDIS_DOWN_FOR: Duration = Duration::from_secs(4);
/// The instance cold-started (B).
pub(crate) const COLD: usize = 1;

/// The faults, cycle after cycle.
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

        tokio::time::sleep_until(cycle_start + RATE_LIMIT_AT).await;
        if shared.done() {
            break;
        }
        let reset = now_secs() as u64 + INTROSPECTION_FAULT_FOR.as_secs();
        introspection_fault(
            &shared,
            "introspection answered 429 (X-Rate-Limit-Reset in 8 s)",
            Fault::RateLimited {
                reset_epoch_secs: reset,
            },
        )
        .await;

        tokio::time::sleep_until(cycle_start + CUT_AT).await;
        if shared.done() {
            break;
        }
        if cut {
            cut_c(&shared, &proxy).await;
        }

        tokio::time::sleep_until(cycle_start + SERVER_ERROR_AT).await;
        if shared.done() {
            break;
        }
        introspection_fault(&shared, "introspection answered 500", Fault::Status(500)).await;

        tokio::time::sleep_until(cycle_start + RESTART_AT).await;
        if shared.done() {
            break;
        }
        restart_empty(&shared, &mut redis, &url).await;

        tokio::time::sleep_until(cycle_start + SNAPSHOT_AT).await;
        if shared.done() {
            break;
        }
        let saved = save(&url).await;
        let keys_saved = dbsize(&url).await;
        tokio::time::sleep_until(cycle_start + COLD_AT).await;
        if shared.done() {
            break;
        }
        snapshot_and_cold_start(&shared, &mut redis, &url, saved, keys_saved).await;
        tokio::time::sleep_until(cycle_start + CYCLE).await;
    }
    redis
}

/// The mock org answers introspection with `fault` for a while: fresh opaque tokens are then
/// refused (`503` with `Retry-After`), cached ones still served.
async fn introspection_fault(shared: &Shared, what: &str, fault: Fault) {
    let w = shared.faults.open_for(what, Scope::Introspection);
    let hits = shared.mock.hits(Endpoint::Introspect);
    shared.mock.set_fault(Endpoint::Introspect, fault);
    tokio::time::sleep(INTROSPECTION_FAULT_FOR).await;
    shared.mock.clear_fault(Endpoint::Introspect);
    let calls = shared.mock.hits(Endpoint::Introspect) - hits;
    shared
        .faults
        .close(w, format!("{calls} introspection calls during it"));
}

/// Instance C cut off from Redis (its proxy drops every connection), then restored.
async fn cut_c(shared: &Shared, proxy: &Proxy) {
    let store_c = shared.instances[2].store();
    let w = shared.faults.open("instance C cut off from Redis");
    proxy.cut();
    let noticed = Instant::now();
    let _ = tokio::time::timeout(Duration::from_secs(10), store_c.wait_connected(false)).await;
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

/// Waits until every instance has synced after the counts in `seen`: whether all did, and when.
async fn all_synced(shared: &Shared, seen: Vec<u64>) -> (bool, Duration) {
    let back = Instant::now();
    let mut all = true;
    for (i, seen) in shared.instances.iter().zip(seen) {
        all &= tokio::time::timeout(Duration::from_secs(15), i.store().synced_after(seen))
            .await
            .is_ok();
    }
    (all, back.elapsed())
}

/// Redis killed, down a moment, restarted empty (the instances write their mirrors back).
async fn restart_empty(shared: &Shared, redis: &mut RedisServer, url: &str) {
    let w = shared.faults.open("Redis killed, restarted empty");
    let keys_before = dbsize(url).await;
    let syncs: Vec<u64> = shared.instances.iter().map(|i| i.store().syncs()).collect();
    redis.stop().await;
    tokio::time::sleep(REDIS_DOWN_FOR).await;
    let restarted = redis.restart().await;
    let (all, synced_in) = all_synced(shared, syncs).await;
    // A moment for the write-back of the last instance.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let keys_after = dbsize(url).await;
    shared.faults.close(
        w,
        format!(
            "restart {}; all re-synced{} in {} ms; keys before {keys_before}, written back {keys_after}",
            if restarted.is_ok() { "ok" } else { "FAILED" },
            if all { "" } else { " NOT (timeout)" },
            synced_in.as_millis()
        ),
    );
}

/// `SAVE`: a snapshot in Redis's directory (`dump.rdb`). Whether it was made.
async fn save(url: &str) -> bool {
    let Some(mut con) = redis_connection(url).await else {
        return false;
    };
    redis::cmd("SAVE")
        .query_async::<String>(&mut con)
        .await
        .is_ok()
}

/// Redis killed; while it is down, instance B dropped and built anew (a cold start: a new
/// store that has never synced, a new app on the same address); then Redis restarted from the
/// snapshot taken a few seconds before (so the revocations made since are only in the
/// instances' mirrors, and must be written back). B must fail closed (`503` with
/// `Retry-After`) for credentials issued before it started until its first sync; the
/// credentials of signals refused before the fault are probed on B all along.
async fn snapshot_and_cold_start(
    shared: &Shared,
    redis: &mut RedisServer,
    url: &str,
    saved: bool,
    keys_saved: i64,
) {
    let w = shared
        .faults
        .open("Redis killed, B cold-started, Redis restarted from a snapshot");
    let keys_before = dbsize(url).await;
    let syncs: Vec<u64> = shared.instances.iter().map(|i| i.store().syncs()).collect();
    redis.stop().await;
    let down = Instant::now();
    // The cold start, while Redis is down.
    let mut config = store_config(url);
    if shared.breaks.cold {
        config = config.fail_closed_until_first_sync(false);
    }
    let b = &shared.instances[COLD];
    let rebuilt = match RedisStore::with_config(config) {
        Ok(store) => b.cold_start(&shared.mock, store).await,
        Err(e) => Err(e.to_string()),
    };
    add(&shared.cold.restarts);
    let rebuilt_at = Instant::now();
    let revoked: Vec<Credential> = shared
        .revoked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .cloned()
        .collect();
    let bound = Arc::new(Mutex::new(None::<Instant>));
    let probe = cold_probe(shared, revoked.clone(), Arc::clone(&bound));
    let fault = async {
        tokio::time::sleep(COLD_REDIS_DOWN_FOR.saturating_sub(down.elapsed())).await;
        let restarted = redis.restart_from_snapshot().await;
        let keys_loaded = dbsize(url).await;
        let mut seen = syncs.clone();
        seen[COLD] = 0;
        let (all, synced_in) = all_synced(shared, seen).await;
        let first_sync = if b.store().syncs() > 0 {
            let ms = rebuilt_at.elapsed().as_millis() as u64;
            shared
                .cold
                .first_sync_ms
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(ms);
            format!("{ms} ms")
        } else {
            "NOT (timeout)".to_owned()
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let keys_after = dbsize(url).await;
        shared.faults.close(
            w,
            format!(
                "B rebuilt {}; snapshot {} ({keys_saved} keys at SAVE, {keys_before} at the kill); \
                 restart {} (loaded {keys_loaded}); all re-synced{} in {} ms, B's first sync {first_sync} \
                 after its start; written back {keys_after}; {} revoked credentials probed on B",
                if rebuilt.is_ok() { "ok" } else { "FAILED" },
                if saved { "saved" } else { "NOT SAVED" },
                match &restarted {
                    Ok(true) => "ok",
                    Ok(false) => "ok but without a snapshot",
                    Err(_) => "FAILED",
                },
                if all { "" } else { " NOT (timeout)" },
                synced_in.as_millis(),
                revoked.len()
            ),
        );
        *bound.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now() + SETTLE);
    };
    tokio::join!(probe, fault);
    if let Err(e) = rebuilt {
        shared.detail(format!("cold start of B failed: {e}"));
    }
}

/// Probes the cold-started instance with credentials revoked before its start, until the
/// bound (set once the window is closed: its end plus `SETTLE`) and a second past it.
async fn cold_probe(shared: &Shared, revoked: Vec<Credential>, bound: Arc<Mutex<Option<Instant>>>) {
    let c = &shared.cold;
    let b = &shared.instances[COLD];
    for _ in 0..100_000 {
        let until = *bound.lock().unwrap_or_else(|e| e.into_inner());
        if until.is_some_and(|u| Instant::now() > u + Duration::from_secs(1)) {
            break;
        }
        for credential in &revoked {
            let Some(answer) = app::me(&shared.http, &b.base, credential).await else {
                continue;
            };
            // Synced once by the time of the answer (so a `200` before it is certain).
            let synced = b.store().syncs() > 0;
            add(&c.probes);
            match answer.status {
                200 if !synced || until.is_some_and(|u| Instant::now() > u) => {
                    add(&c.false_accepts);
                    shared.detail(format!(
                        "{:.1}s cold start: B accepted a revoked credential {}",
                        shared.started.elapsed().as_secs_f64(),
                        if synced {
                            "past its bound"
                        } else {
                            "before its first sync"
                        }
                    ));
                }
                200 => add(&c.accepted_within_bound),
                503 => {
                    add(&c.closed_503);
                    if !answer.retry_after {
                        add(&c.missing_retry_after);
                    }
                }
                _ => add(&c.refused),
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
