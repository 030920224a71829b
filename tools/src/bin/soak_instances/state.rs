//! What the soak's tasks share: the signal kinds, the fault windows, the counters.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    UniversalIssSub,
    UniversalEmail,
    BackchannelSub,
    BackchannelSid,
    RpLogout,
    SharedSignals,
}

pub(crate) const KINDS: [Kind; 6] = [
    Kind::UniversalIssSub,
    Kind::UniversalEmail,
    Kind::BackchannelSub,
    Kind::BackchannelSid,
    Kind::RpLogout,
    Kind::SharedSignals,
];

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::UniversalIssSub => "universal iss_sub",
            Kind::UniversalEmail => "universal email",
            Kind::BackchannelSub => "back-channel sub",
            Kind::BackchannelSid => "back-channel sid",
            Kind::RpLogout => "RP logout",
            Kind::SharedSignals => "SSF session-revoked",
        }
    }
}

/// What a fault window excuses: every request, or only those that need an introspection call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    All,
    Introspection,
}

/// One announced fault window.
pub(crate) struct Window {
    pub(crate) what: String,
    pub(crate) scope: Scope,
    pub(crate) start: Instant,
    pub(crate) end: Option<Instant>,
    pub(crate) note: String,
    /// The first and the last refusal of a valid credential it excused (the refusal span).
    pub(crate) refused: Option<(Instant, Instant)>,
    pub(crate) refusals: u64,
}

impl Window {
    /// The kind of fault (the text before any parenthesis or number): to group windows.
    pub(crate) fn kind(&self) -> &str {
        self.what.split(" (").next().unwrap_or(&self.what)
    }

    fn excuses(&self, from: Instant, to: Instant, scope: Scope) -> bool {
        (self.scope == Scope::All || self.scope == scope)
            && self.start <= to
            && self.end.is_none_or(|e| e + SETTLE >= from)
    }
}

#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) windows: Mutex<Vec<Window>>,
}

impl Faults {
    pub(crate) fn open(&self, what: &str) -> usize {
        self.open_for(what, Scope::All)
    }

    pub(crate) fn open_for(&self, what: &str, scope: Scope) -> usize {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        println!("  fault: {what}");
        w.push(Window {
            what: what.to_owned(),
            scope,
            start: Instant::now(),
            end: None,
            note: String::new(),
            refused: None,
            refusals: 0,
        });
        w.len() - 1
    }

    pub(crate) fn close(&self, i: usize, note: String) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = w.get_mut(i) {
            println!("  fault over: {} ({note})", w.what);
            w.end = Some(Instant::now());
            w.note = note;
        }
    }

    /// Whether `[from, to]` meets a window that excuses every request, each extended by
    /// `SETTLE` after its end.
    pub(crate) fn overlaps(&self, from: Instant, to: Instant) -> bool {
        self.overlaps_for(from, to, Scope::All)
    }

    /// The same for a request of `scope` (an introspection window excuses only those).
    pub(crate) fn overlaps_for(&self, from: Instant, to: Instant, scope: Scope) -> bool {
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.iter().any(|w| w.excuses(from, to, scope))
    }

    /// A refusal of a valid credential at `at` excused by the windows it met: their spans.
    pub(crate) fn note_refusal(&self, from: Instant, at: Instant, scope: Scope) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        for w in w.iter_mut().filter(|w| w.excuses(from, at, scope)) {
            w.refusals += 1;
            w.refused = Some(w.refused.map_or((at, at), |(a, b)| (a.min(at), b.max(at))));
        }
    }

    /// Until when a credential revoked at `t0` may still be accepted: `t0 + BOUND_UP`, or the
    /// end of a fault window met since plus `SETTLE`; `None` while such a window is open.
    pub(crate) fn allowed_until(&self, t0: Instant) -> Option<Instant> {
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut until = t0 + BOUND_UP;
        for w in w
            .iter()
            .filter(|w| w.scope == Scope::All && w.end.is_none_or(|e| e + SETTLE >= t0))
        {
            match w.end {
                None => return None,
                Some(e) => until = until.max(e + SETTLE),
            }
        }
        Some(until)
    }
}

