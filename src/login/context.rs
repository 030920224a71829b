//! What every login route gets: the handle and the checked login settings.

use std::sync::Arc;

use http::StatusCode;

use super::config::LoginSettings;
use super::page::Failure;
use crate::handle::OktaOidc;
use crate::provider::discovery::ProviderMetadata;
use crate::tenant::config::Tenant;
use crate::tenant::registry::IssuerEntry;

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) oidc: OktaOidc,
    pub(crate) state: Arc<LoginSettings>,
}

/// A tenant's issuer entry and provider metadata, loading discovery if needed.
pub(crate) async fn provider(
    oidc: &OktaOidc,
    tenant: &Tenant,
) -> Result<(Arc<IssuerEntry>, Arc<ProviderMetadata>), Failure> {
    let unavailable = |reason: String| {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The identity provider is unavailable. Try again in a moment.",
            reason,
        )
    };
    let entry = oidc
        .directory()
        .registry
        .by_issuer(&tenant.issuer)
        .ok_or_else(|| unavailable("tenant has no issuer entry".into()))?;
    if let Some(meta) = entry.keys.metadata() {
        return Ok((entry, meta));
    }
    if let Err(e) = entry.keys.ensure_loaded().await {
        return Err(unavailable(format!("discovery failed: {e}")));
    }
    let meta = entry
        .keys
        .metadata()
        .ok_or_else(|| unavailable("no provider metadata".into()))?;
    Ok((entry, meta))
}
