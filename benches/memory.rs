//! Memory per tenant, counted exactly: live heap bytes (a counting global allocator around the
//! system allocator) before and after registering 10,000 tenants in one call, divided by
//! 10,000. Also the cost of one tenant whose discovery document and key set are loaded (from
//! the in-process mock Okta). Prints its figures; no criterion timing here, so the counter
//! never touches the timed benchmarks (`benches/validation.rs`).
//!
//! Also the heap allocations of one validation (count and bytes, counted on the calling thread
//! only, mean over many calls of the same warm token): `OktaOidc::validate` with a cached hit,
//! with the token cache off (a full validation: parse, tenant, rules, key, signature), and one
//! `tower::Service` call through `OktaOidcLayer` (cached token; the request is built outside
//! the count) beside the same call of the bare inner service. Allocations made inside aws-lc
//! (C `malloc`) are not seen by a Rust global allocator; the RustCrypto backend's are.

#[path = "common/fixture.rs"]
mod fixture;
#[path = "common/layer.rs"]
mod layer_rows;
#[path = "common/threads.rs"]
mod threads;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use http::Request;
use jsonwebtoken::{Algorithm, EncodingKey};
use okta_oidc::testing::MockOkta;
use okta_oidc::{OktaOidc, OktaOidcLayer, Tenant};
use threads::run_now;
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt};

/// Live heap bytes of the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    /// Allocations (`alloc` and `realloc` calls) and bytes requested by this thread. Const
    /// initialised, without destructor: safe to touch from inside the allocator.
    static THREAD_ALLOCS: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

fn count_alloc(bytes: usize) {
    THREAD_ALLOCS.with(|c| {
        let (n, b) = c.get();
        c.set((n + 1, b + bytes as u64));
    });
}

/// The system allocator, counting live bytes. The only `unsafe` of the project outside the
/// library (which forbids it): `GlobalAlloc` is an unsafe trait; every call is forwarded
/// unchanged to `System` with the caller's own arguments, so `System`'s contract is kept.
struct Counting;

// SAFETY: forwards every call to `System` unchanged (same pointer, layout and size).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        count_alloc(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        count_alloc(new_size);
        // SAFETY: as for `dealloc`; `new_size` is the caller's, valid for `layout.align()`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::SeqCst)
}

const N: usize = 10_000;
/// Distinct tokens of the large working set.
const WORKING_SET: u16 = 20_000;
/// Calls per allocation figure (after one warm-up call).
const CALLS: u64 = 1_000;

/// Allocations and bytes of `op` on this thread, in all, over [`CALLS`] calls after a warm-up.
fn allocations_per_call(mut op: impl FnMut()) -> (u64, u64) {
    op();
    let (n0, b0) = THREAD_ALLOCS.with(Cell::get);
    for _ in 0..CALLS {
        op();
    }
    let (n1, b1) = THREAD_ALLOCS.with(Cell::get);
    (n1 - n0, b1 - b0)
}

/// One line per row: mean per call, then the totals it comes from.
fn report(row: &str, (count, bytes): (u64, u64)) {
    let per = |total: u64| total as f64 / CALLS as f64;
    println!(
        "allocations per call, {row}: {:.2} allocations, {:.0} bytes ({count} allocations, {bytes} bytes in {CALLS} calls)",
        per(count),
        per(bytes)
    );
}

