//! The tenant directory: the registry, the application's loader with its negative cache, and
//! the choice of a tenant for a credential (by issuer, audience and client) or for a request
//! that names no issuer. Tenant choice happens here and nowhere else.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::request::Parts;

use super::config::Tenant;
use super::loaded::LoadedTenants;
use super::loader::{TenantKey, TenantLoader};
use super::registry::{IssuerEntry, Registry};
use super::resolver::TenantResolver;
use sha2::{Digest, Sha256};

use crate::call_budget::{Budget, CallBudget};
use crate::claims::StandardClaims;
use crate::error::{AuthError, ConfigError, TokenError};
use crate::expiring_map::ExpiringMap;
use crate::provider::context::ProviderContext;
use crate::single_flight::SingleFlight;
use crate::time::UnixTime;

/// A loader key by its SHA-256: what the negative cache and the calls in flight hold, so that
/// a flood of long random issuers costs 32 bytes an entry.
type KeyDigest = [u8; 32];

/// The loader's answer, shared by every request that waited for it (the error as text).
type LoadAnswer = Result<Option<Tenant>, Arc<str>>;

fn key_digest(key: &TenantKey) -> KeyDigest {
    let (kind, text) = match key {
        TenantKey::Issuer(issuer) => (b'i', issuer),
        TenantKey::Id(id) => (b'd', id),
    };
    Sha256::new()
        .chain_update([kind])
        .chain_update(text.as_bytes())
        .finalize()
        .into()
}

/// The default budget of loader calls for keys that come from requests (a token's issuer,
/// `?tenant=`, the resolver's pick): 60 a minute, 20 in a row, 4 at once, for all keys together.
pub(crate) const DEFAULT_LOADER_BUDGET: CallBudget = CallBudget::new(60, 20, 4);

/// Most loader keys remembered as vouched for (32 bytes each, about 8 MB at most): twice
/// the default `max_loaded_tenants` by issuer and by id.
const VOUCHED_KEYS: usize = 40_000;

/// Every tenant this handle knows, and how to find more.
pub(crate) struct TenantDirectory {
    pub(crate) registry: Registry,
    provider: Arc<ProviderContext>,
    loader: Option<Arc<dyn TenantLoader>>,
    /// Keys the loader did not know, until the negative TTL passes.
    unknown: ExpiringMap<KeyDigest, ()>,
    /// Loader calls in flight, one per key.
    loads: SingleFlight<KeyDigest, LoadAnswer>,
    /// Loader calls for keys that come from requests and that the loader never vouched for
    /// (strangers' random issuers spend this one).
    loader_budget: Budget,
    /// Keys the loader once answered with a tenant (bounded apart from `max_loaded`): loaded
    /// again, after an eviction or a restart of the entry, from their own budget, so that no
    /// flood of strangers' keys delays them.
    vouched: quick_cache::sync::Cache<KeyDigest, ()>,
    vouched_budget: Budget,
    negative_ttl: Duration,
    /// Ids of the tenants the loader returned, oldest first; the oldest is evicted past
    /// `max_loaded`. Tenants the application registered are never evicted.
    loaded: Mutex<LoadedTenants>,
    max_loaded: usize,
    /// Picks the tenant of a request that names no issuer.
    resolver: Option<Arc<dyn TenantResolver>>,
    /// Whether identities of another tenant than the resolver's pick are accepted.
    accept_other_tenants: bool,
}

impl fmt::Debug for TenantDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantDirectory")
            .field("registry", &self.registry)
            .field("loader", &self.loader.is_some())
            .field("max_loaded", &self.max_loaded)
            .finish_non_exhaustive()
    }
}

/// How tenants are found beyond those registered: the loader and its bounds, the resolver.
pub(crate) struct DirectoryConfig {
    pub(crate) loader: Option<Arc<dyn TenantLoader>>,
    pub(crate) negative_ttl: Duration,
    pub(crate) max_loaded: usize,
    pub(crate) resolver: Option<Arc<dyn TenantResolver>>,
    pub(crate) accept_other_tenants: bool,
    pub(crate) loader_budget: CallBudget,
}

