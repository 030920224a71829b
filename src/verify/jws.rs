//! Compact JWS (RFC 7515) parsing: size cap, segments, header, algorithm allow-list, `crit`,
//! the payload's registered claims; and the signature check with a key's own algorithm.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

use crate::algorithm::Algorithm;

use crate::claims::StandardClaims;
use crate::error::TokenError;
use crate::provider::jwk::VerifyKey;

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

/// The JOSE header fields this crate reads, borrowed from the decoded header where JSON allows
/// (a string with escapes is copied). `jku`, `x5u`, `jwk` and `x5c` are deliberately not read:
/// keys come only from the tenant's published key set.
#[derive(Deserialize)]
pub(crate) struct Header<'h> {
    #[serde(borrow)]
    alg: Text<'h>,
    #[serde(default, borrow)]
    pub(crate) kid: Option<Text<'h>>,
    #[serde(default, borrow)]
    pub(crate) typ: Option<Text<'h>>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

/// A JSON string borrowed from the input, or copied when it holds escapes.
pub(crate) struct Text<'h>(Cow<'h, str>);

impl Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'h, 'h> Deserialize<'de> for Text<'h> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
        }
        d.deserialize_str(V).map(Text)
    }
}

/// Where a token's header is decoded: on the stack (Okta's, `{"kid":…,"alg":"RS256"}`, take
/// about 70 bytes), on the heap only for a header longer than [`HeaderBuf::STACK`] bytes. The
/// caller owns it, so the parsed header can borrow from it for as long as the token is being
/// verified.
pub(crate) struct HeaderBuf {
    stack: [u8; HeaderBuf::STACK],
    heap: Vec<u8>,
}

impl HeaderBuf {
    /// Room for any usual header, and small enough that a verification's future (which holds
    /// this buffer) stays within 1 KB, the allocator's per-thread cache, when it is boxed.
    const STACK: usize = 112;

    pub(crate) fn new() -> Self {
        HeaderBuf {
            stack: [0; HeaderBuf::STACK],
            heap: Vec::new(),
        }
    }

    /// The decoded bytes of `b64`, or `None` when it is not base64url.
    fn decode(&mut self, b64: &str) -> Option<&[u8]> {
        let len = decoded_len(b64.len())?;
        let out = if len <= HeaderBuf::STACK {
            &mut self.stack[..len]
        } else {
            self.heap.resize(len, 0);
            &mut self.heap[..]
        };
        let written = URL_SAFE_NO_PAD.decode_slice(b64, out).ok()?;
        Some(&out[..written])
    }
}

/// The exact decoded length of unpadded base64 of `len` characters (`None`: no such length).
fn decoded_len(len: usize) -> Option<usize> {
    let tail = match len % 4 {
        0 => 0,
        2 => 1,
        3 => 2,
        _ => return None,
    };
    Some(len / 4 * 3 + tail)
}

/// A token split and decoded, before any check that needs keys. Borrows the token and the
/// caller's [`HeaderBuf`].
pub(crate) struct Parsed<'a> {
    pub(crate) header: Header<'a>,
    pub(crate) alg: Algorithm,
    pub(crate) claims: StandardClaims,
    /// The payload as received (JSON text), exactly its own length on the heap.
    pub(crate) raw_claims: String,
    pub(crate) message: &'a str,
    pub(crate) signature: &'a str,
}

/// Whether a bearer value looks like a compact JWS: three base64url segments (two dots), the
/// first an encoded JSON object (`eyJ`). One pass without early exit, which the compiler
/// vectorises (90 ns for a 900-byte token; splitting and checking byte by byte took 700 ns).
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    // 32 bytes at a time with byte-wide counters: the shape the compiler turns into SIMD.
    let (mut dots, mut alphabet) = (0u32, true);
    let mut chunks = token.as_bytes().chunks_exact(32);
    for chunk in &mut chunks {
        let (mut chunk_dots, mut chunk_ok) = (0u8, true);
        for &b in chunk {
            chunk_dots += u8::from(b == b'.');
            chunk_ok &= is_base64url(b) | (b == b'.');
        }
        dots += u32::from(chunk_dots);
        alphabet &= chunk_ok;
    }
    for &b in chunks.remainder() {
        dots += u32::from(b == b'.');
        alphabet &= is_base64url(b) | (b == b'.');
    }
    token.starts_with("eyJ") && dots == 2 && alphabet
}

/// A byte of the base64url alphabet (RFC 4648 §5), without branches.
#[inline]
pub(crate) fn is_base64url(b: u8) -> bool {
    (b.wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'A') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'-')
        | (b == b'_')
}

