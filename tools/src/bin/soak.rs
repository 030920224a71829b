//! Soak run (not part of CI): the api and the web app under steady load, in one process, against
//! the mock Okta org while it rotates its signing key and its key endpoint goes down
//! periodically. Run it with `scripts/soak.sh [minutes]` (release build, default 10 minutes).
//!
//! ```text
//! cargo run --release -p okta-oidc-tools --bin soak -- [minutes] [workers]
//! ```
//!
//! Load (loopback only, bounded in time and in count): workers send `GET /api/me` with valid
//! access tokens, ID tokens and opaque tokens (introspection), with the session cookie of a real
//! login (login → authorize → callback), and with invalid tokens (bad signature, expired).
//! Chaos, every cycle: an emergency key rotation (the mock signs with a new key at once), then
//! an outage of the key endpoint (5xx, garbage, a stall beyond the client timeout), then
//! recovery.
//!
//! Report: requests by kind, spurious failures (anything but 200 for a valid credential; target
//! 0), false accepts (200 for an invalid one; must be 0), outbound key fetches against the bound
//! the refresh policy allows, and the process RSS at start, half-way and end. Exits non-zero
//! when a target is missed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::testing::{Endpoint, Fault, MockOkta};
use okta_oidc::{Claims, KeyRefreshPolicy, Login, LoginConfig, OktaOidc, Tenant};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// One chaos cycle: rotate at 0 s, key endpoint down from `OUTAGE_START` for `OUTAGE`.
const CYCLE: Duration = Duration::from_secs(60);
const OUTAGE_START: Duration = Duration::from_secs(20);
const OUTAGE: Duration = Duration::from_secs(15);
/// Most requests one worker sends (the time bound usually ends the run first).
const MAX_REQUESTS_PER_WORKER: u64 = 20_000_000;
/// The validator's provider-call timeout; the stall fault lasts longer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    valid: AtomicU64,
    invalid: AtomicU64,
    spurious_401: AtomicU64,
    spurious_5xx: AtomicU64,
    spurious_other: AtomicU64,
    false_accepts: AtomicU64,
    logins: AtomicU64,
    failed_logins: AtomicU64,
    transport_errors: AtomicU64,
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

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A credential and whether it is valid.
enum Credential {
    Bearer(String, bool),
    Session(String),
}

struct Shared {
    mock: MockOkta,
    base: String,
    http: reqwest::Client,
    counters: Counters,
    stop: AtomicBool,
    deadline: Instant,
}

