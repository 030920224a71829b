//! Single use across instances, for what the logout and login routes spend: a login `state`
//! (its callback, with a second code of its own for the same state, sent to another instance)
//! and a back-channel logout token's `jti` (the same token posted to another instance). Each
//! replay must be refused; "accepted twice" is counted per kind and must be 0.

use super::*;

/// One login-state replay and one logout-token replay this often.
const EVERY: Duration = Duration::from_millis(1500);

/// Where the replay of a use on instance `i` goes: the next instance, or the mis-wired one.
fn replay_target(shared: &Shared, i: usize) -> app::Target {
    match &shared.rogue {
        Some(rogue) => rogue.clone(),
        None => shared.instances[(i + 1) % shared.instances.len()].target(),
    }
}

pub(crate) async fn replays(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0..MAX_SIGNALS {
        tick.tick().await;
        if shared.done() {
            return;
        }
        let i = (n as usize) % shared.instances.len();
        login_state(&shared, i, n).await;
        logout_jti(&shared, i, n).await;
    }
}

/// A browser signs in at `i`; the mock authorizes the same request twice, the second code for
/// the other instance's callback. The first callback makes a session at `i`; the second, with
/// the same login cookie and `state`, must be refused at the other instance (the state is
/// spent in the shared store), whatever its fresh code.
async fn login_state(shared: &Shared, i: usize, n: u64) {
    let r = &shared.replay_state;
    let target = replay_target(shared, i);
    let base = &shared.instances[i].base;
    let start = Instant::now();
    let user = user_claims(&format!("00ureplay{n}"), &format!("replay{n}@soak.example"));
    let started = app::start_sign_in(
        &shared.http,
        &shared.mock,
        &shared.users,
        base,
        user,
        Some(&target.base),
    )
    .await;
    let first = match &started {
        Ok((url, jar, Some(_))) => app::callback(&shared.http, url, jar).await.ok(),
        _ => None,
    };
    let (Ok((_, jar, Some(second))), Some((302, Some(_)))) = (&started, first) else {
        add(&r.first_refused);
        if shared.faults.overlaps(start, Instant::now()) {
            add(&shared.load.failed_sign_ins_in_window);
        } else {
            add(&shared.load.failed_sign_ins);
            shared.detail(format!(
                "{:.1}s sign-in before a state replay on {} failed",
                shared.started.elapsed().as_secs_f64(),
                NAMES[i]
            ));
        }
        return;
    };
    add(&r.first_used);
    add(&shared.load.sign_ins);
    let again = app::callback(&shared.http, second, jar).await;
    let status = match again {
        // Accepted twice: a session made from a spent state.
        Ok((302, Some(_))) => Some(dpop::LOGIN_ACCEPTED),
        Ok((status, _)) => Some(status),
        Err(_) => None,
    };
    dpop::count_replay(
        shared,
        r,
        status,
        dpop::LOGIN_ACCEPTED,
        &format!(
            "login state used on {}, replayed on {}",
            NAMES[i], target.name
        ),
    );
}

/// A back-channel logout token for a throwaway user, accepted at `i`, then posted again to the
/// other instance: it must be refused (`400`), its `jti` spent.
async fn logout_jti(shared: &Shared, i: usize, n: u64) {
    let r = &shared.replay_jti;
    let target = replay_target(shared, i);
    let mock = &shared.mock;
    let start = Instant::now();
    let token = mock
        .logout_token()
        .claim("sub", format!("00ujti{n}"))
        .build();
    let first = mock
        .backchannel_logout(&shared.instances[i].backchannel(), &token)
        .await;
    if first != 200 {
        add(&r.first_refused);
        if !shared.faults.overlaps(start, Instant::now()) {
            shared.detail(format!(
                "{:.1}s back-channel logout before a jti replay on {}: {first}",
                shared.started.elapsed().as_secs_f64(),
                NAMES[i]
            ));
            shared.kind(Kind::BackchannelSub, |k| k.unexpected_answers += 1);
        }
        return;
    }
    add(&r.first_used);
    let again = mock.backchannel_logout(&target.backchannel, &token).await;
    dpop::count_replay(
        shared,
        r,
        Some(again),
        200,
        &format!(
            "logout token used on {}, replayed on {}",
            NAMES[i], target.name
        ),
    );
}
