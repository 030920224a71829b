//! Reading a request's credential (RFC 6750 §2.1 `Authorization: Bearer`; RFC 9449 §7.1
//! `Authorization: DPoP` with its proof in the `DPoP` header), and what the layer leaves in the
//! request extensions for the extractors.

use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::challenge::{Challenges, DEFAULT_REALM};
use super::sessions::SessionSource;
use crate::claims::Identity;
use crate::error::{AuthError, ProofError, TokenError};
use axum_core::response::Response;

/// The `DPoP` request header (RFC 9449 §4.1).
const DPOP: &str = "dpop";

/// What the layer leaves in the request extensions, so extractors can tell "no layer" from
/// "no identity".
#[derive(Clone)]
pub(crate) struct AuthContext {
    pub(crate) identity: Option<Arc<Identity>>,
    /// The layer's realm when it is not the default.
    pub(crate) realm: Option<Arc<str>>,
    /// The request used the `DPoP` scheme: what a later refusal
    /// ([`RequireScopes`](crate::RequireScopes)) offers, so that its error goes on the `DPoP`
    /// challenge (RFC 9449 §7.1). `None` on every `Bearer` and session request.
    pub(crate) dpop: Option<DpopOffer>,
    /// For a session on a page route (one that redirects to sign in): the session source, so
    /// that a later refusal ([`RequireAuthentication`](crate::RequireAuthentication)) can send
    /// the browser to sign in again. `None` otherwise.
    pub(crate) sign_in: Option<Arc<dyn SessionSource>>,
}

impl std::fmt::Debug for AuthContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthContext")
            .field("identity", &self.identity)
            .field("realm", &self.realm)
            .field("dpop", &self.dpop)
            .field("sign_in", &self.sign_in.is_some())
            .finish()
    }
}

impl AuthContext {
    /// The answer of a route layer behind the authentication layer
    /// ([`RequireScopes`](crate::RequireScopes),
    /// [`RequireAuthentication`](crate::RequireAuthentication)) that refuses `error`: in the
    /// layer's realm, the error on the challenge of the scheme the request used (RFC 9449
    /// §7.1).
    pub(crate) fn refuse(context: Option<&AuthContext>, error: &AuthError) -> Response {
        let realm = context
            .and_then(|c| c.realm.clone())
            .unwrap_or_else(|| Arc::from(DEFAULT_REALM));
        let challenges = match context.and_then(|c| c.dpop.as_ref()) {
            Some(offer) => Challenges {
                realm: &realm,
                bearer: offer.bearer,
                dpop_algs: Some(&offer.algs),
                resource_metadata: None,
                used_dpop: true,
            },
            None => Challenges::bearer(&realm),
        };
        error.render(&challenges)
    }
}

/// The challenges of a route that a `DPoP` request reached.
#[derive(Clone, Debug)]
pub(crate) struct DpopOffer {
    /// The proof algorithms (the `DPoP` challenge's `algs`).
    pub(crate) algs: Arc<str>,
    /// `Bearer` is offered too (the route does not require DPoP).
    pub(crate) bearer: bool,
}

/// The bearer token of a request: `Ok(None)` when there is no `Authorization` header or it uses
/// another scheme.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    authorization(headers, "bearer")
}

/// The access token of a request with the `DPoP` scheme (RFC 9449 §7.1): `Ok(None)` when there
/// is no `Authorization` header or it uses another scheme.
pub(crate) fn dpop_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    authorization(headers, "dpop")
}

/// Whether the request's `Authorization` header uses the `DPoP` scheme.
pub(crate) fn uses_dpop(headers: &HeaderMap) -> bool {
    matches!(dpop_token(headers), Ok(Some(_)))
}

/// The proof of a `DPoP` request: exactly one `DPoP` header (RFC 9449 §4.3 step 1), in compact
/// JWS syntax (checked by the proof's parser).
pub(crate) fn dpop_proof(headers: &HeaderMap) -> Result<&str, ProofError> {
    let mut values = headers.get_all(DPOP).iter();
    let value = values.next().ok_or(ProofError::Missing)?;
    if values.next().is_some() {
        return Err(ProofError::Several);
    }
    std::str::from_utf8(value.as_bytes())
        .map(str::trim)
        .map_err(|_| ProofError::Malformed("DPoP header is not ASCII"))
}

