//! Error kinds. Their HTTP rendering lives in `middleware/challenge.rs`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;

/// Why a token was not accepted.
///
/// The variants are precise so that logs and tests can tell failures apart; what reaches the
/// client is only the coarse [`TokenError::public_description`], which reveals nothing useful to
/// an attacker.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the configured maximum (checked before any decoding).
    TooLarge {
        /// Length of the presented token in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The token is not a well-formed compact JWS (segments, base64url, JSON).
    Malformed(&'static str),
    /// The header's `alg` is not in the allow-list (this covers `none` in any casing and HMAC).
    DisallowedAlgorithm,
    /// The header lists a `crit` extension this crate does not understand.
    UnsupportedCritical,
    /// The `iss` claim names no registered tenant.
    UnknownIssuer,
    /// No key in the issuer's key set matches the token's `kid` (after one refetch).
    UnknownKey,
    /// The token has no `kid` and several keys of its algorithm are published.
    AmbiguousKey,
    /// The key named by `kid` belongs to another algorithm than the token's `alg`.
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    InvalidSignature,
    /// `exp` is in the past (beyond the leeway).
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    NotYetValid,
    /// `iat` is in the future (beyond the leeway).
    IssuedInFuture,
    /// A required claim is missing.
    MissingClaim(&'static str),
    /// A claim has the wrong type or an unusable value.
    InvalidClaim(&'static str),
    /// `aud` holds none of the tenant's accepted audiences.
    AudienceMismatch,
    /// Several audiences, and `azp` is missing or not the tenant's client id.
    AuthorizedPartyMismatch,
    /// The header `typ` is not one the tenant accepts for this kind of token.
    TypeMismatch,
    /// Okta's `cid` claim (`client_id` in introspection answers) is not the tenant's client id.
    ClientIdMismatch,
    /// Several tenants of the token's issuer could take it, and nothing in the token (`cid`,
    /// `azp`, a client id in `aud`) tells them apart.
    AmbiguousTenant,
    /// Introspection answered for another kind of token than an access token (a refresh token
    /// or an ID token sent as a bearer).
    NotAnAccessToken,
    /// The token's `nonce` is not the one sent at login.
    NonceMismatch,
    /// The ID token's `at_hash` does not match the access token.
    AccessTokenHashMismatch,
    /// Introspection said the token is not active (revoked, expired or unknown to the issuer).
    Inactive,
    /// The session cookie could not be decrypted or has expired.
    InvalidSession,
    /// The validated identity does not carry the claims the handler asked for.
    ClaimsShape,
    /// A DPoP-bound access token (`cnf.jkt`, or introspected `token_type` `DPoP`) was sent with
    /// the `Bearer` scheme (RFC 9449 §7.2): only its key holder may use it, with a proof.
    DpopBoundAsBearer,
    /// The `DPoP` scheme with an access token that is not bound to a key.
    NotDpopBound,
    /// The token's `cnf.jkt` is not the thumbprint (RFC 7638) of the proof's key.
    DpopKeyMismatch,
    /// The route requires DPoP, and the token came with the `Bearer` scheme.
    DpopRequired,
    /// The credential was revoked: its session or user was signed out (logout, Universal
    /// Logout, back-channel logout) after it was issued.
    Revoked,
    /// A single-use token (a logout token, a revocation request) was presented again.
    Replayed,
    /// A JWT that is no credential: its `typ` (`logout+jwt`, `global-token-revocation+jwt`,
    /// `secevent+jwt`, `dpop+jwt`, `oauth-id-jag+jwt`) or an `events` claim says it is a
    /// signal, a proof or a grant (RFC 8725 §3.11: explicit typing keeps one kind of JWT from
    /// being used as another).
    NotACredential,
    /// The token is bound (`cnf`, RFC 7800) to something this crate cannot verify, such as a
    /// client certificate (`x5t#S256`, RFC 8705): only the holder may use it, and the binding
    /// cannot be checked here.
    UnverifiableBinding,
    /// The credential belongs to another tenant than the one the request names (the
    /// application's [`TenantResolver`](crate::TenantResolver) picked it, by host, path or
    /// header).
    OtherTenant,
    /// An opaque token (or an Okta org authorization server's access token) for a tenant that
    /// has no client secret to introspect it with: nothing here can ever accept it.
    NoIntrospection,
}

impl TokenError {
    /// A short description that is safe to send to the client in `error_description`.
    ///
    /// Only expiry is distinguished (clients act on it by refreshing); every other failure reads
    /// the same, so a probing attacker learns nothing about keys, issuers or rules.
    pub fn public_description(&self) -> &'static str {
        match self {
            TokenError::Expired => "The access token expired",
            _ => "The access token is invalid",
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::TooLarge { len, max } => {
                write!(f, "token is {len} bytes, more than the maximum of {max}")
            }
            TokenError::Malformed(why) => write!(f, "malformed token: {why}"),
            TokenError::DisallowedAlgorithm => f.write_str("algorithm not allowed"),
            TokenError::UnsupportedCritical => f.write_str("unsupported critical header"),
            TokenError::UnknownIssuer => f.write_str("issuer is not a registered tenant"),
            TokenError::UnknownKey => f.write_str("no key matches the token's kid"),
            TokenError::AmbiguousKey => f.write_str("token has no kid and several keys match"),
            TokenError::KeyAlgorithmMismatch => f.write_str("key is not for the token's algorithm"),
            TokenError::InvalidSignature => f.write_str("signature does not verify"),
            TokenError::Expired => f.write_str("token expired"),
            TokenError::NotYetValid => f.write_str("token not valid yet (nbf)"),
            TokenError::IssuedInFuture => f.write_str("token issued in the future (iat)"),
            TokenError::MissingClaim(c) => write!(f, "missing claim `{c}`"),
            TokenError::InvalidClaim(c) => write!(f, "invalid claims: {c}"),
            TokenError::AudienceMismatch => f.write_str("audience not accepted"),
            TokenError::AuthorizedPartyMismatch => {
                f.write_str("several audiences and azp is not the client id")
            }
            TokenError::TypeMismatch => f.write_str("typ header not accepted"),
            TokenError::ClientIdMismatch => f.write_str("cid is not the client id"),
            TokenError::AmbiguousTenant => {
                f.write_str("several tenants of the issuer could take the token")
            }
            TokenError::NotAnAccessToken => {
                f.write_str("introspected token is not an access token")
            }
            TokenError::NonceMismatch => f.write_str("nonce does not match"),
            TokenError::AccessTokenHashMismatch => f.write_str("at_hash does not match"),
            TokenError::Inactive => f.write_str("token is not active (introspection)"),
            TokenError::InvalidSession => f.write_str("session cookie is invalid or expired"),
            TokenError::ClaimsShape => f.write_str("claims do not have the expected shape"),
            TokenError::DpopBoundAsBearer => f.write_str("DPoP-bound token sent as a bearer token"),
            TokenError::NotDpopBound => f.write_str("DPoP scheme with a token bound to no key"),
            TokenError::DpopKeyMismatch => {
                f.write_str("cnf.jkt is not the thumbprint of the proof's key")
            }
            TokenError::DpopRequired => f.write_str("the route requires DPoP"),
            TokenError::Revoked => f.write_str("credential revoked (signed out)"),
            TokenError::Replayed => f.write_str("single-use token presented again"),
            TokenError::NotACredential => {
                f.write_str("a logout signal, proof or grant (typ or events) is no credential")
            }
            TokenError::UnverifiableBinding => {
                f.write_str("token bound (cnf) to something this crate cannot verify")
            }
            TokenError::OtherTenant => {
                f.write_str("credential of another tenant than the one the request names")
            }
            TokenError::NoIntrospection => {
                f.write_str("opaque token, and the tenant has no client secret to introspect it")
            }
        }
    }
}

impl std::error::Error for TokenError {}

/// Why a request was not authenticated or authorized.
///
/// Converts into an HTTP response following RFC 6750: 401 for a missing or invalid credential
/// (with `WWW-Authenticate`), 403 for a missing scope, 400 for a malformed request, 503 when
/// keys or introspection are unavailable.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AuthError {
    /// No credential in the request.
    MissingCredential,
    /// The request is malformed (for example two `Authorization` headers).
    InvalidRequest(&'static str),
    /// The credential was presented and rejected.
    InvalidToken(TokenError),
    /// The tenant's signing keys could not be loaded (never loaded, or its discovery failed).
    KeysUnavailable {
        /// Issuer whose keys are unavailable.
        issuer: Arc<str>,
    },
    /// The identity lacks a required scope.
    InsufficientScope {
        /// The scopes the route requires (all of them).
        required: Arc<[String]>,
    },
    /// The user's authentication is not strong or not recent enough for the route (RFC 9470
    /// §3): `401` `insufficient_user_authentication`, with what would be (`acr_values`,
    /// `max_age`) on the challenge.
    InsufficientUserAuthentication {
        /// The authentication context classes the route accepts (any one of them), in order
        /// of preference; empty when it asks none.
        acr_values: Arc<[String]>,
        /// The longest time since the user authenticated that the route accepts.
        max_age: Option<Duration>,
    },
    /// A remote check (introspection) cannot be made now.
    TemporarilyUnavailable {
        /// When to try again, if known.
        retry_after: Option<Duration>,
    },
    /// A request with an unsafe method (`POST`, `PUT`, `PATCH`, `DELETE`, …) authenticated by
    /// a session cookie, that does not come from the application's own origin: a cross-site
    /// request forgery (`403`). Bearer-token requests are never refused for this.
    CrossSiteRequest,
    /// The DPoP proof (RFC 9449 §4.3) is missing or fails a check: 401 `invalid_dpop_proof`.
    InvalidDpopProof(ProofError),
    /// The proof lacks the server's current nonce (RFC 9449 §9): 401 `use_dpop_nonce`, with
    /// this value in the `DPoP-Nonce` header.
    UseDpopNonce {
        /// The nonce the next proof must carry.
        nonce: Arc<str>,
    },
}

impl AuthError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AuthError::MissingCredential
            | AuthError::InvalidToken(_)
            | AuthError::InvalidDpopProof(_)
            | AuthError::UseDpopNonce { .. }
            | AuthError::InsufficientUserAuthentication { .. } => StatusCode::UNAUTHORIZED,
            AuthError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            AuthError::InsufficientScope { .. } | AuthError::CrossSiteRequest => {
                StatusCode::FORBIDDEN
            }
            AuthError::KeysUnavailable { .. } | AuthError::TemporarilyUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The RFC 6750 error code, if any.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingCredential | AuthError::CrossSiteRequest => None,
            AuthError::InvalidRequest(_) => Some("invalid_request"),
            AuthError::InvalidToken(_) => Some("invalid_token"),
            AuthError::InsufficientScope { .. } => Some("insufficient_scope"),
            AuthError::InsufficientUserAuthentication { .. } => {
                Some("insufficient_user_authentication")
            }
            AuthError::KeysUnavailable { .. } | AuthError::TemporarilyUnavailable { .. } => {
                Some("temporarily_unavailable")
            }
            AuthError::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            AuthError::UseDpopNonce { .. } => Some("use_dpop_nonce"),
        }
    }

    /// A description safe to show to the client.
    pub fn public_description(&self) -> &'static str {
        match self {
            AuthError::MissingCredential => "Authentication is required",
            AuthError::InvalidRequest(why) => why,
            AuthError::InvalidToken(e) => e.public_description(),
            AuthError::InsufficientScope { .. } => "The access token lacks a required scope",
            AuthError::InsufficientUserAuthentication { .. } => {
                "A stronger or more recent authentication is required"
            }
            AuthError::KeysUnavailable { .. } => "Token verification keys are unavailable",
            AuthError::TemporarilyUnavailable { .. } => "Token verification is unavailable",
            AuthError::CrossSiteRequest => "A cross-site request cannot use the session",
            AuthError::InvalidDpopProof(_) => "The DPoP proof is invalid",
            AuthError::UseDpopNonce { .. } => "Resource server requires nonce in DPoP proof",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::MissingCredential => f.write_str("no credential presented"),
            AuthError::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            AuthError::InvalidToken(e) => write!(f, "invalid token: {e}"),
            AuthError::KeysUnavailable { issuer } => {
                write!(f, "signing keys of {issuer} are unavailable")
            }
            AuthError::InsufficientScope { required } => {
                write!(f, "missing scope (requires: {})", required.join(" "))
            }
            AuthError::InsufficientUserAuthentication {
                acr_values,
                max_age,
            } => {
                f.write_str("authentication not strong or recent enough (requires:")?;
                if !acr_values.is_empty() {
                    write!(f, " acr {}", acr_values.join(" or "))?;
                }
                if let Some(max_age) = max_age {
                    write!(f, " at most {} s ago", max_age.as_secs())?;
                }
                f.write_str(")")
            }
            AuthError::TemporarilyUnavailable { .. } => {
                f.write_str("token verification temporarily unavailable")
            }
            AuthError::CrossSiteRequest => {
                f.write_str("cross-site request with an unsafe method and the session cookie")
            }
            AuthError::InvalidDpopProof(e) => write!(f, "invalid DPoP proof: {e}"),
            AuthError::UseDpopNonce { .. } => f.write_str("DPoP proof lacks the server nonce"),
        }
    }
}

