//! [`AccessTokenSigner`]: how the application signs the access tokens its authorization server
//! issues (it owns the key: in memory, a KMS, an HSM).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use serde_json::{Map, Value};

/// The future of [`AccessTokenSigner::sign`].
pub type SignFuture<'a> = Pin<Box<dyn Future<Output = Result<String, SigningError>> + Send + 'a>>;

/// Signs the access tokens of a [`JwtBearerGrant`](super::JwtBearerGrant).
///
/// [`sign`](Self::sign) returns a compact JWS of `claims` whose protected header holds
/// `typ` (`at+jwt`, RFC 9068 §2.1), the key's `alg` (an asymmetric one: RS256, ES256, EdDSA…)
/// and its `kid`; [`jwks`](Self::jwks) returns the public keys (a JWK Set) that the
/// authorization server publishes at its `jwks_uri`, so that the layer (and anyone) can verify
/// them. Keep a retired key in the set until the tokens it signed have expired.
/// [`testing::TestAccessTokenSigner`](crate::testing::TestAccessTokenSigner) (feature
/// `test-util`) is one for tests.
pub trait AccessTokenSigner: Send + Sync + 'static {
    /// Signs `claims` with header `typ` = `typ`.
    fn sign<'a>(&'a self, typ: &'a str, claims: &'a Map<String, Value>) -> SignFuture<'a>;

    /// The public keys: `{"keys": [...]}`.
    fn jwks(&self) -> Value;
}

/// A token that could not be signed (the key store is away, the key is unusable). The token
/// endpoint answers `500 server_error` and logs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningError(String);

impl SigningError {
    /// An error that says why, for the log (never a key or a token).
    pub fn new(why: impl Into<String>) -> Self {
        SigningError(why.into())
    }
}

impl fmt::Display for SigningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "access token not signed: {}", self.0)
    }
}

impl std::error::Error for SigningError {}