/// The credential of `Authorization: <scheme> <credential>` (scheme case-insensitive).
fn authorization<'h>(headers: &'h HeaderMap, scheme: &str) -> Result<Option<&'h str>, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AuthError::InvalidRequest("Several Authorization headers"));
    }
    // `from_utf8` has a vectorised ASCII fast path; header values cannot hold controls.
    let value = std::str::from_utf8(value.as_bytes())
        .map_err(|_| AuthError::InvalidRequest("Malformed Authorization header"))?
        .trim();
    let (given, token) = value.split_once(' ').unwrap_or((value, ""));
    if !given.eq_ignore_ascii_case(scheme) {
        return Ok(None);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(TokenError::Malformed("empty access token").into());
    }
    Ok(Some(token))
}

/// Checks the RFC 6750 `b64token` syntax of a bearer token (not needed for a token found in
/// the verified-token cache, which matched byte for byte a token that passed every check).
pub(crate) fn check_token68(token: &str) -> Result<(), AuthError> {
    // Without branches or early exit, so that the compiler vectorises the scan (a 1 KB token
    // took a microsecond byte by byte).
    let token68 = |b: u8| {
        (b.wrapping_sub(b'a') < 26)
            | (b.wrapping_sub(b'A') < 26)
            | (b.wrapping_sub(b'0') < 10)
            | matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
    };
    let body = token.trim_end_matches('=');
    if body.is_empty() || !body.bytes().fold(true, |ok, b| ok & token68(b)) {
        return Err(TokenError::Malformed("bearer token is not token68").into());
    }
    Ok(())
}

/// Checks that an identity holds every required scope.
pub(crate) fn check_scopes(identity: &Identity, required: &Arc<[String]>) -> Result<(), AuthError> {
    if required.iter().all(|s| identity.claims.has_scope(s)) {
        Ok(())
    } else {
        Err(AuthError::InsufficientScope {
            required: Arc::clone(required),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(&headers(&[])).unwrap(), None);
        assert_eq!(
            bearer_token(&headers(&["Bearer abc.def"])).unwrap(),
            Some("abc.def")
        );
        assert_eq!(
            bearer_token(&headers(&["bEaReR abc"])).unwrap(),
            Some("abc")
        );
        assert_eq!(
            bearer_token(&headers(&["Basic dXNlcjpwdw=="])).unwrap(),
            None
        );
        assert!(matches!(
            bearer_token(&headers(&["Bearer a", "Bearer b"])),
            Err(AuthError::InvalidRequest(_))
        ));
        assert!(matches!(
            bearer_token(&headers(&["Bearer"])),
            Err(AuthError::InvalidToken(_))
        ));
        let two_words = headers(&["Bearer a b"]);
        let spaced = bearer_token(&two_words).unwrap().unwrap();
        assert!(matches!(
            check_token68(spaced),
            Err(AuthError::InvalidToken(_))
        ));
        assert!(check_token68("abc.DEF-_~+/==").is_ok());
        assert!(check_token68("==").is_err());
        // Every byte, against RFC 6750 §2.1's b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" /
        // "~" / "+" / "/" ) *"=".
        for b in 0..=255u8 {
            let allowed = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            let token = format!("{}{}a=", "x".repeat(40), char::from(b));
            assert_eq!(check_token68(&token).is_ok(), allowed, "byte {b}");
        }
        assert!(check_token68("a=b").is_err(), "= only at the end");
    }

    #[test]
    fn dpop_parsing() {
        let mut h = headers(&["DPoP abc.def"]);
        assert_eq!(dpop_token(&h).unwrap(), Some("abc.def"));
        assert_eq!(bearer_token(&h).unwrap(), None);
        assert!(uses_dpop(&h));
        assert_eq!(dpop_proof(&h), Err(ProofError::Missing));
        h.append(DPOP, "e.p.s".parse().unwrap());
        assert_eq!(dpop_proof(&h), Ok("e.p.s"));
        h.append(DPOP, "e.p.s".parse().unwrap());
        assert_eq!(dpop_proof(&h), Err(ProofError::Several));
        assert!(!uses_dpop(&headers(&["Bearer abc"])));
    }
}
