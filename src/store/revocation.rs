//! [`Revocation`]: one "revoked before T" record, or one revoked credential, with its expiry.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a revocation names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RevocationKind {
    /// A user by `sub` (an access token's `uid` counts too): credentials issued before `before`.
    Subject,
    /// A user by email (lowercase): credentials issued before `before`.
    Email,
    /// An identity-provider session (`sid`): credentials issued before `before`.
    Sid,
    /// One session of this crate, by its id.
    Session,
    /// One token, by its `jti`.
    TokenId,
    /// One token, by its digest ([`token_digest`]): an ID token without `jti`, revoked at
    /// logout. Instances of a version without this kind ignore it (its records do not parse).
    TokenDigest,
}

/// The digest a [`RevocationKind::TokenDigest`] revocation names: the base64url (no padding)
/// SHA-256 of the raw compact token.
///
/// ```
/// let digest = okta_oidc::store::token_digest("eyJhbGciOiJSUzI1NiJ9.e30.c2ln");
/// assert_eq!(digest.len(), 43);
/// ```
pub fn token_digest(token: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

impl RevocationKind {
    fn code(self) -> char {
        match self {
            RevocationKind::Subject => 's',
            RevocationKind::Email => 'e',
            RevocationKind::Sid => 'i',
            RevocationKind::Session => 'c',
            RevocationKind::TokenId => 'j',
            RevocationKind::TokenDigest => 'd',
        }
    }
}

/// One revocation: `value` of `kind` in `tenant`, for credentials issued before `before_ms`
/// (milliseconds since the Unix epoch; `u64::MAX` for a single revoked credential), remembered
/// until `until_ms`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// What `value` is.
    pub kind: RevocationKind,
    /// The tenant's id.
    pub tenant: String,
    /// The subject, email (lowercase), `sid`, session id, `jti` or token digest.
    pub value: String,
    /// Credentials issued before this time (ms since the epoch) are refused.
    pub before_ms: u64,
    /// When the revocation can be forgotten (ms since the epoch): the end of the longest
    /// credential it can affect.
    pub until_ms: u64,
}

/// The value may be an email address or a session id: only a digest of it is shown.
impl fmt::Debug for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Revocation")
            .field("kind", &self.kind)
            .field("tenant", &self.tenant)
            .field("value", &format_args!("<sha256 {}>", &self.digest()[..12]))
            .field("before_ms", &self.before_ms)
            .field("until_ms", &self.until_ms)
            .finish()
    }
}

impl Revocation {
    /// A revocation of `value` of `kind` in `tenant`.
    pub fn new(
        kind: RevocationKind,
        tenant: impl Into<String>,
        value: impl Into<String>,
        before_ms: u64,
        until_ms: u64,
    ) -> Self {
        let mut value = value.into();
        if kind == RevocationKind::Email {
            value = value.to_lowercase();
        }
        Revocation {
            kind,
            tenant: tenant.into(),
            value,
            before_ms,
            until_ms,
        }
    }

    /// The mirror's key of this revocation.
    pub(crate) fn key(&self) -> String {
        lookup_key(self.kind, &self.tenant, &self.value)
    }

    /// A stable digest of the key, in hex: the Redis key (no email or session id in key names).
    pub(crate) fn digest(&self) -> String {
        let digest = Sha256::digest(self.key().as_bytes());
        digest[..16].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Both revocations of one key in one: the later `before`, the later `until`.
    pub(crate) fn merged(&self, other: &Revocation) -> Revocation {
        Revocation {
            before_ms: self.before_ms.max(other.before_ms),
            until_ms: self.until_ms.max(other.until_ms),
            ..self.clone()
        }
    }

    /// Whether `self` says everything `other` says (same or later `before` and `until`).
    pub(crate) fn covers(&self, other: &Revocation) -> bool {
        self.before_ms >= other.before_ms && self.until_ms >= other.until_ms
    }
}

/// The key of (`kind`, `tenant`, `value`): fields separated by a control character that no
/// tenant id, subject or email holds.
pub(crate) fn lookup_key(kind: RevocationKind, tenant: &str, value: &str) -> String {
    let mut key = String::with_capacity(tenant.len() + value.len() + 3);
    key.push(kind.code());
    key.push('\u{1f}');
    key.push_str(tenant);
    key.push('\u{1f}');
    key.push_str(value);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_later_times_and_debug_hides_the_value() {
        let a = Revocation::new(RevocationKind::Email, "t", "Ann@Example.com", 10, 100);
        assert_eq!(a.value, "ann@example.com");
        let b = Revocation::new(RevocationKind::Email, "t", "ann@example.com", 20, 50);
        let m = a.merged(&b);
        assert_eq!((m.before_ms, m.until_ms), (20, 100));
        assert!(m.covers(&a) && m.covers(&b) && !a.covers(&b));
        assert_eq!(a.key(), b.key());
        assert!(!format!("{a:?}").contains("ann"));
    }

    #[test]
    fn the_token_digest_kind_travels_and_an_unknown_kind_is_an_error_not_a_panic() {
        let r = Revocation::new(
            RevocationKind::TokenDigest,
            "t",
            token_digest("a.b.c"),
            1,
            2,
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""kind":"token_digest""#), "{json}");
        assert_eq!(serde_json::from_str::<Revocation>(&json).unwrap(), r);
        // What an instance of an older version reads from a newer one: a kind it does not
        // know is an error the sync ignores (redis_sync.rs), never a panic.
        let future = json.replace("token_digest", "some_future_kind");
        assert!(serde_json::from_str::<Revocation>(&future).is_err());
        assert_ne!(
            r.key(),
            Revocation::new(RevocationKind::TokenId, "t", &r.value, 1, 2).key()
        );
    }
}
