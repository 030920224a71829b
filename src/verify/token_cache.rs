//! The verified-token cache: a JWT that passed every check is remembered, so the next request
//! with the same token skips parsing and the signature check.
//!
//! Safety rules, each checked on every hit (a failed check drops the entry and the token goes
//! through full validation again, which gives the precise error):
//!
//! - Look-up is by the **whole token**: the hash only picks a bucket, the stored token is
//!   compared byte for byte, so no other token (same prefix, same payload, same signature
//!   bytes) can be served an entry.
//! - Time: `exp` (and `nbf`, `iat`) are re-checked with the configured leeway against the
//!   injected clock; an entry also lives at most `max_ttl` after it was stored.
//! - Tenant: the tenant that accepted the token must still be registered, unchanged (the same
//!   `Arc`; replacing a tenant's configuration invalidates its entries).
//! - Key: the key that verified the signature must still be in the issuer's current key set
//!   (`VerifyKey::id` is stable across refreshes while the key material is unchanged).
//!
//! Only successes are cached. The cache is bounded by weight, close to the heap an entry takes
//! (the token, twice the claims' JSON length — as received and parsed — and a fixed overhead),
//! with quick_cache's CLOCK-Pro eviction.
//!
//! Shape, for a large working set: one shared table (a keyed hash of the whole token is
//! computed once per look-up and carried in the key), whose hit costs one hash of the token,
//! a shard read lock, one byte-for-byte comparison and two reference counts — nothing is
//! copied or allocated. In front of it, per thread, a small two-way cache (256 entries per
//! `OktaOidc`, [`token_front`](super::token_front)) of the tokens this thread serves most, with
//! the thread's own copy of the identity, so that a hot token's hit writes nothing shared
//! between cores. A token enters a thread's front the second time in a row that its front set
//! is served from the table: a working set larger than the fronts is served by the table
//! without churning them.

use std::cell::RefCell;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use quick_cache::{DefaultHashBuilder, Equivalent, Weighter};

use super::revocation::{CheckedAt, Revocations};
use crate::claims::Identity;
use crate::tenant::config::Tenant;
use crate::tenant::registry::Registry;
use crate::time::{Clock, UnixTime};
use crate::verify::token_front::{Front, FrontEntry};

/// Default weight capacity: 64 MiB, about 25,000 typical Okta tokens (a 1 KB token with 500
/// bytes of claims weighs about 2.7 KB).
pub(crate) const DEFAULT_CAPACITY_BYTES: usize = 64 * 1024 * 1024;
/// Default longest time an entry is served, whatever its `exp`.
pub(crate) const DEFAULT_MAX_TTL: Duration = Duration::from_secs(300);
/// Heap bytes of an entry beyond its token and twice its raw claims (as received, and as the
/// parsed claims' strings): the `Identity` and `Verified` values, their `Arc` headers and the
/// table's slot. With it an entry's weight is its heap, as `benches/memory.rs` measures it
/// (2,148 bytes for an 816-byte token with 319 bytes of claims).
const ENTRY_OVERHEAD: u64 = 700;
/// Typical weight of an Okta token's entry, to size quick_cache's table up front.
const TYPICAL_WEIGHT: usize = 2700;

/// Configuration of the verified-token cache.
#[derive(Clone, Debug)]
pub(crate) struct TokenCacheConfig {
    pub(crate) enabled: bool,
    pub(crate) capacity_bytes: usize,
    pub(crate) max_ttl: Duration,
}

impl Default for TokenCacheConfig {
    fn default() -> Self {
        TokenCacheConfig {
            enabled: true,
            capacity_bytes: DEFAULT_CAPACITY_BYTES,
            max_ttl: DEFAULT_MAX_TTL,
        }
    }
}

/// One verified token.
struct Verified {
    /// The whole token, shared with the table's key: compared byte for byte on every hit.
    token: Arc<str>,
    identity: Arc<Identity>,
    /// The tenant that accepted the token, compared by pointer on a hit.
    tenant: Arc<Tenant>,
    /// `VerifyKey::id` of the key that verified the signature.
    key_id: u64,
    /// When the entry stops being served (`min(exp + leeway, stored + max_ttl)`).
    valid_until: UnixTime,
    /// `nbf` and `iat`, re-checked in case the clock moved back.
    not_before: Option<i64>,
    issued_at: Option<i64>,
    weight: u64,
    /// The revocation mirror's generation the identity was last checked at.
    revocations_checked: CheckedAt,
}

/// The table's key: a token and its hash, computed once per look-up.
#[derive(Clone, PartialEq, Eq)]
struct TokenKey {
    hash: u64,
    token: Arc<str>,
}

/// A look-up of a token whose hash is known.
struct Probe<'a> {
    hash: u64,
    token: &'a str,
}

impl Hash for TokenKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl Equivalent<TokenKey> for Probe<'_> {
    fn equivalent(&self, key: &TokenKey) -> bool {
        self.hash == key.hash && *self.token == *key.token
    }
}

