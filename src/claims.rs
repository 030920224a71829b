//! Typed claims: the standard and Okta fields, plus an application's own.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// The `aud` claim: one audience or several, kept as received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience string.
    One(String),
    /// An array of audiences.
    Many(Vec<String>),
}

/// A string or an array of strings, read in one pass (an `untagged` enum would buffer the value
/// and build, then drop, an error for each variant that does not fit).
impl<'de> Deserialize<'de> for Audience {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Audience;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Audience::One(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Audience::One(v))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                strings(seq).map(Audience::Many)
            }
        }
        d.deserialize_any(V)
    }
}

/// The strings of a JSON array, allocated at their final size for the usual one or two.
fn strings<'de, A: de::SeqAccess<'de>>(mut seq: A) -> Result<Vec<String>, A::Error> {
    let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(16));
    while let Some(s) = seq.next_element::<String>()? {
        out.push(s);
    }
    Ok(out)
}

impl Default for Audience {
    fn default() -> Self {
        Audience::Many(Vec::new())
    }
}

impl Audience {
    /// The audiences as a slice-like iterator.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Audience::One(a) => (Some(a.as_str()), &[][..]),
            Audience::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().map(String::as_str))
    }

    /// Whether `aud` is among the audiences.
    pub fn contains(&self, aud: &str) -> bool {
        self.iter().any(|a| a == aud)
    }

    /// How many audiences there are.
    pub fn len(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(v) => v.len(),
        }
    }

    /// Whether there is no audience.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The standard JWT, OpenID Connect and Okta claims.
///
/// Reached through [`Claims`] (which dereferences to this). Fields a token does not carry are
/// `None` or empty. Unknown claims are available through [`Claims::extra`] with your own type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StandardClaims {
    /// Issuer.
    #[serde(default)]
    pub iss: String,
    /// Subject: the user (Okta user id for ID tokens) or client.
    #[serde(default)]
    pub sub: String,
    /// Audience, one or many, as received.
    #[serde(default, skip_serializing_if = "Audience::is_empty")]
    pub aud: Audience,
    /// Expiry, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<i64>,
    /// Issued at, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<i64>,
    /// Not before, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<i64>,
    /// When the user authenticated, seconds since the epoch.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_time: Option<i64>,
    /// The authentication context class the user's authentication satisfied (OpenID Connect
    /// Core §2; Okta: `urn:okta:loa:1fa:pwd`, `urn:okta:loa:2fa:any`, …): what
    /// [`RequireAuthentication::acr`](crate::RequireAuthentication::acr) checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// Okta's token version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<i64>,
    /// Okta's client id (access tokens; `client_id` in introspection responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<String>,
    /// Okta's user id (access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// Authorized party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azp: Option<String>,
    /// The identity provider's session id (OpenID Connect Back-Channel Logout 1.0 §2.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The login nonce (ID tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Access token hash (ID tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// Scopes granted: Okta's `scp` array, or the space-separated `scope` string.
    #[serde(
        default,
        rename = "scp",
        deserialize_with = "string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scopes: Vec<String>,
    /// The space-separated `scope` claim (RFC 8693 / RFC 7662), when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Authentication methods (RFC 8176).
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub amr: Vec<String>,
    /// Okta's identity provider id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp: Option<String>,
    /// Full name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email address. Never identify a user by email alone: use (`iss`, `sub`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the email address was verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// Okta login name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<String>,
    /// Username (introspection responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Token type (introspection responses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Groups (custom authorization servers; not available to OIN apps).
    #[serde(
        default,
        deserialize_with = "string_or_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<String>,
    /// Confirmation (RFC 7800 §3.1): the key a sender-constrained token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// Whether the payload has an `events` claim (a Security Event Token, a logout token):
    /// such a JWT is never a credential.
    #[serde(
        default,
        rename = "events",
        deserialize_with = "present",
        skip_serializing
    )]
    pub(crate) has_events: bool,
}

