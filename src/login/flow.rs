//! The login, callback and logout handlers.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, SET_COOKIE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};
use jsonwebtoken::Algorithm;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use super::crypto::{self, Purpose};
use super::session::{self, SessionData};
use super::{LoginState, cookies, page};
use crate::clock::now_millis;
use crate::discovery::ProviderMetadata;
use crate::error::{AuthError, TokenError};
use crate::fetch::{check_secure_url, describe, read_limited};
use crate::oidc::OktaOidc;
use crate::tenant::{IssuerEntry, Tenant};
use crate::validate;

/// What every handler gets.
#[derive(Clone)]
pub(crate) struct Ctx {
    pub(crate) oidc: OktaOidc,
    pub(crate) state: Arc<LoginState>,
}

/// What the login cookie holds.
#[derive(Serialize, Deserialize)]
struct LoginData {
    /// state, nonce, PKCE verifier
    s: String,
    n: String,
    v: String,
    /// tenant id, issuer and client id bound to this login
    t: String,
    iss: String,
    cid: String,
    /// where to go after login (a same-origin path)
    r: String,
    /// when the login started, ms since the epoch
    at: u64,
}

/// Random bytes in `state`, `nonce` and the PKCE verifier (256 bits each).
const RANDOM_BYTES: usize = 32;
/// Characters of `state` used in the login cookie's name.
const NAME_PREFIX: usize = 16;

/// A failed step: the status and text the user sees, and the reason that is logged.
struct Failure {
    status: StatusCode,
    public: &'static str,
    reason: String,
}

impl Failure {
    fn new(status: StatusCode, public: &'static str, reason: impl Into<String>) -> Self {
        Failure {
            status,
            public,
            reason: reason.into(),
        }
    }

    fn bad_request(public: &'static str) -> Self {
        Failure::new(StatusCode::BAD_REQUEST, public, public)
    }

    fn respond(self, tenant: Option<&str>, set_cookies: Vec<HeaderValue>) -> Response {
        tracing::warn!(
            tenant = tenant.unwrap_or("-"),
            status = self.status.as_u16(),
            reason = %self.reason,
            "login failed"
        );
        with_cookies(page::error(self.status, self.public), set_cookies)
    }
}

fn with_cookies(mut response: Response, set_cookies: Vec<HeaderValue>) -> Response {
    for c in set_cookies {
        response.headers_mut().append(SET_COOKIE, c);
    }
    response
}

