//! The application's choice of tenant for a request that names no issuer.

use http::{HeaderMap, Uri};

/// Picks the tenant of an opaque bearer token from the request (host, header, path…), when
/// several tenants are registered. Return the tenant's id, or `None`: the token is then
/// rejected and sent nowhere.
///
/// Any `Fn(&Uri, &HeaderMap) -> Option<String>` is a resolver:
///
/// ```
/// use okta_oidc::OktaOidc;
///
/// let oidc = OktaOidc::builder()
///     .opaque_token_resolver(|_uri: &http::Uri, headers: &http::HeaderMap| {
///         headers.get("x-okta-tenant")?.to_str().ok().map(str::to_owned)
///     })
///     .build_lazy()
///     .unwrap();
/// # let _ = oidc;
/// ```
pub trait TenantResolver: Send + Sync + 'static {
    /// The id of the tenant whose authorization server should check this request's token.
    fn resolve(&self, uri: &Uri, headers: &HeaderMap) -> Option<String>;
}

impl<F> TenantResolver for F
where
    F: Fn(&Uri, &HeaderMap) -> Option<String> + Send + Sync + 'static,
{
    fn resolve(&self, uri: &Uri, headers: &HeaderMap) -> Option<String> {
        self(uri, headers)
    }
}
