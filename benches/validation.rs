//! Validation benchmarks, side by side in one run (see BENCHMARKS.md for figures and method).
//!
//! All rows validate the same RS256 token (`benches/common/fixture.rs`) with the same key:
//!
//! - `validation/raw`: `jsonwebtoken::decode` with a prepared `DecodingKey` and `Validation`
//!   (iss, aud, exp with the same leeway): the floor, one RSA-2048 signature check;
//! - `validation/uncached`: `OktaOidc::validate` with the token cache turned off (every call is
//!   a cache miss: parse, tenant, rules, key, signature);
//! - `validation/cached`: `OktaOidc::validate` of a token seen before;
//! - `layer/no_layer` vs `layer/layer`: one `tower::Service` call of a trivial inner service,
//!   without and with `OktaOidcLayer` (cached token in `Authorization: Bearer`);
//! - `threads/<row>/<n>`: the same rows on 1 and 2 OS threads at once (throughput in
//!   elements/s, one element per validation; compare `/2` with `/1` for scaling);
//! - `dpop/layer_cached_token_fresh_proof`: one `tower::Service` call with `OktaOidcLayer` of a
//!   DPoP-bound token already in the token cache, with a fresh ES256 proof each time (made
//!   outside the timing): the cost of DPoP is the proof (parse, one ES256 signature check,
//!   claims, replay marker); `dpop/layer_cached_token_same_proof` the same with one proof sent
//!   again and again to a replay store that accepts everything (no proof signing between
//!   calls: warm caches); `dpop/es256_verify`: that one signature check alone;
//! - `tenants/by_iss/<n>`: the tenant look-up by unverified `iss` (parse, registry, tenant
//!   choice; the token is then refused for its audience, so no key or network is involved)
//!   with 1 and 10,000 registered tenants; `tenants/by_id/<n>`: `OktaOidc::tenant(id)`.
//!
//! - `revocation_mirror/off` vs `revocation_mirror/on`: `OktaOidc::validate` of a cached token
//!   with revocation checks off, and on with 10,000 revocations of other users in the mirror
//!   (side by side in one run: the hit costs one atomic load more).
//!
//! Memory per tenant is measured by `benches/memory.rs` (a counting allocator, kept out of
//! this binary so it never touches the timings).
//!
//! Keys come from the in-process mock Okta over HTTP; everything is warmed up before
//! measuring, and background key refresh is off, so only validation is measured.

#[path = "common/fixture.rs"]
mod fixture;
#[path = "common/threads.rs"]
mod threads;

use std::convert::Infallible;
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use threads::{on_threads, run_now};

use axum::body::Body;
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Validation};
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{
    Dpop, MemoryProofReplay, OktaOidc, OktaOidcLayer, ProtectedResource, StandardClaims, Tenant,
};
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt};

const LEEWAY_SECS: u64 = 120;
const MANY_TENANTS: usize = 10_000;

struct Setup {
    rt: Runtime,
    okta: MockOkta,
    token: String,
    cached: OktaOidc,
    uncached: OktaOidc,
    raw_key: DecodingKey,
    raw_validation: Validation,
}

fn sign(input: &[u8]) -> String {
    let key = EncodingKey::from_rsa_pem(fixture::PRIVATE_PEM.as_bytes()).expect("fixture key");
    jsonwebtoken::crypto::sign(input, &key, Algorithm::RS256).expect("signing")
}

fn setup() -> Setup {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let okta = rt.block_on(MockOkta::start());
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
    let raw_key = DecodingKey::from_rsa_pem(fixture::PUBLIC_PEM.as_bytes()).expect("public key");
    let mut raw_validation = Validation::new(Algorithm::RS256);
    raw_validation.set_issuer(&[&issuer]);
    raw_validation.set_audience(&[fixture::AUDIENCE]);
    raw_validation.leeway = LEEWAY_SECS;
    let s = Setup {
        rt,
        okta,
        token,
        cached,
        uncached,
        raw_key,
        raw_validation,
    };
    // Warm up and check that every path accepts the token.
    jsonwebtoken::decode::<StandardClaims>(&s.token, &s.raw_key, &s.raw_validation).expect("raw");
    for oidc in [&s.cached, &s.uncached] {
        let claims = s.rt.block_on(oidc.validate(&s.token)).expect("validate");
        assert_eq!(claims.sub, "00u1benchuser");
    }
    s
}

