//! Server-provided DPoP nonces (RFC 9449 §9): derived from a secret and the time period, so
//! that every instance sharing the secret issues and accepts the same nonces without shared
//! state.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The nonces of one configuration.
pub(crate) struct ServerNonces {
    secret: [u8; 32],
    lifetime_secs: u64,
}

impl ServerNonces {
    pub(crate) fn new(secret: [u8; 32], lifetime: Duration) -> Self {
        ServerNonces {
            secret,
            lifetime_secs: lifetime.as_secs().max(1),
        }
    }

    /// The nonce of the period `now` falls in.
    pub(crate) fn current(&self, now: Duration) -> String {
        self.of_period(now.as_secs() / self.lifetime_secs)
    }

    /// Whether `nonce` is the nonce of the current or the previous period.
    pub(crate) fn accepts(&self, nonce: &str, now: Duration) -> bool {
        let period = now.as_secs() / self.lifetime_secs;
        [Some(period), period.checked_sub(1)]
            .into_iter()
            .flatten()
            .any(|p| bool::from(self.of_period(p).as_bytes().ct_eq(nonce.as_bytes())))
    }

    /// base64url(SHA-256(label ‖ secret ‖ period)), 128 bits: unpredictable without the secret
    /// (every input but the secret has a fixed length, so no extension of it is a nonce).
    fn of_period(&self, period: u64) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"okta-oidc dpop nonce v1\0");
        hasher.update(self.secret);
        hasher.update(period.to_be_bytes());
        URL_SAFE_NO_PAD.encode(&hasher.finalize()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_lives_one_to_two_periods() {
        let nonces = ServerNonces::new([1; 32], Duration::from_secs(300));
        let t = Duration::from_secs(1_700_000_100);
        let nonce = nonces.current(t);
        assert_eq!(nonce.len(), 22);
        assert!(nonces.accepts(&nonce, t));
        assert!(nonces.accepts(&nonce, t + Duration::from_secs(300)));
        assert!(!nonces.accepts(&nonce, t + Duration::from_secs(600)));
        assert!(!nonces.accepts("", t));
        let other = ServerNonces::new([2; 32], Duration::from_secs(300));
        assert!(!other.accepts(&nonce, t), "another secret, other nonces");
    }
}
