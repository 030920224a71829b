//! The shared handle: configuration, tenants, key caches, validation entry points.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Uri};
use jsonwebtoken::Algorithm;

use crate::claims::{Claims, Identity};
use crate::clock::{Clock, SharedClock, SystemClock, now_millis};
use crate::discovery::ProviderMetadata;
use crate::error::{AuthError, ConfigError, LoadError, TokenError, WarmUpError};
use crate::fetch::{DEFAULT_MAX_BODY, Fetcher};
use crate::introspect::{Call, IntrospectionConfig, Introspector, TenantResolver};
use crate::jwks::KeyRefreshPolicy;
use crate::tenant::{IssuerEntry, Registry, Tenant, TenantLoader};
use crate::token_cache::{TokenCache, TokenCacheConfig};
use crate::validate::{self, ValidationOptions};

/// What every key cache shares.
pub(crate) struct Shared {
    pub(crate) fetcher: Fetcher,
    pub(crate) clock: SharedClock,
    pub(crate) policy: KeyRefreshPolicy,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) background_refresh: bool,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("policy", &self.policy)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    pub(crate) registry: Registry,
    pub(crate) validation: ValidationOptions,
    loader: Option<Arc<dyn TenantLoader>>,
    unknown_issuers: quick_cache::sync::Cache<String, u64>,
    negative_ttl: Duration,
    /// Opaque-token introspection and its cache.
    introspector: Arc<Introspector>,
    /// Picks the tenant of an opaque token when several are registered.
    resolver: Option<Arc<dyn TenantResolver>>,
    /// Verified tokens (`None` when turned off).
    token_cache: Option<TokenCache>,
    /// Browser sign-in and sessions, when configured.
    #[cfg(feature = "login")]
    pub(crate) login: Option<Arc<crate::login::LoginState>>,
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
///     .await?; // discovery + keys loaded, or a clear error
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
            .field("tenants", &self.inner.registry.len())
            .field("validation", &self.inner.validation)
            .finish_non_exhaustive()
    }
}

/// An error from [`OktaOidcBuilder::build`].
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// The configuration is invalid.
    Config(ConfigError),
    /// Some tenants could not load their discovery document or keys.
    WarmUp(WarmUpError),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Config(e) => e.fmt(f),
            BuildError::WarmUp(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Config(e) => Some(e),
            BuildError::WarmUp(e) => Some(e),
        }
    }
}

impl From<ConfigError> for BuildError {
    fn from(e: ConfigError) -> Self {
        BuildError::Config(e)
    }
}

/// Configures an [`OktaOidc`].
#[must_use]
pub struct OktaOidcBuilder {
    tenants: Vec<Tenant>,
    loader: Option<Arc<dyn TenantLoader>>,
    validation: ValidationOptions,
    policy: KeyRefreshPolicy,
    http_client: Option<reqwest::Client>,
    http_timeout: Duration,
    clock: SharedClock,
    background_refresh: bool,
    negative_ttl: Duration,
    introspection: IntrospectionConfig,
    resolver: Option<Arc<dyn TenantResolver>>,
    token_cache: TokenCacheConfig,
    #[cfg(feature = "login")]
    pub(crate) login: Option<crate::login::LoginConfig>,
}

impl fmt::Debug for OktaOidcBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaOidcBuilder")
            .field("tenants", &self.tenants)
            .field("validation", &self.validation)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Default for OktaOidcBuilder {
    fn default() -> Self {
        OktaOidcBuilder {
            tenants: Vec::new(),
            loader: None,
            validation: ValidationOptions::default(),
            policy: KeyRefreshPolicy::default(),
            http_client: None,
            http_timeout: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
            background_refresh: true,
            negative_ttl: Duration::from_secs(60),
            introspection: IntrospectionConfig::default(),
            resolver: None,
            token_cache: TokenCacheConfig::default(),
            #[cfg(feature = "login")]
            login: None,
        }
    }
}

