//! [`RequireScopes`]: a route layer that requires scopes of an identity the layer accepted.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::challenge::{Challenges, DEFAULT_REALM};
use super::credential::{AuthContext, check_scopes};
use super::future::ResponseFuture;
use crate::error::AuthError;

/// A layer for a route or group of routes that requires scopes of an already authenticated
/// identity (put [`OktaOidcLayer`](crate::OktaOidcLayer) outside it). Answers 403 `insufficient_scope` naming the
/// scopes, or 401 when the request is not authenticated.
///
/// ```
/// use axum::{Router, routing::get};
/// use okta_oidc::RequireScopes;
///
/// let admin: Router = Router::new()
///     .route("/admin", get(|| async { "ok" }))
///     .route_layer(RequireScopes::new(["admin"]));
/// # let _ = admin;
/// ```
#[derive(Clone, Debug)]
pub struct RequireScopes {
    scopes: Arc<[String]>,
}

impl RequireScopes {
    /// Requires every one of `scopes`.
    pub fn new<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RequireScopes {
            scopes: scopes
                .into_iter()
                .map(Into::into)
                .collect::<Vec<_>>()
                .into(),
        }
    }
}

impl<S> Layer<S> for RequireScopes {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            scopes: Arc::clone(&self.scopes),
        }
    }
}

/// The service made by [`RequireScopes`].
#[derive(Clone, Debug)]
pub struct RequireScopesService<S> {
    inner: S,
    scopes: Arc<[String]>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireScopesService<S>
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
        let context = request.extensions().get::<AuthContext>();
        let realm = context
            .and_then(|c| c.realm.clone())
            .unwrap_or_else(|| Arc::from(DEFAULT_REALM));
        let verdict = match context.and_then(|c| c.identity.as_deref()) {
            None => Err(AuthError::MissingCredential),
            Some(identity) => check_scopes(identity, &self.scopes),
        };
        let Err(error) = verdict else {
            return ResponseFuture::calling(self.inner.call(request));
        };
        tracing::debug!(reason = %error, "request lacks scope");
        // The error goes on the challenge of the scheme the request used (RFC 9449 §7.1).
        let challenges = match context.and_then(|c| c.dpop.as_ref()) {
            Some(offer) => Challenges {
                realm: &realm,
                bearer: offer.bearer,
                dpop_algs: Some(&offer.algs),
                resource_metadata: None,
                used_dpop: true,
            },
            None => Challenges::bearer(&realm),
        };
        ResponseFuture::answered(error.render(&challenges))
    }
}
