//! The revocation check every accepted identity passes, against the store's local mirror (never
//! the network), and the verifier's side of recording revocations and single-use markers.
//!
//! An identity is refused when, in its tenant, the mirror holds:
//!
//! - its `sub` or `uid` ([`RevocationKind::Subject`]), its `email` — or a `sub` that is an email
//!   address, as Okta access tokens carry — ([`RevocationKind::Email`]), or its `sid`
//!   ([`RevocationKind::Sid`]), revoked **before** the credential was issued (a session: when
//!   it signed in, to the millisecond; a token: its `iat`, to the second, so a token issued in
//!   the very second of a revocation is refused too — and a token without `iat` always is);
//! - its `jti` ([`RevocationKind::TokenId`]), its session id ([`RevocationKind::Session`]), or
//!   for an ID token accepted as a bearer, its digest ([`RevocationKind::TokenDigest`], kept
//!   in the identity when it was accepted: a cached hit computes nothing).
//!
//! The mirror's staleness limit (off by default) makes sessions and ID tokens fail closed
//! (`503`) while the store has not been synced for that long. A remote mirror that has never
//! been synced (an instance that started while Redis was away) refuses, with `503`, every
//! identity issued before it was made: it cannot know which of them were revoked. A cached
//! identity needs no such check: it passed [`Revocations::check`] in this process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::rules::SingleUse;
use crate::claims::Identity;
use crate::error::{AuthError, TokenError};
use crate::store::{Revocation, RevocationKind, RevocationStore, StoreError};
use crate::time::UnixTime;

/// How long a user-wide revocation lasts unless a longer session lifetime asks for more: Okta's
/// longest token lifetime (one day).
pub(crate) const DEFAULT_REVOCATION_TTL: Duration = Duration::from_secs(24 * 3600);
/// `Retry-After` of a refusal the store causes (a stale mirror, a marker not recorded).
const STORE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// The verifier's revocation settings and store.
pub(crate) struct Revocations {
    pub(crate) store: Arc<dyn RevocationStore>,
    /// Whether identities are checked against the mirror (on by default).
    pub(crate) enforce: bool,
    /// Past this time without a sync, sessions and ID tokens are refused with `503`.
    pub(crate) staleness_limit: Option<Duration>,
    /// How long user-wide revocations last, in ms (raised by `require_ttl`).
    ttl_ms: AtomicU64,
    /// When the cold-start refusal was last logged (ms since the epoch).
    cold_start_logged_ms: AtomicU64,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations")
            .field("enforce", &self.enforce)
            .field("staleness_limit", &self.staleness_limit)
            .field("ttl_ms", &self.ttl_ms.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Per cached entry: the mirror generation its identity was last checked at.
#[derive(Debug)]
pub(crate) struct CheckedAt(AtomicU64);

impl CheckedAt {
    /// Checked at `generation` (the verifier checked the identity before caching it).
    pub(crate) fn new(generation: u64) -> Self {
        CheckedAt(AtomicU64::new(generation))
    }
}

impl Revocations {
    pub(crate) fn new(
        store: Arc<dyn RevocationStore>,
        enforce: bool,
        staleness_limit: Option<Duration>,
        ttl: Duration,
    ) -> Self {
        Revocations {
            store,
            enforce,
            staleness_limit,
            ttl_ms: AtomicU64::new(millis(ttl)),
            cold_start_logged_ms: AtomicU64::new(0),
        }
    }

    /// Makes user-wide revocations last at least `ttl` (a session lifetime: a revoked session
    /// must stay revoked as long as its cookie could be used).
    #[cfg_attr(not(feature = "login"), allow(dead_code))]
    pub(crate) fn require_ttl(&self, ttl: Duration) {
        self.ttl_ms.fetch_max(millis(ttl), Ordering::Relaxed);
    }

    /// How long user-wide revocations last.
    pub(crate) fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    /// The mirror generation now (for a cache entry made now).
    pub(crate) fn generation(&self) -> u64 {
        self.store.mirror().generation()
    }

    /// Refuses a revoked identity, a session / ID token while the mirror is stale, and an
    /// identity issued before a mirror that was never synced was made.
    pub(crate) fn check(&self, identity: &Identity, now: UnixTime) -> Result<(), AuthError> {
        self.check_staleness(identity, now)?;
        if !self.enforce {
            return Ok(());
        }
        if let Some(made_ms) = self.store.mirror().first_sync_cutoff_ms()
            && issued_ms(identity) < made_ms
        {
            self.log_cold_start(identity, now);
            return Err(AuthError::TemporarilyUnavailable {
                retry_after: Some(STORE_RETRY_AFTER),
            });
        }
        if is_revoked(self.store.as_ref(), identity, now) {
            tracing::debug!(tenant = &*identity.tenant.id, "revoked credential refused");
            return Err(TokenError::Revoked.into());
        }
        Ok(())
    }

    /// The check of a cached identity: one atomic load while the mirror has not changed since
    /// it was last checked; otherwise the full look-up. `false`: serve it no more.
    pub(crate) fn allows_cached(
        &self,
        identity: &Identity,
        checked: &CheckedAt,
        now: UnixTime,
    ) -> bool {
        if self.staleness_limit.is_some() && self.check_staleness(identity, now).is_err() {
            return false;
        }
        if !self.enforce {
            return true;
        }
        let generation = self.generation();
        if checked.0.load(Ordering::Relaxed) == generation {
            return true;
        }
        if is_revoked(self.store.as_ref(), identity, now) {
            return false;
        }
        checked.0.store(generation, Ordering::Relaxed);
        true
    }

    /// At most one line a minute: the store has not answered since this instance started.
    fn log_cold_start(&self, identity: &Identity, now: UnixTime) {
        let now_ms = now.as_millis().max(1);
        let last = self.cold_start_logged_ms.load(Ordering::Relaxed);
        if (last == 0 || now_ms.saturating_sub(last) >= 60_000)
            && self
                .cold_start_logged_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                tenant = &*identity.tenant.id,
                "revocation store not synced since this instance started: identities issued \
                 before the start are refused (503) until it is (at most one line a minute)"
            );
        }
    }

