//! The mock's sign-in endpoints: authorize (auto-approves the configured user, or denies;
//! `prompt=none` answers `login_required`: the mock has no Okta session),
//! token (client auth, single-use codes bound to redirect_uri and PKCE; the Cross App Access
//! token exchange in `token_exchange.rs`), userinfo and logout,
//! with hooks that break the ID token or the userinfo `sub` on purpose.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::org::MockOkta;
use super::respond::{enter, oauth_error};
use super::state::{Endpoint, Grant, LogoutRequest, Shared, default_user};
use super::token::{TokenBuilder, now};

type Mock = State<Arc<Shared>>;

impl MockOkta {
    /// The user that authorize signs in: a JSON object of claims with at least `sub`
    /// (default: `00u1mockuser`, "Mock User", `mock.user@example.com`). The claims go into
    /// the ID token and the userinfo answer.
    ///
    /// # Panics
    ///
    /// If `claims` is not an object with a string `sub`.
    pub fn set_user(&self, claims: Value) {
        let Value::Object(map) = claims else {
            panic!("MockOkta::set_user: claims must be a JSON object");
        };
        assert!(
            map.get("sub").is_some_and(Value::is_string),
            "MockOkta::set_user: claims need a string `sub`"
        );
        self.lock().oauth.user = Some(map);
    }

    /// Makes authorize deny every login (`error=access_denied`), or approve again.
    pub fn deny_logins(&self, deny: bool) {
        self.lock().oauth.deny = deny;
    }

    /// Registers a redirect URI. While none is registered, authorize accepts any absolute
    /// `http(s)` redirect URI; once one is, only registered ones.
    pub fn allow_redirect_uri(&self, uri: &str) {
        self.lock().oauth.redirect_uris.push(uri.to_owned());
    }

    /// The client secrets the token endpoint accepts (default: just
    /// [`client_secret`](Self::client_secret)); for secret rotations.
    pub fn set_client_secrets<I, S>(&self, secrets: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.lock().oauth.secrets = Some(secrets.into_iter().map(Into::into).collect());
    }

    /// Passes every ID token the token endpoint issues through `hook` (to break a claim, the
    /// signature or the header on purpose).
    ///
    /// ```
    /// # use okta_oidc::testing::MockOkta;
    /// # async fn f(okta: MockOkta) {
    /// okta.on_id_token(|t| t.claim("nonce", "not the one sent"));
    /// okta.on_id_token(|t| t.without_claim("sub"));
    /// # }
    /// ```
    pub fn on_id_token<F>(&self, hook: F)
    where
        F: Fn(TokenBuilder) -> TokenBuilder + Send + Sync + 'static,
    {
        self.lock().oauth.id_token_hook = Some(Arc::new(hook));
    }

    /// Removes the [`on_id_token`](Self::on_id_token) hook.
    pub fn clear_id_token_hook(&self) {
        self.lock().oauth.id_token_hook = None;
    }

    /// Makes userinfo answer this `sub` (`None`: the user's own).
    pub fn set_userinfo_sub(&self, sub: Option<&str>) {
        self.lock().oauth.userinfo_sub = sub.map(str::to_owned);
    }

    /// Logout requests received so far, oldest first.
    pub fn logouts(&self) -> Vec<LogoutRequest> {
        self.lock().oauth.logouts.clone()
    }

    /// How the client authenticated at the last token request: `"client_secret_basic"`,
    /// `"client_secret_post"` or `"private_key_jwt"`.
    pub fn last_token_auth_method(&self) -> Option<String> {
        self.lock().oauth.last_auth_method.clone()
    }
}

/// The sign-in routes.
pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(Endpoint::Authorize.path(), get(authorize))
        .route(Endpoint::Token.path(), axum::routing::post(token))
        .route(Endpoint::Userinfo.path(), get(userinfo).post(userinfo))
        .route(Endpoint::Logout.path(), get(logout))
}

fn params(query: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn random_suffix(serial: u64) -> String {
    let a = std::collections::hash_map::RandomState::new().hash_one(serial);
    let b = std::collections::hash_map::RandomState::new().hash_one(a);
    format!("{a:016x}{b:016x}")
}

fn page(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        text.to_owned(),
    )
        .into_response()
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(LOCATION, v)]).into_response(),
        Err(_) => page(StatusCode::BAD_REQUEST, "bad redirect"),
    }
}

fn with_params(base: &str, pairs: &[(&str, &str)]) -> Option<String> {
    let mut url = url::Url::parse(base).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    Some(url.into())
}

