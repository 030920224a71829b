//! `OktaOidcLayer`: reads the request's credential, validates it, and puts the identity in the
//! request extensions.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::response::Response;
use http::{HeaderMap, Request};
use tower_layer::Layer;
use tower_service::Service;

use super::future::ResponseFuture;

use super::challenge::DEFAULT_REALM;
use super::credential::{AuthContext, bearer_token, check_token68};
use super::scopes::check_scopes;
use crate::claims::Identity;
use crate::error::AuthError;
use crate::handle::OktaOidc;

type ErrorHandler = Arc<dyn Fn(&AuthError) -> Response + Send + Sync>;

#[derive(Clone)]
struct LayerConfig {
    oidc: OktaOidc,
    optional: bool,
    required_scopes: Arc<[String]>,
    realm: Arc<str>,
    on_error: Option<ErrorHandler>,
    redirect_to_login: bool,
}

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
                redirect_to_login: false,
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

    /// For browser pages: a `GET` or `HEAD` without any credential is redirected (302) to the
    /// login route, which comes back to the page after login, instead of answering 401. Needs
    /// [`OktaOidcBuilder::login`](crate::OktaOidcBuilder::login); keep API routes on a layer
    /// without it, so they answer 401.
    ///
    /// With sessions configured, every layer accepts the session cookie as a credential when
    /// the request has no `Authorization: Bearer` header.
    pub fn redirect_to_login(self) -> Self {
        self.with(|c| c.redirect_to_login = true)
    }

    /// Builds error responses with this function instead of the RFC 6750 default.
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
        OktaOidcService {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// The service made by [`OktaOidcLayer`].
#[derive(Clone)]
pub struct OktaOidcService<S> {
    inner: S,
    config: Arc<LayerConfig>,
}

impl<S> fmt::Debug for OktaOidcService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaOidcService").finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for OktaOidcService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // Fast path, synchronous: a bearer token found in the verified-token cache. The inner
        // service (made ready by `poll_ready`) is called in place: no clone, no shared write.
        if let Some(identity) = self.config.cached(request.headers())
            && check_scopes(&identity, &self.config.required_scopes).is_ok()
        {
            request.extensions_mut().insert(AuthContext {
                identity: Some(identity),
                realm: self.config.custom_realm(),
            });
            return Box::pin(self.inner.call(request));
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        Box::pin(async move {
            let identity = match config.authenticate(request.uri(), request.headers()).await {
                Ok(identity) => identity,
                Err(error) => return Ok(config.reject(&error)),
            };
            #[cfg_attr(not(feature = "login"), allow(unused_mut))]
            let mut set_cookies: Vec<http::HeaderValue> = Vec::new();
            #[cfg(feature = "login")]
            let identity = match identity {
                Some(identity) => Some(identity),
                None => crate::login::session::session_identity(&config.oidc, request.headers())
                    .map(|s| {
                        set_cookies = s.set_cookies;
                        s.identity
                    }),
            };
            match &identity {
                None if !config.optional => {
                    #[cfg(feature = "login")]
                    if config.redirect_to_login
                        && let Some(response) = crate::login::session::login_redirect(
                            &config.oidc,
                            request.method(),
                            request.uri(),
                        )
                    {
                        return Ok(response);
                    }
                    return Ok(config.reject(&AuthError::MissingCredential));
                }
                Some(id) if !config.required_scopes.is_empty() => {
                    if let Err(error) = check_scopes(id, &config.required_scopes) {
                        return Ok(config.reject(&error));
                    }
                }
                _ => {}
            }
            request.extensions_mut().insert(AuthContext {
                identity,
                realm: config.custom_realm(),
            });
            let mut response = inner.call(request).await?;
            for cookie in set_cookies {
                response
                    .headers_mut()
                    .append(http::header::SET_COOKIE, cookie);
            }
            Ok(response)
        })
    }
}

impl LayerConfig {
    /// The identity of a bearer token found in the verified-token cache.
    fn cached(&self, headers: &HeaderMap) -> Option<Arc<Identity>> {
        let token = bearer_token(headers).ok()??;
        self.oidc.verifier().cached(token)
    }

    /// The realm for the request extensions: `None` for the default (no shared reference
    /// count touched per request).
    fn custom_realm(&self) -> Option<Arc<str>> {
        (*self.realm != *DEFAULT_REALM).then(|| Arc::clone(&self.realm))
    }

    async fn authenticate(
        &self,
        uri: &http::Uri,
        headers: &HeaderMap,
    ) -> Result<Option<Arc<Identity>>, AuthError> {
        let Some(token) = bearer_token(headers)? else {
            return Ok(None);
        };
        // `call` already looked the token up in the verified-token cache: this is a miss (or a
        // hit whose scopes fell short, which the cache answers again inside
        // `authenticate_bearer`).
        check_token68(token)?;
        self.oidc
            .verifier()
            .bearer(token, uri, headers)
            .await
            .map(Some)
    }

    fn reject(&self, error: &AuthError) -> Response {
        match error {
            AuthError::MissingCredential => tracing::debug!("request without credential"),
            AuthError::KeysUnavailable { .. } | AuthError::TemporarilyUnavailable { .. } => {
                tracing::warn!(reason = %error, "credential could not be checked")
            }
            _ => tracing::debug!(reason = %error, "credential rejected"),
        }
        match &self.on_error {
            Some(handler) => handler(error),
            None => error.to_response(&self.realm),
        }
    }
}