impl OktaOidcBuilder {
    /// Registers a tenant.
    pub fn tenant(mut self, tenant: Tenant) -> Self {
        self.tenants.push(tenant);
        self
    }

    /// Registers several tenants.
    pub fn tenants(mut self, tenants: impl IntoIterator<Item = Tenant>) -> Self {
        self.tenants.extend(tenants);
        self
    }

    /// Sets the loader asked for issuers the registry does not hold.
    pub fn loader(mut self, loader: impl TenantLoader) -> Self {
        self.loader = Some(Arc::new(loader));
        self
    }

    /// Picks the tenant of an opaque access token from the request when several tenants are
    /// registered (with one tenant, it is that one). The token is never sent to a tenant the
    /// resolver did not pick.
    pub fn opaque_token_resolver(mut self, resolver: impl TenantResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Longest time an active introspection result is reused (default 5 min; never past the
    /// token's `exp`).
    pub fn introspection_cache_ttl(mut self, ttl: Duration) -> Self {
        self.introspection.max_ttl = ttl;
        self
    }

    /// How long an inactive introspection result is remembered (default 10 s).
    pub fn introspection_inactive_ttl(mut self, ttl: Duration) -> Self {
        self.introspection.inactive_ttl = ttl;
        self
    }

    /// How long an issuer the loader did not know is answered "unknown" without asking the
    /// loader again (default 60 s).
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The signature algorithms accepted (default: RS256 only, which is all Okta uses).
    /// Allowed: RS256/384/512, PS256/384/512, ES256/384, EdDSA. HMAC is refused at build.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.validation.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew leeway for `exp`, `nbf` and `iat` (default 120 s, as Okta's verifiers).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway;
        self
    }

    /// Largest token accepted, checked before any decoding (default 16 KiB).
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.validation.max_token_bytes = bytes;
        self
    }

