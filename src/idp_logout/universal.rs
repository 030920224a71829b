//! Okta's Universal Logout call (a global token revocation request): the signed JWT through
//! the verifier, the subject of the JSON body, then "revoked before now" for that user in that
//! tenant, recorded before the answer.

use axum_core::body::Body;
use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use serde::Deserialize;

use super::answer;
use super::settings::Settings;
use crate::error::AuthError;
use crate::middleware::credential::bearer_token;
use crate::store::RevocationKind;
use crate::time::UnixTime;
use crate::verify::Expect;

/// The request body: the user as an RFC 9493 subject identifier. Okta's documents called the
/// property `subject` until mid-2025: both are accepted.
#[derive(Deserialize)]
struct RevocationRequest {
    #[serde(alias = "subject")]
    sub_id: SubjectId,
}

#[derive(Deserialize)]
#[serde(tag = "format")]
enum SubjectId {
    #[serde(rename = "email")]
    Email { email: String },
    #[serde(rename = "iss_sub")]
    IssuerSubject { iss: String, sub: String },
}

pub(super) async fn handle(
    settings: &Settings,
    parts: &Parts,
    body: Option<Bytes>,
) -> Response<Body> {
    let token = match bearer_token(&parts.headers) {
        Ok(Some(token)) => token,
        Ok(None) => return answer::unauthorized(None),
        Err(_) => {
            return answer::error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "Bad Authorization header",
            );
        }
    };
    let verifier = settings.oidc.verifier();
    let expect = Expect::GlobalTokenRevocation {
        audience: &settings.universal_url,
    };
    let identity = match verifier.verify_jws(token, expect).await {
        Ok(identity) => identity,
        Err(AuthError::InvalidToken(reason)) => {
            tracing::warn!(reason = %reason, "Universal Logout request refused");
            return answer::unauthorized(Some("invalid_token"));
        }
        Err(AuthError::TemporarilyUnavailable { retry_after }) => {
            return answer::unavailable(retry_after);
        }
        Err(e) => {
            tracing::warn!(reason = %e, "Universal Logout request could not be checked");
            return answer::unavailable(None);
        }
    };
    let tenant = &identity.tenant;
    let Some(request) = body.and_then(|b| serde_json::from_slice::<RevocationRequest>(&b).ok())
    else {
        tracing::warn!(tenant = %tenant.id, "Universal Logout request with a malformed body");
        return answer::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The body must name the user: sub_id with format email or iss_sub",
        );
    };
    let (kind, value) = match request.sub_id {
        SubjectId::Email { email } if email.contains('@') => (RevocationKind::Email, email),
        SubjectId::IssuerSubject { iss, sub } if !sub.is_empty() => {
            // An email is not unique across orgs, and neither is a subject: only this tenant's.
            if iss != *tenant.issuer {
                tracing::warn!(tenant = %tenant.id, "Universal Logout for another issuer's user");
                return answer::error(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    "The subject's issuer is not the one that signed the request",
                );
            }
            (RevocationKind::Subject, sub)
        }
        _ => {
            return answer::error(StatusCode::BAD_REQUEST, "invalid_request", "Empty subject");
        }
    };
    let revocations = &verifier.revocations;
    let now = UnixTime::now(verifier.provider.clock.as_ref());
    let revocation = revocations.user_wide(kind, &tenant.id, &value, now);
    match revocations.record(&revocation).await {
        Ok(()) => {
            tracing::info!(tenant = %tenant.id, kind = ?kind, "Universal Logout: user signed out");
            answer::empty(StatusCode::NO_CONTENT)
        }
        Err(e) => {
            tracing::error!(tenant = %tenant.id, error = %e, "Universal Logout could not be recorded");
            answer::unavailable(None)
        }
    }
}
