//! [`OktaOidcBuilder`]: the configuration of an [`OktaOidc`], and the checks made when it is
//! built.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::algorithm::Algorithm;
use crate::telemetry::metrics::Metrics;

use crate::call_budget::CallBudget;
use crate::error::{ConfigError, WarmUpError};
use crate::handle::{Inner, OktaOidc};
use crate::protected_resource::ProtectedResource;
use crate::provider::context::ProviderContext;
use crate::provider::fetch::{DEFAULT_MAX_BODY, Fetcher, UrlPolicy};
use crate::provider::refresh_policy::KeyRefreshPolicy;
use crate::store::{MemoryStore, RevocationStore};
use crate::tenant::config::Tenant;
use crate::tenant::directory::{DEFAULT_LOADER_BUDGET, DirectoryConfig, TenantDirectory};
use crate::tenant::loader::TenantLoader;
use crate::tenant::resolver::TenantResolver;
use crate::time::{Clock, SharedClock, SystemClock};
use crate::verify::Verifier;
use crate::verify::dpop::DpopVerifier;
use crate::verify::dpop_config::Dpop;
use crate::verify::introspection::{IntrospectionConfig, Introspector};
use crate::verify::jws::ValidationOptions;
use crate::verify::revocation::{DEFAULT_REVOCATION_TTL, Revocations};
use crate::verify::token_cache::{TokenCache, TokenCacheConfig};

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

impl OktaOidc {
    /// Starts configuring.
    pub fn builder() -> OktaOidcBuilder {
        OktaOidcBuilder::default()
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
    max_loaded: usize,
    introspection: IntrospectionConfig,
    resolver: Option<Arc<dyn TenantResolver>>,
    accept_other_tenants: bool,
    metrics_tenant_label: bool,
    token_cache: TokenCacheConfig,
    require_warm_up: bool,
    urls: UrlPolicy,
    loader_budget: CallBudget,
    resource: Option<ProtectedResource>,
    dpop: Option<Dpop>,
    revocation_store: Option<Arc<dyn RevocationStore>>,
    revocation_checks: bool,
    revocation_staleness_limit: Option<Duration>,
    revocation_ttl: Duration,
}

impl fmt::Debug for OktaOidcBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaOidcBuilder")
            .field("tenants", &self.tenants)
            .field("validation", &self.validation)
            .field("policy", &self.policy)
            .field("urls", &self.urls)
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
            max_loaded: 10_000,
            introspection: IntrospectionConfig::default(),
            resolver: None,
            accept_other_tenants: false,
            metrics_tenant_label: false,
            token_cache: TokenCacheConfig::default(),
            require_warm_up: false,
            urls: UrlPolicy::default(),
            loader_budget: DEFAULT_LOADER_BUDGET,
            resource: None,
            dpop: None,
            revocation_store: None,
            revocation_checks: true,
            revocation_staleness_limit: None,
            revocation_ttl: DEFAULT_REVOCATION_TTL,
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

    /// Sets the loader asked for tenants the registry does not hold, by issuer (a token's
    /// `iss`, a login from the Okta dashboard) or by id (`?tenant=`, a session after a
    /// restart, the resolver's pick). See [`TenantLoader`].
    pub fn loader(mut self, loader: impl TenantLoader) -> Self {
        self.loader = Some(Arc::new(loader));
        self
    }

    /// Most tenants the loader's answers keep registered at once (default 10,000); past it, the
    /// least recently loaded is evicted (and loaded again when needed). Tenants registered with
    /// [`tenant`](Self::tenant) or [`OktaOidc::add_tenant`] are never evicted.
    pub fn max_loaded_tenants(mut self, max: usize) -> Self {
        self.max_loaded = max;
        self
    }

