//! [`RevocationMirror`]: the local copy of the revocations, read on the request path.
//!
//! Reads take a read lock held for a hash look-up (never across I/O); the cached-token path
//! reads only [`generation`](RevocationMirror::generation), one atomic load, and looks the
//! identity up again only when it moved. A write holds the write lock for `O(log n)` per
//! revocation: expired ones are popped from the front of an expiry order, a few at a time,
//! never found by a scan.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::Notify;

use super::revocation::{Revocation, RevocationKind, lookup_key};
use crate::telemetry::metrics;

/// Expired revocations dropped per write at most (besides those the write replaces).
const POP_PER_WRITE: usize = 64;

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Revocation>,
    /// (until, key) of every entry: the front expires first.
    order: BTreeSet<(u64, String)>,
}

impl Entries {
    fn put(&mut self, key: String, revocation: Revocation) {
        if let Some(old) = self.by_key.get(&key) {
            self.order.remove(&(old.until_ms, key.clone()));
        }
        self.order.insert((revocation.until_ms, key.clone()));
        self.by_key.insert(key, revocation);
    }

    fn pop_expired(&mut self, now_ms: u64) {
        for _ in 0..POP_PER_WRITE {
            match self.order.first() {
                Some((until, _)) if *until <= now_ms => {
                    if let Some((_, key)) = self.order.pop_first() {
                        self.by_key.remove(&key);
                    }
                }
                _ => return,
            }
        }
    }
}

/// The local copy of every revocation that has not expired.
pub struct RevocationMirror {
    entries: RwLock<Entries>,
    len: AtomicUsize,
    /// Moves on every change: a cached identity checked at an older generation is checked
    /// again.
    generation: AtomicU64,
    /// When the mirror was last known complete (ms since the epoch); `u64::MAX`: always (a
    /// store that is its own mirror).
    synced_at_ms: AtomicU64,
    /// Until the first sync of a remote mirror: when it was made (ms since the epoch);
    /// identities issued before are refused meanwhile. `0`: synced once (or never remote).
    first_sync_pending_ms: AtomicU64,
    changed: Notify,
}

impl fmt::Debug for RevocationMirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationMirror")
            .field("len", &self.len())
            .field("generation", &self.generation())
            .finish_non_exhaustive()
    }
}

