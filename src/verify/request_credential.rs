//! What an API request's credential becomes ([`Verifier::bearer`], [`Verifier::dpop`]): a JWT
//! checked locally, an Okta org authorization server's access token screened then introspected,
//! anything else introspected at the tenant the request names; a DPoP proof against the URI the
//! client called.

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;

use super::dpop::ProofTarget;
use super::introspection::Call;
use super::jws::{self, Parsed};
use super::rules::{self, Window};
use super::verifier::{Expect, Verifier, refuse_dpop_bound};
use crate::claims::Identity;
use crate::error::{AuthError, TokenError};
use crate::provider::client_auth::ClientAuthMethod;
use crate::tenant::config::Tenant;
use crate::tenant::directory::TenantDirectory;
use crate::tenant::registry::IssuerEntry;

impl Verifier {
    /// Validates a bearer credential the verified-token cache does not hold (the layer looked
    /// it up first, in its synchronous fast path; see [`access_token`](Self::access_token)); a
    /// token bound to a DPoP key is refused (RFC 9449 §7.2).
    pub(crate) async fn bearer(
        &self,
        token: &str,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        let identity = self.access_token(token, request).await?;
        refuse_dpop_bound(&identity)?;
        Ok(identity)
    }

    /// Validates a `DPoP` credential (RFC 9449 §7.1): the access token as for a bearer (from
    /// the verified-token cache when it is there), then its proof, against the request's
    /// method and its URI as clients reach it (the tenant's resource origin, else the
    /// configured one, and the request's path before any `Router::nest` stripped it).
    pub(crate) async fn dpop(
        &self,
        token: &str,
        proof: &str,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        let Some(dpop) = &self.dpop else {
            return Err(AuthError::MissingCredential);
        };
        let identity = match self.cached(token) {
            Some(identity) => identity,
            None => self.access_token(token, request).await?,
        };
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
        let uri = format!("{origin}{}", client_path(request));
        let target = ProofTarget {
            method: request.method.as_str(),
            uri: &uri,
        };
        dpop.check(proof, token, &identity.claims, &target).await?;
        Ok(identity)
    }

    /// Validates an access token the verified-token cache does not hold: a JWT locally (or,
    /// for an Okta org authorization server's access token, by introspection), anything else by
    /// introspection at the tenant the request names.
    pub(super) async fn access_token(
        &self,
        token: &str,
        request: &Parts,
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
            self.introspector.check_shape(token)?;
            // Boxed, like the introspection below: the JWT path's future stays small.
            return Box::pin(async {
                let tenant = self.tenants.for_opaque_token(request).await?;
                self.introspect(token, tenant, request).await
            })
            .await;
        }
        let mut header = jws::HeaderBuf::new();
        let mut parsed = jws::parse(token, &self.options, &mut header);
        let parsed = parsed.as_mut().map_err(|e| e.clone())?;
        let entry = self.issuer_entry(&parsed.claims.iss).await?;
        if TenantDirectory::is_org_access_token(&entry, &parsed.claims) {
            let Some(tenant) = self
                .tenants
                .for_org_access_token(&entry, &parsed.claims, request)
            else {
                return Err(TokenError::AudienceMismatch.into());
            };
            Self::screen_org_access_token(parsed, &entry, &tenant, self.window())?;
            return Box::pin(self.introspect(token, tenant, request)).await;
        }
        let tenant = TenantDirectory::route_jwt(&entry, &parsed.claims)?;
        let window = self.window();
        let key = Self::key_of(parsed, &entry, tenant, window, false).await?;
        self.accept(token, parsed, &key, tenant, Expect::Bearer, window)
    }

    /// What can be checked of an Okta org authorization server's access token before a call
    /// is spent on it: the time rules (an expired one is refused without a call) and, when it
    /// names a key the org publishes, its signature (a forgery is refused without a call).
    /// Okta signs these tokens with keys it does not publish (see the Okta facts in
    /// DESIGN.md): a token naming another key goes to introspection, within its client's share.
    fn screen_org_access_token(
        parsed: &Parsed<'_>,
        entry: &IssuerEntry,
        tenant: &Tenant,
        window: Window,
    ) -> Result<(), AuthError> {
        rules::check_times(&parsed.claims, window)?;
        rules::refuse_non_credential(parsed)?;
        let kid = parsed.header.kid.as_deref();
        if kid.is_some()
            && let Some(key) = entry.current_key(tenant, kid, parsed.alg)
        {
            jws::verify_signature(parsed, &key)?;
        }
        Ok(())
    }

    /// Introspects an access token at the tenant's authorization server, within the budget
    /// share of the client that sent `request`.
    async fn introspect(
        &self,
        token: &str,
        tenant: Arc<Tenant>,
        request: &Parts,
    ) -> Result<Arc<Identity>, AuthError> {
        if !tenant.can_authenticate() {
            // Retrying cannot help: without credentials no call will ever vouch for it.
            return Err(TokenError::NoIntrospection.into());
        }
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
            client: self.introspector.client_of(request),
            metrics: Arc::clone(&self.provider.metrics),
        };
        let identity = self.introspector.check(token, call).await?;
        rules::check_binding(&identity.claims)?;
        // Cached answers too: a user revoked since is refused without asking again.
        self.check_revocations(&identity)?;
        Ok(identity)
    }
}

/// The path of the request as the client sent it (a DPoP proof's `htu`): with feature `axum`,
/// axum's `OriginalUri` when a `Router::nest` stripped a prefix before the layer; else the path
/// the layer sees. (A reverse proxy in front that strips a prefix is not seen.)
fn client_path(request: &Parts) -> &str {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::OriginalUri(uri)) = request.extensions.get() {
        return uri.path();
    }
    request.uri.path()
}
