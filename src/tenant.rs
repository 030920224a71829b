//! Tenants (one per customer Okta org or app instance), the hot-swapped registry, and the
//! application's loader for tenants it keeps in its own store.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::claims::TenantRef;
use crate::error::ConfigError;
use crate::fetch::check_secure_url;
use crate::jwks::KeyCache;
use crate::oidc::Shared;

/// A client secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(Arc<str>);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret(Arc::from(secret.into()))
    }

    /// The secret itself, for sending to the provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

impl From<&str> for ClientSecret {
    fn from(s: &str) -> Self {
        ClientSecret::new(s)
    }
}

impl From<String> for ClientSecret {
    fn from(s: String) -> Self {
        ClientSecret::new(s)
    }
}

/// One tenant: an app instance in a customer's Okta org (issuer + client).
///
/// Tokens are accepted from a tenant when their `iss` equals [`issuer`](Self::issuer) exactly
/// and their `aud` holds one of the tenant's accepted audiences: the client id (ID tokens, when
/// [`accept_id_tokens`](Self::accept_id_tokens) is on, the default) and every
/// [`audience`](Self::audience) added (access tokens of custom authorization servers).
///
/// ```
/// use okta_oidc::Tenant;
///
/// let acme = Tenant::new("acme", "https://acme.okta.com")
///     .client("0oa1acmeclient", "secret-from-your-store")
///     .audience("api://acme");
/// assert_eq!(acme.issuer(), "https://acme.okta.com");
/// ```
#[derive(Clone, Debug)]
pub struct Tenant {
    pub(crate) id: Arc<str>,
    pub(crate) issuer: Arc<str>,
    pub(crate) client_id: Option<Arc<str>>,
    pub(crate) secrets: Vec<ClientSecret>,
    pub(crate) audiences: Vec<Arc<str>>,
    pub(crate) accept_id_tokens: bool,
    pub(crate) id_token_typ: Option<Vec<String>>,
    pub(crate) access_token_typ: Option<Vec<String>>,
    pub(crate) require_cid: bool,
}

impl Tenant {
    /// A tenant with the application's `id` for it and its issuer (for an OIN app, the
    /// customer's org URL such as `https://acme.okta.com`, or its custom domain).
    pub fn new(id: impl Into<String>, issuer: impl Into<String>) -> Self {
        Tenant {
            id: Arc::from(id.into()),
            issuer: Arc::from(issuer.into()),
            client_id: None,
            secrets: Vec::new(),
            audiences: Vec::new(),
            accept_id_tokens: true,
            id_token_typ: None,
            access_token_typ: None,
            require_cid: false,
        }
    }

    /// Sets the client id and (primary) secret of this app instance.
    pub fn client(mut self, client_id: impl Into<String>, secret: impl Into<ClientSecret>) -> Self {
        self.client_id = Some(Arc::from(client_id.into()));
        self.secrets = vec![secret.into()];
        self
    }

    /// Sets the client id only (for validating tokens, no secret needed).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(Arc::from(client_id.into()));
        self
    }

    /// Adds a second client secret, accepted during a secret rotation (Okta lets an app hold
    /// two at once). At most two secrets are kept: the first and the newest.
    pub fn secondary_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.secrets.truncate(1);
        self.secrets.push(secret.into());
        self
    }

    /// Adds an accepted audience (for access tokens of custom authorization servers).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(Arc::from(audience.into()));
        self
    }

    /// Whether ID tokens (`aud` = client id) are accepted as bearer credentials; on by default.
    ///
    /// Okta advises apps to grant API access from access tokens, not ID tokens. In the OIN,
    /// access tokens of the org authorization server can only be checked by introspection;
    /// accepting ID tokens locally is a deliberate trade-off for first-party front ends.
    pub fn accept_id_tokens(mut self, accept: bool) -> Self {
        self.accept_id_tokens = accept;
        self
    }

    /// Requires the header `typ` of ID tokens to be one of these (compared case-insensitively,
    /// with or without an `application/` prefix, RFC 8725 §3.11).
    pub fn id_token_typ<I, S>(mut self, accepted: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.id_token_typ = Some(accepted.into_iter().map(Into::into).collect());
        self
    }

    /// Requires the header `typ` of access tokens to be one of these (for example `at+jwt`,
    /// RFC 9068).
    pub fn access_token_typ<I, S>(mut self, accepted: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.access_token_typ = Some(accepted.into_iter().map(Into::into).collect());
        self
    }

    /// Requires Okta's `cid` claim of access tokens to equal the client id.
    pub fn require_cid(mut self, require: bool) -> Self {
        self.require_cid = require;
        self
    }

    /// The application's id for this tenant.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id, if set.
    pub fn get_client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The client secrets (one, or two during a rotation).
    pub fn secrets(&self) -> &[ClientSecret] {
        &self.secrets
    }

    /// Every accepted audience (the client id first when ID tokens are accepted).
    pub fn accepted_audiences(&self) -> impl Iterator<Item = &str> {
        let id = self.client_id.as_deref().filter(|_| self.accept_id_tokens);
        id.into_iter().chain(self.audiences.iter().map(|a| &**a))
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        if self.id.is_empty() {
            return Err(ConfigError::Invalid("tenant id is empty"));
        }
        check_secure_url(&self.issuer).map_err(|reason| ConfigError::InvalidIssuer {
            issuer: self.issuer.to_string(),
            reason,
        })?;
        if self.issuer.contains(['?', '#']) {
            return Err(ConfigError::InvalidIssuer {
                issuer: self.issuer.to_string(),
                reason: "must not have a query or fragment",
            });
        }
        if self.accepted_audiences().next().is_none() {
            return Err(ConfigError::Invalid(
                "tenant accepts no audience: set a client id or an audience",
            ));
        }
        Ok(())
    }

    pub(crate) fn as_ref_info(&self) -> TenantRef {
        TenantRef {
            id: Arc::clone(&self.id),
            issuer: Arc::clone(&self.issuer),
            client_id: self.client_id.clone(),
        }
    }
}

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

/// The tenants of one issuer and their shared key cache.
#[derive(Debug)]
pub(crate) struct IssuerEntry {
    pub(crate) tenants: Vec<Arc<Tenant>>,
    pub(crate) keys: Arc<KeyCache>,
}

#[derive(Debug, Default)]
struct Snapshot {
    by_issuer: HashMap<Arc<str>, Arc<IssuerEntry>>,
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
            .map(|e| Arc::clone(&e.keys))
            .collect()
    }

    /// Adds tenants or replaces those with the same id. Key caches of issuers that stay are
    /// kept (no refetch).
    pub(crate) fn upsert(
        &self,
        tenants: Vec<Tenant>,
        ctx: &Arc<Shared>,
    ) -> Result<(), ConfigError> {
        for t in &tenants {
            t.check()?;
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
    pub(crate) fn remove(&self, id: &str, ctx: &Arc<Shared>) -> Option<Arc<Tenant>> {
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
    by_issuer: &mut HashMap<Arc<str>, Arc<IssuerEntry>>,
    by_id: &HashMap<Arc<str>, Arc<Tenant>>,
    issuers: &[Arc<str>],
    ctx: &Arc<Shared>,
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
        let keys = by_issuer
            .get(issuer)
            .map(|e| Arc::clone(&e.keys))
            .unwrap_or_else(|| KeyCache::new(Arc::clone(issuer), Arc::clone(ctx)));
        by_issuer.insert(Arc::clone(issuer), Arc::new(IssuerEntry { tenants, keys }));
    }
    Ok(())
}
