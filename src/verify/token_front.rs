//! The per-thread front of the verified-token cache: a small two-way set-associative cache of
//! the tokens one thread serves most, in front of the shared table
//! ([`token_cache`](super::token_cache)).
//!
//! An entry holds the shared table's entry and the thread's own copy of the identity, so that
//! a hit writes nothing shared between cores (no lock, no shared reference count): a hot token
//! scales across threads. A token enters the front only the second time in a row that its set
//! is served from the table, so a working set larger than the front is served by the table
//! without copying identities in and out.

use std::sync::Arc;

use crate::claims::Identity;

/// Sets of one front; two entries a set (256 tokens per thread and cache).
const SETS: usize = 128;

/// A token promoted to a thread's front: the shared entry `V` and the thread's own copy of the
/// identity.
pub(crate) struct FrontEntry<V> {
    pub(crate) hash: u64,
    pub(crate) shared: Arc<V>,
    pub(crate) identity: Arc<Identity>,
}

/// Two entries, the one to replace next, and the hash of the last token served from the table
/// in this set.
struct FrontSet<V> {
    ways: [Option<FrontEntry<V>>; 2],
    replace_next: usize,
    seen: u64,
}

impl<V> Default for FrontSet<V> {
    fn default() -> Self {
        FrontSet {
            ways: [None, None],
            replace_next: 0,
            seen: 0,
        }
    }
}

/// One thread's front for one cache (`cache_id`).
pub(crate) struct Front<V> {
    pub(crate) cache_id: u64,
    sets: Box<[FrontSet<V>]>,
}

impl<V> Front<V> {
    pub(crate) fn new(cache_id: u64) -> Self {
        Front {
            cache_id,
            sets: (0..SETS).map(|_| FrontSet::default()).collect(),
        }
    }

    /// The entry of the token of `hash` for which `is_token` holds.
    pub(crate) fn find(&self, hash: u64, is_token: impl Fn(&V) -> bool) -> Option<&FrontEntry<V>> {
        self.sets[set_of(hash)]
            .ways
            .iter()
            .flatten()
            .find(|e| e.hash == hash && is_token(&e.shared))
    }

    /// Whether a token just served from the shared table is promoted: the second time in a row
    /// that its set sees it.
    pub(crate) fn admit(&mut self, hash: u64) -> bool {
        let set = &mut self.sets[set_of(hash)];
        if set.seen == hash {
            set.seen = 0;
            true
        } else {
            set.seen = hash;
            false
        }
    }

    /// Puts an entry in its set, in place of the older of the two.
    pub(crate) fn promote(&mut self, entry: FrontEntry<V>) {
        let set = &mut self.sets[set_of(entry.hash)];
        let way = set.replace_next;
        set.replace_next = 1 - way;
        set.ways[way] = Some(entry);
    }

    /// Drops the entry of the token of `hash` for which `is_token` holds.
    pub(crate) fn forget(&mut self, hash: u64, is_token: impl Fn(&V) -> bool) {
        for way in &mut self.sets[set_of(hash)].ways {
            if way
                .as_ref()
                .is_some_and(|e| e.hash == hash && is_token(&e.shared))
            {
                *way = None;
            }
        }
    }
}

/// The set of a hash: its high bits (the shared table picks shards and buckets with the low
/// ones).
fn set_of(hash: u64) -> usize {
    (hash >> 57) as usize % SETS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{CredentialSource, TenantRef};

    fn identity() -> Arc<Identity> {
        Arc::new(Identity {
            claims: Default::default(),
            raw: "{}".into(),
            tenant: TenantRef {
                id: "t".into(),
                issuer: "https://t.example".into(),
                client_id: None,
            },
            source: CredentialSource::Jwt,
            issuance: Default::default(),
        })
    }

    fn entry(hash: u64, token: &str) -> FrontEntry<String> {
        FrontEntry {
            hash,
            shared: Arc::new(token.to_owned()),
            identity: identity(),
        }
    }

    /// A hash in set `set`, told apart by `n`.
    fn in_set(set: u64, n: u64) -> u64 {
        (set << 57) | n
    }

    #[test]
    fn promoted_the_second_time_in_a_row_only() {
        let mut front = Front::<String>::new(1);
        let (a, b) = (in_set(3, 1), in_set(3, 2));
        assert!(!front.admit(a));
        assert!(front.admit(a), "seen twice in a row");
        assert!(!front.admit(a), "and then counted afresh");
        // Two tokens of one set taking turns are never promoted.
        for _ in 0..10 {
            assert!(!front.admit(b));
            assert!(!front.admit(a));
        }
        // Tokens of other sets do not interrupt a set's run.
        assert!(!front.admit(in_set(4, 1)));
        assert!(front.admit(a));
    }

    #[test]
    fn a_rotation_larger_than_the_front_is_never_promoted() {
        let mut front = Front::<String>::new(1);
        for _round in 0..3 {
            for n in 0..(3 * SETS as u64) {
                let hash = in_set(n % SETS as u64, n + 1);
                assert!(!front.admit(hash), "token {n}");
            }
        }
    }

    #[test]
    fn two_ways_then_the_older_goes() {
        let mut front = Front::<String>::new(1);
        let (a, b, c) = (in_set(9, 1), in_set(9, 2), in_set(9, 3));
        front.promote(entry(a, "A"));
        front.promote(entry(b, "B"));
        assert!(front.find(a, |t| t == "A").is_some());
        assert!(front.find(b, |t| t == "B").is_some());
        // The same hash with other token bytes is not a hit.
        assert!(front.find(a, |t| t == "B").is_none());
        front.promote(entry(c, "C"));
        assert!(front.find(a, |t| t == "A").is_none(), "the older goes");
        assert!(front.find(b, |t| t == "B").is_some());
        assert!(front.find(c, |t| t == "C").is_some());
        front.forget(b, |t| t == "B");
        assert!(front.find(b, |t| t == "B").is_none());
        assert!(front.find(c, |t| t == "C").is_some());
    }
}
