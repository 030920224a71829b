//! A web app with browser sign-in: login, callback and logout routes, an encrypted session
//! cookie, a profile page and a JSON API that takes the session or a bearer token.
//!
//! Offline (no Okta variables): starts an embedded mock Okta org with a sample user, and prints
//! the URL to open.
//!
//! ```text
//! cargo run --example web_app
//! ```
//!
//! Against a real org (see the README for the Okta admin console steps):
//!
//! ```text
//! OKTA_ISSUER=https://acme.okta.com OKTA_CLIENT_ID=0oa1… OKTA_CLIENT_SECRET=… \
//!   SESSION_SECRET=$(openssl rand -hex 32) cargo run --example web_app
//! ```
//!
//! Environment:
//! - `OKTA_ISSUER`, `OKTA_CLIENT_ID`, `OKTA_CLIENT_SECRET` (one tenant), or `OKTA_TENANTS_FILE`:
//!   a JSON array `[{"id","issuer","client_id","client_secret","audience"}]` (`client_secret`
//!   and `audience` optional; sign-in needs the secret). With several tenants, start a login
//!   with `/auth/login?tenant=<id>` or from the Okta dashboard (`?iss=`). With
//!   `OKTA_TENANTS_FILE`, an `X-Okta-Tenant: <id>` header names the request's tenant (a
//!   stand-in for the host a real app would read): a session of another tenant counts as none
//!   there, and a sign-in starts at that tenant.
//! - `TRUSTED_PROXIES` (comma-separated addresses): from these peers, `X-Forwarded-For` gives
//!   the client address that budget shares (code exchanges, introspection) are counted by.
//! - `APP_BASE_URL` (default `http://127.0.0.1:3000`): the redirect URI is
//!   `APP_BASE_URL/auth/callback`, the post-logout redirect `APP_BASE_URL/`. With a path
//!   (`https://example.com/app`), every route below is served under it (`/app/profile`,
//!   `/app/auth/login`, …).
//! - `OKTA_ALLOW_LOOPBACK_HTTP=1`: accept an `http://` issuer on a loopback host (a local mock
//!   org such as `cargo run -p okta-oidc-tools --bin mock_okta`); the embedded mock always is.
//! - `SESSION_SECRET` (32 bytes or more; optional: a random one per start, with a warning).
//! - `BIND_ADDR` (default `127.0.0.1:3000`).
//! - `REDIS_URL` (optional, with `--features redis`; `rediss://` with `redis-tls`): revocations
//!   shared by every instance pointed at that Redis; otherwise kept in memory.
//!   Behind Redis Sentinel: `redis+sentinel://host:port,host:port/<master name>` (the
//!   Sentinels; `rediss+sentinel://` with `redis-tls`); a Redis Cluster:
//!   `redis+cluster://host:port,host:port` (seed nodes; `--features redis-cluster`);
//! - `REDIS_MIN_REPLICAS_ACKED` (optional, with `REDIS_URL`): replicas that must hold a
//!   revocation before a logout signal is answered (default: 1 when the primary has replicas);
//! - `SSF_PUSH_AUTHORIZATION` (optional): serves the Shared Signals push endpoint
//!   `POST /auth/ssf/events` (Okta's SSF transmitter: a user's Okta session ended or their
//!   credentials changed end their sessions here); the value is the exact `Authorization`
//!   header the stream sends (its `authorization_header`). `SSF_AUDIENCE` (optional) is the
//!   `aud` the SETs carry (default `APP_BASE_URL`). With `REDIS_URL`, an event received by one
//!   instance ends the session on all. Offline, the embedded mock has a stream to it always.
//!
//! Routes: `GET /` (public), `GET /health`, `/auth/login`, `/auth/callback`, `/auth/logout`,
//! `GET /profile` (HTML; redirects to login without a session, and asks to sign in again when
//! the session was ended), `GET /api/me` (JSON claims of the session user or of a bearer token;
//! 401 with neither), `POST /api/me` answering the same (the stand-in for any route that
//! changes state: with the session cookie it must come from the app's own pages, 403 from
//! another site), `POST /auth/global-token-revocation` (Okta's Universal Logout; `aud` is
//! `APP_BASE_URL/auth/global-token-revocation`) and `POST /auth/backchannel-logout`.
//!
//! `/admin/tenants` (`examples/support/admin.rs`): the tenants and the tenant doctor, for
//! signed-in users listed in `ADMIN_USERS` (comma-separated `sub`s or emails; unset: 404).
//! Offline, `DEMO_BROKEN_TENANT=1` adds a misconfigured second tenant, "globex".
//!
//! Offline, `GET /mock-okta/admin` is the embedded mock Okta's "admin console": its "Sign out
//! everywhere" button makes the mock call the app's Universal Logout endpoint exactly as Okta
//! does when an admin clears a user's sessions; the profile page then asks to sign in again.
//! "End the user's Okta session (SSF)" and "Reset the user's password (SSF)" make the mock push
//! the CAEP `session-revoked` / `credential-change` event to the app's SSF endpoint.

