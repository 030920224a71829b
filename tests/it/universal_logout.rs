//! Okta's Universal Logout (OIN; a global token revocation request,
//! draft-parecki-oauth-global-token-revocation §3) over real HTTP: every answer of the endpoint
//! with requests signed by the mock Okta and forged ones, and its effect on every kind of
//! credential (see shared/reference/okta-universal-logout.md).

use std::time::Duration;

use okta_oidc::store::{
    MemoryStore, Revocation, RevocationMirror, RevocationStore, StoreError, StoreFuture,
};
use okta_oidc::testing::MockOkta;
use serde_json::json;

use crate::common::{client, now};
use crate::logout_app::{Browser, Instance};

/// A store that records nothing: every revocation fails (an unreachable Redis).
pub struct BrokenStore(pub MemoryStore);

impl RevocationStore for BrokenStore {
    fn mirror(&self) -> &RevocationMirror {
        self.0.mirror()
    }
    fn record<'a>(&'a self, _: &'a Revocation) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::Unavailable("test: store down".into())) })
    }
    fn mark_used<'a>(
        &'a self,
        kind: &'a str,
        key: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        self.0.mark_used(kind, key, ttl)
    }
}

#[tokio::test]
async fn every_answer_with_signed_and_forged_requests() {
    let mock = MockOkta::start().await;
    let other_org = MockOkta::start().await;
    let app = Instance::start(&mock, |b| b).await;
    let url = app.universal();
    let user = json!({"sub_id": mock.iss_sub("00u1mockuser")}).to_string();
    let send = |token: Option<String>, body: String| {
        let (mock, url) = (mock.clone(), url.clone());
        async move {
            mock.send_universal_logout(&url, token.as_deref(), &body)
                .await
        }
    };

    // 204: signed as Okta signs, by id and by email; again (idempotent); a user with no session.
    assert_eq!(
        mock.universal_logout(&url, mock.iss_sub("00u1mockuser"))
            .await,
        204
    );
    assert_eq!(
        mock.universal_logout(&url, mock.email_subject("Mock.User@example.com"))
            .await,
        204
    );
    assert_eq!(
        mock.universal_logout(&url, mock.iss_sub("00u1mockuser"))
            .await,
        204
    );
    assert_eq!(
        mock.universal_logout(&url, mock.iss_sub("00uNOSESSION"))
            .await,
        204
    );
    // The older property name `subject` is accepted too.
    let token = mock.global_token_revocation_token(&url).build();
    let older = json!({"subject": mock.email_subject("a@example.com")}).to_string();
    assert_eq!(send(Some(token), older).await, 204);

    // 401: missing or invalid token (the Okta docs' "missing or invalid authentication").
    assert_eq!(send(None, user.clone()).await, 401);
    let forged = |name: &str, token: String| (name.to_owned(), token);
    let gtr = || mock.global_token_revocation_token(&url);
    let cases = vec![
        forged("wrong typ", gtr().header("typ", "JWT").build()),
        forged("no typ", gtr().without_header("typ").build()),
        forged("access token typ", gtr().header("typ", "at+jwt").build()),
        forged(
            "wrong aud",
            gtr()
                .claim("aud", "https://evil.example/auth/global-token-revocation")
                .build(),
        ),
        forged(
            "aud with a query",
            gtr().claim("aud", format!("{url}?x=1")).build(),
        ),
        forged(
            "aud list",
            gtr()
                .claim("aud", [url.as_str(), "https://other.example"])
                .build(),
        ),
        forged(
            "wrong sub (another client)",
            gtr().claim("sub", "0oaSOMEONEELSE").build(),
        ),
        forged(
            "another tenant's key",
            other_org
                .global_token_revocation_token(&url)
                .claim("iss", mock.issuer())
                .claim("sub", mock.client_id())
                .build(),
        ),
        forged(
            "unknown issuer",
            other_org.global_token_revocation_token(&url).build(),
        ),
        forged("bad signature", gtr().signature("AAAA").build()),
        forged("HS256", gtr().sign_with_hmac(b"mock-client-secret").build()),
        forged(
            "expired",
            gtr()
                .claim("iat", now() - 900)
                .claim("nbf", now() - 900)
                .claim("exp", now() - 300)
                .build(),
        ),
        forged("not yet valid", gtr().claim("nbf", now() + 600).build()),
        forged(
            "issued in the future",
            gtr().claim("iat", now() + 600).build(),
        ),
        forged("no exp", gtr().without_claim("exp").build()),
        forged("no jti", gtr().without_claim("jti").build()),
    ];
    for (name, token) in cases {
        assert_eq!(send(Some(token), user.clone()).await, 401, "{name}");
    }
    // A replayed jti: accepted once, refused after (single use across instances: see
    // tests/external/redis.rs).
    let token = gtr().build();
    assert_eq!(send(Some(token.clone()), user.clone()).await, 204);
    assert_eq!(send(Some(token), user.clone()).await, 401, "replayed jti");

    // 400: malformed body, unsupported subject format.
    for body in [
        "",
        "not json",
        "{}",
        r#"{"sub_id": "00u1mockuser"}"#,
        r#"{"sub_id": {"format": "opaque", "id": "x"}}"#,
        r#"{"sub_id": {"format": "phone_number", "phone_number": "+1"}}"#,
        r#"{"sub_id": {"format": "email"}}"#,
        r#"{"sub_id": {"format": "email", "email": "not-an-email"}}"#,
        r#"{"sub_id": {"format": "iss_sub", "iss": "x"}}"#,
    ] {
        assert_eq!(
            send(Some(gtr().build()), body.to_owned()).await,
            400,
            "{body}"
        );
    }

    // 403: a valid request about a user of another issuer.
    let elsewhere = json!({"sub_id": other_org.iss_sub("00u1mockuser")}).to_string();
    assert_eq!(send(Some(gtr().build()), elsewhere).await, 403);

    // 405: another method.
    let get = client().get(&url).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "POST");
}

