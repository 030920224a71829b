//! Key sets: lenient parsing, a lock-free cache per issuer, refresh off the request path,
//! single flight, cooldown, last good set kept.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

use crate::clock::now_millis;
use crate::discovery::{ProviderMetadata, discover};
use crate::error::LoadError;
use crate::fetch::{Fetched, max_age};
use crate::oidc::Shared as Ctx;

/// When and how often key sets are refreshed.
///
/// The background refresh follows the key set's `Cache-Control: max-age`, clamped to
/// [`min_refresh`](Self::min_refresh)..=[`max_refresh`](Self::max_refresh). A token with an
/// unknown `kid` triggers one shared refetch, at most once per
/// [`unknown_kid_cooldown`](Self::unknown_kid_cooldown).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRefreshPolicy {
    /// Lower bound of the background refresh interval (default 5 min).
    pub min_refresh: Duration,
    /// Upper bound of the background refresh interval (default 24 h).
    pub max_refresh: Duration,
    /// Interval when the key set has no `max-age` (default 1 h).
    pub default_refresh: Duration,
    /// Least time between two refetches caused by requests (unknown `kid`, keys never loaded);
    /// default 30 s.
    pub unknown_kid_cooldown: Duration,
    /// First retry delay after a failed background refresh, doubled up to `min_refresh`
    /// (default 10 s).
    pub retry_after_failure: Duration,
}

impl Default for KeyRefreshPolicy {
    fn default() -> Self {
        KeyRefreshPolicy {
            min_refresh: Duration::from_secs(5 * 60),
            max_refresh: Duration::from_secs(24 * 3600),
            default_refresh: Duration::from_secs(3600),
            unknown_kid_cooldown: Duration::from_secs(30),
            retry_after_failure: Duration::from_secs(10),
        }
    }
}

impl KeyRefreshPolicy {
    /// The delay before the next background refresh after a successful fetch.
    pub(crate) fn next_interval(&self, cache_control: Option<&str>) -> Duration {
        max_age(cache_control)
            .unwrap_or(self.default_refresh)
            .clamp(self.min_refresh, self.max_refresh.max(self.min_refresh))
    }

    /// The delay before retrying after `failures` consecutive failures.
    pub(crate) fn retry_interval(&self, failures: u32) -> Duration {
        let factor = 1u32
            .checked_shl(failures.saturating_sub(1).min(16))
            .unwrap_or(u32::MAX);
        self.retry_after_failure
            .saturating_mul(factor)
            .min(self.min_refresh.max(self.retry_after_failure))
    }
}

static NEXT_KEY_ID: AtomicU64 = AtomicU64::new(1);

/// One usable verification key.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
    /// Process-unique id; kept across refreshes while the key material is unchanged.
    pub(crate) id: u64,
    fingerprint: String,
}

impl fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A parsed key set.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    pub(crate) keys: Vec<Arc<VerifyKey>>,
    pub(crate) generation: u64,
}

/// The result of looking a token's key up.
pub(crate) enum Lookup<'a> {
    Found(&'a Arc<VerifyKey>),
    Unknown,
    Ambiguous,
    WrongAlgorithm,
}