/// `true` for a member that is there, whatever its value (which is skipped unread).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

/// The `cnf` claim (RFC 7800): what a token is bound to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Confirmation {
    /// The JWK SHA-256 thumbprint (RFC 7638) of a DPoP key (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
    /// Every other confirmation member (`x5t#S256` of RFC 8705, `jwk`, `jku`, `kid`…): a
    /// binding this crate cannot verify, so a token that carries one is refused.
    #[serde(flatten, default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl StandardClaims {
    /// All granted scopes: `scp` entries and the words of `scope`.
    pub fn scope_list(&self) -> impl Iterator<Item = &str> {
        self.scopes
            .iter()
            .map(String::as_str)
            .chain(self.scope.as_deref().unwrap_or("").split_ascii_whitespace())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope_list().any(|s| s == scope)
    }

    /// Whether the token is bound to a DPoP key (RFC 9449 §6): it carries `cnf.jkt`, or the
    /// introspection answer said `token_type` `DPoP`. Such a token is accepted only with the
    /// `DPoP` scheme and a proof signed by that key.
    pub fn is_dpop_bound(&self) -> bool {
        self.dpop_thumbprint().is_some()
            || self
                .token_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("DPoP"))
    }

    /// Whether the token is bound (`cnf`) to something other than a DPoP key: a client
    /// certificate (`x5t#S256`, RFC 8705 §3.1) or any member this crate cannot verify. Such a
    /// token is refused: its holder must prove possession, and nothing here can check that.
    pub fn has_unverifiable_binding(&self) -> bool {
        self.cnf.as_ref().is_some_and(|cnf| !cnf.other.is_empty())
    }

    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt`).
    pub fn dpop_thumbprint(&self) -> Option<&str> {
        self.cnf.as_ref()?.jkt.as_deref()
    }
}

/// Where the identity came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CredentialSource {
    /// A JWT bearer token validated locally against the issuer's keys.
    Jwt,
    /// An opaque bearer token validated by the issuer's introspection endpoint.
    Introspection,
    /// This crate's session cookie.
    Session,
}

/// The tenant that validated an identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TenantRef {
    /// The application's id for the tenant.
    pub id: Arc<str>,
    /// The tenant's issuer.
    pub issuer: Arc<str>,
    /// The tenant's client id, if configured.
    pub client_id: Option<Arc<str>>,
}

/// A validated identity, as stored in the request extensions by the layer.
#[derive(Clone, Debug)]
pub(crate) struct Identity {
    pub(crate) claims: StandardClaims,
    /// The claims object as received (JSON), for the application's own claim types.
    pub(crate) raw: Box<str>,
    pub(crate) tenant: TenantRef,
    pub(crate) source: CredentialSource,
    /// What the revocation check reads besides the claims.
    pub(crate) issuance: Issuance,
}

/// When and as what an identity's credential was issued, for the revocation check.
#[derive(Clone, Debug, Default)]
pub(crate) struct Issuance {
    /// Sessions: when the user signed in (ms precision); tokens: `None` (their `iat` counts).
    pub(crate) started_at: Option<crate::time::UnixTime>,
    /// Sessions: this crate's own session id.
    pub(crate) session_id: Option<Box<str>>,
    /// A session or an ID token: the credentials the mirror's staleness limit applies to.
    pub(crate) user_credential: bool,
    /// An ID token accepted as a bearer: its [`token_digest`](crate::store::token_digest), which
    /// a logout revokes (an ID token without `jti`).
    pub(crate) token_digest: Option<Box<str>>,
    /// An access token of the application's own authorization server (a tenant with
    /// [`own_authorization_server`](crate::Tenant::own_authorization_server)): the tenant whose
    /// user it acts for (its `tenant` claim), whose revocations end it too.
    pub(crate) user_tenant: Option<std::sync::Arc<str>>,
}

/// The claims of an authenticated request.
///
/// `Claims` dereferences to [`StandardClaims`]; `T` holds the application's own claims,
/// deserialized from the same JSON object (unknown fields are ignored, so `T` names only what it
/// needs). Use it as an axum extractor, or `Option<Claims<T>>` on routes where authentication is
/// optional.
///
/// ```
/// use okta_oidc::Claims;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Extra {
///     department: Option<String>,
/// }
///
/// async fn handler(claims: Claims<Extra>) -> String {
///     format!("{} of {:?}", claims.sub, claims.extra.department)
/// }
/// # let _ = handler;
/// ```
#[derive(Clone)]
pub struct Claims<T = ()> {
    identity: Arc<Identity>,
    /// The application's own claims.
    pub extra: T,
}