#[derive(Default)]
pub(crate) struct KindStats {
    pub(crate) signals: u64,
    pub(crate) answered: u64,
    pub(crate) answered_in_fault: u64,
    pub(crate) retried_503: u64,
    pub(crate) unexpected_answers: u64,
    /// Time from the answer until another instance refuses every credential, no fault met.
    pub(crate) propagation_up: Vec<Duration>,
    /// The same for signals that met a fault window.
    pub(crate) propagation_fault: Vec<Duration>,
    /// Refused, but after the bound, while Redis was up / after a fault.
    pub(crate) late_up: u64,
    pub(crate) late_fault: u64,
    /// Never refused (given up `GIVE_UP` after the bound).
    pub(crate) lost: u64,
}

#[derive(Default)]
pub(crate) struct Load {
    pub(crate) requests: AtomicU64,
    pub(crate) ok: AtomicU64,
    pub(crate) spurious: AtomicU64,
    pub(crate) in_window_401: AtomicU64,
    pub(crate) in_window_503: AtomicU64,
    pub(crate) in_window_other: AtomicU64,
    pub(crate) missing_retry_after: AtomicU64,
    pub(crate) transport_errors: AtomicU64,
    pub(crate) sign_ins: AtomicU64,
    pub(crate) failed_sign_ins: AtomicU64,
    pub(crate) failed_sign_ins_in_window: AtomicU64,
    pub(crate) precheck_failures: AtomicU64,
    pub(crate) precheck_failures_in_window: AtomicU64,
    pub(crate) rotations: AtomicU64,
    pub(crate) transport_errors_in_window: AtomicU64,
    /// Requests by kind of credential (bearer, session, DPoP, introspected).
    pub(crate) dpop: AtomicU64,
    pub(crate) introspected: AtomicU64,
    pub(crate) fresh_opaque: AtomicU64,
}

/// One kind of single-use check across instances: a use on one instance, its replay on another.
#[derive(Default)]
pub(crate) struct Replays {
    pub(crate) first_used: AtomicU64,
    /// The replay was refused (`401`/`400`), or failed closed (`503`).
    pub(crate) refused: AtomicU64,
    pub(crate) refused_503: AtomicU64,
    /// Accepted twice: must be 0.
    pub(crate) accepted_twice: AtomicU64,
    pub(crate) other: AtomicU64,
    /// The first use was not accepted (in a fault window, or not: a spurious refusal).
    pub(crate) first_refused: AtomicU64,
}

/// Hostile requests of one kind: each must be refused.
#[derive(Default)]
pub(crate) struct HostileStats {
    pub(crate) sent: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) answered_503: AtomicU64,
    pub(crate) other: AtomicU64,
}

/// The cold start of one instance while Redis is down: what it answered to credentials revoked
/// before it started, before and after its first sync.
#[derive(Default)]
pub(crate) struct ColdStart {
    pub(crate) restarts: AtomicU64,
    pub(crate) probes: AtomicU64,
    /// `503` before the first sync (fail closed), and those without `Retry-After`.
    pub(crate) closed_503: AtomicU64,
    pub(crate) missing_retry_after: AtomicU64,
    /// A revoked credential accepted before the first sync, or after its bound: must be 0.
    pub(crate) false_accepts: AtomicU64,
    /// Accepted after the first sync but within the bound (the write-back after a restart).
    pub(crate) accepted_within_bound: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) first_sync_ms: Mutex<Vec<u64>>,
}

pub(crate) struct Shared {
    pub(crate) mock: MockOkta,
    pub(crate) instances: Vec<Instance>,
    pub(crate) http: reqwest::Client,
    pub(crate) users: tokio::sync::Mutex<()>,
    pub(crate) faults: Faults,
    pub(crate) load: Load,
    pub(crate) kinds: Mutex<BTreeMap<Kind, KindStats>>,
    pub(crate) spurious_examples: Mutex<Vec<String>>,
    /// One line per false accept (the first few).
    pub(crate) false_accept_details: Mutex<Vec<String>>,
    /// One line per failed check of the other kinds (replays, hostile, cold start; the first few).
    pub(crate) details: Mutex<Vec<String>>,
    pub(crate) signal_every: Duration,
    /// Single use across instances: DPoP proofs, login states, logout-token `jti`s.
    pub(crate) replay_dpop: Replays,
    pub(crate) replay_state: Replays,
    pub(crate) replay_jti: Replays,
    pub(crate) hostile: [HostileStats; 4],
    pub(crate) cold: ColdStart,
    /// Credentials of signals refused on every instance (the last few): probed at a cold start.
    pub(crate) revoked: Mutex<std::collections::VecDeque<Credential>>,
    /// The instance replays are sent to when `SOAK_BREAK_REPLAY=1` (its own memory store).
    pub(crate) rogue: Option<app::Target>,
    pub(crate) breaks: Breaks,
    pub(crate) stop: AtomicBool,
    pub(crate) deadline: Instant,
    pub(crate) started: Instant,
    pub(crate) pace: Duration,
}