/// Splits, decodes and parses a token, applying the checks that need no key: size, shape,
/// algorithm allow-list, `crit`. The header is decoded into `header_buf` and read in place;
/// the payload is decoded once, into a buffer of exactly its length that becomes the raw
/// claims.
pub(crate) fn parse<'a>(
    token: &'a str,
    options: &ValidationOptions,
    header_buf: &'a mut HeaderBuf,
) -> Result<Parsed<'a>, TokenError> {
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
    if signature.is_empty() {
        return Err(TokenError::Malformed("empty signature"));
    }
    let header_json = header_buf
        .decode(header_b64)
        .ok_or(TokenError::Malformed("header is not base64url"))?;
    if header_json.first() != Some(&b'{') {
        return Err(TokenError::Malformed("header is not a JSON object"));
    }
    let header: Header<'a> = serde_json::from_slice(header_json)
        .map_err(|_| TokenError::Malformed("header is not a JOSE header"))?;
    // `none`, HMAC and anything else outside the allow-list stop here, in any casing.
    let alg = Algorithm::from_name(&header.alg).ok_or(TokenError::DisallowedAlgorithm)?;
    if !options.algorithms.contains(&alg) {
        return Err(TokenError::DisallowedAlgorithm);
    }
    if header.crit.is_some() {
        return Err(TokenError::UnsupportedCritical);
    }
    // A fourth segment fails the payload's base64url decoding (`.` is not in its alphabet), so
    // the payload is scanned once; the reason is told apart only on that error path.
    let malformed_payload = || {
        TokenError::Malformed(if payload_b64.contains('.') {
            "more than three segments"
        } else {
            "payload is not base64url"
        })
    };
    let mut payload = zeroed(decoded_len(payload_b64.len()).ok_or_else(malformed_payload)?);
    let written = URL_SAFE_NO_PAD
        .decode_slice(payload_b64, &mut payload)
        .map_err(|_| malformed_payload())?;
    payload.truncate(written);
    let raw_claims =
        String::from_utf8(payload).map_err(|_| TokenError::Malformed("payload is not UTF-8"))?;
    if !raw_claims.trim_start().starts_with('{') {
        return Err(TokenError::Malformed("payload is not a JSON object"));
    }
    let claims: StandardClaims = serde_json::from_str(&raw_claims).map_err(|e| {
        if e.is_data() {
            TokenError::InvalidClaim("a registered claim has the wrong type")
        } else {
            TokenError::Malformed("payload is not a JSON object")
        }
    })?;
    Ok(Parsed {
        header,
        alg,
        claims,
        raw_claims,
        message,
        signature,
    })
}

/// `len` zero bytes, allocated then zeroed: `vec![0; len]` asks the allocator for zeroed
/// memory (calloc), which glibc serves without its per-thread cache, at twice the cost.
#[allow(clippy::slow_vector_initialization)]
fn zeroed(len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len);
    bytes.resize(len, 0);
    bytes
}

/// Largest signature accepted, decoded: RSA-8192's 1,024 bytes (ES384's is 96, EdDSA's 64).
const MAX_SIGNATURE_BYTES: usize = 1024;

