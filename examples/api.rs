//! A JSON API protected by `OktaOidcLayer`, with DPoP (RFC 9449) and protected-resource
//! metadata (RFC 9728).
//!
//! Offline (no environment): starts an embedded mock Okta org, prints a sample token, a curl
//! line that works, and a DPoP call.
//!
//! ```text
//! cargo run --example api
//! ```
//!
//! Against a real org (a custom authorization server and its API audience):
//!
//! ```text
//! OKTA_ISSUER=https://acme.okta.com/oauth2/default OKTA_AUDIENCE=api://default cargo run --example api
//! ```
//!
//! Environment:
//! - `OKTA_ISSUER` (https, or http for loopback) and `OKTA_AUDIENCE` (the API audience of a
//!   custom authorization server's access tokens; given alone it is also taken as the client
//!   id of ID tokens); an issuer whose host does not resolve stops the start;
//! - or `OKTA_TENANTS_FILE`: a JSON array `[{"id","issuer","client_id","client_secret",
//!   "audience"}]` (`client_secret` and `audience` optional);
//! - `OKTA_CLIENT_ID` + `OKTA_CLIENT_SECRET` (single tenant): opaque access tokens are
//!   introspected with them; `OKTA_CLIENT_ID` alone names the app (its ID tokens, and Okta's
//!   Universal Logout requests, which name the app by its client id, need it); with `OKTA_TENANTS_FILE`, the `X-Okta-Tenant: <id>` header names
//!   the request's tenant: an opaque token is introspected there, and a JWT or DPoP token of
//!   another tenant is refused (`401`);
//! - `TRUSTED_PROXIES` (comma-separated addresses): from these peers, `X-Forwarded-For` gives
//!   the client address that introspection budget shares are counted by; from any other peer
//!   it is ignored;
//! - `OKTA_ALLOW_LOOPBACK_HTTP=1`: accept an `http://` issuer on a loopback host (a local mock
//!   org such as `cargo run -p okta-oidc-tools --bin mock_okta`); the embedded mock always is;
//! - `BIND_ADDR` (default `127.0.0.1:3000`);
//! - `APP_BASE_URL`: the API's resource identifier (RFC 9728), exactly as given (default
//!   `http://BIND_ADDR` on a loopback address). With a path (`http://host:port/base`) the
//!   routes are served under it. When set, Okta's Universal Logout is served at
//!   `APP_BASE_URL/auth/global-token-revocation` (its requests' `aud`) and Back-Channel Logout
//!   at `APP_BASE_URL/auth/backchannel-logout`;
//! - `OKTA_DPOP`: unset, DPoP is off; `allowed`, `Authorization: DPoP <token>` with one `DPoP`
//!   proof header is accepted beside `Bearer` (a bound token sent as `Bearer` is refused);
//!   `required`, `Bearer` is refused. A proof's `htu` is APP_BASE_URL's origin plus the
//!   request's path, never the `Host` or `X-Forwarded-*` headers;
//! - `OKTA_DPOP_NONCE_SECRET` (with `OKTA_DPOP`): proofs must carry the server's nonce
//!   (`use_dpop_nonce`, `DPoP-Nonce`); instances with the same secret accept each other's;
//! - `REDIS_URL` (optional, with `--features redis`; `rediss://` with `redis-tls`): revocations
//!   and DPoP proofs' `jti` shared by every instance pointed at that Redis; otherwise in memory.
//!   Behind Redis Sentinel: `redis+sentinel://host:port,host:port/<master name>` (the
//!   Sentinels; `rediss+sentinel://` with `redis-tls`); a Redis Cluster:
//!   `redis+cluster://host:port,host:port` (seed nodes; `--features redis-cluster`);
//! - `REDIS_MIN_REPLICAS_ACKED` (optional, with `REDIS_URL`): replicas that must hold a
//!   revocation before a logout signal is answered (default: 1 when the primary has replicas);
//! - `METRICS_ADDR` (optional, `host:port`, with `--features metrics`): the metrics of the
//!   catalogue (README "Observability") in the Prometheus text format, served there by
//!   `metrics-exporter-prometheus` — never on the API's own port;
//!
//! - `STEP_UP_ACR` (optional, comma-separated acr values, e.g. `urn:okta:loa:2fa:any`) and
//!   `STEP_UP_MAX_AGE` (optional, seconds): what `GET /api/step-up` requires of the user's
//!   sign-in (RFC 9470: else 401 `insufficient_user_authentication` with `acr_values` and
//!   `max_age`); both unset, it is served like `/api/me`;
//!
//! Routes (under APP_BASE_URL's path): `GET /health` (public), `GET /api/me` (the token's claims
//! as JSON; every `401` names the metadata in `resource_metadata="…"`), `GET /api/step-up`, and with
//! `APP_BASE_URL` `POST /auth/global-token-revocation` and `POST /auth/backchannel-logout`.
//! At the root: `GET /.well-known/oauth-protected-resource`, with APP_BASE_URL's path appended
//! when it has one (`/.well-known/oauth-protected-resource/base`).
//!
//! `cargo run -q --example api -- dpop-proof METHOD URL TOKEN [NONCE]` prints a fresh DPoP
//! proof signed with the test kit's fixed demo key (the key the offline sample token is bound
//! to; never use it for anything real).

