//! One app instance, web_app-shaped, on a real axum server on 127.0.0.1: the API (`/api/me`,
//! bearer or session), the login routes (sign-in, RP logout) and both logout endpoints
//! (Universal Logout, back-channel logout). The shape of `tests/it/logout_app.rs`, through the
//! public API only; the instances share the session secret, as instances behind one load
//! balancer do. And a browser's sign-in, with a hand-kept cookie jar.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::store::{MemoryStore, RedisStore, RevocationStore};
use okta_oidc::testing::MockOkta;
use okta_oidc::{
    CallBudget, Claims, Dpop, Login, LoginConfig, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc,
    ProtectedResource, Tenant,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

pub const SESSION_SECRET: &[u8; 32] = b"soak-instances-session-secret-01";

/// The resource identifier DPoP proofs name (`htu`): one for every instance, as behind one
/// load balancer.
pub const RESOURCE: &str = "https://api.soak.example";
pub const HTU: &str = "https://api.soak.example/api/me";

/// `SOAK_REVOCATION_TTL_S`: how long user-wide revocations and sessions last (the builder's
/// `revocation_ttl` and the login's `session_lifetime`, which raises it; default 24 h and 8 h).
/// A short one lets a run outlast its revocations, to see the mirrors and the RSS level off.
pub fn revocation_ttl() -> Option<Duration> {
    std::env::var("SOAK_REVOCATION_TTL_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(|s: u64| Duration::from_secs(s.clamp(60, 86_400)))
}

/// `SOAK_TOKEN_CACHE_MIB`: each instance's verified-token cache bound (the builder's
/// `token_cache_capacity`; default 32 MiB). Expired entries leave it only when looked up or
/// evicted by weight, so with tokens never used again it fills to its bound.
pub fn token_cache_mib() -> Option<usize> {
    std::env::var("SOAK_TOKEN_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(|m: usize| m.clamp(1, 1024))
}

/// Where a replay is sent: an instance's base URL and back-channel endpoint.
#[derive(Clone)]
pub struct Target {
    pub name: &'static str,
    pub base: String,
    pub backchannel: String,
}

/// One running instance of the app. Its server and store are replaced at a cold start (the
/// same address, a new `OktaOidc`, a new store).
pub struct Instance {
    pub name: &'static str,
    pub base: String,
    addr: std::net::SocketAddr,
    universal: String,
    backchannel: String,
    ssf: String,
    store: std::sync::RwLock<RedisStore>,
    server: Mutex<Option<Server>>,
}

struct Server {
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

/// The app's router on `base` with `store`: sessions, bearer and DPoP on `/api/me`, the login
/// routes and both logout endpoints.
async fn router(
    name: &str,
    base: &str,
    mock: &MockOkta,
    store: impl RevocationStore,
) -> Result<(Router, LogoutEndpoints), String> {
    let mut builder = OktaOidc::builder();
    if let Some(ttl) = revocation_ttl() {
        builder = builder.revocation_ttl(ttl);
    }
    if let Some(mib) = token_cache_mib() {
        builder = builder.token_cache_capacity(mib * 1024 * 1024);
    }
    let oidc = builder
        .allow_loopback_http(true)
        .tenant(
            Tenant::new("soak", mock.issuer())
                .client(mock.client_id(), mock.client_secret())
                .audience("api://default"),
        )
        .revocation_store(store)
        .protected_resource(ProtectedResource::new(RESOURCE))
        .dpop(Dpop::new())
        .http_timeout(Duration::from_secs(2))
        .build()
        .await
        .map_err(|e| format!("{name}: {e}"))?;
    // All the soak's browsers come from one address, and sign in far more often than a
    // person does: the code exchange budget (60 a minute per client by default) is raised
    // so that it does not refuse them.
    let budget = CallBudget::new(60_000, 10_000, 64);
    let mut config = LoginConfig::new(base)
        .session_secret(SESSION_SECRET)
        .code_exchange_budget(budget, budget);
    if let Some(ttl) = revocation_ttl() {
        config = config
            .session_lifetime(ttl)
            .idle_timeout(ttl.min(Duration::from_secs(3600)));
    }
    let login = Login::new(&oidc, config).map_err(|e| format!("{name}: {e}"))?;
    let endpoints = LogoutEndpoints::new(
        &oidc,
        LogoutEndpointsConfig::new(base)
            .ssf_push_authorization(SSF_PUSH_AUTHORIZATION)
            .ssf_audience(SSF_AUDIENCE),
    )
    .map_err(|e| format!("{name}: {e}"))?;
    let app = Router::new()
        .route("/api/me", get(|c: Claims| async move { Json(c) }))
        .layer(login.layer())
        .merge(login.router())
        .merge(endpoints.router());
    Ok((app, endpoints))
}

/// Serves `app` on `listener` (with the peer's address, which the introspection budget's
/// client shares count by) until the returned sender is used or dropped.
fn serve(listener: tokio::net::TcpListener, app: Router) -> Server {
    let (shutdown, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let stop = async move {
            let _ = rx.await;
        };
        if let Err(e) = axum::serve(listener, service)
            .with_graceful_shutdown(stop)
            .await
        {
            eprintln!("instance server: {e}");
        }
    });
    Server { shutdown, task }
}

/// The receivers' audience: the app's one public URL behind the load balancer (each instance
/// listens on a port of its own).
pub(crate) const SSF_AUDIENCE: &str = "https://soak.example";

/// The `Authorization` value of the Shared Signals stream (what Okta sends with each SET).
pub(crate) const SSF_PUSH_AUTHORIZATION: &str = "Bearer soak-ssf-push-authorization";

/// POSTs a Security Event Token to `url` as a transmitter does (RFC 8935 §2): the status.
pub(crate) async fn push_set(http: &reqwest::Client, url: &str, set: &str) -> u16 {
    http.post(url)
        .header("authorization", SSF_PUSH_AUTHORIZATION)
        .header("content-type", "application/secevent+jwt")
        .body(set.to_owned())
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

async fn bind(addr: &str) -> Result<tokio::net::TcpListener, String> {
    let mut last = String::new();
    for _ in 0..50 {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return Ok(l),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("bind {addr}: {last}"))
}

impl Instance {
    pub async fn start(
        name: &'static str,
        mock: &MockOkta,
        store: RedisStore,
    ) -> Result<Instance, String> {
        let listener = bind("127.0.0.1:0").await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let base = format!("http://{addr}");
        let (app, endpoints) = router(name, &base, mock, store.clone()).await?;
        let server = serve(listener, app);
        Ok(Instance {
            name,
            universal: endpoints.universal_logout_url().to_owned(),
            backchannel: format!("{base}{}", endpoints.backchannel_logout_path()),
            ssf: endpoints.ssf_events_url().unwrap_or_default().to_owned(),
            base,
            addr,
            store: std::sync::RwLock::new(store),
            server: Mutex::new(Some(server)),
        })
    }

    /// A cold start: the server stopped (its connections closed), then a new app with `store`
    /// on the same address.
    pub async fn cold_start(&self, mock: &MockOkta, store: RedisStore) -> Result<(), String> {
        let old = self.server.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(old) = old {
            let _ = old.shutdown.send(());
            let mut task = old.task;
            if tokio::time::timeout(Duration::from_secs(5), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        *self.store.write().unwrap_or_else(|e| e.into_inner()) = store.clone();
        let listener = bind(&self.addr.to_string()).await?;
        let (app, _) = router(self.name, &self.base, mock, store).await?;
        *self.server.lock().unwrap_or_else(|e| e.into_inner()) = Some(serve(listener, app));
        Ok(())
    }

    pub fn store(&self) -> RedisStore {
        self.store.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The Universal Logout endpoint's URL.
    pub fn universal(&self) -> String {
        self.universal.clone()
    }

    /// The back-channel logout endpoint's URL.
    pub fn backchannel(&self) -> String {
        self.backchannel.clone()
    }

    /// The Shared Signals push endpoint's URL.
    pub fn ssf(&self) -> String {
        self.ssf.clone()
    }

    pub fn target(&self) -> Target {
        Target {
            name: self.name,
            base: self.base.clone(),
            backchannel: self.backchannel.clone(),
        }
    }
}

/// A mis-wired instance, for `SOAK_BREAK_REPLAY=1`: the same app with a memory store of its
/// own instead of the shared Redis (its single-use markers are its own).
pub async fn rogue(mock: &MockOkta) -> Result<Target, String> {
    let listener = bind("127.0.0.1:0").await?;
    let base = format!(
        "http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (app, endpoints) = router("D", &base, mock, MemoryStore::new()).await?;
    let server = serve(listener, app);
    // Serves until the process ends.
    std::mem::forget(server.shutdown);
    Ok(Target {
        name: "D (own memory store)",
        backchannel: format!("{base}{}", endpoints.backchannel_logout_path()),
        base,
    })
}

/// A credential sent to `/api/me`.
#[derive(Clone, Debug)]
pub enum Credential {
    Bearer(String),
    /// A `Cookie` header.
    Session(String),
    /// A DPoP-bound access token and its proof (`Authorization: DPoP`, `DPoP`).
    Dpop {
        token: String,
        proof: String,
    },
    /// An opaque access token (introspected), sent as `Bearer`.
    Opaque(String),
}

/// The answer to one `/api/me`: the status and whether a `Retry-After` came with it.
pub struct Answer {
    pub status: u16,
    pub retry_after: bool,
}

pub async fn me(http: &reqwest::Client, base: &str, credential: &Credential) -> Option<Answer> {
    let mut request = http.get(format!("{base}/api/me"));
    request = match credential {
        Credential::Bearer(t) | Credential::Opaque(t) => request.bearer_auth(t),
        Credential::Session(c) => request.header(COOKIE, c),
        Credential::Dpop { token, proof } => request
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof),
    };
    let response = request.send().await.ok()?;
    Some(Answer {
        status: response.status().as_u16(),
        retry_after: response.headers().contains_key("retry-after"),
    })
}

fn keep(jar: &mut BTreeMap<String, String>, r: &reqwest::Response) {
    for v in r.headers().get_all(SET_COOKIE) {
        let text = v.to_str().unwrap_or("");
        if let Some((name, value)) = text.split(';').next().and_then(|p| p.split_once('=')) {
            if text.contains("Max-Age=0") {
                jar.remove(name);
            } else {
                jar.insert(name.to_owned(), value.to_owned());
            }
        }
    }
}

fn header(jar: &BTreeMap<String, String>) -> String {
    jar.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn location(r: &reqwest::Response) -> Option<String> {
    Some(r.headers().get(LOCATION)?.to_str().ok()?.to_owned())
}

/// A signed-in browser: its cookie header and the session's `sid`.
pub struct Session {
    pub cookie: String,
    pub sid: String,
}

/// A sign-in up to the callback: login at `base`, then the mock's authorize. The callback URL
/// and the browser's cookies (the login cookie); with `second_code_at`, also a second callback
/// URL for the same `state` with a code of its own, for that instance's callback (the mock
/// authorizes the same request twice): what a replay of the login state across instances sends.
pub async fn start_sign_in(
    http: &reqwest::Client,
    mock: &MockOkta,
    users: &tokio::sync::Mutex<()>,
    base: &str,
    user: serde_json::Value,
    second_code_at: Option<&str>,
) -> Result<(String, BTreeMap<String, String>, Option<String>), String> {
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    let _one = users.lock().await;
    mock.set_user(user);
    let start = http
        .get(format!("{base}/auth/login"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if start.status() != 302 {
        return Err(format!("login start {}", start.status()));
    }
    keep(&mut jar, &start);
    let authorize_url = location(&start).ok_or("no location")?;
    let authorize = http
        .get(&authorize_url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let callback = location(&authorize).ok_or("authorize without location")?;
    let mut second = None;
    if let Some(other) = second_code_at {
        let mut url = url::Url::parse(&authorize_url).map_err(|e| e.to_string())?;
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "redirect_uri" {
                    v.replacen(base, other, 1)
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        let again = http
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        second = location(&again);
    }
    Ok((callback, jar, second))
}

/// The callback with the browser's cookies: the status, and the session's cookie header when
/// one was set.
pub async fn callback(
    http: &reqwest::Client,
    url: &str,
    jar: &BTreeMap<String, String>,
) -> Result<(u16, Option<String>), String> {
    let mut jar = jar.clone();
    let response = http
        .get(url)
        .header(COOKIE, header(&jar))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    keep(&mut jar, &response);
    let status = response.status().as_u16();
    let session = jar.contains_key("okta_session").then(|| header(&jar));
    Ok((status, session))
}

/// A full browser sign-in of `user` (claims) at `base`: login → authorize → callback, then
/// `/api/me` for the `sid`. `users` serializes the mock's one "user to sign in" with the
/// authorize step that reads it.
pub async fn sign_in(
    http: &reqwest::Client,
    mock: &MockOkta,
    users: &tokio::sync::Mutex<()>,
    base: &str,
    user: serde_json::Value,
) -> Result<Session, String> {
    let (callback_url, jar, _) = start_sign_in(http, mock, users, base, user, None).await?;
    let (status, cookie) = callback(http, &callback_url, &jar).await?;
    let Some(cookie) = cookie.filter(|_| status == 302) else {
        return Err(format!("callback {status}"));
    };
    let text = http
        .get(format!("{base}/api/me"))
        .header(COOKIE, &cookie)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let claims: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let sid = claims["sid"].as_str().unwrap_or_default().to_owned();
    Ok(Session { cookie, sid })
}

/// RP logout: `GET /auth/logout` with the session, from the app's own page. The status.
pub async fn rp_logout(http: &reqwest::Client, base: &str, cookie: &str) -> Option<u16> {
    let response = http
        .get(format!("{base}/auth/logout"))
        .header(COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .ok()?;
    Some(response.status().as_u16())
}
