//! The configuration of one tenant: an app instance in a customer's Okta org.

use std::sync::Arc;

use crate::claims::TenantRef;
use crate::error::ConfigError;
use crate::protected_resource::check_resource_id;
use crate::provider::client_auth::ClientSecret;
use crate::provider::fetch::UrlPolicy;
use crate::provider::private_key::ClientKey;

/// One tenant: an app instance in a customer's Okta org (issuer + client).
///
/// Tokens are accepted from a tenant when their `iss` equals [`issuer`](Self::issuer) exactly
/// and their `aud` holds one of the tenant's accepted audiences: the client id (ID tokens, when
/// [`accept_id_tokens`](Self::accept_id_tokens) is on, the default) and every
/// [`audience`](Self::audience) added (access tokens of custom authorization servers).
///
/// ```
/// use okta_oidc::Tenant;
///
/// let acme = Tenant::new("acme", "https://acme.okta.com")
///     .client("0oa1acmeclient", "secret-from-your-store")
///     .audience("api://acme");
/// assert_eq!(acme.issuer(), "https://acme.okta.com");
/// ```
#[derive(Clone, Debug)]
pub struct Tenant {
    pub(crate) id: Arc<str>,
    pub(crate) issuer: Arc<str>,
    pub(crate) client_id: Option<Arc<str>>,
    pub(crate) secrets: Vec<ClientSecret>,
    /// `private_key_jwt`: the key that signs this client's assertions (then no secret is sent).
    pub(crate) key: Option<ClientKey>,
    pub(crate) audiences: Vec<Arc<str>>,
    pub(crate) accept_id_tokens: bool,
    pub(crate) id_token_typ: Option<Vec<String>>,
    pub(crate) access_token_typ: Option<Vec<String>>,
    pub(crate) require_cid: bool,
    pub(crate) trusted_clients: Vec<Arc<str>>,
    pub(crate) resource: Option<Arc<str>>,
    pub(crate) pinned_app_keys: bool,
    pub(crate) own_authorization_server: bool,
}

impl Tenant {
    /// A tenant with the application's `id` for it and its issuer (for an OIN app, the
    /// customer's org URL such as `https://acme.okta.com`, or its custom domain).
    pub fn new(id: impl Into<String>, issuer: impl Into<String>) -> Self {
        Tenant {
            id: Arc::from(id.into()),
            issuer: Arc::from(issuer.into()),
            client_id: None,
            secrets: Vec::new(),
            key: None,
            audiences: Vec::new(),
            accept_id_tokens: true,
            id_token_typ: None,
            access_token_typ: None,
            require_cid: false,
            trusted_clients: Vec::new(),
            resource: None,
            pinned_app_keys: false,
            own_authorization_server: false,
        }
    }

    /// Sets the client id and (primary) secret of this app instance.
    pub fn client(mut self, client_id: impl Into<String>, secret: impl Into<ClientSecret>) -> Self {
        self.client_id = Some(Arc::from(client_id.into()));
        self.secrets = vec![secret.into()];
        self
    }

