//! Where a [`RedisStore`](super::RedisStore) finds its primary: one node named by its URL, or
//! the primary that Redis Sentinel names for a master name, asked again at every connection (a
//! failover moves it).
//!
//! URL forms: `redis://…` and `rediss://…` (one node, as the redis crate reads them),
//! `redis+sentinel://[[user]:password@]host:port[,host:port…]/<master name>` (the Sentinels;
//! `rediss+sentinel://` for TLS to the Sentinels and the nodes, feature `redis-tls`; the
//! password, when given, is sent to the Sentinels and to the nodes), and
//! `redis+cluster://[[user]:password@]host:port[,host:port…]` (seed nodes of a Redis Cluster,
//! feature `redis-cluster`; `rediss+cluster://` with `redis-tls`).

#[cfg(feature = "redis-cluster")]
use std::sync::atomic::{AtomicUsize, Ordering};

use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use tokio::sync::Mutex;

use super::redis_conn::Conn;
use super::revocation_store::StoreError;

/// The primary's whereabouts.
pub(super) enum Target {
    /// One node.
    Node(redis::Client),
    /// The primary of `master`, as the Sentinels say.
    Sentinel {
        sentinel: Mutex<Sentinel>,
        master: String,
        nodes: SentinelNodeConnectionInfo,
    },
    /// A Redis Cluster, from its seed nodes. Pub/sub (cluster-wide `PUBLISH`) is followed on one
    /// seed at a time, the next one after each lost connection.
    #[cfg(feature = "redis-cluster")]
    Cluster {
        client: redis::cluster::ClusterClient,
        seeds: Vec<redis::Client>,
        next_seed: AtomicUsize,
    },
}

impl Target {
    /// Whether the primary may move (a failover): then each connection asks where it is, and
    /// a node that is no longer the primary ends the connection.
    pub(super) fn may_move(&self) -> bool {
        matches!(self, Target::Sentinel { .. })
    }

    /// Whether this is a Redis Cluster (revocation keys then share one hash tag).
    pub(super) fn is_cluster(&self) -> bool {
        #[cfg(feature = "redis-cluster")]
        if matches!(self, Target::Cluster { .. }) {
            return true;
        }
        false
    }

    /// A client of the primary now, for pub/sub and (but in a cluster) commands. For Sentinel,
    /// the Sentinels are asked, and the node they name must say it is the primary; in a
    /// cluster, the next seed node.
    pub(super) async fn primary(&self) -> Result<redis::Client, String> {
        match self {
            Target::Node(client) => Ok(client.clone()),
            #[cfg(feature = "redis-cluster")]
            Target::Cluster {
                seeds, next_seed, ..
            } => {
                let i = next_seed.fetch_add(1, Ordering::Relaxed) % seeds.len().max(1);
                seeds
                    .get(i)
                    .cloned()
                    .ok_or_else(|| "cluster: no seed node".to_owned())
            }
            Target::Sentinel {
                sentinel,
                master,
                nodes,
            } => sentinel
                .lock()
                .await
                .async_master_for(master, Some(nodes))
                .await
                .map_err(|e| format!("sentinel: primary of {master:?}: {e}")),
        }
    }
}

impl Target {
    /// The connection commands go on: a connection manager to `primary` (which reconnects by
    /// itself), or in a cluster a cluster connection from the seed nodes (which follows the
    /// slots and their redirections).
    pub(super) async fn connect(
        &self,
        primary: &redis::Client,
        config: redis::aio::ConnectionManagerConfig,
        timeout: std::time::Duration,
    ) -> Result<Conn, String> {
        #[cfg(feature = "redis-cluster")]
        if let Target::Cluster { client, .. } = self {
            let config = redis::cluster::ClusterConfig::new()
                .set_connection_timeout(timeout)
                .set_response_timeout(timeout);
            return client
                .get_async_connection_with_config(config)
                .await
                .map(Conn::Cluster)
                .map_err(|e| e.to_string());
        }
        let _ = timeout;
        primary
            .get_connection_manager_with_config(config)
            .await
            .map(Conn::Node)
            .map_err(|e| e.to_string())
    }
}

/// A multi-host URL's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HostsKind {
    Sentinel,
    Cluster,
}