impl KeySet {
    /// Finds the key for a token header. With a `kid`, the key of that id (which must be for
    /// `alg`); without, the single key of `alg`.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        match kid {
            Some(kid) => match self.keys.iter().find(|k| k.kid.as_deref() == Some(kid)) {
                Some(k) if k.alg == alg => Lookup::Found(k),
                Some(_) => Lookup::WrongAlgorithm,
                None => Lookup::Unknown,
            },
            None => {
                let mut matching = self.keys.iter().filter(|k| k.alg == alg);
                match (matching.next(), matching.next()) {
                    (Some(k), None) => Lookup::Found(k),
                    (None, _) => Lookup::Unknown,
                    (Some(_), Some(_)) => Lookup::Ambiguous,
                }
            }
        }
    }

    /// Whether a key of this id is in the set.
    pub(crate) fn contains_id(&self, id: u64) -> bool {
        self.keys.iter().any(|k| k.id == id)
    }
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Parses a JWKS document leniently: every key that cannot be used is skipped, one at a time,
/// with a `tracing` event saying why. Only asymmetric signature keys for an allowed algorithm
/// are kept; `oct` (HMAC) keys never are.
pub(crate) fn parse_jwks(
    body: &[u8],
    allowed: &[Algorithm],
    previous: Option<&KeySet>,
    issuer: &str,
) -> Result<Vec<Arc<VerifyKey>>, LoadError> {
    let raw: RawJwks =
        serde_json::from_slice(body).map_err(|e| LoadError::Document(format!("key set: {e}")))?;
    let mut keys: Vec<Arc<VerifyKey>> = Vec::with_capacity(raw.keys.len());
    for (index, value) in raw.keys.into_iter().enumerate() {
        match parse_key(value, allowed) {
            Ok((kid, alg, fingerprint, key)) => {
                if kid.is_some() && keys.iter().any(|k| k.kid == kid) {
                    tracing::warn!(issuer, index, kid = ?kid, "skipping key: duplicate kid");
                    continue;
                }
                // The same key listed twice without a kid: keep one, or tokens without a kid
                // would find two candidates and be refused as ambiguous.
                if kid.is_none()
                    && keys
                        .iter()
                        .any(|k| k.kid.is_none() && k.alg == alg && k.fingerprint == fingerprint)
                {
                    tracing::info!(issuer, index, "skipping key: listed twice");
                    continue;
                }
                let reused = previous.and_then(|set| {
                    set.keys
                        .iter()
                        .find(|k| k.kid == kid && k.alg == alg && k.fingerprint == fingerprint)
                });
                keys.push(match reused {
                    Some(k) => Arc::clone(k),
                    None => Arc::new(VerifyKey {
                        kid,
                        alg,
                        key,
                        id: NEXT_KEY_ID.fetch_add(1, Ordering::Relaxed),
                        fingerprint,
                    }),
                });
            }
            Err(why) => tracing::info!(issuer, index, why, "skipping key"),
        }
    }
    if keys.is_empty() {
        return Err(LoadError::NoUsableKeys);
    }
    Ok(keys)
}

type ParsedKey = (Option<String>, Algorithm, String, DecodingKey);

