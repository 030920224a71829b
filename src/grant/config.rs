//! [`JwtBearerGrantConfig`] and the [`JwtBearerGrant`] handle.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::client::GrantClient;
use super::log::RefusalLog;
use super::metadata;
use super::service::JwtBearerGrantService;
use super::settings::Settings;
use super::signer::AccessTokenSigner;
use crate::error::ConfigError;
use crate::handle::OktaOidc;
use crate::provider::fetch::check_secure_url;

/// How long an issued access token lives unless configured: the agent exchanges a fresh grant
/// when it runs out (there is no refresh token).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(600);

/// The application's own authorization server for Cross App Access: its issuer, paths,
/// clients and resources.
///
/// ```
/// use okta_oidc::{GrantClient, JwtBearerGrantConfig};
///
/// let config = JwtBearerGrantConfig::new("https://auth.vendor.example")
///     .resource("https://api.vendor.example")
///     .client(GrantClient::new("agent-7", "secret").allowed_scopes(["todos.read"]));
/// # let _ = config;
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct JwtBearerGrantConfig {
    issuer: String,
    token_path: String,
    jwks_path: String,
    clients: Vec<GrantClient>,
    resources: Vec<String>,
    token_lifetime: Duration,
}

impl JwtBearerGrantConfig {
    /// The authorization server whose issuer identifier (RFC 8414 §2) is `issuer`: what Okta
    /// puts in every grant's `aud` (the "authorization server" of the app's Cross App Access
    /// settings), and every access token's `iss`. `https://`, or loopback `http://` in tests.
    pub fn new(issuer: impl Into<String>) -> Self {
        JwtBearerGrantConfig {
            issuer: issuer.into(),
            token_path: "/oauth2/token".into(),
            jwks_path: "/oauth2/keys".into(),
            clients: Vec::new(),
            resources: Vec::new(),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }

    /// The token endpoint's path on the issuer's host (default `/oauth2/token`).
    pub fn token_path(mut self, path: impl Into<String>) -> Self {
        self.token_path = path.into();
        self
    }

    /// The key set's path on the issuer's host (default `/oauth2/keys`).
    pub fn jwks_path(mut self, path: impl Into<String>) -> Self {
        self.jwks_path = path.into();
        self
    }

    /// Registers a client (an agent's client at this authorization server).
    pub fn client(mut self, client: GrantClient) -> Self {
        self.clients.push(client);
        self
    }

    /// A resource identifier (RFC 8707 §2, an API's URL) tokens may be for: each token's `aud`.
    /// A grant's `resource` must name resources added here; a grant that names none gets the
    /// first one. At least one is required.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// How long issued access tokens live (default 10 minutes; at least 1 second).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime.max(Duration::from_secs(1));
        self
    }
}

/// The token endpoint (and metadata, and key set) of the application's own authorization
/// server for Okta's Cross App Access. Cheap to clone.
///
/// `POST` the token endpoint (default `/oauth2/token`) with a form:
/// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `assertion` = the ID-JAG Okta
/// issued, optional `scope`, and client authentication (`client_secret_basic` or
/// `client_secret_post`). It answers `200` with `{"access_token", "token_type": "Bearer",
/// "expires_in", "scope"}` and no refresh token, or an RFC 6749 §5.2 error:
/// `invalid_request` (missing or repeated parameters), `invalid_client` (`401` with
/// `WWW-Authenticate: Basic`), `unsupported_grant_type`, `invalid_grant` (the grant fails a
/// rule: its `typ`, issuer, audience, `client_id`, lifetime, a replayed `jti`, a user signed
/// out since, a resource not served here), `invalid_scope` (a scope asked for that the grant
/// or the client's allowed scopes lack, or nothing left to grant); `503` when the store cannot
/// record the grant's use. Every answer has `Cache-Control: no-store`, and every refusal an
/// `INFO` line with its reason (never a token).
///
/// Tokens are RFC 9068 shaped: header `typ` `at+jwt`; `iss` the issuer, `sub` the grant's
/// user, `aud` the resource, `scope`, `client_id`, `tenant` (the tenant id of the org that
/// issued the grant), `jti`, `iat`, `exp`.
///
/// ```
/// use okta_oidc::testing::TestAccessTokenSigner;
/// use okta_oidc::{GrantClient, JwtBearerGrant, JwtBearerGrantConfig, OktaOidc, Tenant};
///
/// # fn build() -> Result<axum::Router, okta_oidc::ConfigError> {
/// let issuer = "https://auth.vendor.example";
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
///     // Tokens this authorization server issues, validated by the layer like any tenant's.
///     .tenant(
///         Tenant::new("vendor-as", issuer)
///             .audience("https://api.vendor.example")
///             .own_authorization_server(true),
///     )
///     .build_lazy()?;
/// let config = JwtBearerGrantConfig::new(issuer)
///     .resource("https://api.vendor.example")
///     .client(GrantClient::new("agent-7", "secret").allowed_scopes(["todos.read"]));
/// let grant = JwtBearerGrant::new(&oidc, config, TestAccessTokenSigner::new())?;
/// assert_eq!(grant.token_endpoint(), "https://auth.vendor.example/oauth2/token");
/// // Token endpoint, metadata and key set (feature `axum`); or `grant.service()` in any
/// // framework.
/// let app: axum::Router = axum::Router::new().merge(grant.router());
/// # Ok(app) }
/// ```
#[derive(Clone)]
pub struct JwtBearerGrant {
    pub(super) settings: Arc<Settings>,
}

