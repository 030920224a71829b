//! Revocations and single-use markers, shared by every instance of the app.
//!
//! One trait, [`RevocationStore`], two implementations:
//!
//! - [`MemoryStore`] (the default): embedded, for one instance;
//! - [`RedisStore`] (feature `redis`): for many instances on one Redis.
//!
//! What a store records, each with a time to live no longer than the longest credential it can
//! affect ([`Revocation`]):
//!
//! - "revoked before T" per (tenant, subject), per (tenant, email) and per (tenant, `sid`);
//! - single credentials (a session id, a token's `jti`) until they expire;
//! - single-use markers ([`RevocationStore::mark_used`]): the login `state`, the `jti` of every
//!   logout token and revocation request, of every identity assertion grant (ID-JAG).
//!
//! **The request path never waits on the store.** Every store keeps a local
//! [`RevocationMirror`]; the [`OktaOidc`](crate::OktaOidc) verifier consults the mirror once for
//! every identity it accepts (bearer JWTs, introspected tokens, session cookies, and the
//! identities of both caches). The Redis store fills its mirror at start, keeps it current
//! through pub/sub, and re-syncs after a reconnect and periodically.

mod markers;
mod memory;
mod mirror;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis")]
mod redis_config;
#[cfg(feature = "redis")]
mod redis_conn;
#[cfg(feature = "redis")]
mod redis_state;
#[cfg(feature = "redis")]
mod redis_sync;
#[cfg(feature = "redis")]
mod redis_target;
mod revocation;
mod revocation_store;

#[cfg(feature = "login")]
pub(crate) use self::markers::LOGIN_STATE;
pub(crate) use self::markers::{DPOP_JTI, GTR_JTI, ID_JAG_JTI, LOGOUT_JTI};
pub use self::memory::{DroppedMarkers, MarkerLimits, MemoryStore};
pub use self::mirror::RevocationMirror;
#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
#[cfg(feature = "redis")]
pub use self::redis_config::RedisStoreConfig;
pub use self::revocation::{Revocation, RevocationKind, token_digest};
pub use self::revocation_store::{RevocationStore, StoreError, StoreFuture};