impl<T> Claims<T> {
    /// The tenant that validated this identity.
    pub fn tenant(&self) -> &TenantRef {
        &self.identity.tenant
    }

    /// How the identity was established.
    pub fn source(&self) -> CredentialSource {
        self.identity.source
    }

    /// The claims object as received, as JSON text.
    pub fn raw_json(&self) -> &str {
        &self.identity.raw
    }

    /// The standard claims.
    pub fn standard(&self) -> &StandardClaims {
        &self.identity.claims
    }

    /// The identity inside, for the request extensions.
    pub(crate) fn into_identity(self) -> Arc<Identity> {
        self.identity
    }
}

impl<T: DeserializeOwned> Claims<T> {
    pub(crate) fn from_identity(identity: Arc<Identity>) -> Result<Self, serde_json::Error> {
        let extra = T::deserialize(ExtraDeserializer(&identity.raw))?;
        Ok(Claims { identity, extra })
    }
}

impl<T> Deref for Claims<T> {
    type Target = StandardClaims;
    fn deref(&self) -> &StandardClaims {
        &self.identity.claims
    }
}

impl<T: fmt::Debug> fmt::Debug for Claims<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("tenant", &self.identity.tenant.id)
            .field("source", &self.identity.source)
            .field("extra", &self.extra)
            .finish_non_exhaustive()
    }
}

/// Serializes as one JSON object: the claims as received, then the application's `T` on top.
impl<T: Serialize> Serialize for Claims<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&self.identity.raw).map_err(serde::ser::Error::custom)?;
        if let Ok(serde_json::Value::Object(extra)) = serde_json::to_value(&self.extra) {
            object.extend(extra);
        }
        let mut map = serializer.serialize_map(Some(object.len()))?;
        for (k, v) in &object {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Deserializes `T` from the raw claims, with `()` accepted without parsing anything.
struct ExtraDeserializer<'a>(&'a str);

impl<'de> Deserializer<'de> for ExtraDeserializer<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let mut de = serde_json::Deserializer::from_str(self.0);
        de.deserialize_any(visitor)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let mut de = serde_json::Deserializer::from_str(self.0);
        de.deserialize_struct(name, fields, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let mut de = serde_json::Deserializer::from_str(self.0);
        de.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option seq tuple tuple_struct enum identifier ignored_any
    }
}

/// A NumericDate: an integer or a number with a fraction (truncated); anything else is an error.
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<i64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a NumericDate (number of seconds)")
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            i64::try_from(v)
                .map(Some)
                .map_err(|_| E::custom("NumericDate out of range"))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            if v.is_finite() && v.abs() < 9.0e15 {
                Ok(Some(v.trunc() as i64))
            } else {
                Err(E::custom("NumericDate out of range"))
            }
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(V)
}

