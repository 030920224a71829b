//! The integration tests: one binary, a module per concern, so the stack (axum, reqwest,
//! aws-lc) is linked once. Tests over the public API use real HTTP on 127.0.0.1 against the
//! in-process mock Okta; tests of middleware behaviour drive the `Router` in process with
//! `tower::ServiceExt::oneshot`.
//!
//! Tests that need a tool outside Rust (Chromium, Node) live in `tests/external`.
//!
//! All tests share one process: shared helpers (`common`) never rely on process-wide state
//! except the log capture, which is built to be shared (see `common::capture_logs`).

mod browser;
mod common;

mod abuse;
mod admin_page;
mod api_example;
mod backchannel_logout;
mod diagnose;
mod dpop;
mod dpop_binding;
mod faults;
mod fuzz_regressions;
mod fuzz_seeds;
mod hostile;
mod hostile_login;
mod htu_properties;
mod id_jag;
mod id_jag_app;
mod id_jag_endpoint;
mod introspection;
mod jwt_rules;
mod key_cache;
mod key_rotation;
mod layer;
mod login;
mod login_cookies;
mod login_csrf;
mod login_ended;
mod login_paths;
mod logout_app;
mod marker_flood;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "opentelemetry")]
mod otel;
mod pinned_keys;
mod pipeline;
mod private_key_jwt;
mod properties;
mod provider_urls;
mod rejection_log;
mod resource_metadata;
mod revocation_properties;
mod rp_logout;
mod ssf_properties;
mod ssf_receiver;
mod ssf_streams;
mod step_up;
mod token_cache;
mod universal_logout;
