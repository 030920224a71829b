//! [`MemoryStore`]: revocations and single-use markers in this process (one instance).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::markers::{DPOP_JTI, GTR_JTI, ID_JAG_JTI, LOGIN_STATE, LOGOUT_JTI, MarkerSet, WhenFull};
use super::mirror::RevocationMirror;
use super::revocation::Revocation;
use super::revocation_store::{RevocationStore, StoreError, StoreFuture};
use crate::time::{Clock, SharedClock, SystemClock, UnixTime};

/// How many single-use markers of each kind a [`MemoryStore`] keeps at most: each kind has its
/// own bound, so markers a stranger can make (login states) never crowd out an admin's logout.
///
/// - **Login states** (default 100,000; one per finished `GET /auth/callback`, kept for the
///   login timeout): when full, the one that expires first is forgotten. A forgotten state
///   could be sent again with its login cookie, but the authorization code it needs is single
///   use at the provider, so nothing is gained; a new sign-in always gets its marker.
/// - **DPoP proofs** (default 250,000; one per accepted proof, kept for the proof window —
///   65 s by default): when full, the one that expires first is forgotten. Size it to the
///   proofs this instance accepts in one window (250,000 covers about 3,800 proofs a second
///   with the default window): a proof forgotten within its window could be replayed, so each
///   one forgotten is counted ([`MemoryStore::dropped_markers`]) and logged (a warning at most
///   once a minute).
/// - **Logout signals** (default 100,000 for Universal Logout requests, and as many for
///   back-channel logout tokens; each kept until its `exp`): when full, a new one is refused
///   (`503`, the sender retries) and none is ever forgotten, since a forgotten `jti` could be
///   replayed. Only requests signed by a tenant's provider make them.
/// - **Identity assertion grants** (ID-JAG `jti`s, default 100,000; each kept until its `exp`,
///   at most 5 minutes): refused when full (`503`), never forgotten, as logout signals. Only
///   a grant signed by a tenant's org, presented by an authenticated client, makes one.
/// - **Other kinds** (markers an application makes through
///   [`RevocationStore::mark_used`], default 100,000): refused when full.
///
/// Each marker costs about 100 bytes: the defaults cap the markers at about 75 MB.
///
/// ```
/// use okta_oidc::store::{MarkerLimits, MemoryStore};
///
/// let store = MemoryStore::new().marker_limits(MarkerLimits::new().dpop_proofs(500_000));
/// assert_eq!(store.dropped_markers().dpop_proofs, 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct MarkerLimits {
    login_states: usize,
    dpop_proofs: usize,
    logout_signals: usize,
    id_jag_grants: usize,
    other: usize,
}

impl Default for MarkerLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl MarkerLimits {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        MarkerLimits {
            login_states: 100_000,
            dpop_proofs: 250_000,
            logout_signals: 100_000,
            id_jag_grants: 100_000,
            other: 100_000,
        }
    }

    /// Login states kept at most (the oldest forgotten past it; at least 1).
    pub fn login_states(mut self, limit: usize) -> Self {
        self.login_states = limit;
        self
    }

    /// DPoP proofs kept at most (the oldest forgotten past it, counted; at least 1).
    pub fn dpop_proofs(mut self, limit: usize) -> Self {
        self.dpop_proofs = limit;
        self
    }

    /// Universal Logout requests, and apart as many back-channel logout tokens, kept at most
    /// (new ones refused past it; at least 1).
    pub fn logout_signals(mut self, limit: usize) -> Self {
        self.logout_signals = limit;
        self
    }

    /// Identity assertion grants (ID-JAG `jti`s) kept at most (new ones refused past it; at
    /// least 1).
    pub fn id_jag_grants(mut self, limit: usize) -> Self {
        self.id_jag_grants = limit;
        self
    }

    /// Markers of any other kind kept at most (new ones refused past it; at least 1).
    pub fn other(mut self, limit: usize) -> Self {
        self.other = limit;
        self
    }
}

/// How many unexpired markers a [`MemoryStore`] forgot to make room for new ones, by kind
/// (the kinds that never forget are not listed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedMarkers {
    /// Login states.
    pub login_states: u64,
    /// DPoP proofs (each one forgotten within its window could have been replayed: raise
    /// [`MarkerLimits::dpop_proofs`] if this moves).
    pub dpop_proofs: u64,
}

