//! The application's loader for tenants it keeps in its own store.

use std::future::Future;
use std::pin::Pin;

use super::config::Tenant;

/// The error type a [`TenantLoader`] may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a [`TenantLoader`] returns.
pub type LoadFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Tenant>, BoxError>> + Send + 'a>>;

/// Loads tenants the registry does not hold, from the application's own store.
///
/// Called with the `iss` of a token whose issuer is not registered. Return `Ok(None)` for an
/// unknown issuer: the crate never contacts an issuer the loader did not vouch for. Answers are
/// remembered: a tenant returned is registered; an unknown issuer is not asked again for
/// [`negative_cache_ttl`](crate::OktaOidcBuilder::negative_cache_ttl).
///
/// Any `Fn(String) -> impl Future<Output = Result<Option<Tenant>, BoxError>>` is a loader:
///
/// ```
/// use okta_oidc::{OktaOidc, Tenant, BoxError};
///
/// let oidc = OktaOidc::builder()
///     .loader(|issuer: String| async move {
///         // look the issuer up in your database here
///         let known = issuer == "https://acme.okta.com";
///         Ok::<_, BoxError>(known.then(|| Tenant::new("acme", issuer).client_id("0oa1")))
///     })
///     .build_lazy()
///     .unwrap();
/// # let _ = oidc;
/// ```
pub trait TenantLoader: Send + Sync + 'static {
    /// Looks up the tenant of `issuer`.
    fn load(&self, issuer: String) -> LoadFuture<'_>;
}

impl<F, Fut> TenantLoader for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Tenant>, BoxError>> + Send + 'static,
{
    fn load(&self, issuer: String) -> LoadFuture<'_> {
        Box::pin(self(issuer))
    }
}
