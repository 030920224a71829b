//! The mock org as a sender of logout signals: Okta's Universal Logout call (a signed global
//! token revocation request to the app's endpoint, as Okta sends it when an admin clears a
//! user's sessions) and OpenID Connect Back-Channel Logout tokens.

use serde_json::{Value, json};

use super::org::MockOkta;
use super::token::{self, TokenBuilder};

/// The `events` member of a logout token.
const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("MockOkta: HTTP client: {e}"))
}

impl MockOkta {
    /// The JWT of a Universal Logout call to `endpoint` (the app's absolute URL), as Okta signs
    /// it: header `typ` `global-token-revocation+jwt`, RS256 with the org's signing key; `iss`
    /// the org, `sub` the client id, `aud` the endpoint, `iat` now, `nbf` 5 minutes ago, `exp`
    /// in 5 minutes, a fresh `jti`. Change any of it to forge one.
    pub fn global_token_revocation_token(&self, endpoint: &str) -> TokenBuilder {
        let now = token::now();
        self.token()
            .header("typ", "global-token-revocation+jwt")
            .claim("iss", self.issuer())
            .claim("sub", self.client_id())
            .claim("aud", endpoint)
            .claim("iat", now)
            .claim("nbf", now - 300)
            .claim("exp", now + 300)
            .claim("jti", format!("GTR.{}", self.shared().next_serial()))
    }

    /// Signs out `sub_id` (an RFC 9493 subject identifier, see [`iss_sub`](Self::iss_sub) and
    /// [`email_subject`](Self::email_subject)) from the app at `endpoint`, as Okta's Universal
    /// Logout does: `POST` with a fresh signed JWT and `{"sub_id": …}`. Returns the status.
    ///
    /// # Panics
    ///
    /// If the app cannot be reached.
    pub async fn universal_logout(&self, endpoint: &str, sub_id: Value) -> u16 {
        let token = self.global_token_revocation_token(endpoint).build();
        let body = json!({ "sub_id": sub_id }).to_string();
        self.send_universal_logout(endpoint, Some(&token), &body)
            .await
    }

    /// `POST`s a Universal Logout request with this bearer token (or none) and body, verbatim.
    /// Returns the status.
    ///
    /// # Panics
    ///
    /// If the app cannot be reached.
    pub async fn send_universal_logout(
        &self,
        endpoint: &str,
        token: Option<&str>,
        body: &str,
    ) -> u16 {
        let mut request = client()
            .post(endpoint)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("MockOkta: Universal Logout to {endpoint}: {e}"));
        response.status().as_u16()
    }

    /// The subject identifier of a user of this org by id: `{"format": "iss_sub", "iss": <the
    /// org>, "sub": sub}`.
    pub fn iss_sub(&self, sub: &str) -> Value {
        json!({ "format": "iss_sub", "iss": self.issuer(), "sub": sub })
    }

    /// The subject identifier of a user by email: `{"format": "email", "email": email}`.
    pub fn email_subject(&self, email: &str) -> Value {
        json!({ "format": "email", "email": email })
    }

    /// An OpenID Connect Back-Channel Logout 1.0 logout token for the client: header `typ`
    /// `logout+jwt`; `iss`, `aud` the client id, `iat` now, `exp` in 2 minutes, a fresh `jti`,
    /// the back-channel logout event, and `sub` the default user. Set `sid` (or remove `sub`)
    /// with the builder.
    pub fn logout_token(&self) -> TokenBuilder {
        let now = token::now();
        self.token()
            .header("typ", "logout+jwt")
            .claim("iss", self.issuer())
            .claim("aud", self.client_id())
            .claim("iat", now)
            .claim("exp", now + 120)
            .claim("jti", format!("LT.{}", self.shared().next_serial()))
            .claim("events", json!({ BACKCHANNEL_EVENT: {} }))
            .claim("sub", "00u1mockuser")
    }

    /// `POST`s `logout_token` (form-encoded) to the app's back-channel logout `endpoint`.
    /// Returns the status.
    ///
    /// # Panics
    ///
    /// If the app cannot be reached.
    pub async fn backchannel_logout(&self, endpoint: &str, logout_token: &str) -> u16 {
        let response = client()
            .post(endpoint)
            .form(&[("logout_token", logout_token)])
            .send()
            .await
            .unwrap_or_else(|e| panic!("MockOkta: back-channel logout to {endpoint}: {e}"));
        response.status().as_u16()
    }
}
