//! Opaque access tokens: RFC 7662 introspection at the tenant's authorization server, cached,
//! one call in flight per token, and Okta's rate limits honoured.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use super::rules;
use crate::claims::{CredentialSource, Identity, Issuance, StandardClaims};
use crate::error::{AuthError, TokenError};
use crate::expiring_map::ExpiringMap;
use crate::provider::client_auth::{Client, ClientAuthMethod, PostError, post_form};
use crate::provider::fetch::Fetcher;
use crate::single_flight::SingleFlight;
use crate::tenant::config::Tenant;
use crate::time::{SharedClock, UnixTime};

/// Introspection settings.
#[derive(Clone, Debug)]
pub(crate) struct IntrospectionConfig {
    /// Longest time an active result is reused (it is never reused past the token's `exp`).
    pub(crate) max_ttl: Duration,
    /// How long an inactive result is remembered.
    pub(crate) inactive_ttl: Duration,
    /// Most results kept.
    pub(crate) capacity: usize,
}

impl Default for IntrospectionConfig {
    fn default() -> Self {
        IntrospectionConfig {
            max_ttl: Duration::from_secs(300),
            inactive_ttl: Duration::from_secs(10),
            capacity: 100_000,
        }
    }
}

type Digest32 = [u8; 32];

/// A remembered answer: the identity of an active token, or "not active".
#[derive(Clone)]
enum Known {
    Active(Arc<Identity>),
    Inactive,
}

type Outcome = Result<Arc<Identity>, AuthError>;

/// The introspection client with its cache.
pub(crate) struct Introspector {
    config: IntrospectionConfig,
    /// Answers by SHA-256(tenant, token), until `min(exp, max_ttl)` (active) or the inactive TTL.
    known: ExpiringMap<Digest32, Known>,
    calls: SingleFlight<Digest32, Outcome>,
    /// Per tenant id: no call before this time, after a 429.
    blocked_until: ExpiringMap<Arc<str>, UnixTime>,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a call needs, owned so it can run in a spawned task.
pub(crate) struct Call {
    pub(crate) tenant: Arc<Tenant>,
    pub(crate) endpoint: String,
    pub(crate) method: ClientAuthMethod,
    pub(crate) fetcher: Fetcher,
    pub(crate) clock: SharedClock,
}

impl Introspector {
    pub(crate) fn new(config: IntrospectionConfig) -> Arc<Self> {
        let capacity = config.capacity.max(1);
        Arc::new(Introspector {
            config,
            known: ExpiringMap::new(capacity),
            calls: SingleFlight::default(),
            blocked_until: ExpiringMap::new(10_000),
        })
    }

    fn digest(tenant: &Tenant, token: &str) -> Digest32 {
        let mut hasher = Sha256::new();
        hasher.update(tenant.id.as_bytes());
        hasher.update([0u8]);
        hasher.update(token.as_bytes());
        hasher.finalize().into()
    }

    /// Validates an opaque token with the tenant's introspection endpoint (cached; one call in
    /// flight per token).
    pub(crate) async fn check(self: &Arc<Self>, token: &str, call: Call) -> Outcome {
        let key = Self::digest(&call.tenant, token);
        let now = UnixTime::now(call.clock.as_ref());
        match self.known.get(&key, now) {
            Some(Known::Active(identity)) => return Ok(identity),
            Some(Known::Inactive) => return Err(TokenError::Inactive.into()),
            None => {}
        }
        let start = || {
            if let Some(until) = self.blocked_until.get(&call.tenant.id, now) {
                return Err(AuthError::TemporarilyUnavailable {
                    retry_after: Some(until.since(now)),
                });
            }
            let this = Arc::clone(self);
            let token = token.to_owned();
            Ok(async move {
                let result = this.call(&token, &call).await;
                this.remember(key, &result, &call);
                result
            })
        };
        let panicked = || Err(AuthError::TemporarilyUnavailable { retry_after: None });
        self.calls.join_or_start(key, start, panicked)?.await
    }

    fn remember(&self, key: Digest32, result: &Outcome, call: &Call) {
        let now = UnixTime::now(call.clock.as_ref());
        match result {
            Ok(identity) => {
                let max = now.after(self.config.max_ttl);
                let until = identity
                    .claims
                    .exp
                    .map_or(max, |exp| UnixTime::from_secs(exp).min(max));
                self.known
                    .insert(key, Known::Active(Arc::clone(identity)), until);
            }
            Err(AuthError::InvalidToken(TokenError::Inactive)) => {
                self.known
                    .insert(key, Known::Inactive, now.after(self.config.inactive_ttl));
            }
            Err(_) => {}
        }
    }