    /// The key refresh policy.
    pub fn key_refresh(mut self, policy: KeyRefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Least time between refetches caused by unknown `kid`s (default 30 s).
    pub fn unknown_kid_cooldown(mut self, cooldown: Duration) -> Self {
        self.policy.unknown_kid_cooldown = cooldown;
        self
    }

    /// Whether key sets are refreshed in the background (default on). With it off, keys are
    /// refetched only for unknown `kid`s and by [`OktaOidc::refresh_keys`].
    pub fn background_refresh(mut self, on: bool) -> Self {
        self.background_refresh = on;
        self
    }

    /// Uses this HTTP client for all provider calls. It should not follow redirects and should
    /// have timeouts.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Overall timeout of each provider call with the default client (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Bounds the verified-token cache to about this many bytes of tokens and claims
    /// (default 32 MiB; about 15,000 typical Okta tokens).
    ///
    /// The cache is on by default: a JWT that passed every check is remembered, keyed by the
    /// whole token, and the next request with the same token skips the signature check. On
    /// every hit `exp`/`nbf` are checked again (with the leeway), and the entry is dropped when
    /// its tenant was removed or replaced, or when the key that verified it has left the
    /// issuer's key set. Only successes are cached. `0` turns the cache off.
    ///
    /// ```
    /// use okta_oidc::{OktaOidc, Tenant};
    /// use std::time::Duration;
    ///
    /// # fn build() -> Result<OktaOidc, okta_oidc::ConfigError> {
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
    ///     .token_cache_capacity(64 * 1024 * 1024)
    ///     .token_cache_max_ttl(Duration::from_secs(60))
    ///     .build_lazy()?;
    /// # Ok(oidc) }
    /// ```
    pub fn token_cache_capacity(mut self, bytes: usize) -> Self {
        self.token_cache.capacity_bytes = bytes;
        self
    }

    /// Longest time a verified token is served from the cache, whatever its `exp`
    /// (default 5 minutes). Each entry lives until `min(exp + leeway, stored + max_ttl)`.
    /// A zero duration turns the cache off.
    pub fn token_cache_max_ttl(mut self, max_ttl: Duration) -> Self {
        self.token_cache.max_ttl = max_ttl;
        self
    }

    /// Turns the verified-token cache off: every token is parsed and its signature checked
    /// on every request.
    pub fn disable_token_cache(mut self) -> Self {
        self.token_cache.enabled = false;
        self
    }

    /// The clock (tests inject a [`ManualClock`](crate::ManualClock)).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds without any network call: tenants load on first use (or on
    /// [`OktaOidc::warm_up`]).
    pub fn build_lazy(self) -> Result<OktaOidc, ConfigError> {
        install_crypto_provider();
        if self.validation.algorithms.is_empty() {
            return Err(ConfigError::Invalid("no algorithm allowed"));
        }
        if self
            .validation
            .algorithms
            .iter()
            .any(|a| matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        {
            return Err(ConfigError::Invalid(
                "HMAC algorithms cannot be used with published key sets",
            ));
        }
        if self.validation.max_token_bytes == 0 {
            return Err(ConfigError::Invalid("max_token_size is zero"));
        }
        let client = match self.http_client {
            Some(c) => c,
            None => Fetcher::default_client(self.http_timeout)?,
        };
        let shared = Arc::new(Shared {
            fetcher: Fetcher {
                client,
                max_body: DEFAULT_MAX_BODY,
            },
            clock: self.clock,
            policy: self.policy,
            algorithms: self.validation.algorithms.clone(),
            background_refresh: self.background_refresh,
        });
        let registry = Registry::new();
        let mut seen = std::collections::HashSet::new();
        for t in &self.tenants {
            if !seen.insert(t.id.clone()) {
                return Err(ConfigError::DuplicateTenant(t.id.to_string()));
            }
        }
        registry.upsert(self.tenants, &shared)?;
        let token_cache = TokenCache::new(&self.token_cache, self.validation.leeway);
        Ok(OktaOidc {
            inner: Arc::new(Inner {
                shared,
                registry,
                validation: self.validation,
                loader: self.loader,
                unknown_issuers: quick_cache::sync::Cache::new(10_000),
                negative_ttl: self.negative_ttl,
                introspector: Introspector::new(self.introspection),
                resolver: self.resolver,
                token_cache,
                #[cfg(feature = "login")]
                login: match self.login {
                    Some(config) => Some(Arc::new(crate::login::LoginState::new(config)?)),
                    None => None,
                },
            }),
        })
    }

    /// Builds and loads every tenant's discovery document and key set; fails with a clear
    /// error when any cannot be loaded (wrong issuer, unreachable, no usable key).
    pub async fn build(self) -> Result<OktaOidc, BuildError> {
        let oidc = self.build_lazy()?;
        oidc.warm_up().await.map_err(BuildError::WarmUp)?;
        Ok(oidc)
    }
}

/// With both crypto features on, jsonwebtoken needs an explicit process-wide choice.
pub(crate) fn install_crypto_provider() {
    #[cfg(all(feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
}

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!("okta-oidc needs a crypto backend: enable feature `aws_lc_rs` or `rust_crypto`");

impl OktaOidc {
    /// Starts configuring.
    pub fn builder() -> OktaOidcBuilder {
        OktaOidcBuilder::default()
    }

    /// Loads discovery and keys of every registered tenant (concurrently) and starts their
    /// background refresh. Await it before serving to start with warm caches.
    pub async fn warm_up(&self) -> Result<(), WarmUpError> {
        let caches = self.inner.registry.key_caches();
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
                    .inner
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
        let identity = self.authenticate_jwt(token).await?;
        Ok(Claims::from_identity(identity).map_err(|_| TokenError::ClaimsShape)?)
    }

    /// Validates a bearer credential: a JWT locally; anything else is rejected.
    pub(crate) async fn authenticate_bearer(
        &self,
        token: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Arc<Identity>, AuthError> {
        let max = self.inner.validation.max_token_bytes;
        if token.len() > max {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max,
            }
            .into());
        }
        if !validate::looks_like_jwt(token) {
            let tenant = self.opaque_token_tenant(uri, headers)?;
            return self.introspect(token, tenant).await;
        }
        match self.authenticate_jwt(token).await {
            Err(AuthError::InvalidToken(TokenError::AudienceMismatch)) => {
                match self.org_access_token_tenant(token, uri, headers) {
                    Some(tenant) => self.introspect(token, tenant).await,
                    None => Err(TokenError::AudienceMismatch.into()),
                }
            }
            other => other,
        }
    }

    /// The tenant of an opaque token: the only one, or the resolver's pick.
    fn opaque_token_tenant(
        &self,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Arc<Tenant>, AuthError> {
        let registry = &self.inner.registry;
        let picked = match &self.inner.resolver {
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
    fn org_access_token_tenant(
        &self,
        token: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Option<Arc<Tenant>> {
        let parsed = validate::parse(token, &self.inner.validation).ok()?;
        let claims = &parsed.claims;
        if !claims.aud.contains(&claims.iss) {
            return None;
        }
        let entry = self.inner.registry.by_issuer(&claims.iss)?;
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
        if let Some(resolver) = &self.inner.resolver {
            let id = resolver.resolve(uri, headers)?;
            return entry.tenants.iter().find(|t| *t.id == *id).cloned();
        }
        match entry.tenants.as_slice() {
            [only] if !only.secrets.is_empty() => Some(Arc::clone(only)),
            _ => None,
        }
    }

    /// Introspects an access token at the tenant's authorization server.
    async fn introspect(
        &self,
        token: &str,
        tenant: Arc<Tenant>,
    ) -> Result<Arc<Identity>, AuthError> {
        let entry = self
            .inner
            .registry
            .by_issuer(&tenant.issuer)
            .ok_or(TokenError::UnknownIssuer)?;
        let metadata = entry.keys.ensure_metadata().await.map_err(|e| {
            tracing::warn!(tenant = &*tenant.id, error = %e, "discovery unavailable for introspection");
            AuthError::TemporarilyUnavailable {
                retry_after: Some(Duration::from_secs(5)),
            }
        })?;
        let Some(endpoint) = metadata.introspection_endpoint.clone() else {
            tracing::warn!(
                tenant = &*tenant.id,
                "provider has no introspection endpoint"
            );
            return Err(
                TokenError::Malformed("opaque token, and no introspection endpoint").into(),
            );
        };
        let methods = metadata
            .introspection_endpoint_auth_methods_supported
            .as_ref()
            .or(metadata.token_endpoint_auth_methods_supported.as_ref());
        let post_only = methods.is_some_and(|m| {
            m.iter().any(|x| x == "client_secret_post")
                && !m.iter().any(|x| x == "client_secret_basic")
        });
        let call = Call {
            tenant,
            endpoint,
            post_only,
            fetcher: self.inner.shared.fetcher.clone(),
            clock: Arc::clone(&self.inner.shared.clock),
        };
        self.inner.introspector.check(token, call).await
    }

    /// The identity of a token found in the verified-token cache, if every rule still holds.
    pub(crate) fn cached_identity(&self, token: &str) -> Option<Arc<Identity>> {
        let inner = &self.inner;
        inner
            .token_cache
            .as_ref()?
            .get(token, &inner.registry, inner.shared.clock.as_ref())
    }

    /// Validates a JWT into an identity.
    pub(crate) async fn authenticate_jwt(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let inner = &self.inner;
        let clock = inner.shared.clock.as_ref();
        if let Some(cache) = &inner.token_cache
            && let Some(identity) = cache.get(token, &inner.registry, clock)
        {
            return Ok(identity);
        }
        let parsed = validate::parse(token, &inner.validation)?;
        let entry = self.entry_for_issuer(&parsed.claims.iss).await?;
        let tenant = Arc::clone(validate::select_tenant(&entry, &parsed.claims)?);
        let now = i64::try_from(clock.now().as_secs()).unwrap_or(i64::MAX);
        validate::check_claims(&parsed, &tenant, now, inner.validation.leeway)?;
        let key = validate::find_key(&entry.keys, &parsed).await?;
        validate::verify_signature(&parsed, &key)?;
        let identity = Arc::new(validate::identity(parsed, &tenant));
        if let Some(cache) = &inner.token_cache {
            cache.insert(token, &identity, &tenant, key.id, clock);
        }
        Ok(identity)
    }

    /// The registry entry of an issuer, asking the loader when it is not registered.
    pub(crate) async fn entry_for_issuer(
        &self,
        issuer: &str,
    ) -> Result<Arc<IssuerEntry>, AuthError> {
        let inner = &self.inner;
        if let Some(entry) = inner.registry.by_issuer(issuer) {
            return Ok(entry);
        }
        let Some(loader) = &inner.loader else {
            return Err(TokenError::UnknownIssuer.into());
        };
        if issuer.is_empty() || issuer.len() > 1024 {
            return Err(TokenError::UnknownIssuer.into());
        }
        let now = now_millis(inner.shared.clock.as_ref());
        if inner
            .unknown_issuers
            .get(issuer)
            .is_some_and(|until| until > now)
        {
            return Err(TokenError::UnknownIssuer.into());
        }
        let remember_unknown = || {
            let ttl = u64::try_from(inner.negative_ttl.as_millis()).unwrap_or(u64::MAX);
            inner
                .unknown_issuers
                .insert(issuer.to_owned(), now.saturating_add(ttl));
        };
        match loader.load(issuer.to_owned()).await {
            Ok(Some(tenant)) if *tenant.issuer == *issuer => {
                let id = tenant.id.clone();
                if let Err(e) = self.add_tenant(tenant) {
                    tracing::warn!(issuer, tenant = &*id, error = %e, "loaded tenant is invalid");
                    remember_unknown();
                    return Err(TokenError::UnknownIssuer.into());
                }
                tracing::info!(issuer, tenant = &*id, "tenant loaded");
                inner
                    .registry
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
        let tenants: Vec<Tenant> = tenants.into_iter().collect();
        for t in &tenants {
            self.inner.unknown_issuers.remove(&*t.issuer);
        }
        self.inner.registry.upsert(tenants, &self.inner.shared)
    }

    /// Removes a tenant; returns whether it was registered. Its tokens stop validating at once.
    pub fn remove_tenant(&self, id: &str) -> bool {
        self.inner.registry.remove(id, &self.inner.shared).is_some()
    }

    /// A registered tenant by id.
    pub fn tenant(&self, id: &str) -> Option<Tenant> {
        self.inner.registry.by_id(id).map(|t| (*t).clone())
    }

    /// Every registered tenant.
    pub fn tenants(&self) -> Vec<Tenant> {
        self.inner
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
            .inner
            .registry
            .by_id(tenant_id)
            .ok_or_else(|| LoadError::Document(format!("no tenant {tenant_id:?}")))?;
        let entry = self
            .inner
            .registry
            .by_issuer(&tenant.issuer)
            .ok_or_else(|| LoadError::Document(format!("no tenant {tenant_id:?}")))?;
        entry.keys.refresh_now().await
    }

    /// A tenant's provider metadata, once discovery succeeded.
    pub fn provider_metadata(&self, tenant_id: &str) -> Option<ProviderMetadata> {
        let tenant = self.inner.registry.by_id(tenant_id)?;
        let entry = self.inner.registry.by_issuer(&tenant.issuer)?;
        entry.keys.metadata().map(|m| (*m).clone())
    }

    /// The `kid`s of a tenant's current key set.
    pub fn key_ids(&self, tenant_id: &str) -> Vec<String> {
        let Some(tenant) = self.inner.registry.by_id(tenant_id) else {
            return Vec::new();
        };
        let Some(entry) = self.inner.registry.by_issuer(&tenant.issuer) else {
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
        let tenant = self.inner.registry.by_id(tenant_id)?;
        let entry = self.inner.registry.by_issuer(&tenant.issuer)?;
        entry.keys.state().last_error.clone()
    }
}
