//! [`LogoutEndpointsConfig`] and the [`LogoutEndpoints`] handle.

use std::fmt;
use std::sync::Arc;

use crate::error::ConfigError;
use crate::handle::OktaOidc;
use crate::provider::fetch::check_secure_url;

use super::service::{LogoutEndpointService, Which};
use super::settings::Settings;
use super::ssf_config::{SsfConfig, SsfSettings};

/// Where the logout endpoints live.
///
/// ```
/// use okta_oidc::{LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant};
///
/// # fn build() -> Result<LogoutEndpoints, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
///     .build_lazy()?;
/// let endpoints = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new("https://app.example.com"))?;
/// assert_eq!(
///     endpoints.universal_logout_url(),
///     "https://app.example.com/auth/global-token-revocation"
/// );
/// # Ok(endpoints) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct LogoutEndpointsConfig {
    app_base_url: String,
    universal_path: String,
    backchannel_path: String,
    pub(super) ssf: SsfConfig,
}

impl LogoutEndpointsConfig {
    /// The endpoints of the app served at `app_base_url` (scheme, host, port, and any path
    /// prefix the app is mounted under). The Universal Logout request's `aud` must be exactly
    /// `app_base_url` + the path: it is never built from a request's `Host` header.
    pub fn new(app_base_url: impl Into<String>) -> Self {
        LogoutEndpointsConfig {
            app_base_url: app_base_url.into().trim_end_matches('/').to_owned(),
            universal_path: "/auth/global-token-revocation".into(),
            backchannel_path: "/auth/backchannel-logout".into(),
            ssf: SsfConfig::default(),
        }
    }

    /// The Universal Logout path (default `/auth/global-token-revocation`): the OIN Wizard's
    /// "Global token revocation endpoint" is `app_base_url` + this path.
    pub fn universal_logout_path(mut self, path: impl Into<String>) -> Self {
        self.universal_path = path.into();
        self
    }

    /// The Back-Channel Logout path (default `/auth/backchannel-logout`): the provider's
    /// `backchannel_logout_uri` for this client is `app_base_url` + this path.
    pub fn backchannel_logout_path(mut self, path: impl Into<String>) -> Self {
        self.backchannel_path = path.into();
        self
    }
}

/// The logout endpoints of an [`OktaOidc`]: Universal Logout and Back-Channel Logout. Cheap to
/// clone.
///
/// - `POST` Universal Logout (default `/auth/global-token-revocation`): `Authorization: Bearer`
///   a JWT signed by the tenant's Okta org (`typ` `global-token-revocation+jwt`, `iss` the
///   tenant's issuer, `sub` its client id, `aud` this endpoint's URL, a single-use `jti`), and a
///   JSON body naming the user (`sub_id`, or the older `subject`: format `iss_sub` or
///   `email`). Answers `204` once the revocation is recorded (also for a user without any
///   session), `400` for a malformed body or an unsupported subject format, `401` for a missing
///   or invalid token, `403` when the subject's issuer is not the tenant's, `503` (never `204`)
///   when the store cannot record it.
/// - `POST` Back-Channel Logout (default `/auth/backchannel-logout`): a form with
///   `logout_token`. Answers `200`, or `400` (both with `Cache-Control: no-store`); `503` when
///   the store cannot record it.
///
/// Each request's `jti` is single use wherever the revocation store is: with the default
/// [`MemoryStore`](crate::store::MemoryStore), on one instance only. Apps with several
/// instances need a shared store ([`RedisStore`](crate::store::RedisStore)); without one,
/// [`LogoutEndpoints::new`] logs a warning.
///
/// ```
/// use axum::Router;
/// use okta_oidc::{LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant};
///
/// # fn app() -> Result<Router, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
///     .build_lazy()?;
/// let logout = LogoutEndpoints::new(&oidc, LogoutEndpointsConfig::new("https://api.example.com"))?;
/// // The axum convenience (feature `axum`) ...
/// let app: Router = Router::new().merge(logout.router());
/// // ... or the Tower service, in any framework.
/// let app = app.route_service("/hooks/okta-logout", logout.universal_logout_service());
/// # Ok(app) }
/// ```
#[derive(Clone)]
pub struct LogoutEndpoints {
    pub(super) settings: Arc<Settings>,
}

impl fmt::Debug for LogoutEndpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutEndpoints")
            .field("universal_logout_url", &self.settings.universal_url)
            .field("backchannel_logout_path", &self.settings.backchannel_path)
            .field(
                "ssf_events_url",
                &self.settings.ssf.as_ref().map(|s| &s.url),
            )
            .finish_non_exhaustive()
    }
}

fn check_path(path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains(['?', '#']) {
        return Err(ConfigError::Invalid(
            "a logout endpoint path starts with one '/' and has no query or fragment",
        ));
    }
    Ok(())
}

impl LogoutEndpoints {
    /// Checks `config` and makes the endpoints for the tenants of `oidc`.
    pub fn new(oidc: &OktaOidc, config: LogoutEndpointsConfig) -> Result<Self, ConfigError> {
        let base =
            check_secure_url(&config.app_base_url).map_err(|reason| ConfigError::InvalidUrl {
                url: config.app_base_url.clone(),
                reason,
            })?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(ConfigError::InvalidUrl {
                url: config.app_base_url.clone(),
                reason: "must not have a query or fragment",
            });
        }
        check_path(&config.universal_path)?;
        check_path(&config.backchannel_path)?;
        if let Some(path) = &config.ssf.path {
            check_path(path)?;
        }
        let ssf = match &config.ssf.authorization {
            Some(value) if value.trim().is_empty() => {
                return Err(ConfigError::Invalid(
                    "the Shared Signals push endpoint's Authorization value is empty",
                ));
            }
            Some(value) => Some(SsfSettings::new(
                config.ssf.clone(),
                &config.app_base_url,
                value,
            )),
            None => None,
        };
        if !oidc.verifier().revocations.store.is_shared() {
            tracing::warn!(
                "logout endpoints served with a revocation store that instances do not share: \
                 with several instances, a captured Universal Logout request can be replayed \
                 to another instance before its exp, and a logout recorded on one instance is \
                 not seen by the others; use RedisStore (REDIS_URL in the examples)"
            );
        }
        Ok(LogoutEndpoints {
            settings: Arc::new(Settings {
                oidc: oidc.clone(),
                universal_url: format!("{}{}", config.app_base_url, config.universal_path),
                universal_path: config.universal_path,
                backchannel_path: config.backchannel_path,
                ssf,
            }),
        })
    }

    /// The Universal Logout endpoint's absolute URL: what to enter in the OIN Wizard, and the
    /// `aud` its requests must carry.
    pub fn universal_logout_url(&self) -> &str {
        &self.settings.universal_url
    }

    /// The Universal Logout endpoint's path.
    pub fn universal_logout_path(&self) -> &str {
        &self.settings.universal_path
    }

    /// The Back-Channel Logout endpoint's path.
    pub fn backchannel_logout_path(&self) -> &str {
        &self.settings.backchannel_path
    }

    /// The Universal Logout endpoint as a Tower service (mount it at
    /// [`universal_logout_path`](Self::universal_logout_path)).
    pub fn universal_logout_service(&self) -> LogoutEndpointService {
        LogoutEndpointService::new(Arc::clone(&self.settings), Which::Universal)
    }

    /// The Back-Channel Logout endpoint as a Tower service (mount it at
    /// [`backchannel_logout_path`](Self::backchannel_logout_path)).
    pub fn backchannel_logout_service(&self) -> LogoutEndpointService {
        LogoutEndpointService::new(Arc::clone(&self.settings), Which::BackChannel)
    }
}
