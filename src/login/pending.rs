//! A login in progress: what the login cookie holds between `/auth/login` and
//! `/auth/callback`, and the cookie's name.

use serde::{Deserialize, Serialize};

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
    /// Where to go after login (a same-origin path).
    pub(crate) return_to: String,
    /// When the login started.
    pub(crate) started_at: UnixTime,
}

/// Random bytes in `state`, `nonce` and the PKCE verifier (256 bits each).
pub(crate) const RANDOM_BYTES: usize = 32;
/// Characters of `state` used in the login cookie's name.
const NAME_PREFIX: usize = 16;

pub(crate) fn login_cookie_name(state: &str) -> Option<String> {
    let prefix = state.get(..NAME_PREFIX)?;
    Some(format!("okta_login_{prefix}"))
}

pub(crate) fn is_state_charset(s: &str) -> bool {
    (22..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b','))
}