    async fn call(&self, token: &str, call: &Call) -> Outcome {
        let tenant = &call.tenant;
        let Some(client_id) = tenant.client_id.as_deref() else {
            return Err(TokenError::Malformed("opaque token, but the tenant has no client").into());
        };
        let client = Client {
            id: client_id,
            secrets: &tenant.secrets,
            method: call.method,
        };
        let form = [("token", token), ("token_type_hint", "access_token")];
        let unavailable = |retry: Duration| AuthError::TemporarilyUnavailable {
            retry_after: Some(retry),
        };
        let answer = match post_form(&call.fetcher, &call.endpoint, &form, &client, 64 * 1024).await
        {
            Ok(answer) => answer,
            Err(PostError::NoSecret) => {
                tracing::warn!(
                    tenant = &*tenant.id,
                    "opaque token, but the tenant has no client secret"
                );
                return Err(AuthError::TemporarilyUnavailable { retry_after: None });
            }
            Err(PostError::InvalidClient) => {
                tracing::error!(
                    tenant = &*tenant.id,
                    "introspection: client authentication failed"
                );
                return Err(AuthError::TemporarilyUnavailable { retry_after: None });
            }
            Err(PostError::Transport(e)) => {
                tracing::warn!(tenant = &*tenant.id, error = %e, "introspection unreachable");
                return Err(unavailable(Duration::from_secs(5)));
            }
        };
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            let retry = self.note_rate_limit(tenant, &answer.headers, call);
            tracing::warn!(
                tenant = &*tenant.id,
                retry_secs = retry.as_secs(),
                "introspection rate-limited"
            );
            return Err(unavailable(retry));
        }
        if !answer.status.is_success() {
            tracing::warn!(tenant = &*tenant.id, status = %answer.status, "introspection failed");
            return Err(unavailable(Duration::from_secs(5)));
        }
        parse_response(&answer.body, tenant, call)
    }

    /// Remembers a 429's reset time; returns how long to wait.
    fn note_rate_limit(&self, tenant: &Tenant, headers: &HeaderMap, call: &Call) -> Duration {
        let now = UnixTime::now(call.clock.as_ref());
        let header_secs = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<i64>().ok())
        };
        let reset = header_secs("x-rate-limit-reset").map(UnixTime::from_secs);
        let retry_after = header_secs("retry-after")
            .and_then(|secs| u64::try_from(secs).ok())
            .map(|secs| now.after(Duration::from_secs(secs)));
        // Okta resets its counters every minute: never wait longer than that, nor less than 1 s.
        let until = reset
            .or(retry_after)
            .unwrap_or(now.after(Duration::from_secs(60)))
            .clamp(
                now.after(Duration::from_secs(1)),
                now.after(Duration::from_secs(60)),
            );
        self.blocked_until
            .insert(Arc::clone(&tenant.id), until, until);
        until.since(now)
    }
}

/// Parses an introspection response into an identity.
pub(crate) fn parse_response(
    body: &[u8],
    tenant: &Tenant,
    call: &Call,
) -> Result<Arc<Identity>, AuthError> {
    let invalid = |why: &'static str| {
        tracing::warn!(tenant = &*tenant.id, why, "introspection response rejected");
        AuthError::TemporarilyUnavailable {
            retry_after: Some(Duration::from_secs(5)),
        }
    };
    let mut object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|_| invalid("not a JSON object"))?;
    match object.get("active") {
        Some(serde_json::Value::Bool(true)) => {}
        Some(serde_json::Value::Bool(false)) => return Err(TokenError::Inactive.into()),
        _ => return Err(invalid("no boolean `active`")),
    }
    if !object.contains_key("cid")
        && let Some(client_id) = object.get("client_id").cloned()
    {
        object.insert("cid".into(), client_id);
    }
    object.remove("active");
    let raw = serde_json::Value::Object(object).to_string();
    let claims: StandardClaims =
        serde_json::from_str(&raw).map_err(|_| invalid("claims of the wrong type"))?;
    let now = i64::try_from(call.clock.now().as_secs()).unwrap_or(i64::MAX);
    if let Err(e) = rules::check_introspected(&claims, tenant, now) {
        tracing::warn!(tenant = &*tenant.id, reason = %e, "introspected token refused");
        return Err(e.into());
    }
    Ok(Arc::new(Identity {
        claims,
        raw: raw.into_boxed_str(),
        tenant: tenant.as_ref_info(),
        source: CredentialSource::Introspection,
        issuance: Issuance::default(),
    }))
}