/// The table's hasher: the key already carries a keyed hash of the whole token.
#[derive(Clone, Default)]
struct PreHashed;

/// Passes the token hash through (anything else written is folded in).
#[derive(Default)]
struct PreHashedHasher(u64);

impl BuildHasher for PreHashed {
    type Hasher = PreHashedHasher;
    fn build_hasher(&self) -> PreHashedHasher {
        PreHashedHasher::default()
    }
}

impl Hasher for PreHashedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Clone)]
struct ByWeight;

impl Weighter<TokenKey, Arc<Verified>> for ByWeight {
    fn weight(&self, _key: &TokenKey, value: &Arc<Verified>) -> u64 {
        value.weight
    }
}

type Table = quick_cache::sync::Cache<TokenKey, Arc<Verified>, ByWeight, PreHashed>;

/// Caches (`OktaOidc` instances) a thread keeps a front for; the oldest goes first.
const FRONT_CACHES: usize = 8;

thread_local! {
    /// Per thread and per cache: the tokens this thread serves most (see `token_front`).
    static FRONTS: RefCell<Vec<Front<Verified>>> = const { RefCell::new(Vec::new()) };
}

static NEXT_CACHE_ID: AtomicU64 = AtomicU64::new(1);

/// The cache of verified tokens.
pub(crate) struct TokenCache {
    /// Process-unique id, so per-thread entries of two `OktaOidc` never mix.
    id: u64,
    /// Keyed hash of a token (random per cache, so nobody can aim tokens at one bucket).
    hasher: DefaultHashBuilder,
    entries: Table,
    max_ttl: Duration,
    leeway: Duration,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCache")
            .field("entries", &self.entries.len())
            .field("weight", &self.entries.weight())
            .field("max_ttl", &self.max_ttl)
            .finish_non_exhaustive()
    }
}

impl TokenCache {
    /// A cache per `config`, or `None` when it is turned off (or has no room).
    pub(crate) fn new(config: &TokenCacheConfig, leeway: Duration) -> Option<Self> {
        if !config.enabled || config.capacity_bytes == 0 || config.max_ttl.is_zero() {
            return None;
        }
        let items = (config.capacity_bytes / TYPICAL_WEIGHT).max(16);
        Some(TokenCache {
            id: NEXT_CACHE_ID.fetch_add(1, Ordering::Relaxed),
            hasher: DefaultHashBuilder::default(),
            entries: Table::with(
                items,
                config.capacity_bytes as u64,
                ByWeight,
                PreHashed,
                Default::default(),
            ),
            max_ttl: config.max_ttl,
            leeway,
        })
    }

    /// The identity of a token verified before, if every rule still holds; otherwise drops
    /// the entry (when there was one) and returns `None`.
    ///
    /// First this thread's front (a hit writes nothing shared between threads: no lock, no
    /// shared reference count, so a hot token scales across cores), then the shared table,
    /// which answers with the shared identity (one reference count) and copies nothing. The
    /// same rules are checked either way.
    pub(crate) fn get(
        &self,
        token: &str,
        registry: &Registry,
        clock: &dyn Clock,
        revocations: &Revocations,
    ) -> Option<Arc<Identity>> {
        let hash = self.hasher.hash_one(token);
        let is_token = |v: &Verified| *v.token == *token;
        let front = FRONTS.with_borrow(|fronts| {
            let front = fronts.iter().find(|f| f.cache_id == self.id)?;
            let entry = front.find(hash, is_token)?;
            Some(
                self.still_valid(&entry.shared, registry, clock, revocations)
                    .then(|| Arc::clone(&entry.identity)),
            )
        });
        match front {
            Some(Some(identity)) => return Some(identity),
            Some(None) => FRONTS.with_borrow_mut(|fronts| {
                if let Some(front) = fronts.iter_mut().find(|f| f.cache_id == self.id) {
                    front.forget(hash, is_token);
                }
            }),
            None => {}
        }
        let hit = self.entries.get(&Probe { hash, token })?;
        if !self.still_valid(&hit, registry, clock, revocations) {
            // Remove only this very entry: a concurrent re-insert of a fresh one stays.
            self.entries
                .remove_if(&Probe { hash, token }, |v| Arc::ptr_eq(v, &hit));
            return None;
        }
        Some(self.served_from_table(hash, hit))
    }

    /// The identity of a table hit; the second hit in a row in its front set promotes it into
    /// this thread's front, with the thread's own copy of the identity.
    fn served_from_table(&self, hash: u64, hit: Arc<Verified>) -> Arc<Identity> {
        FRONTS.with_borrow_mut(|fronts| {
            let index = match fronts.iter().position(|f| f.cache_id == self.id) {
                Some(index) => index,
                None => {
                    // Fronts of caches that were dropped stay until this thread needs room.
                    if fronts.len() >= FRONT_CACHES {
                        fronts.remove(0);
                    }
                    fronts.push(Front::new(self.id));
                    fronts.len() - 1
                }
            };
            let front = &mut fronts[index];
            if !front.admit(hash) {
                return Arc::clone(&hit.identity);
            }
            let identity = Arc::new(Identity::clone(&hit.identity));
            front.promote(FrontEntry {
                hash,
                shared: hit,
                identity: Arc::clone(&identity),
            });
            identity
        })
    }

