//! What stands between a bearer value sent by a stranger and a call to a customer's Okta with
//! the tenant's credentials: the shape a token must have to be worth a call, and Okta's own
//! `429` turned into a pause of the tenant's [`Budget`](crate::call_budget::Budget).

use std::time::Duration;

use http::HeaderMap;

use crate::call_budget::Budget;
use crate::error::TokenError;
use crate::time::UnixTime;

/// Shortest opaque token worth a call by default: 128 random bits in base64url are 22
/// characters; nothing shorter is a bearer token anyone issues.
pub(crate) const DEFAULT_MIN_OPAQUE: usize = 20;
/// Longest opaque token worth a call by default (Okta's tokens are JWTs of about 1 KB; other
/// providers' opaque tokens are far shorter).
pub(crate) const DEFAULT_MAX_OPAQUE: usize = 2048;

/// Checks that a value that is not a JWT could be an opaque access token: its length in
/// `min..=max` and only URL-safe characters without a dot (`A-Z a-z 0-9 - _ ~`, which
/// base64url, hex and every reference-token format use). Anything else is refused without a
/// call.
pub(crate) fn check_opaque_shape(token: &str, min: usize, max: usize) -> Result<(), TokenError> {
    if !(min..=max).contains(&token.len()) {
        return Err(TokenError::Malformed(
            "opaque token of an impossible length",
        ));
    }
    // A value with a dot is a JWS or nothing (`a.b`, `a.b.c.d`, `a.b.`, an empty or
    // non-JSON header): the JWT parser had it first and refused it, so it costs no call.
    // Okta's opaque tokens and every reference-token format here are dot-free.
    if token.contains('.') {
        return Err(TokenError::Malformed("neither a JWS nor an opaque token"));
    }
    let url_safe = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~');
    if !token.bytes().all(url_safe) {
        return Err(TokenError::Malformed(
            "opaque token with impossible characters",
        ));
    }
    Ok(())
}

/// Pauses `budget` until a `429`'s `X-Rate-Limit-Reset` (Unix seconds; else `Retry-After`
/// seconds; else a minute), clamped to 1..=60 s since Okta resets its counters every minute.
/// Returns how long the pause lasts.
pub(crate) fn pause_for_rate_limit(
    budget: &Budget,
    headers: &HeaderMap,
    now: UnixTime,
) -> Duration {
    let header_secs = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
    };
    let reset = header_secs("x-rate-limit-reset").map(UnixTime::from_secs);
    let retry_after = header_secs("retry-after")
        .and_then(|secs| u64::try_from(secs).ok())
        .map(|secs| now.after(Duration::from_secs(secs)));
    let until = reset
        .or(retry_after)
        .unwrap_or(now.after(Duration::from_secs(60)))
        .clamp(
            now.after(Duration::from_secs(1)),
            now.after(Duration::from_secs(60)),
        );
    budget.pause_until(until);
    until.since(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opaque_shapes() {
        let (min, max) = (DEFAULT_MIN_OPAQUE, DEFAULT_MAX_OPAQUE);
        assert!(check_opaque_shape("00Tq8vS2ZcYZ0sVqL1Xa-_~", min, max).is_ok());
        assert!(check_opaque_shape(&"a".repeat(max), min, max).is_ok());
        for bad in [
            "short",
            &"a".repeat(max + 1),
            "abcdefghijklmnopqrstuvwxyz+/==",
            "abcdefghijklmnopqrstuvwxyz%20",
            "abcdefghijklmnopqrst.uvwxyz",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.",
            "abcdefghijk.lmnopqrst.uvwxyz.0123",
        ] {
            assert!(check_opaque_shape(bad, min, max).is_err(), "{bad}");
        }
    }
}
