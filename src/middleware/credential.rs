//! Reading a request's credential (RFC 6750 §2.1 `Authorization: Bearer`), and what the layer
//! leaves in the request extensions for the extractors.

use std::sync::Arc;

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::claims::Identity;
use crate::error::{AuthError, TokenError};

/// What the layer leaves in the request extensions, so extractors can tell "no layer" from
/// "no identity".
#[derive(Clone, Debug)]
pub(crate) struct AuthContext {
    pub(crate) identity: Option<Arc<Identity>>,
    /// The layer's realm when it is not the default.
    pub(crate) realm: Option<Arc<str>>,
}

/// The bearer token of a request: `Ok(None)` when there is no `Authorization` header or it uses
/// another scheme.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
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
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() {
        return Err(TokenError::Malformed("empty bearer token").into());
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
}