/// The embedded store (the default): the mirror is the store. Revocations and markers live as
/// long as the process; an app with several instances needs
/// [`RedisStore`](super::RedisStore) instead.
///
/// Single-use markers are bounded per kind ([`MarkerLimits`]).
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
    login_states: MarkerSet,
    dpop_proofs: MarkerSet,
    universal_logouts: MarkerSet,
    backchannel_logouts: MarkerSet,
    id_jag_grants: MarkerSet,
    other: MarkerSet,
    clock: SharedClock,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("mirror", &self.inner.mirror)
            .field("dropped_markers", &self.dropped_markers())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store on the system clock, with the default [`MarkerLimits`].
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// An empty store on `clock` (tests pass the same [`ManualClock`](crate::ManualClock) as
    /// the builder).
    pub fn with_clock(clock: impl Clock) -> Self {
        Self::with_shared_clock(Arc::new(clock))
    }

    pub(crate) fn with_shared_clock(clock: SharedClock) -> Self {
        let limits = MarkerLimits::new();
        MemoryStore {
            inner: Arc::new(Inner {
                mirror: RevocationMirror::always_synced(),
                login_states: MarkerSet::new(
                    LOGIN_STATE,
                    limits.login_states,
                    WhenFull::DropOldest,
                ),
                dpop_proofs: MarkerSet::new(DPOP_JTI, limits.dpop_proofs, WhenFull::DropOldest),
                universal_logouts: MarkerSet::new(GTR_JTI, limits.logout_signals, WhenFull::Refuse),
                backchannel_logouts: MarkerSet::new(
                    LOGOUT_JTI,
                    limits.logout_signals,
                    WhenFull::Refuse,
                ),
                id_jag_grants: MarkerSet::new(ID_JAG_JTI, limits.id_jag_grants, WhenFull::Refuse),
                other: MarkerSet::new("other", limits.other, WhenFull::Refuse),
                clock,
            }),
        }
    }

    /// Sets how many markers of each kind it keeps (takes effect with the next marker; a store
    /// already holding more than a new bound sheds the extra as new markers come).
    pub fn marker_limits(self, limits: MarkerLimits) -> Self {
        let inner = &self.inner;
        inner.login_states.set_limit(limits.login_states);
        inner.dpop_proofs.set_limit(limits.dpop_proofs);
        inner.universal_logouts.set_limit(limits.logout_signals);
        inner.backchannel_logouts.set_limit(limits.logout_signals);
        inner.id_jag_grants.set_limit(limits.id_jag_grants);
        inner.other.set_limit(limits.other);
        self
    }

    /// How many unexpired markers it forgot to make room, by kind, since it was made.
    pub fn dropped_markers(&self) -> DroppedMarkers {
        DroppedMarkers {
            login_states: self.inner.login_states.dropped(),
            dpop_proofs: self.inner.dpop_proofs.dropped(),
        }
    }

    fn sets(&self) -> [&MarkerSet; 6] {
        let inner = &self.inner;
        [
            &inner.login_states,
            &inner.dpop_proofs,
            &inner.universal_logouts,
            &inner.backchannel_logouts,
            &inner.id_jag_grants,
            &inner.other,
        ]
    }

    /// Forgets every single-use marker (the fuzz harness: each input on its own).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub(crate) fn forget_markers(&self) {
        for set in self.sets() {
            set.clear();
        }
    }

    fn first_use(&self, kind: &str, key: &str, ttl: Duration) -> Result<bool, StoreError> {
        let now = UnixTime::now(self.inner.clock.as_ref());
        let inner = &self.inner;
        let set = match kind {
            LOGIN_STATE => &inner.login_states,
            DPOP_JTI => &inner.dpop_proofs,
            GTR_JTI => &inner.universal_logouts,
            LOGOUT_JTI => &inner.backchannel_logouts,
            ID_JAG_JTI => &inner.id_jag_grants,
            _ => &inner.other,
        };
        set.first_use(kind, key, now.as_millis(), now.after(ttl).as_millis())
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
    use crate::store::{DPOP_JTI, GTR_JTI, LOGIN_STATE, LOGOUT_JTI};
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

    #[tokio::test]
    async fn each_kind_has_its_own_bound_and_logout_signals_are_never_forgotten() {
        let store = MemoryStore::with_clock(ManualClock::new(Duration::from_secs(1_000)))
            .marker_limits(
                MarkerLimits::new()
                    .login_states(4)
                    .dpop_proofs(4)
                    .logout_signals(2),
            );
        let ttl = Duration::from_secs(600);
        for i in 0..100 {
            assert_eq!(
                store.mark_used(LOGIN_STATE, &i.to_string(), ttl).await,
                Ok(true)
            );
        }
        assert_eq!(store.dropped_markers().login_states, 96);
        for kind in [GTR_JTI, LOGOUT_JTI] {
            assert_eq!(store.mark_used(kind, "a", ttl).await, Ok(true), "{kind}");
            assert_eq!(store.mark_used(kind, "b", ttl).await, Ok(true), "{kind}");
            assert_eq!(
                store.mark_used(kind, "c", ttl).await,
                Err(StoreError::Full),
                "{kind}: refused, never forgotten"
            );
            assert_eq!(store.mark_used(kind, "a", ttl).await, Ok(false), "{kind}");
        }
        for i in 0..6 {
            store
                .mark_used(DPOP_JTI, &i.to_string(), ttl)
                .await
                .unwrap();
        }
        assert_eq!(
            store.dropped_markers(),
            DroppedMarkers {
                login_states: 96,
                dpop_proofs: 2
            }
        );
        assert_eq!(
            store.mark_used("app-kind", "x", ttl).await,
            Ok(true),
            "other kinds apart"
        );
    }
}
