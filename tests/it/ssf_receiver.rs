//! The Shared Signals receiver over real HTTP: the push endpoint (RFC 8935 §2) fed by the mock
//! Okta as an SSF transmitter (OpenID SSF 1.0, CAEP 1.0, Okta's "SSF Transmitter" API), every
//! answer with signed and forged Security Event Tokens (RFC 8417), and its effect on sessions
//! and tokens. Stream management and the tenants of an org: `ssf_streams.rs`; two instances
//! sharing Redis: tests/external/ssf_redis.rs; Chromium: tests/external/e2e.rs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use okta_oidc::store::{
    MemoryStore, Revocation, RevocationMirror, RevocationStore, StoreError, StoreFuture,
};
use okta_oidc::testing::MockOkta;
use okta_oidc::{LogoutEndpointsConfig, OnCredentialChange};
use serde_json::{Value, json};

use crate::common::{capture_logs, client, now};
use crate::logout_app::{Browser, Instance};
use crate::universal_logout::BrokenStore;

/// The stream's `authorization_header` (what the app chose, and configures).
pub const PUSH_AUTH: &str = "Bearer ssf-push-secret-0123456789";
pub const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
pub const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";

pub fn receiver(config: LogoutEndpointsConfig) -> LogoutEndpointsConfig {
    config.ssf_push_authorization(PUSH_AUTH)
}

/// An instance with the receiver, and a stream at the mock pushing to it.
async fn app_with_stream(mock: &MockOkta) -> Instance {
    let app = Instance::start_with_endpoints(mock, |b| b, receiver).await;
    create_stream(mock, &app).await;
    app
}

async fn create_stream(mock: &MockOkta, app: &Instance) {
    app.create_ssf_stream(mock, PUSH_AUTH).await;
}

/// What the endpoint answered: status, JSON body (`Null` when none), `Cache-Control`.
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub cache_control: String,
}

async fn push(url: &str, auth: Option<&str>, content_type: &str, body: &str) -> Answer {
    let mut request = client()
        .post(url)
        .header("content-type", content_type)
        .body(body.to_owned());
    if let Some(auth) = auth {
        request = request.header("authorization", auth);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let cache_control = response
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = response.bytes().await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        cache_control,
    }
}

pub async fn push_set(url: &str, set: &str) -> Answer {
    push(url, Some(PUSH_AUTH), "application/secevent+jwt", set).await
}

