//! [`RequireScopes`]: a route layer that requires scopes of an identity the layer accepted.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::body::ResponseBody;
use super::credential::{AuthContext, check_scopes};
use super::future::ResponseFuture;
use crate::error::AuthError;
use crate::rejection_log::RejectionLog;
use crate::time::{SystemClock, UnixTime};

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
#[derive(Clone)]
pub struct RequireScopes {
    scopes: Arc<[String]>,
    /// This layer's refusals, one INFO line per reason and tenant a minute.
    rejections: Arc<RejectionLog>,
}

impl std::fmt::Debug for RequireScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireScopes")
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
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
            rejections: Arc::default(),
        }
    }
}

impl<S> Layer<S> for RequireScopes {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            scopes: Arc::clone(&self.scopes),
            rejections: Arc::clone(&self.rejections),
        }
    }
}

/// The service made by [`RequireScopes`].
#[derive(Clone)]
pub struct RequireScopesService<S> {
    inner: S,
    scopes: Arc<[String]>,
    rejections: Arc<RejectionLog>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for RequireScopesService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequireScopesService")
            .field("inner", &self.inner)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
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
        let identity = context.and_then(|c| c.identity.as_deref());
        let verdict = match identity {
            None => Err(AuthError::MissingCredential),
            Some(identity) => check_scopes(identity, &self.scopes),
        };
        let Err(error) = verdict else {
            return ResponseFuture::calling(self.inner.call(request));
        };
        // One INFO line per reason and tenant a minute, as the authentication layer's refusals
        // (`rejection_log.rs`); the system clock: this layer has no handle to the provider's.
        self.rejections
            .record_route(&error, identity, UnixTime::now(&SystemClock).as_secs());
        ResponseFuture::answered(AuthContext::refuse(context, &error))
    }
}