impl fmt::Debug for JwtBearerGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerGrant")
            .field("issuer", &self.settings.issuer)
            .field("token_path", &self.settings.token_path)
            .field("clients", &self.settings.clients.len())
            .finish_non_exhaustive()
    }
}

fn check_path(path: &str) -> Result<(), ConfigError> {
    if !path.starts_with('/') || path.starts_with("//") || path.contains(['?', '#']) {
        return Err(ConfigError::Invalid(
            "a grant endpoint path starts with one '/' and has no query or fragment",
        ));
    }
    Ok(())
}

impl JwtBearerGrant {
    /// Checks `config` and makes the endpoint, verifying grants with the tenants of `oidc` and
    /// signing tokens with `signer`.
    pub fn new(
        oidc: &OktaOidc,
        config: JwtBearerGrantConfig,
        signer: impl AccessTokenSigner,
    ) -> Result<Self, ConfigError> {
        let url = check_secure_url(&config.issuer).map_err(|reason| ConfigError::InvalidUrl {
            url: config.issuer.clone(),
            reason,
        })?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::InvalidUrl {
                url: config.issuer.clone(),
                reason: "an issuer has no query or fragment (RFC 8414 §2)",
            });
        }
        check_path(&config.token_path)?;
        check_path(&config.jwks_path)?;
        if config.resources.is_empty() {
            return Err(ConfigError::Invalid(
                "a JwtBearerGrant needs at least one resource (the API its tokens are for)",
            ));
        }
        let mut clients = HashMap::new();
        for client in config.clients {
            if client.id.is_empty() || client.secrets.iter().any(|s| s.expose().is_empty()) {
                return Err(ConfigError::Invalid(
                    "a grant client needs an id and a non-empty secret",
                ));
            }
            if clients.insert(Arc::clone(&client.id), client).is_some() {
                return Err(ConfigError::Invalid("a grant client is registered twice"));
            }
        }
        if !oidc.verifier().revocations.store.is_shared() {
            tracing::warn!(
                "JwtBearerGrant served with a revocation store that instances do not share: \
                 with several instances, an ID-JAG can be replayed to another instance before \
                 its exp; use RedisStore (REDIS_URL in the examples)"
            );
        }
        let origin = url.origin().ascii_serialization();
        Ok(JwtBearerGrant {
            settings: Arc::new(Settings {
                oidc: oidc.clone(),
                issuer: config.issuer,
                origin,
                token_path: config.token_path,
                jwks_path: config.jwks_path,
                clients,
                resources: config.resources,
                token_lifetime: config.token_lifetime,
                signer: Arc::new(signer),
                refusals: RefusalLog::default(),
            }),
        })
    }

    /// The issuer: what Okta's Cross App Access settings name as this app's authorization
    /// server, and the `iss` of the tokens.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    /// The token endpoint's absolute URL.
    pub fn token_endpoint(&self) -> String {
        format!("{}{}", self.settings.origin, self.settings.token_path)
    }

    /// The token endpoint's path (mount [`service`](Self::service) there).
    pub fn token_path(&self) -> &str {
        &self.settings.token_path
    }

    /// The authorization server's metadata (RFC 8414 §2): `issuer`, `token_endpoint`,
    /// `jwks_uri`, `grant_types_supported` with the JWT bearer grant,
    /// `authorization_grant_profiles_supported` with the ID-JAG profile
    /// (`urn:ietf:params:oauth:grant-profile:id-jag`), the client authentication methods and
    /// the scopes the clients may get. Merge it into a document of your own, or serve it with
    /// [`router`](Self::router).
    pub fn metadata(&self) -> Value {
        metadata::document(&self.settings)
    }

    /// The public keys of the signer, as published at the key set's path.
    pub fn jwks(&self) -> Value {
        self.settings.signer.jwks()
    }

    /// The token endpoint as a Tower service.
    pub fn service(&self) -> JwtBearerGrantService {
        JwtBearerGrantService::new(Arc::clone(&self.settings))
    }
}