#[tokio::test]
async fn a_store_that_cannot_record_gets_503_never_204() {
    let mock = MockOkta::start().await;
    let app = Instance::start(&mock, |b| {
        b.revocation_store(BrokenStore(MemoryStore::new()))
    })
    .await;
    let response_status = mock
        .universal_logout(&app.universal(), mock.iss_sub("00u1mockuser"))
        .await;
    assert_eq!(response_status, 503);
    let token = mock.logout_token().build();
    assert_eq!(
        mock.backchannel_logout(&app.backchannel(), &token).await,
        503
    );
}

#[tokio::test]
async fn signs_out_sessions_id_tokens_and_introspected_tokens_issued_before() {
    let mock = MockOkta::start().await;
    let app = Instance::start(&mock, |b| b).await;
    let mut browser = Browser::new(&app);
    browser.login().await;
    assert_eq!(browser.me().await, 200);
    let before = now() - 5;
    let id_token = mock.id_token().issued_at(before).build();
    let access_token = mock.access_token().issued_at(before).build();
    let opaque = mock.opaque_token(json!({"iat": before}));
    let someone_else = mock
        .id_token()
        .claim("sub", "00uSOMEONEELSE")
        .claim("email", "else@example.com")
        .issued_at(before)
        .build();
    // Validated once each: the verified-token cache and the introspection cache hold them.
    for token in [&id_token, &access_token, &opaque, &someone_else] {
        assert_eq!(app.bearer_status(token).await, 200);
    }

    assert_eq!(
        mock.universal_logout(&app.universal(), mock.iss_sub("00u1mockuser"))
            .await,
        204
    );

    // Refused: the session (a page asks to sign in again), the cached ID token, the access
    // token (by `uid`), the introspected token (its cached answer too).
    assert_eq!(browser.me().await, 401);
    let profile = browser.get("/profile").await;
    assert_eq!(profile.status(), 302);
    assert!(crate::common::location(&profile).starts_with("/auth/login"));
    assert_eq!(app.bearer_status(&id_token).await, 401);
    assert_eq!(app.bearer_status(&access_token).await, 401);
    assert_eq!(app.bearer_status(&opaque).await, 401);
    // Another user of the same tenant is untouched.
    assert_eq!(app.bearer_status(&someone_else).await, 200);
    // Issued after the revocation: accepted (a token of the revocation's own second is not).
    let later = mock.id_token().issued_at(now() + 2).build();
    assert_eq!(app.bearer_status(&later).await, 200);
    // A session started after the revocation works.
    let mut again = Browser::new(&app);
    again.login().await;
    assert_eq!(again.me().await, 200);

    // By email: every credential carrying that email (any case).
    let by_email = mock
        .id_token()
        .claim("sub", "00u2other")
        .claim("email", "Second.User@Example.com")
        .issued_at(now() - 5)
        .build();
    assert_eq!(app.bearer_status(&by_email).await, 200);
    assert_eq!(
        mock.universal_logout(
            &app.universal(),
            mock.email_subject("second.user@example.com")
        )
        .await,
        204
    );
    assert_eq!(app.bearer_status(&by_email).await, 401);
}

