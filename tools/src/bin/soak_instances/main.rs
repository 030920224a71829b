//! Soak run of several instances sharing revocations through Redis (not part of CI): three app
//! instances in one process, each with its own `RedisStore` on one real `redis-server` that the
//! driver starts on a free loopback port, against the mock Okta org, which rotates its signing
//! key. Run it with `scripts/soak-instances.sh [minutes]` (release build, default 10 minutes).
//!
//! ```text
//! cargo run --release -p okta-oidc-tools --bin soak_instances -- [minutes]
//! ```
//!
//! Load (loopback only, bounded in time and in count), on every instance: bearer ID and access
//! tokens of users never revoked (cached, and fresh ones minted every few hundred requests),
//! session requests with real sign-ins, and new sign-ins. Logout signals at a steady rate,
//! spread over the instances: Universal Logout by `iss_sub` and by email, back-channel logout by
//! `sub` and by `sid`, RP logout (`/auth/logout`). Each signal's user signs in first; its
//! session and bearer tokens are accepted on every instance before the signal (so they are
//! cached), and after the signal's answer every one of them must be refused on every instance
//! within the bound: 1 s while Redis is up, the end of a fault window plus the re-sync period
//! after one.
//!
//! Faults, each in a window written to the report: instance C cut off from Redis (a TCP proxy
//! in front of Redis for C) and restored; Redis killed and restarted empty on the same port (the
//! instances write their mirrors back).
//!
//! `SOAK_BREAK_PUBLISH=1` breaks propagation on purpose (instance C's store gets a key prefix of
//! its own, so it never sees the others' revocations nor they its): the run must then report
//! false accepts and exit non-zero.
//!
//! Report (printed and written to `target/soak/instances-report.txt`, or `SOAK_REPORT`): signals
//! by kind, false accepts (must be 0), propagation p50/p99/max by kind, spurious refusals of
//! valid credentials outside fault windows (must be 0), 503s inside them (each with
//! `Retry-After`), RSS, mirror sizes, Redis memory and a `SCAN` of every key for a TTL. Exits
//! non-zero when a target is missed.

mod app;
mod redis_server;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use okta_oidc::store::{RedisStore, RedisStoreConfig, RevocationStore};
use okta_oidc::testing::MockOkta;
use serde_json::json;

use app::{Credential, Instance};
use redis_server::{Proxy, RedisServer};

/// The stores' full re-sync period (and how soon a lost connection is noticed when idle).
const RESYNC: Duration = Duration::from_secs(2);
const RECONNECT: Duration = Duration::from_millis(100);
/// Propagation bound while Redis is up.
const BOUND_UP: Duration = Duration::from_secs(1);
/// After a fault window ends, the bound: its end plus this (a re-sync, twice, and a margin).
const SETTLE: Duration = Duration::from_secs(5);
/// A credential still accepted this long after its bound is counted as lost.
const GIVE_UP: Duration = Duration::from_secs(10);
/// The hard cap of one signal's check.
const CHECK_CAP: Duration = Duration::from_secs(120);
const PROBE_EVERY: Duration = Duration::from_millis(5);
/// One logout signal this often (`SOAK_SIGNAL_MS` to change).
const SIGNAL_EVERY: Duration = Duration::from_millis(500);
const MAX_CHECKS_IN_FLIGHT: usize = 64;
/// A fault cycle: key rotation at 0, C cut off at `CUT_AT` for `CUT_FOR`, Redis restarted
/// empty at `RESTART_AT` after being down `REDIS_DOWN_FOR`.
const CYCLE: Duration = Duration::from_secs(120);
const CUT_AT: Duration = Duration::from_secs(25);
const CUT_FOR: Duration = Duration::from_secs(15);
const RESTART_AT: Duration = Duration::from_secs(70);
const REDIS_DOWN_FOR: Duration = Duration::from_secs(2);
/// Bounds on counts (the time bound usually ends the run first).
const MAX_REQUESTS_PER_WORKER: u64 = 50_000_000;
const MAX_SIGNALS: u64 = 1_000_000;
const NAMES: [&str; 3] = ["A", "B", "C"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    UniversalIssSub,
    UniversalEmail,
    BackchannelSub,
    BackchannelSid,
    RpLogout,
}

const KINDS: [Kind; 5] = [
    Kind::UniversalIssSub,
    Kind::UniversalEmail,
    Kind::BackchannelSub,
    Kind::BackchannelSid,
    Kind::RpLogout,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::UniversalIssSub => "universal iss_sub",
            Kind::UniversalEmail => "universal email",
            Kind::BackchannelSub => "back-channel sub",
            Kind::BackchannelSid => "back-channel sid",
            Kind::RpLogout => "RP logout",
        }
    }
}

