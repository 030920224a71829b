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
//! Only successes are cached. The cache is bounded by weight (the token's length plus the
//! claims' JSON length plus a fixed overhead), with quick_cache's CLOCK-Pro eviction.

use std::sync::Arc;
use std::time::Duration;

use quick_cache::Weighter;

use super::revocation::{CheckedAt, Revocations};
use crate::claims::Identity;
use crate::tenant::config::Tenant;
use crate::tenant::registry::Registry;
use crate::time::{Clock, UnixTime};

/// Default weight capacity: 32 MiB of tokens and claims.
pub(crate) const DEFAULT_CAPACITY_BYTES: usize = 32 * 1024 * 1024;
/// Default longest time an entry is served, whatever its `exp`.
pub(crate) const DEFAULT_MAX_TTL: Duration = Duration::from_secs(300);
/// Fixed per-entry overhead counted in the weight (entry, Arcs, table slot).
const ENTRY_OVERHEAD: u64 = 160;
/// Typical token + claims size, to size quick_cache's table up front.
const TYPICAL_WEIGHT: usize = 2048;

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

#[derive(Clone)]
struct ByLength;

impl Weighter<Box<str>, Arc<Verified>> for ByLength {
    fn weight(&self, _token: &Box<str>, value: &Arc<Verified>) -> u64 {
        value.weight
    }
}

/// Entries of the per-thread front cache, per cache (cleared whole when full).
const LOCAL_CAPACITY: usize = 256;
/// Caches (`OktaOidc` instances) a thread keeps a front for before it starts over.
const LOCAL_CACHES: usize = 8;

type LocalEntry = (Arc<Verified>, Arc<Identity>);
/// Token → entry, with quick_cache's fast hasher (a 256-entry map needs no HashDoS defence).
type LocalTokens = std::collections::HashMap<Box<str>, LocalEntry, quick_cache::DefaultHashBuilder>;
type LocalFront = std::collections::HashMap<u64, LocalTokens>;

thread_local! {
    /// Per thread and per cache: tokens this thread served from the shared cache, with its own
    /// copy of the identity. Every hit re-checks the same rules as the shared cache.
    static LOCAL: std::cell::RefCell<LocalFront> = std::cell::RefCell::new(LocalFront::new());
}

static NEXT_CACHE_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The cache of verified tokens.
pub(crate) struct TokenCache {
    /// Process-unique id, so per-thread entries of two `OktaOidc` never mix.
    id: u64,
    entries: quick_cache::sync::Cache<Box<str>, Arc<Verified>, ByLength>,
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
            id: NEXT_CACHE_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            entries: quick_cache::sync::Cache::with_weighter(
                items,
                config.capacity_bytes as u64,
                ByLength,
            ),
            max_ttl: config.max_ttl,
            leeway,
        })
    }

    /// The identity of a token verified before, if every rule still holds; otherwise drops
    /// the entry (when there was one) and returns `None`.
    pub(crate) fn get(
        &self,
        token: &str,
        registry: &Registry,
        clock: &dyn Clock,
        revocations: &Revocations,
    ) -> Option<Arc<Identity>> {
        // Thread-local front: a hit writes nothing shared between threads (no lock, no shared
        // reference count), so a hot token scales across cores. The same rules are checked.
        let local = LOCAL.with_borrow(|front| {
            let (verified, identity) = front.get(&self.id)?.get(token)?;
            Some(
                self.still_valid(verified, registry, clock, revocations)
                    .then(|| Arc::clone(identity)),
            )
        });
        match local {
            Some(Some(identity)) => return Some(identity),
            Some(None) => LOCAL.with_borrow_mut(|front| {
                if let Some(mine) = front.get_mut(&self.id) {
                    mine.remove(token);
                }
            }),
            None => {}
        }
        let hit = self.entries.get(token)?;
        if self.still_valid(&hit, registry, clock, revocations) {
            // This thread's own copy of the identity: its reference count stays on this core.
            let identity = Arc::new(Identity::clone(&hit.identity));
            LOCAL.with_borrow_mut(|front| {
                // Entries of caches that were dropped stay until this thread makes room.
                if front.len() >= LOCAL_CACHES && !front.contains_key(&self.id) {
                    front.clear();
                }
                let mine = front.entry(self.id).or_default();
                if mine.len() >= LOCAL_CAPACITY {
                    mine.clear();
                }
                mine.insert(Box::from(token), (hit, Arc::clone(&identity)));
            });
            Some(identity)
        } else {
            // Remove only this very entry: a concurrent re-insert of a fresh one stays.
            self.entries.remove_if(token, |v| Arc::ptr_eq(v, &hit));
            None
        }
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
        let weight = (token.len() + identity.raw.len()) as u64 + ENTRY_OVERHEAD;
        self.entries.insert(
            Box::from(token),
            Arc::new(Verified {
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
}
