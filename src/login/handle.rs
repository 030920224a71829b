//! [`Login`]: the handle to browser sign-in, built from an [`OktaOidc`] and a
//! [`LoginConfig`]; what every login route and the layer's session check get.

use std::fmt;
use std::sync::Arc;

use http::StatusCode;

use super::config::{LoginConfig, LoginSettings};
use super::page::Failure;
use crate::call_budget::SharedBudgets;
use crate::error::ConfigError;
use crate::handle::OktaOidc;
use crate::middleware::layer::OktaOidcLayer;
use crate::provider::discovery::ProviderMetadata;
use crate::tenant::config::Tenant;
use crate::tenant::registry::IssuerEntry;

/// Browser sign-in for an [`OktaOidc`]: the login, callback and logout routes
/// ([`router`](Self::router)), and the encrypted session cookie that
/// [`OktaOidcLayer::sessions`] accepts. Cheap to clone; clones share state.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use okta_oidc::{Claims, Login, LoginConfig, OktaOidc, Tenant};
///
/// # fn app() -> Result<Router, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
///     .build_lazy()?;
/// let login = Login::new(&oidc, LoginConfig::new("https://app.example.com").session_secret([7u8; 32]))?;
/// let pages = Router::new()
///     .route("/profile", get(|c: Claims| async move { format!("Hello {:?}", c.name) }))
///     .layer(login.page_layer()); // no session: redirected to sign in
/// let api = Router::new()
///     .route("/api/me", get(|c: Claims| async move { Json(c) }))
///     .layer(login.layer()); // session cookie or bearer token, else 401
/// let app = Router::new().merge(pages).merge(api).merge(login.router());
/// # Ok(app) }
/// ```
#[derive(Clone)]
pub struct Login {
    pub(crate) oidc: OktaOidc,
    pub(crate) settings: Arc<LoginSettings>,
    /// Code exchanges per org and per client address.
    pub(crate) exchanges: Arc<SharedBudgets>,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// Checks `config` and makes the sign-in handle for the tenants of `oidc`.
    pub fn new(oidc: &OktaOidc, config: LoginConfig) -> Result<Login, ConfigError> {
        let settings = LoginSettings::new(config)?;
        // A revoked session stays revoked as long as its cookie could be used.
        oidc.verifier()
            .revocations
            .require_ttl(settings.session_lifetime);
        let (per_org, per_client) = settings.code_exchanges;
        Ok(Login {
            oidc: oidc.clone(),
            settings: Arc::new(settings),
            exchanges: Arc::new(SharedBudgets::new(per_org, per_client, "code exchange")),
        })
    }

    /// The verification handle this sign-in uses.
    pub fn oidc(&self) -> &OktaOidc {
        &self.oidc
    }

    /// A layer for API routes: a bearer token, or else this sign-in's session cookie; `401`
    /// without either.
    pub fn layer(&self) -> OktaOidcLayer {
        OktaOidcLayer::new(self.oidc.clone()).sessions(self.clone())
    }

    /// A layer for browser pages: as [`layer`](Self::layer), but a `GET` without a session is
    /// redirected to sign in and comes back to the page.
    pub fn page_layer(&self) -> OktaOidcLayer {
        self.layer().redirect_to_login()
    }
}

/// A tenant's issuer entry and provider metadata, loading discovery if needed.
pub(crate) async fn provider(
    oidc: &OktaOidc,
    tenant: &Tenant,
) -> Result<(Arc<IssuerEntry>, Arc<ProviderMetadata>), Failure> {
    let unavailable = |reason: String| {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The identity provider is unavailable. Try again in a moment.",
            reason,
        )
    };
    let entry = oidc
        .directory()
        .registry
        .by_issuer(&tenant.issuer)
        .ok_or_else(|| unavailable("tenant has no issuer entry".into()))?;
    if let Some(meta) = entry.keys.metadata() {
        return Ok((entry, meta));
    }
    if let Err(e) = entry.keys.ensure_loaded().await {
        return Err(unavailable(format!("discovery failed: {e}")));
    }
    let meta = entry
        .keys
        .metadata()
        .ok_or_else(|| unavailable("no provider metadata".into()))?;
    Ok((entry, meta))
}
