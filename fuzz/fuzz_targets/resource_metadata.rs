//! RFC 9728 protected-resource metadata requests: the request target (first line), the `Host`
//! header (second) and the method (third) through `ResourceMetadataService`, with two tenants,
//! one resource each, and a resolver by host.
#![no_main]

use libfuzzer_sys::fuzz_target;

use std::sync::LazyLock;

use okta_oidc::__fuzz::Signals;

fn harness() -> &'static Signals {
    static HARNESS: LazyLock<Signals> =
        LazyLock::new(|| Signals::new(include_bytes!("../keys.json")));
    &HARNESS
}

fuzz_target!(|data: &[u8]| {
    let _ = harness().resource_metadata(data);
});
