//! A JSON API protected by `OktaOidcLayer`.
//!
//! Offline (no environment): starts an embedded mock Okta org, prints a sample token and a curl
//! line that works.
//!
//! ```text
//! cargo run --example api
//! ```
//!
//! Against a real org:
//!
//! ```text
//! OKTA_ISSUER=https://acme.okta.com OKTA_AUDIENCE=0oa1yourclientid cargo run --example api
//! ```
//!
//! Environment:
//! - `OKTA_ISSUER` (https, or http for loopback) and `OKTA_AUDIENCE` (the client id for ID
//!   tokens, or the API audience of a custom authorization server);
//! - or `OKTA_TENANTS_FILE`: a JSON array `[{"id","issuer","client_id","client_secret",
//!   "audience"}]` (`client_secret` and `audience` optional);
//! - `OKTA_CLIENT_ID` + `OKTA_CLIENT_SECRET` (single tenant): opaque access tokens are
//!   introspected with them; with `OKTA_TENANTS_FILE`, the tenant of an opaque token comes from
//!   the `X-Okta-Tenant: <id>` header;
//! - `OKTA_ALLOW_LOOPBACK_HTTP=1`: accept an `http://` issuer on a loopback host (a local mock
//!   org such as `cargo run -p okta-oidc-tools --bin mock_okta`); the embedded mock always is;
//! - `BIND_ADDR` (default `127.0.0.1:3000`);
//! - `APP_BASE_URL` (optional): serve Okta's Universal Logout at
//!   `APP_BASE_URL/auth/global-token-revocation` (its requests' `aud`);
//! - `REDIS_URL` (optional, with `--features redis`; `rediss://` with `redis-tls`): revocations
//!   shared by every instance pointed at that Redis; otherwise kept in memory.
//!
//! Routes: `GET /health` (public), `GET /api/me` (the token's claims as JSON), and with
//! `APP_BASE_URL` `POST /auth/global-token-revocation` and `POST /auth/backchannel-logout`.

mod shared;

use axum::routing::get;
use axum::{Json, Router};
use okta_oidc::testing::MockOkta;
use okta_oidc::{Claims, LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, OktaOidcLayer, Tenant};
use shared::{env, tenants_from_file};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    shared::init_tracing();

    let bind = shared::bind_addr()?;

    let mut mock = None;
    let mut allow_loopback_http = shared::allow_loopback_http();
    let multi_tenant = env("OKTA_TENANTS_FILE").is_some();
    let tenants: Vec<Tenant> = if let Some(path) = env("OKTA_TENANTS_FILE") {
        tenants_from_file(&path)?
    } else if let Some(issuer) = env("OKTA_ISSUER") {
        let mut tenant = Tenant::new("default", issuer);
        if let (Some(id), Some(secret)) = (env("OKTA_CLIENT_ID"), env("OKTA_CLIENT_SECRET")) {
            tenant = tenant.client(id, secret);
        }
        match env("OKTA_AUDIENCE") {
            // Given only an audience, it is both the client id of the ID tokens the API accepts
            // (so that `azp` is checked when an ID token names several audiences) and the
            // audience of the access tokens of a custom authorization server.
            Some(audience) if tenant.get_client_id().is_none() => {
                vec![tenant.client_id(audience.clone()).audience(audience)]
            }
            Some(audience) => vec![tenant.audience(audience)],
            None if tenant.get_client_id().is_some() => vec![tenant],
            None => return Err("OKTA_ISSUER needs OKTA_AUDIENCE (or OKTA_CLIENT_ID)".into()),
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

    let mut builder = shared::with_revocation_store(
        OktaOidc::builder()
            .allow_loopback_http(allow_loopback_http)
            .tenants(tenants),
    )?;
    if multi_tenant {
        // An opaque token names no issuer: the caller says which tenant it belongs to.
        builder = builder.tenant_resolver(|request: &http::request::Parts| {
            let tenant = request.headers.get("x-okta-tenant")?.to_str().ok()?;
            Some(tenant.to_owned())
        });
    }
    let oidc = builder.build().await?;

    let mut app = Router::new()
        .route("/api/me", get(|claims: Claims| async move { Json(claims) }))
        .layer(OktaOidcLayer::new(oidc.clone()))
        .route("/health", get(|| async { "ok" }));
    if let Some(base) = env("APP_BASE_URL") {
        // Okta's Universal Logout (and Back-Channel Logout), outside the layer: the identity
        // provider authenticates with its own signed request.
        let path = shared::app_path(&base)?;
        let logout = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new(base))?;
        tracing::info!(
            url = logout.universal_logout_url(),
            "Universal Logout endpoint"
        );
        app = if path.is_empty() {
            app.merge(logout.router())
        } else {
            app.nest(&path, logout.router())
        };
    }

    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "api listening");
    if let Some(okta) = &mock {
        let token = okta.access_token().expires_in(3600).build();
        println!("Embedded mock Okta at {}", okta.issuer());
        println!("Sample access token (valid 1 h):\n{token}\n");
        println!("Try:\ncurl -s -H 'Authorization: Bearer {token}' http://{addr}/api/me\n");
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