impl std::error::Error for AuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AuthError::InvalidToken(e) => Some(e),
            AuthError::InvalidDpopProof(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TokenError> for AuthError {
    fn from(e: TokenError) -> Self {
        AuthError::InvalidToken(e)
    }
}

/// Why a DPoP proof (RFC 9449 §4.3) was not accepted. As for [`TokenError`], the client sees
/// only a coarse description.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The `DPoP` scheme without a `DPoP` header.
    Missing,
    /// More than one `DPoP` header.
    Several,
    /// Not a compact JWS with a JSON header and claims, or too large.
    Malformed(&'static str),
    /// The header `typ` is not `dpop+jwt`.
    Type,
    /// The `alg` is not an asymmetric algorithm on the DPoP allow-list (this covers `none`
    /// and HMAC).
    DisallowedAlgorithm,
    /// The header has no `jwk`, or one this crate cannot use for the `alg`.
    InvalidKey(&'static str),
    /// The header `jwk` holds private key members (`d`, `p`, `q`, …, or `k`).
    PrivateKey,
    /// The signature does not verify with the header's `jwk`.
    InvalidSignature,
    /// A required claim (`jti`, `htm`, `htu`, `iat`, `ath`) is missing or of the wrong type.
    MissingClaim(&'static str),
    /// `htm` is not the request's method.
    MethodMismatch,
    /// `htu` is not the request's URI (without query and fragment).
    UriMismatch,
    /// `iat` is older than the accepted window.
    Stale,
    /// `iat` is in the future beyond the allowed skew.
    IssuedInFuture,
    /// `ath` is not the hash of the access token.
    AccessTokenHashMismatch,
    /// The `jti` was used before (a replayed proof).
    Replayed,
}

impl fmt::Display for ProofError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProofError::Missing => f.write_str("no DPoP header"),
            ProofError::Several => f.write_str("several DPoP headers"),
            ProofError::Malformed(why) => write!(f, "malformed proof: {why}"),
            ProofError::Type => f.write_str("typ is not dpop+jwt"),
            ProofError::DisallowedAlgorithm => f.write_str("algorithm not allowed"),
            ProofError::InvalidKey(why) => write!(f, "unusable jwk: {why}"),
            ProofError::PrivateKey => f.write_str("jwk holds a private key"),
            ProofError::InvalidSignature => f.write_str("signature does not verify"),
            ProofError::MissingClaim(c) => write!(f, "missing or invalid claim `{c}`"),
            ProofError::MethodMismatch => f.write_str("htm is not the request method"),
            ProofError::UriMismatch => f.write_str("htu is not the request URI"),
            ProofError::Stale => f.write_str("iat is too old"),
            ProofError::IssuedInFuture => f.write_str("iat is in the future"),
            ProofError::AccessTokenHashMismatch => f.write_str("ath does not match the token"),
            ProofError::Replayed => f.write_str("jti was used before"),
        }
    }
}

