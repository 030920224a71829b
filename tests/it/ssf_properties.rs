//! Property test (proptest) of the Shared Signals push endpoint with SETs the org really signed
//! but whose events say anything (CAEP 1.0 §3, SSF 1.0 §4.1.6, RFC 9493): any event types,
//! subjects of any shape in the event's `subject` or the SET's `sub_id`, any
//! `event_timestamp`, `change_type` and `credential_type`. The endpoint answers only `202` or
//! RFC 8935 §2.4's `400` (`invalid_request`, `access_denied`), never a `5xx`; `202` exactly
//! when every session-revoked or credential-change event names a user of the org (by `iss_sub`
//! with the org as `iss`, or by `email`; a credential change with its `change_type` and
//! `credential_type`), and a `400` records nothing.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use okta_oidc::store::{MemoryStore, RevocationStore};
use okta_oidc::testing::MockOkta;
use okta_oidc::{LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};

use crate::common::serve;
use crate::ssf_receiver::{CREDENTIAL_CHANGE, PUSH_AUTH, SESSION_REVOKED, push_set};

const CASES: u32 = 200;
const AUD: &str = "https://app.example.com";

/// A JSON value built from a few names and values a subject may hold, nested.
fn json_value(issuer: String) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("iss_sub".to_owned()),
            Just("email".to_owned()),
            Just("complex".to_owned()),
            Just("opaque".to_owned()),
            Just("a@example.com".to_owned()),
            Just("00u1mockuser".to_owned()),
            Just("https://other.example".to_owned()),
            Just(issuer),
            "[a-z@.:/]{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("format"),
                        Just("iss"),
                        Just("sub"),
                        Just("email"),
                        Just("user"),
                        Just("session"),
                        Just("id"),
                    ],
                    inner
                ),
                0..5
            )
            .prop_map(|members| {
                Value::Object(
                    members
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v))
                        .collect::<Map<_, _>>(),
                )
            }),
        ]
    })
}

/// An event: its type and its members.
fn event(issuer: String) -> impl Strategy<Value = (String, Value)> {
    let kind = prop_oneof![
        Just(SESSION_REVOKED.to_owned()),
        Just(CREDENTIAL_CHANGE.to_owned()),
        Just("https://schemas.openid.net/secevent/ssf/event-type/verification".to_owned()),
        "https://[a-z./-]{1,20}",
    ];
    // Valid subjects often enough that accepted revocations are tried too.
    let valid = json!({"format": "iss_sub", "iss": issuer, "sub": "00u1mockuser"});
    let subject = prop_oneof![
        json_value(issuer.clone()),
        Just(valid.clone()),
        Just(json!({"format": "complex", "user": valid.clone()})),
        Just(json!({"user": {"format": "email", "email": "a@example.com"}})),
    ];
    let members = (
        prop::option::of(subject),
        prop::option::of(prop_oneof![
            any::<i64>().prop_map(|n| json!(n)),
            Just(json!("now"))
        ]),
        prop::option::of(prop_oneof![
            Just(json!("update")),
            Just(json!("")),
            Just(json!(7))
        ]),
        prop::option::of(prop_oneof![Just(json!("password")), Just(json!(null))]),
        prop::option::of(prop_oneof![Just(json!("s1")), Just(json!(3))]),
    )
        .prop_map(|(subject, at, change, credential, state)| {
            let mut event = Map::new();
            let mut put = |name: &str, value: Option<Value>| {
                if let Some(value) = value {
                    event.insert(name.to_owned(), value);
                }
            };
            put("subject", subject);
            put("event_timestamp", at);
            put("change_type", change);
            put("credential_type", credential);
            put("state", state);
            Value::Object(event)
        });
    (kind, members)
}