#[path = "support/admin.rs"]
mod admin;
mod shared;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use okta_oidc::testing::MockOkta;
use okta_oidc::{
    Claims, Login, LoginConfig, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, SessionEnd,
    Tenant,
};
use shared::{Env, tenants_from_file};

/// The user of the embedded mock Okta.
const SAMPLE_USER: &str = "00u1sampleuser";

// Claims come from the identity provider: never trust them as HTML (one escape for the
// example's pages, in `support/admin.rs`).
use admin::escape;

fn layout(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body>{body}</body></html>",
        escape(title)
    ))
}

/// The path the app is served under (`""` at the root): every link carries it.
#[derive(Clone)]
struct AppPath(std::sync::Arc<str>);

async fn home(State(AppPath(p)): State<AppPath>, claims: Option<Claims>) -> Html<String> {
    let p = escape(&p);
    let body = match claims {
        Some(c) => format!(
            "<h1>okta-oidc web app</h1><p>Signed in as {}.</p>\
             <p><a href=\"{p}/profile\">Profile</a> · <a href=\"{p}/api/me\">/api/me</a> · \
             <a href=\"{p}/auth/logout\">Sign out</a></p>",
            escape(c.name.as_deref().unwrap_or(&c.sub))
        ),
        None => format!(
            "<h1>okta-oidc web app</h1><p>You are not signed in.</p>\
             <p><a href=\"{p}/auth/login\">Sign in</a> · <a href=\"{p}/profile\">Profile</a></p>"
        ),
    };
    layout("okta-oidc web app", &body)
}

/// `/profile` without a valid session: a first visit (or a cookie that cannot be read) signs
/// in; a session that was ended (a logout elsewhere, Universal Logout, its lifetime) asks to
/// sign in again (the layer has deleted its cookies on this response).
async fn profile_or_sign_in(
    State(AppPath(p)): State<AppPath>,
    claims: Option<Claims>,
    ended: Option<SessionEnd>,
) -> Response {
    if let Some(claims) = claims {
        return profile(&p, claims);
    }
    let sign_in = format!(
        "{p}/auth/login?return_to={}",
        escape(&format!("{p}/profile"))
    );
    let Some(ended) = ended else {
        return Redirect::to(&sign_in).into_response();
    };
    let why = match ended {
        SessionEnd::Revoked => {
            "You were signed out: by a logout elsewhere, or by your Okta administrator."
        }
        _ => "It expired.",
    };
    layout(
        "Signed out",
        &format!(
            "<h1 id=\"signed-out\">Your session has ended</h1><p>{why}</p>\
             <p><a href=\"{}\">Sign in again</a></p>",
            escape(&sign_in)
        ),
    )
    .into_response()
}

/// The embedded mock Okta's "admin console" (offline only).
async fn mock_admin(p: String) -> Html<String> {
    layout(
        "Mock Okta admin console",
        &format!(
            "<h1>Mock Okta admin console</h1><p>User: Sam Sample</p>\
             <form method=\"post\" action=\"{}/mock-okta/admin/sign-out-everywhere\">\
             <button>Sign out everywhere (as an Okta admin would)</button></form>\
             <p>Okta then calls the app's Universal Logout endpoint with a signed request.</p>\
             <form method=\"post\" action=\"{p}/mock-okta/admin/end-okta-session\">\
             <button>End the user's Okta session (SSF)</button></form>\
             <form method=\"post\" action=\"{p}/mock-okta/admin/reset-password\">\
             <button>Reset the user's password (SSF)</button></form>\
             <p>Okta's SSF transmitter then pushes a signed security event (CAEP session-revoked \
             or credential-change) to the app's Shared Signals endpoint.</p>",
            escape(&p),
            p = escape(&p)
        ),
    )
}

