//! The Shared Signals push endpoint (RFC 8935; OpenID SSF 1.0, CAEP 1.0): the transmitter's
//! `Authorization` compared in constant time before anything is read, the body's one compact
//! SET through the verifier (`Expect::SecurityEvent`), then its events: `session-revoked` and
//! (by default) `credential-change` revoke the user in every tenant of the transmitter's org,
//! recorded before the answer; a `verification` event's `state` is remembered; others are
//! counted and ignored. Every answer has `Cache-Control: no-store`.

use axum_core::body::Body;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode};

use super::answer;
use super::settings::Settings;
use super::signal;
use super::ssf_config::{Count, OnCredentialChange, SsfSettings};
use super::ssf_event::{self, Event, Subject};
use crate::claims::Identity;
use crate::error::{AuthError, TokenError};
use crate::store::RevocationKind;
use crate::time::UnixTime;
use crate::verify::Expect;
use crate::verify::security_event::transmitter_tenants;

const SIGNAL: &str = "Shared Signals";
/// The media type of a pushed SET (RFC 8935 §2).
const MEDIA_TYPE: &str = "application/secevent+jwt";

/// RFC 8935 §2.4's error answer: `400` with `{"err": code, "description": text}`.
fn set_error(code: &'static str, description: &'static str) -> Response<Body> {
    let body = serde_json::json!({"err": code, "description": description}).to_string();
    let mut response = answer::empty(StatusCode::BAD_REQUEST);
    *response.body_mut() = Body::from(body);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A refusal's `INFO` line (never the token nor the `Authorization` value): at most one per
/// `reason` (a closed set: [`TokenError::reason`] and a few of the endpoint's own) a minute,
/// with how many were folded since, as the rejection log does.
fn log_refusal(
    settings: &Settings,
    ssf: &SsfSettings,
    reason: &'static str,
    err: &'static str,
    detail: &dyn std::fmt::Display,
    tenant: Option<&str>,
) {
    let now = UnixTime::now(settings.oidc.verifier().provider.clock.as_ref()).as_secs();
    let Some(folded) = ssf.admit_log(reason, now) else {
        return;
    };
    tracing::info!(
        reason,
        err,
        detail = %detail,
        tenant = tenant.unwrap_or("-"),
        folded,
        signal = SIGNAL,
        "security event refused"
    );
}

/// A refused SET: its line, then RFC 8935 §2.4's answer.
fn refuse(
    settings: &Settings,
    ssf: &SsfSettings,
    reason: &'static str,
    err: &'static str,
    detail: &dyn std::fmt::Display,
    tenant: Option<&str>,
) -> Response<Body> {
    log_refusal(settings, ssf, reason, err, detail, tenant);
    set_error(err, "The security event token was refused")
}

/// RFC 8935 §2.4's code for a token the verifier refused.
fn code_of(error: &TokenError) -> &'static str {
    match error {
        TokenError::UnknownIssuer => "invalid_issuer",
        TokenError::AudienceMismatch => "invalid_audience",
        TokenError::UnknownKey
        | TokenError::AmbiguousKey
        | TokenError::KeyAlgorithmMismatch
        | TokenError::InvalidSignature
        | TokenError::DisallowedAlgorithm => "invalid_key",
        _ => "invalid_request",
    }
}

fn is_set_media_type(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(MEDIA_TYPE))
}

