//! Soak run of several instances sharing revocations through Redis (not part of CI): three app
//! instances in one process, each with its own `RedisStore` on one real `redis-server` that the
//! driver starts on a free loopback port, against the mock Okta org, which rotates its signing
//! key. Run it with `scripts/soak-instances.sh [minutes]` (release build, default 10 minutes).
//!
//! ```text
//! cargo run --release -p okta-oidc-tools --bin soak_instances -- [minutes]
//! ```
//!
//! Load (loopback only, bounded in time and in count), on every instance: bearer ID and access
//! tokens of users never revoked (cached, and fresh ones minted every few hundred requests),
//! DPoP requests with a fresh proof each, opaque tokens answered by introspection (cached, and
//! a fresh one every 3 s), session requests with real sign-ins, and new sign-ins. Logout
//! signals at a steady rate, spread over the instances: Universal Logout by `iss_sub` and by
//! email, back-channel logout by `sub` and by `sid`, RP logout (`/auth/logout`). Each signal's
//! user signs in first; its session and bearer tokens are accepted on every instance before the
//! signal (so they are cached), and after the signal's answer every one of them must be refused
//! on every instance within the bound: 1 s while Redis is up, the end of a fault window plus
//! the re-sync period after one.
//!
//! Single use across instances: a DPoP proof, a login `state` (with a second code of its own)
//! and a logout token's `jti`, each used on one instance, are replayed on another and must be
//! refused. Hostile traffic beside the load (junk tokens, callback floods, random issuers, junk
//! DPoP proofs, 50 a second from 127.0.0.2) must be refused, and valid credentials never.
//!
//! Faults, each in a window written to the report: the org's introspection answering 429 and
//! 500; instance C cut off from Redis (a TCP proxy in front of Redis for C) and restored; Redis
//! killed and restarted empty on the same port (the instances write their mirrors back); Redis
//! killed and restarted from a snapshot taken a few seconds before, instance B cold-started
//! while it is down (it must answer `503` with `Retry-After` until its first sync).
//!
//! Broken on purpose, each must make the run exit non-zero on its own line:
//! `SOAK_BREAK_PUBLISH=1` (instance C's store gets a key prefix of its own: false accepts),
//! `SOAK_BREAK_REPLAY=1` (replays go to a fourth instance with a memory store of its own:
//! accepted twice), `SOAK_BREAK_VALID=1` (the driver spoils one bearer token in 50 and still
//! counts it valid: spurious refusals), `SOAK_BREAK_HOSTILE=1` (one "random issuer" token in 5
//! names the real issuer: hostile accepted), `SOAK_BREAK_COLD=1` (the cold-started instance is
//! built with `fail_closed_until_first_sync(false)`: cold-start false accepts).
//!
//! Memory knobs (the public API's): `SOAK_REVOCATION_TTL_S` (the builder's `revocation_ttl` and
//! the login's `session_lifetime`) and `SOAK_TOKEN_CACHE_MIB` (`token_cache_capacity`), to see
//! what the mirrors and the RSS are bounded by in a run shorter than their defaults.
//!
//! Report (printed and written to `target/soak/instances-report.txt`, or `SOAK_REPORT`): load
//! and signal rates (and the slowest minute's), signals by kind, false accepts (must be 0),
//! propagation p50/p99/max by kind, spurious refusals of valid credentials outside fault
//! windows (must be 0), 503s inside them (each with `Retry-After`), replays accepted twice,
//! hostile requests accepted, cold-start false accepts (each must be 0), the longest refusal
//! span per kind of fault, RSS after warm-up and at the end, mirror sizes, Redis memory and a
//! `SCAN` of every key for a TTL. Exits non-zero when a target is missed.

mod app;
mod dpop;
mod faults;
mod hostile;
mod load;
mod measure;
mod redis_server;
mod replay;
mod report;
mod signals;
mod state;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use okta_oidc::store::{RedisStore, RedisStoreConfig, RevocationStore};
use okta_oidc::testing::MockOkta;
use serde_json::json;

use app::{Credential, Instance};
use redis_server::{Proxy, RedisServer};
use {faults::*, load::*, measure::*, signals::*, state::*};

/// Every store's configuration (the cold start builds one anew).
pub(crate) fn store_config(url: &str) -> RedisStoreConfig {
    RedisStoreConfig::new(url)
        .reconnect_delay(RECONNECT)
        .resync_interval(RESYNC)
}

