//! Interop with a certified OpenID Provider: `oidc-provider@8.8.1` from npm, started by the test
//! on 127.0.0.1 (tests/interop/provider.mjs). Full login, userinfo, logout, and a key rotation
//! (the provider restarted with a new signing key, the old one still published); and
//! OpenID Connect Back-Channel Logout 1.0 (its `backchannelLogout` feature).
//!
//! Needs `node`. When `tests/interop/node_modules` is not installed yet, the test runs
//! `npm ci --prefix tests/interop --no-audit --no-fund` itself (once per run), so it also needs
//! `npm` then; a failing `npm ci` fails the test. Without them the test is skipped (see
//! `harness`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;

use axum::routing::get;
use axum::{Json, Router};
use libtest_mimic::Failed;
use okta_oidc::{
    Claims, Login, LoginConfig, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant,
};
use reqwest::header::COOKIE;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{self, location};
use crate::harness::{NODE, NPM, find, requires};

pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

fn installed(dir: &Path) -> bool {
    ["oidc-provider", "oauth4webapi"]
        .iter()
        .all(|package| dir.join("node_modules").join(package).is_dir())
}

/// Node, and the provider's packages installed or npm to install them.
pub fn needs() -> Option<String> {
    requires(&NODE).or_else(|| {
        if installed(&interop_dir()) {
            None
        } else {
            requires(&NPM).map(|_| {
                format!(
                    "tests/interop/node_modules is missing and npm is not on PATH to install it; \
                     install npm: {}",
                    NPM.install
                )
            })
        }
    })
}

/// `npm ci` in tests/interop unless its packages are there; trials running at the same time
/// wait for the one that installs. Blocks its thread, once, before anything else runs.
pub fn install_packages() -> Result<PathBuf, Failed> {
    static INSTALL: Mutex<()> = Mutex::new(());
    let _one_at_a_time = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = interop_dir();
    if installed(&dir) {
        return Ok(dir);
    }
    let npm = find(&NPM).ok_or("npm is gone")?;
    eprintln!(
        "installing the interop test's packages: npm ci --prefix tests/interop --no-audit --no-fund"
    );
    let output = std::process::Command::new(npm)
        .arg("ci")
        .arg("--prefix")
        .arg(&dir)
        .args(["--no-audit", "--no-fund"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run npm: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`npm ci --prefix tests/interop --no-audit --no-fund` failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    if !installed(&dir) {
        return Err("`npm ci` succeeded but tests/interop/node_modules lacks a package".into());
    }
    Ok(dir)
}

pub struct Op {
    _child: Child,
    pub port: u16,
}

/// Starts `provider.mjs` with `extra` arguments (`--rotate`, `--dpop-resource URI`,
/// `--backchannel URI`).
pub async fn start_op(dir: &Path, port: u16, keys: &Path, app: &str, extra: &[&str]) -> Op {
    let mut command = Command::new("node");
    command
        .arg(dir.join("provider.mjs"))
        .args(["--port", &port.to_string()])
        .arg("--keys")
        .arg(keys)
        .args(["--redirect", &format!("{app}/auth/callback")])
        .args(["--post-logout", &format!("{app}/")])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("start node");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("provider exited before listening");
        if let Some(p) = line.strip_prefix("LISTENING ") {
            break p.trim().parse().unwrap();
        }
    };
    // Keep reading: the provider logs notices to stdout, and a closed pipe would kill it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Op {
        _child: child,
        port,
    }
}

/// A listener for the app on a free loopback port, the app's base URL, and a keys file for the
/// provider that does not exist yet.
async fn app_listener(name: &str) -> (tokio::net::TcpListener, String, PathBuf) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let keys = std::env::temp_dir().join(format!(
        "okta-oidc-{name}-{}-{}.json",
        std::process::id(),
        address.port()
    ));
    let _ = std::fs::remove_file(&keys);
    (listener, format!("http://{address}"), keys)
}

/// The app's `OktaOidc` (one tenant: the provider at `issuer`) and its sign-in.
async fn sign_in_at(issuer: &str, app: &str) -> (OktaOidc, Login) {
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(Tenant::new("op", issuer).client("interop-client", "interop-secret"))
        .build()
        .await
        .expect("discovery and keys of oidc-provider");
    let login = Login::new(&oidc, LoginConfig::new(app).session_secret([42u8; 32]))
        .expect("a valid sign-in configuration");
    (oidc, login)
}

