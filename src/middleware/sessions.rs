//! [`SessionSource`]: how the layer accepts a session cookie, where the application opts in.
//!
//! The core never knows how a session is sealed or signed in: the login half
//! ([`Login`](crate::Login), feature `login`) implements this trait, and the application hands
//! it to [`OktaOidcLayer::sessions`](crate::OktaOidcLayer::sessions) on the routes that accept
//! sessions.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use std::convert::Infallible;

use axum_core::extract::OptionalFromRequestParts;
use axum_core::response::Response;
use http::HeaderValue;
use http::request::Parts;

use crate::claims::Claims;
use crate::error::AuthError;

/// The future [`SessionSource::authenticate`] returns.
pub type SessionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Session>, AuthError>> + Send + 'a>>;

/// The future [`SessionSource::check`] returns.
pub type SessionCheckFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SessionCheck, AuthError>> + Send + 'a>>;

/// What a [`SessionSource`] found in a request.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionCheck {
    /// A live session.
    Active(Session),
    /// No session: no session cookie, or one that cannot be read (tampered, sealed with a
    /// secret this app does not hold). Answered as a request without a cookie.
    Absent,
    /// A session that was real and has ended: why, and the `Set-Cookie` values that delete
    /// its cookies (added to whatever the layer answers).
    Ended(EndedSession),
}

/// A session that has ended (see [`SessionCheck::Ended`]); no `Debug` of the cookie values.
#[non_exhaustive]
pub struct EndedSession {
    /// Why it ended.
    pub reason: SessionEnd,
    /// `Set-Cookie` values that delete the session's cookies (`Max-Age=0`).
    pub set_cookies: Vec<HeaderValue>,
}

impl EndedSession {
    /// A session ended for `reason`, and the `Set-Cookie` values that delete it.
    pub fn new(reason: SessionEnd, set_cookies: Vec<HeaderValue>) -> Self {
        EndedSession {
            reason,
            set_cookies,
        }
    }
}

impl fmt::Debug for EndedSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndedSession")
            .field("reason", &self.reason)
            .field("set_cookies", &self.set_cookies.len())
            .finish()
    }
}

/// Why a session ended.
///
/// On a route where authentication is optional, the layer puts it in the request extensions,
/// so a page can explain instead of greeting a stranger; with axum, take `Option<SessionEnd>`:
///
/// ```
/// use okta_oidc::{Claims, SessionEnd};
///
/// async fn home(claims: Option<Claims>, ended: Option<SessionEnd>) -> String {
///     match (claims, ended) {
///         (Some(c), _) => format!("Hello {}", c.sub),
///         (None, Some(SessionEnd::Revoked)) => "You were signed out.".into(),
///         (None, Some(_)) => "Your session expired.".into(),
///         (None, None) => "Welcome, stranger.".into(),
///     }
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// It reached its absolute lifetime.
    Expired,
    /// It was not used for longer than the idle timeout.
    Idle,
    /// It was ended: a logout (here or on another device with a copy of the cookie), the
    /// identity provider (Universal Logout, back-channel logout), the application's own
    /// revocation; or its tenant was removed or changed.
    Revoked,
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for SessionEnd {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<SessionEnd>().copied())
    }
}

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

    /// What the layer calls: [`authenticate`](Self::authenticate), and for a session that has
    /// ended, why and the `Set-Cookie` values that delete it. The default knows no ended
    /// sessions (`Active` or `Absent`, from `authenticate`); [`Login`](crate::Login) tells
    /// them apart.
    fn check<'a>(&'a self, request: &'a Parts) -> SessionCheckFuture<'a> {
        Box::pin(async move {
            Ok(match self.authenticate(request).await? {
                Some(session) => SessionCheck::Active(session),
                None => SessionCheck::Absent,
            })
        })
    }

    /// The page a browser whose session ended gets on a page route (one that redirects to
    /// sign in), instead of the redirect: an explanation with a way to sign in again. `None`
    /// (the default): redirected as without a session.
    fn ended_page(&self, request: &Parts, reason: SessionEnd) -> Option<Response> {
        let _ = (request, reason);
        None
    }

    /// Where a browser whose session is not strong or recent enough for this page is sent to
    /// sign in again, asking for it (OpenID Connect `acr_values` and `max_age`: the step-up of
    /// RFC 9470 on a page route), or `None` (the default) for a 401
    /// `insufficient_user_authentication`.
    fn step_up_location(
        &self,
        request: &Parts,
        acr_values: &[String],
        max_age: Option<std::time::Duration>,
    ) -> Option<HeaderValue> {
        let _ = (request, acr_values, max_age);
        None
    }
}