    fn still_valid(
        &self,
        hit: &Verified,
        registry: &Registry,
        clock: &dyn Clock,
        revocations: &Revocations,
    ) -> bool {
        let now = UnixTime::now(clock);
        if now >= hit.valid_until {
            return false;
        }
        // One atomic load while no revocation arrived since the identity was last checked.
        if !revocations.allows_cached(&hit.identity, &hit.revocations_checked, now) {
            return false;
        }
        let horizon = now.after(self.leeway).as_secs();
        if hit.not_before.is_some_and(|nbf| nbf > horizon)
            || hit.issued_at.is_some_and(|iat| iat > horizon)
        {
            return false;
        }
        registry
            .with_issuer(&hit.tenant.issuer, |entry| {
                entry.tenants.iter().any(|t| Arc::ptr_eq(t, &hit.tenant))
                    && entry.has_key(hit.key_id)
            })
            .unwrap_or(false)
    }

    /// Remembers a token that has just passed every check.
    pub(crate) fn insert(
        &self,
        token: &str,
        identity: &Arc<Identity>,
        tenant: &Arc<Tenant>,
        key_id: u64,
        clock: &dyn Clock,
        revocations_generation: u64,
    ) {
        let claims = &identity.claims;
        let Some(exp) = claims.exp else { return };
        let now = UnixTime::now(clock);
        let valid_until = UnixTime::from_secs(exp)
            .after(self.leeway)
            .min(now.after(self.max_ttl));
        if valid_until <= now {
            return;
        }
        // The raw claims twice: as received, and as the parsed claims' strings.
        let weight = (token.len() + 2 * identity.raw.len()) as u64 + ENTRY_OVERHEAD;
        let token: Arc<str> = Arc::from(token);
        let key = TokenKey {
            hash: self.hasher.hash_one(&*token),
            token: Arc::clone(&token),
        };
        self.entries.insert(
            key,
            Arc::new(Verified {
                token,
                identity: Arc::clone(identity),
                tenant: Arc::clone(tenant),
                key_id,
                valid_until,
                not_before: claims.nbf,
                issued_at: claims.iat,
                weight,
                revocations_checked: CheckedAt::new(revocations_generation),
            }),
        );
    }

    /// How many tokens are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_when_disabled_or_empty() {
        let leeway = Duration::from_secs(120);
        let off = TokenCacheConfig {
            enabled: false,
            ..TokenCacheConfig::default()
        };
        assert!(TokenCache::new(&off, leeway).is_none());
        let empty = TokenCacheConfig {
            capacity_bytes: 0,
            ..TokenCacheConfig::default()
        };
        assert!(TokenCache::new(&empty, leeway).is_none());
        let cache = TokenCache::new(&TokenCacheConfig::default(), leeway).unwrap();
        assert_eq!(cache.len(), 0);
    }

    /// A token served from the shared table gets the shared identity; the second time in a row,
    /// it is promoted into this thread's front with the thread's own copy, which later hits
    /// return; a token that is not the same bytes is never served, from either.
    #[cfg(feature = "test-util")]
    #[tokio::test]
    async fn table_then_front_with_the_threads_own_identity() {
        let okta = crate::testing::MockOkta::start().await;
        let oidc = crate::OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(crate::Tenant::new("acme", okta.issuer()).client_id(okta.client_id()))
            .background_refresh(false)
            .build()
            .await
            .unwrap();
        let verifier = oidc.verifier();
        let cache = verifier.token_cache.as_ref().unwrap();
        let get = |token: &str| {
            cache.get(
                token,
                &verifier.tenants.registry,
                verifier.provider.clock.as_ref(),
                &verifier.revocations,
            )
        };
        let token = okta.id_token().build();
        let verified = oidc.validate(&token).await.unwrap().into_identity();
        let first = get(&token).unwrap();
        assert!(Arc::ptr_eq(&first, &verified), "the table's identity");
        let promoted = get(&token).unwrap();
        assert!(!Arc::ptr_eq(&promoted, &verified), "this thread's copy");
        assert_eq!(promoted.claims, verified.claims);
        assert_eq!(promoted.raw, verified.raw);
        let front_hit = get(&token).unwrap();
        assert!(Arc::ptr_eq(&front_hit, &promoted), "served by the front");
        let mut other = token.clone();
        other.push('A');
        assert!(get(&other).is_none());
        assert!(get(&token[..token.len() - 1]).is_none());
        assert_eq!(cache.len(), 1);
    }
}
