//! The verification pipeline: where a credential becomes an identity.
//!
//! [`Verifier`] is the one place every credential goes through: bearer JWTs (checked locally
//! against the tenant's keys), opaque access tokens (introspection) and the verified-token
//! cache in front of both.

pub(crate) mod introspection;
pub(crate) mod jws;
pub(crate) mod rules;
pub(crate) mod token_cache;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Uri};

use self::introspection::{Call, Introspector};
use self::jws::ValidationOptions;
use self::token_cache::TokenCache;
use crate::claims::{CredentialSource, Identity};
use crate::error::{AuthError, TokenError};
use crate::provider::context::ProviderContext;
use crate::tenant::config::Tenant;
use crate::tenant::directory::TenantDirectory;

/// Turns credentials into identities.
pub(crate) struct Verifier {
    pub(crate) tenants: TenantDirectory,
    pub(crate) provider: Arc<ProviderContext>,
    pub(crate) options: ValidationOptions,
    /// Opaque-token introspection and its cache.
    introspector: Arc<Introspector>,
    /// Verified tokens (`None` when turned off).
    token_cache: Option<TokenCache>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("tenants", &self.tenants)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    pub(crate) fn new(
        tenants: TenantDirectory,
        provider: Arc<ProviderContext>,
        options: ValidationOptions,
        introspector: Arc<Introspector>,
        token_cache: Option<TokenCache>,
    ) -> Self {
        Verifier {
            tenants,
            provider,
            options,
            introspector,
            token_cache,
        }
    }

    /// The identity of a token found in the verified-token cache, if every rule still holds.
    pub(crate) fn cached(&self, token: &str) -> Option<Arc<Identity>> {
        self.token_cache
            .as_ref()?
            .get(token, &self.tenants.registry, self.provider.clock.as_ref())
    }

    /// Validates a bearer credential: a JWT locally, anything else by introspection.
    pub(crate) async fn bearer(
        &self,
        token: &str,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<Arc<Identity>, AuthError> {
        let max = self.options.max_token_bytes;
        if token.len() > max {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max,
            }
            .into());
        }
        if !jws::looks_like_jwt(token) {
            let tenant = self.tenants.for_opaque_token(uri, headers)?;
            return self.introspect(token, tenant).await;
        }
        match self.jwt(token).await {
            Err(AuthError::InvalidToken(TokenError::AudienceMismatch)) => {
                let tenant = jws::parse(token, &self.options).ok().and_then(|parsed| {
                    self.tenants
                        .for_org_access_token(&parsed.claims, uri, headers)
                });
                match tenant {
                    Some(tenant) => self.introspect(token, tenant).await,
                    None => Err(TokenError::AudienceMismatch.into()),
                }
            }
            other => other,
        }
    }

    /// Introspects an access token at the tenant's authorization server.
    async fn introspect(
        &self,
        token: &str,
        tenant: Arc<Tenant>,
    ) -> Result<Arc<Identity>, AuthError> {
        let entry = self
            .tenants
            .registry
            .by_issuer(&tenant.issuer)
            .ok_or(TokenError::UnknownIssuer)?;
        let metadata = entry.keys.ensure_metadata().await.map_err(|e| {
            tracing::warn!(tenant = &*tenant.id, error = %e, "discovery unavailable for introspection");
            AuthError::TemporarilyUnavailable {
                retry_after: Some(Duration::from_secs(5)),
            }
        })?;
        let Some(endpoint) = metadata.introspection_endpoint.clone() else {
            tracing::warn!(
                tenant = &*tenant.id,
                "provider has no introspection endpoint"
            );
            return Err(
                TokenError::Malformed("opaque token, and no introspection endpoint").into(),
            );
        };
        let methods = metadata
            .introspection_endpoint_auth_methods_supported
            .as_ref()
            .or(metadata.token_endpoint_auth_methods_supported.as_ref());
        let post_only = methods.is_some_and(|m| {
            m.iter().any(|x| x == "client_secret_post")
                && !m.iter().any(|x| x == "client_secret_basic")
        });
        let call = Call {
            tenant,
            endpoint,
            post_only,
            fetcher: self.provider.fetcher.clone(),
            clock: Arc::clone(&self.provider.clock),
        };
        self.introspector.check(token, call).await
    }

    /// Validates a JWT into an identity.
    pub(crate) async fn jwt(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let clock = self.provider.clock.as_ref();
        if let Some(identity) = self.cached(token) {
            return Ok(identity);
        }
        let parsed = jws::parse(token, &self.options)?;
        let entry = self.tenants.entry_for_issuer(&parsed.claims.iss).await?;
        let tenant = Arc::clone(TenantDirectory::for_jwt(&entry, &parsed.claims)?);
        let now = i64::try_from(clock.now().as_secs()).unwrap_or(i64::MAX);
        rules::check_claims(&parsed, &tenant, now, self.options.leeway)?;
        let key = entry
            .keys
            .key_for(parsed.header.kid.as_deref(), parsed.alg)
            .await?;
        jws::verify_signature(&parsed, &key)?;
        let identity = Arc::new(Identity {
            claims: parsed.claims,
            raw: parsed.raw_claims.into_boxed_str(),
            tenant: tenant.as_ref_info(),
            source: CredentialSource::Jwt,
        });
        if let Some(cache) = &self.token_cache {
            cache.insert(token, &identity, &tenant, key.id, clock);
        }
        Ok(identity)
    }
}