/// Heap allocations of one validation: cached, uncached, and through the layer.
fn per_validation(rt: &Runtime) {
    let okta = rt.block_on(MockOkta::start());
    let issuer = okta.issuer();
    let key = EncodingKey::from_rsa_pem(fixture::PRIVATE_PEM.as_bytes()).expect("key");
    let sign =
        |input: &[u8]| jsonwebtoken::crypto::sign(input, &key, Algorithm::RS256).expect("signing");
    let token = fixture::token(&issuer, sign);
    let tenant = Tenant::new("bench", issuer).client_id(fixture::AUDIENCE);
    let builder = || {
        OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(tenant.clone())
            .leeway(Duration::from_secs(120))
            .background_refresh(false)
    };
    let cached = rt.block_on(builder().build()).expect("build");
    let uncached = rt
        .block_on(builder().disable_token_cache().build())
        .expect("build");
    let _entered = rt.enter();
    report(
        "validate/cached",
        allocations_per_call(|| {
            black_box(run_now(rt, cached.validate(black_box(&token))).expect("ok"));
        }),
    );
    report(
        "validate/uncached",
        allocations_per_call(|| {
            black_box(run_now(rt, uncached.validate(black_box(&token))).expect("ok"));
        }),
    );
    // The large working set: heap per cached token, and allocations of a hit served from the
    // shared table (each token comes back after 19,999 others, so no thread front keeps it).
    let working_set = fixture::distinct_tokens(&okta.issuer(), WORKING_SET, &sign);
    let before = live();
    for token in &working_set {
        run_now(rt, cached.validate(token)).expect("ok");
    }
    let after = live();
    println!(
        "token cache: {} bytes of heap per cached token ({WORKING_SET} distinct tokens of {} bytes, claims of {} bytes)",
        (after - before) / WORKING_SET as isize,
        token.len(),
        token.split('.').nth(1).map_or(0, |p| p.len() * 3 / 4),
    );
    let mut next = 0;
    report(
        "validate/cached, 20,000-token working set (table hits)",
        allocations_per_call(|| {
            next = (next + 1) % working_set.len();
            black_box(run_now(rt, cached.validate(black_box(&working_set[next]))).expect("ok"));
        }),
    );
    let inner = layer_rows::inner();
    let with_layer = OktaOidcLayer::new(cached.clone()).layer(inner);
    let request = layer_rows::bearer_request(&token);
    // The request is built before the count starts, one per call.
    let calls = |oneshot: &dyn Fn(Request<Body>)| {
        let mut requests: Vec<_> = (0..=CALLS).map(|_| request()).collect();
        allocations_per_call(|| oneshot(requests.pop().expect("request")))
    };
    report(
        "layer/no_layer (inner service alone)",
        calls(&|req| {
            let res = run_now(rt, inner.oneshot(req)).expect("inner");
            black_box(res);
        }),
    );
    report(
        "layer/layer (cached token)",
        calls(&|req| {
            let res = run_now(rt, with_layer.clone().oneshot(req)).expect("layer");
            assert_eq!(res.status(), 200);
            black_box(res);
        }),
    );
    drop(okta);
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // nothing to list or test under `cargo test --benches`
    }
    let rt = threads::bench_runtime();
    // First: the fixture token is signed with the first mock org's key (each mock started in a
    // process takes the next key of the pool).
    per_validation(&rt);
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .background_refresh(false)
        .build_lazy()
        .expect("build");
    for round in 0..2 {
        // Counted from before the Tenant values exist: their strings are part of the cost.
        let before = live();
        oidc.add_tenants(fixture::tenants(N * round..N * (round + 1)))
            .expect("tenants");
        let after = live();
        println!(
            "registered tenant (not loaded), tenants {}..{}: {} bytes of heap each (incl. the Tenant value)",
            N * round,
            N * (round + 1),
            (after - before) / N as isize
        );
    }
    // One tenant with discovery and key set loaded: its own mock org (a separate issuer).
    let okta = rt.block_on(MockOkta::start());
    let tenant = Tenant::new("loaded", okta.issuer()).client_id(okta.client_id());
    let before = live();
    oidc.add_tenant(tenant).expect("tenant");
    rt.block_on(oidc.refresh_keys("loaded")).expect("keys");
    let after = live();
    println!(
        "loaded tenant (discovery + 1 RSA key), one tenant: {} bytes of heap (incl. HTTP client buffers kept warm)",
        after - before
    );
    drop(okta);
}
