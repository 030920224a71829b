//! What observability costs, side by side in one run (BENCHMARKS.md, "Observability"):
//!
//! - `cached` / `cached_recorder`: the layer answering a token from the verified-token cache,
//!   without a metrics recorder, then with `metrics-exporter-prometheus`'s recorder installed
//!   (the counter handle made once; one hit in 64 timed). Target: ≥ 0.95 × without.
//! - `uncached` / `uncached_otel`: the layer verifying the token every time (token cache off:
//!   the signature check, one `okta_oidc.authenticate` span), without a tracing subscriber, then
//!   with `tracing-opentelemetry` exporting every span to an in-memory exporter.
//!
//! `cargo bench --bench observability --features metrics,opentelemetry`

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use criterion::{Criterion, Throughput};
use http::Request;
use okta_oidc::testing::MockOkta;
use okta_oidc::{OktaOidc, OktaOidcLayer, Tenant};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

type Inner = tower::util::ServiceFn<
    fn(Request<Body>) -> std::future::Ready<Result<http::Response<Body>, std::convert::Infallible>>,
>;

fn inner() -> Inner {
    fn ok(
        _: Request<Body>,
    ) -> std::future::Ready<Result<http::Response<Body>, std::convert::Infallible>> {
        std::future::ready(Ok(http::Response::new(Body::empty())))
    }
    tower::service_fn(ok as fn(_) -> _)
}

fn request(token: &str) -> Request<Body> {
    Request::get("/api/me")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .expect("request")
}

async fn call(layer: &OktaOidcLayer, token: &str) {
    let response = layer.clone().layer(inner()).oneshot(request(token)).await;
    assert_eq!(response.expect("layer").status(), 200);
}

fn build(rt: &Runtime, okta: &MockOkta, cache: bool) -> OktaOidcLayer {
    let tenant = Tenant::new("bench", okta.issuer())
        .client(okta.client_id(), okta.client_secret())
        .audience("api://default");
    let mut builder = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant)
        .background_refresh(false);
    if !cache {
        builder = builder.disable_token_cache();
    }
    OktaOidcLayer::new(rt.block_on(builder.build()).expect("build"))
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let okta = rt.block_on(MockOkta::start());
    let token = okta.access_token().expires_in(24 * 3600).build();

    // Without a recorder: its handles are made (empty) by the first request, before one is
    // installed; then the process's recorder, and a handle made on it.
    let plain = build(&rt, &okta, true);
    let uncached = build(&rt, &okta, false);
    for layer in [&plain, &uncached] {
        rt.block_on(call(layer, &token));
    }
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).expect("the only recorder");
    let recorded = build(&rt, &okta, true);
    for _ in 0..128 {
        rt.block_on(call(&recorded, &token));
    }
    assert!(handle.render().contains("okta_oidc_requests_total"));

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
        .configure_from_args();
    let mut g = c.benchmark_group("observability");
    g.throughput(Throughput::Elements(1));
    g.bench_function("cached", |b| b.to_async(&rt).iter(|| call(&plain, &token)));
    g.bench_function("cached_recorder", |b| {
        b.to_async(&rt).iter(|| call(&recorded, &token))
    });
    g.bench_function("uncached", |b| {
        b.to_async(&rt).iter(|| call(&uncached, &token))
    });
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("bench")));
    let calls = AtomicUsize::new(0);
    tracing::subscriber::with_default(subscriber, || {
        g.bench_function("uncached_otel", |b| {
            b.to_async(&rt).iter(|| {
                if calls.fetch_add(1, Ordering::Relaxed).is_multiple_of(1024) {
                    exporter.reset();
                }
                call(&uncached, &token)
            })
        });
    });
    assert!(!exporter.get_finished_spans().expect("spans").is_empty());
    g.finish();
    c.final_summary();
    // Keep the Prometheus text's histograms drained (the exporter's upkeep, by hand).
    handle.run_upkeep();
}
