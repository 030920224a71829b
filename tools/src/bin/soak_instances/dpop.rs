//! DPoP load on every instance (a fresh proof for every request) and, beside it, the check
//! that a proof is single use across instances: a proof accepted on one instance, sent again to
//! another, must be refused.

use okta_oidc::testing::DpopKey;

use super::*;

/// Every this many DPoP requests, the proof just accepted is replayed on another instance.
const REPLAY_EVERY: u64 = 10;

/// DPoP load on instance `i`: an access token bound to a key (minted afresh every 300 requests
/// and at each key rotation), a fresh proof for every request; every `REPLAY_EVERY`-th
/// accepted proof is sent again to the next instance (or, with `SOAK_BREAK_REPLAY=1`, to the
/// mis-wired instance with a memory store of its own).
pub(crate) async fn dpop_worker(shared: Arc<Shared>, i: usize) {
    let mock = &shared.mock;
    let key = [DpopKey::es256(), DpopKey::ed25519(), DpopKey::es256()][i % 3].clone();
    let (sub, email) = stable_user(2 * i);
    let mut kid = String::new();
    let mut token = String::new();
    for n in 0..MAX_REQUESTS_PER_WORKER {
        if shared.done() {
            return;
        }
        let current = mock.signing_kid();
        if current != kid || n % 300 == 0 {
            kid = current;
            token = mock
                .access_token()
                .claim("sub", &email)
                .claim("uid", &sub)
                .bound_to(&key)
                .build();
        }
        let proof = key
            .proof("GET", app::HTU)
            .claim("ath", DpopKey::ath(&token))
            .build();
        let credential = Credential::Dpop {
            token: token.clone(),
            proof,
        };
        if n % REPLAY_EVERY == 0 {
            replay_proof(&shared, i, &credential).await;
        } else {
            shared.valid(i, &credential, "DPoP").await;
        }
        tokio::time::sleep(shared.pace * 2).await;
    }
}

/// The proof's first use on `i` (a valid request, counted as such), then its replay elsewhere.
async fn replay_proof(shared: &Shared, i: usize, credential: &Credential) {
    let r = &shared.replay_dpop;
    let start = Instant::now();
    let first = app::me(&shared.http, &shared.instances[i].base, credential).await;
    if shared.judge(
        i,
        credential,
        "DPoP (first use before a replay)",
        start,
        first,
    ) != Some(200)
    {
        add(&r.first_refused);
        return;
    }
    add(&r.first_used);
    let (name, base) = match &shared.rogue {
        Some(rogue) => (rogue.name, rogue.base.clone()),
        None => {
            let j = (i + 1) % shared.instances.len();
            (NAMES[j], shared.instances[j].base.clone())
        }
    };
    let again = app::me(&shared.http, &base, credential).await;
    count_replay(
        shared,
        r,
        again.map(|a| a.status),
        200,
        &format!("DPoP proof used on {}, replayed on {name}", NAMES[i]),
    );
}

/// The "status" a login replay is counted with when it made a session (`302` alone is also
/// the answer of a refused callback that sends the browser back to sign in).
pub(crate) const LOGIN_ACCEPTED: u16 = 1;

/// Counts one replay's answer (`accepted` is the status that means it was accepted again).
pub(crate) fn count_replay(
    shared: &Shared,
    r: &Replays,
    status: Option<u16>,
    accepted: u16,
    what: &str,
) {
    match status {
        Some(s) if s == accepted => {
            add(&r.accepted_twice);
            let answer = if s == LOGIN_ACCEPTED {
                "302 with a session".to_owned()
            } else {
                s.to_string()
            };
            shared.detail(format!("accepted twice: {what}: {answer}"));
        }
        Some(400 | 401) => add(&r.refused),
        Some(503) => {
            add(&r.refused);
            add(&r.refused_503);
        }
        other => {
            add(&r.other);
            shared.detail(format!("replay answered oddly: {what}: {other:?}"));
        }
    }
}