    /// Sets the client id only (for validating tokens, no secret needed).
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(Arc::from(client_id.into()));
        self
    }

    /// Authenticates this app instance's client with `private_key_jwt` (RFC 7523 §2.2, OpenID
    /// Connect Core §9) at the token endpoint (sign-in) and the introspection endpoint: a
    /// short-lived client assertion signed with `key` (RS256, its `kid` in the header), instead
    /// of a secret. In Okta: the app's *Client authentication* set to *Public key / Private key*,
    /// with the public half of `key` added there. Needs [`client_id`](Self::client_id) (or
    /// [`client`](Self::client)); a secret, if also set, is no longer sent.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), okta_oidc::ConfigError> {
    /// use okta_oidc::{ClientKey, Tenant};
    ///
    /// let pem = std::fs::read_to_string("acme-client-key.pem").expect("the key, from your store");
    /// let acme = Tenant::new("acme", "https://acme.okta.com")
    ///     .client_id("0oa1acmeclient")
    ///     .client_key(ClientKey::from_pkcs8_pem(&pem, Some("key-1"))?);
    /// # let _ = acme;
    /// # Ok(()) }
    /// ```
    pub fn client_key(mut self, key: ClientKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Whether this tenant's client can authenticate to Okta (a client id, and a secret or a
    /// `private_key_jwt` key): introspection and the code exchange need it.
    pub(crate) fn can_authenticate(&self) -> bool {
        self.client_id.is_some() && (!self.secrets.is_empty() || self.key.is_some())
    }

    /// Adds a second client secret, accepted during a secret rotation (Okta lets an app hold
    /// two at once). At most two secrets are kept: the first and the newest.
    pub fn secondary_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.secrets.truncate(1);
        self.secrets.push(secret.into());
        self
    }

    /// Adds an accepted audience (for access tokens of custom authorization servers).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(Arc::from(audience.into()));
        self
    }

    /// Whether ID tokens (`aud` = client id) are accepted as bearer credentials; on by default.
    ///
    /// Okta advises apps to grant API access from access tokens, not ID tokens. In the OIN,
    /// access tokens of the org authorization server can only be checked by introspection;
    /// accepting ID tokens locally is a deliberate trade-off for first-party front ends.
    pub fn accept_id_tokens(mut self, accept: bool) -> Self {
        self.accept_id_tokens = accept;
        self
    }

    /// Requires the header `typ` of ID tokens to be one of these (compared case-insensitively,
    /// with or without an `application/` prefix, RFC 8725 §3.11).
    pub fn id_token_typ<I, S>(mut self, accepted: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.id_token_typ = Some(accepted.into_iter().map(Into::into).collect());
        self
    }

    /// Requires the header `typ` of access tokens to be one of these (for example `at+jwt`,
    /// RFC 9068).
    pub fn access_token_typ<I, S>(mut self, accepted: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.access_token_typ = Some(accepted.into_iter().map(Into::into).collect());
        self
    }

    /// Requires Okta's `cid` claim of access tokens to equal the client id. Tokens of the
    /// issuer's other registered tenants go to those tenants (they are routed by `cid` first);
    /// tokens of unregistered clients are refused.
    pub fn require_cid(mut self, require: bool) -> Self {
        self.require_cid = require;
        self
    }

    /// Accepts introspected access tokens issued to this other client of the org too (for
    /// example your single-page app's), besides the tenant's own client id. Without it, an
    /// introspection answer whose `client_id` is not the tenant's is refused.
    ///
    /// ```
    /// use okta_oidc::Tenant;
    ///
    /// let acme = Tenant::new("acme", "https://acme.okta.com")
    ///     .client("0oa1api", "secret")
    ///     .trust_client_id("0oa1spa");
    /// # let _ = acme;
    /// ```
    pub fn trust_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.trusted_clients.push(Arc::from(client_id.into()));
        self
    }

    /// The resource identifier clients use for this tenant's API (RFC 9728), when the tenant
    /// has its own host or path, e.g. `https://acme.api.example.com`: its metadata document
    /// says this `resource` and this tenant's issuer, and its DPoP proofs' `htu` are checked
    /// against this origin. Without it, the
    /// [`ProtectedResource`](crate::ProtectedResource) of the builder applies.
    ///
    /// ```
    /// use okta_oidc::Tenant;
    ///
    /// let acme = Tenant::new("acme", "https://acme.okta.com/oauth2/default")
    ///     .audience("api://acme")
    ///     .resource("https://acme.api.example.com");
    /// assert_eq!(acme.get_resource(), Some("https://acme.api.example.com"));
    /// ```
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(Arc::from(resource.into()));
        self
    }

    /// The tenant's own resource identifier, if set.
    pub fn get_resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// For an Okta app with custom signing keys (automatic key rotation turned off): also
    /// fetches and caches the keys published for this app at the org's key endpoint with
    /// `?client_id=<client id>`, beside the org's own set. Tokens of this tenant are checked
    /// with the app's keys first, then the org's. Needs a client id.
    ///
    /// ```
    /// use okta_oidc::Tenant;
    ///
    /// let acme = Tenant::new("acme", "https://acme.okta.com")
    ///     .client_id("0oa1acme")
    ///     .pinned_app_keys(true);
    /// # let _ = acme;
    /// ```
    pub fn pinned_app_keys(mut self, pinned: bool) -> Self {
        self.pinned_app_keys = pinned;
        self
    }

    /// Marks this issuer as the application's own authorization server — the
    /// [`JwtBearerGrant`](crate::JwtBearerGrant) that turns Okta's Cross App Access grants into
    /// access tokens. Its tokens name, in their `tenant` claim, the tenant whose user they act
    /// for: the revocations of that tenant (Universal Logout, back-channel logout) end them
    /// too. Off by default.
    ///
    /// ```
    /// use okta_oidc::Tenant;
    ///
    /// let vendor = Tenant::new("vendor-as", "https://auth.vendor.example")
    ///     .audience("https://api.vendor.example")
    ///     .own_authorization_server(true);
    /// # let _ = vendor;
    /// ```
    pub fn own_authorization_server(mut self, own: bool) -> Self {
        self.own_authorization_server = own;
        self
    }

    /// The application's id for this tenant.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The client id, if set.
    pub fn get_client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The client secrets (one, or two during a rotation).
    pub fn secrets(&self) -> &[ClientSecret] {
        &self.secrets
    }

    /// Every accepted audience (the client id first when ID tokens are accepted).
    pub fn accepted_audiences(&self) -> impl Iterator<Item = &str> {
        let id = self.client_id.as_deref().filter(|_| self.accept_id_tokens);
        id.into_iter().chain(self.audiences.iter().map(|a| &**a))
    }

    pub(crate) fn check(&self, urls: UrlPolicy) -> Result<(), ConfigError> {
        if self.id.is_empty() {
            return Err(ConfigError::Invalid("tenant id is empty"));
        }
        urls.check(&self.issuer)
            .map_err(|reason| ConfigError::InvalidIssuer {
                issuer: self.issuer.to_string(),
                reason,
            })?;
        if self.issuer.contains(['?', '#']) {
            return Err(ConfigError::InvalidIssuer {
                issuer: self.issuer.to_string(),
                reason: "must not have a query or fragment",
            });
        }
        if let Some(resource) = &self.resource {
            check_resource_id(resource)?;
        }
        if self.pinned_app_keys && self.client_id.is_none() {
            return Err(ConfigError::Invalid("pinned_app_keys needs a client id"));
        }
        if self.accepted_audiences().next().is_none() {
            return Err(ConfigError::Invalid(
                "tenant accepts no audience: set a client id or an audience",
            ));
        }
        Ok(())
    }

    pub(crate) fn as_ref_info(&self) -> TenantRef {
        TenantRef {
            id: Arc::clone(&self.id),
            issuer: Arc::clone(&self.issuer),
            client_id: self.client_id.clone(),
        }
    }
}

