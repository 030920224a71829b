//! The revocation store's wire format: Redis values and pub/sub messages another instance wrote
//! (one per line), decoded as the sync task decodes them and merged into mirrors in every
//! order, with duplicates and a full sync: same set, nothing undone, expiry the only removal.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = okta_oidc::__fuzz::revocation_wire(data);
});
