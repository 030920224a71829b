//! DPoP proofs on the resource server (RFC 9449 §4.3 and §7.1): every check of a proof sent
//! with `Authorization: DPoP <token>`, and the binding of the token to the proof's key.
//!
//! A proof is its own kind of JWS: its key comes from its own header (`jwk`), which the access
//! token parser (`jws.rs`) deliberately never reads, so proofs have this parse path; the
//! signature check is the same primitive.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::dpop_config::Dpop;
use super::dpop_key::{ProofKey, proof_key};
use super::dpop_nonce::ServerNonces;
use super::dpop_replay::{ProofReplay, StoreProofReplay};
use crate::algorithm::Algorithm;
use crate::claims::StandardClaims;
use crate::error::{AuthError, ConfigError, ProofError, TokenError};
use crate::store::RevocationStore;
use crate::time::SharedClock;

/// Largest proof accepted, checked before any decoding (an RSA-4096 proof is under 2 KiB).
const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted.
const MAX_JTI_BYTES: usize = 256;

/// The DPoP settings in force, ready for requests.
pub(crate) struct DpopVerifier {
    algorithms: Vec<Algorithm>,
    /// The algorithms as the challenge's `algs` lists them.
    algs: Arc<str>,
    max_age: Duration,
    clock_skew: Duration,
    required: bool,
    nonces: Option<ServerNonces>,
    replay: Arc<dyn ProofReplay>,
    clock: SharedClock,
    /// The origin of the configured resource: the base of `htu` for tenants without their own.
    default_origin: Option<Box<str>>,
}

impl fmt::Debug for DpopVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopVerifier")
            .field("algs", &self.algs)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// The request a proof is checked against.
pub(crate) struct ProofTarget<'a> {
    /// The request method, as sent.
    pub(crate) method: &'a str,
    /// The URI the client used: the resource's origin and the request's path.
    pub(crate) uri: &'a str,
}

/// The proof's JOSE header: `jwk` is read here, and only here.
#[derive(Deserialize)]
struct ProofHeader {
    #[serde(default)]
    typ: Option<String>,
    alg: String,
    #[serde(default)]
    jwk: Option<Map<String, Value>>,
    #[serde(default)]
    crit: Option<Value>,
}

/// The proof's claims (RFC 9449 §4.2).
#[derive(Deserialize)]
struct ProofClaims {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    htm: Option<String>,
    #[serde(default)]
    htu: Option<String>,
    #[serde(default)]
    iat: Option<serde_json::Number>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

impl DpopVerifier {
    pub(crate) fn new(
        config: Dpop,
        clock: SharedClock,
        default_origin: Option<String>,
        store: Arc<dyn RevocationStore>,
    ) -> Result<Self, ConfigError> {
        if config.algorithms.is_empty() {
            return Err(ConfigError::Invalid("DPoP allows no algorithm"));
        }
        if config.max_age.is_zero() {
            return Err(ConfigError::Invalid("DPoP proof_max_age is zero"));
        }
        let algs = config
            .algorithms
            .iter()
            .map(|a| a.name())
            .collect::<Vec<_>>()
            .join(" ");
        let replay = config
            .replay
            .unwrap_or_else(|| Arc::new(StoreProofReplay(store)));
        Ok(DpopVerifier {
            algorithms: config.algorithms,
            algs: algs.into(),
            max_age: config.max_age,
            clock_skew: config.clock_skew,
            required: config.required,
            nonces: config
                .nonce_secret
                .map(|secret| ServerNonces::new(secret, config.nonce_lifetime)),
            replay,
            clock,
            default_origin: default_origin.map(String::into_boxed_str),
        })
    }

    /// The origin `htu` is checked against for tenants without their own resource.
    pub(crate) fn default_origin(&self) -> Option<&str> {
        self.default_origin.as_deref()
    }

    /// The server nonce of this moment, with server nonces on: handed out on every answer to a
    /// DPoP request (RFC 9449 §9), so that a client's next proof carries it before the one it
    /// used stops being accepted.
    pub(crate) fn current_nonce(&self) -> Option<String> {
        let nonces = self.nonces.as_ref()?;
        Some(nonces.current(self.clock.now()))
    }

    /// The accepted algorithms, space-separated.
    pub(crate) fn algs(&self) -> &Arc<str> {
        &self.algs
    }

    /// The accepted algorithms.
    pub(crate) fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    /// Whether every route requires DPoP.
    pub(crate) fn required(&self) -> bool {
        self.required
    }

