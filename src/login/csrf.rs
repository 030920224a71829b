//! Cross-site request forgery: whether a request comes from the app's own origin, told by the
//! browser's `Sec-Fetch-Site` (Fetch Metadata), else `Origin` (RFC 6454), else `Referer`.
//!
//! A request the session cookie authenticates must come from the app itself when it can change
//! something (any method but `GET`, `HEAD`, `OPTIONS`, `TRACE`); `SameSite=Lax` alone lets a
//! sibling subdomain (`same-site`) or an old browser through.

use http::header::{ORIGIN, REFERER};
use http::request::Parts;
use http::{HeaderMap, HeaderName, Method};

use crate::error::AuthError;

const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Whether the request says it comes from `origin` (an ASCII serialized origin such as
/// `https://app.example.com`). A request that says nothing does not.
pub(crate) fn is_same_origin(headers: &HeaderMap, origin: &str) -> bool {
    let header = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header(&SEC_FETCH_SITE) {
        return site.trim().eq_ignore_ascii_case("same-origin");
    }
    if let Some(from) = header(&ORIGIN) {
        return from.trim() == origin;
    }
    if let Some(referer) = header(&REFERER) {
        return url::Url::parse(referer.trim())
            .is_ok_and(|url| url.origin().ascii_serialization() == origin);
    }
    false
}

/// Whether the method can change state (RFC 9110 §9.2.1 "safe" methods cannot).
pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Refuses (`403`) a request the session authenticates that may change state and does not come
/// from `origin`.
pub(crate) fn check_session_request(request: &Parts, origin: &str) -> Result<(), AuthError> {
    if is_unsafe(&request.method) && !is_same_origin(&request.headers, origin) {
        let headers = &request.headers;
        let says_where = ["sec-fetch-site", "origin", "referer"]
            .iter()
            .any(|name| headers.contains_key(*name));
        let why = if says_where {
            "from another site"
        } else {
            "without Origin or Sec-Fetch-Site"
        };
        tracing::warn!(
            method = request.method.as_str(),
            path = request.uri.path(),
            "request with the session cookie refused: an unsafe method {why}"
        );
        return Err(AuthError::CrossSiteRequest);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn origin_signals_in_order() {
        const APP: &str = "https://app.example.com";
        let same = |pairs: &[(&'static str, &'static str)]| is_same_origin(&headers(pairs), APP);
        assert!(same(&[("sec-fetch-site", "same-origin")]));
        assert!(!same(&[("sec-fetch-site", "same-site")]));
        assert!(!same(&[("sec-fetch-site", "cross-site"), ("origin", APP)]));
        assert!(!same(&[("sec-fetch-site", "none")]));
        assert!(same(&[("origin", "https://app.example.com")]));
        assert!(!same(&[("origin", "null")]));
        assert!(!same(&[("origin", "https://evil.example")]));
        assert!(!same(&[("origin", "https://app.example.com.evil.example")]));
        assert!(same(&[("referer", "https://app.example.com/page?x=1")]));
        assert!(!same(&[(
            "referer",
            "https://evil.example/https://app.example.com"
        )]));
        assert!(!same(&[]));
    }

    #[test]
    fn unsafe_methods() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_unsafe(&m));
        }
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_unsafe(&m));
        }
    }
}
