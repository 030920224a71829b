//! Property tests (proptest) of DPoP `htu` comparison (RFC 9449 §4.3 step 9: RFC 3986 §6.2.2
//! syntax-based and §6.2.3 scheme-based normalization, query and fragment ignored), through
//! the comparison the verifier uses (`okta_oidc::__fuzz::same_uri`).
//!
//! - **Equivalent URIs compare equal**: a random `http(s)` URI against a variant of it with
//!   the scheme and host in another case (§6.2.2.1), percent-encoded unreserved characters and
//!   lowercase hex in escapes (§6.2.2.1–6.2.2.2), dot segments (§6.2.2.3), the default port
//!   written out (§6.2.3), and a query or fragment added.
//! - **Different URIs never do**: the same URI against one with another host, port or scheme,
//!   a path character changed (paths are case-sensitive), an escaped reserved character written
//!   literally (`%2F` is not `/`), a segment added or removed, or user information.
//!
//! Each property runs [`CASES`] cases. That they bite is shown by running them against
//! deliberately broken comparisons (plain string equality; a comparison that lowercases and
//! decodes everything): proptest finds a counterexample for each.
#![cfg(all(feature = "fuzzing", feature = "rust_crypto"))]

use okta_oidc::__fuzz::same_uri;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per property.
const CASES: u32 = 2_000;

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
/// Sub-delimiters and `:` `@`: allowed in a path as they are.
const PATH_LITERAL: &[u8] = b"!$&'()*+,;=:@";
/// Reserved characters that only appear escaped in a segment.
const ESCAPED: &[u8] = b"/?#%[] ";

#[derive(Clone, Debug)]
enum Piece {
    Unreserved(u8),
    Literal(u8),
    Escaped(u8),
}

#[derive(Clone, Debug)]
struct Uri {
    https: bool,
    labels: Vec<String>,
    port: Option<u16>,
    segments: Vec<Vec<Piece>>,
}

impl Uri {
    fn default_port(&self) -> u16 {
        if self.https { 443 } else { 80 }
    }

    fn authority(&self) -> String {
        let host = self.labels.join(".");
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }

    fn path(&self) -> String {
        let mut path = String::new();
        for segment in &self.segments {
            path.push('/');
            for piece in segment {
                match *piece {
                    Piece::Unreserved(c) | Piece::Literal(c) => path.push(c as char),
                    Piece::Escaped(c) => path.push_str(&format!("%{c:02X}")),
                }
            }
        }
        if path.is_empty() { "/".into() } else { path }
    }

    fn render(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}{}", self.authority(), self.path())
    }
}

fn piece() -> impl Strategy<Value = Piece> {
    prop_oneof![
        6 => prop::sample::select(UNRESERVED).prop_map(Piece::Unreserved),
        1 => prop::sample::select(PATH_LITERAL).prop_map(Piece::Literal),
        1 => prop::sample::select(ESCAPED).prop_map(Piece::Escaped),
    ]
}

fn segment() -> impl Strategy<Value = Vec<Piece>> {
    // Never a segment of dots only: "." and ".." are dot segments, removed on purpose.
    prop::collection::vec(piece(), 1..6).prop_filter("not a dot segment", |s| {
        !s.iter().all(|p| matches!(p, Piece::Unreserved(b'.')))
    })
}

fn uri() -> impl Strategy<Value = Uri> {
    // Labels start with a letter: an all-digit host is an IPv4 address, where `012` and `10`
    // are one and the same (WHATWG URL), which is not what these properties are about.
    let label = "[a-z][a-z0-9]{0,5}";
    (
        any::<bool>(),
        prop::collection::vec(label, 1..4),
        prop::option::of(1u16..=65535),
        prop::collection::vec(segment(), 0..5),
    )
        .prop_map(|(https, mut labels, port, segments)| {
            labels.push("example".into());
            Uri {
                https,
                labels,
                port,
                segments,
            }
        })
}

/// Flips the case of the letters of `s` where `mask` has a bit set.
fn recase(s: &str, mask: u64) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// An equivalent spelling of `uri`, the changes picked by the bits of `seed`.
fn equivalent(uri: &Uri, seed: u64) -> String {
    let bit = |n: u32| seed >> n & 1 == 1;
    let scheme = if uri.https { "https" } else { "http" };
    let scheme = if bit(0) {
        recase(scheme, seed >> 8)
    } else {
        scheme.into()
    };
    let host = uri.labels.join(".");
    let host = if bit(1) {
        recase(&host, seed >> 16)
    } else {
        host
    };
    let port = match uri.port {
        Some(p) => format!(":{p}"),
        None if bit(2) => format!(":{}", uri.default_port()),
        None => String::new(),
    };
    let mut path = String::new();
    for (i, segment) in uri.segments.iter().enumerate() {
        path.push('/');
        if bit(3) && i % 2 == 0 {
            path.push_str("./");
        }
        if bit(4) && i % 3 == 0 {
            path.push_str("zz/../");
        }
        for (j, piece) in segment.iter().enumerate() {
            let k = (i * 7 + j) as u32 % 24;
            match *piece {
                Piece::Unreserved(c) if bit(5) && seed >> (k + 32) & 1 == 1 => {
                    if bit(6) {
                        path.push_str(&format!("%{c:02x}"));
                    } else {
                        path.push_str(&format!("%{c:02X}"));
                    }
                }
                Piece::Unreserved(c) | Piece::Literal(c) => path.push(c as char),
                Piece::Escaped(c) if bit(7) => path.push_str(&format!("%{c:02x}")),
                Piece::Escaped(c) => path.push_str(&format!("%{c:02X}")),
            }
        }
    }
    if path.is_empty() {
        path.push('/');
    }
    let tail = match seed >> 60 {
        0 => "?q=1",
        1 => "#frag",
        2 => "?",
        3 => "?a=b&c#d",
        _ => "",
    };
    format!("{scheme}://{host}{port}{path}{tail}")
}