/// Serves the app: `/api/me` (the session's claims) behind the session layer, the login
/// routes, and `more`.
fn serve_app(listener: tokio::net::TcpListener, login: &Login, more: Router) {
    let router = Router::new()
        .route("/api/me", get(|c: Claims| async move { Json(c) }))
        .layer(login.layer())
        .merge(login.router())
        .merge(more);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

/// A browser: a hand-kept jar for the app, reqwest's cookie store for the provider.
struct Browser {
    app: String,
    jar: BTreeMap<String, String>,
    http: reqwest::Client,
    op: reqwest::Client,
}

impl Browser {
    fn new(app: &str) -> Browser {
        let build = |cookies: bool| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .cookie_store(cookies)
                .no_proxy()
                .build()
                .unwrap()
        };
        Browser {
            app: app.to_owned(),
            jar: BTreeMap::new(),
            http: build(false),
            op: build(true),
        }
    }

    async fn app_get(&mut self, path_or_url: &str) -> reqwest::Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.app)
        };
        let response = self
            .http
            .get(url)
            .header(COOKIE, common::cookie_header(&self.jar))
            // As a browser following the app's own links (a logout needs it).
            .header("sec-fetch-site", "same-origin")
            .send()
            .await
            .unwrap();
        common::store_cookies(&mut self.jar, &response);
        response
    }

    /// Follows the provider's redirects until one leads back to the app.
    async fn through_provider(&self, mut url: String) -> String {
        for _ in 0..12 {
            if url.starts_with(&self.app) {
                return url;
            }
            let response = self.op.get(&url).send().await.unwrap();
            assert!(
                response.status().is_redirection(),
                "{url}: {} {}",
                response.status(),
                response.text().await.unwrap_or_default()
            );
            let next = location(&response);
            url = reqwest::Url::parse(&url)
                .unwrap()
                .join(&next)
                .unwrap()
                .into();
        }
        panic!("too many redirects at the provider");
    }

    async fn login(&mut self) -> reqwest::Response {
        let start = self.app_get("/auth/login?return_to=/api/me").await;
        assert_eq!(start.status(), 302);
        let callback = self.through_provider(location(&start)).await;
        assert!(
            callback.contains("code=") && callback.contains("iss="),
            "{callback}"
        );
        self.app_get(&callback).await
    }
}

/// The value of `attr="…"` after `marker` in `html`.
fn attr_after(html: &str, marker: &str, attr: &str) -> String {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let rest = &html[at..];
    let start = rest.find(&format!("{attr}=\"")).unwrap() + attr.len() + 2;
    let end = rest[start..].find('"').unwrap();
    rest[start..start + end].replace("&amp;", "&")
}

pub async fn oidc_provider_login_userinfo_logout_and_key_rotation() -> Result<(), Failed> {
    let dir = install_packages()?;
    let (listener, app, keys) = app_listener("interop").await;
    let op = start_op(&dir, 0, &keys, &app, &[]).await;
    let issuer = format!("http://127.0.0.1:{}", op.port);

    let (oidc, login) = sign_in_at(&issuer, &app).await;
    serve_app(listener, &login, Router::new());

    // Full login; userinfo adds the profile claims the ID token leaves out.
    let mut browser = Browser::new(&app);
    let done = browser.login().await;
    assert_eq!(done.status(), 302, "{}", done.text().await.unwrap());
    assert_eq!(location(&done), "/api/me");
    let me: serde_json::Value = browser.app_get("/api/me").await.json().await.unwrap();
    assert_eq!(me["sub"], "interop-user-1");
    assert_eq!(me["iss"], issuer.as_str());
    assert_eq!(me["name"], "Interop User");
    assert_eq!(me["email"], "interop.user@example.com");

    // Logout: the provider accepts our id_token_hint and post_logout_redirect_uri.
    let out = browser.app_get("/auth/logout").await;
    assert_eq!(out.status(), 302);
    let end_session = location(&out);
    assert!(end_session.starts_with(&format!("{issuer}/session/end")));
    assert_eq!(browser.app_get("/api/me").await.status(), 401);
    let confirmed = confirm_end_session(&browser, &issuer, &end_session).await;
    assert!(confirmed.status().is_redirection());
    let back = location(&confirmed);
    assert!(back.starts_with(&format!("{app}/")), "{back}");
    let sent_state = reqwest::Url::parse(&end_session)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned());
    assert!(back.contains(&format!("state={}", sent_state.unwrap())));

    // A session made before the rotation.
    let mut before = Browser::new(&app);
    assert_eq!(before.login().await.status(), 302);
    let old_kids = oidc.key_ids("op");
    assert_eq!(old_kids.len(), 1);

    // Key rotation: restart with a new signing key, the old one still published.
    drop(op);
    let op = start_op(&dir, issuer_port(&issuer), &keys, &app, &["--rotate"]).await;
    let mut after = Browser::new(&app);
    let done = after.login().await;
    assert_eq!(done.status(), 302, "{}", done.text().await.unwrap());
    assert_eq!(after.app_get("/api/me").await.status(), 200);
    let kids = oidc.key_ids("op");
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&old_kids[0]));
    assert_eq!(before.app_get("/api/me").await.status(), 200);
    drop(op);
    let _ = std::fs::remove_file(&keys);
    Ok(())
}

