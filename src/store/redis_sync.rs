//! The task that keeps a [`RedisStore`](super::RedisStore)'s mirror current: subscribe, full
//! sync (merge, write back), apply messages, periodic re-sync, reconnect with back-off; and the
//! logs that say when the store is lost and found again.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::ConnectionManagerConfig;

use super::redis_conn::Conn;
use super::redis_state::{Inner, write_pipeline};
use super::revocation::Revocation;
use crate::telemetry::metrics;

const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);
const MAX_RECONNECT_DELAY_SENTINEL: Duration = Duration::from_secs(1);
/// Keys read per `SCAN` and `MGET`.
const BATCH: usize = 500;

/// Runs until the store is dropped (its task is aborted then).
pub(super) async fn run(inner: Arc<Inner>) {
    let mut delay = inner.config.reconnect_delay;
    let mut was_connected = false;
    let mut ever_connected = false;
    loop {
        let error = follow(&inner, &mut was_connected, &mut ever_connected).await;
        if was_connected {
            tracing::warn!(
                error = %error,
                "revocation store lost: validation goes on with the local mirror; \
                 revocations cannot be recorded until it is back"
            );
            was_connected = false;
            delay = inner.config.reconnect_delay;
        } else {
            tracing::debug!(error = %error, "revocation store still unreachable");
        }
        inner.connected.send_replace(false);
        metrics::store_connected(false);
        tokio::time::sleep(delay).await;
        // Behind Sentinel a failover takes a few seconds, and asking the Sentinels is cheap:
        // retry at least every second, so the promoted replica is found soon after.
        let most = if inner.target.may_move() {
            MAX_RECONNECT_DELAY_SENTINEL
        } else {
            MAX_RECONNECT_DELAY
        };
        delay = (delay * 2).min(most);
    }
}

/// One connection's life: returns why it ended.
async fn follow(inner: &Arc<Inner>, was_connected: &mut bool, ever_connected: &mut bool) -> String {
    let timeout = inner.config.command_timeout;
    let client = match tokio::time::timeout(timeout, inner.target.primary()).await {
        Ok(Ok(client)) => client,
        Ok(Err(e)) => return e,
        Err(_) => return "sentinel: timed out".into(),
    };
    let pubsub = match tokio::time::timeout(timeout, client.get_async_pubsub()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return format!("subscribe: {e}"),
        Err(_) => return "subscribe: timed out".into(),
    };
    let mut pubsub = pubsub;
    if let Err(e) = pubsub.subscribe(inner.channel()).await {
        return format!("subscribe: {e}");
    }
    // One node: the manager reconnects by itself. Behind Sentinel the primary may have
    // moved: a new manager for the one named now.
    if inner.manager.load().is_none() || inner.target.may_move() {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(MAX_RECONNECT_DELAY);
        match inner.target.connect(&client, config, timeout).await {
            Ok(conn) => inner.manager.store(Some(Arc::new(conn))),
            Err(e) => return format!("connect: {e}"),
        }
    }
    if !*ever_connected {
        check_eviction_policy(inner).await;
    }
    if inner.config.min_replicas_acked.is_none() {
        count_replicas(inner).await;
    }
    if let Err(e) = full_sync(inner).await {
        return e;
    }
    inner.connected.send_replace(true);
    metrics::store_connected(true);
    if *ever_connected {
        tracing::info!(
            revocations = inner.mirror.len(),
            "revocation store found again: mirror re-synced"
        );
    } else {
        tracing::info!(
            revocations = inner.mirror.len(),
            "revocation store connected"
        );
    }
    *was_connected = true;
    *ever_connected = true;
    let mut messages = pubsub.on_message();
    let mut tick = tokio::time::interval(inner.config.resync_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<Result<(), String>>(1);
    // Aborted when this connection's life ends (whatever ends it).
    let mut syncing: Option<AbortOnDrop> = None;
    loop {
        tokio::select! {
            message = messages.next() => {
                let Some(message) = message else {
                    return "subscription closed".into();
                };
                match serde_json::from_slice::<Revocation>(message.get_payload_bytes()) {
                    Ok(revocation) => {
                        inner.mirror.apply(revocation, inner.config.clock.now());
                    }
                    Err(_) => tracing::warn!("revocation message that is not one: ignored"),
                }
            }
            // The periodic sync runs beside this loop, never in it: messages are applied while
            // it reads every key (a sync takes longer as revocations pile up, and over a slow
            // link a revocation would wait for it).
            _ = tick.tick(), if syncing.is_none() => {
                let inner = Arc::clone(inner);
                let done = done_tx.clone();
                syncing = Some(AbortOnDrop(tokio::spawn(async move {
                    let result = if inner.target.may_move() && !is_primary(&inner).await {
                        Err("the node is no longer the primary".to_owned())
                    } else {
                        full_sync(&inner).await
                    };
                    let _ = done.send(result).await;
                })));
            }
            Some(result) = done_rx.recv() => {
                syncing = None;
                if let Err(e) = result {
                    return e;
                }
            }
            () = inner.primary_moved.notified() => {
                return "a write found a replica (READONLY): the primary moved".into();
            }
        }
    }
}

/// Warns when Redis may evict keys that have not expired (`allkeys-*`): a revocation or a
/// single-use marker evicted early would let a revoked session or a replayed request through.
/// A refused `CONFIG` (managed services often rename or forbid it) is ignored.
async fn check_eviction_policy(inner: &Inner) {
    let Ok(mut manager) = manager(inner) else {
        return;
    };
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET").arg("maxmemory-policy");
    let answer: Result<Vec<String>, String> = timed(
        inner.config.command_timeout,
        "config",
        cmd.query_async(&mut manager),
    )
    .await;
    match answer.as_deref() {
        Ok([_, policy]) if evicts_unexpired(policy) => tracing::warn!(
            policy = policy.as_str(),
            "Redis may evict revocations before they expire: run it with \
             `maxmemory-policy noeviction` (or `volatile-ttl` with room to spare)"
        ),
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "Redis eviction policy not readable: not checked"),
    }
}