/// Okta's authentication context class of a password-only sign-in.
const PASSWORD_ACR: &str = "urn:okta:loa:1fa:pwd";

async fn authorize(State(shared): Mock, RawQuery(query): RawQuery) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Authorize).await {
        return response;
    }
    let p = params(query.as_deref());
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or("");
    let mut state = shared.lock();
    if get("client_id") != state.client_id {
        return page(StatusCode::BAD_REQUEST, "unknown client_id");
    }
    let redirect_uri = get("redirect_uri").to_owned();
    let registered = &state.oauth.redirect_uris;
    let allowed = if registered.is_empty() {
        redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://")
    } else {
        registered.contains(&redirect_uri)
    };
    if !allowed || url::Url::parse(&redirect_uri).is_err() {
        return page(
            StatusCode::BAD_REQUEST,
            "redirect_uri is not registered for this client",
        );
    }
    let issuer = shared.issuer.clone();
    let st = get("state").to_owned();
    let error = |code: &str| {
        let mut pairs = vec![("error", code), ("iss", issuer.as_str())];
        if !st.is_empty() {
            pairs.push(("state", st.as_str()));
        }
        with_params(&redirect_uri, &pairs).map_or_else(
            || page(StatusCode::BAD_REQUEST, "bad redirect_uri"),
            |l| found(&l),
        )
    };
    if get("response_type") != "code" {
        return error("unsupported_response_type");
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return error("invalid_scope");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() < 43 {
        return error("invalid_request");
    }
    if state.oauth.deny {
        return error("access_denied");
    }
    // No Okta session in the mock: a silent authentication cannot sign anyone in
    // (OpenID Connect Core 1.0 §3.1.2.6).
    if get("prompt") == "none" {
        return error("login_required");
    }
    let serial = shared.next_serial();
    let code = format!("code{serial}{}", random_suffix(serial));
    let user = state.oauth.user.clone().unwrap_or_else(default_user);
    let client_id = state.client_id.clone();
    state.oauth.codes.insert(
        code.clone(),
        Grant {
            client_id,
            redirect_uri: redirect_uri.clone(),
            challenge: get("code_challenge").to_owned(),
            nonce: p.get("nonce").cloned(),
            scope: get("scope").to_owned(),
            user,
            // A step-up honoured (OpenID Connect Core §3.1.2.1): the first class asked, as
            // Okta answers `acr_values`; every sign-in here is a fresh authentication, so
            // `auth_time` (now) satisfies any `max_age`.
            acr: get("acr_values")
                .split(' ')
                .find(|v| !v.is_empty())
                .unwrap_or(PASSWORD_ACR)
                .to_owned(),
        },
    );
    drop(state);
    let mut pairs = vec![("code", code.as_str()), ("iss", issuer.as_str())];
    if !st.is_empty() {
        pairs.push(("state", st.as_str()));
    }
    with_params(&redirect_uri, &pairs).map_or_else(
        || page(StatusCode::BAD_REQUEST, "bad redirect_uri"),
        |l| found(&l),
    )
}