pub(super) async fn handle(
    settings: &Settings,
    parts: &Parts,
    body: Option<Bytes>,
) -> Response<Body> {
    let Some(ssf) = &settings.ssf else {
        return answer::empty(StatusCode::NOT_FOUND);
    };
    // RFC 8935 §2.3: the transmitter's credential first; nothing is parsed without it.
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let authorized = match (values.next(), values.next()) {
        (Some(value), None) => ssf.authorizes(value.as_bytes()),
        _ => false,
    };
    if !authorized {
        let detail = "missing or wrong Authorization";
        log_refusal(settings, ssf, "authorization", "-", &detail, None);
        return answer::unauthorized(None);
    }
    if !is_set_media_type(parts) {
        let detail = "Content-Type is not application/secevent+jwt";
        return refuse(
            settings,
            ssf,
            "media_type",
            "invalid_request",
            &detail,
            None,
        );
    }
    let token = body
        .as_deref()
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(str::trim)
        .unwrap_or_default();
    if token.is_empty() {
        let detail = "empty or unreadable body";
        return refuse(settings, ssf, "body", "invalid_request", &detail, None);
    }
    let expect = Expect::SecurityEvent {
        audience: &ssf.audience,
        org_keys: &ssf.org_keys,
    };
    let identity = match settings.oidc.verifier().verify_jws(token, expect).await {
        Ok(identity) => identity,
        Err(AuthError::InvalidToken(e)) => {
            return refuse(settings, ssf, e.reason(), code_of(&e), &e, None);
        }
        Err(AuthError::TemporarilyUnavailable { retry_after }) => {
            return answer::unavailable(retry_after);
        }
        Err(e) => {
            tracing::warn!(reason = %e, signal = SIGNAL, "security event could not be checked");
            return answer::unavailable(None);
        }
    };
    let tenant = &*identity.tenant.id;
    let events = match ssf_event::read(&identity.raw) {
        Ok(events) => events,
        Err(why) => {
            return refuse(
                settings,
                ssf,
                "event",
                "invalid_request",
                &why,
                Some(tenant),
            );
        }
    };
    // Every subject is checked before any event is applied: a refused SET changes nothing.
    for event in &events {
        if let Event::SessionRevoked { subject, .. } | Event::CredentialChange { subject, .. } =
            event
            && let Subject::IssuerSubject { iss, .. } = subject
            && *iss != identity.claims.iss
        {
            let detail = "the subject names another issuer's user";
            return refuse(
                settings,
                ssf,
                "subject",
                "access_denied",
                &detail,
                Some(tenant),
            );
        }
    }
    // The revocations first: they name the event's time, so recording them again (a retry
    // after a 5xx, a replay) changes nothing. Then the `jti` (a replay is refused here, a retry
    // of a SET whose revocations failed is not one), then what is only noted.
    for event in &events {
        if revoke_for(settings, ssf, &identity, event).await.is_err() {
            return answer::unavailable(None);
        }
    }
    match settings
        .oidc
        .verifier()
        .use_up_security_event(&identity)
        .await
    {
        Ok(()) => {}
        Err(AuthError::InvalidToken(e)) => {
            let (reason, code) = (e.reason(), code_of(&e));
            return refuse(settings, ssf, reason, code, &e, Some(tenant));
        }
        Err(AuthError::TemporarilyUnavailable { retry_after }) => {
            return answer::unavailable(retry_after);
        }
        Err(_) => return answer::unavailable(None),
    }
    for event in events {
        note(ssf, &identity, event);
    }
    answer::empty(StatusCode::ACCEPTED)
}

/// The revocation an event asks for, recorded; `Err` when it could not be (the transmitter
/// retries).
async fn revoke_for(
    settings: &Settings,
    ssf: &SsfSettings,
    identity: &Identity,
    event: &Event,
) -> Result<(), ()> {
    match event {
        Event::SessionRevoked { subject, at } => revoke(settings, identity, subject, *at).await,
        Event::CredentialChange { subject, at, .. }
            if ssf.on_credential_change == OnCredentialChange::Revoke =>
        {
            revoke(settings, identity, subject, *at).await
        }
        _ => Ok(()),
    }
}

/// What an accepted event leaves besides revocations: its count, its log line, a
/// verification's `state`.
fn note(ssf: &SsfSettings, identity: &Identity, event: Event) {
    let tenant = &*identity.tenant.id;
    match event {
        Event::SessionRevoked { .. } => ssf.count(Count::SessionRevoked),
        Event::CredentialChange {
            change_type,
            credential_type,
            ..
        } => {
            ssf.count(Count::CredentialChange);
            tracing::info!(
                tenant,
                change_type,
                credential_type,
                signal = SIGNAL,
                "credential change"
            );
        }
        Event::Verification { state } => {
            ssf.count(Count::Verification);
            tracing::info!(tenant, signal = SIGNAL, "stream verification received");
            ssf.remember_verification(&identity.claims.iss, state.unwrap_or_default());
        }
        Event::Other => ssf.count(Count::Ignored),
    }
}

/// "Issued before the event is revoked" for the subject, in every tenant the transmitter speaks
/// for (an org can hold several instances of the app, on its org or a custom authorization
/// server). The event's time is
/// `event_timestamp`, else the SET's `iat`: a NumericDate, so the end of that second (a
/// session started in the event's own second is ended too, as a token of that second is),
/// never later than now.
async fn revoke(
    settings: &Settings,
    identity: &Identity,
    subject: &Subject,
    at: Option<i64>,
) -> Result<(), ()> {
    let verifier = settings.oidc.verifier();
    let now = UnixTime::now(verifier.provider.clock.as_ref());
    let before = at
        .or(identity.claims.iat)
        .filter(|t| *t > 0)
        .map_or(now, |t| {
            UnixTime::from_secs(t)
                .after(std::time::Duration::from_millis(999))
                .min(now)
        });
    let (kind, value) = match subject {
        Subject::IssuerSubject { sub, .. } => (RevocationKind::Subject, sub.as_str()),
        Subject::Email(email) => (RevocationKind::Email, email.as_str()),
    };
    let mut tenants: Vec<_> = transmitter_tenants(&verifier.tenants.registry, &identity.claims.iss)
        .into_iter()
        .map(|t| t.id.clone())
        .collect();
    if tenants.is_empty() {
        // Removed since it was verified: the tenant the SET was verified for, still.
        tenants.push(identity.tenant.id.clone());
    }
    for tenant in tenants {
        signal::record_user(
            settings,
            &tenant,
            kind,
            value,
            before,
            SIGNAL,
            "shared_signals",
        )
        .await?;
    }
    Ok(())
}
