//! What a [`RedisStore`](super::RedisStore) and its sync task share: the client, the
//! connection, the mirror and the key layout.

use arc_swap::ArcSwapOption;
use redis::aio::ConnectionManager;
use tokio::sync::watch;

use super::mirror::RevocationMirror;
use super::redis_config::RedisStoreConfig;
use super::revocation::Revocation;

pub(super) struct Inner {
    pub(super) config: RedisStoreConfig,
    pub(super) client: redis::Client,
    pub(super) mirror: RevocationMirror,
    pub(super) manager: ArcSwapOption<ConnectionManager>,
    /// Whether the mirror is subscribed and synced now.
    pub(super) connected: watch::Sender<bool>,
    /// Counts full syncs.
    pub(super) syncs: watch::Sender<u64>,
}

impl Inner {
    pub(super) fn key_of(&self, revocation: &Revocation) -> String {
        format!("{}rev:{}", self.config.prefix, revocation.digest())
    }

    pub(super) fn channel(&self) -> String {
        format!("{}revocations", self.config.prefix)
    }
}

/// `SET key json PXAT until` and `PUBLISH`, in one round trip.
pub(super) fn write_pipeline(inner: &Inner, revocation: &Revocation) -> redis::Pipeline {
    let json = serde_json::to_string(revocation).unwrap_or_default();
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(inner.key_of(revocation))
        .arg(&json)
        .arg("PXAT")
        .arg(revocation.until_ms)
        .ignore()
        .cmd("PUBLISH")
        .arg(inner.channel())
        .arg(&json)
        .ignore();
    pipe
}
