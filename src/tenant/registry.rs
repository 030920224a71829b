//! Every registered tenant, grouped by issuer with the issuer's key cache, swapped whole on
//! each change so that readers never lock.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use super::config::Tenant;
use crate::algorithm::Algorithm;
use crate::error::{AuthError, ConfigError, TokenError};
use crate::provider::context::ProviderContext;
use crate::provider::jwk::VerifyKey;
use crate::provider::key_cache::KeyCache;
use crate::provider::key_lookup::Refetch;

/// The tenants of one issuer and their shared key cache.
#[derive(Debug)]
pub(crate) struct IssuerEntry {
    pub(crate) tenants: Vec<Arc<Tenant>>,
    pub(crate) keys: Arc<KeyCache>,
    /// The pinned keys of the tenants' apps that have them (`Tenant::pinned_app_keys`), by
    /// client id.
    pub(crate) app_keys: Vec<(Arc<str>, Arc<KeyCache>)>,
}

impl IssuerEntry {
    /// The key of a token of `tenant`: in its app's pinned keys first when it has them, then
    /// in the org's key set. When the org's set lacks the `kid` and the app's could not be
    /// refetched (failed, or held back by the cooldown), the app's answer stands: retry, the
    /// key may be a new one of the app's.
    pub(crate) async fn key_for(
        &self,
        tenant: &Tenant,
        kid: Option<&str>,
        alg: Algorithm,
        refetch: Refetch,
    ) -> Result<Arc<VerifyKey>, AuthError> {
        let mut app_retry = None;
        if let Some(app) = self.app_cache(tenant) {
            match app.key_for(kid, alg, refetch).await {
                Err(AuthError::InvalidToken(TokenError::UnknownKey)) => {}
                Err(
                    e @ (AuthError::KeysUnavailable { .. }
                    | AuthError::TemporarilyUnavailable { .. }),
                ) => app_retry = Some(e),
                found => return found,
            }
        }
        match (self.keys.key_for(kid, alg, refetch).await, app_retry) {
            (Err(AuthError::InvalidToken(TokenError::UnknownKey)), Some(retry)) => Err(retry),
            (org, _) => org,
        }
    }

    /// The key of a token of `tenant` in a current key set, when it is there (the usual case,
    /// answered in place): its app's pinned keys first when it has them, then the org's.
    pub(crate) fn current_key(
        &self,
        tenant: &Tenant,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Arc<VerifyKey>> {
        self.app_cache(tenant)
            .and_then(|app| app.current_key(kid, alg))
            .or_else(|| self.keys.current_key(kid, alg))
    }

    /// The pinned key cache of `tenant`'s app, when it has one.
    fn app_cache(&self, tenant: &Tenant) -> Option<&Arc<KeyCache>> {
        let client_id = tenant
            .client_id
            .as_deref()
            .filter(|_| tenant.pinned_app_keys)?;
        self.app_keys
            .iter()
            .find(|(c, _)| **c == *client_id)
            .map(|(_, cache)| cache)
    }

    /// Whether the key of this `VerifyKey::id` is in the org's or an app's current key set.
    pub(crate) fn has_key(&self, id: u64) -> bool {
        std::iter::once(&self.keys)
            .chain(self.app_keys.iter().map(|(_, cache)| cache))
            .any(|cache| {
                cache
                    .state()
                    .keys
                    .as_ref()
                    .is_some_and(|set| set.contains_id(id))
            })
    }
}

/// Issuer → entry, looked up on every token (and every cached hit) with the token's unverified
/// `iss`: quick_cache's fast keyed hasher (foldhash, random seed) instead of SipHash. Only
/// registered issuers are keys, so lookups of made-up issuers cannot crowd a bucket.
type ByIssuer = HashMap<Arc<str>, Arc<IssuerEntry>, quick_cache::DefaultHashBuilder>;

#[derive(Debug, Default)]
struct Snapshot {
    by_issuer: ByIssuer,
    by_id: HashMap<Arc<str>, Arc<Tenant>>,
}

/// All tenants, swapped whole on every change so readers never lock.
pub(crate) struct Registry {
    snapshot: ArcSwap<Snapshot>,
    write: Mutex<()>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("tenants", &self.snapshot.load().by_id.len())
            .finish()
    }
}

impl Registry {
    pub(crate) fn new() -> Self {
        Registry {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            write: Mutex::new(()),
        }
    }

    /// The tenants of an issuer (O(1), lock-free).
    pub(crate) fn by_issuer(&self, issuer: &str) -> Option<Arc<IssuerEntry>> {
        self.snapshot.load().by_issuer.get(issuer).cloned()
    }

    /// Runs `f` on the entry of an issuer without cloning any `Arc` (the hot path of the
    /// verified-token cache: nothing shared is written, so threads do not contend).
    pub(crate) fn with_issuer<R>(
        &self,
        issuer: &str,
        f: impl FnOnce(&IssuerEntry) -> R,
    ) -> Option<R> {
        let snapshot = self.snapshot.load();
        snapshot.by_issuer.get(issuer).map(|entry| f(entry))
    }

