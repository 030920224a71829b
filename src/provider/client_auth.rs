//! Authenticated POSTs to a provider's endpoints (token, introspection): the client
//! authentication method (`client_secret_basic`, or `client_secret_post` when that is all the
//! provider offers), the second secret tried when the first is refused during a rotation, and
//! a bounded read of the answer. The token endpoint and introspection share this one place.
//! `private_key_jwt` (RFC 7523 §2.2, a client assertion signed with a [`ClientKey`]) is
//! [`post_form_with_key`], for any of them (the SSF stream management's token today).

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION};
use http::{HeaderMap, StatusCode};

use super::call_span::{CallKind, send};
use super::fetch::{Fetcher, describe, read_limited};
use super::private_key::ClientKey;
use crate::error::LoadError;

/// A client secret. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret(Arc<str>);

impl ClientSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        ClientSecret(Arc::from(secret.into()))
    }

    /// The secret itself, for sending to the provider.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

impl From<&str> for ClientSecret {
    fn from(s: &str) -> Self {
        ClientSecret::new(s)
    }
}

impl From<String> for ClientSecret {
    fn from(s: String) -> Self {
        ClientSecret::new(s)
    }
}

/// How the client authenticates (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientAuthMethod {
    /// HTTP Basic with the form-encoded id and secret (the default).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

impl ClientAuthMethod {
    /// `client_secret_basic`, unless the provider lists `client_secret_post` and not basic.
    pub(crate) fn choose(supported: Option<&[String]>) -> Self {
        let offers = |m: &str| supported.is_some_and(|ms| ms.iter().any(|x| x == m));
        if offers("client_secret_post") && !offers("client_secret_basic") {
            ClientAuthMethod::Post
        } else {
            ClientAuthMethod::Basic
        }
    }
}

/// The client making the call: its id and its secrets (one, or two during a rotation), or the
/// key of its `private_key_jwt` assertions.
pub(crate) struct Client<'a> {
    pub(crate) id: &'a str,
    pub(crate) secrets: &'a [ClientSecret],
    pub(crate) method: ClientAuthMethod,
    /// With a key, the client authenticates with a signed assertion, never a secret.
    pub(crate) key: Option<&'a ClientKey>,
}

/// The provider's answer (any status but a refused client).
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

/// Why an authenticated POST produced no answer to read.
#[derive(Debug)]
pub(crate) enum PostError {
    /// The client has no secret.
    NoSecret,
    /// Every secret was refused (`401`, or `invalid_client`).
    InvalidClient,
    /// The request failed or the answer could not be read (too large, cut).
    Transport(LoadError),
}

/// POSTs `form` to `endpoint` as `client`, trying the next secret when one is refused.
pub(crate) async fn post_form(
    kind: CallKind,
    fetcher: &Fetcher,
    endpoint: &str,
    form: &[(&str, &str)],
    client: &Client<'_>,
    max_body: usize,
) -> Result<Answer, PostError> {
    if let Some(key) = client.key {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        return post_form_with_key(kind, fetcher, endpoint, form, client.id, key, now, max_body)
            .await;
    }
    if client.secrets.is_empty() {
        return Err(PostError::NoSecret);
    }
    for (index, secret) in client.secrets.iter().enumerate() {
        let answer = post_form_once(kind, fetcher, endpoint, form, client, secret, max_body)
            .await
            .map_err(PostError::Transport)?;
        if refused_client(answer.status, &answer.body) {
            if index + 1 < client.secrets.len() {
                tracing::info!(endpoint, "client secret refused: trying the other one");
                continue;
            }
            return Err(PostError::InvalidClient);
        }
        return Ok(answer);
    }
    Err(PostError::InvalidClient)
}

/// One authenticated POST with one secret, the answer as it came (a refused client too).
pub(crate) async fn post_form_once(
    kind: CallKind,
    fetcher: &Fetcher,
    endpoint: &str,
    form: &[(&str, &str)],
    client: &Client<'_>,
    secret: &ClientSecret,
    max_body: usize,
) -> Result<Answer, LoadError> {
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    let mut request = fetcher
        .client
        .post(endpoint)
        .header(ACCEPT, "application/json");
    match client.method {
        ClientAuthMethod::Post => {
            fields.push(("client_id", client.id));
            fields.push(("client_secret", secret.expose()));
        }
        ClientAuthMethod::Basic => {
            let user = form_urlencode(client.id);
            let password = form_urlencode(secret.expose());
            let basic = STANDARD.encode(format!("{user}:{password}"));
            request = request.header(AUTHORIZATION, format!("Basic {basic}"));
        }
    }
    let response = send(kind, request.form(&fields)).await.map_err(describe)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_limited(response, max_body).await?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub(crate) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Lifetime of a client assertion, in seconds (Okta accepts up to an hour).
const ASSERTION_SECS: i64 = 300;

/// A client assertion for `private_key_jwt` (RFC 7523 §3, OpenID Connect Core §9): `iss` and
/// `sub` the client id, `aud` the endpoint it is sent to, `iat` now, `exp` in 5 minutes, a
/// `jti` never used before; header `alg` RS256 and the key's `kid`.
pub(crate) fn client_assertion(
    client_id: &str,
    audience: &str,
    key: &ClientKey,
    now_secs: i64,
) -> Result<String, &'static str> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    if let Some(kid) = key.kid() {
        header["kid"] = kid.into();
    }
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now_secs,
        "exp": now_secs.saturating_add(ASSERTION_SECS),
        "jti": unique_id(),
    });
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = key.sign(message.as_bytes())?;
    Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
}

