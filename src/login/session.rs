//! The session cookie: sealed JSON holding the tenant, the raw ID token (its claims, and the
//! logout hint), userinfo additions and the times that bound it. Split into numbered cookies
//! when one would be too large; refused beyond that, never truncated.

use std::time::Duration;

use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::config::LoginSettings;
use super::cookies;
use super::csrf;
use super::handle::Login;
use super::page;
use super::pending::MAX_RETURN_TO;
use super::seal::Purpose;
use crate::claims::Claims;
use crate::error::AuthError;
use crate::middleware::sessions::{
    EndedSession, Session, SessionCheck, SessionCheckFuture, SessionEnd, SessionFuture,
    SessionSource,
};
use crate::time::UnixTime;
use crate::verify::session::SessionCredential;

/// Largest value of one cookie (browsers keep at least 4096 bytes per cookie, name and
/// attributes included).
const CHUNK: usize = 3800;
/// Most cookies one session is split into.
pub(crate) const MAX_CHUNKS: usize = 4;

/// What the session cookie holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// The tenant, and its issuer and client id at sign-in (the session ends if they change).
    pub(crate) tenant_id: String,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    /// The raw ID token: the session's claims, and the logout hint.
    pub(crate) id_token: String,
    /// Userinfo claims the ID token does not carry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) userinfo: Option<Map<String, Value>>,
    /// When the user signed in, and when the session was last used.
    pub(crate) signed_in_at: UnixTime,
    pub(crate) last_seen_at: UnixTime,
    /// This session's own random id, kept across refreshes: a logout revokes it, so a copy of
    /// the cookie taken before is refused after (empty in sessions made before ids existed).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) session_id: String,
}

/// The session was too large to store.
#[derive(Debug)]
pub(crate) struct TooLarge(pub(crate) usize);

fn chunk_name(settings: &LoginSettings, index: usize) -> String {
    format!("{}_{index}", settings.cookie_name)
}

/// Seals `data` into `Set-Cookie` values (clearing chunks of an older, larger session).
pub(crate) fn write(
    settings: &LoginSettings,
    data: &SessionData,
    request: &HeaderMap,
    now: UnixTime,
) -> Result<Vec<HeaderValue>, TooLarge> {
    let json = serde_json::to_vec(data).map_err(|_| TooLarge(0))?;
    let sealed = settings
        .keys
        .seal(Purpose::Session, settings.cookie_name.as_bytes(), &json)
        .ok_or(TooLarge(0))?;
    let chunks: Vec<&str> = sealed
        .as_bytes()
        .chunks(CHUNK)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect();
    if chunks.len() > MAX_CHUNKS {
        return Err(TooLarge(sealed.len()));
    }
    let max_age = data
        .signed_in_at
        .after(settings.session_lifetime)
        .since(now);
    let path = settings.session_path.as_str();
    let mut out = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let (name, value) = if i == 0 {
            (
                settings.cookie_name.clone(),
                format!("{}.{chunk}", chunks.len()),
            )
        } else {
            (chunk_name(settings, i), (*chunk).to_owned())
        };
        out.extend(cookies::set(
            &settings.session_attrs,
            &name,
            &value,
            path,
            Some(max_age),
        ));
    }
    for i in chunks.len()..MAX_CHUNKS {
        let name = chunk_name(settings, i);
        if cookies::get(request, &name).is_some() {
            out.extend(cookies::clear(&settings.session_attrs, &name, path));
        }
    }
    Ok(out)
}

/// `Set-Cookie` values that end the session.
pub(crate) fn clear(settings: &LoginSettings, request: &HeaderMap) -> Vec<HeaderValue> {
    let path = settings.session_path.as_str();
    let mut out: Vec<HeaderValue> =
        cookies::clear(&settings.session_attrs, &settings.cookie_name, path)
            .into_iter()
            .collect();
    for i in 1..MAX_CHUNKS {
        let name = chunk_name(settings, i);
        if cookies::get(request, &name).is_some() {
            out.extend(cookies::clear(&settings.session_attrs, &name, path));
        }
    }
    out
}

/// Opens the session cookie of a request (`None`: absent, tampered, sealed with an unknown
/// key). Expiry is not checked here.
pub(crate) fn read(settings: &LoginSettings, headers: &HeaderMap) -> Option<SessionData> {
    let first = cookies::get(headers, &settings.cookie_name)?;
    let (count, first) = first.split_once('.')?;
    let count: usize = count.parse().ok()?;
    if count == 0 || count > MAX_CHUNKS {
        return None;
    }
    let mut sealed = first.to_owned();
    for i in 1..count {
        sealed.push_str(cookies::get(headers, &chunk_name(settings, i))?);
    }
    let json = settings
        .keys
        .open(Purpose::Session, settings.cookie_name.as_bytes(), &sealed)?;
    serde_json::from_slice(&json).ok()
}

