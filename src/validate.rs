//! JWT rules (RFC 7519, RFC 8725, OpenID Connect Core, Okta's list) → an identity or a typed
//! error.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;

use crate::claims::{CredentialSource, Identity, StandardClaims};
use crate::error::{AuthError, TokenError};
use crate::jwks::{Join, KeyCache, Lookup, Trigger, VerifyKey};
use crate::tenant::{IssuerEntry, Tenant};

/// Token validation settings shared by all tenants.
#[derive(Clone, Debug)]
pub(crate) struct ValidationOptions {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: Duration,
    pub(crate) max_token_bytes: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            algorithms: vec![Algorithm::RS256],
            leeway: Duration::from_secs(120),
            max_token_bytes: 16 * 1024,
        }
    }
}

/// The JOSE header fields this crate reads. `jku`, `x5u`, `jwk` and `x5c` are deliberately
/// not read: keys come only from the tenant's published key set.
#[derive(Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    #[serde(default)]
    pub(crate) kid: Option<String>,
    #[serde(default)]
    pub(crate) typ: Option<String>,
    #[serde(default)]
    pub(crate) crit: Option<serde_json::Value>,
}

/// A token split and decoded, before any check that needs keys.
pub(crate) struct Parsed<'t> {
    pub(crate) header: Header,
    pub(crate) alg: Algorithm,
    pub(crate) claims: StandardClaims,
    pub(crate) raw_claims: String,
    pub(crate) message: &'t str,
    pub(crate) signature: &'t str,
}

/// Whether a bearer value looks like a compact JWS (three base64url segments).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let header = parts.next().unwrap_or("");
    parts.clone().count() == 2
        && header.starts_with("eyJ")
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Splits, decodes and parses a token, applying the checks that need no key: size, shape,
/// algorithm allow-list, `crit`.
pub(crate) fn parse<'t>(
    token: &'t str,
    options: &ValidationOptions,
) -> Result<Parsed<'t>, TokenError> {
    if token.len() > options.max_token_bytes {
        return Err(TokenError::TooLarge {
            len: token.len(),
            max: options.max_token_bytes,
        });
    }
    let (message, signature) = token
        .rsplit_once('.')
        .ok_or(TokenError::Malformed("not three segments"))?;
    let (header_b64, payload_b64) = message
        .split_once('.')
        .ok_or(TokenError::Malformed("not three segments"))?;
    if payload_b64.contains('.') {
        return Err(TokenError::Malformed("more than three segments"));
    }
    if signature.is_empty() {
        return Err(TokenError::Malformed("empty signature"));
    }
    let header_json = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| TokenError::Malformed("header is not base64url"))?;
    if header_json.first() != Some(&b'{') {
        return Err(TokenError::Malformed("header is not a JSON object"));
    }
    let header: Header = serde_json::from_slice(&header_json)
        .map_err(|_| TokenError::Malformed("header is not a JOSE header"))?;
    // `none`, HMAC and anything else outside the allow-list stop here, in any casing.
    let alg: Algorithm = header
        .alg
        .parse()
        .map_err(|_| TokenError::DisallowedAlgorithm)?;
    if !options.algorithms.contains(&alg) {
        return Err(TokenError::DisallowedAlgorithm);
    }
    if header.crit.is_some() {
        return Err(TokenError::UnsupportedCritical);
    }
    let payload = URL_SAFE_NO_PAD
        .decode(payload_b64)
        .map_err(|_| TokenError::Malformed("payload is not base64url"))?;
    let raw_claims =
        String::from_utf8(payload).map_err(|_| TokenError::Malformed("payload is not UTF-8"))?;
    let claims: StandardClaims = serde_json::from_str(&raw_claims).map_err(|e| {
        if e.is_data() {
            TokenError::InvalidClaim("a registered claim has the wrong type")
        } else {
            TokenError::Malformed("payload is not a JSON object")
        }
    })?;
    if !raw_claims.trim_start().starts_with('{') {
        return Err(TokenError::Malformed("payload is not a JSON object"));
    }
    Ok(Parsed {
        header,
        alg,
        claims,
        raw_claims,
        message,
        signature,
    })
}

/// Picks the tenant of this issuer whose audiences the token names.
pub(crate) fn select_tenant<'e>(
    entry: &'e IssuerEntry,
    claims: &StandardClaims,
) -> Result<&'e Arc<Tenant>, TokenError> {
    entry
        .tenants
        .iter()
        .find(|t| t.accepted_audiences().any(|a| claims.aud.contains(a)))
        .ok_or(TokenError::AudienceMismatch)
}

/// Verifies the signature with the key's own algorithm.
pub(crate) fn verify_signature(parsed: &Parsed<'_>, key: &VerifyKey) -> Result<(), TokenError> {
    if key.alg != parsed.alg {
        return Err(TokenError::KeyAlgorithmMismatch);
    }
    match jsonwebtoken::crypto::verify(
        parsed.signature,
        parsed.message.as_bytes(),
        &key.key,
        key.alg,
    ) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(TokenError::InvalidSignature),
    }
}

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