    fn check_staleness(&self, identity: &Identity, now: UnixTime) -> Result<(), AuthError> {
        let Some(limit) = self.staleness_limit else {
            return Ok(());
        };
        if !identity.issuance.user_credential {
            return Ok(());
        }
        let stale = self
            .store
            .mirror()
            .staleness(Duration::from_millis(now.as_millis()));
        if stale > limit {
            tracing::warn!(
                stale_secs = stale.as_secs(),
                "revocation mirror stale: session refused (fail closed)"
            );
            return Err(AuthError::TemporarilyUnavailable {
                retry_after: Some(STORE_RETRY_AFTER),
            });
        }
        Ok(())
    }

    /// A user-wide revocation of `value` of `kind` in `tenant`: credentials issued before
    /// `now`, for the revocation TTL.
    pub(crate) fn user_wide(
        &self,
        kind: RevocationKind,
        tenant: &str,
        value: &str,
        now: UnixTime,
    ) -> Revocation {
        Revocation::new(
            kind,
            tenant,
            value,
            now.as_millis(),
            now.after(self.ttl()).as_millis(),
        )
    }

    /// Records a revocation through the store (every instance), and evicts cached identities it
    /// covers (the mirror generation moves).
    pub(crate) async fn record(&self, revocation: &Revocation) -> Result<(), StoreError> {
        self.store.record(revocation).await
    }