/// A task aborted when dropped: the periodic sync of a connection that ended.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sets how many replicas each revocation waits for, when the application left it to the
/// store: 1 when the primary reports replicas (`INFO replication`), else 0.
async fn count_replicas(inner: &Inner) {
    let Ok(mut manager) = manager(inner) else {
        return;
    };
    let mut cmd = redis::cmd("INFO");
    cmd.arg("replication");
    let tag = inner.revocation_prefix();
    let info: Result<String, String> = timed(
        inner.config.command_timeout,
        "info",
        manager.on_revocation_node(cmd, &tag),
    )
    .await;
    let replicas = info
        .ok()
        .as_deref()
        .and_then(connected_replicas)
        .unwrap_or(0);
    let wait_for = u32::from(replicas > 0);
    let before = inner.replicas_to_ack.swap(wait_for, Ordering::AcqRel);
    if before != wait_for {
        tracing::info!(
            replicas,
            wait_for,
            "revocations wait for {wait_for} replica(s) to hold them (min_replicas_acked)"
        );
    }
}

/// `connected_slaves` of an `INFO replication` answer.
fn connected_replicas(info: &str) -> Option<u32> {
    info.lines()
        .find_map(|line| line.trim().strip_prefix("connected_slaves:"))
        .and_then(|n| n.trim().parse().ok())
}

/// Whether the node the store writes to says it is the primary (`ROLE`).
async fn is_primary(inner: &Inner) -> bool {
    let Ok(mut manager) = manager(inner) else {
        return false;
    };
    let role: Result<redis::Value, String> = timed(
        inner.config.command_timeout,
        "role",
        redis::cmd("ROLE").query_async(&mut manager),
    )
    .await;
    match role {
        Ok(redis::Value::Array(items)) => matches!(
            items.first(),
            Some(redis::Value::BulkString(role)) if role.as_slice() == b"master"
        ),
        // A failed command: the connection's own error path decides.
        _ => true,
    }
}