/// A spelling of `uri` that names another resource, the change picked by `which`.
fn different(uri: &Uri, which: u8, at: usize) -> String {
    let mut other = uri.clone();
    match which % 7 {
        0 => {
            let i = at % other.labels.len();
            other.labels[i].push('q');
        }
        1 => {
            // Two explicit ports that differ, or an explicit one that is not the default.
            other.port = Some(match uri.port {
                Some(65535) => 1,
                Some(p) => p + 1,
                None => 8443,
            });
        }
        // Another scheme is another origin, whatever the port.
        2 => other.https = !other.https,
        3 if !uri.segments.is_empty() => {
            let s = at % other.segments.len();
            let p = (at / 7) % other.segments[s].len();
            other.segments[s][p] = match other.segments[s][p] {
                Piece::Unreserved(c) if c.is_ascii_lowercase() => {
                    Piece::Unreserved(c.to_ascii_uppercase())
                }
                Piece::Unreserved(c) if c == b'z' || c == b'Z' => Piece::Unreserved(b'y'),
                Piece::Unreserved(b'0') => Piece::Unreserved(b'1'),
                Piece::Unreserved(_) => Piece::Unreserved(b'0'),
                Piece::Literal(c) => Piece::Escaped(c),
                Piece::Escaped(_) => Piece::Unreserved(b'e'),
            };
        }
        4 => {
            let escaped = other
                .segments
                .iter()
                .flatten()
                .any(|p| matches!(p, Piece::Escaped(b'/')));
            if escaped {
                // `%2F` written as `/`: another segment structure.
                for segment in &mut other.segments {
                    for piece in segment.iter_mut() {
                        if matches!(piece, Piece::Escaped(b'/')) {
                            *piece = Piece::Literal(b'/');
                        }
                    }
                }
            } else {
                other.segments.push(vec![Piece::Unreserved(b'x')]);
            }
        }
        5 if !uri.segments.is_empty() => {
            other.segments.pop();
        }
        5 | 3 => other.segments.push(vec![Piece::Unreserved(b'n')]),
        _ => {
            let rendered = other.render();
            return rendered.replacen("://", "://user@", 1);
        }
    }
    other.render()
}

fn equivalents_equal(
    same: fn(&str, &str) -> bool,
) -> impl Fn((Uri, u64)) -> Result<(), TestCaseError> {
    move |(uri, seed)| {
        let a = uri.render();
        let b = equivalent(&uri, seed);
        prop_assert!(same(&a, &b), "{} and {} are the same URI", a, b);
        prop_assert!(same(&b, &a), "{} and {} are the same URI", b, a);
        Ok(())
    }
}

fn differents_differ(
    same: fn(&str, &str) -> bool,
) -> impl Fn((Uri, u8, usize, u64)) -> Result<(), TestCaseError> {
    move |(uri, which, at, seed)| {
        let a = equivalent(&uri, seed);
        let b = different(&uri, which, at);
        prop_assert!(!same(&a, &b), "{} and {} name different resources", a, b);
        prop_assert!(!same(&b, &a), "{} and {} name different resources", b, a);
        Ok(())
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn run_equivalent(same: fn(&str, &str) -> bool) -> Result<(), TestError<(Uri, u64)>> {
    runner().run(&(uri(), any::<u64>()), equivalents_equal(same))
}

fn run_different(same: fn(&str, &str) -> bool) -> Result<(), TestError<(Uri, u8, usize, u64)>> {
    runner().run(
        &(uri(), any::<u8>(), any::<usize>(), any::<u64>()),
        differents_differ(same),
    )
}

#[test]
fn equivalent_uris_compare_equal() {
    if let Err(e) = run_equivalent(same_uri) {
        panic!("{e}");
    }
}

#[test]
fn different_uris_never_compare_equal() {
    if let Err(e) = run_different(same_uri) {
        panic!("{e}");
    }
}

/// Plain string equality misses every normalization: the first property catches it.
#[test]
fn the_property_catches_a_comparison_without_normalization() {
    let found = run_equivalent(|a, b| a == b);
    let Err(TestError::Fail(reason, (uri, seed))) = found else {
        panic!("string equality passed: {found:?}");
    };
    eprintln!(
        "string equality: {reason}: {} vs {}",
        uri.render(),
        equivalent(&uri, seed)
    );
}

/// Lowercasing and decoding everything equates different paths: the second property catches
/// it.
#[test]
fn the_property_catches_a_comparison_that_normalizes_too_much() {
    fn lenient(a: &str, b: &str) -> bool {
        let norm = |s: &str| {
            let s = s
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .to_lowercase();
            let s = s.replace(":443/", "/").replace(":80/", "/");
            url::form_urlencoded::parse(s.as_bytes())
                .map(|(k, v)| format!("{k}{v}"))
                .collect::<String>()
        };
        norm(a) == norm(b)
    }
    let found = run_different(lenient);
    let Err(TestError::Fail(reason, _)) = found else {
        panic!("a lenient comparison passed: {found:?}");
    };
    eprintln!("lenient comparison: {reason}");
}
