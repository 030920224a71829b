//! What a [`RedisStore`](super::RedisStore) and its sync task share: the client, the
//! connection, the mirror and the key layout.

use std::sync::atomic::{AtomicU32, AtomicU64};

use arc_swap::ArcSwapOption;
use tokio::sync::{Notify, watch};

use super::mirror::RevocationMirror;
use super::redis_config::RedisStoreConfig;
use super::redis_conn::Conn;
use super::redis_target::Target;
use super::revocation::Revocation;

pub(super) struct Inner {
    pub(super) config: RedisStoreConfig,
    /// Where the primary is (one node, or the Sentinels' answer).
    pub(super) target: Target,
    pub(super) mirror: RevocationMirror,
    /// The connection commands go on, once made.
    pub(super) manager: ArcSwapOption<Conn>,
    /// Whether the mirror is subscribed and synced now.
    pub(super) connected: watch::Sender<bool>,
    /// Counts full syncs.
    pub(super) syncs: watch::Sender<u64>,
    /// Replicas each revocation waits for (`WAIT`): the setting, or what the primary reported
    /// at connection.
    pub(super) replicas_to_ack: AtomicU32,
    /// Revocations that fewer replicas than that confirmed in time (answered as failures).
    pub(super) unacknowledged: AtomicU64,
    /// Told when a write found a node that is no longer the primary (`READONLY`): the sync
    /// task then connects again, to the primary the Sentinels name.
    pub(super) primary_moved: Notify,
}

impl Inner {
    pub(super) fn key_of(&self, revocation: &Revocation) -> String {
        format!("{}{}", self.revocation_prefix(), revocation.digest())
    }

    /// What every revocation key starts with: `<prefix>rev:`, and in a cluster
    /// `{<prefix>}rev:`, a hash tag that puts every revocation in one slot (one node to read in
    /// a re-sync, one `MGET`).
    pub(super) fn revocation_prefix(&self) -> String {
        if self.target.is_cluster() {
            format!("{{{}}}rev:", self.config.prefix)
        } else {
            format!("{}rev:", self.config.prefix)
        }
    }

    /// The pub/sub channel; in a cluster under the revocations' hash tag, so that the write
    /// pipeline (`SET`, `PUBLISH`) stays in one slot (`PUBLISH` is cluster-wide all the same).
    pub(super) fn channel(&self) -> String {
        if self.target.is_cluster() {
            format!("{{{}}}revocations", self.config.prefix)
        } else {
            format!("{}revocations", self.config.prefix)
        }
    }
}

/// `SET key json PXAT until` and `PUBLISH`, in one round trip (a caller may add `WAIT`).
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
