//! The tenant doctor (`Diagnosis::run`, `OktaOidc::diagnose`) over real HTTP against the mock
//! Okta: one test per check code with the mistake that check exists for, asserting the code and
//! its status, one with everything right, and dead hosts (DNS, refused) diagnosed in bounded
//! time. OpenID Connect Discovery 1.0 §4 (document, §4.3 issuer), RFC 7517 §5 (key set),
//! RFC 7662 §2.2 (introspection answer), RFC 6749 §4.1.2.1 / OIDC Core §3.1.2.6 (authorize
//! error redirect, `login_required`).

use std::time::{Duration, Instant};

use okta_oidc::testing::{KeySetMistake, MockOkta, MockOktaBuilder};
use okta_oidc::{CheckCode, Diagnosis, DiagnosisOptions, OktaOidc, Status, Tenant};

use crate::logout_app::Instance;

const REDIRECT: &str = "http://127.0.0.1:3000/auth/callback";

fn options() -> DiagnosisOptions {
    DiagnosisOptions::new()
        .allow_loopback_http(true)
        .redirect_uri(REDIRECT)
}

fn tenant(mock: &MockOkta) -> Tenant {
    Tenant::new("acme", mock.issuer()).client(mock.client_id(), mock.client_secret())
}

/// A mock with the redirect URI registered and `configure`'s mistakes.
async fn mock(configure: impl FnOnce(MockOktaBuilder) -> MockOktaBuilder) -> MockOkta {
    configure(MockOkta::builder().redirect_uri(REDIRECT))
        .build()
        .await
}

async fn run(tenant: &Tenant) -> Diagnosis {
    Diagnosis::run(tenant, &options()).await
}

/// Asserts `code` has `status`, showing the whole diagnosis when not.
#[track_caller]
fn assert_status(diagnosis: &Diagnosis, code: CheckCode, status: Status) {
    assert_eq!(
        diagnosis.status(code),
        Some(status),
        "{code}:\n{}",
        diagnosis.to_text()
    );
}

fn message(diagnosis: &Diagnosis, code: CheckCode) -> String {
    diagnosis.check(code).unwrap().message.clone()
}

#[tokio::test]
async fn everything_right_passes_every_check() {
    let mock = mock(|b| b).await;
    let app = Instance::start(&mock, |b| b).await;
    let options = options().app_url(&app.base);
    let diagnosis = Diagnosis::run(&tenant(&mock), &options).await;
    let codes: Vec<CheckCode> = diagnosis.checks().iter().map(|c| c.code).collect();
    assert_eq!(codes, CheckCode::ALL, "every check, in order");
    for check in diagnosis.checks() {
        assert_eq!(check.status, Status::Pass, "{}", diagnosis.to_text());
        assert_eq!(check.fix, None);
    }
    assert!(!diagnosis.failed());
    // A registered tenant, through the handle's own client and rules.
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant(&mock))
        .build_lazy()
        .unwrap();
    let again = oidc.diagnose("acme", &options).await.unwrap();
    assert!(
        again.checks().iter().all(|c| c.status == Status::Pass),
        "{}",
        again.to_text()
    );
    assert!(oidc.diagnose("nobody", &options).await.is_none());
}

#[tokio::test]
async fn issuer_url() {
    let mock = mock(|b| b).await;
    // http:// on loopback without the option: refused, and nothing is called.
    let strict = Diagnosis::run(&tenant(&mock), &DiagnosisOptions::new()).await;
    assert_status(&strict, CheckCode::IssuerUrl, Status::Fail);
    assert_status(&strict, CheckCode::IssuerReachable, Status::Skip);
    assert_status(&strict, CheckCode::DiscoveryFound, Status::Skip);
    assert_eq!(mock.hits(okta_oidc::testing::Endpoint::Discovery), 0);
    // Pasted with a space.
    let spaced = Tenant::new("acme", format!("{} ", mock.issuer())).client_id("x");
    let diagnosis = run(&spaced).await;
    assert_status(&diagnosis, CheckCode::IssuerUrl, Status::Fail);
    assert!(message(&diagnosis, CheckCode::IssuerUrl).contains("whitespace"));
    // A trailing slash: a warning here, the mismatch named by discovery.issuer_matches.
    let slash = Tenant::new("acme", format!("{}/", mock.issuer())).client_id("x");
    let diagnosis = run(&slash).await;
    assert_status(&diagnosis, CheckCode::IssuerUrl, Status::Warn);
    assert_status(&diagnosis, CheckCode::DiscoveryIssuerMatches, Status::Fail);
    assert!(message(&diagnosis, CheckCode::DiscoveryIssuerMatches).contains("trailing slash"));
}