impl TenantDirectory {
    pub(crate) fn new(provider: Arc<ProviderContext>, config: DirectoryConfig) -> Self {
        let now = UnixTime::now(provider.clock.as_ref());
        TenantDirectory {
            registry: Registry::new(),
            provider,
            loader: config.loader,
            unknown: ExpiringMap::new(10_000),
            loads: SingleFlight::default(),
            loader_budget: Budget::new(
                config.loader_budget,
                "tenant loader",
                Arc::from("keys never loaded"),
                now,
            ),
            vouched: quick_cache::sync::Cache::new(VOUCHED_KEYS),
            vouched_budget: Budget::new(
                config.loader_budget,
                "tenant loader",
                Arc::from("tenants loaded before"),
                now,
            ),
            negative_ttl: config.negative_ttl,
            loaded: Mutex::new(LoadedTenants::default()),
            max_loaded: config.max_loaded.max(1),
            resolver: config.resolver,
            accept_other_tenants: config.accept_other_tenants,
        }
    }

    /// Adds or replaces tenants in one swap (the application's own: never evicted).
    pub(crate) fn upsert(&self, tenants: Vec<Tenant>) -> Result<(), ConfigError> {
        {
            let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            for tenant in &tenants {
                loaded.remove(&tenant.id);
            }
        }
        self.forget_unknown(&tenants);
        self.registry.upsert(tenants, &self.provider)?;
        self.tenants_changed();
        Ok(())
    }

    /// Tells the metrics which tenants are registered (the only `tenant` label values) and
    /// how many are loaded.
    fn tenants_changed(&self) {
        let loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        let all = self.registry.all();
        let registered = all.iter().map(|t| &t.id).filter(|id| !loaded.contains(id));
        self.provider
            .metrics
            .tenants_changed(registered, loaded.len());
    }

    fn forget_unknown(&self, tenants: &[Tenant]) {
        for t in tenants {
            self.unknown
                .remove(&key_digest(&TenantKey::Issuer(t.issuer.to_string())));
            self.unknown
                .remove(&key_digest(&TenantKey::Id(t.id.to_string())));
        }
    }

    /// Removes a tenant (and forgets that the loader vouched for it).
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Tenant>> {
        self.loaded
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        let removed = self.registry.remove(id, &self.provider);
        self.vouched
            .remove(&key_digest(&TenantKey::Id(id.to_owned())));
        if let Some(tenant) = &removed {
            self.vouched
                .remove(&key_digest(&TenantKey::Issuer(tenant.issuer.to_string())));
        }
        self.tenants_changed();
        removed
    }

    /// The registry entry of an issuer, asking the loader when it is not registered.
    pub(crate) async fn entry_for_issuer(
        &self,
        issuer: &str,
    ) -> Result<Arc<IssuerEntry>, AuthError> {
        if let Some(entry) = self.registry.by_issuer(issuer) {
            return Ok(entry);
        }
        if issuer.is_empty() || issuer.len() > 1024 {
            return Err(TokenError::UnknownIssuer.into());
        }
        self.load(TenantKey::Issuer(issuer.to_owned()), true)
            .await?;
        self.registry
            .by_issuer(issuer)
            .ok_or_else(|| TokenError::UnknownIssuer.into())
    }

