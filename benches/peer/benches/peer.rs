//! The peer rows of BENCHMARKS.md: the shared fixture token (`benches/common/fixture.rs`)
//! through `jwt-authorizer`'s public API, `Authorizer::check_auth`, with the same RSA key (PEM)
//! and the same rules (iss, aud, exp with 120 s leeway).
//!
//! - `peer/check_auth`: one thread;
//! - `threads/peer/<n>`: 1 and 2 OS threads at once (throughput in elements/s);
//! - `side_by_side/*`: in this same process and run, the same token (but for `iss`) through
//!   jwt-authorizer, okta-oidc without its token cache, and okta-oidc with it, one after the
//!   other, on one thread and on two — the rows BENCHMARKS.md compares.
//!
//! jwt-authorizer has no verified-token cache: every call parses and checks the signature, so
//! compare it with both `validation/uncached` and `validation/cached` of okta-oidc.
//!
//! `cargo bench -p okta-oidc-peer-bench -- interleaved` runs instead, interleaved on one thread
//! (`benches/common/interleaved.rs`): `floor` (the okta-oidc token's signature checked with
//! its key parsed once, on aws-lc-rs), `jwt_authorizer`, `okta_oidc_uncached` and
//! `okta_oidc_cached`, and prints the ratios.

#[path = "../../common/fixture.rs"]
mod fixture;
#[path = "../../common/floor.rs"]
mod floor;
#[path = "../../common/interleaved.rs"]
mod interleaved;
#[path = "../../common/threads.rs"]
mod threads;

use std::hint::black_box;
use std::time::Duration;
use threads::{on_threads, run_now};

use criterion::{BenchmarkId, Criterion, Throughput};
use jsonwebtoken::{Algorithm, EncodingKey};
use jwt_authorizer::{Authorizer, JwtAuthorizer, RegisteredClaims, Validation};
use okta_oidc::testing::MockOkta;
use okta_oidc::{OktaOidc, Tenant};
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

fn main() {
    let rt = threads::bench_runtime();
    let token = fixture::token(fixture::PEER_ISSUER, sign);
    let auth = rt.block_on(authorizer());
    let data = rt
        .block_on(auth.check_auth(&token))
        .expect("peer accepts the token");
    assert_eq!(data.claims.sub.as_deref(), Some("00u1benchuser"));

    if std::env::args().any(|a| a == "interleaved") {
        interleaved_rows(&rt, &auth, &token);
        return;
    }
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
    side_by_side(&mut c, &rt, &auth, &token);
    c.final_summary();
}

/// One benchmark row: a validation on the calling thread with its runtime.
type Row<'a> = Box<dyn Fn(&Runtime) + Sync + 'a>;

/// A mock org, okta-oidc without and with its token cache, and the fixture token for the mock
/// (accepted, and cached by the second).
fn okta_oidc_pair(rt: &Runtime) -> (MockOkta, OktaOidc, OktaOidc, String) {
    // The first mock of a process signs with rsa1.pem, the fixture key, under kid mock-rsa-1.
    let okta = rt.block_on(MockOkta::start());
    let ours_token = fixture::token(&okta.issuer(), sign);
    let tenant = Tenant::new("bench", okta.issuer()).client_id(fixture::AUDIENCE);
    let build = |cache: bool| {
        let builder = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(tenant.clone())
            .leeway(Duration::from_secs(120))
            .background_refresh(false);
        let builder = if cache {
            builder
        } else {
            builder.disable_token_cache()
        };
        rt.block_on(builder.build()).expect("okta-oidc build")
    };
    let (uncached, cached) = (build(false), build(true));
    rt.block_on(cached.validate(&ours_token))
        .expect("okta-oidc accepts the token");
    (okta, uncached, cached, ours_token)
}

/// jwt-authorizer and okta-oidc on the same token shape, same key, in one run.
fn side_by_side(
    c: &mut Criterion,
    rt: &Runtime,
    auth: &Authorizer<RegisteredClaims>,
    peer_token: &str,
) {
    let (okta, uncached, cached, ours_token) = okta_oidc_pair(rt);
    let rows: [(&str, Row<'_>); 3] = [
        (
            "jwt_authorizer",
            Box::new(|rt: &Runtime| {
                run_now(rt, auth.check_auth(black_box(peer_token))).expect("ok");
            }),
        ),
        (
            "okta_oidc_uncached",
            Box::new(|rt: &Runtime| {
                run_now(rt, uncached.validate(black_box(&ours_token))).expect("ok");
            }),
        ),
        (
            "okta_oidc_cached",
            Box::new(|rt: &Runtime| {
                run_now(rt, cached.validate(black_box(&ours_token))).expect("ok");
            }),
        ),
    ];
    let mut g = c.benchmark_group("side_by_side");
    for n in [1usize, 2] {
        for (name, op) in &rows {
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(*name, n), &n, |b, &n| {
                b.iter_custom(|iters| on_threads(n, iters, op.as_ref()))
            });
        }
    }
    g.finish();
    drop(okta);
}

/// jwt-authorizer, okta-oidc (uncached, cached) and the floor, interleaved on one thread.
fn interleaved_rows(rt: &Runtime, auth: &Authorizer<RegisteredClaims>, peer_token: &str) {
    use interleaved::Row;
    let (okta, uncached, cached, ours_token) = okta_oidc_pair(rt);
    let key = floor::Floor::new(floor::jwk(&okta.jwks(), fixture::KID));
    let (message, signature) = floor::split(&ours_token);
    let ours = ours_token.as_str();
    let (uncached, cached) = (&uncached, &cached);
    let rows = [
        Row::new("floor", |_: &Runtime| {
            assert!(key.verify(black_box(&message), black_box(&signature)))
        }),
        Row::new("jwt_authorizer", |rt: &Runtime| {
            run_now(rt, auth.check_auth(black_box(peer_token))).expect("ok");
        }),
        Row::new("okta_oidc_uncached", move |rt: &Runtime| {
            run_now(rt, uncached.validate(black_box(ours))).expect("ok");
        }),
        Row::new("okta_oidc_cached", move |rt: &Runtime| {
            run_now(rt, cached.validate(black_box(ours))).expect("ok");
        }),
    ];
    let m = interleaved::run(rt, &rows, "peer");
    m.ratio(
        "okta_oidc_uncached / jwt_authorizer (throughput)",
        "okta_oidc_uncached",
        "jwt_authorizer",
    );
    m.ratio(
        "okta_oidc_cached / jwt_authorizer (throughput)",
        "okta_oidc_cached",
        "jwt_authorizer",
    );
    m.ratio(
        "okta_oidc_uncached / floor (throughput)",
        "okta_oidc_uncached",
        "floor",
    );
    m.ratio(
        "jwt_authorizer / floor (throughput)",
        "jwt_authorizer",
        "floor",
    );
    drop(okta);
}