#[tokio::test]
async fn issuer_reachable_dead_hosts_in_bounded_time() {
    // RFC 6761 §6.4: `.invalid` never resolves, here without any network.
    let started = Instant::now();
    let dns = Tenant::new("dead", "https://dev-000.okta.invalid").client("0oa1", "s");
    let diagnosis = Diagnosis::run(&dns, &DiagnosisOptions::new().redirect_uri(REDIRECT)).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_status(&diagnosis, CheckCode::IssuerUrl, Status::Pass);
    assert_status(&diagnosis, CheckCode::IssuerReachable, Status::Fail);
    assert!(
        message(&diagnosis, CheckCode::IssuerReachable).contains("DNS"),
        "{}",
        diagnosis.to_text()
    );
    for code in &CheckCode::ALL[3..] {
        if *code != CheckCode::IssuerKind {
            assert_status(&diagnosis, *code, Status::Skip);
        }
    }
    // A loopback port nobody listens on: refused.
    let started = Instant::now();
    let refused = Tenant::new("dead", MockOkta::dead_issuer()).client("0oa1", "s");
    let diagnosis = run(&refused).await;
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_status(&diagnosis, CheckCode::IssuerReachable, Status::Fail);
    assert!(message(&diagnosis, CheckCode::IssuerReachable).contains("refused"));
    assert!(diagnosis.failed());
}

#[tokio::test]
async fn issuer_reachable_times_out_once() {
    let mock = mock(|b| b).await;
    mock.set_fault(
        okta_oidc::testing::Endpoint::Discovery,
        okta_oidc::testing::Fault::Delay(Duration::from_secs(30)),
    );
    let started = Instant::now();
    let options = options().call_timeout(Duration::from_millis(300));
    let diagnosis = Diagnosis::run(&tenant(&mock), &options).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "one timeout, no retry"
    );
    assert_status(&diagnosis, CheckCode::IssuerReachable, Status::Fail);
    assert!(message(&diagnosis, CheckCode::IssuerReachable).contains("in time"));
}

#[tokio::test]
async fn issuer_kind() {
    let org = Diagnosis::run(
        &Tenant::new("a", "https://acme.okta.invalid").client_id("x"),
        &DiagnosisOptions::new().call_timeout(Duration::from_millis(500)),
    )
    .await;
    assert_status(&org, CheckCode::IssuerKind, Status::Pass);
    let custom = Diagnosis::run(
        &Tenant::new("a", "https://acme.okta.invalid/oauth2/default").client_id("x"),
        &DiagnosisOptions::new().call_timeout(Duration::from_millis(500)),
    )
    .await;
    assert_status(&custom, CheckCode::IssuerKind, Status::Warn);
    assert!(message(&custom, CheckCode::IssuerKind).contains("custom authorization server"));
    // A custom server introspects nothing by default: no introspection check.
    assert_status(&custom, CheckCode::IntrospectionEndpoint, Status::Skip);
}

