//! The claim rules (RFC 7519, RFC 8725, RFC 9068, OpenID Connect Core, Okta's list), applied
//! once the signature verified, per kind of token.

use std::time::Duration;

use super::jws::Parsed;
use crate::claims::StandardClaims;
use crate::error::TokenError;
use crate::tenant::config::Tenant;

/// Which rules apply: what the caller expects the token to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A bearer credential of an API request: an access token, or an ID token where the tenant
    /// accepts them.
    Bearer,
    /// The ID token of a login: its audience is the client id only.
    IdToken,
}

/// The time rules' inputs: now and the clock-skew leeway, in seconds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub(crate) now: i64,
    pub(crate) leeway: i64,
}

impl Window {
    pub(crate) fn new(now: Duration, leeway: Duration) -> Self {
        Window {
            now: i64::try_from(now.as_secs()).unwrap_or(i64::MAX),
            leeway: i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX),
        }
    }

    /// Whether `exp` has passed (beyond the leeway). A token without `exp` is not "expired":
    /// it is refused for the missing claim.
    pub(crate) fn expired(&self, claims: &StandardClaims) -> bool {
        claims
            .exp
            .is_some_and(|exp| self.now >= exp.saturating_add(self.leeway))
    }
}

/// Whether a bearer token is an ID token of this tenant (its `aud` names the client id, and
/// the tenant accepts ID tokens as bearer credentials).
pub(crate) fn is_id_token(claims: &StandardClaims, tenant: &Tenant) -> bool {
    tenant.accept_id_tokens
        && tenant
            .client_id
            .as_deref()
            .is_some_and(|c| claims.aud.contains(c))
}

/// The claim rules:
///
/// - `iss` equals the tenant's issuer exactly;
/// - `aud` holds one of the tenant's audiences (for an ID token of a login: the client id);
/// - several audiences only with `azp` = the client id — or, for a tenant with an audience and
///   no client id, one of its audiences (OpenID Connect Core §3.1.3.7 steps 4 and 5); an ID
///   token's `azp`, when present, is the client id;
/// - `exp` and `iat` required (OpenID Connect Core §2, RFC 9068 §2.2), `exp` not passed,
///   `nbf` and `iat` not in the future, each with the leeway;
/// - `sub` required;
/// - the header `typ` and Okta's `cid` when the tenant asks for them.
pub(crate) fn check(
    parsed: &Parsed<'_>,
    tenant: &Tenant,
    kind: TokenKind,
    window: Window,
) -> Result<(), TokenError> {
    let claims = &parsed.claims;
    if claims.iss != *tenant.issuer {
        return Err(TokenError::UnknownIssuer);
    }
    refuse_non_credential(parsed)?;
    let client_id = tenant.client_id.as_deref();
    let id_token = match kind {
        TokenKind::IdToken => {
            if !client_id.is_some_and(|c| claims.aud.contains(c)) {
                return Err(TokenError::AudienceMismatch);
            }
            true
        }
        TokenKind::Bearer => {
            if !tenant.accepted_audiences().any(|a| claims.aud.contains(a)) {
                return Err(TokenError::AudienceMismatch);
            }
            is_id_token(claims, tenant)
        }
    };
    check_authorized_party(claims, tenant, id_token)?;
    check_times(claims, window)?;
    if claims.sub.is_empty() {
        return Err(TokenError::MissingClaim("sub"));
    }
    let typ_rule = if id_token {
        tenant.id_token_typ.as_deref()
    } else {
        tenant.access_token_typ.as_deref()
    };
    if let Some(accepted) = typ_rule {
        let typ = parsed.header.typ.as_deref().unwrap_or("");
        if !accepted.iter().any(|a| same_typ(a, typ)) {
            return Err(TokenError::TypeMismatch);
        }
    }
    if tenant.require_cid && !id_token && claims.cid.as_deref() != client_id {
        return Err(TokenError::ClientIdMismatch);
    }
    Ok(())
}

/// The `typ` values of JWTs that are signals, proofs or grants, never credentials: a back-channel
/// logout token (OIDC Back-Channel Logout §2.4), Okta's Universal Logout request, a Security
/// Event Token (RFC 8417 §2.3), a DPoP proof (RFC 9449 §4.2) and an identity assertion grant
/// (draft-ietf-oauth-identity-assertion-authz-grant).
pub(crate) const NOT_CREDENTIAL_TYPES: [&str; 5] = [
    "logout+jwt",
    "global-token-revocation+jwt",
    "secevent+jwt",
    "dpop+jwt",
    "oauth-id-jag+jwt",
];

/// Refuses, as a bearer token or a login's ID token, a JWT typed as a signal, proof or grant,
/// or carrying an `events` claim (RFC 8725 §3.11: explicit typing; RFC 8417 §2.2: a SET's
/// `events`), whatever the tenant's own `typ` rule: one signed by the same keys must never
/// pass for another kind.
pub(crate) fn refuse_non_credential(parsed: &Parsed<'_>) -> Result<(), TokenError> {
    if parsed.claims.has_events {
        return Err(TokenError::NotACredential);
    }
    if let Some(typ) = parsed.header.typ.as_deref()
        && NOT_CREDENTIAL_TYPES.iter().any(|t| same_typ(t, typ))
    {
        return Err(TokenError::NotACredential);
    }
    Ok(())
}

/// Refuses a token bound (`cnf`) to something other than a DPoP key — a client certificate
/// (RFC 8705 §3.1 `x5t#S256`) or any member this crate cannot verify: accepting it as a plain
/// bearer would let whoever copied it use it (RFC 7800 §3: the presenter must prove
/// possession). Checked before an identity is cached, so a cached hit never needs it.
pub(crate) fn check_binding(claims: &StandardClaims) -> Result<(), TokenError> {
    if claims.has_unverifiable_binding() {
        return Err(TokenError::UnverifiableBinding);
    }
    Ok(())
}