    /// A tenant by its id.
    pub(crate) fn by_id(&self, id: &str) -> Option<Arc<Tenant>> {
        self.snapshot.load().by_id.get(id).cloned()
    }

    /// Every tenant.
    pub(crate) fn all(&self) -> Vec<Arc<Tenant>> {
        self.snapshot.load().by_id.values().cloned().collect()
    }

    /// How many tenants are registered.
    pub(crate) fn len(&self) -> usize {
        self.snapshot.load().by_id.len()
    }

    /// Every issuer's key cache.
    pub(crate) fn key_caches(&self) -> Vec<Arc<KeyCache>> {
        self.snapshot
            .load()
            .by_issuer
            .values()
            .flat_map(|e| std::iter::once(&e.keys).chain(e.app_keys.iter().map(|(_, c)| c)))
            .map(Arc::clone)
            .collect()
    }

    /// Adds tenants or replaces those with the same id. Key caches of issuers that stay are
    /// kept (no refetch).
    pub(crate) fn upsert(
        &self,
        tenants: Vec<Tenant>,
        ctx: &Arc<ProviderContext>,
    ) -> Result<(), ConfigError> {
        for t in &tenants {
            t.check(ctx.urls)?;
        }
        let _guard = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot.load_full();
        let mut by_id = current.by_id.clone();
        let mut touched: Vec<Arc<str>> = Vec::new();
        for tenant in tenants {
            if let Some(old) = by_id.get(&tenant.id) {
                touched.push(Arc::clone(&old.issuer));
            }
            touched.push(Arc::clone(&tenant.issuer));
            by_id.insert(Arc::clone(&tenant.id), Arc::new(tenant));
        }
        let mut by_issuer = current.by_issuer.clone();
        touched.sort();
        touched.dedup();
        rebuild_issuers(&mut by_issuer, &by_id, &touched, ctx)?;
        self.snapshot.store(Arc::new(Snapshot { by_issuer, by_id }));
        Ok(())
    }

    /// Removes a tenant; its issuer's key cache goes when no tenant uses it.
    pub(crate) fn remove(&self, id: &str, ctx: &Arc<ProviderContext>) -> Option<Arc<Tenant>> {
        let _guard = self.write.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot.load_full();
        let mut by_id = current.by_id.clone();
        let removed = by_id.remove(id)?;
        let mut by_issuer = current.by_issuer.clone();
        // Cannot fail: the remaining tenants of this issuer were valid already.
        let _ = rebuild_issuers(&mut by_issuer, &by_id, &[Arc::clone(&removed.issuer)], ctx);
        self.snapshot.store(Arc::new(Snapshot { by_issuer, by_id }));
        Some(removed)
    }
}

fn rebuild_issuers(
    by_issuer: &mut ByIssuer,
    by_id: &HashMap<Arc<str>, Arc<Tenant>>,
    issuers: &[Arc<str>],
    ctx: &Arc<ProviderContext>,
) -> Result<(), ConfigError> {
    let mut grouped: HashMap<&str, Vec<Arc<Tenant>>> =
        issuers.iter().map(|i| (&**i, Vec::new())).collect();
    for tenant in by_id.values() {
        if let Some(list) = grouped.get_mut(&*tenant.issuer) {
            list.push(Arc::clone(tenant));
        }
    }
    for issuer in issuers {
        let mut tenants = grouped.remove(&**issuer).unwrap_or_default();
        tenants.sort_by(|a, b| a.client_id.cmp(&b.client_id).then(a.id.cmp(&b.id)));
        for pair in tenants.windows(2) {
            if pair[0].client_id.is_some() && pair[0].client_id == pair[1].client_id {
                return Err(ConfigError::DuplicateTenant(format!(
                    "{} and {} share issuer and client id",
                    pair[0].id, pair[1].id
                )));
            }
        }
        if tenants.is_empty() {
            by_issuer.remove(issuer);
            continue;
        }
        let previous = by_issuer.get(issuer);
        let keys = previous
            .map(|e| Arc::clone(&e.keys))
            .unwrap_or_else(|| KeyCache::new(Arc::clone(issuer), Arc::clone(ctx)));
        let app_keys = tenants
            .iter()
            .filter(|t| t.pinned_app_keys)
            .filter_map(|t| t.client_id.clone())
            .map(|client_id| {
                let kept = previous
                    .and_then(|e| e.app_keys.iter().find(|(c, _)| *c == client_id))
                    .map(|(_, cache)| Arc::clone(cache));
                let cache = kept.unwrap_or_else(|| {
                    KeyCache::for_client(
                        Arc::clone(issuer),
                        Arc::clone(&client_id),
                        Arc::clone(ctx),
                    )
                });
                (client_id, cache)
            })
            .collect();
        let entry = IssuerEntry {
            tenants,
            keys,
            app_keys,
        };
        by_issuer.insert(Arc::clone(issuer), Arc::new(entry));
    }
    Ok(())
}