#[tokio::test]
async fn discovery_found() {
    let mock = mock(|b| b).await;
    mock.set_fault(
        okta_oidc::testing::Endpoint::Discovery,
        okta_oidc::testing::Fault::Status(404),
    );
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::IssuerReachable, Status::Pass);
    assert_status(&diagnosis, CheckCode::DiscoveryFound, Status::Fail);
    assert!(message(&diagnosis, CheckCode::DiscoveryFound).contains("HTTP 404"));
    assert_status(&diagnosis, CheckCode::KeysUsable, Status::Skip);
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Skip);

    mock.set_fault(
        okta_oidc::testing::Endpoint::Discovery,
        okta_oidc::testing::Fault::Garbage,
    );
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::DiscoveryFound, Status::Fail);
    // The provider's text is shown only as a bounded, escaped excerpt.
    let text = message(&diagnosis, CheckCode::DiscoveryFound);
    assert!(text.contains("\"<html><body>MockOkta garbage"), "{text}");
    assert!(!diagnosis.to_html().contains("<html><body>"));
}

#[tokio::test]
async fn discovery_issuer_matches() {
    let mock = mock(|b| b.discovery_issuer("https://other-org.okta.com")).await;
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::DiscoveryFound, Status::Pass);
    assert_status(&diagnosis, CheckCode::DiscoveryIssuerMatches, Status::Fail);
    let text = message(&diagnosis, CheckCode::DiscoveryIssuerMatches);
    assert!(
        text.contains("\"https://other-org.okta.com\""),
        "names theirs: {text}"
    );
    assert!(
        text.contains(&format!("\"{}\"", mock.issuer())),
        "names ours: {text}"
    );
}

#[tokio::test]
async fn discovery_endpoints_on_issuer_host() {
    let mock = mock(|b| b).await;
    mock.set_discovery_field("token_endpoint", "https://evil.example/token".into());
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(
        &diagnosis,
        CheckCode::DiscoveryEndpointsOnIssuerHost,
        Status::Fail,
    );
    let text = message(&diagnosis, CheckCode::DiscoveryEndpointsOnIssuerHost);
    assert!(text.contains("token_endpoint"), "{text}");
    assert!(
        !text.contains("evil.example"),
        "names the field, not the URL: {text}"
    );
    // The app allows other hosts: a warning.
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .allow_endpoints_on_other_hosts(true)
        .tenant(tenant(&mock))
        .build_lazy()
        .unwrap();
    let diagnosis = oidc.diagnose("acme", &options()).await.unwrap();
    assert_status(
        &diagnosis,
        CheckCode::DiscoveryEndpointsOnIssuerHost,
        Status::Warn,
    );
}

#[tokio::test]
async fn keys_usable() {
    for (mistake, says) in [
        (KeySetMistake::Empty, "empty"),
        (KeySetMistake::Unusable, "none of the 2 keys"),
        (KeySetMistake::DuplicateKid, "more than once"),
    ] {
        let mock = mock(|b| b.key_set_mistake(mistake)).await;
        let diagnosis = run(&tenant(&mock)).await;
        assert_status(&diagnosis, CheckCode::KeysUsable, Status::Fail);
        let text = message(&diagnosis, CheckCode::KeysUsable);
        assert!(text.contains(says), "{mistake:?}: {text}");
    }
    // A key of an algorithm the app does not accept, beside a good one: a warning.
    let mock = mock(|b| b).await;
    mock.publish_ec_key();
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::KeysUsable, Status::Warn);
    assert!(message(&diagnosis, CheckCode::KeysUsable).contains("not in the allow-list"));
    // The key set endpoint down.
    mock.set_fault(
        okta_oidc::testing::Endpoint::Keys,
        okta_oidc::testing::Fault::Status(503),
    );
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::KeysUsable, Status::Fail);
    assert!(message(&diagnosis, CheckCode::KeysUsable).contains("HTTP 503"));
}

#[tokio::test]
async fn clock_skew() {
    for (skew, status) in [
        (0, Status::Pass),
        (-60, Status::Warn),
        (90, Status::Warn),
        (600, Status::Fail),
        (-600, Status::Fail),
    ] {
        let mock = mock(|b| b.date_skew(skew)).await;
        let diagnosis = run(&tenant(&mock)).await;
        assert_status(&diagnosis, CheckCode::ClockSkew, status);
    }
    // The allowed skew is the app's: 10 minutes tolerated on request.
    let mock = mock(|b| b.date_skew(300)).await;
    let lenient = options().allowed_clock_skew(Duration::from_secs(600));
    let diagnosis = Diagnosis::run(&tenant(&mock), &lenient).await;
    assert_status(&diagnosis, CheckCode::ClockSkew, Status::Warn);
}