    /// Checks a proof for `token` (whose claims are `claims`) sent to `target`, in the order
    /// of RFC 9449 §4.3; the `jti` is marked used last, once everything else holds.
    pub(crate) async fn check(
        &self,
        proof: &str,
        token: &str,
        claims: &StandardClaims,
        target: &ProofTarget<'_>,
    ) -> Result<(), AuthError> {
        if !claims.is_dpop_bound() {
            return Err(TokenError::NotDpopBound.into());
        }
        let (key, proof_claims) = self.verified(proof)?;
        let jti = proof_claims
            .jti
            .as_deref()
            .filter(|j| !j.is_empty() && j.len() <= MAX_JTI_BYTES)
            .ok_or(ProofError::MissingClaim("jti"))?;
        let htm = proof_claims.htm.as_deref();
        if htm.ok_or(ProofError::MissingClaim("htm"))? != target.method {
            return Err(ProofError::MethodMismatch.into());
        }
        let htu = proof_claims
            .htu
            .as_deref()
            .ok_or(ProofError::MissingClaim("htu"))?;
        if !same_uri(htu, target.uri) {
            return Err(ProofError::UriMismatch.into());
        }
        self.check_nonce(proof_claims.nonce.as_deref())?;
        self.check_iat(proof_claims.iat.as_ref())?;
        let ath = proof_claims
            .ath
            .as_deref()
            .ok_or(ProofError::MissingClaim("ath"))?;
        if ath != URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())) {
            return Err(ProofError::AccessTokenHashMismatch.into());
        }
        if claims.dpop_thumbprint() != Some(key.thumbprint.as_str()) {
            return Err(TokenError::DpopKeyMismatch.into());
        }
        self.mark_used(&key.thumbprint, jti).await
    }

    /// Parses a proof and verifies its signature with its own `jwk`: size, segments, `typ`,
    /// algorithm allow-list, `crit`, key, signature, claims.
    fn verified(&self, proof: &str) -> Result<(ProofKey, ProofClaims), ProofError> {
        if proof.len() > MAX_PROOF_BYTES {
            return Err(ProofError::Malformed("proof too large"));
        }
        let mut parts = proof.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(ProofError::Malformed("not three segments"));
        };
        let header: ProofHeader = decode_json(header_b64)?;
        let typ = header.typ.as_deref().unwrap_or("");
        if !typ.eq_ignore_ascii_case("dpop+jwt") {
            return Err(ProofError::Type);
        }
        let alg = Algorithm::from_name(&header.alg)
            .filter(|a| self.algorithms.contains(a))
            .ok_or(ProofError::DisallowedAlgorithm)?;
        if header.crit.is_some() {
            return Err(ProofError::Malformed("unsupported crit"));
        }
        let jwk = header
            .jwk
            .as_ref()
            .ok_or(ProofError::InvalidKey("no jwk"))?;
        let key = proof_key(jwk, alg)?;
        let message = &proof[..header_b64.len() + 1 + claims_b64.len()];
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| ProofError::InvalidSignature)?;
        if !key.key.verify(message.as_bytes(), &signature) {
            return Err(ProofError::InvalidSignature);
        }
        let claims: ProofClaims = decode_json(claims_b64)?;
        Ok((key, claims))
    }

    fn check_nonce(&self, nonce: Option<&str>) -> Result<(), AuthError> {
        let Some(nonces) = &self.nonces else {
            return Ok(());
        };
        let now = self.clock.now();
        if nonce.is_some_and(|n| nonces.accepts(n, now)) {
            return Ok(());
        }
        Err(AuthError::UseDpopNonce {
            nonce: nonces.current(now).into(),
        })
    }

    /// `iat` no older than the maximum age, and no further ahead than the skew.
    fn check_iat(&self, iat: Option<&serde_json::Number>) -> Result<(), ProofError> {
        let iat = iat
            .and_then(|n| n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)))
            .ok_or(ProofError::MissingClaim("iat"))?;
        let now = i64::try_from(self.clock.now().as_secs()).unwrap_or(i64::MAX);
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        if iat > now.saturating_add(secs(self.clock_skew)) {
            return Err(ProofError::IssuedInFuture);
        }
        if iat < now.saturating_sub(secs(self.max_age)) {
            return Err(ProofError::Stale);
        }
        Ok(())
    }

    /// Marks the proof used, for as long as it could be accepted.
    async fn mark_used(&self, thumbprint: &str, jti: &str) -> Result<(), AuthError> {
        let mut hasher = Sha256::new();
        hasher.update(thumbprint.as_bytes());
        hasher.update([0]);
        hasher.update(jti.as_bytes());
        let key = URL_SAFE_NO_PAD.encode(hasher.finalize());
        let ttl = self.max_age + self.clock_skew;
        match self.replay.first_use(&key, ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ProofError::Replayed.into()),
            Err(error) => {
                tracing::warn!(%error, "DPoP replay store unavailable");
                Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(Duration::from_secs(1)),
                })
            }
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, ProofError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ProofError::Malformed("a segment is not base64url"))?;
    if bytes.first() != Some(&b'{') {
        return Err(ProofError::Malformed("a segment is not a JSON object"));
    }
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed("a segment is not valid"))
}

