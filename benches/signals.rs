//! The rows of the second wave's features, side by side with the pipeline's own
//! (see BENCHMARKS.md for figures and method):
//!
//! - `dpop/layer_cached_token_fresh_proof`, `dpop/layer_cached_token_same_proof` and
//!   `dpop/es256_verify`: a DPoP-bound request through the layer (cached token, a fresh proof
//!   each time, or the same one) against one ES256 check alone;
//! - `revocation_mirror/off` vs `revocation_mirror/on`: `OktaOidc::validate` of a cached token
//!   with revocation checks off, and on with 10,000 revocations of other users in the mirror
//!   (printed first: medians of alternating rounds, then the criterion rows).

#[path = "common/fixture.rs"]
mod fixture;
#[path = "common/threads.rs"]
mod threads;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;
use threads::run_now;

use axum::body::Body;
use criterion::{BatchSize, Criterion, Throughput};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{Dpop, MemoryProofReplay, OktaOidc, OktaOidcLayer, ProtectedResource, Tenant};
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt};

const LEEWAY_SECS: u64 = 120;

struct Setup {
    rt: Runtime,
    okta: MockOkta,
    token: String,
}

fn setup() -> Setup {
    let rt = threads::bench_runtime();
    let okta = rt.block_on(MockOkta::start());
    let token = fixture::token(&okta.issuer(), |input| {
        let key = EncodingKey::from_rsa_pem(fixture::PRIVATE_PEM.as_bytes()).expect("fixture key");
        jsonwebtoken::crypto::sign(input, &key, Algorithm::RS256).expect("signing")
    });
    Setup { rt, okta, token }
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
    // jsonwebtoken's verify decodes the key from its coordinates on every call; the floor is a
    // key parsed once, like the crate's own.
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
    dpop(&mut c, &s);
    revocation_mirror(&mut c, &s);
    c.final_summary();
}
