//! [`OktaOidc`]: the handle to tenants, their keys and the verification pipeline; validation
//! outside of HTTP and tenant administration.

use std::fmt;
use std::sync::Arc;

use crate::claims::Claims;
use crate::error::{AuthError, ConfigError, LoadError, TokenError, WarmUpError};
use crate::protected_resource::ProtectedResource;
use crate::provider::context::ProviderContext;
use crate::provider::discovery::ProviderMetadata;
use crate::rejection_log::RejectionLog;
use crate::tenant::config::Tenant;
use crate::tenant::directory::TenantDirectory;
use crate::verify::Verifier;

pub(crate) struct Inner {
    pub(crate) verifier: Verifier,
    /// This API as an RFC 9728 protected resource, when configured.
    pub(crate) resource: Option<ProtectedResource>,
    /// Why requests were refused, rate-limited (`rejection_log.rs`).
    pub(crate) rejections: RejectionLog,
}

/// The handle to everything the crate knows: tenants, their provider metadata and key sets,
/// and the validation rules. Cheap to clone; clones share state.
///
/// ```no_run
/// use okta_oidc::{OktaOidc, Tenant};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
///     .build()
///     .await?; // keys loaded; an org it cannot reach answers 503 until they load
/// let claims = oidc.validate("eyJ...").await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OktaOidc {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for OktaOidc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaOidc")
            .field("tenants", &self.directory().registry.len())
            .field("validation", &self.verifier().options)
            .finish_non_exhaustive()
    }
}

impl OktaOidc {
    /// The verification pipeline.
    pub(crate) fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The tenant directory.
    pub(crate) fn directory(&self) -> &TenantDirectory {
        &self.inner.verifier.tenants
    }

    /// What provider calls share: the HTTP client, the clock, the key policy.
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn provider(&self) -> &ProviderContext {
        &self.inner.verifier.provider
    }

    /// Loads discovery and keys of every registered tenant (concurrently) and starts their
    /// background refresh. Await it before serving to start with warm caches.
    pub async fn warm_up(&self) -> Result<(), WarmUpError> {
        let caches = self.directory().registry.key_caches();
        let results = futures_util::future::join_all(
            caches
                .iter()
                .map(|c| async move { (c, c.refresh_now().await) }),
        )
        .await;
        let mut failures = Vec::new();
        for (cache, result) in results {
            if let Err(e) = result {
                let ids = self
                    .directory()
                    .registry
                    .by_issuer(&cache.issuer)
                    .map(|e| {
                        e.tenants
                            .iter()
                            .map(|t| t.id.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                failures.push((ids, e));
            } else if cache.keys().is_none() {
                failures.push((cache.issuer.to_string(), LoadError::NoUsableKeys));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(WarmUpError { failures })
        }
    }

    /// Validates a bearer JWT outside of HTTP (a WebSocket message, a queue job).
    pub async fn validate(&self, token: &str) -> Result<Claims, AuthError> {
        let identity = self.inner.verifier.jwt(token).await?;
        Ok(Claims::from_identity(identity).map_err(|_| TokenError::ClaimsShape)?)
    }

    /// Adds a tenant, or replaces the one with the same id, without a restart. Its keys load
    /// on first use (or call [`refresh_keys`](Self::refresh_keys)).
    pub fn add_tenant(&self, tenant: Tenant) -> Result<(), ConfigError> {
        self.add_tenants([tenant])
    }

    /// Adds or replaces several tenants in one swap.
    pub fn add_tenants(
        &self,
        tenants: impl IntoIterator<Item = Tenant>,
    ) -> Result<(), ConfigError> {
        self.directory().upsert(tenants.into_iter().collect())
    }

    /// Removes a tenant; returns whether it was registered. Its tokens stop validating at once.
    pub fn remove_tenant(&self, id: &str) -> bool {
        self.directory().remove(id).is_some()
    }

    /// A registered tenant by id.
    pub fn tenant(&self, id: &str) -> Option<Tenant> {
        self.directory().registry.by_id(id).map(|t| (*t).clone())
    }

    /// Every registered tenant.
    pub fn tenants(&self) -> Vec<Tenant> {
        self.directory()
            .registry
            .all()
            .iter()
            .map(|t| (**t).clone())
            .collect()
    }

    /// Fetches a tenant's discovery document (if not loaded) and key set now, whatever the
    /// schedule.
    pub async fn refresh_keys(&self, tenant_id: &str) -> Result<(), LoadError> {
        let tenant = self
            .directory()
            .registry
            .by_id(tenant_id)
            .ok_or_else(|| LoadError::Document(format!("no tenant {tenant_id:?}")))?;
        let entry = self
            .directory()
            .registry
            .by_issuer(&tenant.issuer)
            .ok_or_else(|| LoadError::Document(format!("no tenant {tenant_id:?}")))?;
        entry.keys.refresh_now().await
    }

    /// A tenant's provider metadata, once discovery succeeded.
    pub fn provider_metadata(&self, tenant_id: &str) -> Option<ProviderMetadata> {
        let tenant = self.directory().registry.by_id(tenant_id)?;
        let entry = self.directory().registry.by_issuer(&tenant.issuer)?;
        entry.keys.metadata().map(|m| (*m).clone())
    }

    /// The `kid`s of a tenant's current key set.
    pub fn key_ids(&self, tenant_id: &str) -> Vec<String> {
        let Some(tenant) = self.directory().registry.by_id(tenant_id) else {
            return Vec::new();
        };
        let Some(entry) = self.directory().registry.by_issuer(&tenant.issuer) else {
            return Vec::new();
        };
        entry
            .keys
            .keys()
            .map(|set| set.keys.iter().filter_map(|k| k.kid.clone()).collect())
            .unwrap_or_default()
    }

    /// The last error of a tenant's key refresh, if the last attempt failed.
    pub fn last_key_error(&self, tenant_id: &str) -> Option<LoadError> {
        let tenant = self.directory().registry.by_id(tenant_id)?;
        let entry = self.directory().registry.by_issuer(&tenant.issuer)?;
        entry.keys.state().last_error.clone()
    }
}