fn redirect(location: &str, set_cookies: Vec<HeaderValue>) -> Response {
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(location) {
        Ok(v) => {
            response.headers_mut().insert(LOCATION, v);
        }
        Err(_) => return page::error(StatusCode::INTERNAL_SERVER_ERROR, "Bad redirect."),
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_cookies(response, set_cookies)
}

/// The query parameters of a request.
struct Query(Vec<(String, String)>);

impl Query {
    fn of(parts: &Parts) -> Query {
        let q = parts.uri.query().unwrap_or("");
        Query(
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The single value of `name`: `Err` when it is repeated (RFC 6749 §3.1).
    fn one(&self, name: &str) -> Result<Option<&str>, Failure> {
        let mut values = self.0.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(Failure::bad_request("A parameter is repeated."));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

/// `path` when it is a path on the app's own origin (`/x`, not `//host`, `/\host` or a URL).
pub(crate) fn same_origin_path(path: &str) -> Option<&str> {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.len() <= 2048
        && !path.chars().any(char::is_control);
    ok.then_some(path)
}

fn login_cookie_name(state: &str) -> Option<String> {
    let prefix = state.get(..NAME_PREFIX)?;
    Some(format!("okta_login_{prefix}"))
}

fn is_state_charset(s: &str) -> bool {
    (22..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b','))
}

/// A tenant's issuer entry and provider metadata, loading discovery if needed.
async fn provider(
    oidc: &OktaOidc,
    tenant: &Tenant,
) -> Result<(Arc<IssuerEntry>, Arc<ProviderMetadata>), Failure> {
    let unavailable = |reason: String| {
        Failure::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "The identity provider is unavailable. Try again in a moment.",
            reason,
        )
    };
    let entry = oidc
        .inner
        .registry
        .by_issuer(&tenant.issuer)
        .ok_or_else(|| unavailable("tenant has no issuer entry".into()))?;
    if let Some(meta) = entry.keys.metadata() {
        return Ok((entry, meta));
    }
    if let Err(e) = entry.keys.ensure_loaded().await {
        return Err(unavailable(format!("discovery failed: {e}")));
    }
    let meta = entry
        .keys
        .metadata()
        .ok_or_else(|| unavailable("no provider metadata".into()))?;
    Ok((entry, meta))
}

// ------------------------------------------------------------------ login

pub(crate) async fn login(ctx: Ctx, parts: Parts) -> Response {
    match start(&ctx, &parts).await {
        Ok(response) => response,
        Err((failure, tenant)) => failure.respond(tenant.as_deref(), Vec::new()),
    }
}

fn pick_tenant(ctx: &Ctx, parts: &Parts, q: &Query) -> Result<Arc<Tenant>, Failure> {
    let registry = &ctx.oidc.inner.registry;
    let by_id = q.one("tenant")?;
    if let Some(iss) = q.one("iss")? {
        // Login initiated by the provider (OIDC Core §4): exact match, never any network call
        // for an issuer that is not registered.
        let Some(entry) = registry.by_issuer(iss) else {
            return Err(Failure::new(
                StatusCode::BAD_REQUEST,
                "This identity provider is not registered with this app.",
                "unknown iss in login request",
            ));
        };
        let mut candidates = entry
            .tenants
            .iter()
            .filter(|t| by_id.is_none_or(|id| *t.id == *id));
        return match (candidates.next(), candidates.next()) {
            (Some(t), None) => Ok(Arc::clone(t)),
            (None, _) => Err(Failure::bad_request(
                "The tenant does not belong to this identity provider.",
            )),
            (Some(_), Some(_)) => Err(Failure::bad_request(
                "Several app instances use this identity provider: add ?tenant= to the \
                 Initiate login URI.",
            )),
        };
    }
    if let Some(id) = by_id {
        return registry
            .by_id(id)
            .ok_or_else(|| Failure::bad_request("Unknown tenant."));
    }
    if let Some(resolver) = &ctx.state.resolver
        && let Some(id) = resolver(parts)
    {
        return registry
            .by_id(&id)
            .ok_or_else(|| Failure::bad_request("Unknown tenant."));
    }
    let all = registry.all();
    match all.as_slice() {
        [only] => Ok(Arc::clone(only)),
        _ => Err(Failure::bad_request(
            "Which organization? Start the sign-in with ?tenant= or from your Okta dashboard.",
        )),
    }
}

fn pick_return_to(state: &LoginState, q: &Query) -> Result<String, Failure> {
    if let Some(r) = q.one("return_to")? {
        return same_origin_path(r)
            .map(str::to_owned)
            .ok_or_else(|| Failure::bad_request("return_to must be a path on this site."));
    }
    if let Some(target) = q.one("target_link_uri")? {
        if let Ok(url) = url::Url::parse(target)
            && url.origin().ascii_serialization() == state.origin
        {
            let mut path = url.path().to_owned();
            if let Some(query) = url.query() {
                path.push('?');
                path.push_str(query);
            }
            if let Some(p) = same_origin_path(&path) {
                return Ok(p.to_owned());
            }
        }
        tracing::debug!("target_link_uri ignored: not on this app's origin");
    }
    Ok(state.default_return_to.clone())
}

async fn start(ctx: &Ctx, parts: &Parts) -> Result<Response, (Failure, Option<String>)> {
    let state = &ctx.state;
    let q = Query::of(parts);
    let tenant = pick_tenant(ctx, parts, &q).map_err(|f| (f, None))?;
    let tid = Some(tenant.id.to_string());
    let fail = |f: Failure| (f, tid.clone());
    let return_to = pick_return_to(state, &q).map_err(fail)?;
    let login_hint = q.one("login_hint").map_err(fail)?;
    let client_id = tenant.client_id.as_deref().ok_or_else(|| {
        fail(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is not configured for this organization.",
            "tenant has no client id",
        ))
    })?;
    let (_, meta) = provider(&ctx.oidc, &tenant).await.map_err(fail)?;
    let endpoint = meta
        .authorization_endpoint
        .as_deref()
        .and_then(|e| check_secure_url(e).ok())
        .ok_or_else(|| {
            fail(Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The identity provider is unavailable. Try again in a moment.",
                "provider has no usable authorization_endpoint",
            ))
        })?;
    let no_random = || {
        fail(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is unavailable.",
            "no random source",
        ))
    };
    let s = crypto::random_token(RANDOM_BYTES).ok_or_else(no_random)?;
    let n = crypto::random_token(RANDOM_BYTES).ok_or_else(no_random)?;
    let v = crypto::random_token(RANDOM_BYTES).ok_or_else(no_random)?;
    let challenge = crypto::pkce_challenge(&v);
    let mut url = endpoint;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", &state.redirect_uri)
        .append_pair("scope", &state.scope)
        .append_pair("state", &s)
        .append_pair("nonce", &n)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(hint) = login_hint {
        url.query_pairs_mut().append_pair("login_hint", hint);
    }
    let now = now_millis(&*ctx.oidc.inner.shared.clock);
    let data = LoginData {
        s: s.clone(),
        n,
        v,
        t: tenant.id.to_string(),
        iss: tenant.issuer.to_string(),
        cid: client_id.to_owned(),
        r: return_to,
        at: now,
    };
    let name = login_cookie_name(&s).ok_or_else(no_random)?;
    let json = serde_json::to_vec(&data).map_err(|_| no_random())?;
    let sealed = state
        .keys
        .seal(Purpose::Login, name.as_bytes(), &json)
        .ok_or_else(no_random)?;
    let cookie = cookies::set(
        &state.attrs,
        &name,
        &sealed,
        &state.route("callback"),
        Some(state.login_timeout),
    );
    tracing::info!(tenant = %tenant.id, "login started");
    Ok(redirect(url.as_str(), cookie.into_iter().collect()))
}