impl std::error::Error for ProofError {}

impl From<ProofError> for AuthError {
    fn from(e: ProofError) -> Self {
        AuthError::InvalidDpopProof(e)
    }
}

/// A configuration error, found when building or changing the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The issuer is not an absolute `https://` URL (or `http://` on a loopback host).
    InvalidIssuer {
        /// The configured issuer.
        issuer: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A redirect or base URL is not acceptable.
    InvalidUrl {
        /// The configured URL.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two tenants share an id, or the same (issuer, client id).
    DuplicateTenant(String),
    /// A setting has an unusable value.
    Invalid(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::InvalidIssuer { issuer, reason } => {
                write!(f, "invalid issuer {issuer:?}: {reason}")
            }
            ConfigError::InvalidUrl { url, reason } => write!(f, "invalid URL {url:?}: {reason}"),
            ConfigError::DuplicateTenant(id) => write!(f, "duplicate tenant {id:?}"),
            ConfigError::Invalid(why) => write!(f, "invalid configuration: {why}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why loading a tenant's provider metadata or keys failed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoadError {
    /// The HTTP request failed (connection, timeout, status).
    Http(String),
    /// The document was not the expected JSON, or too large.
    Document(String),
    /// Discovery returned another issuer than the configured one.
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What the discovery document said.
        found: String,
    },
    /// The key set holds no key this crate can use.
    NoUsableKeys,
    /// The issuer's host name does not resolve (DNS): a typo in the issuer far more often
    /// than an outage.
    HostNotFound {
        /// The host name.
        host: String,
        /// What the resolver said.
        detail: String,
    },
    /// A refresh was not attempted because the last one was too recent.
    CoolingDown,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Http(e) => write!(f, "HTTP error: {e}"),
            LoadError::Document(e) => write!(f, "bad document: {e}"),
            LoadError::IssuerMismatch { expected, found } => write!(
                f,
                "discovery document names issuer {found:?}, expected {expected:?}"
            ),
            LoadError::NoUsableKeys => f.write_str("key set holds no usable key"),
            LoadError::HostNotFound { host, detail } => write!(
                f,
                "host {host:?} not found (DNS: {detail}); check the issuer's spelling"
            ),
            LoadError::CoolingDown => f.write_str("refresh cooling down"),
        }
    }
}

impl std::error::Error for LoadError {}

/// A tenant could not be made ready at start-up.
#[derive(Clone, Debug)]
pub struct WarmUpError {
    /// The tenants that failed, with why.
    pub failures: Vec<(String, LoadError)>,
}

impl fmt::Display for WarmUpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tenants not ready: ")?;
        for (i, (id, e)) in self.failures.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{id}: {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WarmUpError {}
