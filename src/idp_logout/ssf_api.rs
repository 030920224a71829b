//! The Shared Signals receiver's public API: the builder methods of [`LogoutEndpointsConfig`]
//! that turn it on, and what [`LogoutEndpoints`] tells about it.

use std::sync::Arc;

use super::config::{LogoutEndpoints, LogoutEndpointsConfig};
use super::service::{LogoutEndpointService, Which};
use super::ssf_config::{OnCredentialChange, SsfEventCounts, SsfSettings};

impl LogoutEndpointsConfig {
    /// Serves the Shared Signals push endpoint (RFC 8935; default path `/auth/ssf/events`):
    /// `authorization` is the exact `Authorization` header value the transmitter sends, the
    /// stream's `delivery.authorization_header` chosen when the stream was created (for
    /// example `Bearer <random>`). A request without it is answered `401` before anything is
    /// parsed; the comparison takes the same time whatever the value.
    ///
    /// ```
    /// use okta_oidc::{LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant};
    ///
    /// # fn main() -> Result<(), okta_oidc::ConfigError> {
    /// let oidc = OktaOidc::builder()
    ///     .tenant(Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme"))
    ///     .build_lazy()?;
    /// let config = LogoutEndpointsConfig::new("https://app.example.com")
    ///     .ssf_push_authorization("Bearer 6f1c0b…"); // the stream's authorization_header
    /// let endpoints = LogoutEndpoints::new(&oidc, config)?;
    /// assert_eq!(
    ///     endpoints.ssf_events_url(),
    ///     Some("https://app.example.com/auth/ssf/events") // the stream's endpoint_url
    /// );
    /// assert_eq!(endpoints.ssf_audience(), Some("https://app.example.com"));
    /// # Ok(()) }
    /// ```
    pub fn ssf_push_authorization(mut self, authorization: impl Into<String>) -> Self {
        self.ssf.authorization = Some(authorization.into());
        self
    }

    /// The push endpoint's path (default `/auth/ssf/events`): the stream's
    /// `delivery.endpoint_url` is the app's base URL + this path.
    pub fn ssf_events_path(mut self, path: impl Into<String>) -> Self {
        self.ssf.path = Some(path.into());
        self
    }

    /// The `aud` the transmitter's SETs carry (default: the app's base URL, as given to
    /// [`LogoutEndpointsConfig::new`]).
    pub fn ssf_audience(mut self, audience: impl Into<String>) -> Self {
        self.ssf.audience = Some(audience.into());
        self
    }

    /// What a `credential-change` event does (default [`OnCredentialChange::Revoke`]).
    pub fn on_credential_change(mut self, action: OnCredentialChange) -> Self {
        self.ssf.on_credential_change = action;
        self
    }
}

impl LogoutEndpoints {
    /// The Shared Signals push endpoint's path, when it is served
    /// ([`LogoutEndpointsConfig::ssf_push_authorization`](super::LogoutEndpointsConfig::ssf_push_authorization)).
    pub fn ssf_events_path(&self) -> Option<&str> {
        self.settings.ssf.as_ref().map(|s| s.path.as_str())
    }

    /// The push endpoint's absolute URL: the stream's `delivery.endpoint_url`.
    pub fn ssf_events_url(&self) -> Option<&str> {
        self.settings.ssf.as_ref().map(|s| s.url.as_str())
    }

    /// The `aud` the transmitter's SETs must carry.
    pub fn ssf_audience(&self) -> Option<&str> {
        self.settings.ssf.as_ref().map(|s| s.audience.as_str())
    }

    /// The push endpoint as a Tower service (mount it at
    /// [`ssf_events_path`](Self::ssf_events_path)); `None` when it is not configured.
    pub fn ssf_events_service(&self) -> Option<LogoutEndpointService> {
        self.settings.ssf.as_ref()?;
        Some(LogoutEndpointService::new(
            Arc::clone(&self.settings),
            Which::SharedSignals,
        ))
    }

    /// The `state` of the last verification event (SSF 1.0 §8.1.4.2) the transmitter `issuer`
    /// (a tenant's issuer: for Okta, the org URL) pushed, on this instance: after asking the
    /// transmitter to verify the stream, it shows the stream delivers.
    pub fn ssf_verification_state(&self, issuer: &str) -> Option<String> {
        self.settings.ssf.as_ref()?.verification(issuer)
    }

    /// How many events of each kind this instance's push endpoint took.
    pub fn ssf_event_counts(&self) -> SsfEventCounts {
        self.settings
            .ssf
            .as_ref()
            .map(SsfSettings::counts)
            .unwrap_or_default()
    }
}