/// One announced fault window.
struct Window {
    what: String,
    start: Instant,
    end: Option<Instant>,
    note: String,
}

#[derive(Default)]
struct Faults {
    windows: Mutex<Vec<Window>>,
}

impl Faults {
    fn open(&self, what: &str) -> usize {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        println!("  fault: {what}");
        w.push(Window {
            what: what.to_owned(),
            start: Instant::now(),
            end: None,
            note: String::new(),
        });
        w.len() - 1
    }

    fn close(&self, i: usize, note: String) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = w.get_mut(i) {
            println!("  fault over: {} ({note})", w.what);
            w.end = Some(Instant::now());
            w.note = note;
        }
    }

    /// Whether `[from, to]` meets a window, each extended by `SETTLE` after its end.
    fn overlaps(&self, from: Instant, to: Instant) -> bool {
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.iter()
            .any(|w| w.start <= to && w.end.is_none_or(|e| e + SETTLE >= from))
    }

    /// Until when a credential revoked at `t0` may still be accepted: `t0 + BOUND_UP`, or the
    /// end of a fault window met since plus `SETTLE`; `None` while such a window is open.
    fn allowed_until(&self, t0: Instant) -> Option<Instant> {
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut until = t0 + BOUND_UP;
        for w in w.iter().filter(|w| w.end.is_none_or(|e| e + SETTLE >= t0)) {
            match w.end {
                None => return None,
                Some(e) => until = until.max(e + SETTLE),
            }
        }
        Some(until)
    }
}

#[derive(Default)]
struct KindStats {
    signals: u64,
    answered: u64,
    answered_in_fault: u64,
    retried_503: u64,
    unexpected_answers: u64,
    /// Time from the answer until another instance refuses every credential, no fault met.
    propagation_up: Vec<Duration>,
    /// The same for signals that met a fault window.
    propagation_fault: Vec<Duration>,
    /// Refused, but after the bound, while Redis was up / after a fault.
    late_up: u64,
    late_fault: u64,
    /// Never refused (given up `GIVE_UP` after the bound).
    lost: u64,
}

#[derive(Default)]
struct Load {
    requests: AtomicU64,
    ok: AtomicU64,
    spurious: AtomicU64,
    in_window_401: AtomicU64,
    in_window_503: AtomicU64,
    in_window_other: AtomicU64,
    missing_retry_after: AtomicU64,
    transport_errors: AtomicU64,
    sign_ins: AtomicU64,
    failed_sign_ins: AtomicU64,
    failed_sign_ins_in_window: AtomicU64,
    precheck_failures: AtomicU64,
    precheck_failures_in_window: AtomicU64,
    rotations: AtomicU64,
}

struct Shared {
    mock: MockOkta,
    instances: Vec<Instance>,
    http: reqwest::Client,
    users: tokio::sync::Mutex<()>,
    faults: Faults,
    load: Load,
    kinds: Mutex<BTreeMap<Kind, KindStats>>,
    spurious_examples: Mutex<Vec<String>>,
    /// One line per false accept (the first few).
    false_accept_details: Mutex<Vec<String>>,
    signal_every: Duration,
    stop: AtomicBool,
    deadline: Instant,
    started: Instant,
    pace: Duration,
}

fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