fn single_thread(c: &mut Criterion, s: &Setup) {
    let mut g = c.benchmark_group("validation");
    g.throughput(Throughput::Elements(1));
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
    g.finish();
}

fn layer(c: &mut Criterion, s: &Setup) {
    let inner = tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let with_layer = OktaOidcLayer::new(s.cached.clone()).layer(inner);
    let auth = HeaderValue::from_str(&format!("Bearer {}", s.token)).expect("header");
    let request = || {
        Request::builder()
            .uri("/api/me")
            .header(AUTHORIZATION, auth.clone())
            .body(Body::empty())
            .expect("request")
    };
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

/// The URI of the DPoP rows' request, as clients reach it.
const DPOP_URI: &str = "https://api.example.com/api/me";

fn dpop(c: &mut Criterion, s: &Setup) {
    let issuer = s.okta.issuer();
    let oidc =
        s.rt.block_on(
            OktaOidc::builder()
                .allow_loopback_http(true)
                .tenant(Tenant::new("bench", issuer).client_id(fixture::AUDIENCE))
                .leeway(Duration::from_secs(LEEWAY_SECS))
                .background_refresh(false)
                .protected_resource(ProtectedResource::new("https://api.example.com"))
                .dpop(Dpop::new().replay_store(MemoryProofReplay::new(1_000_000)))
                .build(),
        )
        .expect("dpop build");
    let key = DpopKey::es256();
    let token = s.okta.id_token().bound_to(&key).build();
    let inner = tower::service_fn(|_req: Request<Body>| async {
        Ok::<_, Infallible>(Response::new(Body::empty()))
    });
    let service = OktaOidcLayer::new(oidc).layer(inner);
    let auth = HeaderValue::from_str(&format!("DPoP {token}")).expect("header");
    let ath = DpopKey::ath(&token);
    let request = || {
        let proof = key.proof("GET", DPOP_URI).claim("ath", &ath).build();
        Request::builder()
            .uri("/api/me")
            .header(AUTHORIZATION, auth.clone())
            .header("dpop", proof)
            .body(Body::empty())
            .expect("request")
    };
    let call = |req: Request<Body>| {
        let svc = service.clone();
        async move {
            let res = svc.oneshot(req).await.expect("layer");
            assert_eq!(res.status(), 200);
            res
        }
    };
    // Warm-up: the token is verified once, then served from the cache.
    s.rt.block_on(call(request()));
    let proof = key.proof("GET", DPOP_URI).claim("ath", &ath).build();
    let (message, signature) = proof.rsplit_once('.').expect("three segments");
    let jwk = key.public_jwk();
    let es256 = DecodingKey::from_ec_components(
        jwk["x"].as_str().expect("x"),
        jwk["y"].as_str().expect("y"),
    )
    .expect("P-256 key");
    let mut g = c.benchmark_group("dpop");
    g.throughput(Throughput::Elements(1));
    g.bench_function("layer_cached_token_fresh_proof", |b| {
        b.to_async(&s.rt)
            .iter_batched(request, call, BatchSize::SmallInput)
    });
    let same_proof = OktaOidcLayer::new(same_proof_oidc(s)).layer(inner);
    let (parts, ()) = request().map(|_| ()).into_parts();
    let warm = s.rt.block_on(call_with(&same_proof, &parts));
    assert_eq!(
        warm.status(),
        200,
        "the same-proof row measures an accepted request"
    );
    g.bench_function("layer_cached_token_same_proof", |b| {
        b.to_async(&s.rt).iter(|| call_with(&same_proof, &parts))
    });
    g.bench_function("es256_verify", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::verify(
                black_box(signature),
                message.as_bytes(),
                &es256,
                Algorithm::ES256,
            )
            .expect("verify")
        })
    });
    g.finish();
}

/// A replay store that takes every proof for new: only for the same-proof row.
struct AcceptEveryProof;

impl okta_oidc::ProofReplay for AcceptEveryProof {
    fn first_use<'a>(&'a self, _key: &'a str, _ttl: Duration) -> okta_oidc::ReplayFuture<'a> {
        Box::pin(std::future::ready(Ok(true)))
    }
}

