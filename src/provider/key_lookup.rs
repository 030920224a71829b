//! A token's key in an issuer's key cache: found in the current set in place, else after a
//! refetch as the token's origin allows (cooled down for anyone's token, at once for the
//! provider's own), with the answers for a `kid` that is still unknown.

use std::sync::Arc;
use std::time::Duration;

use super::jwk::{Lookup, VerifyKey};
use super::key_cache::{Join, KeyCache, Trigger};
use crate::algorithm::Algorithm;
use crate::error::{AuthError, TokenError};

/// What may be done about a `kid` that the current key set lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refetch {
    /// Nothing: the token is expired anyway (unknown key, 401).
    Never,
    /// One shared refetch, at most once per cooldown: anyone may have sent the token. During
    /// the cooldown the answer is "retry after the seconds left" (503), not "invalid".
    CooledDown,
    /// One shared refetch at once, whatever the cooldown: the token came from the provider over
    /// the back channel ([`Trigger::BackChannel`]).
    Now,
}

impl KeyCache {
    /// The key of a token header (`kid`, `alg`) in the current key set, when it is there: the
    /// usual case, answered in place (lock-free, no reference count touched for the set).
    pub(crate) fn current_key(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyKey>> {
        let state = self.state();
        self.observe_age(&state);
        match state.keys.as_ref()?.find(kid, alg) {
            Lookup::Found(key) => Some(Arc::clone(key)),
            _ => None,
        }
    }

    /// Finds the key of a token header (`kid`, `alg`); for an unknown kid, refetches the key
    /// set as `refetch` allows: one refetch shared with every waiter, cooled down for tokens
    /// that anyone may send, at once for the provider's own. A refetch that was running
    /// already may predate the key, so after it the key set is fetched once more, on the same
    /// terms.
    pub(crate) async fn key_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
        refetch: Refetch,
    ) -> Result<Arc<VerifyKey>, AuthError> {
        /// A joined refresh, then one of our own: never more.
        const MAX_ROUNDS: u8 = 2;
        if let Some(key) = self.current_key(kid, alg) {
            return Ok(key);
        }
        let cache = self;
        let keys_unavailable = || AuthError::KeysUnavailable {
            issuer: Arc::clone(&cache.issuer),
        };
        let mut keys = match cache.keys() {
            Some(keys) => keys,
            None => cache.ensure_loaded().await.map_err(|e| {
                tracing::warn!(issuer = &*cache.issuer, error = %e, "keys unavailable");
                keys_unavailable()
            })?,
        };
        let trigger = match refetch {
            Refetch::Now => Trigger::BackChannel,
            Refetch::Never | Refetch::CooledDown => Trigger::Request,
        };
        let mut rounds = 0;
        loop {
            match keys.find(kid, alg) {
                Lookup::Found(key) => return Ok(Arc::clone(key)),
                Lookup::Ambiguous => return Err(TokenError::AmbiguousKey.into()),
                Lookup::WrongAlgorithm => return Err(TokenError::KeyAlgorithmMismatch.into()),
                Lookup::Unknown if rounds >= MAX_ROUNDS || refetch == Refetch::Never => {
                    return Err(cache.unknown_key());
                }
                Lookup::Unknown => {
                    rounds += 1;
                    match cache.refresh(trigger, Some(keys.generation)) {
                        Join::Started(fut) => {
                            tracing::debug!(
                                issuer = &*cache.issuer,
                                ?trigger,
                                "unknown kid: refetching keys"
                            );
                            let _ = fut.await;
                            rounds = MAX_ROUNDS;
                        }
                        Join::Joined(fut) => {
                            let _ = fut.await;
                        }
                        // Fetched since we looked: as new as a refetch of our own.
                        Join::Changed => rounds = MAX_ROUNDS,
                        Join::CoolingDown(left) => return Err(cache.refetch_delayed(left)),
                    }
                    keys = cache.keys().ok_or_else(keys_unavailable)?;
                }
            }
        }
    }

    /// The answer for a `kid` the key set lacks while a refetch is held back by the cooldown:
    /// retry once it ends (503 with `Retry-After`, the seconds left, rounded up). The token may
    /// be signed with a key published since the last fetch, and its client should keep it; a
    /// made-up `kid` costs this answer and no fetch.
    fn refetch_delayed(&self, left: Duration) -> AuthError {
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        tracing::debug!(
            issuer = &*self.issuer,
            retry_after_secs = secs,
            "unknown kid during the refetch cooldown"
        );
        AuthError::TemporarilyUnavailable {
            retry_after: Some(Duration::from_secs(secs.max(1))),
        }
    }

    /// The answer for a `kid` the key set lacks: invalid (401) when the key set is current, but
    /// unavailable (503, retry) while the last refresh failed. The provider may have published a
    /// key we could not fetch, and a client told its valid token is invalid would throw it away.
    fn unknown_key(&self) -> AuthError {
        let cache = self;
        if cache.state().last_error.is_some() {
            tracing::warn!(
                issuer = &*cache.issuer,
                "unknown kid while the key set cannot be refreshed"
            );
            AuthError::KeysUnavailable {
                issuer: Arc::clone(&cache.issuer),
            }
        } else {
            TokenError::UnknownKey.into()
        }
    }
}