/// Whether two `http(s)` URIs are the same once normalized (RFC 9449 §4.3 step 9: RFC 3986
/// §6.2.2 syntax-based and §6.2.3 scheme-based normalization), ignoring query and fragment.
pub(crate) fn same_uri(a: &str, b: &str) -> bool {
    match (normalized(a), normalized(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Scheme and host lowercased, default port dropped, dot segments removed (all by `url`),
/// percent-encoded unreserved characters decoded and other escapes uppercased; no query,
/// fragment or user information. A path with a `%` that starts no escape (RFC 3986 §2.1:
/// `%` and two hex digits) has no normal form: refused.
pub(crate) fn normalized(uri: &str) -> Option<String> {
    let mut url = url::Url::parse(uri).ok()?;
    if !matches!(url.scheme(), "https" | "http") || url.cannot_be_a_base() {
        return None;
    }
    if !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    url.set_query(None);
    url.set_fragment(None);
    let path = normalize_escapes(url.path())?;
    url.set_path(&path);
    Some(url.into())
}

/// `None` for a `%` without two hex digits after it: decoding what follows it (`%%61` to `%a`)
/// would make a new escape, so the normal form would change when normalized again.
fn normalize_escapes(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            let decoded = (hi * 16 + lo) as u8;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(decoded as char);
            } else {
                out.push_str(&format!("%{decoded:02X}"));
            }
            i += 3;
        } else if bytes[i] == b'%' {
            return None;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_normalization() {
        let same = [
            ("https://API.example.com/a", "https://api.example.com/a"),
            ("HTTPS://api.example.com:443/a", "https://api.example.com/a"),
            (
                "https://api.example.com/a/./b/../c",
                "https://api.example.com/a/c",
            ),
            (
                "https://api.example.com/%7euser",
                "https://api.example.com/~user",
            ),
            (
                "https://api.example.com/a%2fb",
                "https://api.example.com/a%2Fb",
            ),
            (
                "https://api.example.com/a?x=1#f",
                "https://api.example.com/a",
            ),
            ("http://127.0.0.1:8080/a", "http://127.0.0.1:8080/a"),
        ];
        for (a, b) in same {
            assert!(same_uri(a, b), "{a} = {b}");
        }
        let different = [
            ("https://api.example.com/a", "https://api.example.com/b"),
            ("https://api.example.com/a", "http://api.example.com/a"),
            (
                "https://api.example.com:8443/a",
                "https://api.example.com/a",
            ),
            ("https://evil.example.com/a", "https://api.example.com/a"),
            ("https://u:p@api.example.com/a", "https://api.example.com/a"),
            ("https://api.example.com/A", "https://api.example.com/a"),
            ("not a uri", "not a uri"),
        ];
        for (a, b) in different {
            assert!(!same_uri(a, b), "{a} != {b}");
        }
    }

    /// Found by the `htu` fuzz target: `%%61` decoded its second escape into `%a`, which the
    /// next normalization read as a new escape (`%A2`): the normal form was not stable. A `%`
    /// that starts no escape (RFC 3986 §2.1) is refused instead.
    #[test]
    fn a_percent_that_starts_no_escape_is_refused() {
        for uri in [
            "https://api.example.com/m/a%2Fb%%6123",
            "https://api.example.com/a%",
            "https://api.example.com/a%4",
            "https://api.example.com/a%zz",
        ] {
            assert_eq!(normalized(uri), None, "{uri}");
            assert!(!same_uri(uri, uri), "{uri}");
        }
        assert_eq!(
            normalized("https://api.example.com/a%25%61").as_deref(),
            Some("https://api.example.com/a%25a")
        );
    }
}
