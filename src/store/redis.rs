//! [`RedisStore`]: revocations and single-use markers in Redis, shared by every instance.
//!
//! Layout (every key under the configured prefix, `okta-oidc:` by default):
//!
//! - `rev:<digest>`: one revocation as JSON, expiring with it (`PXAT`); the digest is a
//!   SHA-256 of (kind, tenant, value), so no email or session id appears in a key name (in a
//!   cluster `{<prefix>}rev:<digest>`: one hash tag, one slot);
//! - `used:<kind>:<digest>`: a single-use marker (`SET NX PX`);
//! - channel `revocations`: every recorded revocation, as JSON, for the other instances'
//!   mirrors.
//!
//! Off the request path, a task per store keeps the mirror current: it subscribes, reads every
//! `rev:*` key (a full sync, merged: nothing unexpired is ever dropped, and what Redis lacks —
//! after a restart without persistence — is written back), applies each message, and syncs
//! again periodically and after every reconnect.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};

use super::mirror::RevocationMirror;
use super::redis_config::RedisStoreConfig;
use super::redis_conn::Conn;
use super::redis_state::{Inner, write_pipeline};
use super::redis_sync;
use super::revocation::Revocation;
use super::revocation_store::{RevocationStore, StoreError, StoreFuture};

/// The Redis store (feature `redis`): one Redis shared by every instance of the app, a single
/// node or a primary behind Redis Sentinel ([`RedisStoreConfig::new`] for the URL forms).
///
/// Made without any network call; a task (on the current Tokio runtime) connects, fills the
/// mirror and keeps it current, and reconnects when Redis goes away. While Redis is away,
/// validation goes on with the mirror, and revocations cannot be recorded (the endpoints
/// answer `503`); see the README's outage policy. Until the first sync, identities issued
/// before the store was made are refused with `503`
/// ([`RedisStoreConfig::fail_closed_until_first_sync`]).
///
/// Every key it writes expires (`PX`/`PXAT`). Run Redis with `maxmemory-policy noeviction`
/// (or `volatile-ttl` with room to spare): an `allkeys-*` policy may evict revocations, and a
/// warning is logged at connection when Redis reports one.
///
/// ```no_run
/// use okta_oidc::store::RedisStore;
/// use okta_oidc::{OktaOidc, Tenant};
///
/// # async fn build() -> Result<(), Box<dyn std::error::Error>> {
/// let store = RedisStore::new("redis://127.0.0.1:6379")?;
/// store.wait_synced().await; // optional: start with a complete mirror
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
///     .revocation_store(store)
///     .build()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    pub(super) inner: Arc<Inner>,
    _task: Arc<TaskGuard>,
}

struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("config", &self.inner.config)
            .field("connected", &self.is_connected())
            .field("mirror", &self.inner.mirror)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// A store at `url` with the default settings. Needs a Tokio runtime.
    pub fn new(url: impl Into<String>) -> Result<Self, StoreError> {
        Self::with_config(RedisStoreConfig::new(url))
    }

    /// A store with `config`. Needs a Tokio runtime; fails only for a URL that does not parse.
    pub fn with_config(config: RedisStoreConfig) -> Result<Self, StoreError> {
        let target = config.target()?;
        let now = config.clock.now();
        let mirror = RevocationMirror::remote(now);
        if !config.fail_closed_until_first_sync {
            mirror.mark_synced(now);
        }
        let replicas_to_ack = AtomicU32::new(config.min_replicas_acked.unwrap_or(0));
        let inner = Arc::new(Inner {
            config,
            target,
            mirror,
            manager: ArcSwapOption::empty(),
            connected: watch::Sender::new(false),
            syncs: watch::Sender::new(0),
            replicas_to_ack,
            unacknowledged: AtomicU64::new(0),
            primary_moved: Notify::new(),
        });
        let task = tokio::spawn(redis_sync::run(Arc::clone(&inner)));
        Ok(RedisStore {
            inner,
            _task: Arc::new(TaskGuard(task)),
        })
    }

    /// Whether the store is connected and its mirror subscribed now.
    pub fn is_connected(&self) -> bool {
        *self.inner.connected.borrow()
    }

    /// Resolves once [`is_connected`](Self::is_connected) is `connected` (no polling).
    pub async fn wait_connected(&self, connected: bool) {
        let mut rx = self.inner.connected.subscribe();
        let _ = rx.wait_for(|now| *now == connected).await;
    }

    /// Revocations that fewer replicas than
    /// [`min_replicas_acked`](RedisStoreConfig::min_replicas_acked) confirmed in time: each was
    /// answered as a failure (the logout endpoint's `503`, so Okta sends it again).
    pub fn unacknowledged_revocations(&self) -> u64 {
        self.inner.unacknowledged.load(Ordering::Relaxed)
    }

    /// How many full syncs of the mirror have completed.
    pub fn syncs(&self) -> u64 {
        *self.inner.syncs.borrow()
    }

    /// Resolves once a full sync completes after `seen` syncs (no polling).
    pub async fn synced_after(&self, seen: u64) {
        let mut rx = self.inner.syncs.subscribe();
        let _ = rx.wait_for(|n| *n > seen).await;
    }

    /// Resolves once the mirror has been filled from Redis at least once.
    pub async fn wait_synced(&self) {
        self.synced_after(0).await;
    }

    fn manager(&self) -> Result<Conn, StoreError> {
        self.inner
            .manager
            .load_full()
            .map(|m| Conn::clone(&m))
            .ok_or_else(|| StoreError::Unavailable("not connected yet".into()))
    }

    async fn timed<T>(
        &self,
        what: &'static str,
        limit: Duration,
        future: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(limit, future).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly) {
                    // A replica now (a failover): the sync task finds the primary again.
                    self.inner.primary_moved.notify_one();
                }
                Err(StoreError::Unavailable(format!("{what}: {e}")))
            }
            Err(_) => Err(StoreError::Unavailable(format!("{what}: timed out"))),
        }
    }

    /// Writes `revocation`, then waits until `replicas` replicas hold it (`WAIT`, in the same
    /// round trip); fewer in time is a failure, counted.
    async fn record_acknowledged(
        &self,
        manager: &mut Conn,
        revocation: &Revocation,
        replicas: u32,
    ) -> Result<(), StoreError> {
        let config = &self.inner.config;
        let wait_ms = u64::try_from(config.replica_ack_timeout.as_millis()).unwrap_or(u64::MAX);
        let mut pipe = write_pipeline(&self.inner, revocation);
        pipe.cmd("WAIT").arg(replicas).arg(wait_ms);
        let limit = config.command_timeout + config.replica_ack_timeout;
        let (acked,): (u32,) = self
            .timed("record", limit, manager.query_keys(&pipe))
            .await?;
        if acked >= replicas {
            return Ok(());
        }
        self.inner.unacknowledged.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            acked,
            replicas,
            wait_ms,
            "revocation not confirmed by enough replicas in time: answered as a failure so that \
             its sender sends it again (min_replicas_acked)"
        );
        Err(StoreError::Unavailable(format!(
            "record: {acked} of {replicas} replicas confirmed the revocation within {wait_ms} ms"
        )))
    }
}

impl RevocationStore for RedisStore {
    fn mirror(&self) -> &RevocationMirror {
        &self.inner.mirror
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn record<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let now = self.inner.config.clock.now();
            // Applied here at once: this instance refuses the credentials even if Redis fails
            // (and writes it back when it returns).
            self.inner.mirror.apply(revocation.clone(), now);
            let mut manager = self.manager()?;
            let replicas = self.inner.replicas_to_ack.load(Ordering::Acquire);
            if replicas > 0 {
                return self
                    .record_acknowledged(&mut manager, revocation, replicas)
                    .await;
            }
            let pipe = write_pipeline(&self.inner, revocation);
            let limit = self.inner.config.command_timeout;
            self.timed("record", limit, manager.query_keys::<()>(&pipe))
                .await
        })
    }

    fn mark_used<'a>(
        &'a self,
        kind: &'a str,
        key: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let digest = Sha256::digest(key.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            let name = format!("{}used:{kind}:{hex}", self.inner.config.prefix);
            let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut manager = self.manager()?;
            let mut cmd = redis::cmd("SET");
            cmd.arg(name).arg(1).arg("NX").arg("PX").arg(ttl_ms);
            let limit = self.inner.config.command_timeout;
            let set: Option<String> = self
                .timed("mark_used", limit, cmd.query_async(&mut manager))
                .await?;
            Ok(set.is_some())
        })
    }
}
