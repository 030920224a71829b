//! Memory per tenant, counted exactly: live heap bytes (a counting global allocator around the
//! system allocator) before and after registering 10,000 tenants in one call, divided by
//! 10,000. Also the cost of one tenant whose discovery document and key set are loaded (from
//! the in-process mock Okta). Prints its figures; no criterion timing here, so the counter
//! never touches the timed benchmarks (`benches/validation.rs`).

#[path = "common/fixture.rs"]
mod fixture;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use okta_oidc::testing::MockOkta;
use okta_oidc::{OktaOidc, Tenant};

/// Live heap bytes of the whole process.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The system allocator, counting live bytes. The only `unsafe` of the project outside the
/// library (which forbids it): `GlobalAlloc` is an unsafe trait; every call is forwarded
/// unchanged to `System` with the caller's own arguments, so `System`'s contract is kept.
struct Counting;

// SAFETY: forwards every call to `System` unchanged (same pointer, layout and size).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
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

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // nothing to list or test under `cargo test --benches`
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
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