    /// Picks the tenant of a request from the request itself (host, path, header): an opaque
    /// access token is introspected at this tenant only, a login without `?tenant=`/`?iss=`
    /// signs in there, and **every identity of another tenant is refused** on that request —
    /// a bearer or DPoP token answers `401 invalid_token`, a session counts as none (a page
    /// asks to sign in) — unless [`accept_other_tenants`](Self::accept_other_tenants) says
    /// otherwise. See [`TenantResolver`].
    pub fn tenant_resolver(mut self, resolver: impl TenantResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Accepts, on a request whose tenant the [`TenantResolver`] names, the identities of
    /// every other tenant too (default `false`: they are refused). Only for an application
    /// that means to serve any customer's users on any customer's routes (a shared admin
    /// console, say) and checks the tenant of [`Claims`](crate::Claims) itself.
    ///
    /// ```
    /// use okta_oidc::OktaOidc;
    ///
    /// let oidc = OktaOidc::builder()
    ///     .tenant_resolver(|request: &http::request::Parts| {
    ///         Some(request.headers.get("x-tenant")?.to_str().ok()?.to_owned())
    ///     })
    ///     .accept_other_tenants(true)
    ///     .build_lazy()
    ///     .unwrap();
    /// # let _ = oidc;
    /// ```
    pub fn accept_other_tenants(mut self, accept: bool) -> Self {
        self.accept_other_tenants = accept;
        self
    }

    /// Longest time an active introspection result is reused before the token is checked again
    /// (default 5 min; never past the token's `exp`). While the tenant's
    /// [budget](Self::introspection_budget) cannot spare that call, the known result keeps being
    /// served until `exp`.
    pub fn introspection_cache_ttl(mut self, ttl: Duration) -> Self {
        self.introspection.max_ttl = ttl;
        self
    }

    /// How long an inactive introspection result is remembered, by a SHA-256 of the token
    /// (default 10 min; a token the issuer does not know never becomes active).
    pub fn introspection_inactive_ttl(mut self, ttl: Duration) -> Self {
        self.introspection.inactive_ttl = ttl;
        self
    }

    /// How many introspection calls each Okta org gets for tokens not seen yet (default 120 a
    /// minute, 30 in a row, 10 at once: under half of the smallest org-wide bucket Okta
    /// publishes for `/oauth2/v1/*`, 300 a minute, and far under its org concurrency limit).
    /// Tenants of one org (several app instances, or the org server and a custom one) share
    /// it, since Okta counts its rate limits per org; each client address gets at most its
    /// [share](Self::introspection_client_share) of it.
    ///
    /// When a tenant's budget is spent, or Okta answered `429` (no call until its
    /// `X-Rate-Limit-Reset`), tokens already known active keep working until their `exp`, and
    /// a new token answers `503` with `Retry-After`; a warning is logged, at most once a minute
    /// per tenant. Checking a known token again after `introspection_cache_ttl` only uses the
    /// upper half of the bucket: it never takes a call a new token needs.
    ///
    /// ```
    /// use okta_oidc::{CallBudget, OktaOidc, Tenant};
    ///
    /// # fn build() -> Result<OktaOidc, okta_oidc::ConfigError> {
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
    ///     .introspection_budget(CallBudget::new(60, 10, 4))
    ///     .build_lazy()?;
    /// # Ok(oidc) }
    /// ```
    pub fn introspection_budget(mut self, budget: CallBudget) -> Self {
        self.introspection.budget = budget;
        self
    }

    /// One client address's share of its org's introspection budget, for tokens not seen yet
    /// (default 60 a minute, 15 in a row, 5 at once: half of the default budget). A new
    /// token needs a call from both: one client sending junk tokens spends its share, and the
    /// org's other clients keep the rest. The client address is the peer's (serve the app
    /// with axum's `into_make_service_with_connect_info::<SocketAddr>()`; without it every
    /// request counts as one client), or the one a [trusted proxy](Self::trusted_proxies)
    /// forwarded.
    ///
    /// ```
    /// use okta_oidc::{CallBudget, OktaOidc, Tenant};
    ///
    /// # fn build() -> Result<OktaOidc, okta_oidc::ConfigError> {
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").client("0oa1acme", "secret"))
    ///     .introspection_budget(CallBudget::new(240, 60, 20))
    ///     .introspection_client_share(CallBudget::new(20, 5, 2))
    ///     .build_lazy()?;
    /// # Ok(oidc) }
    /// ```
    pub fn introspection_client_share(mut self, share: CallBudget) -> Self {
        self.introspection.client_share = share;
        self
    }

    /// The reverse proxies (load balancers) in front of the app, by address: from these peers
    /// only, the right-most `X-Forwarded-For` address that is not one of them is the client
    /// address that [budget shares](Self::introspection_client_share) are counted by. From any
    /// other peer the header is ignored (a client could write anything there). Default: none.
    ///
    /// ```
    /// use std::net::IpAddr;
    /// use okta_oidc::OktaOidc;
    ///
    /// let proxy: IpAddr = "10.0.0.5".parse().unwrap();
    /// let oidc = OktaOidc::builder().trusted_proxies([proxy]).build_lazy().unwrap();
    /// # let _ = oidc;
    /// ```
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = std::net::IpAddr>) -> Self {
        self.introspection.trusted_proxies = crate::client_address::TrustedProxies::new(proxies);
        self
    }