#[tokio::test]
async fn client_credentials() {
    let mock = mock(|b| b).await;
    // Wrong secret: the client id is known.
    let wrong = Tenant::new("acme", mock.issuer()).client(mock.client_id(), "not-the-secret");
    let diagnosis = run(&wrong).await;
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Fail);
    assert!(message(&diagnosis, CheckCode::ClientCredentials).contains("secret is refused"));
    // The right secret pasted with a space: refused, and the whitespace is named.
    let padded = Tenant::new("acme", mock.issuer())
        .client(mock.client_id(), format!(" {}\n", mock.client_secret()));
    let diagnosis = run(&padded).await;
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Fail);
    let check = diagnosis.check(CheckCode::ClientCredentials).unwrap();
    assert!(check.message.contains("whitespace"), "{}", check.message);
    assert!(
        check
            .fix
            .as_deref()
            .unwrap()
            .starts_with("Remove the whitespace")
    );
    // Unknown client id: told apart, and the redirect check says why Okta shows its page.
    let unknown = Tenant::new("acme", mock.issuer()).client("0oa1unknown", mock.client_secret());
    let diagnosis = run(&unknown).await;
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Fail);
    assert!(message(&diagnosis, CheckCode::ClientCredentials).contains("does not know client id"));
    assert_status(&diagnosis, CheckCode::ClientRedirectUri, Status::Fail);
    assert!(message(&diagnosis, CheckCode::ClientRedirectUri).contains("client id is unknown"));
    // During a rotation, one good secret of two: a warning.
    let rotating = tenant(&mock).secondary_secret("old-secret");
    let diagnosis = run(&rotating).await;
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Warn);
    // No secret: not run.
    let no_secret = Tenant::new("acme", mock.issuer()).client_id(mock.client_id());
    let diagnosis = run(&no_secret).await;
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Skip);
    // No secret ever reaches a rendering.
    let rendered = format!(
        "{}{}",
        run(&wrong).await.to_json(),
        run(&wrong).await.to_text()
    );
    assert!(!rendered.contains("not-the-secret"));
}

#[tokio::test]
async fn client_redirect_uri() {
    let mock = mock(|b| b).await;
    let unregistered = DiagnosisOptions::new()
        .allow_loopback_http(true)
        .redirect_uri("https://app.example.com/wrong/callback");
    let diagnosis = Diagnosis::run(&tenant(&mock), &unregistered).await;
    assert_status(&diagnosis, CheckCode::ClientRedirectUri, Status::Fail);
    let check = diagnosis.check(CheckCode::ClientRedirectUri).unwrap();
    assert!(check.message.contains("HTTP 400"), "{}", check.message);
    assert!(
        check
            .fix
            .as_deref()
            .unwrap()
            .contains("Sign-in redirect URIs: add https://app.example.com/wrong/callback")
    );
    // Registered: redirected back with error=login_required, no user signed in.
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::ClientRedirectUri, Status::Pass);
    assert!(message(&diagnosis, CheckCode::ClientRedirectUri).contains("login_required"));
    assert!(mock.logouts().is_empty());
    // Not given: not run.
    let none = DiagnosisOptions::new().allow_loopback_http(true);
    let diagnosis = Diagnosis::run(&tenant(&mock), &none).await;
    assert_status(&diagnosis, CheckCode::ClientRedirectUri, Status::Skip);
    // Not https: refused before any call.
    let insecure = options().redirect_uri("http://app.example.com/auth/callback");
    let diagnosis = Diagnosis::run(&tenant(&mock), &insecure).await;
    assert_status(&diagnosis, CheckCode::ClientRedirectUri, Status::Fail);
}