#[tokio::test]
async fn ssf_push_rfc_8935_every_answer_with_signed_and_forged_sets() {
    let mock = MockOkta::start().await;
    let other_org = MockOkta::start().await;
    let app = app_with_stream(&mock).await;
    let url = app.endpoints.ssf_events_url().unwrap().to_owned();
    let revoked = || mock.session_revoked_event("00u1mockuser");
    let logs = capture_logs();

    // 202 (RFC 8935 §2.2): signed as Okta signs; a user with no session; credential change;
    // an event type nobody asked for (ignored, counted); several events in one SET.
    let ok = push_set(&url, &revoked().build()).await;
    assert_eq!((ok.status, ok.cache_control.as_str()), (202, "no-store"));
    let nobody = mock.session_revoked_event("00uNOSESSION").build();
    assert_eq!(push_set(&url, &nobody).await.status, 202);
    let changed = mock.credential_change_event("00u1mockuser").build();
    assert_eq!(push_set(&url, &changed).await.status, 202);
    let other_event = mock
        .security_event(
            "https://schemas.openid.net/secevent/caep/event-type/token-claims-change",
            json!({"subject": {"user": mock.iss_sub("00u1mockuser")}}),
        )
        .build();
    assert_eq!(push_set(&url, &other_event).await.status, 202);
    let two = revoked()
        .claim(
            "events",
            json!({
                SESSION_REVOKED: {"subject": {"user": mock.iss_sub("00u1")}},
                CREDENTIAL_CHANGE: {"subject": {"user": mock.email_subject("a@example.com")},
                                    "change_type": "update", "credential_type": "fido2-roaming"},
            }),
        )
        .build();
    assert_eq!(push_set(&url, &two).await.status, 202);
    // SSF 1.0 §4.1.6: the subject in the SET's top-level sub_id.
    let top_level = revoked()
        .claim("sub_id", mock.iss_sub("00u1mockuser"))
        .claim("events", json!({ SESSION_REVOKED: {} }))
        .build();
    assert_eq!(push_set(&url, &top_level).await.status, 202);
    let counts = app.endpoints.ssf_event_counts();
    assert_eq!(
        (
            counts.session_revoked,
            counts.credential_change,
            counts.ignored
        ),
        (4, 2, 1)
    );

    // 401 (RFC 8935 §2.3): no, wrong, partial or doubled Authorization; nothing is parsed.
    let set = revoked().build();
    for auth in [
        None,
        Some("Bearer wrong"),
        Some("ssf-push-secret-0123456789"),
        Some("Bearer ssf-push-secret-012345678"),
        Some("bearer ssf-push-secret-0123456789"),
    ] {
        let answer = push(&url, auth, "application/secevent+jwt", &set).await;
        assert_eq!(answer.status, 401, "{auth:?}");
        assert_eq!(answer.cache_control, "no-store");
    }
    let doubled = client()
        .post(&url)
        .header("content-type", "application/secevent+jwt")
        .header("authorization", PUSH_AUTH)
        .header("authorization", "Bearer wrong")
        .body(set.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(doubled.status(), 401);

    // 400 with RFC 8935 §2.4's {"err", "description"}.
    let forged = |name: &'static str, set: String, err: &'static str| (name, set, err);
    let cases = vec![
        forged("wrong typ (RFC 8417 §2.3)", revoked().header("typ", "JWT").build(), "invalid_request"),
        forged("no typ", revoked().without_header("typ").build(), "invalid_request"),
        forged("logout token typ", revoked().header("typ", "logout+jwt").build(), "invalid_request"),
        forged("no jti", revoked().without_claim("jti").build(), "invalid_request"),
        forged("no iat", revoked().without_claim("iat").build(), "invalid_request"),
        forged("stale iat (over an hour)", revoked().claim("iat", now() - 3600 - 300).build(), "invalid_request"),
        forged("iat in the future", revoked().claim("iat", now() + 600).build(), "invalid_request"),
        forged("exp passed", revoked().claim("exp", now() - 600).build(), "invalid_request"),
        forged("no events", revoked().without_claim("events").build(), "invalid_request"),
        forged("empty events", revoked().claim("events", json!({})).build(), "invalid_request"),
        forged(
            "unknown subject format (RFC 9493 opaque)",
            revoked().claim("events", json!({SESSION_REVOKED: {"subject": {"format": "opaque", "id": "x"}}})).build(),
            "invalid_request",
        ),
        forged(
            "no subject",
            revoked().claim("events", json!({SESSION_REVOKED: {"event_timestamp": now()}})).build(),
            "invalid_request",
        ),
        forged(
            "credential change without change_type (CAEP 1.0 §3.3)",
            revoked().claim("events", json!({CREDENTIAL_CHANGE: {"subject": {"user": mock.iss_sub("00u1")}, "credential_type": "password"}})).build(),
            "invalid_request",
        ),
        forged("wrong aud", revoked().claim("aud", "https://evil.example").build(), "invalid_audience"),
        forged(
            "another org's key",
            other_org.session_revoked_event("00u1mockuser").claim("iss", mock.issuer()).claim("aud", app.base.clone()).build(),
            "invalid_key",
        ),
        forged("bad signature", revoked().signature("AAAA").build(), "invalid_key"),
        forged("HS256", revoked().sign_with_hmac(b"mock-client-secret").build(), "invalid_key"),
        forged(
            "another org's SET (unknown issuer)",
            other_org.session_revoked_event("00u1mockuser").claim("aud", app.base.clone()).build(),
            "invalid_issuer",
        ),
        forged(
            "subject of another tenant",
            revoked().claim("events", json!({SESSION_REVOKED: {"subject": {"user": other_org.iss_sub("00u1mockuser")}}})).build(),
            "access_denied",
        ),
    ];
    for (name, set, err) in cases {
        let answer = push_set(&url, &set).await;
        assert_eq!(answer.status, 400, "{name}");
        assert_eq!(answer.body["err"], err, "{name}: {:?}", answer.body);
        assert!(answer.body["description"].is_string(), "{name}");
        assert_eq!(answer.cache_control, "no-store", "{name}");
    }
    // A replayed jti: accepted once, refused after (single use across instances: see
    // tests/external/ssf_redis.rs).
    let set = revoked().build();
    assert_eq!(push_set(&url, &set).await.status, 202);
    let replay = push_set(&url, &set).await;
    assert_eq!(
        (replay.status, &replay.body["err"]),
        (400, &json!("invalid_request"))
    );
    // Not a SET at all: wrong media type, empty body.
    let wrong_type = push(&url, Some(PUSH_AUTH), "application/jwt", &revoked().build()).await;
    assert_eq!(
        (wrong_type.status, &wrong_type.body["err"]),
        (400, &json!("invalid_request"))
    );
    let empty = push(&url, Some(PUSH_AUTH), "application/secevent+jwt", "").await;
    assert_eq!(
        (empty.status, &empty.body["err"]),
        (400, &json!("invalid_request"))
    );
    // 405: another method.
    let get = client().get(&url).send().await.unwrap();
    assert_eq!(get.status(), 405);

    // Every refusal has its INFO line with a reason (rate-limited); no token, no Authorization
    // value.
    let text = logs.text();
    assert!(text.contains("security event refused"), "{text}");
    assert!(text.contains("missing or wrong Authorization"), "{text}");
    // One line per reason a minute: the six bad Authorization headers made one line.
    assert_eq!(
        text.matches("missing or wrong Authorization").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("err=\"invalid_audience\"") || text.contains("err=invalid_audience"),
        "{text}"
    );
    assert!(!text.contains("ssf-push-secret"), "{text}");
    assert!(!text.contains(&set[..40]), "a SET in the logs");
}

#[tokio::test]
async fn ssf_session_revoked_caep_3_1_ends_sessions_and_tokens_issued_before_the_event() {
    let mock = MockOkta::start().await;
    let app = app_with_stream(&mock).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    assert_eq!(browser.me().await, 200);
    let id_token = mock.id_token().issued_at(now() - 60).build();
    let after_event = mock.id_token().issued_at(now() - 20).build();
    let someone_else = mock
        .id_token()
        .claim("sub", "00uSOMEONEELSE")
        .claim("email", "else@example.com")
        .issued_at(now() - 60)
        .build();
    for token in [&id_token, &after_event, &someone_else] {
        assert_eq!(app.bearer_status(token).await, 200);
    }

    // An event of 30 s ago (its event_timestamp), pushed now: tokens issued before it are
    // refused, one of the same user issued after it is not, nor another user's.
    let url = app.endpoints.ssf_events_url().unwrap().to_owned();
    let set = mock
        .session_revoked_event("00u1mockuser")
        .claim(
            "events",
            json!({SESSION_REVOKED: {"subject": {"user": mock.iss_sub("00u1mockuser")},
                                     "event_timestamp": now() - 30}}),
        )
        .build();
    assert_eq!(push_set(&url, &set).await.status, 202);
    assert_eq!(app.bearer_status(&id_token).await, 401);
    assert_eq!(app.bearer_status(&after_event).await, 200);
    assert_eq!(app.bearer_status(&someone_else).await, 200);
    // The session started after that event: still on. Okta ends the user's session now.
    assert_eq!(browser.me().await, 200);
    assert_eq!(mock.end_okta_session_ssf("00u1mockuser").await, 202);
    assert_eq!(browser.me().await, 401);
    assert_eq!(app.bearer_status(&after_event).await, 401);
    assert_eq!(app.bearer_status(&someone_else).await, 200);
    // A new sign-in works.
    let mut again = Browser::new(&app);
    again.login().await;
    assert_eq!(again.me().await, 200);
}

#[tokio::test]
async fn ssf_credential_change_caep_3_3_revokes_by_default_or_only_records() {
    let mock = MockOkta::start().await;
    let app = app_with_stream(&mock).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    assert_eq!(mock.reset_password_ssf("00u1mockuser").await, 202);
    assert_eq!(browser.me().await, 401);

    let mock = MockOkta::start().await;
    let app = Instance::start_with_endpoints(
        &mock,
        |b| b,
        |c| receiver(c).on_credential_change(OnCredentialChange::Record),
    )
    .await;
    create_stream(&mock, &app).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    let logs = capture_logs();
    assert_eq!(mock.reset_password_ssf("00u1mockuser").await, 202);
    assert_eq!(browser.me().await, 200);
    assert_eq!(app.endpoints.ssf_event_counts().credential_change, 1);
    let text = logs.text();
    assert!(
        text.contains("credential change") && text.contains("password"),
        "{text}"
    );
}

/// A store whose revocations fail until `heal` is called (Redis away, then back).
struct FlakyStore {
    inner: MemoryStore,
    down: Arc<AtomicBool>,
}

impl RevocationStore for FlakyStore {
    fn mirror(&self) -> &RevocationMirror {
        self.inner.mirror()
    }
    fn record<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, ()> {
        if self.down.load(Ordering::SeqCst) {
            return Box::pin(async { Err(StoreError::Unavailable("test: store down".into())) });
        }
        self.inner.record(revocation)
    }
    fn mark_used<'a>(
        &'a self,
        kind: &'a str,
        key: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        self.inner.mark_used(kind, key, ttl)
    }
}

