//! Opaque access tokens: RFC 7662 introspection at the tenant's authorization server, cached,
//! one call in flight per token, and Okta's rate limits honoured.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use http::{HeaderMap, StatusCode};
use sha2::{Digest, Sha256};

use super::rules;
use crate::claims::{CredentialSource, Identity, StandardClaims};
use crate::error::{AuthError, TokenError};
use crate::provider::fetch::{Fetcher, read_limited};
use crate::tenant::config::{ClientSecret, Tenant};
use crate::time::{SharedClock, now_millis};

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

#[derive(Clone)]
enum Cached {
    Active {
        identity: Arc<Identity>,
        until_ms: u64,
    },
    Inactive {
        until_ms: u64,
    },
}

type Flight = Shared<BoxFuture<'static, Result<Arc<Identity>, AuthError>>>;

/// The introspection client with its cache.
pub(crate) struct Introspector {
    config: IntrospectionConfig,
    cache: quick_cache::sync::Cache<Digest32, Cached>,
    inflight: Mutex<HashMap<Digest32, Flight>>,
    /// Per tenant id: no call before this time (ms since the epoch), after a 429.
    blocked_until: Mutex<HashMap<Arc<str>, u64>>,
}

impl fmt::Debug for Introspector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspector")
            .field("config", &self.config)
            .field("cached", &self.cache.len())
            .finish_non_exhaustive()
    }
}

/// What a call needs, owned so it can run in a spawned task.
pub(crate) struct Call {
    pub(crate) tenant: Arc<Tenant>,
    pub(crate) endpoint: String,
    pub(crate) post_only: bool,
    pub(crate) fetcher: Fetcher,
    pub(crate) clock: SharedClock,
}

impl Introspector {
    pub(crate) fn new(config: IntrospectionConfig) -> Arc<Self> {
        let capacity = config.capacity.max(1);
        Arc::new(Introspector {
            config,
            cache: quick_cache::sync::Cache::new(capacity),
            inflight: Mutex::new(HashMap::new()),
            blocked_until: Mutex::new(HashMap::new()),
        })
    }

    fn digest(tenant: &Tenant, token: &str) -> Digest32 {
        let mut hasher = Sha256::new();
        hasher.update(tenant.id.as_bytes());
        hasher.update([0u8]);
        hasher.update(token.as_bytes());
        hasher.finalize().into()
    }

