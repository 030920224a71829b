//! The fuzz harness of the revocation store's wire format: what another instance wrote to Redis
//! (`rev:<digest>` values, read back by a full sync) and published (pub/sub messages), both the
//! JSON of a [`Revocation`] — written as `store/redis_state.rs` writes it, read as
//! `store/redis_sync.rs` reads it — and then merged into a [`RevocationMirror`].

use std::collections::HashMap;
use std::time::Duration;

use crate::__fuzz::NOW;
use crate::store::{Revocation, RevocationKind, RevocationMirror};

type Key = (RevocationKind, String, String);
type Set = HashMap<Key, (u64, u64)>;

fn key(r: &Revocation) -> Key {
    (r.kind, r.tenant.clone(), r.value.clone())
}

fn set(mirror: &RevocationMirror, now: Duration) -> Set {
    mirror
        .snapshot(now)
        .iter()
        .map(|r| (key(r), (r.before_ms, r.until_ms)))
        .collect()
}

/// One wire value per line (lines that are not a revocation are ignored, as the sync task
/// ignores them). Asserts, with the harness's clock at [`NOW`]:
///
/// - what an instance writes (`serde_json::to_string`), another reads back unchanged;
/// - three mirrors fed the values in order (as messages), in reverse order and each twice
///   (duplicates), and all at once (a full sync's merge) hold the same set: per key, the latest
///   `before` and the latest `until` of the values not yet expired;
/// - no value applied is ever undone by a later one (the mirror still covers it), a merge with
///   what the mirror already holds changes nothing and leaves nothing to write back, and a
///   merge with an empty store writes everything back;
/// - entries leave only by expiry: at any later time, exactly the entries whose `until` is
///   still ahead remain.
///
/// Returns how many revocations the mirrors hold.
pub fn revocation_wire(input: &[u8]) -> usize {
    let now = Duration::from_secs(NOW);
    let now_ms = NOW * 1000;
    let values: Vec<Revocation> = input
        .split(|b| *b == b'\n')
        .filter_map(|line| serde_json::from_slice::<Revocation>(line).ok())
        .collect();
    for r in &values {
        let json = serde_json::to_string(r).expect("a revocation always serializes");
        let back: Revocation = serde_json::from_str(&json).expect("the wire format reads back");
        assert!(back == *r, "the wire format does not round-trip");
    }
    let mut expected = Set::new();
    for r in values.iter().filter(|r| r.until_ms > now_ms) {
        let e = expected.entry(key(r)).or_insert((0, 0));
        *e = (e.0.max(r.before_ms), e.1.max(r.until_ms));
    }

    let in_order = RevocationMirror::remote(now);
    let mut generation = in_order.generation();
    for (i, r) in values.iter().enumerate() {
        let changed = in_order.apply(r.clone(), now);
        assert!(
            in_order.generation() >= generation,
            "the generation went back"
        );
        assert_eq!(
            changed,
            in_order.generation() > generation,
            "a change the generation does not show (or the reverse)"
        );
        generation = in_order.generation();
        let held = set(&in_order, now);
        for earlier in values[..=i].iter().filter(|r| r.until_ms > now_ms) {
            let (before, until) = held[&key(earlier)];
            assert!(
                before >= earlier.before_ms && until >= earlier.until_ms,
                "a revocation was undone by a later message"
            );
            assert_eq!(
                in_order.revoked_before(earlier.kind, &earlier.tenant, &earlier.value, now_ms),
                Some(before),
                "the request path's look-up misses a held revocation"
            );
        }
    }
    let reversed = RevocationMirror::remote(now);
    for r in values.iter().rev() {
        reversed.apply(r.clone(), now);
        assert!(
            !reversed.apply(r.clone(), now),
            "a duplicate changed the set"
        );
    }
    let synced = RevocationMirror::remote(now);
    let write_back = synced.merge(values.clone(), now);
    assert!(
        write_back.is_empty(),
        "a mirror that held nothing has something the store lacks"
    );
    for mirror in [&in_order, &reversed, &synced] {
        assert_eq!(
            set(mirror, now),
            expected,
            "the order of messages changed the set"
        );
        assert_eq!(mirror.len(), expected.len(), "len disagrees with the set");
    }

    // A re-sync with a store holding the same set changes nothing; with an empty store (Redis
    // restarted without persistence), everything is written back.
    let generation = in_order.generation();
    assert!(in_order.merge(in_order.snapshot(now), now).is_empty());
    assert_eq!(in_order.generation(), generation, "a no-op merge moved");
    let all = in_order.merge(Vec::new(), now);
    assert_eq!(
        all.len(),
        expected.len(),
        "an empty store does not get all back"
    );

    // Expiry is the only removal.
    let mut untils: Vec<u64> = expected.values().map(|(_, until)| *until).collect();
    untils.sort_unstable();
    for t in untils.iter().copied().chain([u64::MAX]) {
        let later = Duration::from_millis(t);
        let remaining: Set = expected
            .iter()
            .filter(|(_, (_, until))| *until > t)
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        assert_eq!(
            set(&in_order, later),
            remaining,
            "an entry left before it expired"
        );
    }
    expected.len()
}