    /// The lengths of a bearer value that is not a JWT and is still worth an introspection
    /// call (default 20 to 2048 bytes). Such a value must also hold only URL-safe characters
    /// (`A-Z a-z 0-9 - . _ ~`); anything else is refused (`401`) without any call.
    pub fn opaque_token_length(mut self, min: usize, max: usize) -> Self {
        self.introspection.opaque_len = (min, max);
        self
    }

    /// How many calls the [loader](Self::loader) gets for keys that requests name — a token's
    /// issuer, `?tenant=`, `?iss=`, the resolver's pick — all together (default 60 a minute,
    /// 20 in a row, 4 at once). Past it, such a request answers `503` with `Retry-After`; a
    /// flood of tokens naming random issuers costs at most this many calls, and each unknown
    /// key is remembered by a hash (at most 10,000) for the
    /// [negative TTL](Self::negative_cache_ttl). Ids the crate sealed itself (a session after
    /// a restart) are loaded outside this budget. Concurrent requests for one key share one
    /// call.
    pub fn loader_budget(mut self, budget: CallBudget) -> Self {
        self.loader_budget = budget;
        self
    }

    /// Accepts `http://` issuers and endpoints on loopback hosts (`127.0.0.0/8`, `[::1]`,
    /// `localhost`): for tests and offline demos against a local mock such as the test kit's
    /// `testing::MockOkta` (feature `test-util`). Off by default: only
    /// `https://` is accepted, so a typo or a configuration from the wrong environment never
    /// sends credentials in clear. Other `http://` hosts are refused either way.
    pub fn allow_loopback_http(mut self, allow: bool) -> Self {
        self.urls.loopback_http = allow;
        self
    }

    /// Accepts endpoints of a discovery document (`jwks_uri`, token, introspection, …) on
    /// other hosts than the issuer's. Off by default: Okta serves every endpoint on the org's
    /// own host (or its custom domain, which is then the issuer), so an endpoint elsewhere
    /// means a tampered or misconfigured document. Some other providers need it.
    pub fn allow_endpoints_on_other_hosts(mut self, allow: bool) -> Self {
        self.urls.other_hosts = allow;
        self
    }

