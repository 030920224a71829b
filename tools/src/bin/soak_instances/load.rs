//! The steady load on every instance: bearer tokens of users never revoked, sessions, sign-ins.

use super::*;

pub(crate) fn stable_user(k: usize) -> (String, String) {
    (format!("00ustable{k}"), format!("stable{k}@soak.example"))
}

pub(crate) fn user_claims(sub: &str, email: &str) -> serde_json::Value {
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
pub(crate) async fn bearer_worker(shared: Arc<Shared>, i: usize) {
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
        if shared.breaks.valid && n % 50 == 25 {
            // Broken on purpose: a credential the driver spoiled, still counted as valid.
            if let Credential::Bearer(t) = credential {
                let spoiled = format!("{}A{}", &t[..t.len() - 6], &t[t.len() - 5..]);
                let spoiled = if spoiled == *t {
                    format!("{t}x")
                } else {
                    spoiled
                };
                shared
                    .valid(
                        i,
                        &Credential::Bearer(spoiled),
                        "spoiled token (SOAK_BREAK_VALID=1)",
                    )
                    .await;
            }
        } else {
            shared.valid(i, credential, what).await;
        }
        tokio::time::sleep(shared.pace).await;
    }
}

/// Session load started at instance `i`: two users never revoked sign in there, their sessions
/// go to every instance in turn (one load balancer), and sign in again every 1,000 requests.
pub(crate) async fn session_worker(shared: Arc<Shared>, i: usize) {
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

/// Introspection load on instance `i`: opaque access tokens of a user never revoked, answered
/// from the introspection cache, and a token never seen before every `FRESH_OPAQUE_EVERY`
/// (one introspection call each, within the default client share of 60 a minute).
pub(crate) async fn opaque_worker(shared: Arc<Shared>, i: usize) {
    const FRESH_OPAQUE_EVERY: Duration = Duration::from_secs(3);
    let (sub, email) = stable_user(2 * i + 1);
    let mint = || {
        shared
            .mock
            .opaque_token(json!({"sub": email, "uid": sub, "username": email}))
    };
    let mut cached = [mint(), mint()];
    let mut last_fresh = Instant::now();
    for n in 0..MAX_REQUESTS_PER_WORKER {
        if shared.done() {
            return;
        }
        if last_fresh.elapsed() >= FRESH_OPAQUE_EVERY {
            last_fresh = Instant::now();
            let fresh = mint();
            add(&shared.load.fresh_opaque);
            let status = shared
                .valid(i, &Credential::Opaque(fresh.clone()), "fresh opaque token")
                .await;
            // Kept for the cached load once introspected.
            if status == Some(200) {
                cached[(n % 2) as usize] = fresh;
            }
        } else {
            let token = &cached[(n % 2) as usize];
            shared
                .valid(i, &Credential::Opaque(token.clone()), "opaque token")
                .await;
        }
        tokio::time::sleep(shared.pace * 4).await;
    }
}
