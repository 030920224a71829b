//! Configuration shared by the examples: environment variables and `OKTA_TENANTS_FILE`.
#![allow(dead_code)]

use okta_oidc::Tenant;
use serde::Deserialize;

/// One entry of `OKTA_TENANTS_FILE`: `{"id","issuer","client_id","client_secret","audience"}`
/// (`client_secret` and `audience` optional).
#[derive(Deserialize)]
pub struct TenantEntry {
    id: String,
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    audience: Option<String>,
}

impl TenantEntry {
    /// The tenant this entry describes.
    pub fn into_tenant(self) -> Tenant {
        let tenant = Tenant::new(self.id, self.issuer);
        let tenant = match self.client_secret {
            Some(secret) => tenant.client(self.client_id, secret),
            None => tenant.client_id(self.client_id),
        };
        match self.audience {
            Some(audience) => tenant.audience(audience),
            None => tenant,
        }
    }
}

/// Reads the tenants of an `OKTA_TENANTS_FILE`, with the file name in every error.
pub fn tenants_from_file(path: &str) -> Result<Vec<Tenant>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let entries: Vec<TenantEntry> =
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(entries.into_iter().map(TenantEntry::into_tenant).collect())
}

/// A non-empty environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Logs to stdout, `RUST_LOG` or `info` by default.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// `BIND_ADDR`, default `127.0.0.1:3000`.
pub fn bind_addr() -> Result<std::net::SocketAddr, String> {
    env("BIND_ADDR")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .parse()
        .map_err(|e| format!("BIND_ADDR: {e}"))
}
