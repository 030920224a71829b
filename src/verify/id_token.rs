//! The extra rules of a login's ID token (OpenID Connect Core §3.1.3.7): the `nonce` sent at
//! login, and `at_hash` against the access token issued with it (§3.1.3.6).

use crate::algorithm::Algorithm;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::claims::StandardClaims;
use crate::error::TokenError;

/// `nonce` equals the login's (compared in constant time); `at_hash`, when present and an access
/// token came with the ID token, matches it.
pub(crate) fn check(
    claims: &StandardClaims,
    alg: Algorithm,
    nonce: &str,
    access_token: Option<&str>,
) -> Result<(), TokenError> {
    match claims.nonce.as_deref() {
        Some(n) if bool::from(n.as_bytes().ct_eq(nonce.as_bytes())) => {}
        _ => return Err(TokenError::NonceMismatch),
    }
    if let (Some(expected), Some(at)) = (claims.at_hash.as_deref(), access_token)
        && at_hash(alg, at) != expected
    {
        return Err(TokenError::AccessTokenHashMismatch);
    }
    Ok(())
}

/// The left half of the access token's hash with the ID token's algorithm's hash function.
fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let bytes = access_token.as_bytes();
    let digest: Vec<u8> = match alg {
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => Sha256::digest(bytes).to_vec(),
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => Sha384::digest(bytes).to_vec(),
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => Sha512::digest(bytes).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_hash_example() {
        // OpenID Connect Core, Appendix A.3.
        assert_eq!(
            at_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