/// The claims of a session: the ID token's payload plus userinfo additions.
pub(crate) fn claims_of(data: &SessionData) -> Option<Map<String, Value>> {
    let payload = data.id_token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let mut claims: Map<String, Value> = serde_json::from_slice(&json).ok()?;
    if let Some(extra) = &data.userinfo {
        for (k, v) in extra {
            claims.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Some(claims)
}

/// Login's sessions, for [`OktaOidcLayer::sessions`](crate::OktaOidcLayer::sessions). A
/// tampered or unreadable cookie counts as none; a session that expired, idled out or was
/// revoked is [ended](SessionCheck::Ended): its cookies are deleted on the response, and a page
/// route explains it ([`ended_page`](SessionSource::ended_page)); a session request that may
/// change state (`POST`, `PUT`, `PATCH`, `DELETE`, …) from another origin is refused (`403`).
impl SessionSource for Login {
    fn authenticate<'a>(&'a self, request: &'a Parts) -> SessionFuture<'a> {
        Box::pin(async move {
            Ok(match self.check(request).await? {
                SessionCheck::Active(session) => Some(session),
                _ => None,
            })
        })
    }

    fn check<'a>(&'a self, request: &'a Parts) -> SessionCheckFuture<'a> {
        Box::pin(async move {
            let found = self.session(&request.headers).await?;
            if let SessionCheck::Active(_) = &found {
                csrf::check_session_request(request, &self.settings.origin)?;
            }
            Ok(found)
        })
    }

    /// A redirect to the login route that comes back to this page (to the app's home when the
    /// page's address is too long to keep in a login cookie).
    fn login_location(&self, request: &Parts) -> Option<HeaderValue> {
        self.sign_in_location(request, &[])
    }

    /// `login_location` asking Okta for the route's `acr_values` and `max_age` too (OpenID
    /// Connect Core §3.1.2.1).
    fn step_up_location(
        &self,
        request: &Parts,
        acr_values: &[String],
        max_age: Option<std::time::Duration>,
    ) -> Option<HeaderValue> {
        let mut asked = Vec::with_capacity(2);
        if !acr_values.is_empty() {
            asked.push(("acr_values", acr_values.join(" ")));
        }
        if let Some(max_age) = max_age {
            asked.push(("max_age", max_age.as_secs().to_string()));
        }
        self.sign_in_location(request, &asked)
    }

    /// A page that says the session ended, and why, with a link that signs in again and comes
    /// back here.
    fn ended_page(&self, request: &Parts, reason: SessionEnd) -> Option<Response> {
        let location = self.login_location(request)?;
        let sign_in = location.to_str().ok()?;
        Some(page::session_ended(reason, sign_in, &self.settings.home()))
    }
}

impl Login {
    /// The sign-in route with `return_to` this page (unless longer than a login cookie keeps)
    /// and the `asked` parameters.
    fn sign_in_location(&self, request: &Parts, asked: &[(&str, String)]) -> Option<HeaderValue> {
        let login = self.settings.route("login");
        let here = request.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if here.len() <= MAX_RETURN_TO {
            query.append_pair("return_to", here);
        }
        for (name, value) in asked {
            query.append_pair(name, value);
        }
        let query = query.finish();
        if query.is_empty() {
            return HeaderValue::from_str(&login).ok();
        }
        HeaderValue::from_str(&format!("{login}?{query}")).ok()
    }

    /// The session of a request: opened, its lifetimes checked, then accepted by the
    /// verifier; refreshed (a new `Set-Cookie`) once a quarter of the idle timeout has passed.
    async fn session(&self, headers: &HeaderMap) -> Result<SessionCheck, AuthError> {
        let settings = &*self.settings;
        if cookies::get(headers, &settings.cookie_name).is_none() {
            return Ok(SessionCheck::Absent);
        }
        let Some(mut data) = read(settings, headers) else {
            tracing::debug!("session cookie rejected (tampered, or sealed with an unknown secret)");
            return Ok(SessionCheck::Absent);
        };
        let ended = |reason| {
            Ok(SessionCheck::Ended(EndedSession::new(
                reason,
                clear(settings, headers),
            )))
        };
        let now = UnixTime::now(&*self.oidc.provider().clock);
        if now >= data.signed_in_at.after(settings.session_lifetime) {
            tracing::debug!("session reached its absolute lifetime");
            return ended(SessionEnd::Expired);
        }
        if now >= data.last_seen_at.after(settings.idle_timeout) {
            tracing::debug!("session idle for too long");
            return ended(SessionEnd::Idle);
        }
        let Some(claims) = claims_of(&data) else {
            return Ok(SessionCheck::Absent);
        };
        let credential = SessionCredential {
            tenant_id: data.tenant_id.clone(),
            issuer: data.issuer.clone(),
            client_id: data.client_id.clone(),
            claims,
            session_id: data.session_id.clone(),
            signed_in_at: data.signed_in_at,
        };
        let Some(identity) = self.oidc.verifier().session(credential).await? else {
            return ended(SessionEnd::Revoked);
        };
        let refresh_after = (settings.idle_timeout / 4).min(Duration::from_secs(60));
        let mut set_cookies = Vec::new();
        if now.since(data.last_seen_at) >= refresh_after {
            data.last_seen_at = now;
            set_cookies = write(settings, &data, headers, now).unwrap_or_default();
        }
        Ok(match Claims::from_identity(identity) {
            Ok(claims) => SessionCheck::Active(Session {
                claims,
                set_cookies,
            }),
            Err(_) => SessionCheck::Absent,
        })
    }
}