pub mod shared;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::testing::{DpopKey, MockOkta};
use okta_oidc::{
    Claims, Dpop, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, OktaOidcLayer,
    ProtectedResource, RequireAuthentication, Tenant,
};
use sha2::{Digest, Sha256};
use shared::{Env, tenants_from_file};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("dpop-proof") {
        return dpop_proof_command(&args[1..]);
    }
    shared::init_tracing();
    shared::exit_on_error("api", run(Env::process()).await)
}

async fn run(env: Env) -> Result<(), String> {
    // Before the handle is built: its metrics are described and made on this recorder.
    if let Some((addr, exporter)) = prometheus(&env)? {
        exporter
            .install()
            .map_err(|e| format!("METRICS_ADDR={addr}: {e}"))?;
        tracing::info!(%addr, "metrics served at http://{addr}/metrics");
    }
    let bind = shared::bind_addr(&env)?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("BIND_ADDR={bind}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let api = build(&env, addr).await?;
    tracing::info!(%addr, resource = api.resource.as_deref().unwrap_or("-"), "api listening");
    if let Some(okta) = &api.mock {
        print_samples(okta, &api);
    }
    // With the peer address of each connection: budget shares are counted by client.
    let service = api
        .router
        .into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// `METRICS_ADDR`: where the Prometheus exporter listens, and the exporter to install there
/// (the crate installs no recorder; the application does, before building the handle).
pub fn prometheus(
    env: &Env,
) -> Result<Option<(SocketAddr, metrics_exporter_prometheus::PrometheusBuilder)>, String> {
    let Some(value) = env.get("METRICS_ADDR") else {
        return Ok(None);
    };
    let addr: SocketAddr = value.parse().map_err(|e| {
        format!("METRICS_ADDR={value}: {e} (expected host:port, e.g. 127.0.0.1:9464)")
    })?;
    if !cfg!(feature = "metrics") {
        tracing::warn!(
            "METRICS_ADDR is set, but the crate was built without feature `metrics`: the \
             exporter serves nothing of okta-oidc (cargo run --example api --features metrics)"
        );
    }
    let builder = metrics_exporter_prometheus::PrometheusBuilder::new().with_http_listener(addr);
    Ok(Some((addr, builder)))
}

/// How the API takes DPoP (`OKTA_DPOP`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpopMode {
    /// Unset: `Bearer` only.
    Off,
    /// `allowed`: `DPoP` beside `Bearer`.
    Allowed,
    /// `required`: `DPoP` only.
    Required,
}

/// The API, ready to serve.
pub struct Api {
    /// Every route.
    pub router: Router,
    /// The handle.
    pub oidc: OktaOidc,
    /// The embedded mock org, when no Okta is configured.
    pub mock: Option<MockOkta>,
    /// The resource identifier (APP_BASE_URL, else `http://BIND_ADDR` on loopback).
    pub resource: Option<String>,
    /// `OKTA_DPOP`.
    pub dpop: DpopMode,
}

/// Builds the API from `env`, for a server bound at `addr`.
pub async fn build(env: &Env, addr: SocketAddr) -> Result<Api, String> {
    let mut mock = None;
    let mut allow_loopback_http = shared::allow_loopback_http(env);
    let multi_tenant = env.get("OKTA_TENANTS_FILE").is_some();
    let tenants: Vec<Tenant> = if let Some(path) = env.get("OKTA_TENANTS_FILE") {
        tenants_from_file(&path)?
    } else if let Some(issuer) = env.get("OKTA_ISSUER") {
        let mut tenant = Tenant::new("default", issuer);
        match (env.get("OKTA_CLIENT_ID"), env.get("OKTA_CLIENT_SECRET")) {
            (Some(id), Some(secret)) => tenant = tenant.client(id, secret),
            // The app's client id alone: its ID tokens, and the Universal Logout requests Okta
            // sends for it (they name the app by its client id), without introspection.
            (Some(id), None) => tenant = tenant.client_id(id),
            _ => {}
        }
        match env.get("OKTA_AUDIENCE") {
            // Given only an audience, it is both the client id of the ID tokens the API accepts
            // (so that `azp` is checked when an ID token names several audiences) and the
            // audience of the access tokens of a custom authorization server.
            Some(audience) if tenant.get_client_id().is_none() => {
                vec![tenant.client_id(audience.clone()).audience(audience)]
            }
            Some(audience) => vec![tenant.audience(audience)],
            None if tenant.get_client_id().is_some() => vec![tenant],
            None => {
                return Err("OKTA_ISSUER needs OKTA_AUDIENCE (the API audience, e.g. \
                            api://default) or OKTA_CLIENT_ID and OKTA_CLIENT_SECRET"
                    .into());
            }
        }
    } else {
        let okta = MockOkta::start().await;
        let tenant = Tenant::new("mock", okta.issuer())
            .client(okta.client_id(), okta.client_secret())
            .audience("api://default");
        mock = Some(okta);
        // The embedded mock serves http://127.0.0.1: allowed here, and only here.
        allow_loopback_http = true;
        vec![tenant]
    };
    let single_issuer = match (multi_tenant, &mock) {
        (false, None) => env.get("OKTA_ISSUER"),
        _ => None,
    };

    let resource = env
        .get("APP_BASE_URL")
        .or_else(|| addr.ip().is_loopback().then(|| format!("http://{addr}")));
    let path = match &resource {
        Some(resource) => shared::app_path(resource)?,
        None => String::new(),
    };
    let dpop = dpop_mode(env)?;

    let mut builder = shared::with_revocation_store(
        env,
        OktaOidc::builder()
            .allow_loopback_http(allow_loopback_http)
            .trusted_proxies(shared::trusted_proxies(env)?)
            .tenants(tenants),
    )?;
    if let Some(resource) = &resource {
        builder = builder.protected_resource(ProtectedResource::new(resource.clone()));
    }
    if dpop != DpopMode::Off {
        if resource.is_none() {
            return Err("OKTA_DPOP needs APP_BASE_URL (the URL clients call the API at)".into());
        }
        let mut config = Dpop::new().required(dpop == DpopMode::Required);
        if let Some(secret) = env.get("OKTA_DPOP_NONCE_SECRET") {
            config = config.server_nonces(Sha256::digest(secret.as_bytes()).into());
        }
        builder = builder.dpop(config);
    } else if env.get("OKTA_DPOP_NONCE_SECRET").is_some() {
        return Err("OKTA_DPOP_NONCE_SECRET needs OKTA_DPOP=allowed or OKTA_DPOP=required".into());
    }
    if multi_tenant {
        // `X-Okta-Tenant` names the request's tenant: an opaque token is introspected there,
        // and a token of any other tenant is refused.
        builder = builder.tenant_resolver(shared::tenant_header);
    }
    let oidc = builder
        .build()
        .await
        .map_err(|e| shared::explain_build_error(&e))?;
    if let Some(issuer) = &single_issuer {
        shared::check_issuer(&oidc, "default", issuer)?;
    }

    // Every route under APP_BASE_URL's path; the metadata at the root (RFC 9728 §3.1).
    let at = |route: &str| format!("{path}{route}");
    let me = || get(|claims: Claims| async move { Json(claims) });
    let step_up = match step_up(env)? {
        Some(required) => Router::new()
            .route(&at("/api/step-up"), me())
            .route_layer(required),
        None => Router::new().route(&at("/api/step-up"), me()),
    };
    let mut router = Router::new()
        .route(&at("/api/me"), me())
        .merge(step_up)
        // On the routes only: a path no route serves is 404, not 401.
        .route_layer(OktaOidcLayer::new(oidc.clone()))
        .route(&at("/health"), get(|| async { "ok" }))
        .merge(oidc.resource_metadata_router());
    if let Some(base) = env.get("APP_BASE_URL") {
        // Okta's Universal Logout (and Back-Channel Logout), outside the layer: the identity
        // provider authenticates with its own signed request.
        let logout = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(base))
            .map_err(|e| shared::explain_config_error(&e))?;
        tracing::info!(
            url = logout.universal_logout_url(),
            "Universal Logout endpoint"
        );
        if mock.is_none() && !multi_tenant && env.get("OKTA_CLIENT_ID").is_none() {
            tracing::warn!(
                "Universal Logout requests name the app by its client id: set OKTA_CLIENT_ID \
                 (the OIN app's), or they are refused"
            );
        }
        router = if path.is_empty() {
            router.merge(logout.router())
        } else {
            router.nest(&path, logout.router())
        };
    }
    Ok(Api {
        router,
        oidc,
        mock,
        resource,
        dpop,
    })
}

