//! [`SsfTransmitter`]: a tenant's Okta org as a Shared Signals transmitter, managed through
//! Okta's SSF Transmitter API (`/api/v1/ssf/stream`): read its configuration
//! (`/.well-known/ssf-configuration`, SSF 1.0 §7.1), create the stream that pushes to this
//! app's endpoint (§8.1.1), read it and its status, ask for a verification (§8.1.4), delete it.
//! The calls carry a token of the customer's API service app: client credentials with
//! `private_key_jwt` (RFC 7523 §2.2; `provider/client_auth.rs`).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::config::LogoutEndpoints;
use crate::handle::OktaOidc;
use crate::provider::call_span::{CallKind, send};
use crate::provider::client_auth::{PostError, post_form_with_key};
use crate::provider::discovery::discover;
use crate::provider::fetch::{Fetched, Fetcher, UrlPolicy, describe, read_limited};
use crate::provider::private_key::ClientKey;
use crate::time::{SharedClock, UnixTime};
use crate::verify::security_event::org_of;

/// Push delivery (RFC 8935), as Okta names it.
const PUSH: &str = "urn:ietf:rfc:8935";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// The scopes of Okta's SSF Transmitter API as its reference names them.
const DEFAULT_SCOPES: &str = "ssf.manage ssf.read";
/// Largest answer read from the stream API.
const MAX_ANSWER: usize = 64 * 1024;

/// The customer's API service app that may manage the org's SSF stream: its client id and
/// private key (its public half registered in the app), and the scopes asked for (default
/// `ssf.manage ssf.read`).
#[derive(Clone, Debug)]
pub struct ServiceApp {
    client_id: String,
    key: ClientKey,
    scopes: String,
}

impl ServiceApp {
    /// The app `client_id`, authenticating with `key` (`private_key_jwt`).
    pub fn new(client_id: impl Into<String>, key: ClientKey) -> Self {
        ServiceApp {
            client_id: client_id.into(),
            key,
            scopes: DEFAULT_SCOPES.into(),
        }
    }

    /// The scopes asked for, space-separated (default `ssf.manage ssf.read`).
    #[must_use]
    pub fn scopes(mut self, scopes: impl Into<String>) -> Self {
        self.scopes = scopes.into();
        self
    }
}

/// The transmitter's configuration (SSF 1.0 §7.1), as far as a receiver needs it.
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct SsfConfiguration {
    /// The transmitter's issuer: the `iss` of its SETs (for Okta, the org URL).
    pub issuer: String,
    /// Its signing keys (for Okta, the org's).
    pub jwks_uri: String,
    /// The delivery methods it offers.
    #[serde(default)]
    pub delivery_methods_supported: Vec<String>,
    /// The stream API.
    pub configuration_endpoint: Option<String>,
    /// The stream status API.
    pub status_endpoint: Option<String>,
    /// The verification API.
    pub verification_endpoint: Option<String>,
}

/// A stream as the transmitter shows it (SSF 1.0 §8.1.1).
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct SsfStream {
    /// Its id.
    pub stream_id: String,
    /// The subject format (`iss_sub`).
    #[serde(default)]
    pub format: Option<String>,
    /// The events asked for.
    #[serde(default)]
    pub events_requested: Vec<String>,
    /// The events it will deliver.
    #[serde(default)]
    pub events_delivered: Vec<String>,
    /// The `aud` its SETs carry.
    #[serde(default)]
    pub aud: Option<Value>,
    /// Where and how it delivers (`method`, `endpoint_url`; never the `authorization_header`).
    #[serde(default)]
    pub delivery: Option<Value>,
}

/// Why a stream management call failed. No text from the transmitter beyond its status.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsfManageError {
    /// The tenant is not known, or its URLs are not allowed.
    Config(&'static str),
    /// The transmitter could not be reached or its answer read.
    Unreachable(String),
    /// The token endpoint refused the service app (its key or its scopes).
    Token(u16),
    /// The stream API answered this status.
    Refused(u16),
    /// An answer was not the expected JSON.
    Document(&'static str),
}

impl fmt::Display for SsfManageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SsfManageError::Config(why) => write!(f, "SSF management: {why}"),
            SsfManageError::Unreachable(why) => write!(f, "SSF transmitter unreachable: {why}"),
            SsfManageError::Token(status) => {
                write!(f, "the service app got no token (status {status})")
            }
            SsfManageError::Refused(status) => write!(f, "the stream API answered {status}"),
            SsfManageError::Document(why) => write!(f, "SSF transmitter answer: {why}"),
        }
    }
}

impl std::error::Error for SsfManageError {}

/// A tenant's org as a Shared Signals transmitter, and the calls of its stream API. Cheap to
/// clone.
///
/// ```no_run
/// use okta_oidc::{ClientKey, LogoutEndpoints, OktaOidc, ServiceApp, SsfTransmitter};
///
/// # async fn run(oidc: OktaOidc, endpoints: LogoutEndpoints, pem: &str)
/// # -> Result<(), Box<dyn std::error::Error>> {
/// let app = ServiceApp::new("0oa1service", ClientKey::from_pkcs8_pem(pem, Some("key-1"))?);
/// let okta = SsfTransmitter::discover(&oidc, "acme", app).await?;
/// let stream = okta.create_stream(&endpoints, "Bearer <random>").await?;
/// okta.request_verification(&stream.stream_id, "check-1").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SsfTransmitter {
    inner: Arc<Inner>,
}

