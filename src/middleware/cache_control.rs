//! `Cache-Control` of a response on which the layer sets a session cookie: `private`, so that a
//! shared cache (a CDN, a proxy) never stores one user's `Set-Cookie` and serves it to another
//! (RFC 9111 §5.2.2.7).

use http::header::CACHE_CONTROL;
use http::{HeaderMap, HeaderValue};

/// Makes the response private to one user: `private` when the application set no
/// `Cache-Control`; its own value kept when it already says `private` or `no-store`; otherwise
/// its directives with `public` and `s-maxage` (shared caches only) replaced by `private`.
pub(crate) fn make_private(headers: &mut HeaderMap) {
    let directives: Vec<String> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect();
    let name = |d: &str| {
        d.split('=')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    };
    if directives
        .iter()
        .any(|d| matches!(name(d).as_str(), "private" | "no-store"))
    {
        return;
    }
    let mut kept: Vec<String> = vec!["private".to_owned()];
    kept.extend(
        directives
            .into_iter()
            .filter(|d| !matches!(name(d).as_str(), "public" | "s-maxage")),
    );
    let value =
        HeaderValue::from_str(&kept.join(", ")).unwrap_or(HeaderValue::from_static("private"));
    headers.insert(CACHE_CONTROL, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn after(values: &[&'static str]) -> String {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_static(v));
        }
        make_private(&mut headers);
        let all: Vec<&str> = headers
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        all.join(" | ")
    }

    #[test]
    fn shared_caching_is_turned_off() {
        assert_eq!(after(&[]), "private");
        assert_eq!(after(&["no-store"]), "no-store");
        assert_eq!(after(&["Private, max-age=60"]), "Private, max-age=60");
        assert_eq!(
            after(&["public, max-age=600, s-maxage=3600"]),
            "private, max-age=600"
        );
        assert_eq!(
            after(&["max-age=60", "must-revalidate"]),
            "private, max-age=60, must-revalidate"
        );
    }
}