impl Default for RevocationMirror {
    fn default() -> Self {
        Self::always_synced()
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RevocationMirror {
    /// A mirror that is the store itself (always complete: never stale).
    pub fn always_synced() -> Self {
        Self::synced_at(u64::MAX)
    }

    /// A mirror of a remote store, made at `now` (since the Unix epoch) and empty: until its
    /// first [`mark_synced`](Self::mark_synced) it knows none of the revocations made before
    /// it, so the verifier refuses identities issued before `now` with `503` (see
    /// [`awaiting_first_sync`](Self::awaiting_first_sync)); identities issued later are not
    /// affected. Its staleness counts from `now`, then from each sync.
    ///
    /// To serve every identity from birth instead (accepting, until the first sync, those
    /// revoked before the instance started), call `mark_synced(now)` at once.
    pub fn remote(now: Duration) -> Self {
        let mirror = Self::synced_at(millis(now));
        mirror
            .first_sync_pending_ms
            .store(millis(now).max(1), Ordering::Release);
        mirror
    }

    fn synced_at(ms: u64) -> Self {
        RevocationMirror {
            entries: RwLock::new(Entries::default()),
            len: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            synced_at_ms: AtomicU64::new(ms),
            first_sync_pending_ms: AtomicU64::new(0),
            changed: Notify::new(),
        }
    }

    /// How many revocations it holds (some may have expired since).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether it holds no revocation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A number that moves whenever a revocation is added.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Resolves once [`generation`](Self::generation) is past `seen` (no polling).
    pub async fn changed_since(&self, seen: u64) {
        loop {
            let mut notified = std::pin::pin!(self.changed.notified());
            notified.as_mut().enable();
            if self.generation() > seen {
                return;
            }
            notified.await;
        }
    }

    /// Adds `revocation` (merged with one of the same key); `true` when it changed anything.
    /// Expired entries are dropped on the way.
    pub fn apply(&self, revocation: Revocation, now: Duration) -> bool {
        self.apply_all(std::iter::once(revocation), now) > 0
    }

    /// Adds every revocation; returns how many changed anything.
    pub fn apply_all(
        &self,
        revocations: impl IntoIterator<Item = Revocation>,
        now: Duration,
    ) -> usize {
        let now = millis(now);
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        let mut changed = 0;
        for revocation in revocations {
            if revocation.until_ms <= now {
                continue;
            }
            let key = revocation.key();
            match entries.by_key.get(&key) {
                Some(old) if old.until_ms > now && old.covers(&revocation) => {}
                // An expired entry not swept yet says nothing: replaced, never merged (its
                // `before` would outlive it).
                Some(old) if old.until_ms > now => {
                    let merged = old.merged(&revocation);
                    entries.put(key, merged);
                    changed += 1;
                }
                _ => {
                    entries.put(key, revocation);
                    changed += 1;
                }
            }
        }
        if changed > 0 {
            entries.pop_expired(now);
            self.len.store(entries.by_key.len(), Ordering::Relaxed);
            metrics::mirror_entries(entries.by_key.len());
            drop(entries);
            self.generation.fetch_add(1, Ordering::AcqRel);
            self.changed.notify_waiters();
        }
        changed
    }

    /// Every revocation that has not expired at `now`.
    pub fn snapshot(&self, now: Duration) -> Vec<Revocation> {
        let now = millis(now);
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .by_key
            .values()
            .filter(|r| r.until_ms > now)
            .cloned()
            .collect()
    }

    /// Merges what a store holds (`stored`) into the mirror, and returns what the store lacks
    /// or holds older, merged: what to write back (after a store restart without
    /// persistence). Nothing unexpired is ever dropped.
    pub fn merge(&self, stored: Vec<Revocation>, now: Duration) -> Vec<Revocation> {
        let by_key: HashMap<String, &Revocation> = stored.iter().map(|r| (r.key(), r)).collect();
        let missing = self
            .snapshot(now)
            .into_iter()
            .filter_map(|mine| match by_key.get(&mine.key()) {
                None => Some(mine),
                Some(theirs) if theirs.covers(&mine) => None,
                Some(theirs) => Some(mine.merged(theirs)),
            })
            .collect();
        self.apply_all(stored, now);
        missing
    }

    /// Records that the mirror is complete as of `now`.
    pub fn mark_synced(&self, now: Duration) {
        self.synced_at_ms.store(millis(now), Ordering::Release);
        self.first_sync_pending_ms.store(0, Ordering::Release);
    }

    /// Whether it is a [`remote`](Self::remote) mirror that has never been synced: identities
    /// issued before it was made are refused meanwhile.
    pub fn awaiting_first_sync(&self) -> bool {
        self.first_sync_cutoff_ms().is_some()
    }

    /// While it awaits its first sync: when it was made (ms since the epoch). One atomic load.
    pub(crate) fn first_sync_cutoff_ms(&self) -> Option<u64> {
        match self.first_sync_pending_ms.load(Ordering::Acquire) {
            0 => None,
            ms => Some(ms),
        }
    }

    /// How long since the mirror was last known complete (zero for a store that is its own
    /// mirror).
    pub fn staleness(&self, now: Duration) -> Duration {
        let synced = self.synced_at_ms.load(Ordering::Acquire);
        Duration::from_millis(millis(now).saturating_sub(synced))
    }

    /// `before` of the revocation of (`kind`, `tenant`, `value`), if one holds at `now_ms`.
    pub(crate) fn revoked_before(
        &self,
        kind: RevocationKind,
        tenant: &str,
        value: &str,
        now_ms: u64,
    ) -> Option<u64> {
        let key = lookup_key(kind, tenant, value);
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        entries
            .by_key
            .get(&key)
            .filter(|r| r.until_ms > now_ms)
            .map(|r| r.before_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(value: &str, before: u64, until: u64) -> Revocation {
        Revocation::new(RevocationKind::Subject, "t", value, before, until)
    }

    #[test]
    fn apply_merges_and_expires() {
        let m = RevocationMirror::always_synced();
        let now = Duration::from_millis(1_000);
        assert!(m.apply(rev("a", 900, 5_000), now));
        assert!(!m.apply(rev("a", 800, 4_000), now), "covered: no change");
        let g = m.generation();
        assert!(m.apply(rev("a", 950, 4_000), now));
        assert!(m.generation() > g);
        assert_eq!(
            m.revoked_before(RevocationKind::Subject, "t", "a", 1_000),
            Some(950)
        );
        assert_eq!(
            m.revoked_before(RevocationKind::Subject, "t", "a", 5_000),
            None
        );
        assert!(!m.apply(rev("b", 1, 999), now), "expired already");
    }

    #[test]
    fn merge_never_drops_and_reports_what_the_store_lacks() {
        let m = RevocationMirror::always_synced();
        let now = Duration::from_millis(1_000);
        m.apply(rev("mine", 900, 5_000), now);
        m.apply(rev("both", 900, 5_000), now);
        let back = m.merge(vec![rev("both", 900, 5_000), rev("theirs", 1, 5_000)], now);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].value, "mine");
        assert_eq!(m.len(), 3);
        assert_eq!(
            m.merge(vec![], now).len(),
            3,
            "an empty store gets everything back"
        );
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn a_remote_mirror_awaits_its_first_sync_once() {
        let m = RevocationMirror::remote(Duration::from_secs(10));
        assert!(m.awaiting_first_sync());
        assert_eq!(m.first_sync_cutoff_ms(), Some(10_000));
        m.mark_synced(Duration::from_secs(11));
        assert!(!m.awaiting_first_sync());
        assert!(!RevocationMirror::always_synced().awaiting_first_sync());
    }

    #[test]
    fn staleness() {
        let m = RevocationMirror::remote(Duration::from_secs(10));
        assert_eq!(m.staleness(Duration::from_secs(15)), Duration::from_secs(5));
        m.mark_synced(Duration::from_secs(15));
        assert_eq!(m.staleness(Duration::from_secs(15)), Duration::ZERO);
        assert_eq!(
            RevocationMirror::always_synced().staleness(Duration::from_secs(99)),
            Duration::ZERO
        );
    }
}