fn parse_key(value: serde_json::Value, allowed: &[Algorithm]) -> Result<ParsedKey, &'static str> {
    let jwk: RawJwk = serde_json::from_value(value).map_err(|_| "not a JWK object")?;
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("use is not sig");
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        return Err("key_ops lacks verify");
    }
    let kty = jwk.kty.as_deref().ok_or("no kty")?;
    let (alg, fingerprint, key) = match kty {
        "RSA" => {
            let alg = match jwk.alg.as_deref() {
                None => Algorithm::RS256,
                Some(a @ ("RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512")) => {
                    a.parse().map_err(|_| "unsupported alg")?
                }
                Some(_) => return Err("unsupported alg for RSA"),
            };
            let (n, e) = (jwk.n.as_deref(), jwk.e.as_deref());
            let (n, e) = n.zip(e).ok_or("RSA key without n or e")?;
            let n_bytes = URL_SAFE_NO_PAD
                .decode(n)
                .map_err(|_| "n is not base64url")?;
            let e_bytes = URL_SAFE_NO_PAD
                .decode(e)
                .map_err(|_| "e is not base64url")?;
            let significant = n_bytes.iter().skip_while(|b| **b == 0).count();
            if significant * 8 < 2048 {
                return Err("RSA key under 2048 bits");
            }
            if e_bytes.is_empty() || e_bytes.len() > 8 {
                return Err("RSA exponent out of range");
            }
            let key = DecodingKey::from_rsa_raw_components(&n_bytes, &e_bytes);
            (alg, format!("RSA|{n}|{e}"), key)
        }
        "EC" => {
            let crv = jwk.crv.as_deref().ok_or("EC key without crv")?;
            let alg = match (crv, jwk.alg.as_deref()) {
                ("P-256", None | Some("ES256")) => Algorithm::ES256,
                ("P-384", None | Some("ES384")) => Algorithm::ES384,
                _ => return Err("unsupported EC curve or alg"),
            };
            let (x, y) = jwk
                .x
                .as_deref()
                .zip(jwk.y.as_deref())
                .ok_or("EC key without x or y")?;
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| "bad EC coordinates")?;
            (alg, format!("EC|{crv}|{x}|{y}"), key)
        }
        "OKP" => {
            match (jwk.crv.as_deref(), jwk.alg.as_deref()) {
                (Some("Ed25519"), None | Some("EdDSA") | Some("Ed25519")) => {}
                _ => return Err("unsupported OKP curve or alg"),
            }
            let x = jwk.x.as_deref().ok_or("OKP key without x")?;
            let key = DecodingKey::from_ed_components(x).map_err(|_| "bad OKP key")?;
            (Algorithm::EdDSA, format!("OKP|{x}"), key)
        }
        "oct" => return Err("symmetric (oct) keys are never used"),
        _ => return Err("unknown kty"),
    };
    if !allowed.contains(&alg) {
        return Err("algorithm not in the allow-list");
    }
    Ok((jwk.kid, alg, fingerprint, key))
}

/// What a key cache knows, swapped whole on every change.
#[derive(Debug, Default)]
pub(crate) struct KeyState {
    pub(crate) metadata: Option<Arc<ProviderMetadata>>,
    pub(crate) keys: Option<Arc<KeySet>>,
    pub(crate) etag: Option<String>,
    pub(crate) last_error: Option<LoadError>,
    pub(crate) consecutive_failures: u32,
    /// When the background task should refresh next (ms since the epoch).
    pub(crate) next_refresh_ms: u64,
}

/// Why a refresh is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    /// Scheduled, or asked for by the application (warm-up): never cooled down.
    Scheduled,
    /// A request needs it (unknown `kid`, keys never loaded): subject to the cooldown.
    Request,
}

type RefreshFuture = Shared<BoxFuture<'static, Result<(), LoadError>>>;

/// The outcome of asking for a refresh.
pub(crate) enum Join {
    /// A refresh is running (started now or earlier); await it.
    Wait(RefreshFuture),
    /// The key set changed since the caller looked; look again.
    Changed,
    /// Too soon after the last request-triggered refresh.
    CoolingDown,
}

/// The key cache of one issuer.
pub(crate) struct KeyCache {
    pub(crate) issuer: Arc<str>,
    ctx: Arc<Ctx>,
    state: ArcSwap<KeyState>,
    inflight: Mutex<Option<RefreshFuture>>,
    last_request_refresh_ms: AtomicU64,
    background_started: AtomicBool,
    generation: AtomicU64,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("issuer", &self.issuer)
            .field("state", &self.state.load())
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    pub(crate) fn new(issuer: Arc<str>, ctx: Arc<Ctx>) -> Arc<Self> {
        Arc::new(KeyCache {
            issuer,
            ctx,
            state: ArcSwap::from_pointee(KeyState::default()),
            inflight: Mutex::new(None),
            last_request_refresh_ms: AtomicU64::new(0),
            background_started: AtomicBool::new(false),
            generation: AtomicU64::new(0),
        })
    }

    /// The current state (lock-free).
    pub(crate) fn state(&self) -> arc_swap::Guard<Arc<KeyState>> {
        self.state.load()
    }

    /// The current key set, if one ever loaded (lock-free).
    pub(crate) fn keys(&self) -> Option<Arc<KeySet>> {
        self.state.load().keys.clone()
    }

