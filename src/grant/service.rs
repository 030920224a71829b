//! [`JwtBearerGrantService`]: the token endpoint as a Tower service: method check, bounded
//! body, then the token request.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};
use tower_service::Service;

use super::settings::Settings;
use super::{answer, token};
use crate::request_body::read_limited;

/// Largest request body read (a grant, a scope, client credentials).
const MAX_BODY: usize = 64 * 1024;

/// The token endpoint of a [`JwtBearerGrant`](super::JwtBearerGrant) as a Tower service. It
/// answers every request itself (never an error): `405` for another method than `POST`.
#[derive(Clone)]
pub struct JwtBearerGrantService {
    settings: Arc<Settings>,
}

impl fmt::Debug for JwtBearerGrantService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerGrantService")
            .field("issuer", &self.settings.issuer)
            .finish_non_exhaustive()
    }
}

/// The response future of [`JwtBearerGrantService`].
pub type JwtBearerGrantFuture = BoxFuture<'static, Result<Response<Body>, Infallible>>;

impl JwtBearerGrantService {
    pub(super) fn new(settings: Arc<Settings>) -> Self {
        JwtBearerGrantService { settings }
    }
}

impl<B> Service<Request<B>> for JwtBearerGrantService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = JwtBearerGrantFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = Arc::clone(&self.settings);
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            if parts.method != Method::POST {
                return Ok(answer::method_not_allowed("POST"));
            }
            let body = read_limited(body, MAX_BODY).await;
            Ok(token::handle(&settings, &parts.headers, body).await)
        })
    }
}
