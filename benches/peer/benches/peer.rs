//! The peer rows of BENCHMARKS.md: the shared fixture token (`benches/common/fixture.rs`)
//! through `jwt-authorizer`'s public API, `Authorizer::check_auth`, with the same RSA key (PEM)
//! and the same rules (iss, aud, exp with 120 s leeway).
//!
//! - `peer/check_auth`: one thread;
//! - `threads/peer/<n>`: 1 and 2 OS threads at once (throughput in elements/s).
//!
//! jwt-authorizer has no verified-token cache: every call parses and checks the signature, so
//! compare it with both `validation/uncached` and `validation/cached` of okta-oidc.

#[path = "../../common/fixture.rs"]
mod fixture;

use std::hint::black_box;
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_authorizer::{Authorizer, JwtAuthorizer, RegisteredClaims, Validation};
use tokio::runtime::Runtime;

fn sign(input: &[u8]) -> String {
    let key = EncodingKey::from_rsa_pem(fixture::PRIVATE_PEM.as_bytes()).expect("fixture key");
    jsonwebtoken::crypto::sign(input, &key, Algorithm::RS256).expect("signing")
}

async fn authorizer() -> Authorizer<RegisteredClaims> {
    JwtAuthorizer::from_rsa_pem_text(fixture::PUBLIC_PEM)
        .validation(
            Validation::new()
                .iss(&[fixture::PEER_ISSUER])
                .aud(&[fixture::AUDIENCE])
                .leeway(120),
        )
        .build()
        .await
        .expect("authorizer")
}

/// Polls `fut` once with a no-op waker (a PEM-keyed check completes without waiting), falling
/// back to `block_on`: keeps executor overhead out of the rows, as in okta-oidc's benches.
fn run_now<F: Future>(rt: &Runtime, fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => rt.block_on(fut),
    }
}

fn on_threads(threads: usize, iters: u64, op: &(dyn Fn(&Runtime) + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .expect("runtime");
                    let _entered = rt.enter();
                    op(&rt);
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op(&rt);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .max()
            .unwrap_or_default()
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let token = fixture::token(fixture::PEER_ISSUER, sign);
    let auth = rt.block_on(authorizer());
    let data = rt
        .block_on(auth.check_auth(&token))
        .expect("peer accepts the token");
    assert_eq!(data.claims.sub.as_deref(), Some("00u1benchuser"));

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .configure_from_args();
    let mut g = c.benchmark_group("peer");
    g.throughput(Throughput::Elements(1));
    g.bench_function("check_auth", |b| {
        b.to_async(&rt)
            .iter(|| async { auth.check_auth(black_box(&token)).await.expect("ok") })
    });
    g.finish();
    let op = |rt: &Runtime| {
        run_now(rt, auth.check_auth(black_box(&token))).expect("ok");
    };
    let mut g = c.benchmark_group("threads");
    for n in [1usize, 2] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("peer", n), &n, |b, &n| {
            b.iter_custom(|iters| on_threads(n, iters, &op))
        });
    }
    g.finish();
    c.final_summary();
}
