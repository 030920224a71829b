//! The fuzz harness of DPoP `htu` comparison (RFC 9449 §4.3 step 9; RFC 3986 §6.2.2–6.2.3):
//! the verifier's own comparison and normal form, and the invariants every pair of inputs
//! keeps.

use crate::verify::dpop::{normalized, same_uri as same_normalized_uri};

/// Splits at the first newline: `(first line, rest)`.
fn line(input: &str) -> (&str, &str) {
    input.split_once('\n').unwrap_or((input, ""))
}

/// Whether two `htu` values are the same URI once normalized (RFC 3986 §6.2.2–6.2.3), as the
/// DPoP check compares them.
pub fn same_uri(a: &str, b: &str) -> bool {
    same_normalized_uri(a, b)
}

/// The normalized form of an `htu` (what [`same_uri`] compares), `None` for what is never
/// accepted.
pub fn normalized_uri(uri: &str) -> Option<String> {
    normalized(uri)
}

/// Two `htu` values, on the first line and after it: the comparison is symmetric, normalizing
/// is idempotent and keeps the URI equal to itself, and two URIs found equal have the same
/// origin and the same path once every escape is decoded. Returns whether they are equal.
pub fn htu(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    let (a, b) = line(&text);
    let equal = same_uri(a, b);
    assert_eq!(equal, same_uri(b, a), "same_uri is not symmetric");
    for uri in [a, b] {
        if let Some(n) = normalized_uri(uri) {
            assert_eq!(
                normalized_uri(&n).as_deref(),
                Some(n.as_str()),
                "normalizing is not idempotent"
            );
            assert!(same_uri(uri, &n), "a URI differs from its normal form");
            assert!(same_uri(uri, uri), "a URI differs from itself");
        } else {
            assert!(!same_uri(uri, uri), "a refused URI compared equal");
        }
    }
    if equal {
        let (Ok(x), Ok(y)) = (url::Url::parse(a), url::Url::parse(b)) else {
            panic!("an unparseable URI compared equal");
        };
        assert_eq!(x.origin(), y.origin(), "different origins compared equal");
        let decoded = |u: &url::Url| {
            let bytes: Vec<u8> = percent_decode(u.path());
            bytes
        };
        assert_eq!(decoded(&x), decoded(&y), "different paths compared equal");
    }
    equal
}

fn percent_decode(path: &str) -> Vec<u8> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}
