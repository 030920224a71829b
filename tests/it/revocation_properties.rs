//! Property tests (proptest) of the revocation mirror shared through Redis: three instances
//! (each a [`RevocationMirror`]) and a model of Redis as `store/redis_state.rs` and
//! `store/redis_sync.rs` use it — `SET rev:<key> <json> PXAT until` (last write wins, the key
//! expires with it) and `PUBLISH` of the same JSON to every subscriber; a full sync reads every
//! unexpired value, merges it (`RevocationMirror::merge`) and writes back what Redis lacks.
//!
//! Any sequence of revocations recorded on any instance, messages delivered in any order,
//! duplicated or lost, Redis going away, coming back or restarting empty, time passing, and
//! re-syncs, keeps three properties:
//!
//! - **never undone**: after every step, every instance still covers (same or later `before`
//!   and `until`) each revocation it held before, unless that one has expired;
//! - **expiry is the only removal** (the same check: an entry may leave only once its `until`
//!   has passed);
//! - **convergence**: once Redis is back and every instance has re-synced twice (losses
//!   repaired by re-sync), every instance holds the same set, and that set covers every
//!   revocation ever recorded that has not expired.
//!
//! Each property runs [`CASES`] cases of up to 80 steps. That the properties bite is shown
//! by running them against deliberately broken replicas (a last-writer-wins merge, a sync that
//! writes nothing back, a sync that replaces the mirror with Redis): proptest finds a
//! counterexample for each.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use okta_oidc::store::{Revocation, RevocationKind, RevocationMirror};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

/// Cases per property.
const CASES: u32 = 1_000;
const INSTANCES: usize = 3;
const START_MS: u64 = 1_700_000_000_000;

type Key = (RevocationKind, String, String);
type Set = HashMap<Key, (u64, u64)>;

fn key(r: &Revocation) -> Key {
    (r.kind, r.tenant.clone(), r.value.clone())
}

fn ms(d: u64) -> Duration {
    Duration::from_millis(d)
}

/// What an instance's mirror does, so that the properties also run against broken ones.
trait Replica: Sized {
    fn new(now: Duration) -> Self;
    /// A message, or a revocation recorded here.
    fn apply(&self, r: Revocation, now: Duration);
    /// A full sync with what Redis holds: returns what to write back.
    fn merge(&self, stored: Vec<Revocation>, now: Duration) -> Vec<Revocation>;
    fn snapshot(&self, now: Duration) -> Vec<Revocation>;
}

impl Replica for RevocationMirror {
    fn new(now: Duration) -> Self {
        RevocationMirror::remote(now)
    }
    fn apply(&self, r: Revocation, now: Duration) {
        RevocationMirror::apply(self, r, now);
    }
    fn merge(&self, stored: Vec<Revocation>, now: Duration) -> Vec<Revocation> {
        RevocationMirror::merge(self, stored, now)
    }
    fn snapshot(&self, now: Duration) -> Vec<Revocation> {
        RevocationMirror::snapshot(self, now)
    }
}

fn set_of<R: Replica>(r: &R, now: u64) -> Set {
    r.snapshot(ms(now))
        .iter()
        .map(|r| (key(r), (r.before_ms, r.until_ms)))
        .collect()
}

// ------------------------------------------------------------------ the model

#[derive(Clone, Debug)]
enum Op {
    /// A logout on instance `at`: `kind`/`tenant`/`value` from small pools (so keys collide),
    /// revoked before now + `before`, for `ttl` ms.
    Record {
        at: usize,
        kind: usize,
        tenant: usize,
        value: usize,
        before: i32,
        ttl: u32,
    },
    Deliver {
        to: usize,
        pick: usize,
    },
    Lose {
        to: usize,
        pick: usize,
    },
    Duplicate {
        to: usize,
        pick: usize,
    },
    Resync {
        at: usize,
    },
    RedisDown,
    RedisUp,
    /// Redis restarts without persistence: every value is gone.
    RedisFlush,
    Advance {
        ms: u32,
    },
}

const KINDS: [RevocationKind; 5] = [
    RevocationKind::Subject,
    RevocationKind::Email,
    RevocationKind::Sid,
    RevocationKind::Session,
    RevocationKind::TokenId,
];

