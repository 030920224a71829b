//! Tenants: one per customer Okta org or app instance. Their configuration, the hot-swapped
//! registry, the application's loader, and the one place where a tenant is chosen for a
//! credential or a request.

pub(crate) mod config;
pub(crate) mod directory;
pub(crate) mod loaded;
pub(crate) mod loader;
pub(crate) mod registry;
pub(crate) mod resolver;

pub use self::config::Tenant;
pub use self::loader::{BoxError, FilteredLoader, LoadFuture, TenantKey, TenantLoader};
pub use self::resolver::TenantResolver;
pub use crate::provider::client_auth::ClientSecret;