/// The stores' full re-sync period (and how soon a lost connection is noticed when idle).
pub(crate) const RESYNC: Duration = Duration::from_secs(2);
pub(crate) const RECONNECT: Duration = Duration::from_millis(100);
/// Propagation bound while Redis is up.
pub(crate) const BOUND_UP: Duration = Duration::from_secs(1);
/// After a fault window ends, the bound: its end plus this (a re-sync, twice, and a margin).
pub(crate) const SETTLE: Duration = Duration::from_secs(5);
/// A credential still accepted this long after its bound is counted as lost.
pub(crate) const GIVE_UP: Duration = Duration::from_secs(10);
/// The hard cap of one signal's check.
pub(crate) const CHECK_CAP: Duration = Duration::from_secs(120);
pub(crate) const PROBE_EVERY: Duration = Duration::from_millis(5);
/// One logout signal this often (`SOAK_SIGNAL_MS` to change).
pub(crate) const SIGNAL_EVERY: Duration = Duration::from_millis(500);
pub(crate) const MAX_CHECKS_IN_FLIGHT: usize = 64;
/// A fault cycle: key rotation at 0, C cut off at `CUT_AT` for `CUT_FOR`, Redis restarted
/// empty at `RESTART_AT` after being down `REDIS_DOWN_FOR`.
pub(crate) const CYCLE: Duration = Duration::from_secs(120);
pub(crate) const CUT_AT: Duration = Duration::from_secs(25);
pub(crate) const CUT_FOR: Duration = Duration::from_secs(15);
pub(crate) const RESTART_AT: Duration = Duration::from_secs(70);
pub(crate) const REDIS_DOWN_FOR: Duration = Duration::from_secs(2);
/// Bounds on counts (the time bound usually ends the run first).
pub(crate) const MAX_REQUESTS_PER_WORKER: u64 = 50_000_000;
pub(crate) const MAX_SIGNALS: u64 = 1_000_000;
pub(crate) const NAMES: [&str; 3] = ["A", "B", "C"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let minutes: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10.0);
    let duration = Duration::from_secs_f64((minutes * 60.0).clamp(10.0, 240.0 * 60.0));
    let breaks = Breaks::from_env();
    let broken = breaks.publish;
    // A diagnostic knob: C reaches Redis directly, and the cut fault is skipped (to tell what
    // the in-process proxy adds).
    let direct = std::env::var("SOAK_NO_PROXY").is_ok_and(|v| v == "1");
    let pace = Duration::from_millis(
        std::env::var("SOAK_PACE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
    );
    let signal_every = Duration::from_millis(
        std::env::var("SOAK_SIGNAL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(SIGNAL_EVERY.as_millis() as u64)
            .clamp(20, 60_000),
    );
    let report_path = std::env::var("SOAK_REPORT")
        .unwrap_or_else(|_| "target/soak/instances-report.txt".to_owned());
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }

    let redis = match RedisServer::start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak_instances: {e}");
            std::process::exit(2);
        }
    };
    let url = redis.url();
    let proxy = Arc::new(Proxy::start(redis.port).await.expect("a loopback proxy"));
    let mock = MockOkta::builder()
        .keys_cache_control(Some("max-age=20".into()))
        .build()
        .await;
    let config = store_config;
    let mut instances = Vec::new();
    for (i, name) in NAMES.into_iter().enumerate() {
        let mut c = if i == 2 && !direct {
            config(&proxy.url())
        } else {
            config(&url)
        };
        if broken && i == 2 {
            c = c.key_prefix("soak-broken:");
        }
        let store = RedisStore::with_config(c).expect("a Redis store");
        if tokio::time::timeout(Duration::from_secs(15), store.wait_synced())
            .await
            .is_err()
        {
            eprintln!("soak_instances: store {name} did not sync");
            std::process::exit(2);
        }
        instances.push(
            Instance::start(name, &mock, store)
                .await
                .expect("an app instance"),
        );
    }
    let rogue = if breaks.replay {
        Some(app::rogue(&mock).await.expect("the mis-wired instance"))
    } else {
        None
    };
    let started = Instant::now();
    let shared = Arc::new(Shared {
        mock: mock.clone(),
        instances,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(64)
            .build()
            .expect("an HTTP client"),
        users: tokio::sync::Mutex::new(()),
        faults: Faults::default(),
        load: Load::default(),
        kinds: Mutex::new(BTreeMap::new()),
        spurious_examples: Mutex::new(Vec::new()),
        false_accept_details: Mutex::new(Vec::new()),
        details: Mutex::new(Vec::new()),
        signal_every,
        replay_dpop: Replays::default(),
        replay_state: Replays::default(),
        replay_jti: Replays::default(),
        hostile: Default::default(),
        cold: ColdStart::default(),
        revoked: Mutex::new(std::collections::VecDeque::new()),
        rogue,
        breaks,
        stop: AtomicBool::new(false),
        deadline: started + duration,
        started,
        pace,
    });
    let at_start = snapshot(&shared, &url).await;
    let rss_start = rss_kib().0;
    println!(
        "soak_instances: {minutes} min, 3 instances ({}) on redis-server :{}, \
         a signal every {} ms, faults every {} s{}{}{}",
        if direct {
            "SOAK_NO_PROXY=1: C direct, no cut"
        } else {
            "C through a proxy"
        },
        redis.port,
        signal_every.as_millis(),
        CYCLE.as_secs(),
        if breaks.names().is_empty() {
            String::new()
        } else {
            format!("; broken on purpose: {}", breaks.names())
        },
        app::revocation_ttl().map_or(String::new(), |t| format!(
            "; SOAK_REVOCATION_TTL_S={}: revocations and sessions last {} s",
            t.as_secs(),
            t.as_secs()
        )),
        app::token_cache_mib().map_or(String::new(), |m| format!(
            "; SOAK_TOKEN_CACHE_MIB={m}: token caches of {m} MiB"
        ))
    );
    println!("  start: {at_start}");

    let mut tasks = Vec::new();
    for i in 0..3 {
        tasks.push(tokio::spawn(bearer_worker(Arc::clone(&shared), i)));
        tasks.push(tokio::spawn(session_worker(Arc::clone(&shared), i)));
        tasks.push(tokio::spawn(dpop::dpop_worker(Arc::clone(&shared), i)));
        tasks.push(tokio::spawn(opaque_worker(Arc::clone(&shared), i)));
    }
    tasks.push(tokio::spawn(replay::replays(Arc::clone(&shared))));
    tasks.push(tokio::spawn(hostile::hostile(Arc::clone(&shared))));
    let signal_task = tokio::spawn(signals(Arc::clone(&shared)));
    let fault_task = tokio::spawn(faults(
        Arc::clone(&shared),
        redis,
        Arc::clone(&proxy),
        !direct,
    ));

    let mut at_half = String::new();
    let mut rss_half = 0;
    let mut at_warm = String::new();
    let mut rss_warm = 0;
    let mut ticks = 0u64;
    // Requests and signals in each full minute: the lowest, to show the rates held.
    let (mut last_requests, mut last_signals) = (0u64, 0u64);
    let (mut min_requests, mut min_signals) = (u64::MAX, u64::MAX);
    while Instant::now() < shared.deadline {
        tokio::time::sleep(Duration::from_secs(1).min(shared.deadline - Instant::now())).await;
        ticks += 1;
        if at_warm.is_empty() && started.elapsed() >= Duration::from_secs(60).min(duration / 2) {
            at_warm = snapshot(&shared, &url).await;
            rss_warm = rss_kib().0;
        }
        if at_half.is_empty() && started.elapsed() >= duration / 2 {
            at_half = snapshot(&shared, &url).await;
            rss_half = rss_kib().0;
        }
        if ticks.is_multiple_of(60) {
            let l = &shared.load;
            let (signals, lost) = {
                let k = shared.kinds.lock().unwrap_or_else(|e| e.into_inner());
                (
                    k.values().map(|s| s.answered).sum::<u64>(),
                    k.values()
                        .map(|s| s.lost + s.late_up + s.late_fault)
                        .sum::<u64>(),
                )
            };
            min_requests = min_requests.min(get(&l.requests) - last_requests);
            min_signals = min_signals.min(signals - last_signals);
            (last_requests, last_signals) = (get(&l.requests), signals);
            println!(
                "  {:>5}s requests {:>9} spurious {} signals {signals} false accepts {lost}; {}",
                started.elapsed().as_secs(),
                get(&l.requests),
                get(&l.spurious),
                snapshot(&shared, &url).await
            );
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    let _ = tokio::time::timeout(CHECK_CAP + Duration::from_secs(10), signal_task).await;
    let redis = match tokio::time::timeout(Duration::from_secs(120), fault_task).await {
        Ok(Ok(r)) => Some(r),
        _ => None,
    };
    // Any fault left open is over: the proxy restored (the fault task ended).
    proxy.restore();
    let elapsed = started.elapsed();
    let at_end = snapshot(&shared, &url).await;
    let (rss_end, rss_peak) = rss_kib();
    let (keys, without_ttl, no_ttl_examples) = scan_ttls(&url).await;

    let run = report::Run {
        elapsed,
        at_start,
        at_warm,
        at_half,
        at_end,
        rss_start,
        rss_warm,
        rss_half,
        rss_end,
        rss_peak,
        keys,
        without_ttl,
        no_ttl_examples,
        min_requests,
        min_signals,
    };
    let (out, ok) = report::report(&shared, &run);
    print!("\n{out}");
    if let Some(dir) = std::path::Path::new(&report_path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&report_path, &out) {
        eprintln!("soak_instances: {report_path}: {e}");
    }
    drop(redis);
    if !ok {
        std::process::exit(1);
    }
}