/// A tenant as an application stores it (JSON, TOML, a database row), with feature `serde`:
///
/// ```
/// # #[cfg(feature = "serde")] {
/// let tenant: okta_oidc::Tenant = serde_json::from_str(r#"{
///     "id": "acme",
///     "issuer": "https://acme.okta.com",
///     "client_id": "0oa1acme",
///     "client_secret": "from your secret store",
///     "audiences": ["api://acme"]
/// }"#).unwrap();
/// assert_eq!(tenant.id(), "acme");
/// # }
/// ```
///
/// Fields: `id`, `issuer` (required); `client_id`, `client_secret`, `secondary_client_secret`,
/// `audiences` (or one `audience`), `accept_id_tokens`, `id_token_typ`, `access_token_typ`,
/// `require_cid`, `trusted_client_ids`, `resource`, `pinned_app_keys`, `own_authorization_server`. Unknown fields are
/// refused, so a typo is an error, not a silently ignored setting. There is no `Serialize`: a tenant holds secrets.
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Tenant {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Stored {
            id: String,
            issuer: String,
            #[serde(default)]
            client_id: Option<String>,
            #[serde(default)]
            client_secret: Option<String>,
            #[serde(default)]
            secondary_client_secret: Option<String>,
            #[serde(default)]
            audience: Option<String>,
            #[serde(default)]
            audiences: Vec<String>,
            #[serde(default)]
            accept_id_tokens: Option<bool>,
            #[serde(default)]
            id_token_typ: Option<Vec<String>>,
            #[serde(default)]
            access_token_typ: Option<Vec<String>>,
            #[serde(default)]
            require_cid: bool,
            #[serde(default)]
            trusted_client_ids: Vec<String>,
            #[serde(default)]
            resource: Option<String>,
            #[serde(default)]
            pinned_app_keys: bool,
            #[serde(default)]
            own_authorization_server: bool,
        }
        let s = Stored::deserialize(deserializer)?;
        let mut tenant = Tenant::new(s.id, s.issuer);
        match (s.client_id, s.client_secret) {
            (Some(id), Some(secret)) => tenant = tenant.client(id, secret),
            (Some(id), None) => tenant = tenant.client_id(id),
            (None, Some(_)) => {
                return Err(serde::de::Error::custom("client_secret needs a client_id"));
            }
            (None, None) => {}
        }
        if let Some(secret) = s.secondary_client_secret {
            tenant = tenant.secondary_secret(secret);
        }
        for audience in s.audience.into_iter().chain(s.audiences) {
            tenant = tenant.audience(audience);
        }
        if let Some(accept) = s.accept_id_tokens {
            tenant = tenant.accept_id_tokens(accept);
        }
        if let Some(typ) = s.id_token_typ {
            tenant = tenant.id_token_typ(typ);
        }
        if let Some(typ) = s.access_token_typ {
            tenant = tenant.access_token_typ(typ);
        }
        tenant = tenant.require_cid(s.require_cid);
        for id in s.trusted_client_ids {
            tenant = tenant.trust_client_id(id);
        }
        if let Some(resource) = s.resource {
            tenant = tenant.resource(resource);
        }
        Ok(tenant
            .pinned_app_keys(s.pinned_app_keys)
            .own_authorization_server(s.own_authorization_server))
    }
}