    /// Validates an opaque token with the tenant's introspection endpoint (cached).
    pub(crate) async fn check(
        self: &Arc<Self>,
        token: &str,
        call: Call,
    ) -> Result<Arc<Identity>, AuthError> {
        let key = Self::digest(&call.tenant, token);
        let now = now_millis(call.clock.as_ref());
        match self.cache.get(&key) {
            Some(Cached::Active { identity, until_ms }) if until_ms > now => return Ok(identity),
            Some(Cached::Inactive { until_ms }) if until_ms > now => {
                return Err(TokenError::Inactive.into());
            }
            Some(_) => {
                self.cache.remove(&key);
            }
            None => {}
        }
        let flight = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(flight) = inflight.get(&key) {
                flight.clone()
            } else {
                if let Some(retry) = self.blocked(&call.tenant.id, now) {
                    return Err(AuthError::TemporarilyUnavailable {
                        retry_after: Some(retry),
                    });
                }
                let this = Arc::clone(self);
                let token = token.to_owned();
                let task = tokio::spawn(async move {
                    let result = this.call(&token, &call).await;
                    this.store(key, &result, &call);
                    this.inflight
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .remove(&key);
                    result
                });
                let flight = async move {
                    task.await
                        .unwrap_or(Err(AuthError::TemporarilyUnavailable { retry_after: None }))
                }
                .boxed()
                .shared();
                inflight.insert(key, flight.clone());
                flight
            }
        };
        flight.await
    }

    fn blocked(&self, tenant_id: &str, now: u64) -> Option<Duration> {
        let blocked = self.blocked_until.lock().unwrap_or_else(|e| e.into_inner());
        let until = *blocked.get(tenant_id)?;
        (until > now).then(|| Duration::from_millis(until - now))
    }

    fn store(&self, key: Digest32, result: &Result<Arc<Identity>, AuthError>, call: &Call) {
        let now = now_millis(call.clock.as_ref());
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(identity) => {
                let exp_ms = identity
                    .claims
                    .exp
                    .and_then(|e| u64::try_from(e).ok())
                    .map_or(u64::MAX, |e| e.saturating_mul(1000));
                let until_ms = exp_ms.min(now.saturating_add(ms(self.config.max_ttl)));
                self.cache.insert(
                    key,
                    Cached::Active {
                        identity: Arc::clone(identity),
                        until_ms,
                    },
                );
            }
            Err(AuthError::InvalidToken(TokenError::Inactive)) => {
                let until_ms = now.saturating_add(ms(self.config.inactive_ttl));
                self.cache.insert(key, Cached::Inactive { until_ms });
            }
            Err(_) => {}
        }
    }

    async fn call(&self, token: &str, call: &Call) -> Result<Arc<Identity>, AuthError> {
        let tenant = &call.tenant;
        let Some(client_id) = tenant.client_id.as_deref() else {
            return Err(TokenError::Malformed("opaque token, but the tenant has no client").into());
        };
        let secrets: &[ClientSecret] = &tenant.secrets;
        if secrets.is_empty() {
            tracing::warn!(
                tenant = &*tenant.id,
                "opaque token, but the tenant has no client secret"
            );
            return Err(AuthError::TemporarilyUnavailable { retry_after: None });
        }
        let mut last = AuthError::TemporarilyUnavailable { retry_after: None };
        for (index, secret) in secrets.iter().enumerate() {
            match self.call_once(token, call, client_id, secret).await {
                Err(Attempt::InvalidClient) if index + 1 < secrets.len() => {
                    tracing::info!(
                        tenant = &*tenant.id,
                        "introspection: trying the second client secret"
                    );
                }
                Err(Attempt::InvalidClient) => {
                    tracing::error!(
                        tenant = &*tenant.id,
                        "introspection: client authentication failed"
                    );
                    last = AuthError::TemporarilyUnavailable { retry_after: None };
                }
                Err(Attempt::Failed(e)) => return Err(e),
                Ok(identity) => return Ok(identity),
            }
        }
        Err(last)
    }

    async fn call_once(
        &self,
        token: &str,
        call: &Call,
        client_id: &str,
        secret: &ClientSecret,
    ) -> Result<Arc<Identity>, Attempt> {
        let tenant = &call.tenant;
        let mut form: Vec<(&str, &str)> =
            vec![("token", token), ("token_type_hint", "access_token")];
        let mut request = call.fetcher.client.post(&call.endpoint);
        if call.post_only {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret.expose()));
        } else {
            let user = form_urlencode(client_id);
            let pass = form_urlencode(secret.expose());
            let basic = STANDARD.encode(format!("{user}:{pass}"));
            request = request.header(http::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let unavailable = |retry: Option<Duration>| {
            Attempt::Failed(AuthError::TemporarilyUnavailable { retry_after: retry })
        };
        let response = match request
            .header(http::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(tenant = &*tenant.id, error = %crate::provider::fetch::describe(e), "introspection unreachable");
                return Err(unavailable(Some(Duration::from_secs(5))));
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let retry = self.note_rate_limit(tenant, response.headers(), call);
            tracing::warn!(
                tenant = &*tenant.id,
                retry_secs = retry.as_secs(),
                "introspection rate-limited"
            );
            return Err(unavailable(Some(retry)));
        }
        if status == StatusCode::UNAUTHORIZED {
            return Err(Attempt::InvalidClient);
        }
        if !status.is_success() {
            tracing::warn!(tenant = &*tenant.id, %status, "introspection failed");
            return Err(unavailable(Some(Duration::from_secs(5))));
        }
        let body = read_limited(response, 64 * 1024).await.map_err(|e| {
            tracing::warn!(tenant = &*tenant.id, error = %e, "introspection response unreadable");
            unavailable(Some(Duration::from_secs(5)))
        })?;
        parse_response(&body, tenant, call).map_err(Attempt::Failed)
    }

    /// Remembers a 429's reset time; returns how long to wait.
    fn note_rate_limit(&self, tenant: &Tenant, headers: &HeaderMap, call: &Call) -> Duration {
        let now = now_millis(call.clock.as_ref());
        let reset_ms = headers
            .get("x-rate-limit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| secs.saturating_mul(1000));
        let retry_after_ms = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|secs| now.saturating_add(secs.saturating_mul(1000)));
        // Okta resets its counters every minute: never wait longer than that, nor less than 1 s.
        let until = reset_ms
            .or(retry_after_ms)
            .unwrap_or(now + 60_000)
            .clamp(now + 1_000, now + 60_000);
        self.blocked_until
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(Arc::clone(&tenant.id), until);
        Duration::from_millis(until - now)
    }
}

enum Attempt {
    InvalidClient,
    Failed(AuthError),
}

/// `application/x-www-form-urlencoded` encoding of a client id or secret (RFC 6749 §2.3.1).
fn form_urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
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
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_values_are_form_encoded() {
        assert_eq!(form_urlencode("a b:c/d"), "a+b%3Ac%2Fd");
        assert_eq!(form_urlencode("0oa1abc"), "0oa1abc");
    }
}
