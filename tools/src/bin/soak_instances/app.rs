//! One app instance, web_app-shaped, on a real axum server on 127.0.0.1: the API (`/api/me`,
//! bearer or session), the login routes (sign-in, RP logout) and both logout endpoints
//! (Universal Logout, back-channel logout). The shape of `tests/it/logout_app.rs`, through the
//! public API only; the instances share the session secret, as instances behind one load
//! balancer do. And a browser's sign-in, with a hand-kept cookie jar.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::store::RedisStore;
use okta_oidc::testing::MockOkta;
use okta_oidc::{
    CallBudget, Claims, Login, LoginConfig, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc,
    Tenant,
};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

pub const SESSION_SECRET: &[u8; 32] = b"soak-instances-session-secret-01";

/// One running instance of the app.
pub struct Instance {
    pub name: &'static str,
    pub base: String,
    pub store: RedisStore,
    pub endpoints: LogoutEndpoints,
}

impl Instance {
    pub async fn start(
        name: &'static str,
        mock: &MockOkta,
        store: RedisStore,
    ) -> Result<Instance, String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| e.to_string())?;
        let base = format!(
            "http://{}",
            listener.local_addr().map_err(|e| e.to_string())?
        );
        let oidc = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(
                Tenant::new("soak", mock.issuer())
                    .client(mock.client_id(), mock.client_secret())
                    .audience("api://default"),
            )
            .revocation_store(store.clone())
            .http_timeout(Duration::from_secs(2))
            .build()
            .await
            .map_err(|e| format!("{name}: {e}"))?;
        // All the soak's browsers come from one address, and sign in far more often than a
        // person does: the code exchange budget (60 a minute per client by default) is raised
        // so that it does not refuse them.
        let budget = CallBudget::new(60_000, 10_000, 64);
        let config = LoginConfig::new(&base)
            .session_secret(SESSION_SECRET)
            .code_exchange_budget(budget, budget);
        let login = Login::new(&oidc, config).map_err(|e| format!("{name}: {e}"))?;
        let endpoints = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(&base))
            .map_err(|e| format!("{name}: {e}"))?;
        let app = Router::new()
            .route("/api/me", get(|c: Claims| async move { Json(c) }))
            .layer(login.layer())
            .merge(login.router())
            .merge(endpoints.router());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("instance server: {e}");
            }
        });
        Ok(Instance {
            name,
            base,
            store,
            endpoints,
        })
    }

    /// The Universal Logout endpoint's URL.
    pub fn universal(&self) -> String {
        self.endpoints.universal_logout_url().to_owned()
    }

    /// The back-channel logout endpoint's URL.
    pub fn backchannel(&self) -> String {
        format!("{}{}", self.base, self.endpoints.backchannel_logout_path())
    }
}

/// A credential sent to `/api/me`.
#[derive(Clone, Debug)]
pub enum Credential {
    Bearer(String),
    /// A `Cookie` header.
    Session(String),
}

/// The answer to one `/api/me`: the status and whether a `Retry-After` came with it.
pub struct Answer {
    pub status: u16,
    pub retry_after: bool,
}

pub async fn me(http: &reqwest::Client, base: &str, credential: &Credential) -> Option<Answer> {
    let mut request = http.get(format!("{base}/api/me"));
    request = match credential {
        Credential::Bearer(t) => request.bearer_auth(t),
        Credential::Session(c) => request.header(COOKIE, c),
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
    let mut jar: BTreeMap<String, String> = BTreeMap::new();
    let callback_url = {
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
        let authorize = http
            .get(location(&start).ok_or("no location")?)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        location(&authorize).ok_or("authorize without location")?
    };
    let callback = http
        .get(callback_url)
        .header(COOKIE, header(&jar))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    keep(&mut jar, &callback);
    if callback.status() != 302 || !jar.contains_key("okta_session") {
        return Err(format!("callback {}", callback.status()));
    }
    let cookie = header(&jar);
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
