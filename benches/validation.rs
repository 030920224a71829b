//! Validation benchmarks, side by side in one run (see BENCHMARKS.md for figures and method).
//!
//! All rows validate the same RS256 token (`benches/common/fixture.rs`) with the same key:
//!
//! - `validation/floor`: the token's signing input and decoded signature verified with the key
//!   parsed once in the backend's ready form (`benches/common/floor.rs`: aws-lc-rs
//!   `ParsedPublicKey`, or the RustCrypto verifying key under `rust_crypto` alone), nothing
//!   else: the least any validation can cost;
//! - `validation/raw`: `jsonwebtoken::decode` with a prepared `DecodingKey` and `Validation`
//!   (iss, aud, exp with the same leeway): what a plain jsonwebtoken user pays;
//! - `validation/uncached`: `OktaOidc::validate` with the token cache turned off (every call is
//!   a cache miss: parse, tenant, rules, key, signature);
//! - `validation/cached`: `OktaOidc::validate` of a token seen before;
//! - `validation_es256/*`, `validation_eddsa/*`: `floor` and `uncached` for the same claims
//!   signed with the mock's P-256 (ES256) and Ed25519 (EdDSA) keys;
//! - `layer/no_layer` vs `layer/layer`: one `tower::Service` call of a trivial inner service,
//!   without and with `OktaOidcLayer` (cached token in `Authorization: Bearer`);
//! - `threads/<row>/<n>`: the same rows on 1 and 2 OS threads at once (throughput in
//!   elements/s, one element per validation; compare `/2` with `/1` for scaling);
//! - `tenants/by_iss/<n>`: the tenant look-up by unverified `iss` (parse, registry, tenant
//!   choice; the token is then refused for its audience, so no key or network is involved)
//!   with 1 and 10,000 registered tenants; `tenants/by_id/<n>`: `OktaOidc::tenant(id)`.
//!
//! `cargo bench --bench validation -- interleaved` runs, instead of criterion, the `validation*`
//! rows interleaved: round after round, a short batch of each row in turn (~0.2 ms, start
//! rotating), for 20 s; it prints each row's median batch time per call and the ratios between
//! rows. On a shared machine whose speed drifts by tens of percent from one second to the next,
//! rows measured seconds apart (criterion) give ratios that move by ±15 %; interleaved rows see
//! the same conditions.
//!
//! Memory per tenant is measured by `benches/memory.rs` (a counting allocator, kept out of
//! this binary so it never touches the timings).
//!
//! Keys come from the in-process mock Okta over HTTP; everything is warmed up before
//! measuring, and background key refresh is off, so only validation is measured.

#[path = "common/fixture.rs"]
mod fixture;
#[path = "common/floor.rs"]
mod floor;
#[path = "common/interleaved.rs"]
mod interleaved;
#[path = "common/layer.rs"]
mod layer_rows;
#[path = "common/threads.rs"]
mod threads;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use threads::{on_threads, run_now};

use criterion::{BenchmarkId, Criterion, Throughput};
use floor::Floor;
use interleaved::{Op, Row};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use okta_oidc::testing::MockOkta;
use okta_oidc::{OktaOidc, OktaOidcLayer, StandardClaims, Tenant};
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt};

const LEEWAY_SECS: u64 = 120;
const MANY_TENANTS: usize = 10_000;
/// Distinct valid tokens of the large working set (`validation/cached_20000`).
const WORKING_SET: u16 = 20_000;

/// A token's key parsed once, its signing input and its decoded signature.
type FloorCase = (Floor, Vec<u8>, Vec<u8>);

struct Setup {
    rt: Runtime,
    _okta: MockOkta,
    token: String,
    cached: OktaOidc,
    uncached: OktaOidc,
    raw_key: DecodingKey,
    raw_validation: Validation,
    /// The RS256 token's floor.
    floor: FloorCase,
    /// ES256 and EdDSA: name, token, floor.
    others: Vec<(&'static str, String, FloorCase)>,
    /// Token cache off, allow-list ES256 and EdDSA.
    uncached_others: OktaOidc,
    /// [`WORKING_SET`] distinct tokens, all in `cached`'s token cache.
    working_set: Vec<String>,
}

thread_local! {
    /// Where each thread is in the working set, and in its first 1,000 tokens.
    static NEXT_IN_SET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static NEXT_IN_1000: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The next token of `set` for this thread, in rotation (`at` keeps the place).
fn next_in<'s>(
    at: &'static std::thread::LocalKey<std::cell::Cell<usize>>,
    set: &'s [String],
) -> &'s str {
    let i = at.get();
    at.set(if i + 1 >= set.len() { 0 } else { i + 1 });
    &set[i.min(set.len() - 1)]
}

fn next_in_set(set: &[String]) -> &str {
    next_in(&NEXT_IN_SET, set)
}

