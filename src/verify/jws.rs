//! Compact JWS (RFC 7515) parsing: size cap, segments, header, algorithm allow-list, `crit`,
//! the payload's registered claims; and the signature check with a key's own algorithm.

use std::time::Duration;

use crate::algorithm::Algorithm;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

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
    let alg = Algorithm::from_name(&header.alg).ok_or(TokenError::DisallowedAlgorithm)?;
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

/// Verifies the signature with the key's own algorithm.
pub(crate) fn verify_signature(parsed: &Parsed<'_>, key: &VerifyKey) -> Result<(), TokenError> {
    if key.alg != parsed.alg {
        return Err(TokenError::KeyAlgorithmMismatch);
    }
    match jsonwebtoken::crypto::verify(
        parsed.signature,
        parsed.message.as_bytes(),
        &key.key,
        key.alg.to_jsonwebtoken(),
    ) {
        Ok(true) => Ok(()),
        Ok(false) | Err(_) => Err(TokenError::InvalidSignature),
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
    fn jwt_detection() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJ9.sig"));
        assert!(!looks_like_jwt("00Tq8vS2ZcYZ0sVqL1Xa"));
        assert!(!looks_like_jwt("eyJ.a.b.c"));
    }
}
