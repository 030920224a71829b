//! The steps both logout endpoints share: the signal's JWT through the verifier, and "revoked
//! before now" for a user recorded in the store before the answer.

use std::sync::Arc;

use axum_core::body::Body;
use http::{Response, StatusCode};

use super::answer;
use super::settings::Settings;
use crate::claims::{Identity, TenantRef};
use crate::error::AuthError;
use crate::store::RevocationKind;
use crate::telemetry::metrics;
use crate::time::UnixTime;
use crate::verify::Expect;

/// The identity of a verified signal, or the answer: `refused` for an invalid token, `503`
/// (with `Retry-After`) when it cannot be checked or its `jti` cannot be recorded.
pub(super) async fn verify(
    settings: &Settings,
    token: &str,
    expect: Expect<'_>,
    what: &'static str,
    refused: fn() -> Response<Body>,
) -> Result<Arc<Identity>, Response<Body>> {
    match settings.oidc.verifier().verify_jws(token, expect).await {
        Ok(identity) => Ok(identity),
        Err(AuthError::InvalidToken(reason)) => {
            tracing::warn!(reason = %reason, signal = what, "logout signal refused");
            Err(refused())
        }
        Err(AuthError::TemporarilyUnavailable { retry_after }) => {
            Err(answer::unavailable(retry_after))
        }
        Err(e) => {
            tracing::warn!(reason = %e, signal = what, "logout signal could not be checked");
            Err(answer::unavailable(None))
        }
    }
}

/// Records "credentials issued before now are revoked" for `value` of `kind` in `tenant`, then
/// answers `ok`; `503` (never `ok`) when the store cannot record it.
pub(super) async fn revoke_user(
    settings: &Settings,
    tenant: &TenantRef,
    kind: RevocationKind,
    value: &str,
    ok: StatusCode,
    what: &'static str,
    source: &'static str,
) -> Response<Body> {
    let verifier = settings.oidc.verifier();
    let now = UnixTime::now(verifier.provider.clock.as_ref());
    match record_user(settings, &tenant.id, kind, value, now, what, source).await {
        Ok(()) => answer::empty(ok),
        Err(()) => answer::unavailable(None),
    }
}

/// Records "credentials issued before `before` are revoked" for `value` of `kind` in the
/// tenant `tenant_id`; `Err` (logged) when the store cannot record it.
pub(super) async fn record_user(
    settings: &Settings,
    tenant_id: &str,
    kind: RevocationKind,
    value: &str,
    before: UnixTime,
    what: &'static str,
    source: &'static str,
) -> Result<(), ()> {
    let revocations = &settings.oidc.verifier().revocations;
    let revocation = revocations.user_wide(kind, tenant_id, value, before);
    match revocations.record(&revocation).await {
        Ok(()) => {
            metrics::revocation(source);
            tracing::info!(tenant = tenant_id, kind = ?kind, signal = what, "user signed out");
            Ok(())
        }
        Err(e) => {
            tracing::error!(
                tenant = tenant_id,
                error = %e,
                signal = what,
                "logout signal could not be recorded"
            );
            Err(())
        }
    }
}