struct Inner {
    fetcher: Fetcher,
    clock: SharedClock,
    configuration: SsfConfiguration,
    stream_endpoint: String,
    token_endpoint: String,
    app: ServiceApp,
    /// The service app's access token and when to stop using it.
    token: Mutex<Option<(String, UnixTime)>>,
}

impl fmt::Debug for SsfTransmitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsfTransmitter")
            .field("issuer", &self.inner.configuration.issuer)
            .field("client_id", &self.inner.app.client_id)
            .finish_non_exhaustive()
    }
}

impl SsfTransmitter {
    /// Reads the SSF configuration of tenant `tenant_id`'s org (the origin of its issuer, also
    /// for a custom authorization server) and its token endpoint (the org's discovery), for
    /// calls as `app`. Its URLs must pass the same rules as the tenant's.
    pub async fn discover(
        oidc: &OktaOidc,
        tenant_id: &str,
        app: ServiceApp,
    ) -> Result<Self, SsfManageError> {
        let tenant = oidc
            .tenant(tenant_id)
            .ok_or(SsfManageError::Config("unknown tenant"))?;
        let provider = oidc.provider();
        let org = org_of(tenant.issuer()).ok_or(SsfManageError::Config("bad issuer URL"))?;
        let urls: UrlPolicy = provider.urls;
        let fetcher = provider.fetcher.clone();
        let url = format!("{org}/.well-known/ssf-configuration");
        urls.check(&url).map_err(SsfManageError::Config)?;
        let body = get_json(&fetcher, &url).await?;
        let configuration: SsfConfiguration = serde_json::from_value(body)
            .map_err(|_| SsfManageError::Document("not an SSF configuration"))?;
        if configuration.issuer.trim_end_matches('/') != org {
            return Err(SsfManageError::Document(
                "the configuration names another issuer",
            ));
        }
        let stream_endpoint = configuration
            .configuration_endpoint
            .clone()
            .ok_or(SsfManageError::Document("no configuration_endpoint"))?;
        for endpoint in [
            Some(&stream_endpoint),
            configuration.verification_endpoint.as_ref(),
        ]
        .into_iter()
        .flatten()
        .chain(configuration.status_endpoint.as_ref())
        {
            urls.check_endpoint(&org, endpoint)
                .map_err(SsfManageError::Config)?;
        }
        let metadata = discover(&fetcher, &org, urls)
            .await
            .map_err(|e| SsfManageError::Unreachable(e.to_string()))?;
        let token_endpoint = metadata
            .token_endpoint
            .ok_or(SsfManageError::Document("the org has no token endpoint"))?;
        Ok(SsfTransmitter {
            inner: Arc::new(Inner {
                fetcher,
                clock: Arc::clone(&provider.clock),
                configuration,
                stream_endpoint,
                token_endpoint,
                app,
                token: Mutex::new(None),
            }),
        })
    }

    /// The transmitter's configuration.
    pub fn configuration(&self) -> &SsfConfiguration {
        &self.inner.configuration
    }

    /// Creates the stream (one per service app at Okta) that pushes CAEP `session-revoked`
    /// and `credential-change` about `iss_sub` subjects to `endpoints`' Shared Signals URL with
    /// `authorization_header` (the value given to
    /// [`ssf_push_authorization`](crate::LogoutEndpointsConfig::ssf_push_authorization)).
    pub async fn create_stream(
        &self,
        endpoints: &LogoutEndpoints,
        authorization_header: &str,
    ) -> Result<SsfStream, SsfManageError> {
        let endpoint_url = endpoints.ssf_events_url().ok_or(SsfManageError::Config(
            "the Shared Signals endpoint is not configured",
        ))?;
        let body = json!({
            "format": "iss_sub",
            "events_requested": [SESSION_REVOKED, CREDENTIAL_CHANGE],
            "delivery": {
                "method": PUSH,
                "endpoint_url": endpoint_url,
                "authorization_header": authorization_header,
            },
        });
        let answer = self
            .call(http::Method::POST, &self.inner.stream_endpoint, Some(body))
            .await?;
        serde_json::from_value(answer).map_err(|_| SsfManageError::Document("not a stream"))
    }

    /// The streams of this service app (Okta: at most one).
    pub async fn streams(&self) -> Result<Vec<SsfStream>, SsfManageError> {
        let answer = self
            .call(http::Method::GET, &self.inner.stream_endpoint, None)
            .await?;
        let list = match answer {
            Value::Array(list) => list,
            one => vec![one],
        };
        list.into_iter()
            .map(|s| {
                serde_json::from_value(s).map_err(|_| SsfManageError::Document("not a stream"))
            })
            .collect()
    }

