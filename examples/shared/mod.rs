//! Configuration shared by the examples: environment variables and `OKTA_TENANTS_FILE`.
#![allow(dead_code)]

use okta_oidc::Tenant;

/// Reads the tenants of an `OKTA_TENANTS_FILE` (a JSON array of tenants, as `Tenant`'s
/// `Deserialize` reads them), with the file name in every error.
pub fn tenants_from_file(path: &str) -> Result<Vec<Tenant>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))
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

/// Whether `OKTA_ALLOW_LOOPBACK_HTTP=1` asks to accept an `http://` issuer on a loopback host
/// (a mock org such as `mock_okta` from the tools crate); the embedded mock always is.
pub fn allow_loopback_http() -> bool {
    env("OKTA_ALLOW_LOOPBACK_HTTP").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

/// The path of `APP_BASE_URL` (`""` at the root, `/app` for `https://host/app`): every route of
/// the example is served under it.
pub fn app_path(app_base_url: &str) -> Result<String, String> {
    let url = url::Url::parse(app_base_url).map_err(|e| format!("APP_BASE_URL: {e}"))?;
    Ok(url.path().trim_end_matches('/').to_owned())
}

/// The revocation store: Redis when `REDIS_URL` is set (feature `redis`; every instance pointed
/// at the same Redis shares logouts), else the embedded memory store (one instance).
pub fn with_revocation_store(
    builder: okta_oidc::OktaOidcBuilder,
) -> Result<okta_oidc::OktaOidcBuilder, String> {
    let Some(url) = env("REDIS_URL") else {
        return Ok(builder);
    };
    #[cfg(feature = "redis")]
    {
        let store =
            okta_oidc::store::RedisStore::new(url).map_err(|e| format!("REDIS_URL: {e}"))?;
        tracing::info!("revocations shared through Redis (REDIS_URL)");
        Ok(builder.revocation_store(store))
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = (url, builder);
        Err(
            "REDIS_URL is set, but this build lacks the `redis` feature: \
             cargo run --features redis --example …"
                .into(),
        )
    }
}
