//! The metrics catalogue (`okta_oidc::telemetry::catalogue`), checked exactly: a debugging
//! recorder (`metrics-util`) set for this test's thread, a real app on 127.0.0.1 (the API behind
//! the session layer, the login routes, the logout endpoints), the real mock Okta, and traffic of
//! every kind. Names, labels and label values are public API: a change here is a breaking one.

use std::collections::BTreeMap;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use okta_oidc::telemetry::catalogue as names;
use okta_oidc::testing::{Endpoint, Fault};
use serde_json::json;

use crate::common::client;
use crate::logout_app::{Browser, Instance};

/// Every series: `name{label=value,…}` (labels sorted) → counter or gauge value, or a
/// histogram's number of observations.
fn series(snapshotter: &Snapshotter) -> BTreeMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(n) => n as f64,
                DebugValue::Gauge(g) => g.into_inner(),
                DebugValue::Histogram(h) => h.len() as f64,
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .collect()
}

/// A debugging recorder for this test's thread (leaked: it lives as long as the test binary).
fn recorder() -> (Snapshotter, metrics::LocalRecorderGuard<'static>) {
    let recorder: &'static DebuggingRecorder = Box::leak(Box::new(DebuggingRecorder::new()));
    (
        recorder.snapshotter(),
        metrics::set_default_local_recorder(recorder),
    )
}

/// The app, with the `tenant` label and no background key refresh (its counts are exact).
async fn labelled_app(mock: &okta_oidc::testing::MockOkta) -> Instance {
    Instance::start(mock, |b| {
        b.metrics_tenant_label(true).background_refresh(false)
    })
    .await
}

fn requests(outcome: &str, scheme: &str, reason: &str, tenant: &str) -> String {
    format!(
        "okta_oidc_requests_total{{outcome={outcome},reason={reason},scheme={scheme},tenant={tenant}}}"
    )
}

