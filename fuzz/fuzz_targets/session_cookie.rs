//! The session cookie through the layer: raw `Cookie` headers, and (input starting with `{`)
//! sealed JSON so the fuzzer reaches what is inside.
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
    let _ = harness().session_cookie(data);
});
