//! The verification pipeline: where a credential becomes an identity.
//!
//! [`Verifier`] is the one place every credential goes through: bearer JWTs (checked locally
//! against the tenant's keys), opaque access tokens (introspection) and the verified-token
//! cache in front of both.

pub(crate) mod dpop;
pub(crate) mod dpop_config;
pub(crate) mod dpop_key;
pub(crate) mod dpop_nonce;
pub(crate) mod dpop_replay;
pub(crate) mod global_token_revocation;
pub(crate) mod id_token;
pub(crate) mod introspection;
pub(crate) mod introspection_guard;
pub(crate) mod jws;
pub(crate) mod logout_token;
pub(crate) mod revocation;
pub(crate) mod rules;
#[cfg(feature = "login")]
pub(crate) mod session;
pub(crate) mod token_cache;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use self::dpop::{DpopVerifier, ProofTarget};
use self::introspection::{Call, Introspector};
use self::jws::{Parsed, ValidationOptions};
use self::revocation::Revocations;
use self::rules::{TokenKind, Window};
#[cfg(feature = "login")]
use self::session::SessionCredential;
use self::token_cache::TokenCache;
use crate::claims::{CredentialSource, Identity, Issuance};
use crate::error::{AuthError, TokenError};
use crate::provider::client_auth::ClientAuthMethod;
use crate::provider::context::ProviderContext;
use crate::tenant::config::Tenant;
use crate::tenant::directory::TenantDirectory;
use crate::tenant::registry::IssuerEntry;
use crate::time::UnixTime;

/// What the caller expects a token to be; it selects the rules.
#[cfg_attr(not(feature = "login"), allow(dead_code))]
pub(crate) enum Expect<'a> {
    /// A bearer credential of an API request, of whichever tenant its claims name.
    Bearer,
    /// The ID token of a login at `tenant`, with the login's `nonce` and the access token that
    /// came with it (for `at_hash`).
    IdToken {
        tenant: &'a Arc<Tenant>,
        nonce: &'a str,
        access_token: Option<&'a str>,
    },
    /// The `Authorization` JWT of a Universal Logout call (Okta's global token revocation
    /// request), for the endpoint at `audience` (its absolute URL). Rules:
    /// `verify/global_token_revocation.rs`.
    GlobalTokenRevocation { audience: &'a str },
    /// An OpenID Connect Back-Channel Logout 1.0 logout token. Rules: `verify/logout_token.rs`.
    LogoutToken,
}

impl Expect<'_> {
    /// The rules of `rules::check`, for the credentials that become a request's identity.
    fn kind(&self) -> Option<TokenKind> {
        match self {
            Expect::Bearer => Some(TokenKind::Bearer),
            Expect::IdToken { .. } => Some(TokenKind::IdToken),
            Expect::GlobalTokenRevocation { .. } | Expect::LogoutToken => None,
        }
    }
}