#[tokio::test]
async fn every_counter_and_label_value_is_exact() {
    let (snapshotter, _guard) = recorder();

    let mock = okta_oidc::testing::MockOkta::start().await;
    let app = labelled_app(&mock).await;

    // Accepted: one verification, then two answers from the verified-token cache.
    let token = mock.access_token().build();
    for _ in 0..3 {
        assert_eq!(app.bearer_status(&token).await, 200);
    }
    // Rejected, one per reason. With one registered tenant, a refusal is that tenant's
    // (as the rejection log says); an issuer no tenant has is nobody's.
    let no_credential = client()
        .get(format!("{}/api/me", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_credential.status(), 401);
    let mut forged = mock.access_token().build();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    assert_eq!(app.bearer_status(&forged).await, 401);
    let expired = mock.access_token().expires_in(-3600).build();
    assert_eq!(app.bearer_status(&expired).await, 401);
    let stranger = mock
        .access_token()
        .claim("iss", "https://stranger.example.com")
        .build();
    assert_eq!(app.bearer_status(&stranger).await, 401);
    let other_api = mock.access_token().claim("aud", "api://other").build();
    assert_eq!(app.bearer_status(&other_api).await, 401);
    assert_eq!(app.bearer_status("a.b.c").await, 401);
    let hmac = mock.access_token().sign_with_hmac(b"not a key").build();
    assert_eq!(app.bearer_status(&hmac).await, 401);
    let early = mock
        .access_token()
        .claim("nbf", crate::common::now() + 3600)
        .build();
    assert_eq!(app.bearer_status(&early).await, 401);
    assert_eq!(app.bearer_status(&"x".repeat(20_000)).await, 401);

    // Introspection: active, inactive, then the endpoint failing (503, unavailable).
    let opaque = mock.opaque_token(json!({"scope": "openid"}));
    assert_eq!(app.bearer_status(&opaque).await, 200);
    let revoked = mock.opaque_token(json!({"scope": "openid"}));
    assert!(mock.revoke_token(&revoked));
    assert_eq!(app.bearer_status(&revoked).await, 401);
    mock.set_fault(Endpoint::Introspect, Fault::Status(500));
    let unlucky = mock.opaque_token(json!({"scope": "openid"}));
    assert_eq!(app.bearer_status(&unlucky).await, 503);
    mock.clear_fault(Endpoint::Introspect);

    // Sign-in: one started and completed, then a session request; a callback with no login.
    let mut browser = Browser::new(&app);
    browser.login().await;
    assert_eq!(browser.me().await, 200);
    let stray = browser.get("/auth/callback?state=nothing&code=abc").await;
    assert_eq!(stray.status(), 400);

    // A key refresh with new keys, then one with the same keys.
    mock.rotate_keys();
    app.oidc.refresh_keys("mock").await.unwrap();
    app.oidc.refresh_keys("mock").await.unwrap();

    // Universal Logout of the signed-in user: one revocation; the session is refused since.
    let status = mock
        .universal_logout(&app.universal(), mock.iss_sub("00u1mockuser"))
        .await;
    assert_eq!(status, 204);
    assert_eq!(browser.me().await, 401);
    // The user's bearer token too, from the verified-token cache.
    assert_eq!(app.bearer_status(&token).await, 401);

    let all = series(&snapshotter);
    let issuer_host = mock.issuer().trim_start_matches("http://").to_owned();
    let mut expected: BTreeMap<String, f64> = [
        (requests("accepted", "bearer", "ok", "mock"), 4.0),
        (requests("rejected", "none", "missing", "mock"), 1.0),
        (requests("rejected", "bearer", "signature", "mock"), 1.0),
        (requests("rejected", "bearer", "expired", "mock"), 1.0),
        (requests("rejected", "bearer", "issuer", ""), 1.0),
        (requests("rejected", "bearer", "audience", "mock"), 1.0),
        (requests("rejected", "bearer", "malformed", "mock"), 1.0),
        (requests("rejected", "bearer", "algorithm", "mock"), 1.0),
        (requests("rejected", "bearer", "not_yet_valid", "mock"), 1.0),
        (requests("rejected", "bearer", "too_large", "mock"), 1.0),
        (requests("rejected", "bearer", "revoked", "mock"), 1.0),
        (requests("rejected", "bearer", "inactive", "mock"), 1.0),
        (
            requests("unavailable", "bearer", "unavailable", "mock"),
            1.0,
        ),
        (requests("accepted", "session", "ok", "mock"), 1.0),
        (requests("rejected", "session", "revoked", "mock"), 1.0),
        (
            "okta_oidc_introspection_calls_total{result=active,tenant=mock}".into(),
            1.0,
        ),
        (
            "okta_oidc_introspection_calls_total{result=inactive,tenant=mock}".into(),
            1.0,
        ),
        (
            "okta_oidc_introspection_calls_total{result=error,tenant=mock}".into(),
            1.0,
        ),
        (
            format!(
                "okta_oidc_key_set_refreshes_total{{issuer_host={issuer_host},result=updated}}"
            ),
            2.0,
        ),
        (
            format!(
                "okta_oidc_key_set_refreshes_total{{issuer_host={issuer_host},result=unchanged}}"
            ),
            1.0,
        ),
        (
            "okta_oidc_logins_total{reason=ok,result=started}".into(),
            1.0,
        ),
        (
            "okta_oidc_logins_total{reason=ok,result=completed}".into(),
            1.0,
        ),
        (
            "okta_oidc_logins_total{reason=state,result=failed}".into(),
            1.0,
        ),
        (
            "okta_oidc_revocations_total{source=universal_logout}".into(),
            1.0,
        ),
        ("okta_oidc_revocation_store_connected{}".into(), 1.0),
        ("okta_oidc_revocation_mirror_entries{}".into(), 1.0),
        ("okta_oidc_tenants{source=registered}".into(), 1.0),
        ("okta_oidc_tenants{source=loaded}".into(), 0.0),
    ]
    .into_iter()
    .collect();
    // Every request but the two cache hits was timed (sixteen); one hit in 64 is (this
    // thread's turn decides whether one of the two was).
    let misses = "okta_oidc_verification_duration_seconds{cache=miss}".to_owned();
    expected.insert(misses.clone(), 16.0);
    let hits = all
        .get("okta_oidc_verification_duration_seconds{cache=hit}")
        .copied()
        .unwrap_or(0.0);
    assert!(hits <= 2.0, "{hits} timed hits of 2");
    // The key set's age: fetched a moment ago (the live gauge: `key_set_age_is_live`).
    let age_key = format!("okta_oidc_key_set_age_seconds{{issuer_host={issuer_host}}}");
    assert!(all[&age_key] < 5.0, "{}", all[&age_key]);
    let mut seen = all.clone();
    seen.remove("okta_oidc_verification_duration_seconds{cache=hit}");
    seen.remove(&age_key);
    assert_eq!(
        seen, expected,
        "the series differ: left is what was recorded"
    );
    // Only catalogue names, and every label value from its closed set.
    for key in all.keys() {
        let name = key.split('{').next().unwrap();
        assert!(
            names::NAMES.contains(&name),
            "{name} is not in the catalogue"
        );
    }
}

/// 10,000 tokens naming random issuers, random opaque values and junk do not add one time
/// series: every label value comes from the catalogue or the registered tenants.
#[tokio::test]
async fn random_issuers_and_tokens_do_not_grow_the_series() {
    let (snapshotter, _guard) = recorder();
    let mock = okta_oidc::testing::MockOkta::start().await;
    let app = labelled_app(&mock).await;
    let http = client();
    let url = format!("{}/api/me", app.base);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let send = async |i: usize, value: u64| {
        let token = match i % 3 {
            0 => mock
                .access_token()
                .claim("iss", format!("https://org{value:x}.okta.com"))
                .build(),
            1 => format!("opaque{value:032x}"),
            _ => format!("{value:x}.{value:x}.{value:x}"),
        };
        let status = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status();
        assert!(matches!(status.as_u16(), 401 | 503), "{status}");
    };
    for i in 0..300 {
        send(i, random()).await;
    }
    let after_warm_up: Vec<String> = series(&snapshotter).into_keys().collect();
    for i in 300..10_000 {
        send(i, random()).await;
    }
    let after: Vec<String> = series(&snapshotter).into_keys().collect();
    assert_eq!(
        after, after_warm_up,
        "no new series after 9,700 more requests"
    );
    assert!(after.len() < 20, "{after:#?}");
}

/// The Grafana dashboard (`dashboards/okta-oidc.json`) queries only the catalogue's names,
/// and every one of them.
#[test]
fn the_dashboard_is_built_from_the_catalogue() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/dashboards/okta-oidc.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut used = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("okta_oidc_") {
                    let name = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|suffix| word.strip_suffix(suffix))
                        .unwrap_or(word);
                    assert!(
                        names::NAMES.contains(&name),
                        "{name} is not in the catalogue"
                    );
                    used.insert(name.to_owned());
                }
            }
        }
    }
    for name in names::NAMES {
        assert!(used.contains(*name), "the dashboard does not show {name}");
    }
}

