//! The callback query (first line) with a login cookie (the rest; sealed when it starts with `{`).
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
    let _ = harness().callback(data);
});
