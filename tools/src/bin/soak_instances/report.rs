//! The report: figures and targets, printed and written to a file; whether every target held.

use super::*;

/// What the run measured outside `Shared`.
pub(crate) struct Run {
    pub(crate) elapsed: Duration,
    pub(crate) at_start: String,
    pub(crate) at_warm: String,
    pub(crate) at_half: String,
    pub(crate) at_end: String,
    pub(crate) rss_start: u64,
    pub(crate) rss_warm: u64,
    pub(crate) rss_half: u64,
    pub(crate) rss_end: u64,
    pub(crate) rss_peak: u64,
    pub(crate) keys: u64,
    pub(crate) without_ttl: u64,
    pub(crate) no_ttl_examples: Vec<String>,
    /// The fewest requests and signals answered in one full minute (`u64::MAX`: none).
    pub(crate) min_requests: u64,
    pub(crate) min_signals: u64,
}

/// The report, and whether every target held.
pub(crate) fn report(shared: &Shared, r: &Run) -> (String, bool) {
    let l = &shared.load;
    let mut out = String::new();
    let secs = r.elapsed.as_secs_f64();
    let broken = !shared.breaks.names().is_empty();
    let _ = writeln!(
        out,
        "== soak_instances report ({:.1} min{}{}{})",
        secs / 60.0,
        if broken {
            format!(", {}", shared.breaks.names())
        } else {
            String::new()
        },
        app::revocation_ttl().map_or(String::new(), |t| format!(
            ", SOAK_REVOCATION_TTL_S={}",
            t.as_secs()
        )),
        app::token_cache_mib().map_or(String::new(), |m| format!(", SOAK_TOKEN_CACHE_MIB={m}"))
    );
    let _ = writeln!(
        out,
        "load                 {} requests ({:.0}/s) with valid credentials (DPoP {}, introspected {} of which {} fresh), {} sign-ins, {} key rotations",
        get(&l.requests),
        get(&l.requests) as f64 / secs,
        get(&l.dpop),
        get(&l.introspected),
        get(&l.fresh_opaque),
        get(&l.sign_ins),
        get(&l.rotations)
    );
    let answered: u64 = shared
        .kinds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .map(|k| k.answered)
        .sum();
    let _ = writeln!(
        out,
        "signals              {answered} answered ({:.2}/s); the slowest full minute: {} requests/s, {} signals/s",
        answered as f64 / secs,
        if r.min_requests == u64::MAX {
            "-".to_owned()
        } else {
            format!("{:.0}", r.min_requests as f64 / 60.0)
        },
        if r.min_signals == u64::MAX {
            "-".to_owned()
        } else {
            format!("{:.2}", r.min_signals as f64 / 60.0)
        }
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
    let _ = writeln!(
        out,
        "transport errors     {} (in fault windows {})",
        get(&l.transport_errors),
        get(&l.transport_errors_in_window)
    );
    let twice = replays(&mut out, shared);
    let hostile_accepted = hostile(&mut out, shared);
    let cold_false = cold(&mut out, shared);
    for d in shared
        .details
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
    {
        let _ = writeln!(out, "  {d}");
    }
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
    fault_windows(&mut out, shared);
    let _ = writeln!(out, "start                {}", r.at_start);
    let _ = writeln!(out, "after warm-up (60 s) {}", r.at_warm);
    let _ = writeln!(out, "half-way             {}", r.at_half);
    let _ = writeln!(out, "end                  {}", r.at_end);
    let warm_minutes = (secs - 60.0).max(1.0) / 60.0;
    let _ = writeln!(
        out,
        "RSS                  start {}, after warm-up {}, half-way {}, end {}, peak {}; {:+.2} MiB a minute after warm-up",
        mib(r.rss_start * 1024),
        mib(r.rss_warm * 1024),
        mib(r.rss_half * 1024),
        mib(r.rss_end * 1024),
        mib(r.rss_peak * 1024),
        (r.rss_end as f64 - r.rss_warm as f64) / 1024.0 / warm_minutes
    );
    let _ = writeln!(
        out,
        "Redis keys           {}, without a TTL {}  must be 0 {}",
        r.keys,
        r.without_ttl,
        r.no_ttl_examples.join(" ")
    );
    let ok = false_accepts == 0
        && get(&l.spurious) == 0
        && get(&l.failed_sign_ins) == 0
        && get(&l.precheck_failures) == 0
        && get(&l.missing_retry_after) == 0
        && get(&l.transport_errors) == 0
        && unexpected == 0
        && r.without_ttl == 0
        && r.keys > 0
        && twice == 0
        && hostile_accepted == 0
        && cold_false == 0
        && get(&shared.cold.missing_retry_after) == 0
        && !all_up.is_empty();
    let _ = writeln!(
        out,
        "result               {}",
        if ok { "PASS" } else { "FAIL" }
    );

    (out, ok)
}

/// Single use across instances: one line per kind. The accepted-twice total.
fn replays(out: &mut String, shared: &Shared) -> u64 {
    let _ = writeln!(
        out,
        "single use across instances (used once; replayed on another instance: refused (of which 503), ACCEPTED TWICE, other; first use refused):"
    );
    let mut twice = 0;
    for (name, r) in [
        ("DPoP proof", &shared.replay_dpop),
        ("login state", &shared.replay_state),
        ("logout-token jti", &shared.replay_jti),
    ] {
        twice += get(&r.accepted_twice) + get(&r.other);
        let _ = writeln!(
            out,
            "  {:<18} {:>6}; refused {} ({}), accepted twice {}  must be 0, other {}; first use refused {}",
            name,
            get(&r.first_used),
            get(&r.refused),
            get(&r.refused_503),
            get(&r.accepted_twice),
            get(&r.other),
            get(&r.first_refused)
        );
    }
    let _ = writeln!(out, "accepted twice       {twice}  must be 0");
    twice
}

/// Hostile traffic: one line per kind. The accepted total.
fn hostile(out: &mut String, shared: &Shared) -> u64 {
    let secs = shared.started.elapsed().as_secs_f64().max(1.0);
    let sent: u64 = shared.hostile.iter().map(|h| get(&h.sent)).sum();
    let _ = writeln!(
        out,
        "hostile traffic      {sent} requests ({:.0}/s) from 127.0.0.2 (sent: refused, 503, other, ACCEPTED):",
        sent as f64 / secs
    );
    let mut accepted = 0;
    for (name, h) in hostile::HOSTILE_KINDS.iter().zip(&shared.hostile) {
        accepted += get(&h.accepted);
        let _ = writeln!(
            out,
            "  {:<18} {:>6}: refused {}, 503 {}, other {}, accepted {}  must be 0",
            name,
            get(&h.sent),
            get(&h.refused),
            get(&h.answered_503),
            get(&h.other),
            get(&h.accepted)
        );
    }
    let _ = writeln!(out, "hostile accepted     {accepted}  must be 0");
    accepted
}

/// The cold starts: what B answered to credentials revoked before it started.
fn cold(out: &mut String, shared: &Shared) -> u64 {
    let c = &shared.cold;
    let first: Vec<u64> = c
        .first_sync_ms
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let _ = writeln!(
        out,
        "cold starts          {} of B while Redis was down: {} probes with revoked credentials: 503 before the first sync {} (without Retry-After {}), refused {}, accepted after the first sync within the bound {}; first sync {:?} ms after the start",
        get(&c.restarts),
        get(&c.probes),
        get(&c.closed_503),
        get(&c.missing_retry_after),
        get(&c.refused),
        get(&c.accepted_within_bound),
        first
    );
    let _ = writeln!(
        out,
        "cold-start false accepts {}  must be 0",
        get(&c.false_accepts)
    );
    get(&c.false_accepts)
}

/// The fault windows (the first and last few), and the longest refusal span per kind of fault.
fn fault_windows(out: &mut String, shared: &Shared) {
    let windows = shared
        .faults
        .windows
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let started = shared.started;
    let _ = writeln!(
        out,
        "fault windows (refusals of valid credentials inside; their span, first to last):"
    );
    let show = |out: &mut String, w: &state::Window| {
        let span = w.refused.map_or(0.0, |(a, b)| (b - a).as_secs_f64());
        let _ = writeln!(
            out,
            "  {:>7.1}s–{:>7.1}s {} ({}); refusals {} over {:.1} s",
            (w.start - started).as_secs_f64(),
            w.end.map_or(f64::NAN, |e| (e - started).as_secs_f64()),
            w.what,
            w.note,
            w.refusals,
            span
        );
    };
    let n = windows.len();
    for (k, w) in windows.iter().enumerate() {
        if n <= 24 || k < 12 || k >= n - 12 {
            show(out, w);
        } else if k == 12 {
            let _ = writeln!(
                out,
                "  … ({} more windows, the same faults every {} s)",
                n - 24,
                CYCLE.as_secs()
            );
        }
    }
    let mut longest: BTreeMap<&str, (f64, u64, usize)> = BTreeMap::new();
    for w in windows.iter() {
        let span = w.refused.map_or(0.0, |(a, b)| (b - a).as_secs_f64());
        let e = longest.entry(w.kind()).or_default();
        e.0 = e.0.max(span);
        e.1 += w.refusals;
        e.2 += 1;
    }
    let _ = writeln!(out, "longest refusal span per fault:");
    for (kind, (span, refusals, count)) in longest {
        let _ = writeln!(
            out,
            "  {kind:<62} {span:>5.1} s ({count} windows, {refusals} refusals in all)"
        );
    }
}
