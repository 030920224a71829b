//! [`RedisStoreConfig`]: the settings of a [`RedisStore`](super::RedisStore).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::redis_target::{Target, multi_host_parts, multi_host_target};
use super::revocation_store::StoreError;
use crate::time::{Clock, SharedClock, SystemClock};

/// Settings of a [`RedisStore`](super::RedisStore).
#[derive(Clone)]
#[must_use]
pub struct RedisStoreConfig {
    pub(super) url: String,
    pub(super) prefix: String,
    pub(super) resync_interval: Duration,
    pub(super) command_timeout: Duration,
    pub(super) reconnect_delay: Duration,
    pub(super) clock: SharedClock,
    pub(super) fail_closed_until_first_sync: bool,
    /// Replicas that must hold a revocation before it is acknowledged; `None`: 1 when the
    /// primary has replicas at connection, else 0.
    pub(super) min_replicas_acked: Option<u32>,
    pub(super) replica_ack_timeout: Duration,
    /// A PEM CA certificate trusted instead of the system's roots (`rediss://`).
    #[cfg(feature = "redis-tls")]
    pub(super) tls_root_certificate: Option<Vec<u8>>,
}

impl fmt::Debug for RedisStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may hold a password.
        f.debug_struct("RedisStoreConfig")
            .field("prefix", &self.prefix)
            .field("resync_interval", &self.resync_interval)
            .field("command_timeout", &self.command_timeout)
            .field(
                "fail_closed_until_first_sync",
                &self.fail_closed_until_first_sync,
            )
            .field("min_replicas_acked", &self.min_replicas_acked)
            .field("replica_ack_timeout", &self.replica_ack_timeout)
            .field("tls", &is_tls_url(&self.url))
            .finish_non_exhaustive()
    }
}

impl RedisStoreConfig {
    /// The store at `url`: `redis://[:password@]host:port/db`, or `rediss://…` for TLS (feature
    /// `redis-tls`; the server's certificate is checked against the system's root certificates,
    /// or [`tls_root_certificate`](Self::tls_root_certificate)).
    ///
    /// Behind Redis Sentinel: `redis+sentinel://[:password@]host:port[,host:port…]/<master
    /// name>`, the Sentinels and the master name (`rediss+sentinel://` for TLS). The store
    /// asks the Sentinels for the primary at every connection, and reconnects when the node it
    /// writes to is no longer the primary (a failover).
    ///
    /// A Redis Cluster (feature `redis-cluster`): `redis+cluster://[:password@]host:port,…`, seed
    /// nodes (`rediss+cluster://` for TLS). Revocations share one hash tag (one slot: the
    /// re-sync reads them on one node), single-use markers spread over the slots, and
    /// `MOVED`/`ASK` redirections during a resharding are followed.
    pub fn new(url: impl Into<String>) -> Self {
        RedisStoreConfig {
            url: url.into(),
            prefix: "okta-oidc:".into(),
            resync_interval: Duration::from_secs(30),
            command_timeout: Duration::from_secs(2),
            reconnect_delay: Duration::from_millis(200),
            clock: Arc::new(SystemClock),
            fail_closed_until_first_sync: true,
            min_replicas_acked: None,
            replica_ack_timeout: Duration::from_secs(1),
            #[cfg(feature = "redis-tls")]
            tls_root_certificate: None,
        }
    }

