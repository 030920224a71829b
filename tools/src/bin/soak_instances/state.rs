//! What the soak's tasks share: the signal kinds, the fault windows, the counters.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    UniversalIssSub,
    UniversalEmail,
    BackchannelSub,
    BackchannelSid,
    RpLogout,
}

pub(crate) const KINDS: [Kind; 5] = [
    Kind::UniversalIssSub,
    Kind::UniversalEmail,
    Kind::BackchannelSub,
    Kind::BackchannelSid,
    Kind::RpLogout,
];

impl Kind {
    pub(crate) fn name(self) -> &'static str {
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
pub(crate) struct Window {
    pub(crate) what: String,
    pub(crate) start: Instant,
    pub(crate) end: Option<Instant>,
    pub(crate) note: String,
}

#[derive(Default)]
pub(crate) struct Faults {
    pub(crate) windows: Mutex<Vec<Window>>,
}

impl Faults {
    pub(crate) fn open(&self, what: &str) -> usize {
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

    pub(crate) fn close(&self, i: usize, note: String) {
        let mut w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = w.get_mut(i) {
            println!("  fault over: {} ({note})", w.what);
            w.end = Some(Instant::now());
            w.note = note;
        }
    }

    /// Whether `[from, to]` meets a window, each extended by `SETTLE` after its end.
    pub(crate) fn overlaps(&self, from: Instant, to: Instant) -> bool {
        let w = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        w.iter()
            .any(|w| w.start <= to && w.end.is_none_or(|e| e + SETTLE >= from))
    }

    /// Until when a credential revoked at `t0` may still be accepted: `t0 + BOUND_UP`, or the
    /// end of a fault window met since plus `SETTLE`; `None` while such a window is open.
    pub(crate) fn allowed_until(&self, t0: Instant) -> Option<Instant> {
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
    pub(crate) signal_every: Duration,
    pub(crate) stop: AtomicBool,
    pub(crate) deadline: Instant,
    pub(crate) started: Instant,
    pub(crate) pace: Duration,
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

    /// A valid credential of a user never revoked, sent to instance `i`: counted.
    pub(crate) async fn valid(&self, i: usize, credential: &Credential, what: &str) {
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
