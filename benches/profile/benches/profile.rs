//! A sampling profile of one row of `benches/validation.rs`, in a loop on one thread, sampled by
//! pprof (SIGPROF, 1 kHz by default). `OKTA_OIDC_PROFILE_ROW` picks it:
//!
//! - `floor`: the fixture token's signature checked with its key parsed once, nothing else;
//! - `uncached` (default): the fixture token (`benches/common/fixture.rs`) through
//!   `OktaOidc::validate` with the token cache off;
//! - `cached`: the same token, seen before;
//! - `cached_1000`, `cached_20000`: 1,000 or 20,000 distinct cached tokens in rotation;
//! - `layer`: one `tower::Service` call through `OktaOidcLayer` (cached token) of a trivial
//!   inner service, the request built in the loop.
//!
//! Writes `target/profile/<row>.svg` (flamegraph) and `target/profile/<row>.folded`
//! (collapsed stacks, root first, one line per distinct stack with its sample count) and prints
//! the functions holding the most samples, inclusive (on the stack) and self (innermost frame),
//! as a share of samples and as µs of the thread's CPU time per call. Inlined frames are
//! resolved when the bench profile carries line tables:
//!
//! ```sh
//! CARGO_PROFILE_BENCH_DEBUG=line-tables-only cargo bench -p okta-oidc-profile
//! OKTA_OIDC_PROFILE_ROW=cached_20000 CARGO_PROFILE_BENCH_DEBUG=line-tables-only cargo bench -p okta-oidc-profile
//! ```
//!
//! Instruction counts, exact and independent of the machine's load: with
//! `OKTA_OIDC_PROFILE_CALLS=<n>` the row runs `n` times in `measured`, unsampled, for
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'` (divide the
//! `Ir` total by `n`).
//!
//! `OKTA_OIDC_PROFILE_SECS` (default 30) sets how long to sample; `OKTA_OIDC_PROFILE_HZ`
//! (default 1000) the sampling frequency (the kernel may deliver fewer: SIGPROF follows its
//! tick, 250 Hz on this VM), `OKTA_OIDC_PROFILE_ROWS` (default 60) the rows printed.

#[path = "../../common/fixture.rs"]
mod fixture;
#[path = "../../common/floor.rs"]
mod floor;
#[path = "../../common/threads.rs"]
mod threads;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey};
use okta_oidc::testing::MockOkta;
use okta_oidc::{OktaOidc, OktaOidcLayer, Tenant};
use threads::run_now;
use tower::{Layer, ServiceExt};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time of the calling thread (Linux `schedstat`), so that µs per call do not count the
/// time another process held the core; wall time where it cannot be read.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Shortens a demangled symbol: drops the trailing `::h<hash>`.
fn short(name: &str) -> &str {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head
        }
        _ => name,
    }
}