/// Turns credentials into identities.
pub(crate) struct Verifier {
    pub(crate) tenants: TenantDirectory,
    pub(crate) provider: Arc<ProviderContext>,
    pub(crate) options: ValidationOptions,
    /// Opaque-token introspection and its cache.
    introspector: Arc<Introspector>,
    /// Verified tokens (`None` when turned off).
    token_cache: Option<TokenCache>,
    /// DPoP proofs, when the application accepts them.
    pub(crate) dpop: Option<DpopVerifier>,
    /// The revocation store, its mirror and the checks against it.
    pub(crate) revocations: Revocations,
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
        revocations: Revocations,
    ) -> Self {
        Verifier {
            tenants,
            provider,
            options,
            introspector,
            token_cache,
            dpop: None,
            revocations,
        }
    }

    /// Accepts DPoP proofs with these settings.
    pub(crate) fn with_dpop(mut self, dpop: Option<DpopVerifier>) -> Self {
        self.dpop = dpop;
        self
    }

    /// The identity of a token found in the verified-token cache, if every rule still holds
    /// (the revocation mirror included).
    pub(crate) fn cached(&self, token: &str) -> Option<Arc<Identity>> {
        self.token_cache.as_ref()?.get(
            token,
            &self.tenants.registry,
            self.provider.clock.as_ref(),
            &self.revocations,
        )
    }

    /// Refuses an identity the revocation mirror revokes.
    fn check_revocations(&self, identity: &Identity) -> Result<(), AuthError> {
        let now = UnixTime::now(self.provider.clock.as_ref());
        self.revocations.check(identity, now)
    }

    /// Validates a bearer credential (see [`access_token`](Self::access_token)); a token bound
    /// to a DPoP key is refused (RFC 9449 §7.2).
    pub(crate) async fn bearer(
        &self,
        token: &str,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        let identity = self.access_token(token, request).await?;
        refuse_dpop_bound(&identity)?;
        Ok(identity)
    }

    /// Validates a `DPoP` credential (RFC 9449 §7.1): the access token as for a bearer, then
    /// its proof, against the request's method and its URI as clients reach it (the tenant's
    /// resource origin, else the configured one, and the request's path).
    pub(crate) async fn dpop(
        &self,
        token: &str,
        proof: &str,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        let Some(dpop) = &self.dpop else {
            return Err(AuthError::MissingCredential);
        };
        let identity = self.access_token(token, request).await?;
        let tenant_origin = self
            .tenants
            .registry
            .by_id(&identity.tenant.id)
            .and_then(|t| {
                t.resource
                    .as_deref()
                    .and_then(crate::protected_resource::origin)
            });
        let Some(origin) = tenant_origin.as_deref().or(dpop.default_origin()) else {
            tracing::error!(
                tenant = &*identity.tenant.id,
                "DPoP proof, and no resource identifier to check its htu against"
            );
            return Err(AuthError::TemporarilyUnavailable { retry_after: None });
        };
        let uri = format!("{origin}{}", request.uri.path());
        let target = ProofTarget {
            method: request.method.as_str(),
            uri: &uri,
        };
        dpop.check(proof, token, &identity.claims, &target).await?;
        Ok(identity)
    }

    /// Validates an access token: the verified-token cache, then a JWT locally (or, for an
    /// Okta org authorization server's access token, by introspection), anything else by
    /// introspection at the tenant the request names.
    async fn access_token(&self, token: &str, request: &Parts) -> Result<Arc<Identity>, AuthError> {
        if let Some(identity) = self.cached(token) {
            return Ok(identity);
        }
        let max = self.options.max_token_bytes;
        if token.len() > max {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max,
            }
            .into());
        }
        if !jws::looks_like_jwt(token) {
            self.introspector.check_shape(token)?;
            let tenant = self.tenants.for_opaque_token(request).await?;
            return self.introspect(token, tenant).await;
        }
        let parsed = jws::parse(token, &self.options)?;
        let entry = self.tenants.entry_for_issuer(&parsed.claims.iss).await?;
        if TenantDirectory::is_org_access_token(&entry, &parsed.claims) {
            return match self
                .tenants
                .for_org_access_token(&entry, &parsed.claims, request)
            {
                Some(tenant) => self.introspect(token, tenant).await,
                None => Err(TokenError::AudienceMismatch.into()),
            };
        }
        let tenant = Arc::clone(TenantDirectory::route_jwt(&entry, &parsed.claims)?);
        self.verify_parsed(token, parsed, &entry, tenant, Expect::Bearer)
            .await
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
            .as_deref()
            .or(metadata.token_endpoint_auth_methods_supported.as_deref());
        let call = Call {
            tenant,
            endpoint,
            method: ClientAuthMethod::choose(methods),
            fetcher: self.provider.fetcher.clone(),
            clock: Arc::clone(&self.provider.clock),
        };
        let identity = self.introspector.check(token, call).await?;
        // Cached answers too: a user revoked since is refused without asking again.
        self.check_revocations(&identity)?;
        Ok(identity)
    }

    /// Validates a JWT bearer token into an identity (no introspection); a DPoP-bound token is
    /// refused (there is no proof to check here).
    pub(crate) async fn jwt(&self, token: &str) -> Result<Arc<Identity>, AuthError> {
        let identity = match self.cached(token) {
            Some(identity) => identity,
            None => self.verify_jws(token, Expect::Bearer).await?,
        };
        refuse_dpop_bound(&identity)?;
        Ok(identity)
    }

    /// Verifies a compact JWS for what the caller expects. The token is parsed once; then, in
    /// this order: size cap, header and algorithm allow-list (in [`jws::parse`]), tenant, key,
    /// **signature**, claim rules for the expected kind of token. A forged token is reported
    /// invalid (never "expired"), and an expired token with an unknown `kid` causes no key
    /// refetch.
    pub(crate) async fn verify_jws(
        &self,
        token: &str,
        expect: Expect<'_>,
    ) -> Result<Arc<Identity>, AuthError> {
        let parsed = jws::parse(token, &self.options)?;
        let (entry, tenant) = match &expect {
            Expect::Bearer => {
                let entry = self.tenants.entry_for_issuer(&parsed.claims.iss).await?;
                let tenant = Arc::clone(TenantDirectory::route_jwt(&entry, &parsed.claims)?);
                (entry, tenant)
            }
            Expect::IdToken { tenant, .. } => {
                if parsed.claims.iss != *tenant.issuer {
                    return Err(TokenError::UnknownIssuer.into());
                }
                let entry = self
                    .tenants
                    .registry
                    .by_issuer(&tenant.issuer)
                    .ok_or(TokenError::UnknownIssuer)?;
                (entry, Arc::clone(tenant))
            }
            Expect::GlobalTokenRevocation { .. } => {
                // Okta's request names the app instance by `sub` = its client id.
                let entry = self.tenants.entry_for_issuer(&parsed.claims.iss).await?;
                let tenant = Arc::clone(TenantDirectory::route_by_client_id(&entry, |c| {
                    c == parsed.claims.sub
                })?);
                (entry, tenant)
            }
            Expect::LogoutToken => {
                // A logout token is for a client: its `aud` names the client id.
                let entry = self.tenants.entry_for_issuer(&parsed.claims.iss).await?;
                let tenant = Arc::clone(TenantDirectory::route_by_client_id(&entry, |c| {
                    parsed.claims.aud.contains(c)
                })?);
                (entry, tenant)
            }
        };
        self.verify_parsed(token, parsed, &entry, tenant, expect)
            .await
    }

    /// The steps after the tenant is known: key, signature, rules, identity; and the
    /// verified-token cache for bearer tokens.
    async fn verify_parsed(
        &self,
        token: &str,
        parsed: Parsed<'_>,
        entry: &IssuerEntry,
        tenant: Arc<Tenant>,
        expect: Expect<'_>,
    ) -> Result<Arc<Identity>, AuthError> {
        let clock = self.provider.clock.as_ref();
        let window = Window::new(clock.now(), self.options.leeway);
        // An expired token never causes a key refetch: it would be refused anyway.
        let may_refetch = !window.expired(&parsed.claims);
        let key = entry
            .key_for(
                &tenant,
                parsed.header.kid.as_deref(),
                parsed.alg,
                may_refetch,
            )
            .await?;
        jws::verify_signature(&parsed, &key)?;
        let Some(kind) = expect.kind() else {
            // A logout signal: its own rules, then its `jti` used up on every instance.
            let marker = match expect {
                Expect::GlobalTokenRevocation { audience } => {
                    global_token_revocation::check(&parsed, &tenant, audience, window)?
                }
                _ => logout_token::check(&parsed, &tenant, window)?,
            };
            let now = UnixTime::now(clock);
            (self.revocations)
                .use_up(&tenant.id, marker, self.options.leeway, now)
                .await?;
            return Ok(Arc::new(Identity {
                claims: parsed.claims,
                raw: parsed.raw_claims.into_boxed_str(),
                tenant: tenant.as_ref_info(),
                source: CredentialSource::Jwt,
                issuance: Issuance::default(),
            }));
        };
        rules::check(&parsed, &tenant, kind, window)?;
        if let Expect::IdToken {
            nonce,
            access_token,
            ..
        } = expect
        {
            id_token::check(&parsed.claims, parsed.alg, nonce, access_token)?;
        }
        let user_credential =
            kind == TokenKind::IdToken || rules::is_id_token(&parsed.claims, &tenant);
        let identity = Arc::new(Identity {
            claims: parsed.claims,
            raw: parsed.raw_claims.into_boxed_str(),
            tenant: tenant.as_ref_info(),
            source: CredentialSource::Jwt,
            issuance: Issuance {
                user_credential,
                ..Issuance::default()
            },
        });
        if kind == TokenKind::Bearer {
            // The generation before the check: a revocation that lands in between makes the
            // cache check the entry again. (A login's ID token is not checked: it was just
            // issued for this login's nonce, and starts a session after any revocation.)
            let generation = self.revocations.generation();
            self.check_revocations(&identity)?;
            if let Some(cache) = &self.token_cache {
                cache.insert(token, &identity, &tenant, key.id, clock, generation);
            }
        }
        Ok(identity)
    }

    #[cfg(feature = "login")]
    /// The identity of a session the login half opened: its tenant must still be known (it is
    /// loaded again after a restart or an eviction) with the issuer and client id it signed in
    /// with, and the revocation mirror must not revoke it. `None` when it is not (the session
    /// counts as no credential: a page asks to sign in again).
    pub(crate) async fn session(
        &self,
        session: SessionCredential,
    ) -> Result<Option<Arc<Identity>>, AuthError> {
        let Some(tenant) = self.tenants.tenant_by_id(&session.tenant_id).await? else {
            tracing::debug!(tenant = %session.tenant_id, "session of a tenant nobody knows");
            return Ok(None);
        };
        if *tenant.issuer != session.issuer
            || tenant.client_id.as_deref() != Some(session.client_id.as_str())
        {
            tracing::debug!(tenant = %session.tenant_id, "session of a tenant that changed");
            return Ok(None);
        }
        let Ok(raw) = serde_json::to_string(&session.claims) else {
            return Ok(None);
        };
        let Ok(claims) = serde_json::from_value::<crate::claims::StandardClaims>(
            serde_json::Value::Object(session.claims),
        ) else {
            return Ok(None);
        };
        let identity = Identity {
            claims,
            raw: raw.into_boxed_str(),
            tenant: tenant.as_ref_info(),
            source: CredentialSource::Session,
            issuance: Issuance {
                started_at: Some(session.signed_in_at),
                session_id: (!session.session_id.is_empty())
                    .then(|| session.session_id.into_boxed_str()),
                user_credential: true,
            },
        };
        match self.check_revocations(&identity) {
            Ok(()) => Ok(Some(Arc::new(identity))),
            Err(AuthError::InvalidToken(TokenError::Revoked)) => {
                tracing::info!(tenant = %identity.tenant.id, "revoked session: sign in again");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// A token bound to a DPoP key is usable only with a proof (RFC 9449 §7.2).
fn refuse_dpop_bound(identity: &Identity) -> Result<(), AuthError> {
    if identity.claims.is_dpop_bound() {
        return Err(TokenError::DpopBoundAsBearer.into());
    }
    Ok(())
}
