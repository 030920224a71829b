//! OpenID Connect Back-Channel Logout 1.0 (§2.5–2.8): the form's `logout_token` through the
//! verifier, then "revoked before now" for its `sid` (or, without one, its `sub`) in that
//! tenant, recorded before the answer.

use axum_core::body::Body;
use bytes::Bytes;
use http::{Response, StatusCode};

use super::answer;
use super::settings::Settings;
use crate::error::AuthError;
use crate::store::RevocationKind;
use crate::time::UnixTime;
use crate::verify::Expect;

fn bad_request(description: &str) -> Response<Body> {
    answer::error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// The one `logout_token` of a form body.
fn logout_token(body: &[u8]) -> Option<String> {
    let mut tokens = url::form_urlencoded::parse(body).filter(|(k, _)| k == "logout_token");
    match (tokens.next(), tokens.next()) {
        (Some((_, token)), None) if !token.is_empty() => Some(token.into_owned()),
        _ => None,
    }
}

pub(super) async fn handle(settings: &Settings, body: Option<Bytes>) -> Response<Body> {
    let Some(token) = body.as_deref().and_then(logout_token) else {
        return bad_request("The form must hold one logout_token");
    };
    let verifier = settings.oidc.verifier();
    let identity = match verifier.verify_jws(&token, Expect::LogoutToken).await {
        Ok(identity) => identity,
        Err(AuthError::InvalidToken(reason)) => {
            tracing::warn!(reason = %reason, "back-channel logout token refused");
            return bad_request("The logout token is not valid");
        }
        Err(AuthError::TemporarilyUnavailable { retry_after }) => {
            return answer::unavailable(retry_after);
        }
        Err(e) => {
            tracing::warn!(reason = %e, "back-channel logout token could not be checked");
            return answer::unavailable(None);
        }
    };
    let tenant = &identity.tenant;
    let claims = &identity.claims;
    // With a `sid`, that provider session ends (§2.7); otherwise every session of `sub`.
    let (kind, value) = match claims.sid.as_deref().filter(|s| !s.is_empty()) {
        Some(sid) => (RevocationKind::Sid, sid),
        None => (RevocationKind::Subject, claims.sub.as_str()),
    };
    let revocations = &verifier.revocations;
    let now = UnixTime::now(verifier.provider.clock.as_ref());
    let revocation = revocations.user_wide(kind, &tenant.id, value, now);
    match revocations.record(&revocation).await {
        Ok(()) => {
            tracing::info!(tenant = %tenant.id, kind = ?kind, "back-channel logout: signed out");
            answer::empty(StatusCode::OK)
        }
        Err(e) => {
            tracing::error!(tenant = %tenant.id, error = %e, "back-channel logout could not be recorded");
            answer::unavailable(None)
        }
    }
}
