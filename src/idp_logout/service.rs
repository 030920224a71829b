//! [`LogoutEndpointService`]: a logout endpoint as a Tower service: method check, bounded
//! body, then the endpoint's handler.

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use futures_util::future::BoxFuture;
use http::{Method, Request, Response};
use tower_service::Service;

use super::answer;
use super::settings::Settings;
use super::{backchannel, ssf, universal};
use crate::request_body::read_limited;

/// Largest request body read (a subject identifier, or a logout token in a form).
const MAX_BODY: usize = 64 * 1024;

#[derive(Clone, Copy, Debug)]
pub(super) enum Which {
    Universal,
    BackChannel,
    SharedSignals,
}

/// A logout endpoint (Universal Logout or Back-Channel Logout) as a Tower service; made by
/// [`LogoutEndpoints`](super::LogoutEndpoints). It answers every request itself (never an
/// error): `405` for another method than `POST`.
#[derive(Clone)]
pub struct LogoutEndpointService {
    settings: Arc<Settings>,
    which: Which,
}

impl fmt::Debug for LogoutEndpointService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogoutEndpointService")
            .field("endpoint", &self.which)
            .finish_non_exhaustive()
    }
}

/// The response future of [`LogoutEndpointService`].
pub type LogoutEndpointFuture = BoxFuture<'static, Result<Response<Body>, Infallible>>;

impl LogoutEndpointService {
    pub(super) fn new(settings: Arc<Settings>, which: Which) -> Self {
        LogoutEndpointService { settings, which }
    }
}

impl<B> Service<Request<B>> for LogoutEndpointService
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = LogoutEndpointFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let settings = Arc::clone(&self.settings);
        let which = self.which;
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            if parts.method != Method::POST {
                return Ok(answer::method_not_allowed());
            }
            let body = read_limited(body, MAX_BODY).await;
            Ok(match which {
                Which::Universal => universal::handle(&settings, &parts, body).await,
                Which::BackChannel => backchannel::handle(&settings, body).await,
                Which::SharedSignals => ssf::handle(&settings, &parts, body).await,
            })
        })
    }
}
