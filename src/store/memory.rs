//! [`MemoryStore`]: revocations and single-use markers in this process (one instance).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::mirror::RevocationMirror;
use super::revocation::Revocation;
use super::revocation_store::{RevocationStore, StoreError, StoreFuture};
use crate::time::{Clock, SharedClock, SystemClock, UnixTime};

/// Most single-use markers kept at once; past it (after dropping expired ones) a new marker is
/// refused rather than an old one forgotten, which would let it be replayed.
const MAX_MARKERS: usize = 1_000_000;

/// The embedded store (the default): the mirror is the store. Revocations and markers live as
/// long as the process; an app with several instances needs
/// [`RedisStore`](super::RedisStore) instead.
///
/// ```
/// use okta_oidc::store::MemoryStore;
/// use okta_oidc::{OktaOidc, Tenant};
///
/// # fn build() -> Result<OktaOidc, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
///     .revocation_store(MemoryStore::new())
///     .build_lazy()?;
/// # Ok(oidc) }
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    mirror: RevocationMirror,
    markers: Mutex<HashMap<String, UnixTime>>,
    clock: SharedClock,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("mirror", &self.inner.mirror)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// An empty store on `clock` (tests pass the same [`ManualClock`](crate::ManualClock) as
    /// the builder).
    pub fn with_clock(clock: impl Clock) -> Self {
        Self::with_shared_clock(Arc::new(clock))
    }

    pub(crate) fn with_shared_clock(clock: SharedClock) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                mirror: RevocationMirror::always_synced(),
                markers: Mutex::new(HashMap::new()),
                clock,
            }),
        }
    }

    /// Forgets every single-use marker (the fuzz harness: each input on its own).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn forget_markers(&self) {
        self.inner
            .markers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn first_use(&self, kind: &str, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = UnixTime::now(self.inner.clock.as_ref());
        let mut markers = self
            .inner
            .markers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let name = format!("{kind}\u{1f}{key}");
        if markers.get(&name).is_some_and(|until| *until > now) {
            return Ok(false);
        }
        if markers.len() >= MAX_MARKERS {
            markers.retain(|_, until| *until > now);
            if markers.len() >= MAX_MARKERS {
                return Err(StoreError::Full);
            }
        }
        markers.insert(name, now.after(ttl));
        Ok(true)
    }
}

impl RevocationStore for MemoryStore {
    fn mirror(&self) -> &RevocationMirror {
        &self.inner.mirror
    }

    fn record<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, ()> {
        let now = self.inner.clock.now();
        self.inner.mirror.apply(revocation.clone(), now);
        Box::pin(async { Ok(()) })
    }

    fn mark_used<'a>(
        &'a self,
        kind: &'a str,
        key: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        let first = self.first_use(kind, key, ttl);
        Box::pin(async move { first })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    #[tokio::test]
    async fn markers_are_single_use_until_they_expire() {
        let clock = ManualClock::new(Duration::from_secs(1_000));
        let store = MemoryStore::with_clock(clock.clone());
        let ttl = Duration::from_secs(60);
        assert_eq!(store.mark_used("state", "abc", ttl).await, Ok(true));
        assert_eq!(store.mark_used("state", "abc", ttl).await, Ok(false));
        assert_eq!(
            store.mark_used("jti", "abc", ttl).await,
            Ok(true),
            "kinds apart"
        );
        clock.advance(Duration::from_secs(61));
        assert_eq!(store.mark_used("state", "abc", ttl).await, Ok(true));
    }
}