/// Verifies the signature with the key's own algorithm: the signature is decoded into a stack
/// buffer and checked by the key parsed when its key set was loaded.
pub(crate) fn verify_signature(parsed: &Parsed<'_>, key: &VerifyKey) -> Result<(), TokenError> {
    if key.alg != parsed.alg {
        return Err(TokenError::KeyAlgorithmMismatch);
    }
    let mut buf = [0u8; MAX_SIGNATURE_BYTES];
    let signature = decoded_len(parsed.signature.len())
        .filter(|len| *len <= MAX_SIGNATURE_BYTES)
        .and_then(|len| {
            URL_SAFE_NO_PAD
                .decode_slice(parsed.signature, &mut buf[..len])
                .ok()
        })
        .map(|written| &buf[..written])
        .ok_or(TokenError::InvalidSignature)?;
    if key.key.verify(parsed.message.as_bytes(), signature) {
        Ok(())
    } else {
        Err(TokenError::InvalidSignature)
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
        assert!(parse(&ok, &o, &mut HeaderBuf::new()).is_ok());
        for bad in ["", "a", "a.b", "a.b.c.d", "!!.b.c", &format!("{ok}.x")] {
            assert!(
                matches!(
                    parse(bad, &o, &mut HeaderBuf::new()),
                    Err(TokenError::Malformed(_))
                ),
                "{bad}"
            );
        }
        let no_sig = ok.rsplit_once('.').unwrap().0.to_owned() + ".";
        assert!(matches!(
            parse(&no_sig, &o, &mut HeaderBuf::new()),
            Err(TokenError::Malformed(_))
        ));
        let big = "a".repeat(o.max_token_bytes + 1);
        assert!(matches!(
            parse(&big, &o, &mut HeaderBuf::new()),
            Err(TokenError::TooLarge { .. })
        ));
    }

    #[test]
    fn algorithm_allow_list() {
        let o = ValidationOptions::default();
        for alg in [
            "none", "None", "NONE", "nOnE", "HS256", "rs256", "ES256", "",
        ] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"iss":"a"}"#);
            assert!(
                matches!(
                    parse(&t, &o, &mut HeaderBuf::new()),
                    Err(TokenError::DisallowedAlgorithm)
                ),
                "{alg}"
            );
        }
        let crit = token(
            r#"{"alg":"RS256","crit":["exp"],"exp":1}"#,
            r#"{"iss":"a"}"#,
        );
        assert!(matches!(
            parse(&crit, &o, &mut HeaderBuf::new()),
            Err(TokenError::UnsupportedCritical)
        ));
    }

    #[test]
    fn claim_types() {
        let o = ValidationOptions::default();
        let t = token(r#"{"alg":"RS256"}"#, r#"{"iss":"a","exp":"1700000000"}"#);
        assert!(matches!(
            parse(&t, &o, &mut HeaderBuf::new()),
            Err(TokenError::InvalidClaim(_))
        ));
        let t = token(r#"{"alg":"RS256"}"#, r#"[1,2]"#);
        assert!(matches!(
            parse(&t, &o, &mut HeaderBuf::new()),
            Err(TokenError::InvalidClaim(_) | TokenError::Malformed(_))
        ));
        let t = token(r#"{"alg":"RS256"}"#, r#"{"iss":"a","iss":"b"}"#);
        assert!(parse(&t, &o, &mut HeaderBuf::new()).is_err());
    }

    #[test]
    fn header_read_in_place_or_copied() {
        let o = ValidationOptions::default();
        let mut buf = HeaderBuf::new();
        let t = token(
            r#"{"alg":"RS256","kid":"a\/b","typ":"JWT"}"#,
            r#"{"iss":"a"}"#,
        );
        let parsed = parse(&t, &o, &mut buf).unwrap();
        assert_eq!(parsed.header.kid.as_deref(), Some("a/b"));
        assert_eq!(parsed.header.typ.as_deref(), Some("JWT"));
        // The payload buffer is exactly the claims' length: nothing to shrink for the identity.
        assert_eq!(parsed.raw_claims, r#"{"iss":"a"}"#);
        assert_eq!(parsed.raw_claims.capacity(), parsed.raw_claims.len());
        // A header longer than the stack buffer is decoded on the heap, the same way.
        let long = format!(r#"{{"alg":"RS256","kid":"k","x":"{}"}}"#, "y".repeat(1000));
        let t = token(&long, r#"{"iss":"a"}"#);
        let parsed = parse(&t, &o, &mut buf).unwrap();
        assert_eq!(parsed.header.kid.as_deref(), Some("k"));
        for bad in [
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"kid":"k"}"#,
            r#"{"alg":"RS256""#,
        ] {
            let t = token(bad, r#"{"iss":"a"}"#);
            assert!(
                matches!(parse(&t, &o, &mut buf), Err(TokenError::Malformed(_))),
                "{bad}"
            );
        }
        // A base64url segment of an impossible length (4n + 1) is refused, not truncated.
        let mut payload = b64(r#"{"iss":"a"}"#);
        while payload.len() % 4 != 1 {
            payload.push('A');
        }
        let t = format!("{}.{payload}.c2ln", b64(r#"{"alg":"RS256"}"#));
        assert!(matches!(
            parse(&t, &o, &mut buf),
            Err(TokenError::Malformed("payload is not base64url"))
        ));
    }

    #[test]
    fn jwt_detection() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.sig"));
        assert!(!looks_like_jwt("00Tq8vS2ZcYZ0sVqL1Xa"));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
        assert!(!looks_like_jwt("eyJ.a"));
        assert!(!looks_like_jwt("eyJ"));
        assert!(!looks_like_jwt("eyI.a.b"));
        // Every byte, in every segment, as the plain definition says.
        let plain = |t: &str| {
            t.split('.').count() == 3
                && t.starts_with("eyJ")
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        for b in 0..=255u8 {
            let c = char::from(b);
            for t in [
                format!("eyJ{c}.a.b"),
                format!("eyJa.{c}.b"),
                format!("eyJa.a.b{c}"),
                format!("eyJa.a.{}{c}", "x".repeat(70)),
            ] {
                assert_eq!(looks_like_jwt(&t), plain(&t), "{t:?}");
            }
        }
    }
}
