//! The application's loader for tenants it keeps in its own store.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use super::config::Tenant;

/// The error type a [`TenantLoader`] may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The future a [`TenantLoader`] returns.
pub type LoadFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Tenant>, BoxError>> + Send + 'a>>;

/// What a [`TenantLoader`] is asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TenantKey {
    /// The tenant of this issuer: a token's unverified `iss`, or a login started from the Okta
    /// dashboard (`/auth/login?iss=`). Return the tenant only if you registered that issuer:
    /// the crate never contacts an issuer the loader did not vouch for.
    Issuer(String),
    /// The tenant of this id: a login with `?tenant=`, a session cookie after a restart, or
    /// the [`TenantResolver`](crate::TenantResolver)'s pick for a request.
    Id(String),
}

impl TenantKey {
    /// The issuer asked for, if that is the key.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            TenantKey::Issuer(issuer) => Some(issuer),
            TenantKey::Id(_) => None,
        }
    }

    /// The tenant id asked for, if that is the key.
    pub fn id(&self) -> Option<&str> {
        match self {
            TenantKey::Id(id) => Some(id),
            TenantKey::Issuer(_) => None,
        }
    }

    /// Whether `tenant` is an answer to this key (the loader's answer is checked).
    pub(crate) fn matches(&self, tenant: &Tenant) -> bool {
        match self {
            TenantKey::Issuer(issuer) => *tenant.issuer == **issuer,
            TenantKey::Id(id) => *tenant.id == **id,
        }
    }
}

impl fmt::Display for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TenantKey::Issuer(issuer) => write!(f, "issuer {issuer:?}"),
            TenantKey::Id(id) => write!(f, "tenant {id:?}"),
        }
    }
}

/// Loads tenants the registry does not hold, from the application's own store (customers who
/// installed the app), by issuer or by id.
///
/// Return `Ok(None)` for an unknown key. Answers are remembered: a tenant returned is
/// registered (the loaded ones are bounded by
/// [`max_loaded_tenants`](crate::OktaOidcBuilder::max_loaded_tenants), least recently loaded
/// evicted first, and loaded again when needed); an unknown key is not asked again for
/// [`negative_cache_ttl`](crate::OktaOidcBuilder::negative_cache_ttl). An error answers `503`
/// and is not remembered.
///
/// Any `Fn(TenantKey) -> impl Future<Output = Result<Option<Tenant>, BoxError>>` is a loader:
///
/// ```
/// use okta_oidc::{BoxError, OktaOidc, Tenant, TenantKey};
///
/// let oidc = OktaOidc::builder()
///     .loader(|key: TenantKey| async move {
///         // look the issuer or the id up in your database here
///         let acme = key.issuer() == Some("https://acme.okta.com") || key.id() == Some("acme");
///         Ok::<_, BoxError>(acme.then(|| {
///             Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret")
///         }))
///     })
///     .build_lazy()
///     .unwrap();
/// # let _ = oidc;
/// ```
pub trait TenantLoader: Send + Sync + 'static {
    /// Looks up the tenant of `key`.
    fn load(&self, key: TenantKey) -> LoadFuture<'_>;

    /// A synchronous pre-filter, asked before [`load`](Self::load) and before any budget is
    /// spent: `false` when `key` cannot be a tenant of yours (an issuer outside the domains
    /// your customers use, an id of the wrong shape, one missing from an in-memory set or
    /// filter of your tenants). A stranger's random issuers then never reach the loader
    /// budget, and never delay a real customer's first request. Default: `true` (ask
    /// [`load`](Self::load)).
    ///
    /// It must be fast and must not block: it runs on the request path.
    fn may_exist(&self, key: &TenantKey) -> bool {
        let _ = key;
        true
    }
}

/// A [`TenantLoader`] with a synchronous pre-filter: [`TenantLoader::may_exist`] answers
/// `filter(key)`, [`TenantLoader::load`] asks `loader`.
///
/// ```
/// use okta_oidc::{BoxError, FilteredLoader, OktaOidc, Tenant, TenantKey};
///
/// let loader = FilteredLoader::new(
///     |key: TenantKey| async move {
///         // the database look-up
///         Ok::<_, BoxError>((key.issuer() == Some("https://acme.okta.com"))
///             .then(|| Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme")))
///     },
///     // only Okta orgs: anything else never reaches the loader or its budget
///     |key: &TenantKey| match key {
///         TenantKey::Issuer(issuer) => issuer.starts_with("https://") && issuer.ends_with(".okta.com"),
///         TenantKey::Id(id) => id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
///         _ => false,
///     },
/// );
/// let oidc = OktaOidc::builder().loader(loader).build_lazy().unwrap();
/// # let _ = oidc;
/// ```
pub struct FilteredLoader<L, F> {
    loader: L,
    filter: F,
}

impl<L, F> FilteredLoader<L, F>
where
    L: TenantLoader,
    F: Fn(&TenantKey) -> bool + Send + Sync + 'static,
{
    /// `loader`, asked only for the keys `filter` lets through.
    pub fn new(loader: L, filter: F) -> Self {
        FilteredLoader { loader, filter }
    }
}

impl<L, F> fmt::Debug for FilteredLoader<L, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilteredLoader").finish_non_exhaustive()
    }
}

impl<L, F> TenantLoader for FilteredLoader<L, F>
where
    L: TenantLoader,
    F: Fn(&TenantKey) -> bool + Send + Sync + 'static,
{
    fn load(&self, key: TenantKey) -> LoadFuture<'_> {
        self.loader.load(key)
    }

    fn may_exist(&self, key: &TenantKey) -> bool {
        (self.filter)(key)
    }
}

impl<F, Fut> TenantLoader for F
where
    F: Fn(TenantKey) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Tenant>, BoxError>> + Send + 'static,
{
    fn load(&self, key: TenantKey) -> LoadFuture<'_> {
        Box::pin(self(key))
    }
}
