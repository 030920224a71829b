//! [`SessionSource`]: how the layer accepts a session cookie, where the application opts in.
//!
//! The core never knows how a session is sealed or signed in: the login half
//! ([`Login`](crate::Login), feature `login`) implements this trait, and the application hands
//! it to [`OktaOidcLayer::sessions`](crate::OktaOidcLayer::sessions) on the routes that accept
//! sessions.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use http::HeaderValue;
use http::request::Parts;

use crate::claims::Claims;
use crate::error::AuthError;

/// The future [`SessionSource::authenticate`] returns.
pub type SessionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Session>, AuthError>> + Send + 'a>>;

/// A request authenticated by its session: the claims, and the `Set-Cookie` values that
/// refresh the session on the response (no `Debug` of the values: they are cookies).
pub struct Session {
    /// The session's identity.
    pub claims: Claims,
    /// `Set-Cookie` values to add to the response (a refreshed session), possibly none.
    pub set_cookies: Vec<HeaderValue>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("claims", &self.claims)
            .field("set_cookies", &self.set_cookies.len())
            .finish()
    }
}

/// A source of cookie sessions for [`OktaOidcLayer`](crate::OktaOidcLayer).
///
/// [`Login`](crate::Login) is the one this crate provides:
///
/// ```
/// use axum::{Router, routing::get};
/// use okta_oidc::{Claims, Login, LoginConfig, OktaOidc, OktaOidcLayer, Tenant};
///
/// # fn app() -> Result<Router, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
///     .build_lazy()?;
/// let login = Login::new(&oidc, LoginConfig::new("https://app.example.com").session_secret([7u8; 32]))?;
/// let app = Router::new()
///     .route("/api/me", get(|claims: Claims| async move { claims.sub.clone() }))
///     .layer(OktaOidcLayer::new(oidc).sessions(login.clone()))
///     .merge(login.router());
/// # Ok(app) }
/// ```
pub trait SessionSource: Send + Sync + 'static {
    /// Authenticates a request by its session cookie. `Ok(None)` when it carries none, or one
    /// that is invalid or expired (which counts as none); `Err` when the session cannot be
    /// checked now, or the request may not use it (a cross-site write).
    fn authenticate<'a>(&'a self, request: &'a Parts) -> SessionFuture<'a>;

    /// Where a browser without a session is sent to sign in from this page request (the value
    /// of a `Location` header), or `None` when it should get a 401.
    fn login_location(&self, request: &Parts) -> Option<HeaderValue>;
}
