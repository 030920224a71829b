//! The rules of a Universal Logout request's JWT: Okta's global token revocation request
//! (OIN Universal Logout guide; draft-parecki-oauth-global-token-revocation §3.1), once its
//! signature verified with the tenant org's ID-token keys.

use super::jws::Parsed;
use super::rules::{SingleUse, Window, check_times, same_typ};
use crate::algorithm::Algorithm;
use crate::error::TokenError;
use crate::tenant::config::Tenant;

/// The header `typ` Okta sends.
pub(crate) const TYP: &str = "global-token-revocation+jwt";
/// The kind of single-use marker of these requests' `jti`.
pub(crate) const JTI_MARKER: &str = crate::store::GTR_JTI;

/// - header `typ` is `global-token-revocation+jwt`, and `alg` RS256 (Okta signs with the
///   org's ID-token keys, RS256 only);
/// - `iss` is the tenant's issuer and `sub` its client id (the app instance Okta calls for);
/// - `aud` is exactly the endpoint's configured absolute URL (never one built from the
///   request's `Host`): one audience, no other;
/// - `exp` and `iat` present, `exp` not passed, `nbf` and `iat` not in the future, with the
///   leeway;
/// - `jti` present: the caller marks it used on every instance.
pub(crate) fn check<'p>(
    parsed: &'p Parsed<'_>,
    tenant: &Tenant,
    audience: &str,
    window: Window,
) -> Result<SingleUse<'p>, TokenError> {
    let typ = parsed.header.typ.as_deref().unwrap_or("");
    if !same_typ(TYP, typ) {
        return Err(TokenError::TypeMismatch);
    }
    if parsed.alg != Algorithm::RS256 {
        return Err(TokenError::DisallowedAlgorithm);
    }
    let claims = &parsed.claims;
    if claims.iss != *tenant.issuer {
        return Err(TokenError::UnknownIssuer);
    }
    if tenant.client_id.as_deref() != Some(claims.sub.as_str()) {
        return Err(TokenError::ClientIdMismatch);
    }
    if claims.aud.len() != 1 || !claims.aud.contains(audience) {
        return Err(TokenError::AudienceMismatch);
    }
    check_times(claims, window)?;
    SingleUse::of_jti(claims, JTI_MARKER, claims.exp.unwrap_or_default())
}