// ------------------------------------------------------------------ callback

pub(crate) async fn callback(ctx: Ctx, parts: Parts) -> Response {
    let state = &ctx.state;
    let q = Query::of(&parts);
    // Whatever happens next, the login cookie of this state is used up.
    let param_state = q
        .one("state")
        .ok()
        .flatten()
        .filter(|s| is_state_charset(s));
    let cookie_name = param_state.and_then(login_cookie_name);
    let clear: Vec<HeaderValue> = cookie_name
        .as_deref()
        .and_then(|n| cookies::clear(&state.attrs, n, &state.route("callback")))
        .into_iter()
        .collect();
    let login = cookie_name.as_deref().and_then(|name| {
        let sealed = cookies::get(&parts.headers, name)?;
        let json = state.keys.open(Purpose::Login, name.as_bytes(), sealed)?;
        let data: LoginData = serde_json::from_slice(&json).ok()?;
        let wanted = param_state?;
        crypto::constant_time_eq(data.s.as_bytes(), wanted.as_bytes()).then_some(data)
    });
    let tenant_id = login.as_ref().map(|l| l.t.clone());
    match finish(&ctx, &parts, &q, login).await {
        Ok((location, mut cookies)) => {
            let mut all = clear;
            all.append(&mut cookies);
            tracing::info!(
                tenant = tenant_id.as_deref().unwrap_or("-"),
                "login succeeded"
            );
            redirect(&location, all)
        }
        Err(failure) => failure.respond(tenant_id.as_deref(), clear),
    }
}