    /// The provider metadata, if discovery succeeded.
    pub(crate) fn metadata(&self) -> Option<Arc<ProviderMetadata>> {
        self.state.load().metadata.clone()
    }

    /// Starts a refresh or joins the running one.
    pub(crate) fn refresh(
        self: &Arc<Self>,
        trigger: Trigger,
        seen_generation: Option<u64>,
    ) -> Join {
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(running) = inflight.as_ref() {
            return Join::Wait(running.clone());
        }
        if let Some(seen) = seen_generation {
            let current = self.state.load().keys.as_ref().map(|k| k.generation);
            if current.is_some_and(|g| g != seen) {
                return Join::Changed;
            }
        }
        if trigger == Trigger::Request {
            let now = now_millis(self.ctx.clock.as_ref());
            let last = self.last_request_refresh_ms.load(Ordering::SeqCst);
            let cooldown =
                u64::try_from(self.ctx.policy.unknown_kid_cooldown.as_millis()).unwrap_or(u64::MAX);
            if last != 0 && now.saturating_sub(last) < cooldown {
                return Join::CoolingDown;
            }
            self.last_request_refresh_ms
                .store(now.max(1), Ordering::SeqCst);
        }
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            let result = this.fetch_and_store().await;
            *this.inflight.lock().unwrap_or_else(|e| e.into_inner()) = None;
            this.start_background();
            result
        });
        let shared = async move {
            task.await
                .unwrap_or_else(|_| Err(LoadError::Http("refresh task failed".into())))
        }
        .boxed()
        .shared();
        *inflight = Some(shared.clone());
        Join::Wait(shared)
    }

    /// Makes sure a key set is loaded; waits for a shared load if needed.
    pub(crate) async fn ensure_loaded(self: &Arc<Self>) -> Result<Arc<KeySet>, LoadError> {
        if let Some(keys) = self.keys() {
            return Ok(keys);
        }
        match self.refresh(Trigger::Request, None) {
            Join::Wait(fut) => fut.await?,
            Join::Changed => {}
            Join::CoolingDown => {
                return Err(self
                    .state
                    .load()
                    .last_error
                    .clone()
                    .unwrap_or(LoadError::CoolingDown));
            }
        }
        self.keys().ok_or(LoadError::NoUsableKeys)
    }

    /// The provider metadata, loading discovery (and keys) if needed. Succeeds when discovery
    /// did, even if the key set failed.
    pub(crate) async fn ensure_metadata(
        self: &Arc<Self>,
    ) -> Result<Arc<ProviderMetadata>, LoadError> {
        if let Some(metadata) = self.metadata() {
            return Ok(metadata);
        }
        let loaded = self.ensure_loaded().await;
        match self.metadata() {
            Some(metadata) => Ok(metadata),
            None => Err(loaded.err().unwrap_or(LoadError::NoUsableKeys)),
        }
    }

    /// Loads discovery and keys now, whatever the cooldown (warm-up, manual refresh).
    pub(crate) async fn refresh_now(self: &Arc<Self>) -> Result<(), LoadError> {
        match self.refresh(Trigger::Scheduled, None) {
            Join::Wait(fut) => fut.await,
            Join::Changed | Join::CoolingDown => Ok(()),
        }
    }

    /// Installs a discovery document and key set as if both had been fetched, and holds
    /// request-triggered refetches off for the cooldown: the fuzz targets run without network.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn install_static(&self, metadata: ProviderMetadata, keys: Vec<Arc<VerifyKey>>) {
        let now = now_millis(self.ctx.clock.as_ref());
        self.last_request_refresh_ms
            .store(now.max(1), Ordering::SeqCst);
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.state.store(Arc::new(KeyState {
            metadata: Some(Arc::new(metadata)),
            keys: Some(Arc::new(KeySet { keys, generation })),
            next_refresh_ms: u64::MAX,
            ..KeyState::default()
        }));
    }

    async fn fetch_and_store(&self) -> Result<(), LoadError> {
        let issuer: &str = &self.issuer;
        let current = self.state.load_full();
        let metadata = match &current.metadata {
            Some(m) => Arc::clone(m),
            None => match discover(&self.ctx.fetcher, issuer).await {
                Ok(m) => {
                    tracing::debug!(issuer, jwks_uri = %m.jwks_uri, "discovery loaded");
                    Arc::new(m)
                }
                Err(e) => {
                    self.store_failure(&current, None, e.clone());
                    return Err(e);
                }
            },
        };
        let etag = current.keys.as_ref().and(current.etag.as_deref());
        let fetched = self.ctx.fetcher.get(&metadata.jwks_uri, etag).await;
        let now = now_millis(self.ctx.clock.as_ref());
        let delay_ms =
            |d: Duration| now.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        match fetched {
            Ok(Fetched::NotModified { cache_control }) => {
                let interval = self.ctx.policy.next_interval(cache_control.as_deref());
                tracing::debug!(issuer, "key set not modified");
                self.state.store(Arc::new(KeyState {
                    metadata: Some(metadata),
                    keys: current.keys.clone(),
                    etag: current.etag.clone(),
                    last_error: None,
                    consecutive_failures: 0,
                    next_refresh_ms: delay_ms(interval),
                }));
                Ok(())
            }
            Ok(Fetched::Body {
                body,
                etag,
                cache_control,
            }) => {
                let parsed =
                    parse_jwks(&body, &self.ctx.algorithms, current.keys.as_deref(), issuer);
                match parsed {
                    Ok(keys) => {
                        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                        let interval = self.ctx.policy.next_interval(cache_control.as_deref());
                        tracing::info!(
                            issuer,
                            keys = keys.len(),
                            next_refresh_secs = interval.as_secs(),
                            "key set refreshed"
                        );
                        self.state.store(Arc::new(KeyState {
                            metadata: Some(metadata),
                            keys: Some(Arc::new(KeySet { keys, generation })),
                            etag,
                            last_error: None,
                            consecutive_failures: 0,
                            next_refresh_ms: delay_ms(interval),
                        }));
                        Ok(())
                    }
                    Err(e) => {
                        self.store_failure(&current, Some(metadata), e.clone());
                        Err(e)
                    }
                }
            }
            Err(e) => {
                self.store_failure(&current, Some(metadata), e.clone());
                Err(e)
            }
        }
    }

    fn store_failure(
        &self,
        current: &KeyState,
        metadata: Option<Arc<ProviderMetadata>>,
        error: LoadError,
    ) {
        let failures = current.consecutive_failures.saturating_add(1);
        let retry = self.ctx.policy.retry_interval(failures);
        let kept = current.keys.is_some();
        tracing::warn!(
            issuer = &*self.issuer,
            error = %error,
            kept_last_good = kept,
            retry_secs = retry.as_secs(),
            "key set refresh failed"
        );
        let now = now_millis(self.ctx.clock.as_ref());
        self.state.store(Arc::new(KeyState {
            metadata: metadata.or_else(|| current.metadata.clone()),
            keys: current.keys.clone(),
            etag: current.etag.clone(),
            last_error: Some(error),
            consecutive_failures: failures,
            next_refresh_ms: now
                .saturating_add(u64::try_from(retry.as_millis()).unwrap_or(u64::MAX)),
        }));
    }

    /// Starts the background refresh task once; it ends when the cache is dropped.
    fn start_background(self: &Arc<Self>) {
        if !self.ctx.background_refresh || self.background_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(background_loop(weak));
    }
}

