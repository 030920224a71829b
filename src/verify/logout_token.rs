//! The rules of an OpenID Connect Back-Channel Logout 1.0 logout token (§2.4, validation
//! §2.6), once its signature verified with the tenant's ID-token keys.

use serde_json::Value;

use super::jws::Parsed;
use super::rules::{SingleUse, Window, check_times, same_typ};
use crate::error::TokenError;
use crate::tenant::config::Tenant;

/// The `events` member that makes a JWT a logout token (§2.4).
pub(crate) const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The kind of single-use marker of logout tokens' `jti`.
pub(crate) const JTI_MARKER: &str = crate::store::LOGOUT_JTI;
/// Oldest `iat` accepted, besides the leeway (§2.6 step 6: "unacceptably far in the past").
const MAX_AGE_SECS: i64 = 600;

/// - header `typ`, when present, is `logout+jwt` (§2.4 recommends it) or `JWT`;
/// - `iss` is the tenant's issuer, `aud` holds its client id;
/// - `iat` and `exp` present and within the leeway, and `iat` at most 10 minutes old;
/// - `jti` present (the caller marks it used on every instance);
/// - `events` holds `http://schemas.openid.net/event/backchannel-logout` with an object value;
/// - `sub` or `sid` present; `nonce` absent (so an ID token is never taken for one).
pub(crate) fn check<'p>(
    parsed: &'p Parsed<'_>,
    tenant: &Tenant,
    window: Window,
) -> Result<SingleUse<'p>, TokenError> {
    if let Some(typ) = parsed.header.typ.as_deref()
        && !same_typ("logout+jwt", typ)
        && !typ.eq_ignore_ascii_case("JWT")
    {
        return Err(TokenError::TypeMismatch);
    }
    let claims = &parsed.claims;
    if claims.iss != *tenant.issuer {
        return Err(TokenError::UnknownIssuer);
    }
    if !tenant
        .client_id
        .as_deref()
        .is_some_and(|c| claims.aud.contains(c))
    {
        return Err(TokenError::AudienceMismatch);
    }
    check_times(claims, window)?;
    let iat = claims.iat.unwrap_or_default();
    if iat
        < window
            .now
            .saturating_sub(window.leeway.saturating_add(MAX_AGE_SECS))
    {
        return Err(TokenError::Expired);
    }
    let marker = SingleUse::of_jti(claims, JTI_MARKER, claims.exp.unwrap_or_default())?;
    let raw: Value = serde_json::from_str(&parsed.raw_claims)
        .map_err(|_| TokenError::Malformed("payload is not a JSON object"))?;
    if !raw
        .get("events")
        .and_then(|events| events.get(EVENT))
        .is_some_and(Value::is_object)
    {
        return Err(TokenError::InvalidClaim(
            "events lacks the back-channel logout event",
        ));
    }
    let has = |v: Option<&str>| v.is_some_and(|s| !s.is_empty());
    if !has(Some(claims.sub.as_str())) && !has(claims.sid.as_deref()) {
        return Err(TokenError::MissingClaim("sub or sid"));
    }
    if raw.get("nonce").is_some() {
        return Err(TokenError::InvalidClaim(
            "a logout token must not hold a nonce",
        ));
    }
    Ok(marker)
}