async fn finish(
    ctx: &Ctx,
    parts: &Parts,
    q: &Query,
    login: Option<LoginData>,
) -> Result<(String, Vec<HeaderValue>), Failure> {
    let state = &ctx.state;
    if let Some(error) = q.one("error")? {
        // The provider refused (the user denied, or a policy): say so, never redirect again.
        let code: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        let status = if code == "access_denied" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        return Err(Failure::new(
            status,
            "The identity provider did not sign you in (access denied or not allowed).",
            format!("provider returned error={code}"),
        ));
    }
    let Some(login) = login else {
        return Err(Failure::bad_request(
            "This sign-in has expired, was already completed, or was started elsewhere. \
             Start again from the home page.",
        ));
    };
    let now = now_millis(&*ctx.oidc.inner.shared.clock);
    let login_ms = u64::try_from(state.login_timeout.as_millis()).unwrap_or(u64::MAX);
    if now >= login.at.saturating_add(login_ms) {
        return Err(Failure::bad_request(
            "This sign-in has expired. Start again from the home page.",
        ));
    }
    // Single use, even if the cookie is replayed.
    let expiry = login.at.saturating_add(login_ms);
    if state.used_states.get(&login.s).is_some_and(|exp| exp > now) {
        return Err(Failure::bad_request(
            "This sign-in was already completed. Start again from the home page.",
        ));
    }
    state.used_states.insert(login.s.clone(), expiry);

    let tenant = ctx
        .oidc
        .inner
        .registry
        .by_id(&login.t)
        .filter(|t| *t.issuer == login.iss && t.client_id.as_deref() == Some(&*login.cid))
        .ok_or_else(|| Failure::bad_request("This organization is no longer registered."))?;
    let (entry, meta) = provider(&ctx.oidc, &tenant).await?;
    match q.one("iss")? {
        Some(iss) if iss != &*tenant.issuer => {
            return Err(Failure::bad_request(
                "The response came from another identity provider than the one the sign-in \
                 started with.",
            ));
        }
        None if meta.authorization_response_iss_parameter_supported == Some(true) => {
            return Err(Failure::bad_request(
                "The identity provider's response lacks its issuer.",
            ));
        }
        _ => {}
    }
    let code = q
        .one("code")?
        .ok_or_else(|| Failure::bad_request("The identity provider sent no code."))?;
    let tokens = exchange(ctx, &tenant, &meta, code, &login.v).await?;
    let id_token = tokens.id_token.as_deref().ok_or_else(|| {
        Failure::new(
            StatusCode::BAD_GATEWAY,
            "The identity provider's answer was not usable.",
            "token response has no id_token",
        )
    })?;
    let claims = check_id_token(
        ctx,
        &tenant,
        &entry,
        id_token,
        &login.n,
        tokens.access_token.as_deref(),
    )
    .await
    .map_err(|e| {
        Failure::new(
            StatusCode::UNAUTHORIZED,
            "The identity provider's answer did not pass our checks.",
            format!("ID token rejected: {e}"),
        )
    })?;
    let mut additions = None;
    if state.userinfo
        && let (Some(endpoint), Some(access_token)) = (
            meta.userinfo_endpoint.as_deref(),
            tokens.access_token.as_deref(),
        )
    {
        let info = userinfo(ctx, endpoint, access_token).await?;
        if info.get("sub").and_then(Value::as_str) != Some(claims.sub.as_str()) {
            return Err(Failure::new(
                StatusCode::UNAUTHORIZED,
                "The identity provider's answer did not pass our checks.",
                "userinfo sub differs from the ID token's",
            ));
        }
        let extra: Map<String, Value> = info
            .into_iter()
            .filter(|(k, _)| !claims.raw.contains_key(k))
            .collect();
        additions = (!extra.is_empty()).then_some(extra);
    }
    let data = SessionData {
        t: tenant.id.to_string(),
        iss: tenant.issuer.to_string(),
        cid: login.cid.clone(),
        idt: id_token.to_owned(),
        ui: additions,
        iat: now,
        seen: now,
    };
    let cookies = session::write(state, &data, &parts.headers, now).map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Your profile is too large to keep in a session cookie.",
            format!(
                "session of {} bytes exceeds {} cookies",
                e.0,
                session::MAX_CHUNKS
            ),
        )
    })?;
    Ok((login.r, cookies))
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    #[serde(default)]
    error: String,
}

