//! Where a [`RedisStore`](super::RedisStore) finds its primary: one node named by its URL, or
//! the primary that Redis Sentinel names for a master name, asked again at every connection (a
//! failover moves it).
//!
//! URL forms: `redis://…` and `rediss://…` (one node, as the redis crate reads them), and
//! `redis+sentinel://[[user]:password@]host:port[,host:port…]/<master name>` (the Sentinels;
//! `rediss+sentinel://` for TLS to the Sentinels and the nodes, feature `redis-tls`). The
//! password, when given, is sent to the Sentinels and to the nodes.

use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use tokio::sync::Mutex;

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
}

impl Target {
    /// Whether the primary may move (a failover): then each connection asks where it is, and
    /// a node that is no longer the primary ends the connection.
    pub(super) fn may_move(&self) -> bool {
        matches!(self, Target::Sentinel { .. })
    }

    /// A client of the primary now. For Sentinel, the Sentinels are asked, and the node they
    /// name must say it is the primary.
    pub(super) async fn primary(&self) -> Result<redis::Client, String> {
        match self {
            Target::Node(client) => Ok(client.clone()),
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

/// The sentinel URL's parts: the Sentinels' URLs and the master name, or `None` when `url` is
/// not a Sentinel URL. An error names what is wrong (never the password).
pub(super) fn sentinel_parts(url: &str) -> Option<Result<SentinelUrl, StoreError>> {
    let (scheme, rest) = url.split_once("://")?;
    let tls = match scheme.to_ascii_lowercase().as_str() {
        "redis+sentinel" | "valkey+sentinel" => false,
        "rediss+sentinel" | "valkeys+sentinel" => true,
        _ => return None,
    };
    Some(parse_sentinel(tls, rest))
}

/// A parsed `redis+sentinel://` URL.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SentinelUrl {
    pub(super) tls: bool,
    /// `redis://[userinfo@]host:port` (or `rediss://`) for each Sentinel.
    pub(super) sentinels: Vec<String>,
    pub(super) master: String,
    /// `user:password` or `:password`, when given.
    pub(super) userinfo: Option<String>,
}

fn parse_sentinel(tls: bool, rest: &str) -> Result<SentinelUrl, StoreError> {
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
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo.to_owned()), hosts),
        None => (None, authority),
    };
    let scheme = if tls { "rediss" } else { "redis" };
    let mut sentinels = Vec::new();
    for host in hosts.split(',') {
        let port_ok = host
            .rsplit_once(':')
            .is_some_and(|(name, port)| !name.is_empty() && port.parse::<u16>().is_ok());
        if !port_ok {
            return Err(invalid("each Sentinel is host:port"));
        }
        sentinels.push(match &userinfo {
            Some(userinfo) => format!("{scheme}://{userinfo}@{host}"),
            None => format!("{scheme}://{host}"),
        });
    }
    Ok(SentinelUrl {
        tls,
        sentinels,
        master: master.to_owned(),
        userinfo,
    })
}

/// The target of a Sentinel URL: the Sentinels, and how to reach the nodes they name (the
/// password and TLS of the URL).
pub(super) fn sentinel_target(url: SentinelUrl) -> Result<Target, StoreError> {
    let invalid =
        |e: redis::RedisError| StoreError::Unavailable(format!("invalid Redis Sentinel URL: {e}"));
    #[cfg(not(feature = "redis-tls"))]
    if url.tls {
        return Err(StoreError::Unavailable(
            "a rediss+sentinel:// (TLS) URL needs the `redis-tls` feature of okta-oidc".into(),
        ));
    }
    let sentinel = Sentinel::build(url.sentinels.clone()).map_err(invalid)?;
    // The nodes take the URL's credentials: read them as the redis crate reads a node URL.
    let first = url
        .sentinels
        .first()
        .map(String::as_str)
        .unwrap_or_default();
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
        assert_eq!(
            parsed,
            SentinelUrl {
                tls: false,
                sentinels: vec![
                    "redis://127.0.0.1:26379".into(),
                    "redis://10.0.0.2:26380".into()
                ],
                master: "mymaster".into(),
                userinfo: None,
            }
        );
        let parsed = sentinel_parts("REDISS+SENTINEL://:s3cret@cache:26379/main/")
            .unwrap()
            .unwrap();
        assert!(parsed.tls);
        assert_eq!(parsed.sentinels, ["rediss://:s3cret@cache:26379"]);
        assert_eq!(parsed.master, "main");
        assert!(sentinel_parts("redis://127.0.0.1:6379").is_none());
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
