//! A login in progress: what the login cookie holds between `/auth/login` and
//! `/auth/callback`, and the cookie's name.

use serde::{Deserialize, Serialize};

/// What the login cookie holds.
#[derive(Serialize, Deserialize)]
pub(crate) struct LoginData {
    /// state, nonce, PKCE verifier
    pub(crate) s: String,
    pub(crate) n: String,
    pub(crate) v: String,
    /// tenant id, issuer and client id bound to this login
    pub(crate) t: String,
    pub(crate) iss: String,
    pub(crate) cid: String,
    /// where to go after login (a same-origin path)
    pub(crate) r: String,
    /// when the login started, ms since the epoch
    pub(crate) at: u64,
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