/// `STEP_UP_ACR` (comma-separated acr values) and `STEP_UP_MAX_AGE` (seconds): what
/// `/api/step-up` requires of the user's sign-in (RFC 9470); both unset: nothing more than
/// `/api/me`.
fn step_up(env: &Env) -> Result<Option<RequireAuthentication>, String> {
    let acr: Vec<String> = env
        .get("STEP_UP_ACR")
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let max_age = match env.get("STEP_UP_MAX_AGE") {
        Some(secs) => Some(Duration::from_secs(secs.trim().parse().map_err(|_| {
            format!("STEP_UP_MAX_AGE={secs}: expected a number of seconds (e.g. 300)")
        })?)),
        None => None,
    };
    Ok(match (acr.is_empty(), max_age) {
        (true, None) => None,
        (true, Some(max_age)) => Some(RequireAuthentication::recent(max_age)),
        (false, max_age) => {
            let required = RequireAuthentication::acr(acr);
            Some(match max_age {
                Some(max_age) => required.max_age(max_age),
                None => required,
            })
        }
    })
}

/// `OKTA_DPOP`: unset, `allowed` or `required`.
fn dpop_mode(env: &Env) -> Result<DpopMode, String> {
    match env.get("OKTA_DPOP").as_deref().map(str::trim) {
        None => Ok(DpopMode::Off),
        Some(v) if v.eq_ignore_ascii_case("allowed") => Ok(DpopMode::Allowed),
        Some(v) if v.eq_ignore_ascii_case("required") => Ok(DpopMode::Required),
        Some(other) => Err(format!(
            "OKTA_DPOP={other:?}: expected `allowed` or `required` (unset: DPoP off)"
        )),
    }
}

