//! What a session cookie vouches for, once the login half opened it: the tenant and client at
//! sign-in, the ID token's claims (plus userinfo additions) and when the session began. The
//! [`Verifier`](super::Verifier) turns it into an identity like any other credential.

use serde_json::{Map, Value};

use crate::time::UnixTime;

/// An opened session (its seal and its lifetimes were checked by the login half).
pub(crate) struct SessionCredential {
    /// The tenant's id, issuer and client id at sign-in: the session ends when they change.
    pub(crate) tenant_id: String,
    pub(crate) issuer: String,
    pub(crate) client_id: String,
    /// The ID token's claims, with userinfo additions.
    pub(crate) claims: Map<String, Value>,
    /// This session's own id (empty for sessions made before ids existed), and when it began:
    /// what the revocation check reads.
    pub(crate) session_id: String,
    pub(crate) signed_in_at: UnixTime,
}