async fn background_loop(weak: Weak<KeyCache>) {
    loop {
        let delay = {
            let Some(cache) = weak.upgrade() else { return };
            let now = now_millis(cache.ctx.clock.as_ref());
            Duration::from_millis(cache.state.load().next_refresh_ms.saturating_sub(now))
        };
        tokio::time::sleep(delay.max(Duration::from_millis(100))).await;
        let Some(cache) = weak.upgrade() else { return };
        let now = now_millis(cache.ctx.clock.as_ref());
        if cache.state.load().next_refresh_ms > now {
            continue;
        }
        if let Join::Wait(fut) = cache.refresh(Trigger::Scheduled, None) {
            drop(cache);
            let _ = fut.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa_jwk(kid: &str, bits: usize) -> serde_json::Value {
        let mut n = vec![0xC5u8; bits / 8];
        n[bits / 8 - 1] = 0x01;
        serde_json::json!({"kty":"RSA","kid":kid,"alg":"RS256","use":"sig",
            "n": URL_SAFE_NO_PAD.encode(&n), "e":"AQAB"})
    }

    #[test]
    fn lenient_parsing_skips_unusable_keys() {
        let doc = serde_json::json!({"keys":[
            rsa_jwk("good", 2048),
            rsa_jwk("small", 1024),
            {"kty":"oct","kid":"hmac","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"XYZ","kid":"weird"},
            {"kty":"RSA","kid":"hs","alg":"HS256","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bad-b64","n":"!!!","e":"AQAB"},
            "not an object",
            rsa_jwk("good", 2048),
        ]});
        let keys = parse_jwks(doc.to_string().as_bytes(), &[Algorithm::RS256], None, "x").unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].kid.as_deref(), Some("good"));
    }

    #[test]
    fn only_allowed_algorithms_and_stable_ids() {
        let doc = serde_json::json!({"keys":[rsa_jwk("a", 2048), rsa_jwk("b", 4096)]}).to_string();
        assert!(matches!(
            parse_jwks(doc.as_bytes(), &[Algorithm::ES256], None, "x"),
            Err(LoadError::NoUsableKeys)
        ));
        let first = KeySet {
            keys: parse_jwks(doc.as_bytes(), &[Algorithm::RS256], None, "x").unwrap(),
            generation: 1,
        };
        let second = parse_jwks(doc.as_bytes(), &[Algorithm::RS256], Some(&first), "x").unwrap();
        assert_eq!(first.keys[0].id, second[0].id);
        assert_eq!(first.keys[1].id, second[1].id);
    }

    #[test]
    fn lookup_rules() {
        let doc = serde_json::json!({"keys":[rsa_jwk("a", 2048), rsa_jwk("b", 2048)]}).to_string();
        let set = KeySet {
            keys: parse_jwks(doc.as_bytes(), &[Algorithm::RS256], None, "x").unwrap(),
            generation: 1,
        };
        assert!(matches!(
            set.find(Some("a"), Algorithm::RS256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.find(Some("a"), Algorithm::PS256),
            Lookup::WrongAlgorithm
        ));
        assert!(matches!(
            set.find(Some("z"), Algorithm::RS256),
            Lookup::Unknown
        ));
        assert!(matches!(
            set.find(None, Algorithm::RS256),
            Lookup::Ambiguous
        ));
        assert!(matches!(set.find(None, Algorithm::ES256), Lookup::Unknown));
    }

    #[test]
    fn refresh_interval_is_clamped() {
        let p = KeyRefreshPolicy::default();
        assert_eq!(p.next_interval(Some("max-age=3832304")), p.max_refresh);
        assert_eq!(p.next_interval(Some("no-cache")), p.min_refresh);
        assert_eq!(p.next_interval(None), p.default_refresh);
        assert_eq!(
            p.next_interval(Some("max-age=7200")),
            Duration::from_secs(7200)
        );
        assert_eq!(p.retry_interval(1), Duration::from_secs(10));
        assert_eq!(p.retry_interval(2), Duration::from_secs(20));
        assert_eq!(p.retry_interval(30), p.min_refresh);
    }
}
