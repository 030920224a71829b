//! The connection a [`RedisStore`](super::RedisStore) sends its commands on: a connection
//! manager to one primary (a node, or the one Sentinel names), or a Redis Cluster connection
//! (feature `redis-cluster`), which follows `MOVED` and `ASK` itself. One type, so that every
//! command is written once.

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::{Cmd, FromRedisValue, Pipeline, RedisFuture, RedisResult, Value};

/// A cheap handle (both kinds are clones of one multiplexed connection).
#[derive(Clone)]
pub(super) enum Conn {
    Node(ConnectionManager),
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

impl Conn {
    /// `pipe` on the revocation keys. While a cluster moves the slot of those keys (a
    /// resharding), a pipeline may come back with `ASK`, `MOVED`, `TRYAGAIN` or `CLUSTERDOWN`
    /// (the cluster client follows them for single commands): it is sent again, a little later
    /// each time, until it goes through or the caller's time limit ends it. Any other error
    /// is given back at once.
    pub(super) async fn query_keys<T: FromRedisValue>(
        &mut self,
        pipe: &impl SlotQuery,
    ) -> RedisResult<T> {
        let mut delay = std::time::Duration::from_millis(5);
        loop {
            match pipe.send(self).await {
                Err(e) if e.is_cluster_error() => {
                    tracing::debug!(error = %e, "revocation write during a slot move: sent again");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_millis(200));
                }
                result => return result,
            }
        }
    }

    /// `cmd` on the node that holds the revocations: the primary, or in a cluster the primary
    /// of the slot of `tagged_key` (every revocation key carries one hash tag). For keyless
    /// commands that read the revocations (`SCAN`, `INFO replication`).
    pub(super) async fn on_revocation_node<T: FromRedisValue>(
        &mut self,
        cmd: Cmd,
        tagged_key: &str,
    ) -> RedisResult<T> {
        match self {
            Conn::Node(c) => {
                let _ = tagged_key;
                cmd.query_async(c).await
            }
            #[cfg(feature = "redis-cluster")]
            Conn::Cluster(c) => {
                use redis::cluster_routing::{
                    Route, RoutingInfo, SingleNodeRoutingInfo, Slot, SlotAddr,
                };
                let route = Route::with_slot(Slot::for_key(tagged_key), SlotAddr::Master);
                let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
                let value = c.route_command(cmd, routing).await?;
                T::from_redis_value(value).map_err(Into::into)
            }
        }
    }
}

/// A command or pipeline on the revocation keys, sent again while their slot moves
/// ([`Conn::query_keys`]).
pub(super) trait SlotQuery {
    /// Sends it on `conn`.
    fn send<'a, T: FromRedisValue + 'a>(&'a self, conn: &'a mut Conn) -> RedisFuture<'a, T>;
}

impl SlotQuery for redis::Pipeline {
    fn send<'a, T: FromRedisValue + 'a>(&'a self, conn: &'a mut Conn) -> RedisFuture<'a, T> {
        Box::pin(self.query_async(conn))
    }
}

impl SlotQuery for Cmd {
    fn send<'a, T: FromRedisValue + 'a>(&'a self, conn: &'a mut Conn) -> RedisFuture<'a, T> {
        Box::pin(self.query_async(conn))
    }
}
