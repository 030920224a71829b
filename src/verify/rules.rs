//! The claim rules (RFC 7519, RFC 8725, OpenID Connect Core, Okta's list), applied after the
//! signature verified.

use std::time::Duration;

use super::jws::Parsed;
use crate::error::TokenError;
use crate::tenant::Tenant;

/// The claim rules: `iss` exact, `aud`, `azp`, `exp` required, `nbf`/`iat` with leeway, `sub`
/// required, `typ` and `cid` when the tenant asks for them.
pub(crate) fn check_claims(
    parsed: &Parsed<'_>,
    tenant: &Tenant,
    now_secs: i64,
    leeway: Duration,
) -> Result<(), TokenError> {
    let claims = &parsed.claims;
    let leeway = i64::try_from(leeway.as_secs()).unwrap_or(i64::MAX);
    if claims.iss != *tenant.issuer {
        return Err(TokenError::UnknownIssuer);
    }
    if !tenant.accepted_audiences().any(|a| claims.aud.contains(a)) {
        return Err(TokenError::AudienceMismatch);
    }
    let is_id_token = tenant.accept_id_tokens
        && tenant
            .client_id
            .as_deref()
            .is_some_and(|c| claims.aud.contains(c));
    if let Some(client_id) = tenant.client_id.as_deref() {
        let azp = claims.azp.as_deref();
        if claims.aud.len() > 1 && azp != Some(client_id) {
            return Err(TokenError::AuthorizedPartyMismatch);
        }
        if is_id_token && azp.is_some_and(|a| a != client_id) {
            return Err(TokenError::AuthorizedPartyMismatch);
        }
    }
    let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
    if now_secs >= exp.saturating_add(leeway) {
        return Err(TokenError::Expired);
    }
    if let Some(nbf) = claims.nbf
        && nbf > now_secs.saturating_add(leeway)
    {
        return Err(TokenError::NotYetValid);
    }
    if let Some(iat) = claims.iat
        && iat > now_secs.saturating_add(leeway)
    {
        return Err(TokenError::IssuedInFuture);
    }
    if claims.sub.is_empty() {
        return Err(TokenError::MissingClaim("sub"));
    }
    let typ_rule = if is_id_token {
        tenant.id_token_typ.as_deref()
    } else {
        tenant.access_token_typ.as_deref()
    };
    if let Some(accepted) = typ_rule {
        let typ = parsed.header.typ.as_deref().unwrap_or("");
        let typ = strip_application(typ);
        if !accepted
            .iter()
            .any(|a| strip_application(a).eq_ignore_ascii_case(typ))
        {
            return Err(TokenError::TypeMismatch);
        }
    }
    if tenant.require_cid && !is_id_token && claims.cid.as_deref() != tenant.client_id.as_deref() {
        return Err(TokenError::ClientIdMismatch);
    }
    Ok(())
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
    }
}
