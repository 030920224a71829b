//! DPoP `htu` normalization (RFC 3986 §6.2.2–6.2.3): two URIs, one per line. The comparison is
//! symmetric, normalizing is idempotent, and two URIs found equal share origin and path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = okta_oidc::__fuzz::htu(data);
});