fn provider_error(reason: String) -> Failure {
    Failure::new(
        StatusCode::BAD_GATEWAY,
        "The identity provider could not complete the sign-in. Start again from the home page.",
        reason,
    )
}

/// Exchanges the code (client_secret_basic, or client_secret_post when the provider only
/// offers that); with two secrets, retries with the second on `invalid_client`.
async fn exchange(
    ctx: &Ctx,
    tenant: &Tenant,
    meta: &ProviderMetadata,
    code: &str,
    verifier: &str,
) -> Result<TokenResponse, Failure> {
    let endpoint = meta
        .token_endpoint
        .as_deref()
        .ok_or_else(|| provider_error("provider has no token_endpoint".into()))?;
    let client_id = tenant.client_id.as_deref().unwrap_or_default();
    let methods = meta.token_endpoint_auth_methods_supported.as_deref();
    let offers = |m: &str| methods.is_some_and(|ms| ms.iter().any(|x| x == m));
    let use_post =
        methods.is_some() && !offers("client_secret_basic") && offers("client_secret_post");
    if tenant.secrets.is_empty() {
        return Err(Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-in is not configured for this organization.",
            "tenant has no client secret",
        ));
    }
    let fetcher = &ctx.oidc.inner.shared.fetcher;
    let count = tenant.secrets.len();
    for (i, secret) in tenant.secrets.iter().enumerate() {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", ctx.state.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let mut request = fetcher
            .client
            .post(endpoint)
            .header(http::header::ACCEPT, "application/json");
        if use_post {
            form.push(("client_id", client_id));
            form.push(("client_secret", secret.expose()));
        } else {
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let basic = STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret.expose())));
            request = request.header(AUTHORIZATION, format!("Basic {basic}"));
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| provider_error(format!("token request: {}", describe(e))))?;
        let status = response.status();
        let body = read_limited(response, fetcher.max_body)
            .await
            .map_err(|e| provider_error(format!("token response: {e}")))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map_err(|_| provider_error("token response is not JSON".into()));
        }
        let error = serde_json::from_slice::<OAuthError>(&body)
            .map(|e| e.error)
            .unwrap_or_default();
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        if error == "invalid_client" && i + 1 < count {
            tracing::info!(tenant = %tenant.id, "client secret refused: trying the other one");
            continue;
        }
        return Err(provider_error(format!(
            "token endpoint answered {} error={error}",
            status.as_u16()
        )));
    }
    Err(provider_error("no client secret accepted".into()))
}

/// The validated claims of an ID token, as a map and in standard form.
struct IdClaims {
    sub: String,
    raw: Map<String, Value>,
}

/// The left half of the access token's hash, for `at_hash` (OIDC Core §3.1.3.6).
fn at_hash(alg: Algorithm, access_token: &str) -> Option<String> {
    let bytes = access_token.as_bytes();
    let digest: Vec<u8> = match alg {
        Algorithm::RS256 | Algorithm::PS256 | Algorithm::ES256 => Sha256::digest(bytes).to_vec(),
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => Sha384::digest(bytes).to_vec(),
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => Sha512::digest(bytes).to_vec(),
        _ => return None,
    };
    Some(URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2]))
}

