//! OpenID Connect Back-Channel Logout 1.0 (§2.5–2.8): the form's `logout_token` through the
//! verifier, then "revoked before now" for its `sid` (or, without one, its `sub`) in that
//! tenant, recorded before the answer.

use axum_core::body::Body;
use bytes::Bytes;
use http::{Response, StatusCode};

use super::answer;
use super::settings::Settings;
use super::signal;
use crate::store::RevocationKind;
use crate::verify::Expect;

const SIGNAL: &str = "back-channel logout";

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
    let identity = match signal::verify(settings, &token, Expect::LogoutToken, SIGNAL, || {
        bad_request("The logout token is not valid")
    })
    .await
    {
        Ok(identity) => identity,
        Err(answer) => return answer,
    };
    let claims = &identity.claims;
    // With a `sid`, that provider session ends (§2.7); otherwise every session of `sub`.
    let (kind, value) = match claims.sid.as_deref().filter(|s| !s.is_empty()) {
        Some(sid) => (RevocationKind::Sid, sid),
        None => (RevocationKind::Subject, claims.sub.as_str()),
    };
    signal::revoke_user(
        settings,
        &identity.tenant,
        kind,
        value,
        StatusCode::OK,
        SIGNAL,
        "backchannel_logout",
    )
    .await
}
