//! A discovery document, checked against the configured issuer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = okta_oidc::__fuzz::discovery(data);
});
