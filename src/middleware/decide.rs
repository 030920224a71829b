//! What the layer decides for one request: let it through with an identity (and maybe
//! `Set-Cookie` values), or answer it (RFC 6750 error, redirect to sign in).

use std::sync::Arc;

use axum_core::body::Body;
use axum_core::response::Response;
use http::header::{CACHE_CONTROL, LOCATION};
use http::request::Parts;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};

use super::challenge::DEFAULT_REALM;
use super::credential::{AuthContext, bearer_token, check_scopes, check_token68};
use super::sessions::SessionSource;
use crate::claims::Identity;
use crate::error::AuthError;
use crate::handle::OktaOidc;

pub(crate) type ErrorHandler = Arc<dyn Fn(&AuthError) -> Response + Send + Sync>;

/// The layer's configuration, shared by every service it makes.
#[derive(Clone)]
pub(crate) struct LayerConfig {
    pub(crate) oidc: OktaOidc,
    pub(crate) optional: bool,
    pub(crate) required_scopes: Arc<[String]>,
    pub(crate) realm: Arc<str>,
    pub(crate) on_error: Option<ErrorHandler>,
    pub(crate) sessions: Option<Arc<dyn SessionSource>>,
    pub(crate) redirect_to_login: bool,
}

/// The outcome for a request.
pub(crate) enum Decision<B> {
    /// Call the inner service with this request (its identity is in the extensions), then add
    /// these `Set-Cookie` values to the response.
    Proceed(Request<B>, Vec<HeaderValue>),
    /// Answer this instead.
    Answer(Response),
}

/// An identity, and the `Set-Cookie` values that came with it (a refreshed session).
type Authenticated = (Option<Arc<Identity>>, Vec<HeaderValue>);

impl LayerConfig {
    /// The identity of a bearer token found in the verified-token cache, when it holds every
    /// required scope: the synchronous fast path.
    pub(crate) fn cached(&self, headers: &HeaderMap) -> Option<Arc<Identity>> {
        let token = bearer_token(headers).ok()??;
        let identity = self.oidc.verifier().cached(token)?;
        check_scopes(&identity, &self.required_scopes)
            .is_ok()
            .then_some(identity)
    }

    /// What the request extensions get.
    pub(crate) fn context(&self, identity: Option<Arc<Identity>>) -> AuthContext {
        AuthContext {
            identity,
            // `None` for the default realm: no shared reference count touched per request.
            realm: (*self.realm != *DEFAULT_REALM).then(|| Arc::clone(&self.realm)),
        }
    }

    /// Authenticates a request that missed the fast path.
    pub(crate) async fn decide<B>(self: Arc<Self>, request: Request<B>) -> Decision<B> {
        let (mut parts, body) = request.into_parts();
        let (identity, set_cookies) = match self.authenticate(&parts).await {
            Ok(authenticated) => authenticated,
            Err(error) => return Decision::Answer(self.reject(&error)),
        };
        match &identity {
            None if !self.optional => {
                if let Some(response) = self.login_redirect(&parts) {
                    return Decision::Answer(response);
                }
                return Decision::Answer(self.reject(&AuthError::MissingCredential));
            }
            Some(identity) => {
                if let Err(error) = check_scopes(identity, &self.required_scopes) {
                    return Decision::Answer(self.reject(&error));
                }
            }
            None => {}
        }
        parts.extensions.insert(self.context(identity));
        Decision::Proceed(Request::from_parts(parts, body), set_cookies)
    }

    async fn authenticate(&self, parts: &Parts) -> Result<Authenticated, AuthError> {
        if let Some(token) = bearer_token(&parts.headers)? {
            check_token68(token)?;
            let identity = self.oidc.verifier().bearer(token, parts).await?;
            return Ok((Some(identity), Vec::new()));
        }
        if let Some(sessions) = &self.sessions
            && let Some(session) = sessions.authenticate(parts).await?
        {
            return Ok((Some(session.claims.into_identity()), session.set_cookies));
        }
        Ok((None, Vec::new()))
    }

    /// A 302 to the session source's sign-in route, for a page request without credential.
    fn login_redirect(&self, parts: &Parts) -> Option<Response> {
        if !self.redirect_to_login || !matches!(parts.method, Method::GET | Method::HEAD) {
            return None;
        }
        let location = self.sessions.as_ref()?.login_location(parts)?;
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::FOUND;
        response.headers_mut().insert(LOCATION, location);
        response
            .headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Some(response)
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
