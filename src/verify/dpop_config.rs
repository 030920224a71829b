//! [`Dpop`]: how the resource server accepts DPoP (RFC 9449): algorithms, the proof's time
//! window, server nonces, the replay store, and whether `Bearer` is still accepted.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::dpop_replay::ProofReplay;
use crate::algorithm::Algorithm;

/// DPoP on the resource server (RFC 9449 §7): requests may send `Authorization: DPoP <token>`
/// with a proof of possession of the token's key in the `DPoP` header. Turn it on with
/// [`OktaOidcBuilder::dpop`](crate::OktaOidcBuilder::dpop).
///
/// Every proof is checked (RFC 9449 §4.3): `typ` `dpop+jwt`; an algorithm of
/// [`algorithms`](Self::algorithms); a public `jwk` in the header, which verifies the signature;
/// `htm` and `htu` equal to the request's method and URI — the URI built from the configured
/// resource identifier ([`ProtectedResource`](crate::ProtectedResource) or
/// [`Tenant::resource`](crate::Tenant::resource)) and the request's path, never from its `Host`
/// header; `iat` within [`proof_max_age`](Self::proof_max_age) (and
/// [`proof_clock_skew`](Self::proof_clock_skew) ahead); `jti` used once
/// ([`replay_store`](Self::replay_store)); `ath` the hash of the access token; the token's
/// `cnf.jkt` the key's thumbprint; the server's nonce when [`server_nonces`](Self::server_nonces)
/// is on.
///
/// A token bound to a key (`cnf.jkt`, or an introspection answer with `token_type` `DPoP`) is
/// refused with the `Bearer` scheme, whatever this configuration says.
///
/// The path in `htu` is the one clients call: the request's path as it reached the server,
/// also when the layer sits inside a `Router::nest` (axum's `OriginalUri`); a proxy in front
/// must not rewrite paths. With [`server_nonces`](Self::server_nonces), successful DPoP answers
/// carry the current nonce in `DPoP-Nonce` too, so a client that keeps it is not refused when
/// it rotates.
///
/// ```
/// use std::time::Duration;
/// use okta_oidc::{Algorithm, Dpop, OktaOidc, ProtectedResource, Tenant};
///
/// # fn build() -> Result<OktaOidc, okta_oidc::ConfigError> {
/// let oidc = OktaOidc::builder()
///     .tenant(Tenant::new("acme", "https://acme.okta.com/oauth2/default").audience("api://acme"))
///     .protected_resource(ProtectedResource::new("https://api.example.com"))
///     .dpop(
///         Dpop::new()
///             .algorithms([Algorithm::ES256, Algorithm::PS256])
///             .proof_max_age(Duration::from_secs(60))
///             .server_nonces([7u8; 32]),
///     )
///     .build_lazy()?;
/// # Ok(oidc) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct Dpop {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_age: Duration,
    pub(crate) clock_skew: Duration,
    pub(crate) required: bool,
    pub(crate) nonce_secret: Option<[u8; 32]>,
    pub(crate) nonce_lifetime: Duration,
    pub(crate) replay: Option<Arc<dyn ProofReplay>>,
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("clock_skew", &self.clock_skew)
            .field("required", &self.required)
            .field("server_nonces", &self.nonce_secret.is_some())
            .field("shared_replay_store", &self.replay.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Dpop {
    fn default() -> Self {
        Dpop::new()
    }
}

impl Dpop {
    /// DPoP with the defaults: algorithms ES256, ES384, EdDSA, PS256 and RS256; proofs up to
    /// 60 s old and 5 s ahead; `Bearer` still accepted for unbound tokens; no server nonces;
    /// replays remembered in the revocation store
    /// ([`OktaOidcBuilder::revocation_store`](crate::OktaOidcBuilder::revocation_store): every
    /// instance sharing a Redis store refuses a proof used at another).
    pub fn new() -> Self {
        Dpop {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::PS256,
                Algorithm::RS256,
            ],
            max_age: Duration::from_secs(60),
            clock_skew: Duration::from_secs(5),
            required: false,
            nonce_secret: None,
            nonce_lifetime: Duration::from_secs(300),
            replay: None,
        }
    }

    /// The proof algorithms accepted (published as `dpop_signing_alg_values_supported` and in
    /// the challenge's `algs`). Asymmetric only: [`Algorithm`] has no HMAC.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Oldest accepted proof, by its `iat` (default 60 s). Each `jti` is remembered this long
    /// plus the clock skew.
    pub fn proof_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// How far ahead of this server's clock a proof's `iat` may be (default 5 s).
    pub fn proof_clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Requires DPoP on every route: `Bearer` is refused, and the protected-resource metadata
    /// says `dpop_bound_access_tokens_required: true`. For some routes only, use
    /// [`OktaOidcLayer::require_dpop`](crate::OktaOidcLayer::require_dpop).
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Requires the server's nonce in every proof (RFC 9449 §9): a proof without the current
    /// one gets `401` `use_dpop_nonce` with a `DPoP-Nonce` header to retry with. Nonces are
    /// derived from `secret` and the time, so every instance with the same secret accepts
    /// the others' nonces, with no shared state. A nonce is accepted for one to two
    /// [`nonce_lifetime`](Self::nonce_lifetime)s, and every answer to a DPoP request that
    /// passes carries the current one in `DPoP-Nonce`: a client that keeps it is never refused
    /// for a stale nonce while it keeps calling.
    pub fn server_nonces(mut self, secret: [u8; 32]) -> Self {
        self.nonce_secret = Some(secret);
        self
    }

    /// How often the server nonce changes (default 5 minutes).
    pub fn nonce_lifetime(mut self, lifetime: Duration) -> Self {
        self.nonce_lifetime = lifetime;
        self
    }

    /// Where used proofs are remembered (default: the single-use markers of the revocation
    /// store, [`OktaOidcBuilder::revocation_store`](crate::OktaOidcBuilder::revocation_store),
    /// so a [`RedisStore`](crate::store::RedisStore) shares them between instances). Several
    /// instances behind a load balancer must share one store, or a proof could be replayed at
    /// another instance; [`MemoryProofReplay`](crate::MemoryProofReplay) keeps them in process.
    pub fn replay_store(mut self, store: impl ProofReplay) -> Self {
        self.replay = Some(Arc::new(store));
        self
    }
}
