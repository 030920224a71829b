//! The session cookie: sealed JSON holding the tenant, the raw ID token (its claims, and the
//! logout hint), userinfo additions and the times that bound it. Split into numbered cookies
//! when one would be too large; refused beyond that, never truncated.

use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{CACHE_CONTROL, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config::LoginSettings;
use super::cookies;
use super::seal::Purpose;
use crate::claims::{CredentialSource, Identity, StandardClaims};
use crate::handle::OktaOidc;
use crate::time::now_millis;

/// Largest value of one cookie (browsers keep at least 4096 bytes per cookie, name and
/// attributes included).
const CHUNK: usize = 3800;
/// Most cookies one session is split into.
pub(crate) const MAX_CHUNKS: usize = 4;

/// What the session cookie holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// Tenant id.
    pub(crate) t: String,
    /// Tenant issuer and client id at login (the session ends if they change).
    pub(crate) iss: String,
    pub(crate) cid: String,
    /// The raw ID token.
    pub(crate) idt: String,
    /// Userinfo claims the ID token does not carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ui: Option<Map<String, Value>>,
    /// Login time and last use, ms since the epoch.
    pub(crate) iat: u64,
    pub(crate) seen: u64,
}

/// The session was too large to store.
#[derive(Debug)]
pub(crate) struct TooLarge(pub(crate) usize);

fn chunk_name(state: &LoginSettings, index: usize) -> String {
    format!("{}_{index}", state.cookie_name)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Seals `data` into `Set-Cookie` values (clearing chunks of an older, larger session).
pub(crate) fn write(
    state: &LoginSettings,
    data: &SessionData,
    request: &HeaderMap,
    now: u64,
) -> Result<Vec<HeaderValue>, TooLarge> {
    let json = serde_json::to_vec(data).map_err(|_| TooLarge(0))?;
    let sealed = state
        .keys
        .seal(Purpose::Session, state.cookie_name.as_bytes(), &json)
        .ok_or(TooLarge(0))?;
    let chunks: Vec<&str> = sealed
        .as_bytes()
        .chunks(CHUNK)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    if chunks.len() > MAX_CHUNKS {
        return Err(TooLarge(sealed.len()));
    }
    let end = data.iat.saturating_add(ms(state.session_lifetime));
    let max_age = Duration::from_millis(end.saturating_sub(now));
    let path = "/";
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let (name, value) = if i == 0 {
            (
                state.cookie_name.clone(),
                format!("{}.{chunk}", chunks.len()),
            )
        } else {
            (chunk_name(state, i), (*chunk).to_owned())
        };
        out.extend(cookies::set(
            &state.attrs,
            &name,
            &value,
            path,
            Some(max_age),
        ));
    }
    for i in chunks.len()..MAX_CHUNKS {
        let name = chunk_name(state, i);
        if cookies::get(request, &name).is_some() {
            out.extend(cookies::clear(&state.attrs, &name, path));
        }
    }
    Ok(out)
}

/// `Set-Cookie` values that end the session.
pub(crate) fn clear(state: &LoginSettings, request: &HeaderMap) -> Vec<HeaderValue> {
    let mut out: Vec<HeaderValue> = cookies::clear(&state.attrs, &state.cookie_name, "/")
        .into_iter()
        .collect();
    for i in 1..MAX_CHUNKS {
        let name = chunk_name(state, i);
        if cookies::get(request, &name).is_some() {
            out.extend(cookies::clear(&state.attrs, &name, "/"));
        }
    }
    out
}

/// Opens the session cookie of a request (`None`: absent, tampered, sealed with an unknown
/// key). Expiry is not checked here.
pub(crate) fn read(state: &LoginSettings, headers: &HeaderMap) -> Option<SessionData> {
    let first = cookies::get(headers, &state.cookie_name)?;
    let (count, first) = first.split_once('.')?;
    let count: usize = count.parse().ok()?;
    if count == 0 || count > MAX_CHUNKS {
        return None;
    }
    let mut sealed = first.to_owned();
    for i in 1..count {
        sealed.push_str(cookies::get(headers, &chunk_name(state, i))?);
    }
    let json = state
        .keys
        .open(Purpose::Session, state.cookie_name.as_bytes(), &sealed)?;
    serde_json::from_slice(&json).ok()
}

/// The claims of a session: the ID token's payload plus userinfo additions.
pub(crate) fn claims_of(data: &SessionData) -> Option<Map<String, Value>> {
    let payload = data.idt.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let mut claims: Map<String, Value> = serde_json::from_slice(&json).ok()?;
    if let Some(extra) = &data.ui {
        for (k, v) in extra {
            claims.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Some(claims)
}

/// An identity from the session cookie, with the `Set-Cookie` values that refresh it (no
/// `Debug`: it holds cookie values).
pub(crate) struct SessionAuth {
    pub(crate) identity: Arc<Identity>,
    pub(crate) set_cookies: Vec<HeaderValue>,
}

/// Authenticates a request by its session cookie, when sessions are configured. Invalid or
/// expired sessions count as no credential.
pub(crate) fn session_identity(oidc: &OktaOidc, headers: &HeaderMap) -> Option<SessionAuth> {
    let state = oidc.inner.login.as_deref()?;
    cookies::get(headers, &state.cookie_name)?;
    let Some(mut data) = read(state, headers) else {
        tracing::debug!("session cookie rejected (tampered, or sealed with an unknown secret)");
        return None;
    };
    let now = now_millis(&*oidc.provider().clock);
    if now >= data.iat.saturating_add(ms(state.session_lifetime)) {
        tracing::debug!("session reached its absolute lifetime");
        return None;
    }
    if now >= data.seen.saturating_add(ms(state.idle_timeout)) {
        tracing::debug!("session idle for too long");
        return None;
    }
    let tenant = oidc.directory().registry.by_id(&data.t)?;
    if *tenant.issuer != data.iss || tenant.client_id.as_deref() != Some(data.cid.as_str()) {
        tracing::debug!(tenant = %data.t, "session of a tenant that changed");
        return None;
    }
    let claims = claims_of(&data)?;
    let raw = serde_json::to_string(&claims).ok()?;
    let standard: StandardClaims = serde_json::from_value(Value::Object(claims)).ok()?;
    let identity = Arc::new(Identity {
        claims: standard,
        raw: raw.into_boxed_str(),
        tenant: tenant.as_ref_info(),
        source: CredentialSource::Session,
    });
    let refresh_after = ms(state.idle_timeout / 4).min(60_000);
    let mut set_cookies = Vec::new();
    if now.saturating_sub(data.seen) >= refresh_after {
        data.seen = now;
        set_cookies = write(state, &data, headers, now).unwrap_or_default();
    }
    Some(SessionAuth {
        identity,
        set_cookies,
    })
}

/// For a browser page request without credential: a redirect to the login route that comes
/// back to this page. `None` when sessions are not configured or the method is not GET/HEAD.
pub(crate) fn login_redirect(oidc: &OktaOidc, method: &Method, uri: &Uri) -> Option<Response> {
    let state = oidc.inner.login.as_deref()?;
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let here = uri.path_and_query().map_or("/", |p| p.as_str());
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", here)
        .finish();
    let location = format!("{}?{query}", state.route("login"));
    let mut response = StatusCode::FOUND.into_response();
    response
        .headers_mut()
        .insert(LOCATION, HeaderValue::from_str(&location).ok()?);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Some(response)
}