#[tokio::test]
async fn logout_end_session() {
    let mock = mock(|b| b.without_end_session_endpoint()).await;
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::LogoutEndSession, Status::Warn);
    assert!(message(&diagnosis, CheckCode::LogoutEndSession).contains("end_session_endpoint"));
}

#[tokio::test]
async fn introspection_endpoint() {
    let mock = mock(|b| b).await;
    mock.set_discovery_field("introspection_endpoint", serde_json::Value::Null);
    let diagnosis = run(&tenant(&mock)).await;
    assert_status(&diagnosis, CheckCode::IntrospectionEndpoint, Status::Fail);
    // Credentials are then checked at the token endpoint (a junk code: invalid_grant).
    assert_status(&diagnosis, CheckCode::ClientCredentials, Status::Pass);
    let no_introspection = options().introspects(false);
    let diagnosis = Diagnosis::run(&tenant(&mock), &no_introspection).await;
    assert_status(&diagnosis, CheckCode::IntrospectionEndpoint, Status::Skip);
}

#[tokio::test]
async fn universal_logout_reachable() {
    let mock = mock(|b| b).await;
    // Not given: not run.
    assert_status(
        &run(&tenant(&mock)).await,
        CheckCode::UniversalLogoutReachable,
        Status::Skip,
    );
    // An app without the endpoint: 404.
    let bare = crate::common::serve(axum::Router::new()).await;
    let diagnosis = Diagnosis::run(&tenant(&mock), &options().app_url(&bare)).await;
    assert_status(
        &diagnosis,
        CheckCode::UniversalLogoutReachable,
        Status::Fail,
    );
    assert!(message(&diagnosis, CheckCode::UniversalLogoutReachable).contains("not mounted"));
    // Nobody there.
    let nobody = options().app_url(MockOkta::dead_issuer());
    let diagnosis = Diagnosis::run(&tenant(&mock), &nobody).await;
    assert_status(
        &diagnosis,
        CheckCode::UniversalLogoutReachable,
        Status::Fail,
    );
    // Mounted: 401 to an unsigned request.
    let app = Instance::start(&mock, |b| b).await;
    let diagnosis = Diagnosis::run(&tenant(&mock), &options().app_url(&app.base)).await;
    assert_status(
        &diagnosis,
        CheckCode::UniversalLogoutReachable,
        Status::Pass,
    );
}

#[tokio::test]
async fn renderings_agree() {
    let mock = mock(|b| b).await;
    let wrong = Tenant::new("acme", mock.issuer()).client(mock.client_id(), "nope");
    let diagnosis = run(&wrong).await;
    let json: serde_json::Value = serde_json::from_str(&diagnosis.to_json()).unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks.len(), diagnosis.checks().len());
    for (rendered, check) in checks.iter().zip(diagnosis.checks()) {
        assert_eq!(rendered["code"], check.code.as_str());
        assert_eq!(rendered["status"], check.status.as_str());
        assert_eq!(rendered["message"], check.message.as_str());
    }
    let text = diagnosis.to_text();
    assert_eq!(text.lines().count(), diagnosis.checks().len());
    assert!(text.lines().any(|l| l.starts_with("✘ client.credentials")));
    assert!(text.lines().any(|l| l.starts_with("✔ keys.usable")));
    let html = diagnosis.to_html();
    assert_eq!(html.matches("<li ").count(), diagnosis.checks().len());
    assert!(html.contains("data-code=\"client.credentials\""));
}

#[tokio::test]
async fn issuer_reachable_names_a_failed_tls_handshake() {
    // An https:// issuer whose port speaks plain HTTP: the handshake fails.
    let plain = crate::common::serve(axum::Router::new()).await;
    let issuer = plain.replace("http://", "https://");
    let tenant = Tenant::new("tls", issuer).client("0oa1", "s");
    let diagnosis = run(&tenant).await;
    assert_status(&diagnosis, CheckCode::IssuerReachable, Status::Fail);
    assert!(
        message(&diagnosis, CheckCode::IssuerReachable).contains("TLS"),
        "{}",
        diagnosis.to_text()
    );
}
