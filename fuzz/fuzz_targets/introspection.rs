//! An RFC 7662 introspection response.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = okta_oidc::__fuzz::introspection(data);
});
