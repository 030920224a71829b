//! Hostile traffic beside the load, at a bounded rate, from a client address of its own
//! (127.0.0.2, as another client would be): junk bearer values, callback floods (random `state`
//! and `code`), tokens signed by the org's key but naming random issuers, and DPoP requests with
//! junk proofs. Each must be refused; the valid load must not be (its spurious refusals stay 0).
//! A `503` is a refusal too: junk that looks like an opaque token spends the hostile client's
//! share of the introspection budget, and is then answered `503` without any call.

use okta_oidc::testing::DpopKey;

use super::*;

/// One hostile request this often, the kinds and the instances in turn.
pub(crate) const HOSTILE_EVERY: Duration = Duration::from_millis(20);

pub(crate) const HOSTILE_KINDS: [&str; 4] = [
    "junk token",
    "callback flood",
    "random issuer",
    "junk DPoP proof",
];

/// A cheap pseudo-random stream (xorshift), seeded from the clock.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn text(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..len)
            .map(|_| ALPHABET[(self.next() % 64) as usize] as char)
            .collect()
    }
}

pub(crate) async fn hostile(shared: Arc<Shared>) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(10))
        .build()
        .expect("an HTTP client");
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut rng = Rng(seed);
    let key = DpopKey::es256();
    let mut tick = tokio::time::interval(HOSTILE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0..MAX_REQUESTS_PER_WORKER {
        tick.tick().await;
        if shared.done() {
            return;
        }
        let kind = (n as usize) % HOSTILE_KINDS.len();
        let base = &shared.instances[(n as usize / HOSTILE_KINDS.len()) % NAMES.len()].base;
        let me = format!("{base}/api/me");
        let request = match kind {
            0 => {
                // Junk: opaque-looking, JWT-looking, or with characters no token has.
                let junk = match n % 3 {
                    0 => rng.text(40),
                    1 => format!("eyJ{}.{}.{}", rng.text(30), rng.text(60), rng.text(43)),
                    _ => format!("{}%%{}", rng.text(10), rng.text(10)),
                };
                http.get(&me).bearer_auth(junk)
            }
            1 => http.get(format!(
                "{base}/auth/callback?state={}&code={}",
                rng.text(43),
                rng.text(43)
            )),
            2 => {
                // One in five of this kind (n % 4 == 2).
                let real = shared.breaks.hostile && n % 20 == 2;
                let issuer = if real {
                    shared.mock.issuer()
                } else {
                    format!(
                        "https://evil{}.example.com/oauth2/default",
                        rng.next() % 1000
                    )
                };
                let token = shared
                    .mock
                    .access_token()
                    .claim("iss", issuer)
                    .claim("sub", "attacker@soak.example")
                    .build();
                http.get(&me).bearer_auth(token)
            }
            _ => {
                let token = shared.mock.access_token().bound_to(&key).build();
                let proof = if n % 2 == 0 {
                    rng.text(80)
                } else {
                    // A real proof for another URI.
                    key.proof("GET", "https://evil.example/api/me")
                        .claim("ath", DpopKey::ath(&token))
                        .build()
                };
                http.get(&me)
                    .header("authorization", format!("DPoP {token}"))
                    .header("dpop", proof)
            }
        };
        let start = Instant::now();
        let h = &shared.hostile[kind];
        add(&h.sent);
        let response = request.send().await;
        let Ok(response) = response else {
            add(&h.other);
            continue;
        };
        let status = response.status().as_u16();
        let session = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap_or("").starts_with("okta_session="));
        match status {
            200..=299 => add(&h.accepted),
            _ if session => add(&h.accepted),
            400 | 401 | 403 => add(&h.refused),
            503 => add(&h.answered_503),
            _ => add(&h.other),
        }
        if (200..=299).contains(&status) || session {
            shared.detail(format!(
                "hostile {} accepted on {base}: {status}",
                HOSTILE_KINDS[kind]
            ));
        } else if !matches!(status, 400 | 401 | 403 | 503)
            && !shared.faults.overlaps(start, Instant::now())
        {
            shared.detail(format!(
                "hostile {} answered {status} on {base} outside fault windows",
                HOSTILE_KINDS[kind]
            ));
        }
    }
}
