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
