//! Reading the `Cookie` header and writing `Set-Cookie` values.
//!
//! Every value this crate writes is base64url text (sealed), so no quoting or escaping is
//! needed; cookies of other names are left alone.

use std::time::Duration;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};

/// The value of the first cookie named `name` in the request, if any.
pub(crate) fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    all(headers).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Every `(name, value)` pair of the request's `Cookie` headers.
pub(crate) fn all(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            let value = value.trim();
            let value = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value);
            Some((name.trim(), value))
        })
}

/// Attributes of the cookies this crate sets.
#[derive(Clone, Debug)]
pub(crate) struct Attributes {
    pub(crate) secure: bool,
    pub(crate) domain: Option<String>,
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Secure` unless disabled (loopback http).
pub(crate) fn set(
    attrs: &Attributes,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<Duration>,
) -> Option<HeaderValue> {
    let mut s = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={}", age.as_secs()));
    }
    if let Some(domain) = &attrs.domain {
        s.push_str(&format!("; Domain={domain}"));
    }
    if attrs.secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

/// A `Set-Cookie` value that deletes the cookie.
pub(crate) fn clear(attrs: &Attributes, name: &str, path: &str) -> Option<HeaderValue> {
    let mut s = format!(
        "{name}=; Path={path}; HttpOnly; SameSite=Lax; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
    );
    if let Some(domain) = &attrs.domain {
        s.push_str(&format!("; Domain={domain}"));
    }
    if attrs.secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_static("a=1; b=\"2\";c=3"));
        h.append(COOKIE, HeaderValue::from_static("d=4; junk"));
        assert_eq!(get(&h, "a"), Some("1"));
        assert_eq!(get(&h, "b"), Some("2"));
        assert_eq!(get(&h, "c"), Some("3"));
        assert_eq!(get(&h, "d"), Some("4"));
        assert_eq!(get(&h, "e"), None);
    }
}