fn add(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Shared {
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    fn kind<R>(&self, kind: Kind, f: impl FnOnce(&mut KindStats) -> R) -> R {
        let mut k = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        f(k.entry(kind).or_default())
    }

    fn spurious(&self, what: String) {
        add(&self.load.spurious);
        let mut e = self
            .spurious_examples
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if e.len() < 8 {
            e.push(format!(
                "{:.1}s {what}",
                self.started.elapsed().as_secs_f64()
            ));
        }
    }

    /// A valid credential of a user never revoked, sent to instance `i`: counted.
    async fn valid(&self, i: usize, credential: &Credential, what: &str) {
        let start = Instant::now();
        add(&self.load.requests);
        let answer = app::me(&self.http, &self.instances[i].base, credential).await;
        let in_fault = self.faults.overlaps(start, Instant::now());
        let Some(answer) = answer else {
            add(&self.load.transport_errors);
            return;
        };
        match (answer.status, in_fault) {
            (200, _) => add(&self.load.ok),
            (503, true) => {
                add(&self.load.in_window_503);
                if !answer.retry_after {
                    add(&self.load.missing_retry_after);
                }
            }
            (401, true) => add(&self.load.in_window_401),
            (_, true) => add(&self.load.in_window_other),
            (status, false) => {
                self.spurious(format!("{what} on {}: {status}", NAMES[i]));
            }
        }
    }

    /// A sign-in at instance `i`, counted.
    async fn sign_in(&self, i: usize, user: serde_json::Value) -> Option<app::Session> {
        let start = Instant::now();
        add(&self.load.sign_ins);
        let result = app::sign_in(
            &self.http,
            &self.mock,
            &self.users,
            &self.instances[i].base,
            user,
        )
        .await;
        match result {
            Ok(s) => Some(s),
            Err(e) => {
                if self.faults.overlaps(start, Instant::now()) {
                    add(&self.load.failed_sign_ins_in_window);
                } else {
                    add(&self.load.failed_sign_ins);
                    let mut examples = self
                        .spurious_examples
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    if examples.len() < 16 {
                        examples.push(format!(
                            "{:.1}s (started {:.1}s) sign-in on {}: {e}",
                            self.started.elapsed().as_secs_f64(),
                            (start - self.started).as_secs_f64(),
                            NAMES[i]
                        ));
                    }
                }
                None
            }
        }
    }
}

fn stable_user(k: usize) -> (String, String) {
    (format!("00ustable{k}"), format!("stable{k}@soak.example"))
}

fn user_claims(sub: &str, email: &str) -> serde_json::Value {
    json!({
        "sub": sub,
        "name": format!("Soak {sub}"),
        "email": email,
        "email_verified": true,
        "preferred_username": email,
    })
}

/// Bearer load on instance `i`: ID and access tokens of two users never revoked, reused (the
/// verified-token cache answers) and minted afresh every 300 requests and at each key rotation.
async fn bearer_worker(shared: Arc<Shared>, i: usize) {
    let mock = &shared.mock;
    let mut kid = String::new();
    let mut tokens: Vec<(Credential, &'static str)> = Vec::new();
    for n in 0..MAX_REQUESTS_PER_WORKER {
        if shared.done() {
            return;
        }
        let current = mock.signing_kid();
        if current != kid || n % 300 == 0 {
            kid = current;
            tokens.clear();
            for k in [2 * i, 2 * i + 1] {
                let (sub, email) = stable_user(k);
                let id = mock
                    .id_token()
                    .claim("sub", &sub)
                    .claim("email", &email)
                    .build();
                let access = mock
                    .access_token()
                    .claim("sub", &email)
                    .claim("uid", &sub)
                    .build();
                tokens.push((Credential::Bearer(id), "ID token"));
                tokens.push((Credential::Bearer(access), "access token"));
            }
        }
        let (credential, what) = &tokens[(n as usize) % tokens.len()];
        shared.valid(i, credential, what).await;
        tokio::time::sleep(shared.pace).await;
    }
}

/// Session load started at instance `i`: two users never revoked sign in there, their sessions
/// go to every instance in turn (one load balancer), and sign in again every 1,000 requests.
async fn session_worker(shared: Arc<Shared>, i: usize) {
    let mut sessions: Vec<Option<String>> = vec![None, None];
    for n in 0..MAX_REQUESTS_PER_WORKER {
        if shared.done() {
            return;
        }
        let slot = (n % 2) as usize;
        if sessions[slot].is_none() || n % 1000 == slot as u64 {
            let (sub, email) = stable_user(2 * i + slot);
            sessions[slot] = shared
                .sign_in(i, user_claims(&sub, &email))
                .await
                .map(|s| s.cookie);
            if sessions[slot].is_none() {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        }
        if let Some(cookie) = &sessions[slot] {
            let to = (i + n as usize) % shared.instances.len();
            shared
                .valid(to, &Credential::Session(cookie.clone()), "session")
                .await;
        }
        tokio::time::sleep(shared.pace).await;
    }
}

/// Sends the signal to instance `at`; on `503` (Redis unreachable from there) retries, as Okta
/// does, on the next instance (a load balancer's next pick). The answer, once accepted.
async fn send_signal(
    shared: &Shared,
    kind: Kind,
    at: usize,
    user: &str,
    email: &str,
    session: &app::Session,
) -> Option<(u16, usize)> {
    let mock = &shared.mock;
    for attempt in 0..60 {
        let i = (at + attempt) % shared.instances.len();
        let instance = &shared.instances[i];
        let status = match kind {
            Kind::UniversalIssSub => {
                mock.universal_logout(&instance.universal(), mock.iss_sub(user))
                    .await
            }
            Kind::UniversalEmail => {
                mock.universal_logout(&instance.universal(), mock.email_subject(email))
                    .await
            }
            Kind::BackchannelSub => {
                let token = mock.logout_token().claim("sub", user).build();
                mock.backchannel_logout(&instance.backchannel(), &token)
                    .await
            }
            Kind::BackchannelSid => {
                let token = mock
                    .logout_token()
                    .without_claim("sub")
                    .claim("sid", &session.sid)
                    .build();
                mock.backchannel_logout(&instance.backchannel(), &token)
                    .await
            }
            Kind::RpLogout => app::rp_logout(&shared.http, &instance.base, &session.cookie)
                .await
                .unwrap_or(0),
        };
        match (kind, status) {
            (Kind::UniversalIssSub | Kind::UniversalEmail, 204)
            | (Kind::BackchannelSub | Kind::BackchannelSid, 200)
            | (Kind::RpLogout, 302 | 303) => return Some((status, i)),
            (_, 503) => {
                shared.kind(kind, |k| k.retried_503 += 1);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (_, other) => {
                shared.kind(kind, |k| k.unexpected_answers += 1);
                let mut e = shared
                    .spurious_examples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if e.len() < 16 {
                    e.push(format!("{} to {}: {other}", kind.name(), NAMES[i]));
                }
                return None;
            }
        }
    }
    None
}

/// How one instance came to refuse a revoked user's credentials.
struct Outcome {
    /// From the signal's answer until every credential is refused; `None`: never.
    refused_after: Option<Duration>,
    /// Whether a fault window met the check.
    faulted: bool,
    /// Refused (or not) after the bound.
    late: bool,
    /// The credentials still accepted at the end (indices), or the last one refused.
    last: Vec<usize>,
    /// The bound, from the answer (`None`: a fault window still open).
    bound: Option<Duration>,
}

async fn check_instance(shared: &Shared, i: usize, t0: Instant, creds: &[Credential]) -> Outcome {
    let mut pending = vec![true; creds.len()];
    let max_probes = (CHECK_CAP.as_millis() / PROBE_EVERY.as_millis()) as usize;
    let mut refused_after = None;
    let mut last = Vec::new();
    for _ in 0..max_probes {
        for (c, credential) in creds.iter().enumerate() {
            if !pending[c] {
                continue;
            }
            if let Some(answer) = app::me(&shared.http, &shared.instances[i].base, credential).await
            {
                if answer.status == 401 {
                    pending[c] = false;
                    last = vec![c];
                } else if answer.status == 503 && !answer.retry_after {
                    add(&shared.load.missing_retry_after);
                }
            }
        }
        let now = Instant::now();
        if pending.iter().all(|p| !p) {
            refused_after = Some(now - t0);
            break;
        }
        if let Some(until) = shared.faults.allowed_until(t0)
            && now > until + GIVE_UP
        {
            break;
        }
        if now - t0 >= CHECK_CAP {
            break;
        }
        let pause = if now - t0 > Duration::from_secs(2) {
            PROBE_EVERY * 10
        } else {
            PROBE_EVERY
        };
        tokio::time::sleep(pause).await;
    }
    let end = Instant::now();
    let faulted = shared.faults.overlaps(t0, end);
    let allowed = shared.faults.allowed_until(t0);
    let late = match (refused_after, allowed) {
        (None, _) => true,
        (Some(after), Some(until)) => t0 + after > until,
        (Some(_), None) => false,
    };
    if refused_after.is_none() {
        last = (0..creds.len()).filter(|&c| pending[c]).collect();
    }
    Outcome {
        refused_after,
        faulted,
        late,
        last,
        bound: allowed.map(|u| u.saturating_duration_since(t0)),
    }
}

async fn check(
    shared: Arc<Shared>,
    kind: Kind,
    receiver: usize,
    t0: Instant,
    creds: Vec<Credential>,
) {
    let (a, b, c) = tokio::join!(
        check_instance(&shared, 0, t0, &creds),
        check_instance(&shared, 1, t0, &creds),
        check_instance(&shared, 2, t0, &creds)
    );
    for (i, outcome) in [a, b, c].into_iter().enumerate() {
        if outcome.late {
            let mut d = shared
                .false_accept_details
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if d.len() < 24 {
                let what = |c: &usize| match &creds[*c] {
                    Credential::Session(_) => "session",
                    Credential::Bearer(_) if *c == 1 => "ID token",
                    Credential::Bearer(_) => "access token",
                };
                d.push(format!(
                    "answered {:.1}s by {}: {} on {} {} (bound {}, {}; {} {})",
                    (t0 - shared.started).as_secs_f64(),
                    NAMES[receiver],
                    kind.name(),
                    NAMES[i],
                    outcome
                        .refused_after
                        .map_or("never refused".to_owned(), |a| format!(
                            "refused after {}",
                            ms(a)
                        )),
                    outcome.bound.map_or("open".to_owned(), ms),
                    if outcome.faulted {
                        "a fault met"
                    } else {
                        "Redis up"
                    },
                    if outcome.refused_after.is_some() {
                        "last refused:"
                    } else {
                        "still accepted:"
                    },
                    outcome.last.iter().map(what).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        shared.kind(kind, |k| {
            match outcome.refused_after {
                None => k.lost += 1,
                Some(_) if outcome.late && outcome.faulted => k.late_fault += 1,
                Some(_) if outcome.late => k.late_up += 1,
                Some(_) => {}
            }
            if let Some(after) = outcome.refused_after
                && i != receiver
            {
                if outcome.faulted {
                    k.propagation_fault.push(after);
                } else {
                    k.propagation_up.push(after);
                }
            }
        });
    }
}

/// Logout signals at a steady rate: each for a user signed in just before, whose session and
/// tokens are first accepted (and cached) on every instance.
async fn signals(shared: Arc<Shared>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CHECKS_IN_FLIGHT));
    let mut tick = tokio::time::interval(shared.signal_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut checks = Vec::new();
    let count = shared.instances.len();
    for n in 0..MAX_SIGNALS {
        tick.tick().await;
        if shared.done() {
            break;
        }
        let kind = KINDS[(n as usize) % KINDS.len()];
        let at = (n as usize / KINDS.len()) % count;
        let user = format!("00uvictim{n}");
        let email = format!("victim{n}@soak.example");
        let Some(session) = shared
            .sign_in((at + 1) % count, user_claims(&user, &email))
            .await
        else {
            continue;
        };
        let iat = now_secs() - 5;
        let mut creds = vec![Credential::Session(session.cookie.clone())];
        let mock = &shared.mock;
        match kind {
            Kind::UniversalIssSub | Kind::UniversalEmail | Kind::BackchannelSub => {
                creds.push(Credential::Bearer(
                    mock.id_token()
                        .claim("sub", &user)
                        .claim("email", &email)
                        .issued_at(iat)
                        .build(),
                ));
                creds.push(Credential::Bearer(
                    mock.access_token()
                        .claim("sub", &email)
                        .claim("uid", &user)
                        .issued_at(iat)
                        .build(),
                ));
            }
            Kind::BackchannelSid => creds.push(Credential::Bearer(
                mock.id_token()
                    .claim("sub", &user)
                    .claim("sid", &session.sid)
                    .issued_at(iat)
                    .build(),
            )),
            Kind::RpLogout => {}
        }
        // Accepted everywhere first (and so cached).
        let start = Instant::now();
        let mut precheck_ok = true;
        for i in 0..count {
            for c in &creds {
                let status = app::me(&shared.http, &shared.instances[i].base, c)
                    .await
                    .map_or(0, |a| a.status);
                if status != 200 {
                    precheck_ok = false;
                }
            }
        }
        if !precheck_ok {
            if shared.faults.overlaps(start, Instant::now()) {
                add(&shared.load.precheck_failures_in_window);
            } else {
                add(&shared.load.precheck_failures);
                shared.spurious(format!("pre-check of {}'s credentials", kind.name()));
            }
            continue;
        }
        shared.kind(kind, |k| k.signals += 1);
        let sent = Instant::now();
        let Some((_, receiver)) = send_signal(&shared, kind, at, &user, &email, &session).await
        else {
            continue;
        };
        let t0 = Instant::now();
        let in_fault = shared.faults.overlaps(sent, t0);
        shared.kind(kind, |k| {
            k.answered += 1;
            if in_fault {
                k.answered_in_fault += 1;
            }
        });
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            break;
        };
        let task_shared = Arc::clone(&shared);
        checks.push(tokio::spawn(async move {
            check(task_shared, kind, receiver, t0, creds).await;
            drop(permit);
        }));
        checks.retain(|t| !t.is_finished());
    }
    for t in checks {
        let _ = tokio::time::timeout(CHECK_CAP, t).await;
    }
}

/// The faults, cycle after cycle: key rotation; C cut off from Redis, restored; Redis
/// restarted empty.
async fn faults(
    shared: Arc<Shared>,
    mut redis: RedisServer,
    proxy: Arc<Proxy>,
    cut: bool,
) -> RedisServer {
    let url = redis.url();
    let max_cycles = 10_000;
    for _ in 0..max_cycles {
        let cycle_start = tokio::time::Instant::now();
        if shared.done() {
            break;
        }
        shared.mock.rotate_keys();
        add(&shared.load.rotations);

        tokio::time::sleep_until(cycle_start + CUT_AT).await;
        if shared.done() {
            break;
        }
        if cut {
            let store_c = &shared.instances[2].store;
            let w = shared.faults.open("instance C cut off from Redis");
            proxy.cut();
            let noticed = Instant::now();
            let _ =
                tokio::time::timeout(Duration::from_secs(10), store_c.wait_connected(false)).await;
            let noticed = noticed.elapsed();
            tokio::time::sleep(CUT_FOR).await;
            let syncs = store_c.syncs();
            proxy.restore();
            let back = Instant::now();
            let synced = tokio::time::timeout(Duration::from_secs(15), store_c.synced_after(syncs))
                .await
                .is_ok();
            shared.faults.close(
                w,
                format!(
                    "C noticed in {} ms; re-synced {} {} ms after restore",
                    noticed.as_millis(),
                    if synced { "" } else { "NOT (timeout)" },
                    back.elapsed().as_millis()
                ),
            );
        }

        tokio::time::sleep_until(cycle_start + RESTART_AT).await;
        if shared.done() {
            break;
        }
        let w = shared.faults.open("Redis killed, restarted empty");
        let keys_before = dbsize(&url).await;
        let syncs: Vec<u64> = shared.instances.iter().map(|i| i.store.syncs()).collect();
        redis.stop().await;
        tokio::time::sleep(REDIS_DOWN_FOR).await;
        let restarted = redis.restart().await;
        let back = Instant::now();
        let mut all = true;
        for (i, seen) in shared.instances.iter().zip(syncs) {
            all &= tokio::time::timeout(Duration::from_secs(15), i.store.synced_after(seen))
                .await
                .is_ok();
        }
        let synced_in = back.elapsed();
        // A moment for the write-back of the last instance.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let keys_after = dbsize(&url).await;
        shared.faults.close(
            w,
            format!(
                "restart {}; all re-synced{} in {} ms; keys before {keys_before}, written back {keys_after}",
                if restarted.is_ok() { "ok" } else { "FAILED" },
                if all { "" } else { " NOT (timeout)" },
                synced_in.as_millis()
            ),
        );
        tokio::time::sleep_until(cycle_start + CYCLE).await;
    }
    redis
}

async fn redis_connection(url: &str) -> Option<redis::aio::MultiplexedConnection> {
    let client = redis::Client::open(url).ok()?;
    tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    .ok()?
    .ok()
}

async fn dbsize(url: &str) -> i64 {
    let Some(mut con) = redis_connection(url).await else {
        return -1;
    };
    redis::cmd("DBSIZE")
        .query_async::<i64>(&mut con)
        .await
        .unwrap_or(-1)
}

async fn used_memory(url: &str) -> u64 {
    let Some(mut con) = redis_connection(url).await else {
        return 0;
    };
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut con)
        .await
        .unwrap_or_default();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Every key, and those without a TTL (`PTTL` -1), with a few of their names.
async fn scan_ttls(url: &str) -> (u64, u64, Vec<String>) {
    let Some(mut con) = redis_connection(url).await else {
        return (0, 0, vec!["no connection to Redis".into()]);
    };
    let (mut keys, mut without, mut examples) = (0, 0, Vec::new());
    let mut cursor: u64 = 0;
    for _ in 0..100_000 {
        let Ok((next, batch)) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("COUNT")
            .arg(1000)
            .query_async::<(u64, Vec<String>)>(&mut con)
            .await
        else {
            examples.push("SCAN failed".into());
            break;
        };
        for key in batch {
            let pttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut con)
                .await
                .unwrap_or(-2);
            keys += 1;
            if pttl == -1 {
                without += 1;
                if examples.len() < 5 {
                    examples.push(key);
                }
            }
        }
        cursor = next;
        if cursor == 0 {
            break;
        }
    }
    (keys, without, examples)
}

fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A snapshot of the bounded things: RSS, each mirror's size, Redis's memory.
async fn snapshot(shared: &Shared, url: &str) -> String {
    let mirrors = shared
        .instances
        .iter()
        .map(|i| format!("{} {}", i.name, i.store.mirror().len()))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "RSS {}, mirrors {mirrors}, Redis used_memory {}",
        mib(rss_kib().0 * 1024),
        mib(used_memory(url).await)
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let minutes: f64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10.0);
    let duration = Duration::from_secs_f64((minutes * 60.0).clamp(10.0, 240.0 * 60.0));
    let broken = std::env::var("SOAK_BREAK_PUBLISH").is_ok_and(|v| v == "1");
    // A diagnostic knob: C reaches Redis directly, and the cut fault is skipped (to tell what
    // the in-process proxy adds).
    let direct = std::env::var("SOAK_NO_PROXY").is_ok_and(|v| v == "1");
    let pace = Duration::from_millis(
        std::env::var("SOAK_PACE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2),
    );
    let signal_every = Duration::from_millis(
        std::env::var("SOAK_SIGNAL_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(SIGNAL_EVERY.as_millis() as u64)
            .clamp(20, 60_000),
    );
    let report_path = std::env::var("SOAK_REPORT")
        .unwrap_or_else(|_| "target/soak/instances-report.txt".to_owned());
    if std::env::var("RUST_LOG").is_ok() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .init();
    }

    let redis = match RedisServer::start().await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak_instances: {e}");
            std::process::exit(2);
        }
    };
    let url = redis.url();
    let proxy = Arc::new(Proxy::start(redis.port).await.expect("a loopback proxy"));
    let mock = MockOkta::builder()
        .keys_cache_control(Some("max-age=20".into()))
        .build()
        .await;
    let config = |url: &str| {
        RedisStoreConfig::new(url)
            .reconnect_delay(RECONNECT)
            .resync_interval(RESYNC)
    };
    let mut instances = Vec::new();
    for (i, name) in NAMES.into_iter().enumerate() {
        let mut c = if i == 2 && !direct {
            config(&proxy.url())
        } else {
            config(&url)
        };
        if broken && i == 2 {
            c = c.key_prefix("soak-broken:");
        }
        let store = RedisStore::with_config(c).expect("a Redis store");
        if tokio::time::timeout(Duration::from_secs(15), store.wait_synced())
            .await
            .is_err()
        {
            eprintln!("soak_instances: store {name} did not sync");
            std::process::exit(2);
        }
        instances.push(
            Instance::start(name, &mock, store)
                .await
                .expect("an app instance"),
        );
    }
    let started = Instant::now();
    let shared = Arc::new(Shared {
        mock: mock.clone(),
        instances,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(64)
            .build()
            .expect("an HTTP client"),
        users: tokio::sync::Mutex::new(()),
        faults: Faults::default(),
        load: Load::default(),
        kinds: Mutex::new(BTreeMap::new()),
        spurious_examples: Mutex::new(Vec::new()),
        false_accept_details: Mutex::new(Vec::new()),
        signal_every,
        stop: AtomicBool::new(false),
        deadline: started + duration,
        started,
        pace,
    });
    let at_start = snapshot(&shared, &url).await;
    let rss_start = rss_kib().0;
    println!(
        "soak_instances: {minutes} min, 3 instances ({}) on redis-server :{}, \
         a signal every {} ms, faults every {} s{}",
        if direct {
            "SOAK_NO_PROXY=1: C direct, no cut"
        } else {
            "C through a proxy"
        },
        redis.port,
        signal_every.as_millis(),
        CYCLE.as_secs(),
        if broken {
            "; SOAK_BREAK_PUBLISH=1: C's store has a key prefix of its own"
        } else {
            ""
        }
    );
    println!("  start: {at_start}");

    let mut tasks = Vec::new();
    for i in 0..3 {
        tasks.push(tokio::spawn(bearer_worker(Arc::clone(&shared), i)));
        tasks.push(tokio::spawn(session_worker(Arc::clone(&shared), i)));
    }
    let signal_task = tokio::spawn(signals(Arc::clone(&shared)));
    let fault_task = tokio::spawn(faults(
        Arc::clone(&shared),
        redis,
        Arc::clone(&proxy),
        !direct,
    ));

    let mut at_half = String::new();
    let mut rss_half = 0;
    let mut ticks = 0u64;
    while Instant::now() < shared.deadline {
        tokio::time::sleep(Duration::from_secs(1).min(shared.deadline - Instant::now())).await;
        ticks += 1;
        if at_half.is_empty() && started.elapsed() >= duration / 2 {
            at_half = snapshot(&shared, &url).await;
            rss_half = rss_kib().0;
        }
        if ticks.is_multiple_of(60) {
            let l = &shared.load;
            let (signals, lost) = {
                let k = shared.kinds.lock().unwrap_or_else(|e| e.into_inner());
                (
                    k.values().map(|s| s.answered).sum::<u64>(),
                    k.values()
                        .map(|s| s.lost + s.late_up + s.late_fault)
                        .sum::<u64>(),
                )
            };
            println!(
                "  {:>5}s requests {:>9} spurious {} signals {signals} false accepts {lost}; {}",
                started.elapsed().as_secs(),
                get(&l.requests),
                get(&l.spurious),
                snapshot(&shared, &url).await
            );
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    let _ = tokio::time::timeout(CHECK_CAP + Duration::from_secs(10), signal_task).await;
    let redis = match tokio::time::timeout(Duration::from_secs(120), fault_task).await {
        Ok(Ok(r)) => Some(r),
        _ => None,
    };
    // Any fault left open is over: the proxy restored (the fault task ended).
    proxy.restore();
    let elapsed = started.elapsed();
    let at_end = snapshot(&shared, &url).await;
    let (rss_end, rss_peak) = rss_kib();
    let (keys, without_ttl, no_ttl_examples) = scan_ttls(&url).await;

    // The report.
    let l = &shared.load;
    let mut out = String::new();
    let secs = elapsed.as_secs_f64();
    let _ = writeln!(
        out,
        "== soak_instances report ({:.1} min{})",
        secs / 60.0,
        if broken { ", SOAK_BREAK_PUBLISH=1" } else { "" }
    );
    let _ = writeln!(
        out,
        "load                 {} requests ({:.0}/s) with valid credentials, {} sign-ins, {} key rotations",
        get(&l.requests),
        get(&l.requests) as f64 / secs,
        get(&l.sign_ins),
        get(&l.rotations)
    );
    let _ = writeln!(
        out,
        "signals (answered; in a fault window; 503s retried; unexpected answers) and false accepts \
         (late while Redis up / late after a fault / never refused) over 3 instances:"
    );
    let kinds = shared.kinds.lock().unwrap_or_else(|e| e.into_inner());
    let (mut false_accepts, mut late_up, mut unexpected) = (0, 0, 0);
    let mut all_up: Vec<Duration> = Vec::new();
    for (kind, k) in kinds.iter() {
        let mut up = k.propagation_up.clone();
        up.sort();
        let mut fault = k.propagation_fault.clone();
        fault.sort();
        all_up.extend(&up);
        false_accepts += k.late_up + k.late_fault + k.lost;
        late_up += k.late_up;
        unexpected += k.unexpected_answers;
        let _ = writeln!(
            out,
            "  {:<18} {:>5} ({:>3}; {:>3}; {}) false accepts {} ({}/{}/{}); propagation p50 {} p99 {} max {} (n {}); after a fault max {} (n {})",
            kind.name(),
            k.answered,
            k.answered_in_fault,
            k.retried_503,
            k.unexpected_answers,
            k.late_up + k.late_fault + k.lost,
            k.late_up,
            k.late_fault,
            k.lost,
            ms(percentile(&up, 0.5)),
            ms(percentile(&up, 0.99)),
            ms(up.last().copied().unwrap_or_default()),
            up.len(),
            ms(fault.last().copied().unwrap_or_default()),
            fault.len()
        );
    }
    drop(kinds);
    all_up.sort();
    let _ = writeln!(
        out,
        "  all kinds, Redis up: propagation p50 {} p99 {} max {} (bound {} ms)",
        ms(percentile(&all_up, 0.5)),
        ms(percentile(&all_up, 0.99)),
        ms(all_up.last().copied().unwrap_or_default()),
        BOUND_UP.as_millis()
    );
    let _ = writeln!(
        out,
        "false accepts        {false_accepts}  must be 0 (over the bound while Redis up: {late_up})"
    );
    let _ = writeln!(
        out,
        "spurious refusals    {} outside fault windows  must be 0 (failed sign-ins {}, pre-check failures {})",
        get(&l.spurious) + get(&l.failed_sign_ins),
        get(&l.failed_sign_ins),
        get(&l.precheck_failures)
    );
    let _ = writeln!(
        out,
        "in fault windows     503 {} (without Retry-After {}), 401 {}, other {}, failed sign-ins {}, pre-check failures {}",
        get(&l.in_window_503),
        get(&l.missing_retry_after),
        get(&l.in_window_401),
        get(&l.in_window_other),
        get(&l.failed_sign_ins_in_window),
        get(&l.precheck_failures_in_window)
    );
    let _ = writeln!(out, "transport errors     {}", get(&l.transport_errors));
    for e in shared
        .spurious_examples
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let _ = writeln!(out, "  e.g. {e}");
    }
    for d in shared
        .false_accept_details
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let _ = writeln!(out, "  false accept: {d}");
    }
    let _ = writeln!(out, "fault windows:");
    for w in shared
        .faults
        .windows
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let _ = writeln!(
            out,
            "  {:>7.1}s–{:>7.1}s {} ({})",
            (w.start - started).as_secs_f64(),
            w.end.map_or(f64::NAN, |e| (e - started).as_secs_f64()),
            w.what,
            w.note
        );
    }
    let _ = writeln!(out, "start                {at_start}");
    let _ = writeln!(out, "half-way             {at_half}");
    let _ = writeln!(out, "end                  {at_end}");
    let _ = writeln!(
        out,
        "RSS                  start {}, half-way {}, end {}, peak {}",
        mib(rss_start * 1024),
        mib(rss_half * 1024),
        mib(rss_end * 1024),
        mib(rss_peak * 1024)
    );
    let _ = writeln!(
        out,
        "Redis keys           {keys}, without a TTL {without_ttl}  must be 0 {}",
        no_ttl_examples.join(" ")
    );
    let ok = false_accepts == 0
        && get(&l.spurious) == 0
        && get(&l.failed_sign_ins) == 0
        && get(&l.precheck_failures) == 0
        && get(&l.missing_retry_after) == 0
        && get(&l.transport_errors) == 0
        && unexpected == 0
        && without_ttl == 0
        && keys > 0
        && !all_up.is_empty();
    let _ = writeln!(
        out,
        "result               {}",
        if ok { "PASS" } else { "FAIL" }
    );
    print!("\n{out}");
    if let Some(dir) = std::path::Path::new(&report_path).parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    if let Err(e) = std::fs::write(&report_path, &out) {
        eprintln!("soak_instances: {report_path}: {e}");
    }
    drop(redis);
    if !ok {
        std::process::exit(1);
    }
}