/// The parts of a `redis+sentinel://` or `redis+cluster://` URL, or `None` when `url` is
/// neither. An error names what is wrong (never the password).
pub(super) fn multi_host_parts(url: &str) -> Option<Result<MultiHostUrl, StoreError>> {
    let (scheme, rest) = url.split_once("://")?;
    let (kind, tls) = match scheme.to_ascii_lowercase().as_str() {
        "redis+sentinel" | "valkey+sentinel" => (HostsKind::Sentinel, false),
        "rediss+sentinel" | "valkeys+sentinel" => (HostsKind::Sentinel, true),
        "redis+cluster" | "valkey+cluster" => (HostsKind::Cluster, false),
        "rediss+cluster" | "valkeys+cluster" => (HostsKind::Cluster, true),
        _ => return None,
    };
    Some(match kind {
        HostsKind::Sentinel => parse_sentinel(tls, rest),
        HostsKind::Cluster => parse_cluster(tls, rest),
    })
}

/// The parts of a Sentinel URL (tests).
#[cfg(test)]
fn sentinel_parts(url: &str) -> Option<Result<MultiHostUrl, StoreError>> {
    multi_host_parts(url).filter(|p| p.as_ref().map_or(true, |u| u.kind == HostsKind::Sentinel))
}

/// A parsed `redis+sentinel://` or `redis+cluster://` URL. No `Debug`: its hosts carry the
/// password.
pub(super) struct MultiHostUrl {
    pub(super) kind: HostsKind,
    pub(super) tls: bool,
    /// `redis://[userinfo@]host:port` (or `rediss://`) for each Sentinel or seed node.
    pub(super) hosts: Vec<String>,
    /// The master name (Sentinel; empty for a cluster).
    pub(super) master: String,
}

fn parse_sentinel(tls: bool, rest: &str) -> Result<MultiHostUrl, StoreError> {
    let invalid = |what: &str| {
        StoreError::Unavailable(format!(
            "invalid Redis Sentinel URL: {what} (expected \
             redis+sentinel://host:port,host:port/<master name>)"
        ))
    };
    let (authority, master) = rest
        .split_once('/')
        .ok_or_else(|| invalid("no master name"))?;
    let master = master.trim_end_matches('/');
    if master.is_empty() || master.contains('/') {
        return Err(invalid("no master name"));
    }
    let sentinels =
        host_list(tls, authority).map_err(|()| invalid("each Sentinel is host:port"))?;
    Ok(MultiHostUrl {
        kind: HostsKind::Sentinel,
        tls,
        hosts: sentinels,
        master: master.to_owned(),
    })
}

fn parse_cluster(tls: bool, rest: &str) -> Result<MultiHostUrl, StoreError> {
    let invalid = |what: &str| {
        StoreError::Unavailable(format!(
            "invalid Redis Cluster URL: {what} (expected \
             redis+cluster://host:port,host:port, the seed nodes)"
        ))
    };
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') {
        return Err(invalid("no path after the seed nodes"));
    }
    let seeds = host_list(tls, authority).map_err(|()| invalid("each seed node is host:port"))?;
    Ok(MultiHostUrl {
        kind: HostsKind::Cluster,
        tls,
        hosts: seeds,
        master: String::new(),
    })
}

/// `[userinfo@]host:port,host:port…` as one `redis://` (or `rediss://`) URL per host.
fn host_list(tls: bool, authority: &str) -> Result<Vec<String>, ()> {
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo.to_owned()), hosts),
        None => (None, authority),
    };
    let scheme = if tls { "rediss" } else { "redis" };
    let mut urls = Vec::new();
    for host in hosts.split(',') {
        let port_ok = host
            .rsplit_once(':')
            .is_some_and(|(name, port)| !name.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(());
        }
        urls.push(match &userinfo {
            Some(userinfo) => format!("{scheme}://{userinfo}@{host}"),
            None => format!("{scheme}://{host}"),
        });
    }
    Ok(urls)
}

/// The target of a multi-host URL.
pub(super) fn multi_host_target(url: MultiHostUrl) -> Result<Target, StoreError> {
    match url.kind {
        HostsKind::Sentinel => sentinel_target(url),
        HostsKind::Cluster => cluster_target(url),
    }
}

