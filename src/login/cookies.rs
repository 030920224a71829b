//! Reading the `Cookie` header and writing `Set-Cookie` values, with the `cookie` crate; the
//! names' security prefixes (`__Host-`, `__Secure-`).
//!
//! Every value this crate writes is base64url text (sealed), so no quoting or escaping is
//! needed; cookies of other names are left alone.

use std::time::Duration;

use cookie::time::{Duration as CookieDuration, OffsetDateTime};
use cookie::{Cookie, SameSite};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// The value of the first cookie named `name` in the request, if any.
pub(crate) fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    all(headers).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Every `(name, value)` pair of the request's `Cookie` headers (RFC 6265 §5.4), a quoted value
/// unquoted; malformed pairs are skipped.
pub(crate) fn all(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(|cookie| {
            let cookie = cookie.ok()?;
            let value = cookie.value_raw()?;
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((cookie.name_raw()?, value))
        })
}

/// A short tag of an app path for cookie names (which cannot hold `/`): 8 hex digits of its
/// SHA-256.
pub(crate) fn path_tag(path: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(path.as_bytes())[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Attributes of the cookies this crate sets.
#[derive(Clone, Debug)]
pub(crate) struct Attributes {
    pub(crate) secure: bool,
    pub(crate) domain: Option<String>,
}

impl Attributes {
    /// `name` with the strongest prefix its cookie qualifies for (RFC 6265bis §4.1.3):
    /// `__Host-` when it is `Secure`, host-only and for the whole site (`path` `/`);
    /// `__Secure-` when it is `Secure`; none on loopback `http://`, where browsers would drop it.
    pub(crate) fn prefixed(&self, name: &str, path: &str) -> String {
        match (self.secure, path == "/" && self.domain.is_none()) {
            (true, true) => format!("__Host-{name}"),
            (true, false) => format!("__Secure-{name}"),
            (false, _) => name.to_owned(),
        }
    }

    fn cookie<'c>(&'c self, name: &'c str, value: &'c str, path: &'c str) -> Cookie<'c> {
        let mut cookie = Cookie::build((name, value))
            .path(path)
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(self.secure)
            .build();
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.as_str());
        }
        cookie
    }
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Secure` unless on loopback `http://`.
pub(crate) fn set(
    attrs: &Attributes,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<Duration>,
) -> Option<HeaderValue> {
    let mut cookie = attrs.cookie(name, value, path);
    if let Some(age) = max_age {
        let secs = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        cookie.set_max_age(CookieDuration::seconds(secs));
    }
    HeaderValue::from_str(&cookie.to_string()).ok()
}

/// A `Set-Cookie` value that deletes the cookie (same name, path and domain; `Max-Age=0`).
pub(crate) fn clear(attrs: &Attributes, name: &str, path: &str) -> Option<HeaderValue> {
    let mut cookie = attrs.cookie(name, "", path);
    cookie.set_max_age(CookieDuration::ZERO);
    cookie.set_expires(OffsetDateTime::UNIX_EPOCH);
    HeaderValue::from_str(&cookie.to_string()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; b=\"2\";c=3"));
        h.append(COOKIE, HeaderValue::from_static("d=4; junk; =5; e="));
        assert_eq!(get(&h, "a"), Some("1"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "c"), Some("3"));
        assert_eq!(get(&h, "d"), Some("4"));
        assert_eq!(get(&h, "e"), Some(""));
        assert_eq!(get(&h, "f"), None);
        assert_eq!(all(&h).count(), 5);
    }

    #[test]
    fn written_cookies() {
        let plain = Attributes {
            secure: false,
            domain: None,
        };
        let set = set(&plain, "n", "v", "/app", Some(Duration::from_secs(60))).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("n=v;"), "{set}");
        for part in ["HttpOnly", "SameSite=Lax", "Path=/app", "Max-Age=60"] {
            assert!(set.contains(part), "{set}");
        }
        assert!(!set.contains("Secure"));
        let secure = Attributes {
            secure: true,
            domain: Some("example.com".into()),
        };
        let cleared = clear(&secure, "n", "/").unwrap();
        let cleared = cleared.to_str().unwrap();
        for part in ["n=;", "Secure", "Domain=example.com", "Max-Age=0", "1970"] {
            assert!(cleared.contains(part), "{cleared}");
        }
    }

    #[test]
    fn prefixes() {
        let https = Attributes {
            secure: true,
            domain: None,
        };
        assert_eq!(https.prefixed("s", "/"), "__Host-s");
        assert_eq!(https.prefixed("s", "/app"), "__Secure-s");
        let shared = Attributes {
            secure: true,
            domain: Some("example.com".into()),
        };
        assert_eq!(shared.prefixed("s", "/"), "__Secure-s");
        let loopback = Attributes {
            secure: false,
            domain: None,
        };
        assert_eq!(loopback.prefixed("s", "/"), "s");
    }

    #[test]
    fn path_tags_are_short_name_safe_and_distinct() {
        let (a, b) = (path_tag("/app"), path_tag("/app2"));
        assert_eq!(a.len(), 8);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(a, path_tag("/app"));
    }
}