/// The embedded mock's stream `Authorization` value: random per start (offline only).
fn offline_push_authorization() -> String {
    use std::hash::{BuildHasher, RandomState};
    let part = || RandomState::new().hash_one(std::time::SystemTime::now());
    format!("Bearer mock-ssf-{:016x}{:016x}", part(), part())
}

fn profile(p: &str, claims: Claims) -> Response {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(claims.raw_json()).unwrap_or_default();
    let mut rows = String::new();
    for (name, value) in &object {
        let value = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(name),
            escape(&value)
        ));
    }
    let name = claims.name.as_deref().unwrap_or(&claims.sub);
    let p = escape(p);
    let body = format!(
        "<h1 id=\"name\">{}</h1><p>Tenant: {}</p><table>{rows}</table>\
         <p><a href=\"{p}/\">Home</a> · <a href=\"{p}/auth/logout\">Sign out</a></p>",
        escape(name),
        escape(&claims.tenant().id),
    );
    layout("Profile", &body).into_response()
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    shared::init_tracing();
    shared::exit_on_error("web_app", run(Env::process()).await)
}

async fn run(env: Env) -> Result<(), String> {
    let bind = shared::bind_addr(&env)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("BIND_ADDR={bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app_base_url = env
        .get("APP_BASE_URL")
        .unwrap_or_else(|| "http://127.0.0.1:3000".into())
        .trim_end_matches('/')
        .to_owned();
    let path = shared::app_path(&app_base_url)?;

    let mut mock = None;
    let mut demo_orgs = Vec::new();
    let mut allow_loopback_http = shared::allow_loopback_http(&env);
    let single_issuer = env
        .get("OKTA_ISSUER")
        .filter(|_| env.get("OKTA_TENANTS_FILE").is_none());
    let tenants: Vec<Tenant> = if let Some(path) = env.get("OKTA_TENANTS_FILE") {
        tenants_from_file(&path)?
    } else if let Some(issuer) = env.get("OKTA_ISSUER") {
        let (Some(id), Some(secret)) = (env.get("OKTA_CLIENT_ID"), env.get("OKTA_CLIENT_SECRET"))
        else {
            return Err("OKTA_ISSUER needs OKTA_CLIENT_ID and OKTA_CLIENT_SECRET".into());
        };
        vec![Tenant::new("default", issuer).client(id, secret)]
    } else {
        let okta = MockOkta::start().await;
        okta.allow_redirect_uri(&format!("{app_base_url}/auth/callback"));
        okta.set_user(serde_json::json!({
            "sub": SAMPLE_USER,
            "name": "Sam Sample",
            "given_name": "Sam",
            "family_name": "Sample",
            "email": "sam.sample@example.com",
            "email_verified": true,
            "preferred_username": "sam.sample@example.com",
        }));
        let tenant = Tenant::new("mock", okta.issuer())
            .client(okta.client_id(), okta.client_secret())
            .audience("api://default");
        mock = Some(okta);
        // The embedded mock serves http://127.0.0.1: allowed here, and only here.
        allow_loopback_http = true;
        if let Some((org, broken)) = admin::demo_broken_tenant().await {
            demo_orgs.push(org);
            vec![tenant, broken]
        } else {
            vec![tenant]
        }
    };

    let mut config = LoginConfig::new(&app_base_url);
    config = match env.get("SESSION_SECRET") {
        Some(secret) => config.session_secret(secret),
        None => config.random_session_secret_if_unset(),
    };
    let mut builder = OktaOidc::builder()
        .allow_loopback_http(allow_loopback_http)
        .trusted_proxies(shared::trusted_proxies(&env)?)
        .tenants(tenants);
    if env.get("OKTA_TENANTS_FILE").is_some() {
        // `X-Okta-Tenant` names the request's tenant (a stand-in for the host a real app would
        // read): a session of another tenant is none there, and sign-in starts at this one.
        builder = builder.tenant_resolver(shared::tenant_header);
    }
    let oidc = shared::with_revocation_store(&env, builder)?
        .build()
        .await
        .map_err(|e| shared::explain_build_error(&e))?;
    if let Some(issuer) = &single_issuer {
        shared::check_issuer(&oidc, "default", issuer)?;
    }
    let login = Login::new(&oidc, config).map_err(|e| shared::explain_config_error(&e))?;
    // Universal Logout and Back-Channel Logout, at the default paths under APP_BASE_URL; the
    // Shared Signals push endpoint with SSF_PUSH_AUTHORIZATION (offline: always, see below).
    let ssf_push = env
        .get("SSF_PUSH_AUTHORIZATION")
        .or_else(|| mock.as_ref().map(|_| offline_push_authorization()));
    let mut endpoints_config = LogoutEndpointsConfig::new(&app_base_url);
    if let Some(authorization) = &ssf_push {
        endpoints_config = endpoints_config.ssf_push_authorization(authorization);
    }
    if let Some(audience) = env.get("SSF_AUDIENCE") {
        endpoints_config = endpoints_config.ssf_audience(audience);
    }
    let logout = LogoutEndpoints::new(&oidc, endpoints_config)
        .map_err(|e| shared::explain_config_error(&e))?;
    if let (Some(okta), Some(url), Some(authorization)) =
        (&mock, logout.ssf_events_url(), &ssf_push)
    {
        // The stream an Okta admin would create (README "Shared Signals").
        okta.set_ssf_stream(url, authorization);
    }
    let admin = admin::Admin::new(oidc.clone(), env.get("ADMIN_USERS"), &app_base_url, &path);

    // Every route under the path of APP_BASE_URL (the login routes carry it already).
    let at = |route: &str| format!("{path}{route}");
    let state = AppPath(path.as_str().into());
    let me = |claims: Claims| async move { Json(claims) };
    let pages = Router::new()
        .route(&at("/profile"), get(profile_or_sign_in))
        // On the routes only (here and below): a path no route serves is 404, not 401.
        .route_layer(login.layer().optional());
    let api = Router::new()
        .route(&at("/api/me"), get(me).post(me))
        .route_layer(login.layer());
    let mut public = Router::new().route(&at("/"), get(home));
    if !path.is_empty() {
        public = public.route(&path, get(home));
    }
    let public = public.route_layer(login.layer().optional());
    let endpoints = if path.is_empty() {
        logout.router()
    } else {
        Router::new().nest(&path, logout.router())
    };
    let mut app = Router::new()
        .merge(pages)
        .merge(api)
        .merge(public)
        .with_state(state)
        .merge(login.router())
        .merge(endpoints)
        .merge(admin::router(admin.into()).route_layer(login.layer().optional()))
        .route(&at("/health"), get(|| async { "ok" }));
    if let Some(okta) = &mock {
        let transmitter = okta.clone();
        let (okta, endpoint) = (okta.clone(), logout.universal_logout_url().to_owned());
        let profile_url = escape(&at("/profile"));
        let admin_path = path.clone();
        app = app.route(
            &at("/mock-okta/admin"),
            get(move || mock_admin(admin_path.clone())),
        );
        app = app.route(
            &at("/mock-okta/admin/sign-out-everywhere"),
            post(move || async move {
                let status = okta
                    .universal_logout(&endpoint, okta.iss_sub(SAMPLE_USER))
                    .await;
                layout(
                    "Signed out everywhere",
                    &format!(
                        "<h1>Signed out everywhere</h1><p>The app's Universal Logout \
                         endpoint answered <span id=\"status\">{status}</span>.</p>\
                         <p><a href=\"{profile_url}\">Open the profile</a></p>"
                    ),
                )
            }),
        );
        for (route, password) in [("end-okta-session", false), ("reset-password", true)] {
            let okta = transmitter.clone();
            let profile_url = escape(&at("/profile"));
            app = app.route(
                &at(&format!("/mock-okta/admin/{route}")),
                post(move || async move {
                    let status = if password {
                        okta.reset_password_ssf(SAMPLE_USER).await
                    } else {
                        okta.end_okta_session_ssf(SAMPLE_USER).await
                    };
                    layout(
                        "Security event sent",
                        &format!(
                            "<h1>Security event sent</h1><p>The app's Shared Signals endpoint \
                             answered <span id=\"status\">{status}</span>.</p>\
                             <p><a href=\"{profile_url}\">Open the profile</a></p>"
                        ),
                    )
                }),
            );
        }
    }

    tracing::info!(%addr, "web app listening");
    if let Some(okta) = &mock {
        println!("Embedded mock Okta at {} (user: Sam Sample)", okta.issuer());
        println!("Mock Okta admin console: {app_base_url}/mock-okta/admin");
    }
    println!("Open {app_base_url}/ (listening on {addr})");
    // With the peer address of each connection: budget shares are counted by client.
    let service = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}
