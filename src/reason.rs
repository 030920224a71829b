//! The closed set of refusal reasons: a short, stable name for every [`AuthError`] and
//! [`TokenError`], what the rejection log line says and what a metric label may hold.

use crate::error::{AuthError, TokenError};

impl TokenError {
    /// A short, stable name of this reason (`audience`, `expired`, `signature`, …), one of
    /// [`REJECTION_REASONS`]: what the rejection log line says, fit for a metric label.
    pub fn reason(&self) -> &'static str {
        match self {
            TokenError::TooLarge { .. } => "too_large",
            TokenError::Malformed(_) | TokenError::UnsupportedCritical => "malformed",
            TokenError::DisallowedAlgorithm => "algorithm",
            TokenError::UnknownIssuer => "issuer",
            TokenError::UnknownKey | TokenError::AmbiguousKey => "unknown_key",
            TokenError::KeyAlgorithmMismatch => "key_algorithm",
            TokenError::InvalidSignature => "signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid | TokenError::IssuedInFuture => "not_yet_valid",
            TokenError::MissingClaim(_) | TokenError::InvalidClaim(_) => "claims",
            TokenError::AudienceMismatch => "audience",
            TokenError::AuthorizedPartyMismatch => "authorized_party",
            TokenError::TypeMismatch | TokenError::NotAnAccessToken => "token_type",
            TokenError::ClientIdMismatch => "client_id",
            TokenError::AmbiguousTenant => "ambiguous_tenant",
            TokenError::NonceMismatch | TokenError::AccessTokenHashMismatch => "login_binding",
            TokenError::Inactive => "inactive",
            TokenError::InvalidSession => "session",
            TokenError::ClaimsShape => "claims_shape",
            TokenError::DpopBoundAsBearer => "dpop_bound_as_bearer",
            TokenError::NotDpopBound | TokenError::DpopKeyMismatch => "dpop_binding",
            TokenError::DpopRequired => "dpop_required",
            TokenError::Revoked => "revoked",
            TokenError::Replayed => "replayed",
            TokenError::NotACredential => "not_a_credential",
            TokenError::UnverifiableBinding => "unverifiable_binding",
            TokenError::OtherTenant => "other_tenant",
            TokenError::NoIntrospection => "no_introspection",
        }
    }
}

impl AuthError {
    /// A short, stable name of why the request was refused, one of [`REJECTION_REASONS`]:
    /// `missing`, a token's [`TokenError::reason`], `scope`, `dpop_proof`, `unavailable`, …
    /// The rejection log line names it, and it is fit for a metric label (a closed set).
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingCredential => "missing",
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::InvalidToken(e) => e.reason(),
            AuthError::KeysUnavailable { .. } | AuthError::TemporarilyUnavailable { .. } => {
                "unavailable"
            }
            AuthError::InsufficientScope { .. } => "scope",
            AuthError::InsufficientUserAuthentication { .. } => "user_authentication",
            AuthError::CrossSiteRequest => "cross_site",
            AuthError::InvalidDpopProof(_) => "dpop_proof",
            AuthError::UseDpopNonce { .. } => "dpop_nonce",
        }
    }
}

/// Every name [`AuthError::reason`] (and [`TokenError::reason`]) can answer: a closed set, so
/// that a log filter or a metric label never sees anything else.
pub const REJECTION_REASONS: &[&str] = &[
    "missing",
    "invalid_request",
    "too_large",
    "malformed",
    "algorithm",
    "issuer",
    "unknown_key",
    "key_algorithm",
    "signature",
    "expired",
    "not_yet_valid",
    "claims",
    "audience",
    "authorized_party",
    "token_type",
    "client_id",
    "ambiguous_tenant",
    "login_binding",
    "inactive",
    "session",
    "claims_shape",
    "dpop_bound_as_bearer",
    "dpop_binding",
    "dpop_required",
    "revoked",
    "replayed",
    "not_a_credential",
    "unverifiable_binding",
    "other_tenant",
    "no_introspection",
    "unavailable",
    "scope",
    "user_authentication",
    "cross_site",
    "dpop_proof",
    "dpop_nonce",
];