/// `azp`: required to be the client (or, for a tenant without a client id, one of its
/// audiences) when the token names several audiences; an ID token's `azp`, when present, is the
/// client id.
fn check_authorized_party(
    claims: &StandardClaims,
    tenant: &Tenant,
    id_token: bool,
) -> Result<(), TokenError> {
    let azp = claims.azp.as_deref();
    match tenant.client_id.as_deref() {
        Some(client_id) => {
            if claims.aud.len() > 1 && azp != Some(client_id) {
                return Err(TokenError::AuthorizedPartyMismatch);
            }
            if id_token && azp.is_some_and(|a| a != client_id) {
                return Err(TokenError::AuthorizedPartyMismatch);
            }
        }
        None => {
            if claims.aud.len() > 1
                && !azp.is_some_and(|a| tenant.audiences.iter().any(|x| **x == *a))
            {
                return Err(TokenError::AuthorizedPartyMismatch);
            }
        }
    }
    Ok(())
}

/// A signal that may be used once: its `jti`, until its `exp`, as `kind` of single-use marker.
pub(crate) struct SingleUse<'a> {
    pub(crate) kind: &'static str,
    pub(crate) jti: &'a str,
    pub(crate) exp: i64,
}

impl<'a> SingleUse<'a> {
    /// The marker of a token's `jti` (required, not empty), of `kind`, kept until `exp`.
    pub(crate) fn of_jti(
        claims: &'a StandardClaims,
        kind: &'static str,
        exp: i64,
    ) -> Result<Self, TokenError> {
        let jti = claims
            .jti
            .as_deref()
            .filter(|j| !j.is_empty())
            .ok_or(TokenError::MissingClaim("jti"))?;
        Ok(SingleUse { kind, jti, exp })
    }
}

/// `exp` required and not passed; `iat` required; `nbf` and `iat` not in the future.
pub(crate) fn check_times(claims: &StandardClaims, window: Window) -> Result<(), TokenError> {
    let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
    if window.now >= exp.saturating_add(window.leeway) {
        return Err(TokenError::Expired);
    }
    let horizon = window.now.saturating_add(window.leeway);
    if claims.nbf.is_some_and(|nbf| nbf > horizon) {
        return Err(TokenError::NotYetValid);
    }
    let iat = claims.iat.ok_or(TokenError::MissingClaim("iat"))?;
    if iat > horizon {
        return Err(TokenError::IssuedInFuture);
    }
    Ok(())
}

/// The rules for an introspection answer (RFC 7662 §2.2) that said `active`:
///
/// - `token_type`, when present, is an access token's (`Bearer`, `DPoP`, `access_token`, or
///   RFC 8693's access-token URI): refresh and ID tokens never authenticate a request;
/// - `iss`, when present, is the tenant's issuer;
/// - `client_id` (Okta's `cid`) is the tenant's client id, or one it trusts;
/// - `aud` holds one of the tenant's API audiences, when it names any — or the issuer itself,
///   the audience of every access token of an Okta org authorization server;
/// - `sub` and `exp` are present, and `exp` has not passed (no leeway: the issuer just said).
pub(crate) fn check_introspected(
    claims: &StandardClaims,
    tenant: &Tenant,
    now: i64,
) -> Result<(), TokenError> {
    if let Some(token_type) = claims.token_type.as_deref()
        && !is_access_token_type(token_type)
    {
        return Err(TokenError::NotAnAccessToken);
    }
    if !claims.iss.is_empty() && claims.iss != *tenant.issuer {
        return Err(TokenError::UnknownIssuer);
    }
    let cid = claims
        .cid
        .as_deref()
        .ok_or(TokenError::MissingClaim("client_id"))?;
    if tenant.client_id.as_deref() != Some(cid)
        && !tenant.trusted_clients.iter().any(|t| **t == *cid)
    {
        return Err(TokenError::ClientIdMismatch);
    }
    if !tenant.audiences.is_empty()
        && !claims.aud.contains(&tenant.issuer)
        && !tenant.audiences.iter().any(|a| claims.aud.contains(a))
    {
        return Err(TokenError::AudienceMismatch);
    }
    if claims.sub.is_empty() {
        return Err(TokenError::MissingClaim("sub"));
    }
    let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
    if exp <= now {
        return Err(TokenError::Inactive);
    }
    Ok(())
}

fn is_access_token_type(token_type: &str) -> bool {
    [
        "Bearer",
        "DPoP",
        "access_token",
        "urn:ietf:params:oauth:token-type:access_token",
    ]
    .iter()
    .any(|t| t.eq_ignore_ascii_case(token_type))
}

/// `typ` values compared case-insensitively, with or without `application/` (RFC 8725 §3.11).
pub(crate) fn same_typ(accepted: &str, typ: &str) -> bool {
    strip_application(accepted).eq_ignore_ascii_case(strip_application(typ))
}

fn strip_application(typ: &str) -> &str {
    match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_prefix() {
        assert_eq!(strip_application("application/at+jwt"), "at+jwt");
        assert_eq!(strip_application("JWT"), "JWT");
        assert!(same_typ("at+jwt", "application/AT+JWT"));
    }

    #[test]
    fn access_token_types() {
        for ok in ["Bearer", "bearer", "DPoP", "access_token"] {
            assert!(is_access_token_type(ok), "{ok}");
        }
        for bad in ["refresh_token", "id_token", "", "N_A"] {
            assert!(!is_access_token_type(bad), "{bad}");
        }
    }
}