/// Finds the token's key, refetching the key set once (shared, cooled down) for an unknown kid.
pub(crate) async fn find_key(
    cache: &Arc<KeyCache>,
    parsed: &Parsed<'_>,
) -> Result<Arc<VerifyKey>, AuthError> {
    let keys_unavailable = || AuthError::KeysUnavailable {
        issuer: Arc::clone(&cache.issuer),
    };
    let kid = parsed.header.kid.as_deref();
    let mut keys = match cache.keys() {
        Some(keys) => keys,
        None => cache.ensure_loaded().await.map_err(|e| {
            tracing::warn!(issuer = &*cache.issuer, error = %e, "keys unavailable");
            keys_unavailable()
        })?,
    };
    let mut refetched = false;
    loop {
        match keys.find(kid, parsed.alg) {
            Lookup::Found(key) => return Ok(Arc::clone(key)),
            Lookup::Ambiguous => return Err(TokenError::AmbiguousKey.into()),
            Lookup::WrongAlgorithm => return Err(TokenError::KeyAlgorithmMismatch.into()),
            Lookup::Unknown if refetched => return Err(unknown_key(cache)),
            Lookup::Unknown => {
                refetched = true;
                match cache.refresh(Trigger::Request, Some(keys.generation)) {
                    Join::Wait(fut) => {
                        tracing::debug!(issuer = &*cache.issuer, "unknown kid: refetching keys");
                        let _ = fut.await;
                    }
                    Join::Changed => {}
                    Join::CoolingDown => return Err(unknown_key(cache)),
                }
                keys = cache.keys().ok_or_else(keys_unavailable)?;
            }
        }
    }
}

/// The answer for a `kid` the key set lacks: invalid (401) when the key set is current, but
/// unavailable (503, retry) while the last refresh failed. The provider may have published a
/// key we could not fetch, and a client told its valid token is invalid would throw it away.
fn unknown_key(cache: &KeyCache) -> AuthError {
    if cache.state().last_error.is_some() {
        tracing::warn!(
            issuer = &*cache.issuer,
            "unknown kid while the key set cannot be refreshed"
        );
        AuthError::KeysUnavailable {
            issuer: Arc::clone(&cache.issuer),
        }
    } else {
        TokenError::UnknownKey.into()
    }
}

/// Builds the identity of a validated token.
pub(crate) fn identity(parsed: Parsed<'_>, tenant: &Tenant) -> Identity {
    Identity {
        claims: parsed.claims,
        raw: parsed.raw_claims.into_boxed_str(),
        tenant: tenant.as_ref_info(),
        source: CredentialSource::Jwt,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    #[test]
    fn shape_checks() {
        let o = ValidationOptions::default();
        let ok = token(r#"{"alg":"RS256"}"#, r#"{"iss":"a"}"#);
        assert!(parse(&ok, &o).is_ok());
        for bad in ["", "a", "a.b", "a.b.c.d", "!!.b.c", &format!("{ok}.x")] {
            assert!(
                matches!(parse(bad, &o), Err(TokenError::Malformed(_))),
                "{bad}"
            );
        }
        let no_sig = ok.rsplit_once('.').unwrap().0.to_owned() + ".";
        assert!(matches!(parse(&no_sig, &o), Err(TokenError::Malformed(_))));
        let big = "a".repeat(o.max_token_bytes + 1);
        assert!(matches!(parse(&big, &o), Err(TokenError::TooLarge { .. })));
    }

    #[test]
    fn algorithm_allow_list() {
        let o = ValidationOptions::default();
        for alg in [
            "none", "None", "NONE", "nOnE", "HS256", "rs256", "ES256", "",
        ] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"iss":"a"}"#);
            assert!(
                matches!(parse(&t, &o), Err(TokenError::DisallowedAlgorithm)),
                "{alg}"
            );
        }
        let crit = token(
            r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
            r#"{"iss":"a"}"#,
        );
        assert!(matches!(
            parse(&crit, &o),
            Err(TokenError::UnsupportedCritical)
        ));
    }

    #[test]
    fn claim_types() {
        let o = ValidationOptions::default();
        let t = token(r#"{"alg":"RS256"}"#, r#"{"iss":"a","exp":"1700000000"}"#);
        assert!(matches!(parse(&t, &o), Err(TokenError::InvalidClaim(_))));
        let t = token(r#"{"alg":"RS256"}"#, r#"[1,2]"#);
        assert!(matches!(
            parse(&t, &o),
            Err(TokenError::InvalidClaim(_) | TokenError::Malformed(_))
        ));
        let t = token(r#"{"alg":"RS256"}"#, r#"{"iss":"a","iss":"b"}"#);
        assert!(parse(&t, &o).is_err());
    }

    #[test]
    fn typ_prefix() {
        assert_eq!(strip_application("application/at+jwt"), "at+jwt");
        assert_eq!(strip_application("JWT"), "JWT");
    }

    #[test]
    fn jwt_detection() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.sig"));
        assert!(!looks_like_jwt("00Tq8vS2ZcYZ0sVqL1Xa"));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
    }
}