impl Shared {
    fn done(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    async fn send(&self, credential: &Credential) {
        let mut request = self.http.get(format!("{}/api/me", self.base));
        let valid = match credential {
            Credential::Bearer(token, valid) => {
                request = request.bearer_auth(token);
                *valid
            }
            Credential::Session(cookie) => {
                request = request.header(COOKIE, cookie);
                true
            }
        };
        let c = &self.counters;
        c.requests.fetch_add(1, Ordering::Relaxed);
        let status = match request.send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => {
                c.transport_errors.fetch_add(1, Ordering::Relaxed);
                return;
            }
        };
        if valid {
            c.valid.fetch_add(1, Ordering::Relaxed);
            let counter = match status {
                200 => return,
                401 => &c.spurious_401,
                500..=599 => &c.spurious_5xx,
                _ => &c.spurious_other,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            c.invalid.fetch_add(1, Ordering::Relaxed);
            if status == 200 {
                c.false_accepts.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// A full browser login; the session cookie header.
    async fn login(&self) -> Option<String> {
        let mut jar: BTreeMap<String, String> = BTreeMap::new();
        let keep = |jar: &mut BTreeMap<String, String>, r: &reqwest::Response| {
            for v in r.headers().get_all(SET_COOKIE) {
                let text = v.to_str().unwrap_or("");
                if let Some((name, value)) = text.split(';').next().and_then(|p| p.split_once('='))
                {
                    if text.contains("Max-Age=0") {
                        jar.remove(name);
                    } else {
                        jar.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        };
        let header = |jar: &BTreeMap<String, String>| {
            jar.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let location = |r: &reqwest::Response| -> Option<String> {
            Some(r.headers().get(LOCATION)?.to_str().ok()?.to_owned())
        };
        let start = self
            .http
            .get(format!("{}/auth/login", self.base))
            .send()
            .await
            .ok()?;
        keep(&mut jar, &start);
        let authorize = self.http.get(location(&start)?).send().await.ok()?;
        let callback = self
            .http
            .get(location(&authorize)?)
            .header(COOKIE, header(&jar))
            .send()
            .await
            .ok()?;
        keep(&mut jar, &callback);
        (callback.status() == 302 && jar.contains_key("okta_session"))
            .then(|| header(&jar))
            .filter(|h| !h.is_empty())
    }
}

/// A bearer worker: valid access and ID tokens (re-minted when the signing key changes, and
/// every 200 requests: about a hundred new tokens a second, which keeps the verified-token
/// cache full and evicting), its opaque token, and invalid tokens.
async fn bearer_worker(shared: Arc<Shared>, worker: usize) {
    let mock = &shared.mock;
    let opaque = mock.opaque_token(serde_json::json!({}));
    let mut kid = String::new();
    let mut tokens: Vec<Credential> = Vec::new();
    for n in 0..MAX_REQUESTS_PER_WORKER {
        if shared.done() {
            return;
        }
        let current = mock.signing_kid();
        if current != kid || n % 200 == 0 {
            kid = current;
            let access = mock.access_token().build();
            let id = mock
                .id_token()
                .claim("nonce", format!("w{worker}n{n}"))
                .build();
            let mut forged = access.clone();
            let last = forged.pop().unwrap_or('A');
            forged.push(if last == 'A' { 'B' } else { 'A' });
            let expired = mock.access_token().expires_in(-3600).build();
            tokens = vec![
                Credential::Bearer(access, true),
                Credential::Bearer(id, true),
                Credential::Bearer(forged, false),
                Credential::Bearer(expired, false),
            ];
            // One opaque token per worker, reused as a client would (each one minted makes the
            // mock remember it: test-kit memory, not the crate's).
            tokens.push(Credential::Bearer(opaque.clone(), true));
        }
        let credential = &tokens[(n as usize) % tokens.len()];
        shared.send(credential).await;
    }
}

/// A browser worker: logs in, uses the session for 5,000 requests, logs in again.
async fn session_worker(shared: Arc<Shared>) {
    let mut session: Option<String> = None;
    for n in 0..MAX_REQUESTS_PER_WORKER {
        if shared.done() {
            return;
        }
        // A new login every 5,000 requests (the mock keeps every access token it issued).
        if session.is_none() || n % 5000 == 0 {
            shared.counters.logins.fetch_add(1, Ordering::Relaxed);
            session = shared.login().await;
            if session.is_none() {
                shared
                    .counters
                    .failed_logins
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        if let Some(cookie) = &session {
            shared.send(&Credential::Session(cookie.clone())).await;
        }
    }
}

/// Rotates the signing key at the start of every cycle; takes the key endpoint down later in
/// the cycle with a different fault each time.
async fn chaos(shared: Arc<Shared>, rotations: Arc<AtomicU64>, outages: Arc<AtomicU64>) {
    let faults = [
        Fault::Status(503),
        Fault::Garbage,
        Fault::Delay(HTTP_TIMEOUT * 3),
        Fault::Status(500),
    ];
    let mut cycle = 0usize;
    loop {
        let cycle_start = tokio::time::Instant::now();
        if shared.done() {
            return;
        }
        shared.mock.rotate_keys();
        rotations.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep_until(cycle_start + OUTAGE_START).await;
        if shared.done() {
            return;
        }
        shared
            .mock
            .set_fault(Endpoint::Keys, faults[cycle % faults.len()].clone());
        outages.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep_until(cycle_start + OUTAGE_START + OUTAGE).await;
        shared.mock.clear_fault(Endpoint::Keys);
        tokio::time::sleep_until(cycle_start + CYCLE).await;
        cycle += 1;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let minutes: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let workers: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let duration = Duration::from_secs_f64((minutes * 60.0).clamp(1.0, 4.0 * 3600.0));

    let mock = MockOkta::builder()
        .keys_cache_control(Some("max-age=20".into()))
        .build()
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut policy = KeyRefreshPolicy::default();
    policy.min_refresh = Duration::from_secs(10);
    policy.max_refresh = Duration::from_secs(60);
    policy.retry_after_failure = Duration::from_secs(5);
    let mut builder = OktaOidc::builder().allow_loopback_http(true);
    if let Some(mib) = std::env::var("SOAK_TOKEN_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        // A diagnostic knob: 0 turns the verified-token cache off, to tell its (bounded) memory
        // from anything else.
        builder = builder.token_cache_capacity(mib * 1024 * 1024);
    }
    let oidc = builder
        .tenant(
            Tenant::new("soak", mock.issuer())
                .client(mock.client_id(), mock.client_secret())
                .audience("api://default"),
        )
        .key_refresh(policy.clone())
        .http_timeout(HTTP_TIMEOUT)
        .build()
        .await
        .expect("warm-up against the mock");
    let login = Login::new(&oidc, LoginConfig::new(&base).session_secret([42u8; 32]))
        .expect("a valid sign-in configuration");
    let app = Router::new()
        .route(
            "/api/me",
            get(|claims: Claims| async move { Json(claims.sub.clone()) }),
        )
        .layer(login.layer())
        .merge(login.router());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let shared = Arc::new(Shared {
        mock: mock.clone(),
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
        counters: Counters::default(),
        stop: AtomicBool::new(false),
        deadline: Instant::now() + duration,
    });
    // Warm the process (first requests, first login) before the starting RSS is read.
    shared.login().await.expect("a first login works");
    let warm = shared.mock.access_token().build();
    for _ in 0..100 {
        shared.send(&Credential::Bearer(warm.clone(), true)).await;
    }
    let fetches_at_start = mock.hits(Endpoint::Keys);
    let (rss_start, _) = rss_kib();
    let started = Instant::now();
    println!(
        "soak: {minutes} min, {workers} bearer workers + 1 browser, rotation every {}s, key \
         endpoint down {}s per cycle",
        CYCLE.as_secs(),
        OUTAGE.as_secs()
    );

    let rotations = Arc::new(AtomicU64::new(0));
    let outages = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..workers {
        tasks.push(tokio::spawn(bearer_worker(Arc::clone(&shared), w)));
    }
    tasks.push(tokio::spawn(session_worker(Arc::clone(&shared))));
    let chaos_task = tokio::spawn(chaos(
        Arc::clone(&shared),
        Arc::clone(&rotations),
        Arc::clone(&outages),
    ));

    let mut rss_mid = 0;
    let mut rss_series: Vec<u64> = Vec::new();
    let mut ticks = 0u64;
    while Instant::now() < shared.deadline {
        tokio::time::sleep(Duration::from_secs(1).min(shared.deadline - Instant::now())).await;
        ticks += 1;
        if rss_mid == 0 && started.elapsed() >= duration / 2 {
            rss_mid = rss_kib().0;
        }
        if ticks.is_multiple_of(60) {
            rss_series.push(rss_kib().0);
            let c = &shared.counters;
            println!(
                "  {:>4}s requests {:>9} spurious {} rss {}",
                started.elapsed().as_secs(),
                c.requests.load(Ordering::Relaxed),
                c.spurious_401.load(Ordering::Relaxed)
                    + c.spurious_5xx.load(Ordering::Relaxed)
                    + c.spurious_other.load(Ordering::Relaxed),
                mib(rss_kib().0)
            );
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }
    chaos_task.abort();
    let elapsed = started.elapsed();
    let (rss_end, rss_peak) = rss_kib();

    let c = &shared.counters;
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let fetches = mock.hits(Endpoint::Keys) - fetches_at_start;
    // Background refreshes at most one per `retry_after_failure` (the shortest interval the
    // policy allows, after failures), request-triggered ones one per cooldown.
    let secs = elapsed.as_secs_f64();
    let bound = (secs / policy.retry_after_failure.as_secs_f64()).ceil() as usize
        + (secs / policy.unknown_kid_cooldown.as_secs_f64()).ceil() as usize
        + 1;
    let spurious = get(&c.spurious_401) + get(&c.spurious_5xx) + get(&c.spurious_other);
    println!("\n== soak report ({:.1} min)", secs / 60.0);
    println!(
        "requests            {} ({:.0}/s)",
        get(&c.requests),
        get(&c.requests) as f64 / secs
    );
    println!("  valid credential  {}", get(&c.valid));
    println!("  invalid (control) {}", get(&c.invalid));
    println!(
        "logins              {} ({} failed)",
        get(&c.logins),
        get(&c.failed_logins)
    );
    println!(
        "chaos               {} rotations, {} key endpoint outages",
        get(&rotations),
        get(&outages)
    );
    println!(
        "spurious failures   {spurious} (401: {}, 5xx: {}, other: {})  target 0",
        get(&c.spurious_401),
        get(&c.spurious_5xx),
        get(&c.spurious_other)
    );
    println!("false accepts       {}  must be 0", get(&c.false_accepts));
    println!("transport errors    {}", get(&c.transport_errors));
    println!("key fetches         {fetches} (policy bound {bound})");
    println!("discovery fetches   {}", mock.hits(Endpoint::Discovery));
    println!(
        "RSS                 start {}, half-way {}, end {}, peak {}",
        mib(rss_start),
        mib(rss_mid),
        mib(rss_end),
        mib(rss_peak)
    );
    println!(
        "RSS each minute     {}",
        rss_series
            .iter()
            .map(|k| format!("{:.0}", *k as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join(" ")
            + " MiB"
    );
    // Flat: over the last 40 % of a run long enough for the bounded caches (verified tokens
    // live at most 5 minutes) to have filled, RSS grows by less than 10 % (or 8 MiB).
    let flat = if secs >= 8.0 * 60.0 {
        let at = |fraction: f64| {
            let i = ((rss_series.len() as f64) * fraction) as usize;
            rss_series
                .get(i.saturating_sub(1))
                .copied()
                .unwrap_or(rss_start)
        };
        let base = at(0.6);
        let growth = rss_end.saturating_sub(base);
        println!(
            "memory flat         {} (+{} over the last 40 %)",
            growth <= (rss_end / 10).max(8 * 1024),
            mib(growth)
        );
        growth <= (rss_end / 10).max(8 * 1024)
    } else {
        println!("memory flat         not judged (run at least 8 minutes)");
        true
    };
    let ok = flat
        && spurious == 0
        && get(&c.false_accepts) == 0
        && fetches <= bound
        && get(&c.failed_logins) == 0
        && get(&c.transport_errors) == 0;
    println!("result              {}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        std::process::exit(1);
    }
}