/// The core validator's rules (algorithm allow-list, key by kid, signature, iss, exp/iat/nbf,
/// sub, azp) plus: `aud` holds the client id, `iat` present, `nonce`, `at_hash`.
async fn check_id_token(
    ctx: &Ctx,
    tenant: &Tenant,
    entry: &Arc<IssuerEntry>,
    token: &str,
    nonce: &str,
    access_token: Option<&str>,
) -> Result<IdClaims, AuthError> {
    let inner = &ctx.oidc.inner;
    let parsed = validate::parse(token, &inner.validation)?;
    // Only the client id is an acceptable audience for an ID token.
    let mut as_client = tenant.clone();
    as_client.accept_id_tokens = true;
    as_client.audiences.clear();
    let key = validate::find_key(&entry.keys, &parsed).await?;
    validate::verify_signature(&parsed, &key)?;
    let now = i64::try_from(inner.shared.clock.now().as_secs()).unwrap_or(i64::MAX);
    validate::check_claims(&parsed, &as_client, now, inner.validation.leeway)?;
    let claims = &parsed.claims;
    if claims.iat.is_none() {
        return Err(TokenError::MissingClaim("iat").into());
    }
    match claims.nonce.as_deref() {
        Some(n) if crypto::constant_time_eq(n.as_bytes(), nonce.as_bytes()) => {}
        _ => return Err(TokenError::NonceMismatch.into()),
    }
    if let (Some(expected), Some(at)) = (claims.at_hash.as_deref(), access_token)
        && at_hash(parsed.alg, at).as_deref() != Some(expected)
    {
        return Err(TokenError::AccessTokenHashMismatch.into());
    }
    let raw: Map<String, Value> = serde_json::from_str(&parsed.raw_claims)
        .map_err(|_| TokenError::Malformed("payload is not a JSON object"))?;
    Ok(IdClaims {
        sub: claims.sub.clone(),
        raw,
    })
}

async fn userinfo(
    ctx: &Ctx,
    endpoint: &str,
    access_token: &str,
) -> Result<Map<String, Value>, Failure> {
    let fetcher = &ctx.oidc.inner.shared.fetcher;
    let response = fetcher
        .client
        .get(endpoint)
        .header(http::header::ACCEPT, "application/json")
        .bearer_auth(access_token)
        .send()
        .await
        .map_err(|e| provider_error(format!("userinfo request: {}", describe(e))))?;
    let status = response.status();
    let body = read_limited(response, fetcher.max_body)
        .await
        .map_err(|e| provider_error(format!("userinfo response: {e}")))?;
    if !status.is_success() {
        return Err(provider_error(format!(
            "userinfo answered {}",
            status.as_u16()
        )));
    }
    serde_json::from_slice(&body)
        .map_err(|_| provider_error("userinfo is not a JSON object".into()))
}

// ------------------------------------------------------------------ logout

pub(crate) async fn logout(ctx: Ctx, parts: Parts) -> Response {
    let state = &ctx.state;
    let data = session::read(state, &parts.headers);
    let clear = session::clear(state, &parts.headers);
    let Some(data) = data else {
        tracing::info!("logout without session");
        return redirect(&state.post_logout_redirect_uri, clear);
    };
    let tenant = ctx.oidc.inner.registry.by_id(&data.t);
    let endpoint = match &tenant {
        Some(t) => match provider(&ctx.oidc, t).await {
            Ok((_, meta)) => meta
                .end_session_endpoint
                .as_deref()
                .and_then(|e| check_secure_url(e).ok()),
            Err(f) => {
                tracing::warn!(reason = %f.reason, "logout: provider unavailable, local logout");
                None
            }
        },
        None => None,
    };
    let Some(mut url) = endpoint else {
        tracing::info!(tenant = %data.t, "local logout");
        return redirect(&state.post_logout_redirect_uri, clear);
    };
    let logout_state = crypto::random_token(16).unwrap_or_default();
    url.query_pairs_mut()
        .append_pair("id_token_hint", &data.idt)
        .append_pair("post_logout_redirect_uri", &state.post_logout_redirect_uri)
        .append_pair("state", &logout_state);
    tracing::info!(tenant = %data.t, "logout: ending the provider session");
    redirect(url.as_str(), clear)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_to_paths() {
        for ok in ["/", "/profile", "/a?b=c#d"] {
            assert_eq!(same_origin_path(ok), Some(ok));
        }
        for bad in [
            "",
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(same_origin_path(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn at_hash_example() {
        // OIDC Core A.3 example
        assert_eq!(
            at_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            )
            .as_deref(),
            Some("77QmUPtjPfzWtF2AnpK9RQ")
        );
    }
}