thread_local! {
    /// The working-set tokens of the next batch of `cached_20000_hot_input`, copied into this
    /// thread's cache before the batch is timed (a server has the token it just read at hand),
    /// and the next one to take.
    static HOT_INPUT: std::cell::RefCell<(Vec<String>, usize)> =
        const { std::cell::RefCell::new((Vec::new(), 0)) };
    static NEXT_HOT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Copies the next `n` working-set tokens into [`HOT_INPUT`].
fn prepare_hot_input(set: &[String], n: usize) {
    HOT_INPUT.with_borrow_mut(|(tokens, next)| {
        tokens.resize_with(n, String::new);
        for slot in tokens.iter_mut() {
            slot.clone_from(&set[NEXT_HOT.get()]);
            NEXT_HOT.set((NEXT_HOT.get() + 1) % set.len());
        }
        *next = 0;
    });
}

/// Runs `f` on the next token of [`HOT_INPUT`] (refilling it, untimed only between batches).
fn with_hot_input<R>(set: &[String], f: impl FnOnce(&str) -> R) -> R {
    if HOT_INPUT.with_borrow(|(tokens, next)| *next >= tokens.len()) {
        prepare_hot_input(set, 256);
    }
    HOT_INPUT.with_borrow_mut(|(tokens, next)| {
        *next += 1;
        f(&tokens[*next - 1])
    })
}

fn sign(input: &[u8]) -> String {
    static KEY: std::sync::OnceLock<EncodingKey> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| {
        EncodingKey::from_rsa_pem(fixture::PRIVATE_PEM.as_bytes()).expect("fixture key")
    });
    jsonwebtoken::crypto::sign(input, key, Algorithm::RS256).expect("signing")
}

/// The fixture claims under `alg`, signed with the PEM key the mock publishes as `kid`.
fn token_for(issuer: &str, alg: Algorithm, kid: &str, pem: &str) -> String {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .expect("fixture key");
    let name = if alg == Algorithm::ES256 {
        "ES256"
    } else {
        "EdDSA"
    };
    let input = fixture::signing_input_for(issuer, name, kid);
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).expect("signing");
    format!("{input}.{signature}")
}

/// The floor of `token`: its key (the JWK published as `kid`), signing input and signature.
fn floor_of(okta: &MockOkta, kid: &str, token: &str) -> FloorCase {
    let key = Floor::new(floor::jwk(&okta.jwks(), kid));
    let (message, signature) = floor::split(token);
    assert!(key.verify(&message, &signature), "floor accepts {kid}");
    (key, message, signature)
}

fn setup() -> Setup {
    let rt = threads::bench_runtime();
    let okta = rt.block_on(MockOkta::start());
    okta.publish_ec_key();
    okta.publish_ed_key();
    let issuer = okta.issuer();
    let token = fixture::token(&issuer, sign);
    let tenant = Tenant::new("bench", issuer.clone()).client_id(fixture::AUDIENCE);
    let builder = || {
        OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(tenant.clone())
            .leeway(Duration::from_secs(LEEWAY_SECS))
            .background_refresh(false)
    };
    let cached = rt.block_on(builder().build()).expect("cached build");
    let uncached = rt
        .block_on(builder().disable_token_cache().build())
        .expect("uncached build");
    let uncached_others = rt
        .block_on(
            builder()
                .algorithms([okta_oidc::Algorithm::ES256, okta_oidc::Algorithm::EdDSA])
                .disable_token_cache()
                .build(),
        )
        .expect("ES256/EdDSA build");
    let floor = floor_of(&okta, fixture::KID, &token);
    let others = [
        (
            "es256",
            Algorithm::ES256,
            fixture::EC_KID,
            fixture::EC_PRIVATE_PEM,
        ),
        (
            "eddsa",
            Algorithm::EdDSA,
            fixture::ED_KID,
            fixture::ED_PRIVATE_PEM,
        ),
    ]
    .into_iter()
    .map(|(name, alg, kid, pem)| {
        let token = token_for(&issuer, alg, kid, pem);
        let floor = floor_of(&okta, kid, &token);
        (name, token, floor)
    })
    .collect();
    let working_set = fixture::distinct_tokens(&issuer, WORKING_SET, &sign);
    let raw_key = DecodingKey::from_rsa_pem(fixture::PUBLIC_PEM.as_bytes()).expect("public key");
    let mut raw_validation = Validation::new(Algorithm::RS256);
    raw_validation.set_issuer(&[&issuer]);
    raw_validation.set_audience(&[fixture::AUDIENCE]);
    raw_validation.leeway = LEEWAY_SECS;
    let s = Setup {
        rt,
        _okta: okta,
        token,
        cached,
        uncached,
        raw_key,
        raw_validation,
        floor,
        others,
        uncached_others,
        working_set,
    };
    // Warm up and check that every path accepts the token.
    jsonwebtoken::decode::<StandardClaims>(&s.token, &s.raw_key, &s.raw_validation).expect("raw");
    for oidc in [&s.cached, &s.uncached] {
        let claims = s.rt.block_on(oidc.validate(&s.token)).expect("validate");
        assert_eq!(claims.sub, "00u1benchuser");
    }
    for (name, token, _) in &s.others {
        let claims = s.rt.block_on(s.uncached_others.validate(token));
        assert_eq!(claims.expect(name).sub, "00u1benchuser");
    }
    // The whole working set into the token cache (it must all fit: checked by timing below,
    // where a miss would cost a signature check).
    for token in &s.working_set {
        s.rt.block_on(s.cached.validate(token))
            .expect("working set");
    }
    s
}

