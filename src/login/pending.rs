//! A login in progress: what the login cookie holds between `/auth/login` and
//! `/auth/callback`, the cookie's name, and the bound on how many a browser keeps.

use http::{HeaderMap, HeaderValue};
use serde::{Deserialize, Serialize};

use super::config::LoginSettings;
use super::cookies;
use super::seal::Purpose;
use crate::time::UnixTime;

/// What the login cookie holds: a login started at `/auth/login`, waiting for the callback.
#[derive(Serialize, Deserialize)]
pub(crate) struct PendingLogin {
    /// The `state` parameter sent to the provider; it names the cookie, and the callback's
    /// `state` must equal it (RFC 6749 §10.12).
    pub(crate) state: String,
    /// The `nonce` the ID token must carry (OpenID Connect Core §3.1.2.1).
    pub(crate) nonce: String,
    /// The PKCE `code_verifier` (RFC 7636).
    pub(crate) pkce_verifier: String,
    /// The tenant bound to this login: a code from another tenant never makes a session here.
    pub(crate) tenant_id: String,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    /// Where to go after login (a same-origin path, at most [`MAX_RETURN_TO`] bytes).
    pub(crate) return_to: String,
    /// When the login started.
    pub(crate) started_at: UnixTime,
    /// The `acr_values` asked of the provider (a step-up): the ID token's `acr` must be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acr_values: Option<String>,
    /// The `max_age` asked of the provider, in seconds: the ID token's `auth_time` must be
    /// at most that old.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) max_age: Option<u64>,
}

/// Random bytes in `state`, `nonce` and the PKCE verifier (256 bits each).
pub(crate) const RANDOM_BYTES: usize = 32;
/// Characters of `state` used in the login cookie's name.
const NAME_PREFIX: usize = 16;
/// Longest `return_to` a login cookie keeps; a longer one is replaced by the app's home, so
/// that a login cookie stays well under a kilobyte.
pub(crate) const MAX_RETURN_TO: usize = 512;
/// Most login cookies of a request looked at (a forged `Cookie` header may hold thousands).
const MAX_LOOKED_AT: usize = 32;

/// The name of the login cookie of `state`.
pub(crate) fn login_cookie_name(settings: &LoginSettings, state: &str) -> Option<String> {
    let prefix = state.get(..NAME_PREFIX)?;
    Some(format!("{}{prefix}", settings.login_cookie_prefix))
}

/// Whether `name` is one of this sign-in's login cookies: the prefix and [`NAME_PREFIX`]
/// characters exactly (login cookies live at `Path=/`: a cookie of an app under a path on the
/// same host, whose name carries a tag of that path, is longer, and left alone).
fn is_login_cookie(settings: &LoginSettings, name: &str) -> bool {
    name.len() == settings.login_cookie_prefix.len() + NAME_PREFIX
        && name.starts_with(&settings.login_cookie_prefix)
}

pub(crate) fn is_state_charset(s: &str) -> bool {
    (22..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b','))
}

/// Opens a login cookie (`None`: tampered, sealed with an unknown secret, or not one).
pub(crate) fn open(settings: &LoginSettings, name: &str, sealed: &str) -> Option<PendingLogin> {
    let json = settings
        .keys
        .open(Purpose::Login, name.as_bytes(), sealed)?;
    serde_json::from_slice(&json).ok()
}

/// `Set-Cookie` values that delete the browser's login cookies beyond the newest
/// `max_pending_logins - 1` (room for the one being started), and those that are expired or
/// cannot be opened.
pub(crate) fn crowded_out(
    settings: &LoginSettings,
    request: &HeaderMap,
    now: UnixTime,
) -> Vec<HeaderValue> {
    let mut live: Vec<(UnixTime, &str)> = Vec::new();
    let mut out = Vec::new();
    let mut clear = |name: &str| {
        out.extend(cookies::clear(&settings.attrs, name, &settings.login_path));
    };
    let logins = cookies::all(request)
        .filter(|(name, _)| is_login_cookie(settings, name))
        .take(MAX_LOOKED_AT);
    for (name, sealed) in logins {
        match open(settings, name, sealed) {
            Some(login) if now < login.started_at.after(settings.login_timeout) => {
                live.push((login.started_at, name));
            }
            _ => clear(name),
        }
    }
    live.sort_by_key(|(started_at, _)| std::cmp::Reverse(*started_at));
    for (_, name) in live.iter().skip(settings.max_pending_logins - 1) {
        clear(name);
    }
    out
}