/// A list of strings, or one space-separated string (`null`: none), read in one pass.
fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string, an array of strings or null")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.split_ascii_whitespace().map(str::to_owned).collect())
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            strings(seq)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
    }
    d.deserialize_any(V)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(raw: &str) -> Arc<Identity> {
        Arc::new(Identity {
            claims: serde_json::from_str(raw).unwrap(),
            raw: raw.into(),
            tenant: TenantRef {
                id: "t".into(),
                issuer: "https://x".into(),
                client_id: None,
            },
            source: CredentialSource::Jwt,
            issuance: Issuance::default(),
        })
    }

    #[test]
    fn unit_extra_parses_nothing() {
        let c: Claims = Claims::from_identity(identity(r#"{"iss":"a","sub":"b"}"#)).unwrap();
        assert_eq!(c.sub, "b");
    }

    #[test]
    fn custom_extra_and_scopes() {
        #[derive(Deserialize)]
        struct Extra {
            dept: String,
        }
        let c: Claims<Extra> = Claims::from_identity(identity(
            r#"{"iss":"a","sub":"b","dept":"ops","scp":["x","y"],"scope":"z"}"#,
        ))
        .unwrap();
        assert_eq!(c.extra.dept, "ops");
        assert!(c.has_scope("x") && c.has_scope("z") && !c.has_scope("w"));
        let missing: Result<Claims<Extra>, _> =
            Claims::from_identity(identity(r#"{"iss":"a","sub":"b"}"#));
        assert!(missing.is_err());
    }

    /// `aud`, `amr`, `scp` and `groups` read in one pass: every shape the `untagged` forms took,
    /// from JSON text and from a `serde_json::Value` (the session path).
    #[test]
    fn audiences_and_string_lists_in_every_shape() {
        let read = |json: &str| serde_json::from_str::<StandardClaims>(json);
        let from_value = |json: &str| {
            serde_json::from_value::<StandardClaims>(serde_json::from_str(json).unwrap())
        };
        for parse in [&read as &dyn Fn(&str) -> _, &from_value] {
            let c = parse(r#"{"aud":"a","amr":"pwd  mfa","scp":["x","y"],"groups":null}"#).unwrap();
            assert_eq!(c.aud, Audience::One("a".into()));
            assert_eq!(c.amr, ["pwd", "mfa"]);
            assert_eq!(c.scopes, ["x", "y"]);
            assert!(c.groups.is_empty());
            let c = parse(r#"{"aud":["a","b"],"amr":[],"scp":"x"}"#).unwrap();
            assert_eq!(c.aud, Audience::Many(vec!["a".into(), "b".into()]));
            assert!(c.aud.contains("b") && c.aud.len() == 2);
            assert!(c.amr.is_empty());
            assert_eq!(c.scopes, ["x"]);
            let c = parse(r#"{"aud":[]}"#).unwrap();
            assert!(c.aud.is_empty());
            assert_eq!(parse("{}").unwrap().aud, Audience::default());
            for bad in [
                r#"{"aud":null}"#,
                r#"{"aud":5}"#,
                r#"{"aud":["a",1]}"#,
                r#"{"aud":{"a":1}}"#,
                r#"{"amr":[1]}"#,
                r#"{"amr":5}"#,
                r#"{"scp":[["x"]]}"#,
                r#"{"groups":{"g":1}}"#,
            ] {
                assert!(parse(bad).is_err(), "{bad}");
            }
        }
        let escaped: StandardClaims = read(r#"{"aud":"a\/b","amr":["p\u0077d"]}"#).unwrap();
        assert_eq!(escaped.aud, Audience::One("a/b".into()));
        assert_eq!(escaped.amr, ["pwd"]);
    }

    #[test]
    fn numeric_dates_reject_strings() {
        assert!(serde_json::from_str::<StandardClaims>(r#"{"exp":"123"}"#).is_err());
        let c: StandardClaims = serde_json::from_str(r#"{"exp":1.5e9,"iat":7}"#).unwrap();
        assert_eq!(c.exp, Some(1_500_000_000));
        assert_eq!(c.iat, Some(7));
    }

    #[test]
    fn serializes_raw_claims() {
        let c: Claims = Claims::from_identity(identity(
            r#"{"iss":"a","sub":"b","aud":["x","y"],"custom":1}"#,
        ))
        .unwrap();
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["aud"], serde_json::json!(["x", "y"]));
        assert_eq!(v["custom"], 1);
    }
}
