//! The rules of an Identity Assertion JWT Authorization Grant (ID-JAG,
//! draft-ietf-oauth-identity-assertion-authz-grant §3 and "Access Token Request, Processing
//! Rules"; RFC 7523 §3; RFC 7521 §5.2), once its signature verified with the keys of the
//! tenant's org: what Okta's Cross App Access issues for an agent to present at the vendor's
//! own authorization server.

use serde::Deserialize;

use super::jws::Parsed;
use super::rules::{SingleUse, Window, check_times, same_typ};
use crate::error::TokenError;
use crate::tenant::config::Tenant;

/// The header `typ` of an ID-JAG (draft §3; RFC 8725 §3.11).
pub(crate) const TYP: &str = "oauth-id-jag+jwt";
/// The kind of single-use marker of ID-JAGs' `jti`.
pub(crate) const JTI_MARKER: &str = crate::store::ID_JAG_JTI;
/// The longest life accepted, from `iat` and from now (besides the leeway): a grant is for
/// one immediate exchange (Okta issues them for 5 minutes; RFC 7523 §3 item 4 lets the
/// authorization server refuse an `exp` unreasonably far in the future).
pub(crate) const MAX_LIFETIME_SECS: i64 = 300;

/// The members of an ID-JAG that the standard claims do not hold.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GrantClaims {
    /// The client that will act for the user, as the vendor's authorization server knows it.
    #[serde(default)]
    pub(crate) client_id: Option<String>,
    /// The resource server(s) (RFC 8707 §2): one URI or several.
    #[serde(default, deserialize_with = "one_or_many")]
    pub(crate) resource: Vec<String>,
    /// The scopes the identity provider granted, space separated (RFC 6749 §3.3).
    #[serde(default)]
    pub(crate) scope: Option<String>,
}

impl GrantClaims {
    /// The grant's own members, read from its claims as received (JSON).
    pub(crate) fn read(raw_claims: &str) -> Result<Self, TokenError> {
        serde_json::from_str(raw_claims)
            .map_err(|_| TokenError::InvalidClaim("client_id, resource or scope"))
    }

    /// The granted scopes, each once, in order.
    pub(crate) fn scopes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in self.scope.as_deref().unwrap_or("").split(' ') {
            if !s.is_empty() && !out.contains(&s) {
                out.push(s);
            }
        }
        out
    }
}

/// The `tenant` claim of an access token the application's own authorization server issued
/// for a grant (`JwtBearerGrant`): the tenant whose user it acts for.
pub(crate) fn user_tenant(raw_claims: &str) -> Option<std::sync::Arc<str>> {
    #[derive(Deserialize)]
    struct Issued {
        #[serde(default)]
        tenant: Option<String>,
    }
    let issued: Issued = serde_json::from_str(raw_claims).ok()?;
    issued
        .tenant
        .filter(|t| !t.is_empty())
        .map(std::sync::Arc::from)
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    })
}

/// - header `typ` is `oauth-id-jag+jwt` (draft: "MUST"; RFC 8725 §3.11);
/// - `iss` is the tenant's issuer (the org whose keys verified it), and not the app's own
///   authorization server;
/// - `aud` is exactly the vendor authorization server's issuer, `audience` (draft: "MUST
///   identify the Issuer URL of the Resource Authorization Server"; RFC 7523 §3 item 3): one
///   audience, no other;
/// - `client_id` is the client that authenticated the request, `client_id` (draft: "MUST
///   identify the same client as the client authentication");
/// - `sub` present (RFC 7523 §3 item 2);
/// - `exp` and `iat` present, `exp` not passed, `nbf` and `iat` not in the future (RFC 7523 §3
///   items 4–6), and `exp` at most [`MAX_LIFETIME_SECS`] after `iat` and after now;
/// - `jti` present: the caller marks it used on every instance (RFC 7523 §3 item 7).
pub(crate) fn check<'p>(
    parsed: &'p Parsed<'_>,
    tenant: &Tenant,
    audience: &str,
    client_id: &str,
    window: Window,
) -> Result<SingleUse<'p>, TokenError> {
    let typ = parsed.header.typ.as_deref().unwrap_or("");
    if !same_typ(TYP, typ) {
        return Err(TokenError::TypeMismatch);
    }
    let claims = &parsed.claims;
    // A grant comes from an org, never from the app's own authorization server (the draft's
    // "Cross-Domain Use": no access token for a grant the server issued itself).
    if claims.iss != *tenant.issuer || tenant.own_authorization_server {
        return Err(TokenError::UnknownIssuer);
    }
    if claims.aud.len() != 1 || !claims.aud.contains(audience) {
        return Err(TokenError::AudienceMismatch);
    }
    let grant = GrantClaims::read(&parsed.raw_claims)?;
    match grant.client_id.as_deref() {
        None | Some("") => return Err(TokenError::MissingClaim("client_id")),
        Some(c) if c != client_id => return Err(TokenError::ClientIdMismatch),
        Some(_) => {}
    }
    if claims.sub.is_empty() {
        return Err(TokenError::MissingClaim("sub"));
    }
    check_times(claims, window)?;
    let exp = claims.exp.unwrap_or_default();
    let iat = claims.iat.unwrap_or_default();
    if exp.saturating_sub(iat) > MAX_LIFETIME_SECS
        || exp.saturating_sub(window.now) > MAX_LIFETIME_SECS.saturating_add(window.leeway)
    {
        return Err(TokenError::InvalidClaim(
            "exp is more than 5 minutes away: an ID-JAG is for one immediate exchange",
        ));
    }
    SingleUse::of_jti(claims, JTI_MARKER, exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_is_one_uri_or_several_and_scopes_are_deduplicated() {
        let one = GrantClaims::read(r#"{"resource":"https://api","scope":"a b  a"}"#).unwrap();
        assert_eq!(one.resource, vec!["https://api"]);
        assert_eq!(one.scopes(), vec!["a", "b"]);
        let many = GrantClaims::read(r#"{"resource":["https://a","https://b"]}"#).unwrap();
        assert_eq!(many.resource.len(), 2);
        assert!(many.scopes().is_empty());
        assert!(GrantClaims::read(r#"{"resource":7}"#).is_err());
    }
}