    /// Marks a logout signal's `jti` used until its `exp` (plus the leeway), on every instance: a
    /// replay is refused, and so is a signal whose use cannot be recorded (the store is away:
    /// `503`, the sender retries).
    pub(crate) async fn use_up(
        &self,
        tenant_id: &str,
        marker: SingleUse<'_>,
        leeway: Duration,
        now: UnixTime,
    ) -> Result<(), AuthError> {
        let until = UnixTime::from_secs(marker.exp).after(leeway);
        let ttl = until.since(now).max(Duration::from_secs(1));
        let key = format!("{tenant_id}\u{1f}{}", marker.jti);
        match self.mark_used(marker.kind, &key, ttl).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(TokenError::Replayed.into()),
            Err(e) => {
                tracing::error!(error = %e, kind = marker.kind, "single-use signal refused: its jti cannot be recorded");
                Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(STORE_RETRY_AFTER),
                })
            }
        }
    }

    /// Single use of `key` of `kind` for `ttl`, on every instance.
    pub(crate) async fn mark_used(
        &self,
        kind: &str,
        key: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.store.mark_used(kind, key, ttl).await
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// When the credential was issued, ms: a session's sign-in, else the start of the token's `iat`
/// second (so a token of a revocation's own second is refused too); `0` without `iat`.
fn issued_ms(identity: &Identity) -> u64 {
    match identity.issuance.started_at {
        Some(started) => started.as_millis(),
        None => identity
            .claims
            .iat
            .and_then(|iat| u64::try_from(iat).ok())
            .map_or(0, |iat| iat.saturating_mul(1000)),
    }
}

/// Whether the mirror revokes `identity` at `now`.
fn is_revoked(store: &dyn RevocationStore, identity: &Identity, now: UnixTime) -> bool {
    let mirror = store.mirror();
    if mirror.is_empty() {
        return false;
    }
    let now_ms = now.as_millis();
    // An access token of the app's own authorization server: its user's tenant revokes it too.
    std::iter::once(&*identity.tenant.id)
        .chain(identity.issuance.user_tenant.as_deref())
        .any(|tenant| is_revoked_in(mirror, tenant, identity, now_ms))
}

/// Whether the mirror revokes `identity` in `tenant` at `now_ms`.
fn is_revoked_in(
    mirror: &crate::store::RevocationMirror,
    tenant: &str,
    identity: &Identity,
    now_ms: u64,
) -> bool {
    let claims = &identity.claims;
    let issued_ms = issued_ms(identity);
    let issued_before = |kind: RevocationKind, value: &str| {
        !value.is_empty()
            && mirror
                .revoked_before(kind, tenant, value, now_ms)
                .is_some_and(|before| issued_ms < before)
    };
    let whole = |kind: RevocationKind, value: &str| {
        mirror.revoked_before(kind, tenant, value, now_ms).is_some()
    };
    if issued_before(RevocationKind::Subject, &claims.sub)
        || claims
            .uid
            .as_deref()
            .is_some_and(|uid| issued_before(RevocationKind::Subject, uid))
        || claims
            .sid
            .as_deref()
            .is_some_and(|sid| issued_before(RevocationKind::Sid, sid))
    {
        return true;
    }
    let email = claims.email.as_deref().map(str::to_lowercase);
    let sub_email = claims.sub.contains('@').then(|| claims.sub.to_lowercase());
    if email
        .iter()
        .chain(sub_email.iter())
        .any(|e| issued_before(RevocationKind::Email, e))
    {
        return true;
    }
    claims
        .jti
        .as_deref()
        .is_some_and(|jti| whole(RevocationKind::TokenId, jti))
        || identity
            .issuance
            .session_id
            .as_deref()
            .is_some_and(|id| whole(RevocationKind::Session, id))
        || identity
            .issuance
            .token_digest
            .as_deref()
            .is_some_and(|d| whole(RevocationKind::TokenDigest, d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::{CredentialSource, Issuance, StandardClaims, TenantRef};
    use crate::store::MemoryStore;

    const NOW_MS: u64 = 1_700_000_000_500;

    fn identity(claims: &str, issuance: Issuance) -> Identity {
        Identity {
            claims: serde_json::from_str::<StandardClaims>(claims).unwrap(),
            raw: claims.into(),
            tenant: TenantRef {
                id: "t".into(),
                issuer: "https://t.example".into(),
                client_id: None,
            },
            source: CredentialSource::Jwt,
            issuance,
        }
    }

    /// A store whose mirror is a remote one (its markers and records: a memory store's).
    struct Remote(crate::store::RevocationMirror, MemoryStore);

    impl RevocationStore for Remote {
        fn mirror(&self) -> &crate::store::RevocationMirror {
            &self.0
        }
        fn record<'a>(&'a self, r: &'a Revocation) -> crate::store::StoreFuture<'a, ()> {
            self.1.record(r)
        }
        fn mark_used<'a>(
            &'a self,
            kind: &'a str,
            key: &'a str,
            ttl: Duration,
        ) -> crate::store::StoreFuture<'a, bool> {
            self.1.mark_used(kind, key, ttl)
        }
    }

    fn revocations(limit: Option<Duration>) -> (Revocations, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::new());
        let shared: Arc<dyn RevocationStore> = Arc::clone(&store) as _;
        (
            Revocations::new(shared, true, limit, DEFAULT_REVOCATION_TTL),
            store,
        )
    }

    fn revoke(store: &MemoryStore, kind: RevocationKind, value: &str, before_ms: u64) {
        let r = Revocation::new(kind, "t", value, before_ms, NOW_MS + 3_600_000);
        store.mirror().apply(r, Duration::from_millis(NOW_MS));
    }

    fn now() -> UnixTime {
        UnixTime::from_secs(1_700_000_000).after(Duration::from_millis(500))
    }

    #[test]
    fn a_token_of_the_revocations_own_second_is_refused_a_later_one_is_not() {
        let (r, store) = revocations(None);
        revoke(&store, RevocationKind::Subject, "u", NOW_MS);
        let same_second = identity(r#"{"sub":"u","iat":1700000000}"#, Issuance::default());
        let next_second = identity(r#"{"sub":"u","iat":1700000001}"#, Issuance::default());
        let no_iat = identity(r#"{"sub":"u"}"#, Issuance::default());
        assert!(r.check(&same_second, now()).is_err());
        assert!(r.check(&no_iat, now()).is_err());
        assert!(r.check(&next_second, now()).is_ok());
        // A session compares its sign-in time to the millisecond.
        let session = |ms: u64| Issuance {
            started_at: Some(UnixTime::from_secs(0).after(Duration::from_millis(ms))),
            ..Issuance::default()
        };
        let claims = r#"{"sub":"u","iat":1699999000}"#;
        assert!(
            r.check(&identity(claims, session(NOW_MS - 1)), now())
                .is_err()
        );
        assert!(
            r.check(&identity(claims, session(NOW_MS + 1)), now())
                .is_ok()
        );
    }

    #[test]
    fn uid_email_sid_jti_and_session_id_are_matched() {
        let (r, store) = revocations(None);
        revoke(&store, RevocationKind::Subject, "00u1", NOW_MS);
        revoke(&store, RevocationKind::Email, "Ann@Example.com", NOW_MS);
        revoke(&store, RevocationKind::Sid, "sid-1", NOW_MS);
        revoke(&store, RevocationKind::TokenId, "jti-1", u64::MAX);
        revoke(&store, RevocationKind::Session, "s-1", u64::MAX);
        let old = r#""iat":1600000000"#;
        for claims in [
            format!(r#"{{"sub":"x","uid":"00u1",{old}}}"#),
            format!(r#"{{"sub":"x","email":"ANN@example.com",{old}}}"#),
            format!(r#"{{"sub":"ann@example.COM",{old}}}"#),
            format!(r#"{{"sub":"x","sid":"sid-1",{old}}}"#),
            r#"{"sub":"x","jti":"jti-1","iat":1800000000}"#.to_owned(),
        ] {
            assert!(
                r.check(&identity(&claims, Issuance::default()), now())
                    .is_err(),
                "{claims}"
            );
        }
        let session = Issuance {
            session_id: Some("s-1".into()),
            started_at: Some(UnixTime::from_secs(1_800_000_000)),
            ..Issuance::default()
        };
        assert!(
            r.check(&identity(r#"{"sub":"x"}"#, session), now())
                .is_err()
        );
        let other = identity(
            &format!(r#"{{"sub":"y","email":"bob@example.com",{old}}}"#),
            Issuance::default(),
        );
        assert!(r.check(&other, now()).is_ok());
    }

    #[test]
    fn an_id_token_is_matched_by_its_digest() {
        let (r, store) = revocations(None);
        let digest = crate::store::token_digest("h.p.s");
        revoke(&store, RevocationKind::TokenDigest, &digest, u64::MAX);
        let with = |d: &str| Issuance {
            token_digest: Some(d.into()),
            ..Issuance::default()
        };
        let claims = r#"{"sub":"u","iat":1800000000}"#;
        assert!(r.check(&identity(claims, with(&digest)), now()).is_err());
        let other = crate::store::token_digest("h.p.t");
        assert!(r.check(&identity(claims, with(&other)), now()).is_ok());
        assert!(
            r.check(&identity(claims, Issuance::default()), now())
                .is_ok()
        );
    }

    #[test]
    fn a_cached_identity_is_looked_up_again_only_when_the_mirror_moved() {
        let (r, store) = revocations(None);
        let token = identity(r#"{"sub":"u","iat":1600000000}"#, Issuance::default());
        let checked = CheckedAt::new(r.generation());
        assert!(r.allows_cached(&token, &checked, now()));
        revoke(&store, RevocationKind::Subject, "someone-else", NOW_MS);
        assert!(r.allows_cached(&token, &checked, now()));
        assert_eq!(
            checked.0.load(Ordering::Relaxed),
            r.generation(),
            "checked at the new generation"
        );
        revoke(&store, RevocationKind::Subject, "u", NOW_MS);
        assert!(!r.allows_cached(&token, &checked, now()));
    }

    #[test]
    fn a_stale_mirror_fails_closed_for_sessions_and_id_tokens_only() {
        // A mirror of a remote store, last synced at NOW - 60 s.
        let remote = crate::store::RevocationMirror::remote(Duration::from_millis(NOW_MS - 60_000));
        remote.mark_synced(Duration::from_millis(NOW_MS - 60_000));
        let shared: Arc<dyn RevocationStore> = Arc::new(Remote(remote, MemoryStore::new()));
        let strict = Revocations::new(
            Arc::clone(&shared),
            true,
            Some(Duration::from_secs(30)),
            DEFAULT_REVOCATION_TTL,
        );
        let lenient = Revocations::new(shared, true, None, DEFAULT_REVOCATION_TTL);
        let id_token = identity(
            r#"{"sub":"u","iat":1700000000}"#,
            Issuance {
                user_credential: true,
                ..Issuance::default()
            },
        );
        let access_token = identity(r#"{"sub":"u","iat":1700000000}"#, Issuance::default());
        assert!(matches!(
            strict.check(&id_token, now()),
            Err(AuthError::TemporarilyUnavailable {
                retry_after: Some(_)
            })
        ));
        assert!(!strict.allows_cached(&id_token, &CheckedAt::new(strict.generation()), now()));
        assert!(strict.check(&access_token, now()).is_ok());
        assert!(lenient.check(&id_token, now()).is_ok(), "off by default");
    }

    #[test]
    fn until_the_first_sync_identities_issued_before_the_mirror_are_refused() {
        let made = Duration::from_millis(NOW_MS - 10_000);
        let mirror = crate::store::RevocationMirror::remote(made);
        let shared: Arc<dyn RevocationStore> = Arc::new(Remote(mirror, MemoryStore::new()));
        let r = Revocations::new(Arc::clone(&shared), true, None, DEFAULT_REVOCATION_TTL);
        let before = identity(r#"{"sub":"u","iat":1699999980}"#, Issuance::default());
        let after = identity(r#"{"sub":"u","iat":1699999995}"#, Issuance::default());
        let session_after = identity(
            r#"{"sub":"u","iat":1600000000}"#,
            Issuance {
                started_at: Some(UnixTime::from_secs(1_699_999_995)),
                ..Issuance::default()
            },
        );
        assert!(matches!(
            r.check(&before, now()),
            Err(AuthError::TemporarilyUnavailable {
                retry_after: Some(_)
            })
        ));
        assert!(
            r.check(&identity(r#"{"sub":"u"}"#, Issuance::default()), now())
                .is_err()
        );
        assert!(r.check(&after, now()).is_ok());
        assert!(r.check(&session_after, now()).is_ok(), "signed in after");
        let off = Revocations::new(Arc::clone(&shared), false, None, DEFAULT_REVOCATION_TTL);
        assert!(off.check(&before, now()).is_ok(), "checks off");
        shared.mirror().mark_synced(Duration::from_millis(NOW_MS));
        assert!(r.check(&before, now()).is_ok(), "synced once: served");
    }
}
