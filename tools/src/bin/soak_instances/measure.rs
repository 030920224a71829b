//! What the report measures: Redis memory and keys, the process RSS, percentiles.

use super::*;

pub(crate) async fn redis_connection(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()
}

pub(crate) async fn dbsize(url: &str) -> i64 {
    let Some(mut con) = redis_connection(url).await else {
        return -1;
    };
    redis::cmd("DBSIZE")
        .query_async::<i64>(&mut con)
        .await
        .unwrap_or(-1)
}

pub(crate) async fn used_memory(url: &str) -> u64 {
    let Some(mut con) = redis_connection(url).await else {
        return 0;
    };
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut con)
        .await
        .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Every key, and those without a TTL (`PTTL` -1), with a few of their names.
pub(crate) async fn scan_ttls(url: &str) -> (u64, u64, Vec<String>) {
    let Some(mut con) = redis_connection(url).await else {
        return (0, 0, vec!["no connection to Redis".into()]);
    };
    let (mut keys, mut without, mut examples) = (0, 0, Vec::new());
    let mut cursor: u64 = 0;
    for _ in 0..100_000 {
        let Ok((next, batch)) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async::<(u64, Vec<String>)>(&mut con)
            .await
        else {
            examples.push("SCAN failed".into());
            break;
        };
        for key in batch {
            let pttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap_or(-2);
            keys += 1;
            if pttl == -1 {
                without += 1;
                if examples.len() < 5 {
                    examples.push(key);
                }
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    (keys, without, examples)
}

pub(crate) fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

pub(crate) fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A snapshot of the bounded things: RSS, each mirror's size, Redis's memory.
pub(crate) async fn snapshot(shared: &Shared, url: &str) -> String {
    let mirrors = shared
        .instances
        .iter()
        .map(|i| format!("{} {}", i.name, i.store().mirror().len()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "RSS {}, mirrors {mirrors}, Redis used_memory {}",
        mib(rss_kib().0 * 1024),
        mib(used_memory(url).await)
    )
}