/// Whether a `maxmemory-policy` evicts keys regardless of their TTL.
fn evicts_unexpired(policy: &str) -> bool {
    policy.to_ascii_lowercase().starts_with("allkeys-")
}

fn manager(inner: &Inner) -> Result<Conn, String> {
    inner
        .manager
        .load_full()
        .map(|m| Conn::clone(&m))
        .ok_or_else(|| "not connected".to_owned())
}

/// Reads every revocation in Redis, merges it into the mirror, writes back what Redis lacks,
/// marks the mirror synced and counts the sync.
/// A full sync in an `okta_oidc.redis_sync` span (a client span: `db.system.name` redis).
async fn full_sync(inner: &Inner) -> Result<(), String> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "okta_oidc.redis_sync",
        otel.kind = "client",
        otel.status_code = tracing::field::Empty,
        db.system.name = "redis",
        db.operation.name = "SCAN MGET",
        error.type = tracing::field::Empty,
    );
    let result = full_sync_once(inner).instrument(span.clone()).await;
    if result.is_err() {
        span.record("otel.status_code", "error");
        span.record("error.type", "redis");
    }
    result
}

async fn full_sync_once(inner: &Inner) -> Result<(), String> {
    let timeout = inner.config.command_timeout;
    let mut manager = manager(inner)?;
    let prefix = inner.revocation_prefix();
    let pattern = format!("{prefix}*");
    let mut cursor: u64 = 0;
    let mut stored = Vec::new();
    loop {
        let mut scan = redis::cmd("SCAN");
        scan.arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(BATCH);
        let (next, keys): (u64, Vec<String>) =
            timed(timeout, "scan", manager.on_revocation_node(scan, &prefix)).await?;
        for chunk in keys.chunks(BATCH) {
            let mut mget = redis::cmd("MGET");
            mget.arg(chunk);
            let values: Vec<Option<Vec<u8>>> =
                timed(timeout, "mget", manager.query_keys(&mget)).await?;
            stored.extend(
                values
                    .into_iter()
                    .flatten()
                    .filter_map(|v| serde_json::from_slice::<Revocation>(&v).ok()),
            );
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    let now = inner.config.clock.now();
    let missing = inner.mirror.merge(stored, now);
    if !missing.is_empty() {
        tracing::info!(
            count = missing.len(),
            "revocation store lacks revocations this instance holds: writing them back"
        );
        let mut pipe = redis::pipe();
        for revocation in &missing {
            let one = write_pipeline(inner, revocation);
            for cmd in one.cmd_iter() {
                pipe.add_command(cmd.clone()).ignore();
            }
        }
        timed::<()>(timeout, "write back", manager.query_keys(&pipe)).await?;
    }
    inner.mirror.mark_synced(inner.config.clock.now());
    // Connected before the sync is counted: whoever waits for a sync sees both.
    inner.connected.send_replace(true);
    metrics::store_connected(true);
    inner.syncs.send_modify(|n| *n += 1);
    Ok(())
}

async fn timed<T>(
    timeout: Duration,
    what: &str,
    future: impl Future<Output = redis::RedisResult<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: timed out")),
    }
}

#[cfg(test)]
mod tests {
    use super::{connected_replicas, evicts_unexpired};

    #[test]
    fn replicas_are_read_from_info_replication() {
        let info = "# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=…\r\n";
        assert_eq!(connected_replicas(info), Some(2));
        assert_eq!(
            connected_replicas("role:master\r\nconnected_slaves:0\r\n"),
            Some(0)
        );
        assert_eq!(connected_replicas("role:slave\r\n"), None);
    }

    #[test]
    fn allkeys_policies_evict_unexpired_keys() {
        for policy in [
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "ALLKEYS-LRU",
        ] {
            assert!(evicts_unexpired(policy), "{policy}");
        }
        for policy in ["noeviction", "volatile-ttl", "volatile-lru", ""] {
            assert!(!evicts_unexpired(policy), "{policy}");
        }
    }
}
