//! The single-use markers of the [`MemoryStore`](super::MemoryStore): a bound per kind, so one
//! kind that strangers can fill (login states) never crowds out another (logout signals), and
//! eviction in expiry order without scanning.
//!
//! Each kind keeps a map of 16-byte key digests to their expiry and the same entries ordered by
//! (expiry, digest). Every operation holds the kind's lock for a few `O(log n)` steps: expired
//! markers are popped from the front of the order (at most [`POP_PER_CALL`] per call, so a
//! clock jump never makes one request pay for millions), a full kind drops its oldest or
//! refuses. Nothing is ever scanned.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::revocation_store::StoreError;

/// The kind of marker of login states (`GET /auth/callback`).
pub(crate) const LOGIN_STATE: &str = "login-state";
/// The kind of marker of DPoP proofs' `jti`.
pub(crate) const DPOP_JTI: &str = "dpop-jti";
/// The kind of marker of Universal Logout requests' `jti`.
pub(crate) const GTR_JTI: &str = "gtr-jti";
/// The kind of marker of back-channel logout tokens' `jti`.
pub(crate) const LOGOUT_JTI: &str = "logout-jti";
/// The kind of marker of Identity Assertion JWT Authorization Grants' `jti` (Cross App Access).
pub(crate) const ID_JAG_JTI: &str = "id-jag-jti";

/// A marker's key: the first 16 bytes of SHA-256(length of kind, kind, key).
type Key = [u8; 16];

/// Expired markers popped per call at most, besides the one a full kind makes room with.
const POP_PER_CALL: usize = 16;
/// At most one "full" warning per kind in this time, in ms.
const WARN_EVERY_MS: u64 = 60_000;

/// What a full kind does with a new marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum WhenFull {
    /// Forget the marker that expires first (counted, warned): for markers whose replay
    /// something else still stops (a login state: the code is single use at the provider; a
    /// DPoP proof: past its window when the bound is sized to it).
    DropOldest,
    /// Refuse the new marker (`StoreError::Full`): for markers only signed requests can make
    /// (logout signals), where forgetting one would let it be replayed.
    Refuse,
}

struct Entries {
    expiry: HashMap<Key, u64>,
    order: BTreeSet<(u64, Key)>,
    limit: usize,
}

impl Entries {
    fn remove_first(&mut self) -> Option<(u64, Key)> {
        let first = self.order.pop_first()?;
        self.expiry.remove(&first.1);
        Some(first)
    }

    fn pop_expired(&mut self, now_ms: u64, at_most: usize) {
        for _ in 0..at_most {
            match self.order.first() {
                Some((until, _)) if *until <= now_ms => {
                    self.remove_first();
                }
                _ => return,
            }
        }
    }
}

/// The markers of one kind.
pub(super) struct MarkerSet {
    name: &'static str,
    when_full: WhenFull,
    entries: Mutex<Entries>,
    dropped: AtomicU64,
    last_warning_ms: AtomicU64,
}