/// Client credentials from `Authorization: Basic` or the form.
fn client_auth(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<(String, String, &'static str), &'static str> {
    let basic = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let posted = form.get("client_secret");
    match (basic, posted) {
        (Some(_), Some(_)) => Err("invalid_request"),
        (Some(b), None) => {
            let decoded = STANDARD.decode(b.trim()).map_err(|_| "invalid_client")?;
            let text = String::from_utf8(decoded).map_err(|_| "invalid_client")?;
            let (id, secret) = text.split_once(':').ok_or("invalid_client")?;
            let dec = |s: &str| {
                url::form_urlencoded::parse(format!("x={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Ok((dec(id), dec(secret), "client_secret_basic"))
        }
        (None, Some(secret)) => Ok((
            form.get("client_id").cloned().unwrap_or_default(),
            secret.clone(),
            "client_secret_post",
        )),
        (None, None) => Err("invalid_client"),
    }
}

async fn token(State(shared): Mock, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Token).await {
        return response;
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if form.get("grant_type").map(String::as_str) == Some("client_credentials") {
        return super::service_app::client_credentials(&shared, &form);
    }
    let by_key = form.contains_key("client_assertion");
    let (client_id, secret, method) = if by_key {
        if !super::service_app::assertion_authenticates(&shared, &form, "token") {
            return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        }
        let id = form.get("client_id").cloned().unwrap_or_default();
        (id, String::new(), "private_key_jwt")
    } else {
        match client_auth(&headers, &form) {
            Ok(c) => c,
            Err("invalid_request") => {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            }
            Err(e) => return oauth_error(StatusCode::UNAUTHORIZED, e),
        }
    };
    let mut state = shared.lock();
    state.oauth.last_auth_method = Some(method.to_owned());
    if !by_key && let Some(refused) = state.refuse_client(&client_id, &secret) {
        return refused;
    }
    if form.get("grant_type").map(String::as_str) == Some(super::token_exchange::GRANT_TYPE) {
        drop(state);
        return super::token_exchange::exchange(&shared, &client_id, &form);
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    // Single use: the code is gone whatever happens next.
    let Some(grant) = form.get("code").and_then(|c| state.oauth.codes.remove(c)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").map(String::as_str).unwrap_or("");
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if grant.client_id != client_id
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || challenge != grant.challenge
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let now = now();
    let issuer = shared.issuer.clone();
    let kid = state.signing_kid.clone();
    let sub = grant.user.get("sub").cloned().unwrap_or(Value::Null);
    let scopes: Vec<&str> = grant.scope.split(' ').filter(|s| !s.is_empty()).collect();
    let access_claims = json!({
        "ver": 1,
        "jti": format!("AT.{}", shared.next_serial()),
        "iss": issuer,
        "aud": "api://default",
        "sub": grant.user.get("email").cloned().unwrap_or_else(|| sub.clone()),
        "uid": sub,
        "cid": client_id,
        "scp": scopes,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "acr": grant.acr,
    });
    let hook = state.oauth.id_token_hook.clone();
    drop(state);
    let access_token = TokenBuilder::new(shared.key_lookup(), &kid, access_claims).build();
    let at_hash = URL_SAFE_NO_PAD.encode(&Sha256::digest(access_token.as_bytes())[..16]);
    let mut id_claims = json!({
        "ver": 1,
        "jti": format!("ID.{}", shared.next_serial()),
        // The org session this sign-in belongs to (what a back-channel logout names).
        "sid": format!("mock-sid-{}", shared.next_serial()),
        "iss": shared.issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + 3600,
        "auth_time": now,
        "acr": grant.acr,
        "amr": if grant.acr == PASSWORD_ACR { json!(["pwd"]) } else { json!(["pwd", "mfa"]) },
        "idp": "00o1mockidp",
        "at_hash": at_hash,
    });
    if let Value::Object(map) = &mut id_claims {
        for (k, v) in &grant.user {
            map.insert(k.clone(), v.clone());
        }
        if let Some(n) = &grant.nonce {
            map.insert("nonce".into(), n.clone().into());
        }
    }
    let mut builder = TokenBuilder::new(shared.key_lookup(), &kid, id_claims);
    if let Some(hook) = hook {
        builder = hook(builder);
    }
    let id_token = builder.build();
    shared
        .lock()
        .oauth
        .access_tokens
        .insert(access_token.clone(), grant.user);
    let body = json!({
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": access_token,
        "scope": grant.scope,
        "id_token": id_token,
    });
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn userinfo(State(shared): Mock, headers: HeaderMap) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Userinfo).await {
        return response;
    }
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let state = shared.lock();
    let Some(mut user) = token.and_then(|t| state.oauth.access_tokens.get(t).cloned()) else {
        let mut r = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
        r.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return r;
    };
    if let Some(sub) = &state.oauth.userinfo_sub {
        user.insert("sub".into(), sub.clone().into());
    }
    drop(state);
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Value::Object(user).to_string(),
    )
        .into_response()
}

async fn logout(State(shared): Mock, RawQuery(query): RawQuery) -> Response {
    if let Some(response) = enter(&shared, Endpoint::Logout).await {
        return response;
    }
    let p = params(query.as_deref());
    let record = LogoutRequest {
        id_token_hint: p.get("id_token_hint").cloned(),
        post_logout_redirect_uri: p.get("post_logout_redirect_uri").cloned(),
        state: p.get("state").cloned(),
    };
    shared.lock().oauth.logouts.push(record.clone());
    match &record.post_logout_redirect_uri {
        Some(uri) => {
            let pairs: Vec<(&str, &str)> = record
                .state
                .as_deref()
                .map(|s| vec![("state", s)])
                .unwrap_or_default();
            with_params(uri, &pairs).map_or_else(
                || page(StatusCode::BAD_REQUEST, "bad post_logout_redirect_uri"),
                |l| found(&l),
            )
        }
        None => page(StatusCode::OK, "Signed out of MockOkta."),
    }
}