fn op() -> impl Strategy<Value = Op> {
    let i = || 0..INSTANCES;
    prop_oneof![
        4 => (i(), 0..3usize, 0..2usize, 0..3usize, -5_000i32..5_000, 1u32..7_200_000).prop_map(
            |(at, kind, tenant, value, before, ttl)| Op::Record { at, kind, tenant, value, before, ttl }
        ),
        4 => (i(), any::<usize>()).prop_map(|(to, pick)| Op::Deliver { to, pick }),
        1 => (i(), any::<usize>()).prop_map(|(to, pick)| Op::Lose { to, pick }),
        1 => (i(), any::<usize>()).prop_map(|(to, pick)| Op::Duplicate { to, pick }),
        2 => i().prop_map(|at| Op::Resync { at }),
        1 => Just(Op::RedisDown),
        1 => Just(Op::RedisUp),
        1 => Just(Op::RedisFlush),
        2 => (1u32..3_600_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..80)
}

struct Cluster<R> {
    instances: Vec<R>,
    /// Pub/sub messages on their way to each instance (JSON, as published).
    queues: Vec<Vec<String>>,
    /// `rev:<key>` → (JSON, expires at).
    redis: HashMap<Key, (String, u64)>,
    redis_up: bool,
    now: u64,
    recorded: Vec<Revocation>,
    held: Vec<Set>,
}

impl<R: Replica> Cluster<R> {
    fn new() -> Self {
        Cluster {
            instances: (0..INSTANCES).map(|_| R::new(ms(START_MS))).collect(),
            queues: vec![Vec::new(); INSTANCES],
            redis: HashMap::new(),
            redis_up: true,
            now: START_MS,
            recorded: Vec::new(),
            held: vec![Set::new(); INSTANCES],
        }
    }

    /// `SET … PXAT until` and `PUBLISH`, as `write_pipeline` does (nothing while Redis is away).
    fn write(&mut self, r: &Revocation) {
        if !self.redis_up {
            return;
        }
        let json = serde_json::to_string(r).unwrap();
        self.redis.insert(key(r), (json.clone(), r.until_ms));
        for queue in &mut self.queues {
            queue.push(json.clone());
        }
    }

    fn resync(&mut self, at: usize) {
        if !self.redis_up {
            return;
        }
        let now = self.now;
        let stored: Vec<Revocation> = self
            .redis
            .values()
            .filter(|(_, until)| *until > now)
            .map(|(json, _)| serde_json::from_str(json).unwrap())
            .collect();
        let missing = self.instances[at].merge(stored, ms(now));
        for r in &missing {
            self.write(r);
        }
    }

    fn step(&mut self, op: &Op) {
        let now = self.now;
        match *op {
            Op::Record {
                at,
                kind,
                tenant,
                value,
                before,
                ttl,
            } => {
                let r = Revocation::new(
                    KINDS[kind],
                    ["acme", "globex"][tenant],
                    ["00u1", "00u2", "ann@example.com"][value],
                    now.saturating_add_signed(i64::from(before)),
                    now + u64::from(ttl),
                );
                self.recorded.push(r.clone());
                // RedisStore::record: the own mirror first, then Redis (an error while away).
                self.instances[at].apply(r.clone(), ms(now));
                self.write(&r);
            }
            Op::Deliver { to, pick } => {
                if !self.queues[to].is_empty() {
                    let len = self.queues[to].len();
                    let json = self.queues[to].remove(pick % len);
                    let r: Revocation = serde_json::from_str(&json).unwrap();
                    self.instances[to].apply(r, ms(now));
                }
            }
            Op::Lose { to, pick } => {
                if !self.queues[to].is_empty() {
                    let len = self.queues[to].len();
                    self.queues[to].remove(pick % len);
                }
            }
            Op::Duplicate { to, pick } => {
                if !self.queues[to].is_empty() {
                    let len = self.queues[to].len();
                    let copy = self.queues[to][pick % len].clone();
                    self.queues[to].push(copy);
                }
            }
            Op::Resync { at } => self.resync(at),
            Op::RedisDown => self.redis_up = false,
            Op::RedisUp => self.redis_up = true,
            Op::RedisFlush => self.redis.clear(),
            Op::Advance { ms } => self.now += u64::from(ms),
        }
    }

    /// Never undone, and expiry the only removal: each instance still covers what it held,
    /// unless that has expired.
    fn check_monotone(&mut self, op: &Op) -> Result<(), TestCaseError> {
        for (i, instance) in self.instances.iter().enumerate() {
            let now = set_of(instance, self.now);
            for (k, &(before, until)) in &self.held[i] {
                if until <= self.now {
                    continue;
                }
                let Some(&(b, u)) = now.get(k) else {
                    return Err(TestCaseError::fail(format!(
                        "instance {i} dropped {k:?} before it expired, after {op:?}"
                    )));
                };
                prop_assert!(
                    b >= before && u >= until,
                    "instance {i} weakened {k:?} from ({before}, {until}) to ({b}, {u}) after {op:?}"
                );
            }
            self.held[i] = now;
        }
        Ok(())
    }

    /// Redis back, the messages still on their way lost, two rounds of re-syncs: every instance
    /// holds the same set, and it covers every unexpired revocation ever recorded.
    fn check_converged(&mut self) -> Result<(), TestCaseError> {
        self.redis_up = true;
        for queue in &mut self.queues {
            queue.clear();
        }
        for _ in 0..2 {
            for at in 0..INSTANCES {
                self.resync(at);
            }
        }
        let sets: Vec<Set> = self.instances.iter().map(|i| set_of(i, self.now)).collect();
        for (i, set) in sets.iter().enumerate().skip(1) {
            prop_assert_eq!(set, &sets[0], "instance {} differs from instance 0", i);
        }
        for r in self.recorded.iter().filter(|r| r.until_ms > self.now) {
            let held = sets[0].get(&key(r)).copied();
            prop_assert!(
                held.is_some_and(|(b, u)| b >= r.before_ms && u >= r.until_ms),
                "a recorded revocation is not covered after re-sync: {:?} holds {:?}",
                r,
                held
            );
        }
        Ok(())
    }
}

fn run_cluster<R: Replica>(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut cluster = Cluster::<R>::new();
    for op in ops {
        cluster.step(op);
        cluster.check_monotone(op)?;
    }
    cluster.check_converged()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

/// The property against the real mirror: [`CASES`] random histories.
#[test]
fn mirrors_converge_and_never_undo_a_revocation() {
    let mut runner = runner(CASES);
    let result = runner.run(&ops(), |ops| run_cluster::<RevocationMirror>(&ops));
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A message is a one-element snapshot: applying messages in any order, with duplicates, gives
/// the same set as one merge of all of them.
#[test]
fn message_order_and_duplicates_do_not_matter() {
    let revocation = (0..5usize, 0..2usize, 0..3usize, 0..10_000u64, 1..10_000u64).prop_map(
        |(kind, tenant, value, before, ttl)| {
            Revocation::new(
                KINDS[kind],
                ["acme", "globex"][tenant],
                ["a", "b", "c"][value],
                START_MS - 5_000 + before,
                START_MS + ttl,
            )
        },
    );
    let case = (prop::collection::vec(revocation, 0..40), any::<u64>());
    let mut runner = runner(CASES);
    let result = runner.run(&case, |(messages, seed)| {
        let now = ms(START_MS);
        let one = RevocationMirror::remote(now);
        assert!(one.merge(messages.clone(), now).is_empty());
        // Another order (a rotation and a reversal picked by the seed), each message twice.
        let mut shuffled = messages.clone();
        if !shuffled.is_empty() {
            let len = shuffled.len();
            shuffled.rotate_left((seed as usize) % len);
        }
        if seed % 2 == 0 {
            shuffled.reverse();
        }
        let other = RevocationMirror::remote(now);
        for r in shuffled.iter().chain(&messages) {
            other.apply(r.clone(), now);
        }
        prop_assert_eq!(set_of(&one, START_MS), set_of(&other, START_MS));
        // And through the wire: every value reads back as written.
        for r in &messages {
            let back: Revocation =
                serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap();
            prop_assert!(back == *r);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ------------------------------------------------------------------ broken replicas

/// Replaces instead of merging: a later, weaker message undoes a stronger revocation.
struct LastWriterWins(Mutex<HashMap<Key, Revocation>>);

impl Replica for LastWriterWins {
    fn new(_: Duration) -> Self {
        LastWriterWins(Mutex::new(HashMap::new()))
    }
    fn apply(&self, r: Revocation, now: Duration) {
        if u128::from(r.until_ms) > now.as_millis() {
            self.0.lock().unwrap().insert(key(&r), r);
        }
    }
    fn merge(&self, stored: Vec<Revocation>, now: Duration) -> Vec<Revocation> {
        let theirs: HashMap<Key, ()> = stored.iter().map(|r| (key(r), ())).collect();
        let missing = self
            .snapshot(now)
            .into_iter()
            .filter(|r| !theirs.contains_key(&key(r)))
            .collect();
        for r in stored {
            self.apply(r, now);
        }
        missing
    }
    fn snapshot(&self, now: Duration) -> Vec<Revocation> {
        let map = self.0.lock().unwrap();
        map.values()
            .filter(|r| u128::from(r.until_ms) > now.as_millis())
            .cloned()
            .collect()
    }
}

/// Merges correctly but writes nothing back: what Redis lost (a restart, a write while it was
/// away) never reaches the instances that missed the message.
struct NoWriteBack(RevocationMirror);

impl Replica for NoWriteBack {
    fn new(now: Duration) -> Self {
        NoWriteBack(RevocationMirror::remote(now))
    }
    fn apply(&self, r: Revocation, now: Duration) {
        self.0.apply(r, now);
    }
    fn merge(&self, stored: Vec<Revocation>, now: Duration) -> Vec<Revocation> {
        self.0.merge(stored, now);
        Vec::new()
    }
    fn snapshot(&self, now: Duration) -> Vec<Revocation> {
        self.0.snapshot(now)
    }
}

/// A full sync that takes Redis as the truth: the mirror becomes what Redis holds.
struct ReplaceOnSync(Mutex<RevocationMirror>);

impl Replica for ReplaceOnSync {
    fn new(now: Duration) -> Self {
        ReplaceOnSync(Mutex::new(RevocationMirror::remote(now)))
    }
    fn apply(&self, r: Revocation, now: Duration) {
        self.0.lock().unwrap().apply(r, now);
    }
    fn merge(&self, stored: Vec<Revocation>, now: Duration) -> Vec<Revocation> {
        let fresh = RevocationMirror::remote(now);
        fresh.apply_all(stored, now);
        *self.0.lock().unwrap() = fresh;
        Vec::new()
    }
    fn snapshot(&self, now: Duration) -> Vec<Revocation> {
        self.0.lock().unwrap().snapshot(now)
    }
}

/// The property finds a counterexample for a broken replica; returns the shrunk failure.
fn counterexample<R: Replica>() -> String {
    let mut runner = runner(CASES);
    match runner.run(&ops(), |ops| run_cluster::<R>(&ops)) {
        Ok(()) => panic!("the property did not catch a broken replica"),
        Err(TestError::Fail(reason, ops)) => format!("{reason}\nminimal history: {ops:?}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn the_property_catches_a_last_writer_wins_merge() {
    let found = counterexample::<LastWriterWins>();
    eprintln!("last writer wins: {found}");
    assert!(found.contains("weakened") || found.contains("not covered"));
}

#[test]
fn the_property_catches_a_sync_without_write_back() {
    let found = counterexample::<NoWriteBack>();
    eprintln!("no write-back: {found}");
    assert!(found.contains("differs") || found.contains("not covered"));
}

#[test]
fn the_property_catches_a_sync_that_replaces_the_mirror() {
    let found = counterexample::<ReplaceOnSync>();
    eprintln!("replace on sync: {found}");
    assert!(
        found.contains("dropped") || found.contains("weakened") || found.contains("not covered")
    );
}

/// Found by `mirrors_converge_and_never_undo_a_revocation`: an entry that had expired but was
/// not swept yet was merged with a newer message for the same key, so its `before` came back
/// to life with the message's `until`: that instance revoked more than the others (until a
/// re-sync spread the resurrected value to all of them). History: instance 0 records
/// (T0, T0 + 82 min) and Redis goes away; instance 1, which had not received it yet, records
/// (T1, T1 + 1 ms); 1 ms later instance 1 re-syncs and reads the first one.
#[test]
fn an_expired_entry_is_replaced_not_merged() {
    let t0 = START_MS;
    let t1 = t0 + 2_345;
    let mirror = RevocationMirror::remote(ms(t0));
    let subject =
        |before, until| Revocation::new(RevocationKind::Sid, "globex", "sid-1", before, until);
    mirror.apply(subject(t1, t1 + 1), ms(t1));
    mirror.merge(vec![subject(t0, t0 + 4_935_230)], ms(t1 + 1));
    assert_eq!(
        set_of(&mirror, t1 + 1)
            .values()
            .copied()
            .collect::<Vec<_>>(),
        vec![(t0, t0 + 4_935_230)],
        "the expired entry's before leaked into the merge"
    );
}