    /// How long an issuer or id the loader did not know is answered "unknown" without asking
    /// the loader again (default 60 s).
    pub fn negative_cache_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = ttl;
        self
    }

    /// The signature algorithms accepted (default: RS256 only, which is all Okta uses).
    /// Any [`Algorithm`]: RS256/384/512, PS256/384/512, ES256/384, EdDSA (there is no HMAC
    /// variant: a shared secret cannot come from a published key set).
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

    /// Least time between refetches caused by unknown `kid`s (default 30 s); see
    /// [`KeyRefreshPolicy::unknown_kid_cooldown`] for what is answered meanwhile.
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

    /// Whether `okta_oidc_requests_total` and `okta_oidc_introspection_calls_total` carry a
    /// `tenant` label (default off): the id of a registered tenant, the empty value for
    /// anything else (loaded tenants, refusals no registered tenant can be named for), so the
    /// number of series is bounded by the tenants the application registered, never by
    /// traffic. Each registered tenant multiplies those two metrics' series: turn it on for
    /// tens of tenants, think twice for thousands. Feature `metrics`; see
    /// [`telemetry::catalogue`](crate::telemetry::catalogue).
    ///
    /// ```
    /// # use okta_oidc::{OktaOidc, Tenant};
    /// let builder = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").audience("api://default"))
    ///     .metrics_tenant_label(true);
    /// ```
    pub fn metrics_tenant_label(mut self, on: bool) -> Self {
        self.metrics_tenant_label = on;
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

    /// Bounds the verified-token cache to about this many bytes of heap (default 64 MiB: about
    /// 25,000 typical Okta tokens; an entry takes its token, twice its claims' JSON and some
    /// 700 bytes — 2.1 KB for an 816-byte token with 319 bytes of claims).
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

    /// Describes this API as an OAuth protected resource (RFC 9728): its identifier and
    /// metadata, served by [`OktaOidc::resource_metadata_router`] and named in the layer's
    /// `401` challenges (`resource_metadata`). See [`ProtectedResource`].
    pub fn protected_resource(mut self, resource: ProtectedResource) -> Self {
        self.resource = Some(resource);
        self
    }

    /// Accepts DPoP-bound access tokens with the `DPoP` scheme and a proof (RFC 9449). Needs a
    /// resource identifier ([`protected_resource`](Self::protected_resource), or
    /// [`Tenant::resource`] on every tenant): proofs name the URI clients call, and it is
    /// checked against that, never against the request's `Host`. See [`Dpop`].
    pub fn dpop(mut self, dpop: Dpop) -> Self {
        self.dpop = Some(dpop);
        self
    }

    /// Where revocations and single-use markers are kept (default: a
    /// [`MemoryStore`](crate::store::MemoryStore), for one instance). Apps with several
    /// instances use a [`RedisStore`](crate::store::RedisStore) (feature `redis`) so that a
    /// logout on one instance holds on all of them. See the [`store`](crate::store) module.
    pub fn revocation_store(mut self, store: impl RevocationStore) -> Self {
        self.revocation_store = Some(Arc::new(store));
        self
    }

    /// Whether every accepted identity is checked against the revocation mirror (default on).
    /// Off, logouts and Universal Logout still record revocations, but nothing refuses them:
    /// for apps that never sign anyone out, and for measuring what the check costs.
    pub fn revocation_checks(mut self, on: bool) -> Self {
        self.revocation_checks = on;
        self
    }

    /// Fails closed when the revocation store's mirror has not been synced for `limit` (a Redis
    /// outage): sessions and ID tokens are then answered `503` with `Retry-After`, since a
    /// revocation made meanwhile could be missed. Off by default: validation goes on with the
    /// mirror it has. Access tokens are not affected.
    pub fn revocation_staleness_limit(mut self, limit: Duration) -> Self {
        self.revocation_staleness_limit = Some(limit);
        self
    }

    /// How long a user-wide revocation (Universal Logout, back-channel logout) is kept: at least
    /// as long as the longest credential it can affect (default 24 h, Okta's longest token
    /// lifetime; a [`Login`](crate::Login) raises it to its session lifetime).
    pub fn revocation_ttl(mut self, ttl: Duration) -> Self {
        self.revocation_ttl = ttl;
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
        if self.validation.max_token_bytes == 0 {
            return Err(ConfigError::Invalid("max_token_size is zero"));
        }
        self.introspection
            .budget
            .check("introspection_budget: every limit must be positive")?;
        self.loader_budget
            .check("loader_budget: every limit must be positive")?;
        let (min, max) = self.introspection.opaque_len;
        if min == 0 || min > max {
            return Err(ConfigError::Invalid(
                "opaque_token_length: min must be positive and at most max",
            ));
        }
        if let Some(resource) = &self.resource {
            resource.check()?;
        }
        let tenants_have_resources = self.tenants.iter().all(|t| t.resource.is_some())
            && (!self.tenants.is_empty() || self.loader.is_some());
        if self.dpop.is_some() && self.resource.is_none() && !tenants_have_resources {
            return Err(ConfigError::Invalid(
                "DPoP needs the resource identifier clients call: set protected_resource (or Tenant::resource on every tenant)",
            ));
        }
        let store = self
            .revocation_store
            .unwrap_or_else(|| Arc::new(MemoryStore::with_shared_clock(Arc::clone(&self.clock))));
        if !store.is_shared() {
            // A store in this process is always there; a shared one says so as it connects.
            crate::telemetry::metrics::store_connected(true);
        }
        let dpop = self
            .dpop
            .map(|config| {
                let origin = self
                    .resource
                    .as_ref()
                    .and_then(|r| crate::protected_resource::origin(r.resource()));
                DpopVerifier::new(config, Arc::clone(&self.clock), origin, Arc::clone(&store))
            })
            .transpose()?;
        let revocations = Revocations::new(
            store,
            self.revocation_checks,
            self.revocation_staleness_limit,
            self.revocation_ttl,
        );
        let client = match self.http_client {
            Some(c) => c,
            None => Fetcher::default_client(self.http_timeout)?,
        };
        let provider = Arc::new(ProviderContext {
            fetcher: Fetcher {
                client,
                max_body: DEFAULT_MAX_BODY,
            },
            clock: self.clock,
            policy: self.policy,
            algorithms: self.validation.algorithms.clone(),
            background_refresh: self.background_refresh,
            urls: self.urls,
            metrics: Arc::new(Metrics::new(self.metrics_tenant_label)),
        });
        let mut seen = std::collections::HashSet::new();
        for t in &self.tenants {
            if !seen.insert(t.id.clone()) {
                return Err(ConfigError::DuplicateTenant(t.id.to_string()));
            }
        }
        let tenants = TenantDirectory::new(
            Arc::clone(&provider),
            DirectoryConfig {
                loader: self.loader,
                negative_ttl: self.negative_ttl,
                max_loaded: self.max_loaded,
                resolver: self.resolver,
                accept_other_tenants: self.accept_other_tenants,
                loader_budget: self.loader_budget,
            },
        );
        tenants.upsert(self.tenants)?;
        let token_cache = TokenCache::new(&self.token_cache, self.validation.leeway);
        let verifier = Verifier::new(
            tenants,
            provider,
            self.validation,
            Introspector::new(self.introspection),
            token_cache,
            revocations,
        )
        .with_dpop(dpop);
        Ok(OktaOidc {
            inner: Arc::new(Inner {
                verifier,
                resource: self.resource,
                rejections: Default::default(),
            }),
        })
    }

    /// Fails [`build`](Self::build) when any tenant cannot be warmed up (default off: start-up
    /// never depends on a customer's org). For single-tenant deployments that prefer to fail
    /// fast on a wrong issuer.
    pub fn require_warm_up(mut self, require: bool) -> Self {
        self.require_warm_up = require;
        self
    }

    /// Builds and loads every tenant's discovery document and key set, concurrently.
    ///
    /// A tenant whose org cannot be reached (or whose issuer is wrong) does not stop the others:
    /// its failure is logged (`warn`, per tenant) and kept for
    /// [`OktaOidc::last_key_error`]; its requests answer `503` with `Retry-After` until its
    /// keys load, which the background refresh and the requests themselves retry. With
    /// [`require_warm_up`](Self::require_warm_up), any failure fails the build instead.
    pub async fn build(self) -> Result<OktaOidc, BuildError> {
        let strict = self.require_warm_up;
        let oidc = self.build_lazy()?;
        if let Err(report) = oidc.warm_up().await {
            if strict {
                return Err(BuildError::WarmUp(report));
            }
            for (tenant, error) in &report.failures {
                tracing::warn!(
                    tenant = tenant.as_str(),
                    %error,
                    "tenant not ready at start-up; serving 503 for it until its keys load"
                );
            }
        }
        Ok(oidc)
    }
}

/// With both crypto features on, jsonwebtoken (the test kit's signer) needs an explicit
/// process-wide choice.
pub(crate) fn install_crypto_provider() {
    #[cfg(all(feature = "test-util", feature = "aws_lc_rs", feature = "rust_crypto"))]
    {
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    }
}

#[cfg(not(any(feature = "aws_lc_rs", feature = "rust_crypto")))]
compile_error!("okta-oidc needs a crypto backend: enable feature `aws_lc_rs` or `rust_crypto`");
