//! The spans, through OpenTelemetry (feature `opentelemetry`): an in-memory exporter behind
//! `tracing-opentelemetry`, a real app on 127.0.0.1 and the real mock Okta. A key-set fetch
//! that a request waits for is a child of that request's `okta_oidc.authenticate` span, and the
//! mock sees its W3C `traceparent` (Trace Context §3.2: `00-{trace-id}-{parent-id}-{flags}`).

use okta_oidc::testing::{Endpoint, Fault};
use opentelemetry::trace::{SpanKind, Status, TracerProvider as _};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

use crate::common::{Stack, builder_for};

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|KeyValue { key: k, .. }| k.as_str() == key)
        .map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key)
        .map(|v| v.as_str().into_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_key_fetch_is_traced_inside_the_request_that_waited_for_it() {
    // Built before tracing starts: the warm-up fetch carries no trace context.
    let mock = okta_oidc::testing::MockOkta::start().await;
    let oidc = builder_for(&mock)
        .background_refresh(false)
        .build()
        .await
        .unwrap();
    let stack = Stack::with(mock, oidc).await;
    assert!(stack.mock.traceparents().is_empty());

    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("okta-oidc-test")));
    let _guard = tracing::subscriber::set_default(subscriber);

    // A token signed with a key the cached set lacks: the request waits for a refetch.
    stack.mock.rotate_keys();
    let token = stack.mock.access_token().build();
    assert_eq!(stack.status(&token).await, 200);
    // The introspection endpoint failing: the call's span says why.
    stack
        .mock
        .set_fault(Endpoint::Introspect, Fault::Status(500));
    let opaque = stack.mock.opaque_token(json!({"scope": "openid"}));
    assert_eq!(stack.status(&opaque).await, 503);

    let spans = exporter.get_finished_spans().unwrap();
    let authenticate: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "okta_oidc.authenticate")
        .collect();
    assert_eq!(authenticate.len(), 2, "one span per authentication");
    let accepted = authenticate[0];
    assert_eq!(text(accepted, "tenant"), "mock");
    assert_eq!(text(accepted, "scheme"), "bearer");
    assert_eq!(text(accepted, "outcome"), "accepted");
    assert_eq!(text(accepted, "reason"), "ok");
    let unavailable = authenticate[1];
    assert_eq!(text(unavailable, "outcome"), "unavailable");
    assert_eq!(text(unavailable, "reason"), "unavailable");
    assert!(matches!(unavailable.status, Status::Error { .. }));

    // The key-set call: a client span, child of the first authentication, with the HTTP
    // client attributes (OpenTelemetry semantic conventions, HTTP client spans).
    let key_set = spans
        .iter()
        .find(|s| text(s, "okta_oidc.call") == "key_set")
        .expect("a key_set call span");
    assert_eq!(key_set.name, "GET");
    assert_eq!(key_set.span_kind, SpanKind::Client);
    assert_eq!(
        key_set.span_context.trace_id(),
        accepted.span_context.trace_id()
    );
    assert_eq!(key_set.parent_span_id, accepted.span_context.span_id());
    assert_eq!(text(key_set, "http.request.method"), "GET");
    assert_eq!(text(key_set, "server.address"), "127.0.0.1");
    assert_eq!(text(key_set, "url.full"), stack.mock.url("/oauth2/v1/keys"));
    assert_eq!(
        attribute(key_set, "http.response.status_code"),
        Some(&Value::I64(200))
    );

    // What the mock saw: the key-set call's traceparent.
    let expected = format!(
        "00-{}-{}-01",
        key_set.span_context.trace_id(),
        key_set.span_context.span_id()
    );
    let seen = stack.mock.traceparents();
    assert!(
        seen.contains(&("/oauth2/v1/keys".to_owned(), expected.clone())),
        "{seen:?} lacks {expected}"
    );

    let introspection = spans
        .iter()
        .find(|s| text(s, "okta_oidc.call") == "introspection")
        .expect("an introspection call span");
    assert_eq!(introspection.name, "POST");
    assert_eq!(
        introspection.span_context.trace_id(),
        unavailable.span_context.trace_id()
    );
    assert_eq!(
        attribute(introspection, "http.response.status_code"),
        Some(&Value::I64(500))
    );
    assert_eq!(text(introspection, "error.type"), "500");
    assert!(matches!(introspection.status, Status::Error { .. }));
    assert!(
        seen.iter().any(|(path, _)| path == "/oauth2/v1/introspect"),
        "the introspection call carried a traceparent"
    );
}
