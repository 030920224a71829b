//! The clients of the application's own authorization server, and how a token request proves
//! it comes from one (RFC 6749 §2.3.1: `client_secret_basic`, `client_secret_post`), secrets
//! compared in constant time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::provider::client_auth::ClientSecret;

/// A client registered at the application's authorization server (the agent's client there,
/// which Okta stamps into every grant's `client_id`): its id, its secrets (two during a
/// rotation) and the scopes it may ever get.
///
/// ```
/// use okta_oidc::GrantClient;
///
/// let agent = GrantClient::new("agent-7", "secret-from-your-store")
///     .secondary_secret("the-next-secret")
///     .allowed_scopes(["todos.read", "todos.write"]);
/// assert_eq!(agent.id(), "agent-7");
/// ```
#[derive(Clone)]
#[must_use]
pub struct GrantClient {
    pub(super) id: Arc<str>,
    pub(super) secrets: Vec<ClientSecret>,
    pub(super) allowed_scopes: Vec<String>,
}

impl fmt::Debug for GrantClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantClient")
            .field("id", &self.id)
            .field("secrets", &self.secrets.len())
            .field("allowed_scopes", &self.allowed_scopes)
            .finish()
    }
}

impl GrantClient {
    /// A client with its id and secret, allowed no scope yet.
    pub fn new(id: impl Into<String>, secret: impl Into<ClientSecret>) -> Self {
        GrantClient {
            id: Arc::from(id.into()),
            secrets: vec![secret.into()],
            allowed_scopes: Vec::new(),
        }
    }

    /// A second secret accepted as well (during a rotation).
    pub fn secondary_secret(mut self, secret: impl Into<ClientSecret>) -> Self {
        self.secrets.push(secret.into());
        self
    }

    /// The scopes this client may get, whatever a grant says: an access token holds the
    /// scopes requested (or, without `scope`, granted) that are both in the grant and here.
    pub fn allowed_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The client id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Why a request's client is not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Malformed: both methods, or several credentials (RFC 6749 §2.3: one method per request).
    InvalidRequest(&'static str),
    /// No credentials, an unknown client or a wrong secret (`invalid_client`).
    InvalidClient(&'static str),
}

/// The client that authenticated the request with its `Authorization: Basic` header or the
/// form's `client_id` and `client_secret`.
pub(super) fn authenticate<'c>(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    clients: &'c HashMap<Arc<str>, GrantClient>,
) -> Result<&'c GrantClient, Refusal> {
    let mut authorizations = headers.get_all(AUTHORIZATION).iter();
    let header = authorizations.next();
    if authorizations.next().is_some() {
        return Err(Refusal::InvalidRequest("several Authorization headers"));
    }
    let posted = form.get("client_secret");
    let (id, secret) = match (header, posted) {
        (Some(_), Some(_)) => {
            return Err(Refusal::InvalidRequest(
                "client authenticated with both client_secret_basic and client_secret_post",
            ));
        }
        (Some(value), None) => basic(value.as_bytes())?,
        (None, Some(secret)) => (
            form.get("client_id")
                .cloned()
                .ok_or(Refusal::InvalidRequest("client_secret without client_id"))?,
            secret.clone(),
        ),
        (None, None) => return Err(Refusal::InvalidClient("no client authentication")),
    };
    if let Some(named) = form.get("client_id")
        && *named != id
    {
        return Err(Refusal::InvalidRequest(
            "client_id differs from the authenticated client",
        ));
    }
    let client = clients
        .get(id.as_str())
        .ok_or(Refusal::InvalidClient("unknown client"))?;
    let given = Sha256::digest(secret.as_bytes());
    // Every secret compared, in constant time over their digests (no early exit on a match).
    let matches = client.secrets.iter().fold(0u8, |any, s| {
        any | Sha256::digest(s.expose().as_bytes())
            .ct_eq(&given)
            .unwrap_u8()
    });
    if matches == 1 {
        Ok(client)
    } else {
        Err(Refusal::InvalidClient("wrong client secret"))
    }
}

/// `Basic base64(form-urlencoded id ":" form-urlencoded secret)` (RFC 6749 §2.3.1).
fn basic(value: &[u8]) -> Result<(String, String), Refusal> {
    const BAD: Refusal = Refusal::InvalidClient("malformed Basic credentials");
    let text = std::str::from_utf8(value).map_err(|_| BAD)?;
    let (scheme, encoded) = text.split_once(' ').ok_or(BAD)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Refusal::InvalidClient(
            "the Authorization header is not Basic",
        ));
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| BAD)?;
    let decoded = String::from_utf8(decoded).map_err(|_| BAD)?;
    let (id, secret) = decoded.split_once(':').ok_or(BAD)?;
    Ok((form_decode(id), form_decode(secret)))
}

fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clients() -> HashMap<Arc<str>, GrantClient> {
        let c = GrantClient::new("a b", "s:1").secondary_secret("s2");
        HashMap::from([(Arc::clone(&c.id), c)])
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn basic_credentials_are_form_decoded_and_both_secrets_work() {
        let clients = clients();
        let none = HashMap::new();
        for secret in ["s%3A1", "s2"] {
            let value = format!("Basic {}", STANDARD.encode(format!("a+b:{secret}")));
            assert!(authenticate(&headers(&value), &none, &clients).is_ok());
        }
        let wrong = format!("Basic {}", STANDARD.encode("a+b:s3"));
        assert_eq!(
            authenticate(&headers(&wrong), &none, &clients).err(),
            Some(Refusal::InvalidClient("wrong client secret"))
        );
    }

    #[test]
    fn one_method_per_request() {
        let clients = clients();
        let form = HashMap::from([
            ("client_id".to_owned(), "a b".to_owned()),
            ("client_secret".to_owned(), "s2".to_owned()),
        ]);
        assert!(authenticate(&HeaderMap::new(), &form, &clients).is_ok());
        let value = format!("Basic {}", STANDARD.encode("a+b:s2"));
        assert!(matches!(
            authenticate(&headers(&value), &form, &clients),
            Err(Refusal::InvalidRequest(_))
        ));
        assert_eq!(
            authenticate(&HeaderMap::new(), &HashMap::new(), &clients).err(),
            Some(Refusal::InvalidClient("no client authentication"))
        );
    }
}
