//! The key cache of one issuer: a lock-free key set, refreshed off the request path, single
//! flight, cooldown, last good set kept. Looking a token's key up in it: `key_lookup.rs`.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;

use super::call_span::CallKind;
use super::context::ProviderContext as Ctx;
use super::discovery::{ProviderMetadata, discover};
use super::fetch::Fetched;
#[cfg(feature = "fuzzing")]
use super::jwk::VerifyKey;
use super::jwk::{KeySet, parse_jwks};
use crate::error::LoadError;
use crate::single_flight::{Flight, SingleFlight};
use crate::telemetry::metrics;
use crate::time::UnixTime;

/// What a key cache knows, swapped whole on every change.
#[derive(Debug, Default)]
pub(crate) struct KeyState {
    pub(crate) metadata: Option<Arc<ProviderMetadata>>,
    /// When the discovery document was fetched (it is fetched again with the key set once it
    /// is older than the policy's `discovery_max_age`).
    pub(crate) metadata_loaded_at: UnixTime,
    pub(crate) keys: Option<Arc<KeySet>>,
    /// When the key set was last fetched or confirmed unchanged (304).
    pub(crate) keys_checked_at: UnixTime,
    pub(crate) etag: Option<String>,
    pub(crate) last_error: Option<LoadError>,
    pub(crate) consecutive_failures: u32,
    /// When the background task should refresh next.
    pub(crate) next_refresh: UnixTime,
}

/// Why a refresh is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Scheduled, or asked for by the application (warm-up): never cooled down.
    Scheduled,
    /// A request needs it (unknown `kid`, keys never loaded): subject to the cooldown.
    Request,
    /// A token that came from the provider over the back channel (the token endpoint's ID
    /// token) names a `kid` the set lacks: no stranger made it up, so neither cooled down nor
    /// starting a cooldown.
    BackChannel,
}

type RefreshFuture = Flight<Result<(), LoadError>>;

/// The outcome of asking for a refresh.
pub(crate) enum Join {
    /// A refresh this call started; await it. Its key set is at least as new as the caller's
    /// question.
    Started(RefreshFuture),
    /// A refresh that was running already; await it. It may have fetched before a key the
    /// caller needs was published.
    Joined(RefreshFuture),
    /// The key set changed since the caller looked; look again.
    Changed,
    /// Too soon after the last request-triggered refresh: this much of the cooldown is left.
    CoolingDown(Duration),
}

impl Join {
    /// The refresh to await, started now or earlier.
    fn flight(self) -> Option<RefreshFuture> {
        match self {
            Join::Started(flight) | Join::Joined(flight) => Some(flight),
            Join::Changed | Join::CoolingDown(_) => None,
        }
    }
}

/// The key cache of one issuer.
pub(crate) struct KeyCache {
    pub(crate) issuer: Arc<str>,
    /// For an app's pinned keys: the client id sent as `?client_id=` to the key endpoint.
    client_id: Option<Arc<str>>,
    ctx: Arc<Ctx>,
    state: ArcSwap<KeyState>,
    refreshing: SingleFlight<(), Result<(), LoadError>>,
    /// When a request last caused a refetch (for the cooldown).
    last_request_refresh: Mutex<Option<UnixTime>>,
    background_started: AtomicBool,
    generation: AtomicU64,
    /// The `okta_oidc_key_set_age_seconds` gauge (the org key set only).
    age: metrics::KeySetAge,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("issuer", &self.issuer)
            .field("state", &self.state.load())
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    pub(crate) fn new(issuer: Arc<str>, ctx: Arc<Ctx>) -> Arc<Self> {
        Self::with_client(issuer, None, ctx)
    }

    /// The key cache of one app's pinned keys: the issuer's key endpoint with
    /// `?client_id=<client_id>` (Okta's keys of an app with automatic rotation turned off).
    pub(crate) fn for_client(issuer: Arc<str>, client_id: Arc<str>, ctx: Arc<Ctx>) -> Arc<Self> {
        Self::with_client(issuer, Some(client_id), ctx)
    }