/// Step-up sign-in against a certified provider (OpenID Connect Core §3.1.2.1): `acr_values`
/// and `max_age` reach oidc-provider, whose ID token carries the class asked and `auth_time`;
/// a class it cannot give is refused at the callback (§3.1.3.7: the client checks `acr`).
pub async fn oidc_provider_step_up_acr_values_and_max_age() -> Result<(), Failed> {
    let dir = install_packages()?;
    let (listener, app, keys) = app_listener("interop-step-up").await;
    let op = start_op(&dir, 0, &keys, &app, &[]).await;
    let issuer = format!("http://127.0.0.1:{}", op.port);
    let (_oidc, login) = sign_in_at(&issuer, &app).await;
    serve_app(listener, &login, Router::new());

    let mut browser = Browser::new(&app);
    let start = browser
        .app_get("/auth/login?return_to=/api/me&acr_values=urn%3Ainterop%3Aloa%3A2&max_age=60")
        .await;
    assert_eq!(start.status(), 302);
    let authorize = location(&start);
    assert!(
        authorize.contains("acr_values=urn%3Ainterop%3Aloa%3A2"),
        "{authorize}"
    );
    assert!(authorize.contains("max_age=60"), "{authorize}");
    let callback = browser.through_provider(authorize).await;
    let done = browser.app_get(&callback).await;
    assert_eq!(done.status(), 302, "{}", done.text().await.unwrap());
    let me: serde_json::Value = browser.app_get("/api/me").await.json().await.unwrap();
    assert_eq!(me["acr"], "urn:interop:loa:2");
    let auth_time = me["auth_time"].as_i64().expect("auth_time with max_age");
    assert!((common::now() - auth_time).abs() < 60, "{auth_time}");

    // A class the provider does not have: it signs in with its weaker one, and the callback
    // refuses the session.
    let mut other = Browser::new(&app);
    let start = other
        .app_get("/auth/login?return_to=/api/me&acr_values=urn%3Ainterop%3Aloa%3A9")
        .await;
    let callback = other.through_provider(location(&start)).await;
    let refused = other.app_get(&callback).await;
    assert_eq!(refused.status(), 401);
    assert_eq!(other.app_get("/api/me").await.status(), 401);
    drop(op);
    let _ = std::fs::remove_file(&keys);
    Ok(())
}

fn issuer_port(issuer: &str) -> u16 {
    issuer.rsplit(':').next().unwrap().parse().unwrap()
}

/// Confirms an end-session request at the provider (`end_session`: the provider's page, its
/// confirmation form submitted); the provider's answer to the form.
async fn confirm_end_session(
    browser: &Browser,
    issuer: &str,
    end_session: &str,
) -> reqwest::Response {
    let page = browser.op.get(end_session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let action = attr_after(&html, "<form", "action");
    let xsrf = attr_after(&html, "name=\"xsrf\"", "value");
    let action = reqwest::Url::parse(issuer).unwrap().join(&action).unwrap();
    browser
        .op
        .post(action)
        .form(&[("xsrf", xsrf.as_str()), ("logout", "yes")])
        .send()
        .await
        .unwrap()
}

/// OpenID Connect Back-Channel Logout 1.0 from oidc-provider (its `backchannelLogout`
/// feature): ending a user's provider session sends a logout token with `sid` to the app's
/// endpoint, which ends that app session only.
pub async fn oidc_provider_backchannel_logout() -> Result<(), Failed> {
    let dir = install_packages()?;
    let (listener, app, keys) = app_listener("interop-bcl").await;
    let backchannel = format!("{app}/auth/backchannel-logout");
    let op = start_op(&dir, 0, &keys, &app, &["--backchannel", &backchannel]).await;
    let issuer = format!("http://127.0.0.1:{}", op.port);
    let (oidc, login) = sign_in_at(&issuer, &app).await;
    let endpoints = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(&app))
        .expect("valid logout endpoints");
    serve_app(listener, &login, endpoints.router());

    let mut first = Browser::new(&app);
    assert_eq!(first.login().await.status(), 302);
    let mut second = Browser::new(&app);
    assert_eq!(second.login().await.status(), 302);
    let me: serde_json::Value = first.app_get("/api/me").await.json().await.unwrap();
    assert!(
        me["sid"].is_string(),
        "oidc-provider puts sid in the ID token: {me}"
    );
    assert_eq!(second.app_get("/api/me").await.status(), 200);

    // The provider session ends at the provider itself, not through the app.
    let confirmed = confirm_end_session(&first, &issuer, &format!("{issuer}/session/end")).await;
    assert!(confirmed.status().is_redirection() || confirmed.status().is_success());
    assert_eq!(
        first.app_get("/api/me").await.status(),
        401,
        "the app session of the ended provider session"
    );
    assert_eq!(
        second.app_get("/api/me").await.status(),
        200,
        "another provider session of the same user"
    );
    drop(op);
    let _ = std::fs::remove_file(&keys);
    Ok(())
}