/// `floor`, `raw`, `uncached` and `cached` side by side in one group (one run): the ratios
/// BENCHMARKS.md tracks are taken between these rows.
fn single_thread(c: &mut Criterion, s: &Setup) {
    let mut g = c.benchmark_group("validation");
    g.throughput(Throughput::Elements(1));
    let (key, message, signature) = &s.floor;
    g.bench_function("floor", |b| {
        b.iter(|| assert!(key.verify(black_box(message), black_box(signature))))
    });
    g.bench_function("raw", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<StandardClaims>(
                black_box(&s.token),
                &s.raw_key,
                &s.raw_validation,
            )
            .expect("raw")
        })
    });
    g.bench_function("uncached", |b| {
        b.to_async(&s.rt)
            .iter(|| async { s.uncached.validate(black_box(&s.token)).await.expect("ok") })
    });
    g.bench_function("cached", |b| {
        b.to_async(&s.rt)
            .iter(|| async { s.cached.validate(black_box(&s.token)).await.expect("ok") })
    });
    g.bench_function("cached_20000", |b| {
        b.to_async(&s.rt).iter(|| async {
            let token = next_in_set(&s.working_set);
            s.cached.validate(black_box(token)).await.expect("ok")
        })
    });
    g.finish();
}

/// ES256 and EdDSA: `floor` and `uncached`, one group per algorithm.
fn algorithms(c: &mut Criterion, s: &Setup) {
    for (name, token, (key, message, signature)) in &s.others {
        let mut g = c.benchmark_group(format!("validation_{name}"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("floor", |b| {
            b.iter(|| assert!(key.verify(black_box(message), black_box(signature))))
        });
        g.bench_function("uncached", |b| {
            b.to_async(&s.rt).iter(|| async {
                s.uncached_others
                    .validate(black_box(token))
                    .await
                    .expect("ok")
            })
        });
        g.finish();
    }
}

fn layer(c: &mut Criterion, s: &Setup) {
    let inner = layer_rows::inner();
    let with_layer = OktaOidcLayer::new(s.cached.clone()).layer(inner);
    let request = layer_rows::bearer_request(&s.token);
    let mut g = c.benchmark_group("layer");
    g.throughput(Throughput::Elements(1));
    g.bench_function("no_layer", |b| {
        b.to_async(&s.rt).iter(|| {
            let svc = inner;
            let req = request();
            async move { svc.oneshot(req).await.expect("inner") }
        })
    });
    g.bench_function("layer", |b| {
        b.to_async(&s.rt).iter(|| {
            let svc = with_layer.clone();
            let req = request();
            async move {
                let res = svc.oneshot(req).await.expect("layer");
                assert_eq!(res.status(), 200);
                res
            }
        })
    });
    g.finish();
}

fn threads(c: &mut Criterion, s: &Setup) {
    let token = s.token.as_str();
    let rows: [(&str, Op<'_>); 3] = [
        (
            "raw",
            Arc::new(|_: &Runtime| {
                jsonwebtoken::decode::<StandardClaims>(
                    black_box(token),
                    &s.raw_key,
                    &s.raw_validation,
                )
                .expect("raw");
            }),
        ),
        (
            "uncached",
            Arc::new(|rt: &Runtime| {
                run_now(rt, s.uncached.validate(black_box(token))).expect("ok");
            }),
        ),
        (
            "cached",
            Arc::new(|rt: &Runtime| {
                run_now(rt, s.cached.validate(black_box(token))).expect("ok");
            }),
        ),
    ];
    let mut g = c.benchmark_group("threads");
    for (name, op) in &rows {
        for n in [1usize, 2] {
            g.throughput(Throughput::Elements(n as u64));
            g.bench_with_input(BenchmarkId::new(*name, n), &n, |b, &n| {
                b.iter_custom(|iters| on_threads(n, iters, op.as_ref()))
            });
        }
    }
    g.finish();
}

fn tenants(c: &mut Criterion, s: &Setup) {
    let mut g = c.benchmark_group("tenants");
    for n in [1usize, MANY_TENANTS] {
        let oidc = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenants(fixture::tenants(0..n))
            .background_refresh(false)
            .build_lazy()
            .expect("build");
        // The middle tenant's issuer; the audience is not its client id, so validation stops
        // right after the look-up (no key, no network).
        let i = n / 2;
        let token = format!(
            "{}.c2ln",
            fixture::signing_input(&format!("https://t{i:05}.okta.example"))
        );
        let id = format!("tenant-{i:05}");
        g.bench_with_input(BenchmarkId::new("by_iss", n), &n, |b, _| {
            b.to_async(&s.rt).iter(|| async {
                let err = oidc.validate(black_box(&token)).await.expect_err("aud");
                black_box(err)
            })
        });
        g.bench_with_input(BenchmarkId::new("by_id", n), &n, |b, _| {
            b.iter(|| oidc.tenant(black_box(&id)).expect("tenant"))
        });
    }
    g.finish();
}

/// The `validation*` rows interleaved (see the module docs); prints medians and ratios.
fn interleaved<'a>(s: &'a Setup) {
    let token = s.token.as_str();
    let floor_row = |name: String, (key, message, signature): &'a FloorCase| {
        Row::new(name, move |_: &Runtime| {
            assert!(key.verify(black_box(message), black_box(signature)))
        })
    };
    let (raw_key, raw_validation) = (&s.raw_key, &s.raw_validation);
    let (cached, uncached, uncached_others) = (&s.cached, &s.uncached, &s.uncached_others);
    let working_set = s.working_set.as_slice();
    let mut hot_input = Row::new("validation/cached_20000_hot_input", move |rt: &Runtime| {
        with_hot_input(working_set, |token| {
            run_now(rt, cached.validate(black_box(token))).expect("ok");
        });
    });
    hot_input.before_batch = Some(Box::new(move |n| prepare_hot_input(working_set, n)));
    let mut rows = vec![
        floor_row("validation/floor".into(), &s.floor),
        Row::new("validation/raw", move |_: &Runtime| {
            jsonwebtoken::decode::<StandardClaims>(black_box(token), raw_key, raw_validation)
                .expect("raw");
        }),
        Row::new("validation/uncached", move |rt: &Runtime| {
            run_now(rt, uncached.validate(black_box(token))).expect("ok");
        }),
        Row::new("validation/cached", move |rt: &Runtime| {
            run_now(rt, cached.validate(black_box(token))).expect("ok");
        }),
        Row::new("validation/cached_20000", move |rt: &Runtime| {
            let token = next_in_set(working_set);
            run_now(rt, cached.validate(black_box(token))).expect("ok");
        }),
        hot_input,
        Row::new("validation/cached_1000", move |rt: &Runtime| {
            let token = next_in(&NEXT_IN_1000, &working_set[..1000]);
            run_now(rt, cached.validate(black_box(token))).expect("ok");
        }),
    ];
    for (name, token, case) in &s.others {
        rows.push(floor_row(format!("validation_{name}/floor"), case));
        rows.push(Row::new(
            format!("validation_{name}/uncached"),
            move |rt: &Runtime| {
                run_now(rt, uncached_others.validate(black_box(token))).expect("ok");
            },
        ));
    }
    interleaved::keep_named(&mut rows, "interleaved");
    let backend = if cfg!(feature = "aws_lc_rs") {
        "aws_lc_rs"
    } else {
        "rust_crypto"
    };
    let m = interleaved::run(&s.rt, &rows, backend);
    m.ratio(
        "uncached / floor (throughput)",
        "validation/uncached",
        "validation/floor",
    );
    m.ratio(
        "uncached / raw (throughput)",
        "validation/uncached",
        "validation/raw",
    );
    m.ratio(
        "raw / floor (throughput)",
        "validation/raw",
        "validation/floor",
    );
    m.ratio(
        "cached / raw (throughput)",
        "validation/cached",
        "validation/raw",
    );
    for set in ["cached_20000", "cached_20000_hot_input", "cached_1000"] {
        m.ratio(
            &format!("{set} / cached (throughput)"),
            &format!("validation/{set}"),
            "validation/cached",
        );
    }
    for (name, _, _) in &s.others {
        m.ratio(
            &format!("{name}: uncached / floor (throughput)"),
            &format!("validation_{name}/uncached"),
            &format!("validation_{name}/floor"),
        );
    }
}

fn main() {
    let s = setup();
    if std::env::args().skip(1).any(|a| a == "interleaved") {
        interleaved(&s);
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .configure_from_args();
    single_thread(&mut c, &s);
    algorithms(&mut c, &s);
    layer(&mut c, &s);
    threads(&mut c, &s);
    tenants(&mut c, &s);
    c.final_summary();
}
