//! [`OktaOidcService`]: the service [`OktaOidcLayer`](crate::OktaOidcLayer) wraps around the
//! application's.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::body::ResponseBody;
use super::decide::LayerConfig;
use super::future::ResponseFuture;

/// The service made by [`OktaOidcLayer`](crate::OktaOidcLayer). It wraps any
/// `Service<http::Request<B>, Response = http::Response<R>>` — an axum router or handler, a
/// hyper service, a `tower::service_fn` — and answers `http::Response<ResponseBody<R>>`.
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

impl<S> OktaOidcService<S> {
    pub(crate) fn new(inner: S, config: Arc<LayerConfig>) -> Self {
        OktaOidcService { inner, config }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, without the middleware.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OktaOidcService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // Fast path, synchronous: a bearer token found in the verified-token cache. The inner
        // service (made ready by `poll_ready`) is called in place: no clone, no allocation, no
        // shared write.
        let metrics = &self.config.oidc.provider().metrics;
        let timer = metrics.hit_timer();
        if let Some(identity) = self.config.cached(request.headers()) {
            let same_tenant = !self.config.pins_tenants() || {
                // The resolver reads `Parts`: taken apart and put back, no copy.
                let (parts, body) = request.into_parts();
                let same = self.config.check_request_tenant(&parts, &identity).is_ok();
                request = Request::from_parts(parts, body);
                same
            };
            // Another tenant's token takes the slow path, which refuses it in one place.
            if same_tenant {
                metrics.hit(&identity.tenant.id, timer);
                request
                    .extensions_mut()
                    .insert(self.config.context(Some(identity)));
                return ResponseFuture::calling(self.inner.call(request));
            }
        }
        // The ready service goes with the future; a clone stays for the next request.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        let decision = Box::pin(Arc::clone(&self.config).decide(request));
        ResponseFuture::authenticating(decision, ready)
    }
}