/// `okta_oidc_key_set_age_seconds` is the age of the set in use whenever a token is verified
/// against it (not only at refreshes): a stale key set shows while traffic flows.
#[tokio::test]
async fn key_set_age_is_live() {
    let (snapshotter, _guard) = recorder();
    let (stack, clock) =
        crate::common::clocked_stack(okta_oidc::testing::MockOkta::start().await, |b| {
            b.background_refresh(false)
        })
        .await;
    let key = format!(
        "okta_oidc_key_set_age_seconds{{issuer_host={}}}",
        stack.mock.issuer().trim_start_matches("http://")
    );
    assert_eq!(stack.status(&stack.mock.access_token().build()).await, 200);
    assert_eq!(series(&snapshotter)[&key], 0.0);
    clock.advance(std::time::Duration::from_secs(600));
    assert_eq!(stack.status(&stack.mock.access_token().build()).await, 200);
    assert_eq!(series(&snapshotter)[&key], 600.0);
}

/// Shared Signals events accepted are counted by event, and the revocations they record by
/// their source.
#[tokio::test]
async fn security_events_and_their_revocations_are_counted() {
    use crate::ssf_receiver::{PUSH_AUTH, receiver};
    let (snapshotter, _guard) = recorder();
    let mock = okta_oidc::testing::MockOkta::start().await;
    let app =
        Instance::start_with_endpoints(&mock, |b| b.background_refresh(false), receiver).await;
    app.create_ssf_stream(&mock, PUSH_AUTH).await;
    assert_eq!(mock.end_okta_session_ssf("00u1mockuser").await, 202);
    let all = series(&snapshotter);
    assert_eq!(
        all.get("okta_oidc_security_events_total{event=session_revoked}"),
        Some(&1.0),
        "{all:#?}"
    );
    assert_eq!(
        all.get("okta_oidc_revocations_total{source=shared_signals}"),
        Some(&1.0),
        "{all:#?}"
    );
    for key in all
        .keys()
        .filter(|k| k.starts_with("okta_oidc_security_events_total"))
    {
        let event = key.split("event=").nth(1).unwrap().trim_end_matches('}');
        assert!(names::SECURITY_EVENTS.contains(&event), "{key}");
    }
}