    /// Trusts the CA certificate `pem` (PEM) for a `rediss://` server instead of the system's
    /// root certificates: a private CA, as some managed Redis services and most self-hosted
    /// ones use. The server's name must still match its certificate.
    ///
    /// ```no_run
    /// use okta_oidc::store::{RedisStore, RedisStoreConfig};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let ca = std::fs::read("/etc/redis/ca.crt")?;
    /// let store = RedisStore::with_config(
    ///     RedisStoreConfig::new("rediss://:secret@redis.internal:6380").tls_root_certificate(ca),
    /// )?;
    /// # let _ = store; Ok(()) }
    /// ```
    #[cfg(feature = "redis-tls")]
    pub fn tls_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls_root_certificate = Some(pem.into());
        self
    }

    /// The prefix of every key and of the channel (default `okta-oidc:`): apps sharing one
    /// Redis keep apart with their own.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How often the mirror is synced in full besides pub/sub (default 30 s). It also bounds
    /// how soon a lost connection is noticed when nothing else is sent.
    pub fn resync_interval(mut self, interval: Duration) -> Self {
        self.resync_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Longest wait for one Redis command (default 2 s); past it the revocation request is
    /// answered `503`.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// First wait before reconnecting (default 200 ms; doubled up to 5 s while Redis stays
    /// away).
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    /// Whether, until the mirror's first sync with Redis, identities issued before the store
    /// was made (a token's `iat`, a session's sign-in) are refused with `503` and
    /// `Retry-After` (default on). An instance that starts while Redis is away knows none of
    /// the revocations made before: without this it would accept every session and token
    /// revoked before it started, until Redis answers. Identities issued after the start are
    /// never affected, nor is anything once the mirror has synced once.
    ///
    /// Off, the instance serves every identity from the start (availability first).
    ///
    /// ```
    /// use okta_oidc::store::RedisStoreConfig;
    ///
    /// let config = RedisStoreConfig::new("redis://127.0.0.1:6379").fail_closed_until_first_sync(false);
    /// # let _ = config;
    /// ```
    pub fn fail_closed_until_first_sync(mut self, on: bool) -> Self {
        self.fail_closed_until_first_sync = on;
        self
    }

    /// How many replicas must hold a revocation before it is acknowledged (default: 1 when the
    /// primary has replicas when the store connects, else 0). Redis replicates asynchronously:
    /// a revocation only the primary holds is lost if the primary fails before a replica has
    /// it, and Okta, having had its answer, never sends it again. With `n > 0`, each recorded
    /// revocation is followed by `WAIT n` ([`replica_ack_timeout`](Self::replica_ack_timeout));
    /// when fewer replicas confirm in time, recording fails, the logout endpoint answers `503`
    /// (Okta sends the signal again) and
    /// [`RedisStore::unacknowledged_revocations`](super::RedisStore::unacknowledged_revocations)
    /// counts it. Single-use markers are not waited for: losing one in a failover only reopens
    /// a short replay window.
    ///
    /// ```
    /// use okta_oidc::store::RedisStoreConfig;
    ///
    /// let config = RedisStoreConfig::new("redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/main")
    ///     .min_replicas_acked(1);
    /// # let _ = config;
    /// ```
    pub fn min_replicas_acked(mut self, replicas: u32) -> Self {
        self.min_replicas_acked = Some(replicas);
        self
    }

    /// Longest wait for the replicas of [`min_replicas_acked`](Self::min_replicas_acked)
    /// (default 1 s).
    pub fn replica_ack_timeout(mut self, timeout: Duration) -> Self {
        self.replica_ack_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The clock (the same as the [`OktaOidc`](crate::OktaOidc)'s: tests pass a
    /// [`ManualClock`](crate::ManualClock) to both).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }
}

impl RedisStoreConfig {
    /// The Redis client of these settings; an error for a URL that does not parse, or that
    /// asks for TLS in a build without it. (The messages never repeat the URL: it may hold a
    /// password.)
    pub(super) fn target(&self) -> Result<Target, StoreError> {
        if let Some(parts) = multi_host_parts(&self.url) {
            #[cfg(feature = "redis-tls")]
            if self.tls_root_certificate.is_some() {
                // Refused rather than ignored: the nodes would be checked against the system's
                // roots instead of the CA the application named.
                return Err(StoreError::Unavailable(
                    "tls_root_certificate is supported with redis:// and rediss:// URLs only, \
                     not with Sentinel or Cluster URLs (their certificates are checked against \
                     the system's root certificates)"
                        .into(),
                ));
            }
            return multi_host_target(parts?);
        }
        self.client().map(Target::Node)
    }

    fn client(&self) -> Result<redis::Client, StoreError> {
        let invalid =
            |e: redis::RedisError| StoreError::Unavailable(format!("invalid Redis URL: {e}"));
        #[cfg(feature = "redis-tls")]
        if let Some(pem) = &self.tls_root_certificate {
            let certificates = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem.clone()),
            };
            return redis::Client::build_with_tls(self.url.as_str(), certificates).map_err(invalid);
        }
        #[cfg(not(feature = "redis-tls"))]
        if is_tls_url(&self.url) {
            return Err(StoreError::Unavailable(
                "a rediss:// (TLS) URL needs the `redis-tls` feature of okta-oidc".into(),
            ));
        }
        redis::Client::open(self.url.as_str()).map_err(invalid)
    }
}