fn same_proof_oidc(s: &Setup) -> OktaOidc {
    s.rt.block_on(
        OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(Tenant::new("bench", s.okta.issuer()).client_id(fixture::AUDIENCE))
            .leeway(Duration::from_secs(LEEWAY_SECS))
            .background_refresh(false)
            .protected_resource(ProtectedResource::new("https://api.example.com"))
            .dpop(Dpop::new().replay_store(AcceptEveryProof))
            .build(),
    )
    .expect("same-proof build")
}

async fn call_with<S, B>(service: &S, parts: &http::request::Parts) -> Response<B>
where
    S: tower::Service<Request<Body>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
{
    let request = Request::from_parts(parts.clone(), Body::empty());
    service.clone().oneshot(request).await.expect("layer")
}

/// One validation, run on the calling thread with its runtime.
type Op<'a> = Arc<dyn Fn(&Runtime) + Send + Sync + 'a>;

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

/// The cached-token path with the revocation mirror off and on, side by side.
fn revocation_mirror(c: &mut Criterion, s: &Setup) {
    use okta_oidc::store::{MemoryStore, Revocation, RevocationKind, RevocationStore};
    let tenant = Tenant::new("bench", s.okta.issuer()).client_id(fixture::AUDIENCE);
    let store = MemoryStore::new();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    s.rt.block_on(async {
        for i in 0..10_000 {
            let other = Revocation::new(
                RevocationKind::Subject,
                "bench",
                format!("00uother{i}"),
                now_ms,
                now_ms + 3_600_000,
            );
            store.record(&other).await.expect("memory store");
        }
    });
    let build = |checks: bool, store: MemoryStore| {
        s.rt.block_on(
            OktaOidc::builder()
                .allow_loopback_http(true)
                .tenant(tenant.clone())
                .leeway(Duration::from_secs(LEEWAY_SECS))
                .background_refresh(false)
                .revocation_store(store)
                .revocation_checks(checks)
                .build(),
        )
        .expect("build")
    };
    let off = build(false, MemoryStore::new());
    let on = build(true, store);
    for oidc in [&off, &on] {
        s.rt.block_on(oidc.validate(&s.token)).expect("validate");
    }
    alternating_ratio(s, &off, &on);
    let mut g = c.benchmark_group("revocation_mirror");
    g.throughput(Throughput::Elements(1));
    for (name, oidc) in [("off", &off), ("on", &on)] {
        g.bench_function(name, |b| {
            b.to_async(&s.rt)
                .iter(|| async { oidc.validate(black_box(&s.token)).await.expect("ok") })
        });
    }
    g.finish();
}

/// The cached-token path with the mirror off and on, timed in alternating rounds (which goes
/// first swaps every round) so that the machine's drift hits both alike; prints the medians
/// and the throughput ratio on/off.
fn alternating_ratio(s: &Setup, off: &OktaOidc, on: &OktaOidc) {
    const ROUNDS: usize = 31;
    const PER_ROUND: u32 = 50_000;
    let time = |oidc: &OktaOidc| {
        let start = std::time::Instant::now();
        for _ in 0..PER_ROUND {
            run_now(&s.rt, oidc.validate(black_box(&s.token))).expect("ok");
        }
        start.elapsed() / PER_ROUND
    };
    let (mut t_off, mut t_on) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            t_off.push(time(off));
            t_on.push(time(on));
        } else {
            t_on.push(time(on));
            t_off.push(time(off));
        }
    }
    t_off.sort();
    t_on.sort();
    let (m_off, m_on) = (t_off[ROUNDS / 2], t_on[ROUNDS / 2]);
    println!(
        "revocation_mirror alternating: off {m_off:?}/op, on {m_on:?}/op (medians of {ROUNDS} \
         rounds x {PER_ROUND}); throughput on/off = {:.3}",
        m_off.as_secs_f64() / m_on.as_secs_f64()
    );
}

fn main() {
    let s = setup();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .configure_from_args();
    single_thread(&mut c, &s);
    layer(&mut c, &s);
    dpop(&mut c, &s);
    threads(&mut c, &s);
    tenants(&mut c, &s);
    revocation_mirror(&mut c, &s);
    c.final_summary();
}
