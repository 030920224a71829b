//! The tenant directory: the registry, the application's loader with its negative cache, and
//! the choice of a tenant for a credential (by issuer, audience and client) or for a request
//! that names no issuer. Tenant choice happens here and nowhere else.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Uri};

use super::config::Tenant;
use super::loader::TenantLoader;
use super::registry::{IssuerEntry, Registry};
use super::resolver::TenantResolver;
use crate::claims::StandardClaims;
use crate::error::{AuthError, ConfigError, TokenError};
use crate::provider::context::ProviderContext;
use crate::time::now_millis;

/// Every tenant this handle knows, and how to find more.
pub(crate) struct TenantDirectory {
    pub(crate) registry: Registry,
    provider: Arc<ProviderContext>,
    loader: Option<Arc<dyn TenantLoader>>,
    unknown_issuers: quick_cache::sync::Cache<String, u64>,
    negative_ttl: Duration,
    /// Picks the tenant of an opaque token when several are registered.
    resolver: Option<Arc<dyn TenantResolver>>,
}

impl fmt::Debug for TenantDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantDirectory")
            .field("registry", &self.registry)
            .field("loader", &self.loader.is_some())
            .finish_non_exhaustive()
    }
}

impl TenantDirectory {
    pub(crate) fn new(
        provider: Arc<ProviderContext>,
        loader: Option<Arc<dyn TenantLoader>>,
        negative_ttl: Duration,
        resolver: Option<Arc<dyn TenantResolver>>,
    ) -> Self {
        TenantDirectory {
            registry: Registry::new(),
            provider,
            loader,
            unknown_issuers: quick_cache::sync::Cache::new(10_000),
            negative_ttl,
            resolver,
        }
    }

    /// Adds or replaces tenants in one swap.
    pub(crate) fn upsert(&self, tenants: Vec<Tenant>) -> Result<(), ConfigError> {
        for t in &tenants {
            self.unknown_issuers.remove(&*t.issuer);
        }
        self.registry.upsert(tenants, &self.provider)
    }

    /// Removes a tenant.
    pub(crate) fn remove(&self, id: &str) -> Option<Arc<Tenant>> {
        self.registry.remove(id, &self.provider)
    }

    /// The registry entry of an issuer, asking the loader when it is not registered.
    pub(crate) async fn entry_for_issuer(
        &self,
        issuer: &str,
    ) -> Result<Arc<IssuerEntry>, AuthError> {
        if let Some(entry) = self.registry.by_issuer(issuer) {
            return Ok(entry);
        }
        let Some(loader) = &self.loader else {
            return Err(TokenError::UnknownIssuer.into());
        };
        if issuer.is_empty() || issuer.len() > 1024 {
            return Err(TokenError::UnknownIssuer.into());
        }
        let now = now_millis(self.provider.clock.as_ref());
        if self
            .unknown_issuers
            .get(issuer)
            .is_some_and(|until| until > now)
        {
            return Err(TokenError::UnknownIssuer.into());
        }
        let remember_unknown = || {
            let ttl = u64::try_from(self.negative_ttl.as_millis()).unwrap_or(u64::MAX);
            self.unknown_issuers
                .insert(issuer.to_owned(), now.saturating_add(ttl));
        };
        match loader.load(issuer.to_owned()).await {
            Ok(Some(tenant)) if *tenant.issuer == *issuer => {
                let id = tenant.id.clone();
                if let Err(e) = self.upsert(vec![tenant]) {
                    tracing::warn!(issuer, tenant = &*id, error = %e, "loaded tenant is invalid");
                    remember_unknown();
                    return Err(TokenError::UnknownIssuer.into());
                }
                tracing::info!(issuer, tenant = &*id, "tenant loaded");
                self.registry
                    .by_issuer(issuer)
                    .ok_or_else(|| TokenError::UnknownIssuer.into())
            }
            Ok(Some(tenant)) => {
                tracing::warn!(
                    issuer,
                    tenant = tenant.id(),
                    "loader returned a tenant of another issuer; ignored"
                );
                remember_unknown();
                Err(TokenError::UnknownIssuer.into())
            }
            Ok(None) => {
                remember_unknown();
                Err(TokenError::UnknownIssuer.into())
            }
            Err(e) => {
                tracing::warn!(issuer, error = %e, "tenant loader failed");
                Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(Duration::from_secs(5)),
                })
            }
        }
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

    /// The tenant of an opaque token: the only one, or the resolver's pick.
    pub(crate) fn for_opaque_token(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Arc<Tenant>, AuthError> {
        let registry = &self.registry;
        let picked = match &self.resolver {
            Some(resolver) => resolver
                .resolve(uri, headers)
                .and_then(|id| registry.by_id(&id)),
            None if registry.len() == 1 => registry.all().pop(),
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
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Option<Arc<Tenant>> {
        let with_secret = |t: &&Arc<Tenant>| !t.secrets.is_empty();
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
            let id = resolver.resolve(uri, headers)?;
            return entry.tenants.iter().find(|t| *t.id == *id).cloned();
        }
        match entry.tenants.as_slice() {
            [only] if !only.secrets.is_empty() => Some(Arc::clone(only)),
            _ => None,
        }
    }
}
