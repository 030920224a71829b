//! Provider metadata (OpenID Connect Discovery 1.0): fetch, and check the issuer.

use serde::{Deserialize, Serialize};

use super::call_span::CallKind;
use super::fetch::{Fetched, Fetcher, UrlPolicy};
use crate::error::LoadError;

/// The parts of a provider's discovery document this crate uses.
///
/// Every endpoint comes from here; none is ever built by hand (Okta's org authorization server
/// serves keys at `/oauth2/v1/keys`, custom servers at `/oauth2/{id}/v1/keys`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProviderMetadata {
    /// The issuer identifier; equal to the configured issuer.
    pub issuer: String,
    /// Where the key set is published.
    pub jwks_uri: String,
    /// Authorization endpoint (login).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint (code exchange).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// UserInfo endpoint.
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// RP-initiated logout endpoint.
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
    /// Token introspection endpoint (RFC 7662).
    #[serde(default)]
    pub introspection_endpoint: Option<String>,
    /// Token revocation endpoint (RFC 7009).
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// Client authentication methods the token endpoint accepts.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Client authentication methods the introspection endpoint accepts.
    #[serde(default)]
    pub introspection_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// PKCE methods supported.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Signing algorithms of ID tokens.
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Option<Vec<String>>,
    /// Whether the authorization response carries `iss` (RFC 9207).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}

/// The discovery URL of an issuer: `{issuer}/.well-known/openid-configuration`.
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

/// Fetches and checks the discovery document of `issuer`.
pub(crate) async fn discover(
    fetcher: &Fetcher,
    issuer: &str,
    urls: UrlPolicy,
) -> Result<ProviderMetadata, LoadError> {
    let url = discovery_url(issuer);
    let body = match fetcher.get(CallKind::Discovery, &url, None).await? {
        Fetched::Body { body, .. } => body,
        Fetched::NotModified { .. } => {
            return Err(LoadError::Http("unexpected 304 for discovery".into()));
        }
    };
    parse_metadata(&body, issuer, urls)
}

/// Parses a discovery document and checks it against the configured issuer: the same issuer,
/// and every endpoint `https://` on the issuer's host (unless `urls` allows more).
pub(crate) fn parse_metadata(
    body: &[u8],
    issuer: &str,
    urls: UrlPolicy,
) -> Result<ProviderMetadata, LoadError> {
    let metadata = parse_document(body)?;
    check_issuer(&metadata, issuer)?;
    for (name, endpoint) in endpoints(&metadata) {
        let Some(endpoint) = endpoint else { continue };
        urls.check_endpoint(issuer, endpoint).map_err(|why| {
            LoadError::Document(if name == "jwks_uri" {
                format!("jwks_uri {why}")
            } else {
                format!("endpoint {endpoint:?} {why}")
            })
        })?;
    }
    Ok(metadata)
}

/// Parses a discovery document (JSON with at least `issuer` and `jwks_uri`), checking nothing.
pub(crate) fn parse_document(body: &[u8]) -> Result<ProviderMetadata, LoadError> {
    serde_json::from_slice(body)
        .map_err(|e| LoadError::Document(format!("discovery document: {e}")))
}

/// The document's issuer must equal the configured one exactly (OpenID Connect Discovery 1.0
/// §4.3).
pub(crate) fn check_issuer(metadata: &ProviderMetadata, issuer: &str) -> Result<(), LoadError> {
    if metadata.issuer != issuer {
        return Err(LoadError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: metadata.issuer.clone(),
        });
    }
    Ok(())
}

/// Every endpoint of the document this crate may call, by its field name (`jwks_uri` first).
pub(crate) fn endpoints(metadata: &ProviderMetadata) -> [(&'static str, Option<&str>); 7] {
    [
        ("jwks_uri", Some(metadata.jwks_uri.as_str())),
        (
            "authorization_endpoint",
            metadata.authorization_endpoint.as_deref(),
        ),
        ("token_endpoint", metadata.token_endpoint.as_deref()),
        ("userinfo_endpoint", metadata.userinfo_endpoint.as_deref()),
        (
            "end_session_endpoint",
            metadata.end_session_endpoint.as_deref(),
        ),
        (
            "introspection_endpoint",
            metadata.introspection_endpoint.as_deref(),
        ),
        (
            "revocation_endpoint",
            metadata.revocation_endpoint.as_deref(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy {
        loopback_http: false,
        other_hosts: false,
    };

    #[test]
    fn issuer_must_match_exactly() {
        let doc =
            br#"{"issuer":"https://a.okta.com","jwks_uri":"https://a.okta.com/oauth2/v1/keys"}"#;
        assert!(parse_metadata(doc, "https://a.okta.com", STRICT).is_ok());
        assert!(matches!(
            parse_metadata(doc, "https://a.okta.com/", STRICT),
            Err(LoadError::IssuerMismatch { .. })
        ));
        assert!(matches!(
            parse_metadata(doc, "https://b.okta.com", STRICT),
            Err(LoadError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn insecure_endpoints_rejected() {
        let doc = br#"{"issuer":"https://a.okta.com","jwks_uri":"http://a.okta.com/keys"}"#;
        assert!(matches!(
            parse_metadata(doc, "https://a.okta.com", STRICT),
            Err(LoadError::Document(_))
        ));
        assert!(matches!(
            parse_metadata(b"[]", "x", STRICT),
            Err(LoadError::Document(_))
        ));
    }

    #[test]
    fn endpoints_on_another_host_are_refused_unless_allowed() {
        let doc = br#"{"issuer":"https://a.okta.com","jwks_uri":"https://a.okta.com/keys",
            "token_endpoint":"https://evil.example/token"}"#;
        assert!(matches!(
            parse_metadata(doc, "https://a.okta.com", STRICT),
            Err(LoadError::Document(_))
        ));
        let anywhere = UrlPolicy {
            other_hosts: true,
            ..STRICT
        };
        assert!(parse_metadata(doc, "https://a.okta.com", anywhere).is_ok());
    }

    #[test]
    fn url() {
        assert_eq!(
            discovery_url("https://a.okta.com/oauth2/default"),
            "https://a.okta.com/oauth2/default/.well-known/openid-configuration"
        );
    }
}
