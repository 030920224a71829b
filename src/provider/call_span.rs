//! One call to the identity provider in an `okta_oidc.call` span with OpenTelemetry's HTTP client
//! attributes (`http.request.method`, `server.address`, `server.port`, `url.full` without query,
//! `http.response.status_code`, `error.type`). With feature `opentelemetry`, the call carries a
//! W3C `traceparent` (and `tracestate`) naming that span, so the provider's side of a slow
//! key-set fetch sits in the trace of the request that waited for it.

use tracing::field::Empty;

use super::unreachable::Unreachable;

/// The call to the provider a span stands for (`okta_oidc.call` attribute).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallKind {
    /// The discovery document.
    Discovery,
    /// The key set (`jwks_uri`).
    KeySet,
    /// Token introspection (RFC 7662).
    Introspection,
    /// The token endpoint (code exchange).
    Token,
    /// The userinfo endpoint.
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    Userinfo,
    /// The Shared Signals transmitter's configuration and stream API.
    SsfStream,
}

impl CallKind {
    fn as_str(self) -> &'static str {
        match self {
            CallKind::Discovery => "discovery",
            CallKind::KeySet => "key_set",
            CallKind::Introspection => "introspection",
            CallKind::Token => "token",
            CallKind::Userinfo => "userinfo",
            CallKind::SsfStream => "ssf_stream",
        }
    }
}

/// Sends a request to the identity provider inside an `okta_oidc.call` span (a child of the
/// current one): method, server, URL without query, status code or error type, and the
/// `traceparent` of that span.
pub(crate) async fn send(
    kind: CallKind,
    builder: reqwest::RequestBuilder,
) -> Result<reqwest::Response, reqwest::Error> {
    use tracing::Instrument;
    let (client, request) = builder.build_split();
    #[cfg_attr(not(feature = "opentelemetry"), allow(unused_mut))]
    let mut request = request?;
    let url = request.url();
    let mut full = url.clone();
    full.set_query(None);
    full.set_fragment(None);
    let _ = full.set_username("");
    let _ = full.set_password(None);
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!(
        "okta_oidc.call",
        otel.name = %method,
        otel.kind = "client",
        otel.status_code = Empty,
        okta_oidc.call = kind.as_str(),
        http.request.method = %method,
        server.address = url.host_str().unwrap_or(""),
        server.port = i64::from(url.port_or_known_default().unwrap_or(0)),
        url.full = full.as_str(),
        http.response.status_code = Empty,
        error.type = Empty,
    );
    #[cfg(feature = "opentelemetry")]
    inject_trace_context(&span, request.headers_mut());
    let result = client.execute(request).instrument(span.clone()).await;
    match &result {
        Ok(response) => {
            let status = response.status();
            span.record("http.response.status_code", i64::from(status.as_u16()));
            if status.as_u16() >= 400 {
                span.record("error.type", status.as_str());
                span.record("otel.status_code", "error");
            }
        }
        Err(e) => {
            span.record("error.type", Unreachable::of(e).code());
            span.record("otel.status_code", "error");
        }
    }
    result
}

/// `traceparent` (W3C Trace Context §3.2) and `tracestate` of `span`'s OpenTelemetry context,
/// when it has a valid one.
#[cfg(feature = "opentelemetry")]
fn inject_trace_context(span: &tracing::Span, headers: &mut http::HeaderMap) {
    use opentelemetry::trace::TraceContextExt;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let context = span.context();
    let otel = context.span();
    let span_context = otel.span_context();
    if !span_context.is_valid() {
        return;
    }
    let traceparent = format!(
        "00-{}-{}-{:02x}",
        span_context.trace_id(),
        span_context.span_id(),
        span_context.trace_flags().to_u8()
    );
    if let Ok(value) = http::HeaderValue::try_from(traceparent) {
        headers.insert("traceparent", value);
    }
    let state = span_context.trace_state().header();
    if !state.is_empty()
        && let Ok(value) = http::HeaderValue::try_from(state)
    {
        headers.insert("tracestate", value);
    }
}