/// A DPoP proof for `method` at `url`, for `token`, signed with the test kit's fixed demo key
/// (the one the offline sample token is bound to), with the server's `nonce` if given.
pub fn demo_proof(method: &str, url: &str, token: &str, nonce: Option<&str>) -> String {
    let mut proof = DpopKey::es256()
        .proof(method, url)
        .claim("ath", DpopKey::ath(token));
    if let Some(nonce) = nonce {
        proof = proof.claim("nonce", nonce);
    }
    proof.build()
}

/// `dpop-proof METHOD URL TOKEN [NONCE]`: prints a fresh proof.
fn dpop_proof_command(args: &[String]) -> ExitCode {
    match args {
        [method, url, token] => println!("{}", demo_proof(method, url, token, None)),
        [method, url, token, nonce] => {
            println!("{}", demo_proof(method, url, token, Some(nonce)))
        }
        _ => {
            eprintln!("usage: cargo run -q --example api -- dpop-proof METHOD URL TOKEN [NONCE]");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

/// The lines printed at an offline start: a bearer call and a DPoP call that work as shown.
pub fn samples(okta: &MockOkta, api: &Api) -> String {
    let resource = api.resource.as_deref().unwrap_or("http://127.0.0.1:3000");
    let url = format!("{}/api/me", resource.trim_end_matches('/'));
    let token = okta.access_token().expires_in(3600).build();
    let bound = okta
        .access_token()
        .expires_in(3600)
        .bound_to(&DpopKey::es256())
        .build();
    let mut out = format!(
        "Embedded mock Okta at {}\n\
         Sample access token (valid 1 h):\n{token}\n\n\
         Try:\ncurl -s -H 'Authorization: Bearer {token}' {url}\n\n",
        okta.issuer()
    );
    out.push_str(
        "DPoP (RFC 9449): a token bound to the demo key (valid 1 h), a fresh proof per call:\n",
    );
    if api.dpop == DpopMode::Off {
        out.push_str("(DPoP is off: start with OKTA_DPOP=allowed for this call to answer 200)\n");
    }
    out.push_str(&format!(
        "T={bound}; curl -s -H \"Authorization: DPoP $T\" -H \"DPoP: $(cargo run -q --example \
         api -- dpop-proof GET {url} \"$T\")\" {url}\n"
    ));
    out
}

fn print_samples(okta: &MockOkta, api: &Api) {
    print!("{}", samples(okta, api));
}