impl MarkerSet {
    pub(super) fn new(name: &'static str, limit: usize, when_full: WhenFull) -> Self {
        MarkerSet {
            name,
            when_full,
            entries: Mutex::new(Entries {
                expiry: HashMap::new(),
                order: BTreeSet::new(),
                limit: limit.max(1),
            }),
            dropped: AtomicU64::new(0),
            last_warning_ms: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn set_limit(&self, limit: usize) {
        self.lock().limit = limit.max(1);
    }

    /// How many unexpired markers this kind forgot to make room.
    pub(super) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// How many markers it holds (some may have expired).
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().expiry.len()
    }

    pub(super) fn clear(&self) {
        let mut entries = self.lock();
        entries.expiry.clear();
        entries.order.clear();
    }

    /// Marks `key` of `kind` used until `until_ms`: `Ok(true)` the first time, `Ok(false)` while
    /// it holds, `Err(Full)` when the kind is full of unexpired markers and refuses.
    pub(super) fn first_use(
        &self,
        kind: &str,
        key: &str,
        now_ms: u64,
        until_ms: u64,
    ) -> Result<bool, StoreError> {
        let digest = digest(kind, key);
        let mut entries = self.lock();
        entries.pop_expired(now_ms, POP_PER_CALL);
        if let Some(&until) = entries.expiry.get(&digest) {
            if until > now_ms {
                return Ok(false);
            }
            // Expired, not popped yet: it goes, and the key is new again.
            entries.order.remove(&(until, digest));
            entries.expiry.remove(&digest);
        }
        let mut dropped_one = false;
        if entries.expiry.len() >= entries.limit {
            // Make room with the marker that expires first: gone for free when it has expired.
            let expired = entries.order.first().is_some_and(|(u, _)| *u <= now_ms);
            if !expired && self.when_full == WhenFull::Refuse {
                drop(entries);
                self.warn_full(now_ms, "refused");
                return Err(StoreError::Full);
            }
            entries.remove_first();
            dropped_one = !expired;
        }
        entries.expiry.insert(digest, until_ms);
        entries.order.insert((until_ms, digest));
        drop(entries);
        if dropped_one {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            self.warn_full(now_ms, "oldest dropped");
        }
        Ok(true)
    }

    /// At most one warning a minute per kind.
    fn warn_full(&self, now_ms: u64, what: &'static str) {
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        if (last != 0 && now_ms.saturating_sub(last) < WARN_EVERY_MS)
            || self
                .last_warning_ms
                .compare_exchange(last, now_ms.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        tracing::warn!(
            kind = self.name,
            dropped_total = self.dropped(),
            "single-use markers of this kind are full: {what} (at most one warning a minute)"
        );
    }
}

fn digest(kind: &str, key: &str) -> Key {
    let mut hasher = Sha256::new();
    hasher.update((kind.len() as u64).to_be_bytes());
    hasher.update(kind.as_bytes());
    hasher.update(key.as_bytes());
    let full = hasher.finalize();
    let mut out = [0; 16];
    out.copy_from_slice(&full[..16]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_dropping_kind_forgets_the_marker_that_expires_first_and_counts_it() {
        let set = MarkerSet::new("login-state", 3, WhenFull::DropOldest);
        for (key, until) in [("a", 300), ("b", 100), ("c", 200)] {
            assert_eq!(set.first_use("k", key, 10, until), Ok(true));
        }
        assert_eq!(set.first_use("k", "d", 10, 400), Ok(true));
        assert_eq!(set.dropped(), 1);
        assert_eq!(set.len(), 3);
        assert_eq!(set.first_use("k", "b", 10, 400), Ok(true), "b was dropped");
        assert_eq!(set.first_use("k", "c", 10, 400), Ok(true), "then c");
        assert_eq!(set.first_use("k", "a", 10, 400), Ok(true), "then a");
        assert_eq!(set.first_use("k", "d", 10, 400), Ok(false), "d is held");
        assert_eq!(set.dropped(), 4);
    }

    #[test]
    fn a_full_refusing_kind_refuses_until_one_expires_and_never_forgets() {
        let set = MarkerSet::new("gtr-jti", 2, WhenFull::Refuse);
        assert_eq!(set.first_use("k", "a", 10, 100), Ok(true));
        assert_eq!(set.first_use("k", "b", 10, 200), Ok(true));
        assert_eq!(set.first_use("k", "c", 10, 300), Err(StoreError::Full));
        assert_eq!(set.first_use("k", "a", 50, 300), Ok(false), "a still held");
        assert_eq!(set.dropped(), 0);
        // Once a expires, its place is free (popped from the front, no scan).
        assert_eq!(set.first_use("k", "c", 100, 300), Ok(true));
        assert_eq!(set.first_use("k", "b", 150, 300), Ok(false));
        assert_eq!(set.first_use("k", "a", 150, 300), Err(StoreError::Full));
    }

    #[test]
    fn expired_markers_go_a_few_at_a_time_and_an_expired_key_is_new_again() {
        let set = MarkerSet::new("dpop-jti", 1_000, WhenFull::DropOldest);
        assert_eq!(set.first_use("k", "7", 0, 40), Ok(true), "7 expires first");
        for i in (0..100).filter(|i| *i != 7) {
            assert_eq!(set.first_use("k", &i.to_string(), 0, 50), Ok(true));
        }
        assert_eq!(set.first_use("k", "7", 60, 500), Ok(true), "expired: new");
        // 16 popped, then "7" (popped or removed as expired) comes back.
        assert_eq!(set.len(), 100 - POP_PER_CALL + 1, "popped at most a few");
        for i in 0..10 {
            set.first_use("k", &format!("n{i}"), 60, 500).unwrap();
        }
        assert!(set.len() < 100, "drained as it goes");
        assert_eq!(set.dropped(), 0, "expired ones are not counted as drops");
    }

    #[test]
    fn kinds_hash_apart() {
        assert_ne!(digest("a", "b\u{1f}c"), digest("a\u{1f}b", "c"));
        assert_ne!(digest("login-state", "x"), digest("dpop-jti", "x"));
    }
}
