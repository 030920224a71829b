//! Tests that need a tool outside Rust: Chromium (end to end through the `web_app` example, and
//! its admin page),
//! Node's `oidc-provider` and `oauth4webapi` (interop with a certified OpenID Provider and a
//! DPoP client), and `redis-server` (the revocation store shared by several instances, DPoP
//! single use across instances, the store over TLS).
//!
//! `harness = false`: a libtest-mimic binary that takes `cargo test`'s usual arguments. A test
//! whose tool is missing is reported `ignored` with the reason, and the run ends with a loud
//! `SKIPPED` banner on stderr; `OKTA_OIDC_REQUIRE_EXTERNAL=1` makes it fail instead (CI sets
//! it). See `harness`.
//!
//! To add a test: an `async fn` returning `Result<(), Failed>` in a module here, a `needs`
//! function built from [`harness::requires`] (add the tool to `harness` if it is new), and a
//! line in [`trials`].

mod admin_page;
#[cfg(feature = "redis")]
#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/api.rs"]
mod api_example;
#[path = "../it/common.rs"]
mod common;
mod dpop_interop;
#[cfg(feature = "redis")]
mod dpop_redis;
mod e2e;
mod harness;
mod interop;
#[path = "../it/logout_app.rs"]
mod logout_app;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "redis-cluster")]
mod redis_cluster;
#[cfg(feature = "redis")]
mod redis_common;
#[cfg(feature = "redis")]
mod redis_hostile;
#[cfg(feature = "redis")]
mod redis_logout;
#[cfg(feature = "redis")]
mod redis_sentinel;
mod redis_server;
#[cfg(feature = "redis-tls")]
mod redis_tls;
#[cfg(feature = "redis")]
mod ssf_redis;

use harness::trial;
use libtest_mimic::Trial;

/// Every external test, with what it needs.
fn trials() -> Vec<Trial> {
    let mut trials = vec![
        trial(
            "e2e::chromium_signs_in_through_the_web_app_example",
            e2e::needs,
            e2e::chromium_signs_in_through_the_web_app_example,
        ),
        trial(
            "e2e::chromium_signs_in_to_the_web_app_under_a_path",
            e2e::needs,
            e2e::chromium_signs_in_to_the_web_app_under_a_path,
        ),
        trial(
            "e2e::chromium_is_signed_out_when_okta_ends_the_session_over_ssf",
            e2e::needs_node,
            e2e::chromium_is_signed_out_when_okta_ends_the_session_over_ssf,
        ),
        trial(
            "admin_page::chromium_checks_tenants_on_the_admin_page",
            admin_page::needs,
            admin_page::chromium_checks_tenants_on_the_admin_page,
        ),
        trial(
            "interop::oidc_provider_login_userinfo_logout_and_key_rotation",
            interop::needs,
            interop::oidc_provider_login_userinfo_logout_and_key_rotation,
        ),
        trial(
            "dpop_interop::oidc_provider_dpop_tokens_with_oauth4webapi_proofs",
            dpop_interop::needs,
            dpop_interop::oidc_provider_dpop_tokens_with_oauth4webapi_proofs,
        ),
        trial(
            "interop::oidc_provider_backchannel_logout",
            interop::needs,
            interop::oidc_provider_backchannel_logout,
        ),
        trial(
            "interop::oidc_provider_step_up_acr_values_and_max_age",
            interop::needs,
            interop::oidc_provider_step_up_acr_values_and_max_age,
        ),
    ];
    trials.extend(redis_trials());
    trials
}

#[cfg(feature = "redis")]
fn redis_trials() -> Vec<Trial> {
    vec![
        trial(
            "redis::universal_logout_on_one_instance_holds_on_the_other",
            redis::needs,
            redis::universal_logout_on_one_instance_holds_on_the_other,
        ),
        trial(
            "redis::redis_outages_follow_the_documented_policy",
            redis::needs,
            redis::redis_outages_follow_the_documented_policy,
        ),
        trial(
            "redis_logout::a_logout_on_one_instance_refuses_its_id_token_on_the_other",
            redis_logout::needs,
            redis_logout::a_logout_on_one_instance_refuses_its_id_token_on_the_other,
        ),
        trial(
            "ssf_redis::an_okta_session_ended_in_the_mock_ends_the_app_session_on_both_instances",
            ssf_redis::needs,
            ssf_redis::an_okta_session_ended_in_the_mock_ends_the_app_session_on_both_instances,
        ),
        trial(
            "redis_hostile::a_cold_start_without_redis_refuses_older_identities_until_synced",
            redis::needs,
            redis_hostile::a_cold_start_without_redis_refuses_older_identities_until_synced,
        ),
        trial(
            "redis_sentinel::a_failover_loses_no_acknowledged_revocation",
            redis::needs,
            redis_sentinel::a_failover_loses_no_acknowledged_revocation,
        ),
        trial(
            "redis_sentinel::an_unreplicated_revocation_is_never_acknowledged",
            redis::needs,
            redis_sentinel::an_unreplicated_revocation_is_never_acknowledged,
        ),
        trial(
            "redis_sentinel::the_api_example_reads_sentinel_urls_and_replica_acks",
            redis::needs,
            redis_sentinel::the_api_example_reads_sentinel_urls_and_replica_acks,
        ),
        trial(
            "redis_hostile::every_key_in_redis_has_a_ttl",
            redis::needs,
            redis_hostile::every_key_in_redis_has_a_ttl,
        ),
        trial(
            "redis_hostile::an_allkeys_eviction_policy_is_reported",
            redis::needs,
            redis_hostile::an_allkeys_eviction_policy_is_reported,
        ),
        trial(
            "dpop_redis::a_proof_is_single_use_across_two_instances_sharing_redis",
            dpop_redis::needs,
            dpop_redis::a_proof_is_single_use_across_two_instances_sharing_redis,
        ),
        trial(
            "dpop_redis::the_api_examples_proofs_are_single_use_across_instances",
            dpop_redis::needs,
            dpop_redis::the_api_examples_proofs_are_single_use_across_instances,
        ),
        #[cfg(feature = "redis-cluster")]
        trial(
            "redis_cluster::two_instances_share_a_cluster_and_a_resharding_loses_nothing",
            redis::needs,
            redis_cluster::two_instances_share_a_cluster_and_a_resharding_loses_nothing,
        ),
        #[cfg(feature = "redis-tls")]
        trial(
            "redis_tls::instances_share_revocations_over_tls",
            redis_tls::needs,
            redis_tls::instances_share_revocations_over_tls,
        ),
    ]
}

/// Without the `redis` feature the Redis tests cannot be built: listed as skipped.
#[cfg(not(feature = "redis"))]
fn redis_trials() -> Vec<Trial> {
    fn needs() -> Option<String> {
        Some("built without the `redis` feature: run with --all-features".into())
    }
    async fn never() -> Result<(), libtest_mimic::Failed> {
        Ok(())
    }
    vec![trial("redis::*", needs, never)]
}

fn main() {
    // `RUST_LOG=okta_oidc=warn` shows the crate's own logs (why a store call failed, …).
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    harness::run(trials())
}
