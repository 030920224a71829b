//! [`TestAccessTokenSigner`]: an [`AccessTokenSigner`] with an embedded RSA key, for tests of an
//! application's own authorization server ([`JwtBearerGrant`](crate::JwtBearerGrant)).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::keys::{self, Material};
use super::token::TokenBuilder;
use crate::grant::{AccessTokenSigner, SignFuture};

/// The pool key it signs with (the mock orgs start at the front of the pool).
const POOL_INDEX: usize = 5;

/// Signs access tokens with an embedded RSA key (RS256, `kid` `"test-as-rsa-1"`); publishes its
/// public half. For tests only: the key is in the crate's source.
///
/// ```
/// use okta_oidc::AccessTokenSigner;
/// use okta_oidc::testing::TestAccessTokenSigner;
///
/// let signer = TestAccessTokenSigner::new();
/// assert_eq!(signer.jwks()["keys"][0]["kid"], "test-as-rsa-1");
/// ```
#[derive(Clone, Debug)]
pub struct TestAccessTokenSigner {
    kid: String,
}

impl Default for TestAccessTokenSigner {
    fn default() -> Self {
        Self::new()
    }
}

impl TestAccessTokenSigner {
    /// The signer.
    pub fn new() -> Self {
        crate::builder::install_crypto_provider();
        TestAccessTokenSigner {
            kid: "test-as-rsa-1".into(),
        }
    }

    fn material() -> &'static Material {
        keys::rsa(POOL_INDEX)
    }

    /// A token signed with this key: header `typ` `at+jwt`, these claims; change any of it to
    /// forge one.
    pub fn token(&self, claims: Value) -> TokenBuilder {
        TokenBuilder::new(Arc::new(|_| Some(Self::material())), &self.kid, claims)
            .header("typ", "at+jwt")
    }
}

impl AccessTokenSigner for TestAccessTokenSigner {
    fn sign<'a>(&'a self, typ: &'a str, claims: &'a Map<String, Value>) -> SignFuture<'a> {
        let token = self
            .token(Value::Object(claims.clone()))
            .header("typ", typ)
            .build();
        Box::pin(async move { Ok(token) })
    }

    fn jwks(&self) -> Value {
        json!({ "keys": [Self::material().public_jwk(&self.kid)] })
    }
}
