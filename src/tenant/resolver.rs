//! The application's choice of tenant for a request that names no issuer: an opaque access
//! token, a login without `?iss=`, anything else the request itself must tell.

use http::request::Parts;

/// Picks the tenant of a request from the request itself (its host, a path segment, a
/// header…). Return the tenant's id, or `None` when the request names none.
///
/// One resolver serves every place that needs it:
///
/// - an opaque bearer token (no issuer inside) is introspected at this tenant only, and is
///   refused without any call when the resolver names none (with several tenants);
/// - `/auth/login` without `?tenant=` or `?iss=` signs in at this tenant; and when the
///   resolver names a tenant, a `?tenant=` or `?iss=` naming another one is refused.
///
/// Any `Fn(&http::request::Parts) -> Option<String>` is a resolver:
///
/// ```
/// use okta_oidc::OktaOidc;
///
/// let oidc = OktaOidc::builder()
///     .tenant_resolver(|request: &http::request::Parts| {
///         // acme.app.example.com → "acme"
///         let host = request.headers.get("host")?.to_str().ok()?;
///         Some(host.split('.').next()?.to_owned())
///     })
///     .build_lazy()
///     .unwrap();
/// # let _ = oidc;
/// ```
pub trait TenantResolver: Send + Sync + 'static {
    /// The id of the request's tenant, if the request names one.
    fn resolve(&self, request: &Parts) -> Option<String>;
}

impl<F> TenantResolver for F
where
    F: Fn(&Parts) -> Option<String> + Send + Sync + 'static,
{
    fn resolve(&self, request: &Parts) -> Option<String> {
        self(request)
    }
}
