//! The span of one authentication (`okta_oidc.authenticate`: tenant, scheme, outcome, reason),
//! shaped for OpenTelemetry. The spans of calls to the identity provider:
//! `provider/call_span.rs`.

use tracing::Span;
use tracing::field::Empty;

/// The span of one authentication; [`record_decision`] fills it in.
pub(crate) fn authenticate_span() -> Span {
    tracing::info_span!(
        "okta_oidc.authenticate",
        otel.name = "okta_oidc.authenticate",
        otel.status_code = Empty,
        tenant = Empty,
        scheme = Empty,
        outcome = Empty,
        reason = Empty,
    )
}

/// What was decided, on the authentication span.
pub(crate) fn record_decision(
    span: &Span,
    tenant: Option<&str>,
    scheme: &'static str,
    outcome: &'static str,
    reason: &'static str,
) {
    if span.is_disabled() {
        return;
    }
    if let Some(tenant) = tenant {
        span.record("tenant", tenant);
    }
    span.record("scheme", scheme);
    span.record("outcome", outcome);
    span.record("reason", reason);
    if outcome == "unavailable" {
        span.record("otel.status_code", "error");
    }
}