/// Whether the endpoint may act on `subject` (as `ssf_event.rs` reads it) for the org `iss`.
fn names_a_user(subject: &Value, iss: &str) -> Option<bool> {
    let object = subject.as_object()?;
    let simple = match object.get("format").and_then(Value::as_str) {
        None | Some("complex") => object.get("user").filter(|u| u.get("user").is_none())?,
        Some(_) => subject,
    };
    let text = |name: &str| {
        simple
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    match simple.get("format").and_then(Value::as_str) {
        Some("iss_sub") => {
            let (i, _) = (text("iss")?, text("sub")?);
            Some(i == iss)
        }
        Some("email") => text("email").filter(|e| e.contains('@')).map(|_| true),
        _ => None,
    }
}

#[test]
fn ssf_signed_sets_with_any_events_get_202_exactly_when_each_names_a_user_else_400() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (mock, url, store) = runtime.block_on(async {
        let mock = MockOkta::start().await;
        let store = MemoryStore::new();
        let oidc = OktaOidc::builder()
            .allow_loopback_http(true)
            .tenant(Tenant::new("mock", mock.issuer()).client_id(mock.client_id()))
            .revocation_store(store.clone())
            .build()
            .await
            .unwrap();
        let config = LogoutEndpointsConfig::new(AUD).ssf_push_authorization(PUSH_AUTH);
        let endpoints = LogoutEndpoints::new(&oidc, config).unwrap();
        let base = serve(endpoints.router()).await;
        (mock, format!("{base}/auth/ssf/events"), store)
    });
    let issuer = mock.issuer();
    let strategy = (
        prop::collection::vec(event(issuer.clone()), 1..3),
        prop::option::of(json_value(issuer.clone())),
    );
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let seen = std::cell::Cell::new((0u32, 0u32));
    runner
        .run(&strategy, |(events, sub_id)| {
            let mut set = mock.session_revoked_event("00u1mockuser").claim("aud", AUD);
            let map: Map<String, Value> = events.iter().cloned().collect();
            set = set.claim("events", Value::Object(map.clone()));
            if let Some(sub_id) = &sub_id {
                set = set.claim("sub_id", sub_id.clone());
            }
            let set = set.build();
            let now =
                SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(1);
            let before = store.mirror().snapshot(now).len();
            let answer = runtime.block_on(push_set(&url, &set));
            let after = store.mirror().snapshot(now).len();
            prop_assert!(
                matches!(answer.status, 202 | 400),
                "status {} for {map:?}",
                answer.status
            );
            if answer.status == 400 {
                let err = answer.body["err"].as_str().unwrap_or_default();
                prop_assert!(matches!(err, "invalid_request" | "access_denied"), "{err}");
                prop_assert_eq!(after, before, "a refused SET recorded something");
            }
            // What the endpoint must act on: every revoking event names a user of the org.
            let acceptable = map.iter().all(|(kind, event)| {
                let change = kind == CREDENTIAL_CHANGE;
                if !change && kind != SESSION_REVOKED {
                    return true;
                }
                let text = |name: &str| {
                    event
                        .get(name)
                        .and_then(Value::as_str)
                        .is_some_and(|v| !v.is_empty())
                };
                let subject = event.get("subject").or(sub_id.as_ref());
                subject.and_then(|s| names_a_user(s, &issuer)) == Some(true)
                    && (!change || (text("change_type") && text("credential_type")))
            });
            prop_assert_eq!(answer.status == 202, acceptable, "{:?}", answer.body);
            let revoking = map.contains_key(SESSION_REVOKED) || map.contains_key(CREDENTIAL_CHANGE);
            let (accepted, refused) = seen.get();
            seen.set(match answer.status {
                202 if revoking => (accepted + 1, refused),
                400 => (accepted, refused + 1),
                _ => (accepted, refused),
            });
            Ok(())
        })
        .unwrap();
    // Not vacuous: revoking SETs were accepted, and others refused.
    let (accepted, refused) = seen.get();
    assert!(
        accepted > 10 && refused > 10,
        "accepted {accepted}, refused {refused}"
    );
}