/// The target of a cluster URL: a cluster client of its seed nodes, and a client of each for
/// pub/sub.
#[cfg(feature = "redis-cluster")]
fn cluster_target(url: MultiHostUrl) -> Result<Target, StoreError> {
    let invalid =
        |e: redis::RedisError| StoreError::Unavailable(format!("invalid Redis Cluster URL: {e}"));
    #[cfg(not(feature = "redis-tls"))]
    if url.tls {
        return Err(StoreError::Unavailable(
            "a rediss+cluster:// (TLS) URL needs the `redis-tls` feature of okta-oidc".into(),
        ));
    }
    let client = redis::cluster::ClusterClient::new(url.hosts.clone()).map_err(invalid)?;
    let seeds = url
        .hosts
        .iter()
        .map(|seed| redis::Client::open(seed.as_str()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    Ok(Target::Cluster {
        client,
        seeds,
        next_seed: AtomicUsize::new(0),
    })
}

#[cfg(not(feature = "redis-cluster"))]
fn cluster_target(_url: MultiHostUrl) -> Result<Target, StoreError> {
    Err(StoreError::Unavailable(
        "a redis+cluster:// URL needs the `redis-cluster` feature of okta-oidc".into(),
    ))
}

/// The target of a Sentinel URL: the Sentinels, and how to reach the nodes they name (the
/// password and TLS of the URL).
fn sentinel_target(url: MultiHostUrl) -> Result<Target, StoreError> {
    let invalid =
        |e: redis::RedisError| StoreError::Unavailable(format!("invalid Redis Sentinel URL: {e}"));
    #[cfg(not(feature = "redis-tls"))]
    if url.tls {
        return Err(StoreError::Unavailable(
            "a rediss+sentinel:// (TLS) URL needs the `redis-tls` feature of okta-oidc".into(),
        ));
    }
    let sentinel = Sentinel::build(url.hosts.clone()).map_err(invalid)?;
    // The nodes take the URL's credentials: read them as the redis crate reads a node URL.
    let first = url.hosts.first().map(String::as_str).unwrap_or_default();
    let info = redis::IntoConnectionInfo::into_connection_info(first).map_err(invalid)?;
    let mut nodes = SentinelNodeConnectionInfo::default()
        .set_redis_connection_info(info.redis_settings().clone());
    if url.tls {
        nodes = nodes.set_tls_mode(redis::TlsMode::Secure);
    }
    Ok(Target::Sentinel {
        sentinel: Mutex::new(sentinel),
        master: url.master,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_urls_name_the_sentinels_and_the_master() {
        let parsed = sentinel_parts("redis+sentinel://127.0.0.1:26379,10.0.0.2:26380/mymaster")
            .unwrap()
            .unwrap();
        assert!(parsed.kind == HostsKind::Sentinel && !parsed.tls);
        assert_eq!(
            parsed.hosts,
            ["redis://127.0.0.1:26379", "redis://10.0.0.2:26380"]
        );
        assert_eq!(parsed.master, "mymaster");
        let parsed = sentinel_parts("REDISS+SENTINEL://:s3cret@cache:26379/main/")
            .unwrap()
            .unwrap();
        assert!(parsed.tls);
        assert_eq!(parsed.hosts, ["rediss://:s3cret@cache:26379"]);
        assert_eq!(parsed.master, "main");
        assert!(sentinel_parts("redis://127.0.0.1:6379").is_none());
    }

    #[test]
    fn cluster_urls_name_the_seed_nodes() {
        let parsed = multi_host_parts("redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001/")
            .unwrap()
            .unwrap();
        assert_eq!(parsed.kind, HostsKind::Cluster);
        assert_eq!(
            parsed.hosts,
            ["redis://:pw@10.0.0.1:7000", "redis://:pw@10.0.0.2:7001"]
        );
        for bad in [
            "redis+cluster://10.0.0.1",
            "redis+cluster://10.0.0.1:7000/x",
        ] {
            let Some(Err(StoreError::Unavailable(message))) = multi_host_parts(bad) else {
                panic!("{bad} accepted");
            };
            assert!(message.contains("Cluster URL"), "{message}");
        }
    }

    #[test]
    fn bad_sentinel_urls_say_what_is_wrong_without_the_password() {
        for url in [
            "redis+sentinel://127.0.0.1:26379",
            "redis+sentinel://127.0.0.1:26379/",
            "redis+sentinel://:pw@127.0.0.1/mymaster",
            "redis+sentinel://:pw@127.0.0.1:26379,:1/mymaster",
            "redis+sentinel://127.0.0.1:26379/a/b",
        ] {
            let Some(Err(StoreError::Unavailable(message))) = sentinel_parts(url) else {
                panic!("{url} accepted");
            };
            assert!(message.contains("Sentinel URL"), "{message}");
            assert!(!message.contains("pw"), "{message}");
        }
    }
}
