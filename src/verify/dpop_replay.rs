//! The single-use check of DPoP proofs (RFC 9449 §11.1): [`ProofReplay`], the seam a shared
//! store plugs into so that a proof used at one instance is refused at every other;
//! [`MemoryProofReplay`], a bounded in-process one; and the default, the revocation store's
//! single-use markers (shared by every instance on one [`RedisStore`](crate::store::RedisStore)).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::expiring_map::ExpiringMap;
use crate::store::RevocationStore;
use crate::tenant::loader::BoxError;
use crate::time::{Clock, SharedClock, SystemClock, UnixTime};

/// The future [`ProofReplay::first_use`] returns.
pub type ReplayFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, BoxError>> + Send + 'a>>;

/// Remembers the proofs already used, so that each is accepted once.
///
/// `key` identifies one proof (a digest of its key thumbprint and `jti`, 43 base64url
/// characters); `ttl` is how long it must be remembered (the proof's acceptance window). The
/// answer is `true` the first time a key is marked, `false` after. An error refuses the request
/// with `503` (fail closed): a proof is never accepted unchecked.
///
/// By default the proofs are remembered in the revocation store
/// ([`OktaOidcBuilder::revocation_store`](crate::OktaOidcBuilder::revocation_store)), which
/// instances share when it is a [`RedisStore`](crate::store::RedisStore). Implement this trait
/// to keep them elsewhere; several instances behind a load balancer must share one store — for
/// example a database with a unique key, or Redis with `SET key 1 NX PX ttl`:
///
/// ```
/// use std::time::Duration;
/// use okta_oidc::{ProofReplay, ReplayFuture};
///
/// /// A stand-in for a shared store (Redis, a database with a unique key).
/// struct Shared(std::sync::Mutex<std::collections::HashSet<String>>);
///
/// impl ProofReplay for Shared {
///     fn first_use<'a>(&'a self, key: &'a str, _ttl: Duration) -> ReplayFuture<'a> {
///         Box::pin(async move { Ok(self.0.lock().unwrap().insert(key.to_owned())) })
///     }
/// }
/// ```
pub trait ProofReplay: Send + Sync + 'static {
    /// Marks `key` used for `ttl`; `true` when it was not marked before.
    fn first_use<'a>(&'a self, key: &'a str, ttl: Duration) -> ReplayFuture<'a>;
}

/// The in-process [`ProofReplay`]: a bounded map of the proofs seen, each until its window
/// ends. Right for one instance; several instances need a shared store.
///
/// The bound (default 100,000 proofs) is a memory cap, not a time one: when it is full, the
/// least useful entries go first, and a proof forgotten that way could be replayed within its
/// window. Size it above the proofs one instance accepts per window.
pub struct MemoryProofReplay {
    seen: ExpiringMap<Box<str>, ()>,
    clock: SharedClock,
}

impl fmt::Debug for MemoryProofReplay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryProofReplay")
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryProofReplay {
    fn default() -> Self {
        MemoryProofReplay::new(100_000)
    }
}

impl MemoryProofReplay {
    /// A store of at most about `capacity` proofs, on the system clock.
    pub fn new(capacity: usize) -> Self {
        MemoryProofReplay::with_clock(capacity, SystemClock)
    }

    /// The same on another clock (tests inject a [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(capacity: usize, clock: impl Clock) -> Self {
        MemoryProofReplay::with_shared_clock(capacity, Arc::new(clock))
    }

    pub(crate) fn with_shared_clock(capacity: usize, clock: SharedClock) -> Self {
        MemoryProofReplay {
            seen: ExpiringMap::new(capacity),
            clock,
        }
    }

    fn mark(&self, key: &str, ttl: Duration) -> bool {
        let now = UnixTime::now(self.clock.as_ref());
        let key: Box<str> = Box::from(key);
        if self.seen.contains(&key, now) {
            return false;
        }
        self.seen.insert(key, (), now.after(ttl));
        true
    }
}

impl ProofReplay for MemoryProofReplay {
    fn first_use<'a>(&'a self, key: &'a str, ttl: Duration) -> ReplayFuture<'a> {
        let first = self.mark(key, ttl);
        Box::pin(std::future::ready(Ok(first)))
    }
}

impl<T: ProofReplay> ProofReplay for Arc<T> {
    fn first_use<'a>(&'a self, key: &'a str, ttl: Duration) -> ReplayFuture<'a> {
        T::first_use(self, key, ttl)
    }
}

/// The revocation store as the replay store (the default): a proof is single use wherever the
/// store's single-use markers are — every instance that shares a
/// [`RedisStore`](crate::store::RedisStore), one instance with the embedded memory store.
pub(crate) struct StoreProofReplay(pub(crate) Arc<dyn RevocationStore>);

impl ProofReplay for StoreProofReplay {
    fn first_use<'a>(&'a self, key: &'a str, ttl: Duration) -> ReplayFuture<'a> {
        Box::pin(async move {
            self.0
                .mark_used(crate::store::DPOP_JTI, key, ttl)
                .await
                .map_err(|e| Box::new(e) as BoxError)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    #[test]
    fn a_key_is_first_used_once_per_window() {
        let clock = Arc::new(ManualClock::new(Duration::from_secs(1_000)));
        let store = MemoryProofReplay::with_shared_clock(16, clock.clone());
        let window = Duration::from_secs(60);
        assert!(store.mark("a", window));
        assert!(!store.mark("a", window));
        assert!(store.mark("b", window));
        clock.advance(Duration::from_secs(61));
        assert!(store.mark("a", window), "forgotten once its window ended");
    }
}
