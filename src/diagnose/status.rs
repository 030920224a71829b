//! What an operator sees of each tenant at a glance (the example's admin page): its key set's
//! age and last refresh, its introspection budget, and the revocation store's mirror.

use std::time::Duration;

use crate::error::LoadError;
use crate::handle::OktaOidc;
use crate::time::UnixTime;

/// The state of one registered tenant, read without any call ([`OktaOidc::tenant_status`]).
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct TenantStatus {
    /// The tenant's id.
    pub id: String,
    /// Its issuer.
    pub issuer: String,
    /// Its issuer's key set.
    pub keys: KeySetStatus,
    /// Introspection calls the tenant's Okta org could make now, within its budget (shared by
    /// the org's tenants:
    /// [`OktaOidcBuilder::introspection_budget`](crate::OktaOidcBuilder::introspection_budget)).
    pub introspection_calls_left: u32,
}

/// The key set of a tenant's issuer, as the cache holds it.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct KeySetStatus {
    /// Keys held (0 before the first successful load).
    pub key_count: usize,
    /// Time since the key set was last fetched or confirmed unchanged; `None` before.
    pub age: Option<Duration>,
    /// The error of the last refresh when it failed (the last good set is kept).
    pub last_error: Option<LoadError>,
    /// Refreshes that failed in a row.
    pub consecutive_failures: u32,
}

/// The revocation store as this instance sees it: its local mirror.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct RevocationStatus {
    /// Whether accepted identities are checked against it.
    pub enforced: bool,
    /// Revocations held in the mirror (some may have expired since).
    pub mirrored: usize,
    /// Time since the mirror was last complete (zero for a store in this process).
    pub staleness: Duration,
}

impl OktaOidc {
    /// The state of a registered tenant (no call is made); `None` when no tenant has this id.
    ///
    /// ```
    /// # use okta_oidc::{OktaOidc, Tenant};
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1"))
    ///     .build_lazy()
    ///     .unwrap();
    /// let status = oidc.tenant_status("acme").unwrap();
    /// assert_eq!(status.keys.key_count, 0); // not loaded yet
    /// assert!(status.keys.age.is_none());
    /// ```
    pub fn tenant_status(&self, tenant_id: &str) -> Option<TenantStatus> {
        let registry = &self.directory().registry;
        let tenant = registry.by_id(tenant_id)?;
        let entry = registry.by_issuer(&tenant.issuer)?;
        let state = entry.keys.state();
        let now = UnixTime::now(self.provider().clock.as_ref());
        let loaded = state.keys.as_ref();
        Some(TenantStatus {
            id: tenant.id.to_string(),
            issuer: tenant.issuer.to_string(),
            keys: KeySetStatus {
                key_count: loaded.map_or(0, |set| set.keys.len()),
                age: loaded.map(|_| now.since(state.keys_checked_at)),
                last_error: state.last_error.clone(),
                consecutive_failures: state.consecutive_failures,
            },
            introspection_calls_left: (self.verifier().introspector)
                .budget_left(&tenant.issuer, now),
        })
    }

    /// The revocation store's mirror in this instance.
    pub fn revocation_status(&self) -> RevocationStatus {
        let revocations = &self.verifier().revocations;
        let mirror = revocations.store.mirror();
        RevocationStatus {
            enforced: revocations.enforce,
            mirrored: mirror.len(),
            staleness: mirror.staleness(self.provider().clock.now()),
        }
    }
}
