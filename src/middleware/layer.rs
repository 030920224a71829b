//! [`OktaOidcLayer`]: what the middleware is configured with.

use std::fmt;
use std::sync::Arc;

use axum_core::response::Response;
use tower_layer::Layer;

use super::challenge::DEFAULT_REALM;
use super::decide::LayerConfig;
use super::service::OktaOidcService;
use super::sessions::SessionSource;
use crate::error::AuthError;
use crate::handle::OktaOidc;

/// A Tower layer that authenticates requests with Okta (or any OpenID Connect provider).
///
/// For each request it reads `Authorization: Bearer <token>` (scheme case-insensitive), validates
/// the token against the tenant named by its `iss`, and stores the identity for the
/// [`Claims`](crate::Claims) extractor. Failures answer per RFC 6750: 401 with
/// `WWW-Authenticate: Bearer realm="api"` when no credential is given, 401 with
/// `error="invalid_token"` when it is rejected, 403 with `error="insufficient_scope"` when a
/// required scope is missing, 400 for two `Authorization` headers, 503 when the tenant's keys
/// are unavailable.
///
/// ```
/// use axum::{Router, routing::get};
/// use okta_oidc::{Claims, OktaOidc, OktaOidcLayer, Tenant};
///
/// # fn app() -> Result<Router, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
///     .build_lazy()?;
/// let app = Router::new()
///     .route("/api/me", get(|claims: Claims| async move { claims.sub.clone() }))
///     .layer(OktaOidcLayer::new(oidc));
/// # Ok(app) }
/// ```
#[derive(Clone)]
pub struct OktaOidcLayer {
    config: Arc<LayerConfig>,
}

impl fmt::Debug for OktaOidcLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaOidcLayer")
            .field("optional", &self.config.optional)
            .field("required_scopes", &self.config.required_scopes)
            .field("realm", &self.config.realm)
            .finish_non_exhaustive()
    }
}

impl OktaOidcLayer {
    /// A layer that requires a valid credential on every request.
    pub fn new(oidc: OktaOidc) -> Self {
        OktaOidcLayer {
            config: Arc::new(LayerConfig {
                oidc,
                optional: false,
                required_scopes: Arc::from(Vec::new()),
                realm: Arc::from(DEFAULT_REALM),
                on_error: None,
                sessions: None,
                redirect_to_login: false,
                require_dpop: false,
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut LayerConfig)) -> Self {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// Lets requests without a credential through (handlers take `Option<Claims>`). A
    /// credential that is presented must still be valid.
    pub fn optional(self) -> Self {
        self.with(|c| c.optional = true)
    }

    /// Requires every one of these scopes (403 `insufficient_scope` otherwise).
    pub fn require_scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        self.with(|c| c.required_scopes = Arc::from(scopes))
    }

    /// The realm named in `WWW-Authenticate` (default `api`).
    pub fn realm(self, realm: impl Into<String>) -> Self {
        let realm: String = realm.into();
        self.with(|c| c.realm = Arc::from(realm))
    }

    /// Accepts the session cookies of `sessions` (for example a [`Login`](crate::Login)) when
    /// a request has no `Authorization` credential. Without it, the layer accepts bearer
    /// tokens only: session cookies are honoured only where the application opts in.
    pub fn sessions(self, sessions: impl SessionSource) -> Self {
        let sessions: Arc<dyn SessionSource> = Arc::new(sessions);
        self.with(|c| c.sessions = Some(sessions))
    }

    /// For browser pages: a `GET` or `HEAD` without any credential is redirected (302) to the
    /// session source's sign-in route, which comes back to the page after login, instead of
    /// answering 401. Needs [`sessions`](Self::sessions); keep API routes on a layer without
    /// it, so they answer 401.
    pub fn redirect_to_login(self) -> Self {
        self.with(|c| c.redirect_to_login = true)
    }

    /// Requires DPoP on these routes (RFC 9449): `Authorization: DPoP` with a proof; a token
    /// sent as `Bearer` is refused, and the `401` challenges offer `DPoP` only. Needs
    /// [`OktaOidcBuilder::dpop`](crate::OktaOidcBuilder::dpop); for every route, see
    /// [`Dpop::required`](crate::Dpop::required). The protected-resource metadata describes
    /// the whole API: it says `dpop_bound_access_tokens_required: true` only with
    /// `Dpop::required`, not for a route that requires DPoP on its own.
    pub fn require_dpop(self) -> Self {
        self.with(|c| c.require_dpop = true)
    }

    /// Builds error responses with this function instead of the RFC 6750 default (see
    /// [`AuthError::to_response`] to start from it).
    pub fn on_error<F>(self, handler: F) -> Self
    where
        F: Fn(&AuthError) -> Response + Send + Sync + 'static,
    {
        self.with(|c| c.on_error = Some(Arc::new(handler)))
    }
}

impl<S> Layer<S> for OktaOidcLayer {
    type Service = OktaOidcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OktaOidcService::new(inner, Arc::clone(&self.config))
    }
}