#[tokio::test]
async fn a_revocation_holds_in_its_tenant_only() {
    let acme = MockOkta::start().await;
    let globex = MockOkta::builder().client_id("0oa1globex").build().await;
    let app = Instance::start(&acme, |b| {
        b.tenant(crate::common::tenant_for("globex", &globex))
    })
    .await;
    let acme_token = acme.id_token().issued_at(now() - 5).build();
    let globex_token = globex.id_token().issued_at(now() - 5).build();
    assert_eq!(app.bearer_status(&acme_token).await, 200);
    assert_eq!(app.bearer_status(&globex_token).await, 200);
    // The same user id and email in both orgs: only globex's is signed out.
    assert_eq!(
        globex
            .universal_logout(&app.universal(), globex.iss_sub("00u1mockuser"))
            .await,
        204
    );
    assert_eq!(
        globex
            .universal_logout(
                &app.universal(),
                globex.email_subject("mock.user@example.com")
            )
            .await,
        204
    );
    assert_eq!(app.bearer_status(&globex_token).await, 401);
    assert_eq!(app.bearer_status(&acme_token).await, 200);
}

/// A store every instance shares (a stand-in for `RedisStore`).
struct SharedStore(MemoryStore);

impl RevocationStore for SharedStore {
    fn mirror(&self) -> &RevocationMirror {
        self.0.mirror()
    }
    fn record<'a>(&'a self, revocation: &'a Revocation) -> StoreFuture<'a, ()> {
        self.0.record(revocation)
    }
    fn mark_used<'a>(
        &'a self,
        kind: &'a str,
        key: &'a str,
        ttl: Duration,
    ) -> StoreFuture<'a, bool> {
        self.0.mark_used(kind, key, ttl)
    }
    fn is_shared(&self) -> bool {
        true
    }
}

/// What `LogoutEndpoints::new` logs, captured on this thread only.
fn logs_of_new_endpoints(builder: okta_oidc::OktaOidcBuilder) -> String {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let oidc = builder.build_lazy().unwrap();
    tracing::subscriber::with_default(subscriber, || {
        okta_oidc::LogoutEndpoints::new(
            &oidc,
            okta_oidc::LogoutEndpointsConfig::new("https://app.example.com"),
        )
        .unwrap()
    });
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

/// Issue 17, item 14: a Universal Logout request's `jti` is single use only where the store
/// is; served on a store that instances do not share, the endpoints say so at start.
#[test]
fn logout_endpoints_without_a_shared_store_warn_at_start() {
    let tenant = okta_oidc::Tenant::new("acme", "https://acme.okta.com").client_id("0oa1acme");
    let alone = logs_of_new_endpoints(okta_oidc::OktaOidc::builder().tenant(tenant.clone()));
    assert!(
        alone.contains("WARN") && alone.contains("can be replayed to another instance"),
        "{alone}"
    );
    let shared = logs_of_new_endpoints(
        okta_oidc::OktaOidc::builder()
            .tenant(tenant)
            .revocation_store(SharedStore(MemoryStore::new())),
    );
    assert!(!shared.contains("replayed"), "{shared}");
}