    /// The stream's status (`enabled`, `paused`, `disabled`).
    pub async fn status(&self, stream_id: &str) -> Result<String, SsfManageError> {
        let endpoint = self
            .inner
            .configuration
            .status_endpoint
            .as_deref()
            .ok_or(SsfManageError::Document("no status_endpoint"))?;
        let answer = self
            .call(
                http::Method::GET,
                &with_stream_id(endpoint, stream_id),
                None,
            )
            .await?;
        answer["status"]
            .as_str()
            .map(str::to_owned)
            .ok_or(SsfManageError::Document("no status"))
    }

    /// Asks the transmitter to send a verification event carrying `state` (SSF 1.0 §8.1.4.2);
    /// it arrives at the push endpoint
    /// ([`LogoutEndpoints::ssf_verification_state`](crate::LogoutEndpoints::ssf_verification_state)).
    pub async fn request_verification(
        &self,
        stream_id: &str,
        state: &str,
    ) -> Result<(), SsfManageError> {
        let endpoint = self
            .inner
            .configuration
            .verification_endpoint
            .clone()
            .ok_or(SsfManageError::Document("no verification_endpoint"))?;
        let body = json!({"stream_id": stream_id, "state": state});
        self.call(http::Method::POST, &endpoint, Some(body)).await?;
        Ok(())
    }

    /// Deletes the stream.
    pub async fn delete_stream(&self, stream_id: &str) -> Result<(), SsfManageError> {
        let endpoint = with_stream_id(&self.inner.stream_endpoint, stream_id);
        self.call(http::Method::DELETE, &endpoint, None).await?;
        Ok(())
    }

    /// One call of the stream API with the service app's token; the JSON answer (`Null` for
    /// none).
    async fn call(
        &self,
        method: http::Method,
        url: &str,
        body: Option<Value>,
    ) -> Result<Value, SsfManageError> {
        let token = self.token().await?;
        let mut request = self
            .inner
            .fetcher
            .client
            .request(method, url)
            .bearer_auth(token)
            .header(http::header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = send(CallKind::SsfStream, request)
            .await
            .map_err(|e| SsfManageError::Unreachable(describe(e).to_string()))?;
        let status = response.status();
        let bytes = read_limited(response, MAX_ANSWER)
            .await
            .map_err(|e| SsfManageError::Unreachable(e.to_string()))?;
        if !status.is_success() {
            return Err(SsfManageError::Refused(status.as_u16()));
        }
        if bytes.is_empty() || status == StatusCode::NO_CONTENT {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|_| SsfManageError::Document("not JSON"))
    }

    /// The service app's access token: the cached one until a minute before it expires, else
    /// a new one (client credentials, `private_key_jwt`).
    async fn token(&self) -> Result<String, SsfManageError> {
        let now = UnixTime::now(self.inner.clock.as_ref());
        if let Some((token, until)) = &*self.lock_token()
            && *until > now
        {
            return Ok(token.clone());
        }
        let app = &self.inner.app;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", app.scopes.as_str()),
        ];
        let answer = post_form_with_key(
            CallKind::Token,
            &self.inner.fetcher,
            &self.inner.token_endpoint,
            &form,
            &app.client_id,
            &app.key,
            now.as_secs(),
            MAX_ANSWER,
        )
        .await
        .map_err(|e| match e {
            PostError::Transport(e) => SsfManageError::Unreachable(e.to_string()),
            PostError::InvalidClient | PostError::NoSecret => SsfManageError::Token(401),
        })?;
        if !answer.status.is_success() {
            return Err(SsfManageError::Token(answer.status.as_u16()));
        }
        #[derive(Deserialize)]
        struct TokenAnswer {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let parsed: TokenAnswer = serde_json::from_slice(&answer.body)
            .map_err(|_| SsfManageError::Document("not a token answer"))?;
        let lifetime = parsed.expires_in.unwrap_or(300).saturating_sub(60);
        let until = now.after(Duration::from_secs(lifetime));
        *self.lock_token() = Some((parsed.access_token.clone(), until));
        Ok(parsed.access_token)
    }

    fn lock_token(&self) -> std::sync::MutexGuard<'_, Option<(String, UnixTime)>> {
        self.inner
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// `endpoint?stream_id=…` (Okta takes the stream's id as a query parameter).
fn with_stream_id(endpoint: &str, stream_id: &str) -> String {
    let mut url = match url::Url::parse(endpoint) {
        Ok(url) => url,
        Err(_) => return endpoint.to_owned(),
    };
    url.query_pairs_mut().append_pair("stream_id", stream_id);
    url.into()
}

/// GET a JSON document (the configuration), bounded.
async fn get_json(fetcher: &Fetcher, url: &str) -> Result<Value, SsfManageError> {
    match fetcher.get(CallKind::SsfStream, url, None).await {
        Ok(Fetched::Body { body, .. }) => {
            serde_json::from_slice(&body).map_err(|_| SsfManageError::Document("not JSON"))
        }
        Ok(_) => Err(SsfManageError::Document("no document")),
        Err(e) => Err(SsfManageError::Unreachable(e.to_string())),
    }
}