/// The deliberate breaks (`SOAK_BREAK_*=1`): each must make the run fail on its own line.
#[derive(Default, Clone, Copy)]
pub(crate) struct Breaks {
    /// C's store has a key prefix of its own: revocations do not propagate.
    pub(crate) publish: bool,
    /// Replays go to an instance with a memory store of its own.
    pub(crate) replay: bool,
    /// One bearer credential in 50 is corrupted by the driver, yet counted as valid.
    pub(crate) valid: bool,
    /// One "random issuer" token in 5 carries the real issuer.
    pub(crate) hostile: bool,
    /// The cold-started instance serves before its first sync (`fail_closed_until_first_sync(false)`).
    pub(crate) cold: bool,
}

impl Breaks {
    pub(crate) fn from_env() -> Breaks {
        let on = |name: &str| std::env::var(name).is_ok_and(|v| v == "1");
        Breaks {
            publish: on("SOAK_BREAK_PUBLISH"),
            replay: on("SOAK_BREAK_REPLAY"),
            valid: on("SOAK_BREAK_VALID"),
            hostile: on("SOAK_BREAK_HOSTILE"),
            cold: on("SOAK_BREAK_COLD"),
        }
    }

    pub(crate) fn names(&self) -> String {
        [
            (self.publish, "SOAK_BREAK_PUBLISH=1"),
            (self.replay, "SOAK_BREAK_REPLAY=1"),
            (self.valid, "SOAK_BREAK_VALID=1"),
            (self.hostile, "SOAK_BREAK_HOSTILE=1"),
            (self.cold, "SOAK_BREAK_COLD=1"),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(" ")
    }
}

pub(crate) fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

pub(crate) fn add(a: &AtomicU64) {
    a.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Shared {
    pub(crate) fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    pub(crate) fn kind<R>(&self, kind: Kind, f: impl FnOnce(&mut KindStats) -> R) -> R {
        let mut k = self.kinds.lock().unwrap_or_else(|e| e.into_inner());
        f(k.entry(kind).or_default())
    }

    pub(crate) fn detail(&self, what: String) {
        let mut d = self.details.lock().unwrap_or_else(|e| e.into_inner());
        if d.len() < 24 {
            d.push(what);
        }
    }

    pub(crate) fn spurious(&self, what: String) {
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

    /// A valid credential of a user never revoked, sent to instance `i`: counted. The status.
    pub(crate) async fn valid(&self, i: usize, credential: &Credential, what: &str) -> Option<u16> {
        let start = Instant::now();
        let answer = app::me(&self.http, &self.instances[i].base, credential).await;
        self.judge(i, credential, what, start, answer)
    }

    /// Counts the answer to a valid credential sent at `start`: accepted, excused by a fault
    /// window (`503` with `Retry-After`), or a spurious refusal. The status.
    pub(crate) fn judge(
        &self,
        i: usize,
        credential: &Credential,
        what: &str,
        start: Instant,
        answer: Option<app::Answer>,
    ) -> Option<u16> {
        add(&self.load.requests);
        match credential {
            Credential::Dpop { .. } => add(&self.load.dpop),
            Credential::Opaque(_) => add(&self.load.introspected),
            _ => {}
        }
        let scope = match credential {
            Credential::Opaque(_) => Scope::Introspection,
            _ => Scope::All,
        };
        let now = Instant::now();
        let in_fault = self.faults.overlaps_for(start, now, scope);
        let Some(answer) = answer else {
            if in_fault {
                add(&self.load.transport_errors_in_window);
            } else {
                add(&self.load.transport_errors);
            }
            return None;
        };
        if answer.status != 200 && in_fault {
            self.faults.note_refusal(start, now, scope);
        }
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
        Some(answer.status)
    }

    /// A sign-in at instance `i`, counted.
    pub(crate) async fn sign_in(&self, i: usize, user: serde_json::Value) -> Option<app::Session> {
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