#[tokio::test]
async fn ssf_a_store_that_cannot_record_gets_503_and_the_transmitters_retry_is_not_a_replay() {
    let mock = MockOkta::start().await;
    let down = Arc::new(AtomicBool::new(true));
    let store = FlakyStore {
        inner: MemoryStore::new(),
        down: Arc::clone(&down),
    };
    let app = Instance::start_with_endpoints(&mock, |b| b.revocation_store(store), receiver).await;
    create_stream(&mock, &app).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    let url = app.endpoints.ssf_events_url().unwrap().to_owned();
    let set = mock.session_revoked_event("00u1mockuser").build();
    // RFC 8935 §2.4: a 5xx, so that Okta sends the same SET again.
    let answer = push_set(&url, &set).await;
    assert_eq!(
        (answer.status, answer.cache_control.as_str()),
        (503, "no-store")
    );
    assert_eq!(browser.me().await, 200);
    // The store is back: the same SET (same jti) is taken, not refused as a replay ...
    down.store(false, Ordering::SeqCst);
    assert_eq!(push_set(&url, &set).await.status, 202);
    assert_eq!(browser.me().await, 401);
    assert_eq!(app.endpoints.ssf_event_counts().session_revoked, 1);
    // ... and once taken, it is one.
    let replay = push_set(&url, &set).await;
    assert_eq!(
        (replay.status, &replay.body["err"]),
        (400, &json!("invalid_request"))
    );
    // Nothing but revocations can fail that way: a store that never records gets 503 always.
    let mock = MockOkta::start().await;
    let app = Instance::start_with_endpoints(
        &mock,
        |b| b.revocation_store(BrokenStore(MemoryStore::new())),
        receiver,
    )
    .await;
    create_stream(&mock, &app).await;
    assert_eq!(mock.end_okta_session_ssf("00u1mockuser").await, 503);
}

#[tokio::test]
async fn ssf_the_push_authorization_never_shows_in_debug_output() {
    let mock = MockOkta::start().await;
    let config = receiver(LogoutEndpointsConfig::new("https://app.example.com"));
    assert!(
        !format!("{config:?}").contains("ssf-push-secret"),
        "{config:?}"
    );
    let app = Instance::start_with_endpoints(&mock, |b| b, receiver).await;
    let shown = format!("{:?}", app.endpoints);
    assert!(!shown.contains("ssf-push-secret"), "{shown}");
    assert!(shown.contains("/auth/ssf/events"), "{shown}");
    let transmitter = app.ssf_transmitter(&mock).await;
    let shown = format!("{transmitter:?}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
}