/// The calls that callgrind counts (`--toggle-collect=*measured*`).
#[inline(never)]
fn measured(calls: u64, op: &dyn Fn()) {
    for _ in 0..calls {
        op();
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // nothing to list or test under `cargo test --benches`
    }
    let secs = env_or("OKTA_OIDC_PROFILE_SECS", 30);
    let hz = i32::try_from(env_or("OKTA_OIDC_PROFILE_HZ", 1000)).unwrap_or(1000);
    let rt = threads::bench_runtime();
    let okta = rt.block_on(MockOkta::start());
    let issuer = okta.issuer();
    let key = EncodingKey::from_rsa_pem(fixture::PRIVATE_PEM.as_bytes()).expect("key");
    let sign = |input: &str| {
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::RS256).expect("signing");
        format!("{input}.{signature}")
    };
    let token = sign(&fixture::signing_input(&issuer));
    let row = std::env::var("OKTA_OIDC_PROFILE_ROW").unwrap_or_else(|_| "uncached".into());
    let set_size: u16 = match row.as_str() {
        "cached_1000" => 1_000,
        "cached_20000" => 20_000,
        _ => 0,
    };
    let set: Vec<String> = (0..set_size)
        .map(|n| sign(&fixture::signing_input_numbered(&issuer, n + 2)))
        .collect();
    let mut builder = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(Tenant::new("bench", issuer).client_id(fixture::AUDIENCE))
        .leeway(Duration::from_secs(120))
        .background_refresh(false);
    if row == "uncached" {
        builder = builder.disable_token_cache();
    }
    let oidc = rt.block_on(builder.build()).expect("build");
    let _entered = rt.enter();
    for token in &set {
        run_now(&rt, oidc.validate(token)).expect("working set");
    }
    let floor_key = floor::Floor::new(floor::jwk(&okta.jwks(), fixture::KID));
    let (message, signature) = floor::split(&token);
    let layered = OktaOidcLayer::new(oidc.clone()).layer(tower::service_fn(
        |_req: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) },
    ));
    let auth = http::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    let next = Cell::new(0usize);
    let validate = || match row.as_str() {
        "layer" => {
            let request = http::Request::builder()
                .header(http::header::AUTHORIZATION, auth.clone())
                .body(())
                .expect("request");
            let response = run_now(&rt, layered.clone().oneshot(request)).expect("layer");
            assert_eq!(response.status(), 200);
        }
        "cached_1000" | "cached_20000" => {
            let i = next.get();
            next.set(if i + 1 == set.len() { 0 } else { i + 1 });
            let claims = run_now(&rt, oidc.validate(black_box(&set[i]))).expect("valid");
            black_box(claims);
        }
        "floor" => assert!(floor_key.verify(black_box(&message), black_box(&signature))),
        "uncached" | "cached" => {
            let claims = run_now(&rt, oidc.validate(black_box(&token))).expect("valid");
            black_box(claims);
        }
        other => panic!("OKTA_OIDC_PROFILE_ROW: no row {other}"),
    };
    if let Ok(calls) = std::env::var("OKTA_OIDC_PROFILE_CALLS") {
        // Exact counts instead of samples: run under callgrind, collecting in `measured` only.
        let calls: u64 = calls.parse().expect("OKTA_OIDC_PROFILE_CALLS: a number");
        for _ in 0..100 {
            validate();
        }
        measured(calls, &validate);
        println!("{row}: {calls} calls measured");
        return;
    }
    let warm_until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < warm_until {
        validate();
    }

    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(hz)
        // libc stays sampled: malloc, free and memcpy are part of what a validation costs
        // (pprof drops a blocklisted sample whole, and they are ~6 % of this loop's CPU time).
        // The usual reason to blocklist it, a sample landing in the loader lock while the
        // unwinder needs it, does not arise in this loop (glibc ≥ 2.35 finds FDEs lock-free).
        .blocklist(&["libgcc", "pthread", "vdso"])
        .build()
        .expect("profiler");
    let start = Instant::now();
    let cpu_start = thread_cpu_time();
    let mut calls = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        validate();
        calls += 1;
    }
    let elapsed = start.elapsed();
    let (cpu, clock) = match (cpu_start, thread_cpu_time()) {
        (Some(a), Some(b)) => (b.saturating_sub(a), "CPU"),
        _ => (elapsed, "wall"),
    };
    let report = guard.report().build().expect("report");
    drop(okta);

    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("profile");
    std::fs::create_dir_all(&dir).expect("target/profile");
    let svg = dir.join(format!("{row}.svg"));
    let file = std::fs::File::create(&svg).expect("svg file");
    report.flamegraph(file).expect("flamegraph");
    let mut folded = String::new();
    for (frames, count) in &report.data {
        let mut names: Vec<String> = frames
            .frames
            .iter()
            .flatten()
            .map(|symbol| short(&symbol.name()).replace(';', ":"))
            .collect();
        names.reverse(); // root first
        let _ = writeln!(folded, "{} {count}", names.join(";"));
    }
    let folded_path = dir.join(format!("{row}.folded"));
    std::fs::write(&folded_path, folded).expect("folded file");

    // Inclusive: samples with the function anywhere on the stack (once per sample); self: the
    // innermost frame (inlined frames resolved first).
    let mut total = 0isize;
    let mut inclusive: HashMap<String, isize> = HashMap::new();
    let mut own: HashMap<String, isize> = HashMap::new();
    for (frames, count) in &report.data {
        total += count;
        let mut seen = HashSet::new();
        let names = frames
            .frames
            .iter()
            .flatten()
            .map(|symbol| short(&symbol.name()).to_owned());
        for (depth, name) in names.enumerate() {
            if depth == 0 {
                *own.entry(name.clone()).or_default() += count;
            }
            if seen.insert(name.clone()) {
                *inclusive.entry(name).or_default() += count;
            }
        }
    }
    let per_call_us = cpu.as_secs_f64() * 1e6 / calls as f64;
    println!(
        "{row}: {calls} calls in {:.1} s ({:.1} s of {clock} time), {per_call_us:.2} µs of {clock} time per call; {total} samples",
        elapsed.as_secs_f64(),
        cpu.as_secs_f64()
    );
    println!("flamegraph: {}", svg.display());
    println!("collapsed stacks: {}", folded_path.display());
    let print = |title: &str, map: &HashMap<String, isize>, rows: usize| {
        let mut rows_sorted: Vec<_> = map.iter().collect();
        rows_sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        println!("\n{title} (share of samples, µs per call at that share)");
        for (name, count) in rows_sorted.into_iter().take(rows) {
            let share = *count as f64 / total.max(1) as f64;
            println!(
                "{:6.2} % {:7.3} µs  {}",
                share * 100.0,
                share * per_call_us,
                name.chars().take(160).collect::<String>()
            );
        }
    };
    let rows = usize::try_from(env_or("OKTA_OIDC_PROFILE_ROWS", 60)).unwrap_or(60);
    print("inclusive", &inclusive, rows);
    print("self", &own, rows);
}
