//! [`RequireAuthentication`]: a route layer that requires a strong or recent enough sign-in of
//! an identity the layer accepted (OAuth 2.0 Step Up Authentication Challenge, RFC 9470).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_core::body::Body;
use http::header::{CACHE_CONTROL, LOCATION};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::credential::AuthContext;
use super::future::ResponseFuture;
use crate::claims::Identity;
use crate::error::AuthError;
use crate::rejection_log::RejectionLog;
use crate::time::{SystemClock, UnixTime};

/// A layer for a route or group of routes (a payment, an admin action) that requires more of
/// the user's sign-in than the token or session carries: an authentication context class
/// (`acr`, any one of those listed) and at most `max_age` since the user authenticated
/// (`auth_time`; a token without it fails a `max_age` requirement). Put
/// [`OktaOidcLayer`](crate::OktaOidcLayer) outside it.
///
/// A refusal is `401` with `WWW-Authenticate: Bearer error="insufficient_user_authentication",
/// error_description="…", acr_values="…", max_age="…"` (RFC 9470 §3; on the `DPoP` challenge
/// for a DPoP request), so that the client asks the authorization server for such a sign-in;
/// a page request with a session ([`OktaOidcLayer::redirect_to_login`](crate::OktaOidcLayer))
/// is sent to sign in again, asking Okta for it (`acr_values`, `max_age`).
///
/// ```
/// use std::time::Duration;
/// use axum::{Router, routing::post};
/// use okta_oidc::RequireAuthentication;
///
/// let payments: Router = Router::new()
///     .route("/payments", post(|| async { "paid" }))
///     .route_layer(
///         RequireAuthentication::acr(["urn:okta:loa:2fa:any"]).max_age(Duration::from_secs(300)),
///     );
/// # let _ = payments;
/// ```
#[derive(Clone)]
pub struct RequireAuthentication {
    acr_values: Arc<[String]>,
    max_age: Option<Duration>,
    /// This layer's refusals, one INFO line per reason and tenant a minute.
    rejections: Arc<RejectionLog>,
}

impl std::fmt::Debug for RequireAuthentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireAuthentication")
            .field("acr_values", &self.acr_values)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl RequireAuthentication {
    /// Requires the identity's `acr` to be one of `values` (in order of preference: the
    /// challenge and the sign-in ask for them in this order).
    pub fn acr<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequireAuthentication {
            acr_values: values
                .into_iter()
                .map(Into::into)
                .collect::<Vec<_>>()
                .into(),
            max_age: None,
            rejections: Arc::default(),
        }
    }

    /// Requires only a recent sign-in: at most `max_age` since `auth_time`.
    pub fn recent(max_age: Duration) -> Self {
        Self::acr(std::iter::empty::<String>()).max_age(max_age)
    }

    /// Requires, in addition, at most `max_age` since the user authenticated (`auth_time`).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }

    /// Whether `identity` satisfies the requirement at `now` (seconds since the epoch).
    fn satisfied_by(&self, identity: &Identity, now: i64) -> bool {
        let claims = &identity.claims;
        let acr_ok = self.acr_values.is_empty()
            || claims
                .acr
                .as_deref()
                .is_some_and(|acr| self.acr_values.iter().any(|v| v == acr));
        let age_ok = self.max_age.is_none_or(|max_age| {
            let max = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
            // RFC 9470 §3 / OIDC Core §3.1.2.1: no `auth_time`, no proof of a recent sign-in.
            claims
                .auth_time
                .is_some_and(|at| at <= now && now.saturating_sub(at) <= max)
        });
        acr_ok && age_ok
    }

    fn error(&self) -> AuthError {
        AuthError::InsufficientUserAuthentication {
            acr_values: Arc::clone(&self.acr_values),
            max_age: self.max_age,
        }
    }
}

impl<S> Layer<S> for RequireAuthentication {
    type Service = RequireAuthenticationService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireAuthenticationService {
            inner,
            required: self.clone(),
        }
    }
}

/// The service made by [`RequireAuthentication`].
#[derive(Clone)]
pub struct RequireAuthenticationService<S> {
    inner: S,
    required: RequireAuthentication,
}

impl<S: std::fmt::Debug> std::fmt::Debug for RequireAuthenticationService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireAuthenticationService")
            .field("inner", &self.inner)
            .field("required", &self.required)
            .finish()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireAuthenticationService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let now = UnixTime::now(&SystemClock).as_secs();
        let context = request.extensions().get::<AuthContext>();
        let identity = context.and_then(|c| c.identity.as_deref());
        let error = match identity {
            None => AuthError::MissingCredential,
            Some(identity) if self.required.satisfied_by(identity, now) => {
                return ResponseFuture::calling(self.inner.call(request));
            }
            Some(_) => self.required.error(),
        };
        self.required.rejections.record_route(&error, identity, now);
        // A page with a session: sign in again, asking for what this route needs.
        if identity.is_some()
            && matches!(*request.method(), Method::GET | Method::HEAD)
            && let Some(sources) = context.and_then(|c| c.sign_in.as_ref())
        {
            let (mut parts, _) = Request::new(()).into_parts();
            parts.method = request.method().clone();
            parts.uri = request.uri().clone();
            parts.headers = request.headers().clone();
            let required = &self.required;
            if let Some(location) =
                sources.step_up_location(&parts, &required.acr_values, required.max_age)
            {
                return ResponseFuture::answered(redirect(location));
            }
        }
        ResponseFuture::answered(AuthContext::refuse(context, &error))
    }
}

fn redirect(location: HeaderValue) -> axum_core::response::Response {
    let mut response = axum_core::response::Response::new(Body::empty());
    *response.status_mut() = StatusCode::FOUND;
    response.headers_mut().insert(LOCATION, location);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
