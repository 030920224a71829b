//! The RFC 9728 endpoint: `/.well-known/oauth-protected-resource` (and its path-inserted form,
//! §3.1) as a Tower service ([`ResourceMetadataService`]) and an axum router, one document per
//! tenant; and the `resource_metadata` URL of the layer's challenges (§5.1).

use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum_core::body::Body;
use axum_core::response::Response;
use futures_util::future::BoxFuture;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::request::Parts;
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use tower_service::Service;

use crate::handle::OktaOidc;
use crate::protected_resource::{
    DpopSupport, ProtectedResource, WELL_KNOWN, metadata_suffix, metadata_url,
};
use crate::tenant::config::Tenant;

impl OktaOidc {
    /// The Tower service answering `GET /.well-known/oauth-protected-resource[/<path>]` with
    /// this API's RFC 9728 metadata (any other path: `404`). See
    /// [`resource_metadata_router`](Self::resource_metadata_router) for axum.
    pub fn resource_metadata_service(&self) -> ResourceMetadataService {
        ResourceMetadataService { oidc: self.clone() }
    }

    /// An axum router serving this API's protected-resource metadata (RFC 9728):
    /// `/.well-known/oauth-protected-resource` for a resource at the root, and
    /// `/.well-known/oauth-protected-resource/<path>` for a resource with a path (§3.1).
    /// Merge it into the application's router, outside the authentication layer.
    ///
    /// The document names the resource identifier exactly as configured and, in
    /// `authorization_servers`, the issuer of the request's tenant only — picked by the
    /// [`TenantResolver`](crate::TenantResolver) from the request as if it were made at the
    /// resource itself (host, or the path after the well-known prefix), or the only tenant.
    /// A request that names no tenant gets the document without `authorization_servers`: the
    /// list of customers is never published. An unknown resource path answers `404`.
    ///
    /// ```
    /// use axum::{Router, routing::get};
    /// use okta_oidc::{Claims, OktaOidc, OktaOidcLayer, ProtectedResource, Tenant};
    ///
    /// # fn app() -> Result<Router, okta_oidc::ConfigError> {
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com/oauth2/default").audience("api://acme"))
    ///     .protected_resource(ProtectedResource::new("https://api.example.com"))
    ///     .build_lazy()?;
    /// let app = Router::new()
    ///     .route("/api/me", get(|claims: Claims| async move { claims.sub.clone() }))
    ///     .layer(OktaOidcLayer::new(oidc.clone()))
    ///     .merge(oidc.resource_metadata_router());
    /// # Ok(app) }
    /// ```
    #[cfg(feature = "axum")]
    pub fn resource_metadata_router<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let service = self.resource_metadata_service();
        axum::Router::new()
            .route_service(WELL_KNOWN, service.clone())
            .route_service(&format!("{WELL_KNOWN}/{{*resource_path}}"), service)
    }
}

/// The Tower service of RFC 9728 protected-resource metadata; see
/// [`OktaOidc::resource_metadata_service`].
#[derive(Clone)]
pub struct ResourceMetadataService {
    oidc: OktaOidc,
}

impl fmt::Debug for ResourceMetadataService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceMetadataService")
            .finish_non_exhaustive()
    }
}

impl<B> Service<Request<B>> for ResourceMetadataService {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let oidc = self.oidc.clone();
        let (parts, _body) = request.into_parts();
        Box::pin(async move { Ok(answer(&oidc, &parts).await) })
    }
}

async fn answer(oidc: &OktaOidc, request: &Parts) -> Response {
    if !matches!(request.method, Method::GET | Method::HEAD) {
        let mut response = status(StatusCode::METHOD_NOT_ALLOWED);
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let Some(document) = document(oidc, request) else {
        return status(StatusCode::NOT_FOUND);
    };
    let body = if request.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(document.to_string())
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=300"));
    response
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

/// The document for the resource whose path follows the well-known prefix, if there is one.
fn document(oidc: &OktaOidc, request: &Parts) -> Option<serde_json::Value> {
    let suffix = request.uri.path().strip_prefix(WELL_KNOWN)?;
    if !suffix.is_empty() && !suffix.starts_with('/') {
        return None;
    }
    let directory = oidc.directory();
    // The resolver sees the request as made at the resource itself: same host, the resource's
    // path instead of the well-known one.
    let at_resource = Uri::builder()
        .path_and_query(if suffix.is_empty() { "/" } else { suffix })
        .build()
        .ok()?;
    let mut resolving = Request::new(());
    *resolving.method_mut() = Method::GET;
    *resolving.uri_mut() = at_resource;
    *resolving.headers_mut() = request.headers.clone();
    let (resolving, ()) = resolving.into_parts();
    // Registered tenants only: a stranger's request for an id nobody registered costs no
    // loader call, and the document never names the issuer of a tenant the application has
    // not loaded itself.
    let tenant = directory.resolve_registered(&resolving);
    if tenant.is_none() && directory.names_a_tenant(&resolving) {
        return None;
    }
    let (config, resource) = resource_of(oidc, tenant.as_deref())?;
    if metadata_suffix(&resource)? != suffix {
        return None;
    }
    let dpop = oidc.verifier().dpop.as_ref().map(|d| DpopSupport {
        algorithms: d.algorithms(),
        required: d.required(),
    });
    let issuer = tenant.as_deref().map(|t| &*t.issuer);
    Some(config.document(&resource, issuer, dpop))
}

/// The configuration and the identifier of a tenant's resource: its own, else the
/// application's.
fn resource_of(oidc: &OktaOidc, tenant: Option<&Tenant>) -> Option<(ProtectedResource, Arc<str>)> {
    let configured = oidc.inner.resource.as_ref();
    let resource = tenant
        .and_then(|t| t.resource.clone())
        .or_else(|| configured.map(|c| Arc::clone(&c.resource)))?;
    let config = configured
        .cloned()
        .unwrap_or_else(|| ProtectedResource::new(resource.to_string()));
    Some((config, resource))
}

/// The `resource_metadata` URL for a challenge to this request (RFC 9728 §5.1): the metadata
/// of the tenant the request names (registered tenants only: a challenge never waits on the
/// loader), else of the configured resource; `None` when no resource is configured.
pub(crate) fn metadata_url_for(oidc: &OktaOidc, request: &Parts) -> Option<String> {
    let tenant = oidc.directory().resolve_registered(request);
    let (_, resource) = resource_of(oidc, tenant.as_deref())?;
    metadata_url(&resource)
}