/// 128 bits no other assertion of this process (or, but for chance, any other) carries: a
/// counter and the time hashed with two randomly keyed hashers (`RandomState` takes its keys
/// from the operating system).
fn unique_id() -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let (a, b) = (RandomState::new(), RandomState::new());
    format!(
        "{:016x}{:016x}",
        a.hash_one((n, nanos)),
        b.hash_one((nanos, n))
    )
}

/// POSTs `form` to `endpoint` as `client_id`, authenticated by a client assertion signed with
/// `key` (`private_key_jwt`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn post_form_with_key(
    kind: CallKind,
    fetcher: &Fetcher,
    endpoint: &str,
    form: &[(&str, &str)],
    client_id: &str,
    key: &ClientKey,
    now_secs: i64,
    max_body: usize,
) -> Result<Answer, PostError> {
    let assertion = client_assertion(client_id, endpoint, key, now_secs)
        .map_err(|why| PostError::Transport(LoadError::Document(why.into())))?;
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    fields.push(("client_id", client_id));
    fields.push(("client_assertion_type", JWT_BEARER));
    fields.push(("client_assertion", &assertion));
    let request = fetcher
        .client
        .post(endpoint)
        .header(ACCEPT, "application/json")
        .form(&fields);
    let response = send(kind, request)
        .await
        .map_err(|e| PostError::Transport(describe(e)))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_limited(response, max_body)
        .await
        .map_err(PostError::Transport)?;
    if refused_client(status, &body) {
        return Err(PostError::InvalidClient);
    }
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// A refused client: `401`, or an OAuth error `invalid_client` (RFC 6749 §5.2).
pub(crate) fn refused_client(status: StatusCode, body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        #[serde(default)]
        error: String,
    }
    status == StatusCode::UNAUTHORIZED
        || (status.is_client_error()
            && serde_json::from_slice::<OAuthError>(body)
                .is_ok_and(|e| e.error == "invalid_client"))
}

/// `application/x-www-form-urlencoded` of the id and secret in HTTP Basic (RFC 6749 §2.3.1).
fn form_urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_values_are_form_encoded() {
        assert_eq!(form_urlencode("a b:c/d"), "a+b%3Ac%2Fd");
        assert_eq!(form_urlencode("0oa1abc"), "0oa1abc");
    }

    #[test]
    fn method_choice() {
        let both = vec![
            "client_secret_basic".to_owned(),
            "client_secret_post".to_owned(),
        ];
        let post = vec!["client_secret_post".to_owned()];
        assert_eq!(ClientAuthMethod::choose(None), ClientAuthMethod::Basic);
        assert_eq!(
            ClientAuthMethod::choose(Some(&both)),
            ClientAuthMethod::Basic
        );
        assert_eq!(
            ClientAuthMethod::choose(Some(&post)),
            ClientAuthMethod::Post
        );
    }

    /// RFC 7523 §3: `iss` = `sub` = the client id, `aud` the endpoint, `exp` 5 minutes on, a
    /// fresh `jti` every time; RS256 with the key's `kid`.
    #[cfg(all(
        feature = "test-util",
        any(feature = "aws_lc_rs", feature = "rust_crypto")
    ))]
    #[test]
    fn client_assertions_rfc_7523() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let pem = include_str!("../testing/keys/rsa2.pem");
        let key = ClientKey::from_pkcs8_pem(pem, Some("k1")).unwrap();
        let assertion = client_assertion("0oa1", "https://t/token", &key, 100).unwrap();
        let part = |i: usize| -> serde_json::Value {
            let segment = assertion.split('.').nth(i).unwrap();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
        };
        assert_eq!(part(0)["alg"], "RS256");
        assert_eq!(part(0)["kid"], "k1");
        let claims = part(1);
        assert_eq!(claims["iss"], "0oa1");
        assert_eq!(claims["sub"], "0oa1");
        assert_eq!(claims["aud"], "https://t/token");
        assert_eq!(
            (claims["iat"].as_i64(), claims["exp"].as_i64()),
            (Some(100), Some(400))
        );
        let again = client_assertion("0oa1", "https://t/token", &key, 100).unwrap();
        assert_ne!(part(1)["jti"], "");
        assert_ne!(again, assertion, "a fresh jti each time");
    }

    #[test]
    fn refused_clients() {
        assert!(refused_client(StatusCode::UNAUTHORIZED, b""));
        assert!(refused_client(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_client"}"#
        ));
        assert!(!refused_client(
            StatusCode::BAD_REQUEST,
            br#"{"error":"invalid_grant"}"#
        ));
        assert!(!refused_client(
            StatusCode::OK,
            br#"{"error":"invalid_client"}"#
        ));
    }
}
