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
use super::signal;
use crate::middleware::credential::bearer_token;
use crate::store::RevocationKind;
use crate::verify::Expect;

const SIGNAL: &str = "Universal Logout";

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
    let expect = Expect::GlobalTokenRevocation {
        audience: &settings.universal_url,
    };
    let refused = || answer::unauthorized(Some("invalid_token"));
    let identity = match signal::verify(settings, token, expect, SIGNAL, refused).await {
        Ok(identity) => identity,
        Err(answer) => return answer,
    };
    let tenant = &identity.tenant;
    let Some(request) = body.and_then(|b| serde_json::from_slice::<RevocationRequest>(&b).ok())
    else {
        tracing::warn!(
            tenant = &*tenant.id,
            "Universal Logout request with a malformed body"
        );
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
                tracing::warn!(
                    tenant = &*tenant.id,
                    "Universal Logout for another issuer's user"
                );
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
    signal::revoke_user(
        settings,
        tenant,
        kind,
        &value,
        StatusCode::NO_CONTENT,
        SIGNAL,
        "universal_logout",
    )
    .await
}
