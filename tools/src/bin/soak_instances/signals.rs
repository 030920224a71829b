//! Logout signals at a steady rate, and the check that each holds on every instance in time.

use super::*;

/// Sends the signal to instance `at`; on `503` (Redis unreachable from there) retries, as Okta
/// does, on the next instance (a load balancer's next pick). The answer, once accepted.
pub(crate) async fn send_signal(
    shared: &Shared,
    kind: Kind,
    at: usize,
    user: &str,
    email: &str,
    session: &app::Session,
) -> Option<(u16, usize)> {
    let mock = &shared.mock;
    let sent = Instant::now();
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
            // Okta's CAEP session-revoked SET (a user's Okta session ended), pushed to the
            // instance the load balancer picks.
            Kind::SharedSignals => {
                let set = mock
                    .session_revoked_event(user)
                    .claim("aud", app::SSF_AUDIENCE)
                    .build();
                app::push_set(&shared.http, &instance.ssf(), &set).await
            }
        };
        match (kind, status) {
            (Kind::UniversalIssSub | Kind::UniversalEmail, 204)
            | (Kind::BackchannelSub | Kind::BackchannelSid, 200)
            | (Kind::RpLogout, 302 | 303)
            | (Kind::SharedSignals, 202) => return Some((status, i)),
            // Unreachable (a cold start in a fault window): the load balancer's next pick.
            (_, 503) | (_, 0) if status == 503 || shared.faults.overlaps(sent, Instant::now()) => {
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
pub(crate) struct Outcome {
    /// From the signal's answer until every credential is refused; `None`: never.
    pub(crate) refused_after: Option<Duration>,
    /// Whether a fault window met the check.
    pub(crate) faulted: bool,
    /// Refused (or not) after the bound.
    pub(crate) late: bool,
    /// The credentials still accepted at the end (indices), or the last one refused.
    pub(crate) last: Vec<usize>,
    /// The bound, from the answer (`None`: a fault window still open).
    pub(crate) bound: Option<Duration>,
}

pub(crate) async fn check_instance(
    shared: &Shared,
    i: usize,
    t0: Instant,
    creds: &[Credential],
) -> Outcome {
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

pub(crate) async fn check(
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
    if [&a, &b, &c].iter().all(|o| o.refused_after.is_some()) {
        // Refused everywhere: probed again on an instance cold-started later.
        let mut revoked = shared.revoked.lock().unwrap_or_else(|e| e.into_inner());
        revoked.extend(creds.iter().cloned());
        while revoked.len() > 24 {
            revoked.pop_front();
        }
    }
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
                    Credential::Dpop { .. } => "DPoP",
                    Credential::Opaque(_) => "opaque token",
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
pub(crate) async fn signals(shared: Arc<Shared>) {
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
            Kind::UniversalIssSub
            | Kind::UniversalEmail
            | Kind::BackchannelSub
            | Kind::SharedSignals => {
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