    /// A tenant by id, asking the loader when it is not registered (`None`: nobody knows it).
    /// For ids the crate sealed itself (a session, a login in progress): no budget applies.
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) async fn tenant_by_id(&self, id: &str) -> Result<Option<Arc<Tenant>>, AuthError> {
        self.tenant_by_id_from(id, false).await
    }

    /// A tenant by an id a request names (`?tenant=`, the resolver's pick): as
    /// [`tenant_by_id`](Self::tenant_by_id), but the loader calls count against its budget.
    pub(crate) async fn tenant_named_by_request(
        &self,
        id: &str,
    ) -> Result<Option<Arc<Tenant>>, AuthError> {
        self.tenant_by_id_from(id, true).await
    }

    async fn tenant_by_id_from(
        &self,
        id: &str,
        budgeted: bool,
    ) -> Result<Option<Arc<Tenant>>, AuthError> {
        if let Some(tenant) = self.registry.by_id(id) {
            return Ok(Some(tenant));
        }
        if id.is_empty() || id.len() > 256 {
            return Ok(None);
        }
        match self.load(TenantKey::Id(id.to_owned()), budgeted).await {
            Ok(()) => Ok(self.registry.by_id(id)),
            Err(AuthError::InvalidToken(TokenError::UnknownIssuer)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the registry answers `key` now.
    fn registered(&self, key: &TenantKey) -> bool {
        match key {
            TenantKey::Issuer(issuer) => self.registry.by_issuer(issuer).is_some(),
            TenantKey::Id(id) => self.registry.by_id(id).is_some(),
        }
    }

    /// Asks the loader for `key` (one call in flight per key, shared) and registers what it
    /// returns. `UnknownIssuer` when nobody knows the key (remembered for the negative TTL),
    /// `TemporarilyUnavailable` when the loader failed or, for a `budgeted` key (one a request
    /// names), when the loader budget is spent.
    async fn load(&self, key: TenantKey, budgeted: bool) -> Result<(), AuthError> {
        let Some(loader) = &self.loader else {
            return Err(TokenError::UnknownIssuer.into());
        };
        let now = UnixTime::now(self.provider.clock.as_ref());
        if !loader.may_exist(&key) {
            return Err(TokenError::UnknownIssuer.into());
        }
        let digest = key_digest(&key);
        if self.unknown.contains(&digest, now) {
            return Err(TokenError::UnknownIssuer.into());
        }
        let start = || {
            let permit = match budgeted {
                true if self.vouched.get(&digest).is_some() => {
                    Some(self.vouched_budget.try_acquire(now)?)
                }
                true => Some(self.loader_budget.try_acquire(now)?),
                false => None,
            };
            let loader = Arc::clone(loader);
            let key = key.clone();
            Ok(async move {
                let answer = loader.load(key).await.map_err(|e| Arc::from(e.to_string()));
                drop(permit);
                answer
            })
        };
        let panicked = || Err(Arc::from("the loader panicked"));
        let answer = match self.loads.join_or_start(digest, start, panicked) {
            Ok(flight) => flight.await,
            Err(retry) => {
                return Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(retry),
                });
            }
        };
        if self.registered(&key) {
            // Another request that shared the call registered the answer.
            return Ok(());
        }
        let remember_unknown = || {
            self.unknown
                .insert(digest, (), now.after(self.negative_ttl));
        };
        match answer {
            Ok(Some(tenant)) if key.matches(&tenant) => {
                let id = Arc::clone(&tenant.id);
                if let Err(e) = self.register_loaded(tenant) {
                    tracing::warn!(%key, error = %e, "loaded tenant is invalid");
                    remember_unknown();
                    return Err(TokenError::UnknownIssuer.into());
                }
                tracing::info!(%key, tenant = &*id, "tenant loaded");
                Ok(())
            }
            Ok(Some(tenant)) => {
                tracing::warn!(%key, tenant = tenant.id(), "loader answered another tenant; ignored");
                remember_unknown();
                Err(TokenError::UnknownIssuer.into())
            }
            Ok(None) => {
                remember_unknown();
                Err(TokenError::UnknownIssuer.into())
            }
            Err(e) => {
                tracing::warn!(%key, error = %e, "tenant loader failed");
                Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(Duration::from_secs(5)),
                })
            }
        }
    }

    /// Registers a loaded tenant, evicting the least recently loaded ones past the bound.
    fn register_loaded(&self, tenant: Tenant) -> Result<(), ConfigError> {
        let id = Arc::clone(&tenant.id);
        self.forget_unknown(std::slice::from_ref(&tenant));
        let issuer = tenant.issuer.to_string();
        self.registry.upsert(vec![tenant], &self.provider)?;
        self.vouched
            .insert(key_digest(&TenantKey::Issuer(issuer)), ());
        self.vouched
            .insert(key_digest(&TenantKey::Id(id.to_string())), ());
        let evicted: Vec<Arc<str>> = {
            let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
            loaded.push(id, self.max_loaded)
        };
        for old in evicted {
            tracing::debug!(tenant = &*old, "loaded tenant evicted (max_loaded_tenants)");
            self.registry.remove(&old, &self.provider);
        }
        self.tenants_changed();
        Ok(())
    }

    /// The tenant the application's resolver picks for a request, if any (loaded if needed).
    pub(crate) async fn resolve(&self, request: &Parts) -> Result<Option<Arc<Tenant>>, AuthError> {
        let Some(id) = self.resolver.as_ref().and_then(|r| r.resolve(request)) else {
            return Ok(None);
        };
        self.tenant_named_by_request(&id).await
    }

    /// The registered tenant of a request, without asking the loader: the resolver's pick, else
    /// the only tenant when there is no resolver.
    pub(crate) fn resolve_registered(&self, request: &Parts) -> Option<Arc<Tenant>> {
        match &self.resolver {
            Some(resolver) => self.registry.by_id(&resolver.resolve(request)?),
            None if self.registry.len() == 1 => self.registry.all().pop(),
            None => None,
        }
    }

    /// Whether identities must belong to the tenant the request names: a resolver is set, and
    /// the application did not opt out.
    pub(crate) fn pins_requests(&self) -> bool {
        self.resolver.is_some() && !self.accept_other_tenants
    }

    /// Refuses an identity of `tenant_id` on a request whose tenant the resolver names and
    /// which is another one (a request that names none takes any tenant's identity).
    pub(crate) fn check_request_tenant(
        &self,
        request: &Parts,
        tenant_id: &str,
    ) -> Result<(), TokenError> {
        if !self.pins_requests() {
            return Ok(());
        }
        match self.resolver.as_ref().and_then(|r| r.resolve(request)) {
            Some(named) if *named != *tenant_id => {
                tracing::debug!(
                    tenant = tenant_id,
                    request_tenant = %named,
                    "credential of another tenant than the request's refused"
                );
                Err(TokenError::OtherTenant)
            }
            _ => Ok(()),
        }
    }

    /// Whether the application's resolver names a tenant for this request (registered or not).
    pub(crate) fn names_a_tenant(&self, request: &Parts) -> bool {
        (self.resolver.as_ref()).is_some_and(|r| r.resolve(request).is_some())
    }

    /// Whether the application resolves tenants from requests.
    pub(crate) fn has_resolver(&self) -> bool {
        self.resolver.is_some()
    }

    /// The tenant of this issuer that a JWT belongs to, from its unverified claims (the
    /// signature and every rule are checked after, against this tenant):
    ///
    /// 1. Okta's `cid` names the client of an access token: the tenant with that client id;
    /// 2. else `azp`, or a client id in `aud`, names the client of an ID token: the tenant with
    ///    that client id (several client ids in `aud` and no `azp` are ambiguous);
    /// 3. else a token of a client that is no tenant (another app of the org calling this API):
    ///    the one tenant whose API audiences it names and that does not require its own `cid`.
    ///
    /// A token of client B is never credited to tenant A when B is a tenant too.
    pub(crate) fn route_jwt<'e>(
        entry: &'e IssuerEntry,
        claims: &StandardClaims,
    ) -> Result<&'e Arc<Tenant>, TokenError> {
        let tenants = &entry.tenants;
        let with_client = |id: &str| tenants.iter().find(|t| t.client_id.as_deref() == Some(id));
        if let Some(cid) = claims.cid.as_deref()
            && let Some(tenant) = with_client(cid)
        {
            return Ok(tenant);
        }
        if let Some(azp) = claims.azp.as_deref()
            && let Some(tenant) = with_client(azp)
        {
            return Ok(tenant);
        }
        if claims.cid.is_none() {
            let mut by_client = tenants.iter().filter(|t| {
                t.accept_id_tokens
                    && t.client_id
                        .as_deref()
                        .is_some_and(|c| claims.aud.contains(c))
            });
            match (by_client.next(), by_client.next()) {
                (Some(tenant), None) => return Ok(tenant),
                (Some(_), Some(_)) => return Err(TokenError::AuthorizedPartyMismatch),
                (None, _) => {}
            }
        }
        let api = |t: &&Arc<Tenant>| t.audiences.iter().any(|a| claims.aud.contains(a));
        let mut by_audience = tenants.iter().filter(api).filter(|t| !t.require_cid);
        match (by_audience.next(), by_audience.next()) {
            (Some(tenant), None) => Ok(tenant),
            (Some(_), Some(_)) => Err(TokenError::AmbiguousTenant),
            (None, _) if tenants.iter().any(|t| api(&t)) => Err(TokenError::ClientIdMismatch),
            (None, _) => Err(TokenError::AudienceMismatch),
        }
    }

    /// The one tenant of the issuer whose client id `names` (a Universal Logout request's
    /// `sub`, a logout token's `aud`): the signal is for that app instance only.
    pub(crate) fn route_by_client_id(
        entry: &IssuerEntry,
        names: impl Fn(&str) -> bool,
    ) -> Result<&Arc<Tenant>, TokenError> {
        let mut matching = entry
            .tenants
            .iter()
            .filter(|t| t.client_id.as_deref().is_some_and(&names));
        match (matching.next(), matching.next()) {
            (Some(tenant), None) => Ok(tenant),
            (Some(_), Some(_)) => Err(TokenError::AmbiguousTenant),
            (None, _) => Err(TokenError::ClientIdMismatch),
        }
    }

    /// The tenant of an Identity Assertion JWT Authorization Grant: the issuer's one tenant. An
    /// ID-JAG names the client of the vendor's authorization server, not the org's app
    /// instance; an org with several instances of the app cannot say which one it is for, and
    /// is refused rather than guessed.
    pub(crate) fn route_org_grant(entry: &IssuerEntry) -> Result<&Arc<Tenant>, TokenError> {
        match entry.tenants.as_slice() {
            [tenant] => Ok(tenant),
            [] => Err(TokenError::UnknownIssuer),
            _ => Err(TokenError::AmbiguousTenant),
        }
    }

    /// Whether a JWT is an access token of an Okta org authorization server: its audience is
    /// the org itself (`aud` = `iss`), which no tenant of the issuer accepts. Okta does not
    /// publish the keys of those tokens: they are checked by introspection only.
    pub(crate) fn is_org_access_token(entry: &IssuerEntry, claims: &StandardClaims) -> bool {
        claims.aud.contains(&claims.iss)
            && !entry
                .tenants
                .iter()
                .any(|t| t.accepted_audiences().any(|a| a == claims.iss))
    }

    /// The tenant of an opaque token: the resolver's pick, else the only tenant.
    pub(crate) async fn for_opaque_token(&self, request: &Parts) -> Result<Arc<Tenant>, AuthError> {
        let picked = match self.resolve(request).await? {
            Some(tenant) => Some(tenant),
            None if !self.has_resolver() && self.registry.len() == 1 => self.registry.all().pop(),
            None => None,
        };
        picked.ok_or_else(|| {
            tracing::debug!("opaque token, and no tenant picked for it");
            TokenError::UnknownIssuer.into()
        })
    }

    /// An Okta org authorization server's access token is a JWT that only Okta can verify (its
    /// keys are not published; its `aud` is the org itself): it goes to introspection, at the
    /// tenant its `iss` names — by `cid`, else the resolver's pick, else the issuer's only
    /// tenant.
    pub(crate) fn for_org_access_token(
        &self,
        entry: &IssuerEntry,
        claims: &StandardClaims,
        request: &Parts,
    ) -> Option<Arc<Tenant>> {
        let with_secret = |t: &&Arc<Tenant>| t.can_authenticate();
        if let Some(cid) = claims.cid.as_deref()
            && let Some(t) = entry
                .tenants
                .iter()
                .filter(with_secret)
                .find(|t| t.client_id.as_deref() == Some(cid))
        {
            return Some(Arc::clone(t));
        }
        if let Some(resolver) = &self.resolver {
            let id = resolver.resolve(request)?;
            return entry.tenants.iter().find(|t| *t.id == *id).cloned();
        }
        match entry.tenants.as_slice() {
            [only] if only.can_authenticate() => Some(Arc::clone(only)),
            _ => None,
        }
    }
}
