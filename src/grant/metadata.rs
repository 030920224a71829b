//! The authorization server's metadata (RFC 8414 §2): where its token endpoint and keys are,
//! and that it takes the JWT bearer grant (RFC 7523 §2.1) with the ID-JAG profile
//! (draft-ietf-oauth-identity-assertion-authz-grant, "Resource Authorization Server Metadata":
//! `authorization_grant_profiles_supported`).

use serde_json::{Value, json};

use super::settings::Settings;

/// The JWT bearer grant type (RFC 7523 §2.1).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The ID-JAG grant profile.
pub(crate) const ID_JAG_PROFILE: &str = "urn:ietf:params:oauth:grant-profile:id-jag";

/// The metadata document.
pub(super) fn document(settings: &Settings) -> Value {
    let mut scopes: Vec<&str> = settings
        .clients
        .values()
        .flat_map(|c| c.allowed_scopes.iter().map(String::as_str))
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    json!({
        "issuer": settings.issuer,
        "token_endpoint": format!("{}{}", settings.origin, settings.token_path),
        "jwks_uri": format!("{}{}", settings.origin, settings.jwks_path),
        "grant_types_supported": [JWT_BEARER],
        "authorization_grant_profiles_supported": [ID_JAG_PROFILE],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        // No authorization endpoint: no response type (RFC 8414 §2 requires the member).
        "response_types_supported": [],
        "scopes_supported": scopes,
    })
}

/// Where the document is served, as paths on the issuer's host: RFC 8414 §3.1's
/// `/.well-known/oauth-authorization-server` + the issuer's path, and OpenID Connect
/// Discovery's issuer + `/.well-known/openid-configuration` (what this crate's layer reads
/// to find the keys of a tenant's issuer).
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
pub(super) fn paths(issuer_path: &str) -> [String; 2] {
    let path = issuer_path.trim_end_matches('/');
    [
        format!("/.well-known/oauth-authorization-server{path}"),
        format!("{path}/.well-known/openid-configuration"),
    ]
}
