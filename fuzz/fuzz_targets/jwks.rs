//! A key set document: lenient parsing, key reuse across refreshes, lookups.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = okta_oidc::__fuzz::jwks(data);
});