    fn with_client(issuer: Arc<str>, client_id: Option<Arc<str>>, ctx: Arc<Ctx>) -> Arc<Self> {
        Arc::new(KeyCache {
            issuer,
            client_id,
            ctx,
            state: ArcSwap::from_pointee(KeyState::default()),
            refreshing: SingleFlight::default(),
            last_request_refresh: Mutex::new(None),
            background_started: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            age: metrics::KeySetAge::default(),
        })
    }

    /// The current state (lock-free).
    pub(crate) fn state(&self) -> arc_swap::Guard<Arc<KeyState>> {
        self.state.load()
    }

    /// The current key set, if one ever loaded (lock-free).
    pub(crate) fn keys(&self) -> Option<Arc<KeySet>> {
        self.state.load().keys.clone()
    }

    /// The provider metadata, if discovery succeeded.
    pub(crate) fn metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.state.load().metadata.clone()
    }

    /// Starts a refresh or joins the running one.
    pub(crate) fn refresh(
        self: &Arc<Self>,
        trigger: Trigger,
        seen_generation: Option<u64>,
    ) -> Join {
        let mut started = false;
        let start = || {
            if let Some(seen) = seen_generation {
                let current = self.state.load().keys.as_ref().map(|k| k.generation);
                if current.is_some_and(|g| g != seen) {
                    return Err(Join::Changed);
                }
            }
            if trigger == Trigger::Request {
                let now = UnixTime::now(self.ctx.clock.as_ref());
                let cooldown = self.ctx.policy.unknown_kid_cooldown;
                let mut last = self
                    .last_request_refresh
                    .lock()
                    .unwrap_or_else(|e| e.into_inner());
                if let Some(at) = *last
                    && now.since(at) < cooldown
                {
                    return Err(Join::CoolingDown(cooldown - now.since(at)));
                }
                *last = Some(now);
            }
            started = true;
            let this = Arc::clone(self);
            Ok(async move {
                let result = this.fetch_and_store().await;
                this.start_background();
                result
            })
        };
        let failed = || Err(LoadError::Http("refresh task failed".into()));
        match self.refreshing.join_or_start((), start, failed) {
            Ok(flight) if started => Join::Started(flight),
            Ok(flight) => Join::Joined(flight),
            Err(join) => join,
        }
    }

    /// Makes sure a key set is loaded; waits for a shared load if needed.
    pub(crate) async fn ensure_loaded(self: &Arc<Self>) -> Result<Arc<KeySet>, LoadError> {
        if let Some(keys) = self.keys() {
            return Ok(keys);
        }
        match self.refresh(Trigger::Request, None) {
            Join::Started(fut) | Join::Joined(fut) => fut.await?,
            Join::Changed => {}
            Join::CoolingDown(_) => {
                return Err(self
                    .state
                    .load()
                    .last_error
                    .clone()
                    .unwrap_or(LoadError::CoolingDown));
            }
        }
        self.keys().ok_or(LoadError::NoUsableKeys)
    }

    /// The provider metadata, loading discovery (and keys) if needed. Succeeds when discovery
    /// did, even if the key set failed.
    pub(crate) async fn ensure_metadata(
        self: &Arc<Self>,
    ) -> Result<Arc<ProviderMetadata>, LoadError> {
        if let Some(metadata) = self.metadata() {
            return Ok(metadata);
        }
        let loaded = self.ensure_loaded().await;
        match self.metadata() {
            Some(metadata) => Ok(metadata),
            None => Err(loaded.err().unwrap_or(LoadError::NoUsableKeys)),
        }
    }

    /// Loads discovery and keys now, whatever the cooldown (warm-up, manual refresh).
    pub(crate) async fn refresh_now(self: &Arc<Self>) -> Result<(), LoadError> {
        match self.refresh(Trigger::Scheduled, None).flight() {
            Some(fut) => fut.await,
            None => Ok(()),
        }
    }

    /// Installs a discovery document and key set as if both had been fetched, and holds
    /// request-triggered refetches off for the cooldown: the fuzz targets run without network.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn install_static(&self, metadata: ProviderMetadata, keys: Vec<Arc<VerifyKey>>) {
        let now = UnixTime::now(self.ctx.clock.as_ref());
        *self
            .last_request_refresh
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(now);
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.state.store(Arc::new(KeyState {
            metadata: Some(Arc::new(metadata)),
            metadata_loaded_at: now,
            keys: Some(Arc::new(KeySet { keys, generation })),
            keys_checked_at: now,
            next_refresh: UnixTime::MAX,
            ..KeyState::default()
        }));
    }

    /// The discovery document to use for this refresh: the current one while it is younger
    /// than `discovery_max_age`, else a fresh one (the current one kept if that fails), and
    /// when it was fetched.
    async fn current_metadata(
        &self,
        current: &KeyState,
    ) -> Result<(Arc<ProviderMetadata>, UnixTime), LoadError> {
        let issuer: &str = &self.issuer;
        let now = UnixTime::now(self.ctx.clock.as_ref());
        if let Some(m) = &current.metadata
            && now.since(current.metadata_loaded_at) < self.ctx.policy.discovery_max_age
        {
            return Ok((Arc::clone(m), current.metadata_loaded_at));
        }
        match discover(&self.ctx.fetcher, issuer, self.ctx.urls).await {
            Ok(fresh) => {
                match &current.metadata {
                    Some(old) if **old != fresh => {
                        tracing::info!(issuer, jwks_uri = %fresh.jwks_uri, "discovery document changed");
                    }
                    Some(_) => tracing::debug!(issuer, "discovery document unchanged"),
                    None => tracing::debug!(issuer, jwks_uri = %fresh.jwks_uri, "discovery loaded"),
                }
                Ok((Arc::new(fresh), now))
            }
            Err(e) => match &current.metadata {
                Some(old) => {
                    tracing::warn!(issuer, error = %e, "discovery refresh failed; the last good document stays");
                    Ok((Arc::clone(old), current.metadata_loaded_at))
                }
                None => Err(e),
            },
        }
    }

    async fn fetch_and_store(&self) -> Result<(), LoadError> {
        let (result, outcome) = self.fetch_and_store_once().await;
        self.observe(outcome);
        result
    }

    /// Counts a refresh attempt and sets the key set's age (the org key set of an issuer:
    /// an app's pinned keys would share its label).
    fn observe(&self, outcome: &'static str) {
        if self.client_id.is_some() {
            return;
        }
        metrics::key_set_refreshed(&self.issuer, outcome);
        self.observe_age(&self.state.load());
    }

    /// Sets the key set's age gauge from `state` (the org key set only; none before a set).
    pub(crate) fn observe_age(&self, state: &KeyState) {
        if self.client_id.is_some() {
            return;
        }
        self.age.set(&self.issuer, || {
            let now = UnixTime::now(self.ctx.clock.as_ref());
            state
                .keys
                .as_ref()
                .map(|_| now.since(state.keys_checked_at))
        });
    }

    /// One refresh, and how it ended for the metrics: `updated`, `unchanged` or `error`.
    async fn fetch_and_store_once(&self) -> (Result<(), LoadError>, &'static str) {
        let issuer: &str = &self.issuer;
        let current = self.state.load_full();
        let (metadata, metadata_loaded_at) = match self.current_metadata(&current).await {
            Ok(loaded) => loaded,
            Err(e) => {
                self.store_failure(&current, None, e.clone());
                return (Err(e), "error");
            }
        };
        // An ETag names a representation of one URL: not sent when the key set moved.
        let same_uri = current
            .metadata
            .as_ref()
            .is_some_and(|m| m.jwks_uri == metadata.jwks_uri);
        let etag = current
            .keys
            .as_ref()
            .and(current.etag.as_deref())
            .filter(|_| same_uri);
        let jwks_uri = self.keys_url(&metadata.jwks_uri);
        let fetched = self
            .ctx
            .fetcher
            .get(CallKind::KeySet, &jwks_uri, etag)
            .await;
        let now = UnixTime::now(self.ctx.clock.as_ref());
        match fetched {
            Ok(Fetched::NotModified { cache_control }) => {
                let interval = self.ctx.policy.next_interval(cache_control.as_deref());
                tracing::debug!(issuer, "key set not modified");
                self.state.store(Arc::new(KeyState {
                    metadata: Some(metadata),
                    metadata_loaded_at,
                    keys: current.keys.clone(),
                    keys_checked_at: now,
                    etag: current.etag.clone(),
                    last_error: None,
                    consecutive_failures: 0,
                    next_refresh: now.after(interval),
                }));
                (Ok(()), "unchanged")
            }
            Ok(Fetched::Body {
                body,
                etag,
                cache_control,
            }) => {
                let parsed =
                    parse_jwks(&body, &self.ctx.algorithms, current.keys.as_deref(), issuer);
                match parsed {
                    Ok(keys) => {
                        let same = current.keys.as_ref().is_some_and(|old| {
                            old.keys.len() == keys.len()
                                && old.keys.iter().zip(&keys).all(|(a, b)| Arc::ptr_eq(a, b))
                        });
                        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                        let interval = self.ctx.policy.next_interval(cache_control.as_deref());
                        tracing::info!(
                            issuer,
                            keys = keys.len(),
                            next_refresh_secs = interval.as_secs(),
                            "key set refreshed"
                        );
                        self.state.store(Arc::new(KeyState {
                            metadata: Some(metadata),
                            metadata_loaded_at,
                            keys: Some(Arc::new(KeySet { keys, generation })),
                            keys_checked_at: now,
                            etag,
                            last_error: None,
                            consecutive_failures: 0,
                            next_refresh: now.after(interval),
                        }));
                        (Ok(()), if same { "unchanged" } else { "updated" })
                    }
                    Err(e) => {
                        let loaded = Some((metadata, metadata_loaded_at));
                        self.store_failure(&current, loaded, e.clone());
                        (Err(e), "error")
                    }
                }
            }
            Err(e) => {
                let loaded = Some((metadata, metadata_loaded_at));
                self.store_failure(&current, loaded, e.clone());
                (Err(e), "error")
            }
        }
    }

    /// The key endpoint to fetch: `jwks_uri`, with `client_id` for an app's pinned keys.
    fn keys_url(&self, jwks_uri: &str) -> String {
        let Some(client_id) = &self.client_id else {
            return jwks_uri.to_owned();
        };
        match url::Url::parse(jwks_uri) {
            Ok(mut url) => {
                url.query_pairs_mut().append_pair("client_id", client_id);
                url.into()
            }
            Err(_) => jwks_uri.to_owned(),
        }
    }

    fn store_failure(
        &self,
        current: &KeyState,
        metadata: Option<(Arc<ProviderMetadata>, UnixTime)>,
        error: LoadError,
    ) {
        let failures = current.consecutive_failures.saturating_add(1);
        let retry = self.ctx.policy.retry_interval(failures);
        let kept = current.keys.is_some();
        tracing::warn!(
            issuer = &*self.issuer,
            error = %error,
            kept_last_good = kept,
            retry_secs = retry.as_secs(),
            "key set refresh failed"
        );
        let now = UnixTime::now(self.ctx.clock.as_ref());
        let (metadata, metadata_loaded_at) = match metadata {
            Some((m, at)) => (Some(m), at),
            None => (current.metadata.clone(), current.metadata_loaded_at),
        };
        self.state.store(Arc::new(KeyState {
            metadata,
            metadata_loaded_at,
            keys: current.keys.clone(),
            keys_checked_at: current.keys_checked_at,
            etag: current.etag.clone(),
            last_error: Some(error),
            consecutive_failures: failures,
            next_refresh: now.after(retry),
        }));
    }

    /// Starts the background refresh task once; it ends when the cache is dropped.
    fn start_background(self: &Arc<Self>) {
        if !self.ctx.background_refresh || self.background_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(background_loop(weak));
    }
}

async fn background_loop(weak: Weak<KeyCache>) {
    loop {
        let delay = {
            let Some(cache) = weak.upgrade() else { return };
            let now = UnixTime::now(cache.ctx.clock.as_ref());
            cache.state.load().next_refresh.since(now)
        };
        tokio::time::sleep(delay.max(Duration::from_millis(100))).await;
        let Some(cache) = weak.upgrade() else { return };
        let now = UnixTime::now(cache.ctx.clock.as_ref());
        if cache.state.load().next_refresh > now {
            continue;
        }
        if let Some(fut) = cache.refresh(Trigger::Scheduled, None).flight() {
            drop(cache);
            let _ = fut.await;
        }
    }
}
