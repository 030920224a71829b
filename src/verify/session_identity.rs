//! A session the login half opened, as an identity ([`Verifier::session`]): its tenant still
//! known with the issuer and client it signed in with, and not revoked.

use std::sync::Arc;

use super::session::SessionCredential;
use super::verifier::Verifier;
use crate::claims::{CredentialSource, Identity, Issuance};
use crate::error::{AuthError, TokenError};

impl Verifier {
    /// The identity of a session the login half opened: its tenant must still be known (it is
    /// loaded again after a restart or an eviction) with the issuer and client id it signed in
    /// with, and the revocation mirror must not revoke it. `None` when it is not (the session
    /// counts as no credential: a page asks to sign in again).
    pub(crate) async fn session(
        &self,
        session: SessionCredential,
    ) -> Result<Option<Arc<Identity>>, AuthError> {
        let Some(tenant) = self.tenants.tenant_by_id(&session.tenant_id).await? else {
            tracing::debug!(
                tenant = &*session.tenant_id,
                "session of a tenant nobody knows"
            );
            return Ok(None);
        };
        if *tenant.issuer != session.issuer
            || tenant.client_id.as_deref() != Some(session.client_id.as_str())
        {
            tracing::debug!(
                tenant = &*session.tenant_id,
                "session of a tenant that changed"
            );
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
                token_digest: None,
                user_tenant: None,
            },
        };
        match self.check_revocations(&identity) {
            Ok(()) => Ok(Some(Arc::new(identity))),
            Err(AuthError::InvalidToken(TokenError::Revoked)) => {
                tracing::info!(
                    tenant = &*identity.tenant.id,
                    "revoked session: sign in again"
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
