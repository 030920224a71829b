//! Rendering an [`AuthError`] as an HTTP answer: RFC 6750 §3 `WWW-Authenticate` challenges
//! (and RFC 9449 §7.1 `DPoP` ones, with RFC 9728 §5.1 `resource_metadata`), a small JSON body,
//! `Retry-After` for temporary failures, `DPoP-Nonce` when a proof needs the server's nonce.

use std::time::Duration;

use axum_core::body::Body;
use axum_core::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use crate::error::{AuthError, TokenError};

/// The realm named in `WWW-Authenticate` unless configured.
pub(crate) const DEFAULT_REALM: &str = "api";

/// What the `WWW-Authenticate` challenges of a rejection offer: the schemes the route accepts,
/// the RFC 9728 metadata URL, and the scheme the request used (its error goes there).
pub(crate) struct Challenges<'a> {
    pub(crate) realm: &'a str,
    /// `Bearer` is offered (not on a route that requires DPoP).
    pub(crate) bearer: bool,
    /// `DPoP` is offered, with these algorithms (RFC 9449 §7.1 `algs`).
    pub(crate) dpop_algs: Option<&'a str>,
    /// RFC 9728 §5.1 `resource_metadata`.
    pub(crate) resource_metadata: Option<&'a str>,
    /// The request used the `DPoP` scheme.
    pub(crate) used_dpop: bool,
}

impl<'a> Challenges<'a> {
    /// A `Bearer` challenge only.
    pub(crate) fn bearer(realm: &'a str) -> Self {
        Challenges {
            realm,
            bearer: true,
            dpop_algs: None,
            resource_metadata: None,
            used_dpop: false,
        }
    }
}

/// The `DPoP-Nonce` header (RFC 9449 §8.1, §9).
pub(crate) const DPOP_NONCE: &str = "dpop-nonce";

impl AuthError {
    /// Builds the RFC 6750 response for this error, with `realm` in the challenge.
    pub fn to_response(&self, realm: &str) -> Response {
        self.render(&Challenges::bearer(realm))
    }

    /// Builds the response with every challenge the route offers (RFC 6750 §3, RFC 9449 §7.1,
    /// RFC 9728 §5.1): the error's parameters go on the challenge of the scheme the request
    /// used — `DPoP` for a proof's error.
    pub(crate) fn render(&self, challenges: &Challenges<'_>) -> Response {
        let status = self.status();
        let dpop_error = matches!(
            self,
            AuthError::InvalidDpopProof(_)
                | AuthError::UseDpopNonce { .. }
                | AuthError::InvalidToken(TokenError::DpopRequired)
        );
        let error_on_dpop = challenges.dpop_algs.is_some()
            && (dpop_error || challenges.used_dpop || !challenges.bearer);
        let mut values = Vec::with_capacity(2);
        if challenges.bearer {
            values.push(self.challenge("Bearer", None, !error_on_dpop, challenges));
        }
        if let Some(algs) = challenges.dpop_algs {
            values.push(self.challenge("DPoP", Some(algs), error_on_dpop, challenges));
        }
        let fallback = match self {
            AuthError::CrossSiteRequest => "cross_site_request",
            _ => "unauthorized",
        };
        let body = serde_json::json!({
            "error": self.error_code().unwrap_or(fallback),
            "error_description": self.public_description(),
        })
        .to_string();
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // No challenge where no credential would help: the provider is down, or the session
        // is fine and the request came from another site.
        if status != StatusCode::SERVICE_UNAVAILABLE && !matches!(self, AuthError::CrossSiteRequest)
        {
            for value in values {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.append(WWW_AUTHENTICATE, v);
                }
            }
        }
        if let AuthError::UseDpopNonce { nonce } = self
            && let Ok(v) = HeaderValue::from_str(nonce)
        {
            headers.insert(DPOP_NONCE, v);
        }
        let retry = match self {
            AuthError::TemporarilyUnavailable { retry_after } => {
                Some(retry_after.unwrap_or(Duration::from_secs(5)))
            }
            AuthError::KeysUnavailable { .. } => Some(Duration::from_secs(5)),
            _ => None,
        };
        if let Some(retry) = retry {
            let secs = retry.as_secs().max(1);
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }

    /// One challenge: `scheme realm="…"`, then `algs`, the error when it belongs here, the
    /// missing scope, and `resource_metadata`.
    fn challenge(
        &self,
        scheme: &str,
        algs: Option<&str>,
        with_error: bool,
        challenges: &Challenges<'_>,
    ) -> String {
        let mut challenge = format!("{scheme} realm=\"{}\"", quote_safe(challenges.realm));
        if let Some(algs) = algs {
            challenge.push_str(&format!(", algs=\"{}\"", quote_safe(algs)));
        }
        if with_error
            && let Some(code) = self.error_code()
            && self.status() != StatusCode::SERVICE_UNAVAILABLE
        {
            challenge.push_str(&format!(
                ", error=\"{code}\", error_description=\"{}\"",
                self.public_description()
            ));
            match self {
                AuthError::InsufficientScope { required } => {
                    challenge.push_str(&format!(", scope=\"{}\"", quote_safe(&required.join(" "))));
                }
                // RFC 9470 §3: what would be accepted.
                AuthError::InsufficientUserAuthentication {
                    acr_values,
                    max_age,
                } => {
                    if !acr_values.is_empty() {
                        let values = quote_safe(&acr_values.join(" "));
                        challenge.push_str(&format!(", acr_values=\"{values}\""));
                    }
                    if let Some(max_age) = max_age {
                        challenge.push_str(&format!(", max_age=\"{}\"", max_age.as_secs()));
                    }
                }
                _ => {}
            }
        }
        if let Some(url) = challenges.resource_metadata {
            challenge.push_str(&format!(", resource_metadata=\"{}\"", quote_safe(url)));
        }
        challenge
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        self.to_response(DEFAULT_REALM)
    }
}

/// Keeps a value usable inside a quoted-string of a header (drops `"` and `\` and controls).
fn quote_safe(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '"' && *c != '\\' && !c.is_control())
        .collect()
}
