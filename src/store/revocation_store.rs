//! [`RevocationStore`]: the one trait both stores implement, and its error.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::mirror::RevocationMirror;
use super::revocation::Revocation;

/// The future of a store operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A store operation that did not happen.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreError {
    /// The shared store cannot be reached now (or did not answer in time).
    Unavailable(String),
    /// The store is full (a bound of the memory store on single-use markers of one kind that
    /// refuses rather than forgets: logout signals).
    Full,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(why) => write!(f, "revocation store unavailable: {why}"),
            StoreError::Full => f.write_str("revocation store is full"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Where revocations and single-use markers are kept: [`MemoryStore`](super::MemoryStore)
/// for one instance, [`RedisStore`](super::RedisStore) (feature `redis`) for many.
///
/// The request path reads only [`mirror`](Self::mirror); the other methods are called off it
/// (by the logout endpoints, the login callback and logout).
pub trait RevocationStore: Send + Sync + 'static {
    /// The local copy of every revocation that has not expired, which the verifier reads.
    fn mirror(&self) -> &RevocationMirror;

    /// Records `revocation` so that every instance sees it, and resolves once it is recorded
    /// (an error when it could not be: the caller must not report success). The store also
    /// applies it to its own mirror.
    fn record<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, ()>;

    /// Marks `key` of `kind` (`"login-state"`, `"logout-jti"`, a DPoP proof's `jti`…) used for
    /// `ttl`: `Ok(true)` the first time, on any instance, `Ok(false)` after. An error when it
    /// cannot be decided: the caller refuses the request (fail closed).
    fn mark_used<'a>(&'a self, kind: &'a str, key: &'a str, ttl: Duration)
    -> StoreFuture<'a, bool>;

    /// Whether every instance of the app shares this store (default `false`; `true` for
    /// [`RedisStore`](super::RedisStore)). With a store that is not shared, a single-use marker
    /// holds on one instance only: a captured Universal Logout request can be replayed to
    /// another instance before its `exp`, so [`LogoutEndpoints`](crate::LogoutEndpoints) logs a
    /// warning when made with one.
    fn is_shared(&self) -> bool {
        false
    }
}
