//! A bearer token through the whole validator: the layer over HTTP types, `authenticate_bearer`
//! and `OktaOidc::validate`, with a tenant whose keys come from a static key set.
#![no_main]

use libfuzzer_sys::fuzz_target;

use std::sync::LazyLock;

use okta_oidc::__fuzz::Harness;

fn harness() -> &'static Harness {
    static HARNESS: LazyLock<Harness> =
        LazyLock::new(|| Harness::new(include_bytes!("../keys.json")));
    &HARNESS
}

fuzz_target!(|data: &[u8]| {
    let _ = harness().bearer(data);
});