/// Whether `url` asks for TLS: `rediss://`, or `valkeys://` which the redis crate takes alike,
/// and their Sentinel and Cluster forms (`rediss+sentinel://`, …), in any case.
pub(super) fn is_tls_url(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once("://") else {
        return false;
    };
    let base = scheme.split('+').next().unwrap_or_default();
    base.eq_ignore_ascii_case("rediss") || base.eq_ignore_ascii_case("valkeys")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_is_asked_by_the_rediss_scheme_in_any_case() {
        assert!(is_tls_url("rediss://cache:6380"));
        assert!(is_tls_url("REDISS://cache:6380"));
        assert!(is_tls_url("valkeys://cache:6380"));
        assert!(!is_tls_url("valkey://cache:6379"));
        assert!(!is_tls_url("redis://cache:6379"));
        assert!(!is_tls_url("rediss"));
        assert!(!is_tls_url("unix:///run/redis.sock"));
        assert!(is_tls_url("rediss+sentinel://a:26379/main"));
        assert!(is_tls_url("REDISS+CLUSTER://a:7000"));
        assert!(!is_tls_url("redis+cluster://a:7000"));
    }

    #[test]
    fn sentinel_and_cluster_urls_are_read_and_bad_ones_named() {
        assert!(
            RedisStoreConfig::new("redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/main")
                .target()
                .is_ok()
        );
        let Err(err) = RedisStoreConfig::new("redis+sentinel://:hunter2@127.0.0.1:26379").target()
        else {
            panic!("a Sentinel URL without a master name was taken");
        };
        let err = err.to_string();
        assert!(
            err.contains("master name") && !err.contains("hunter2"),
            "{err}"
        );
        let cluster =
            RedisStoreConfig::new("redis+cluster://127.0.0.1:7000,127.0.0.1:7001").target();
        #[cfg(feature = "redis-cluster")]
        assert!(cluster.is_ok());
        #[cfg(not(feature = "redis-cluster"))]
        assert!(cluster.is_err_and(|e| e.to_string().contains("redis-cluster")));
    }

    #[cfg(feature = "redis-tls")]
    #[test]
    fn a_private_ca_is_refused_with_sentinel_and_cluster_urls_not_ignored() {
        for url in ["rediss+sentinel://a:26379/main", "rediss+cluster://a:7000"] {
            let Err(err) = RedisStoreConfig::new(url)
                .tls_root_certificate(&b"pem"[..])
                .target()
            else {
                panic!("{url}: a private CA was ignored");
            };
            assert!(err.to_string().contains("tls_root_certificate"), "{err}");
        }
    }

    #[test]
    fn debug_never_shows_the_url_nor_its_password() {
        let config = RedisStoreConfig::new("rediss://:hunter2@cache:6380");
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("cache"),
            "{shown}"
        );
        assert!(shown.contains("tls: true"), "{shown}");
    }

    #[cfg(not(feature = "redis-tls"))]
    #[test]
    fn a_rediss_url_without_the_feature_says_which_feature() {
        let err = RedisStoreConfig::new("rediss://cache:6380")
            .client()
            .unwrap_err();
        assert!(err.to_string().contains("redis-tls"), "{err}");
    }

    #[cfg(feature = "redis-tls")]
    #[test]
    fn a_rediss_url_with_the_feature_builds_a_client() {
        assert!(
            RedisStoreConfig::new("rediss://cache:6380")
                .client()
                .is_ok()
        );
        let ca = b"-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n";
        let err = RedisStoreConfig::new("rediss://cache:6380")
            .tls_root_certificate(&ca[..])
            .client();
        assert!(
            err.is_err(),
            "a CA that does not parse is refused when the store is made"
        );
    }
}
