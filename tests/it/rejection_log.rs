//! The rejection log (`src/rejection_log.rs`): every refusal's reason at INFO, one line per
//! reason per tenant per minute with the count of what was folded, the expected and received
//! values where they are not secret, never the token. Over real HTTP, logs captured.

use std::time::Duration;

use okta_oidc::testing::MockOkta;
use okta_oidc::{
    AuthError, ManualClock, OktaOidc, ProofError, REJECTION_REASONS, Tenant, TokenError,
};

use crate::common::{Stack, capture_logs};

/// A stack whose only tenant is `tenant` (on a fresh mock), on a manual clock.
async fn stack(tenant: impl FnOnce(&MockOkta) -> Tenant) -> (Stack, ManualClock) {
    let mock = MockOkta::start().await;
    let clock = ManualClock::starting_now();
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .clock(clock.clone())
        .tenant(tenant(&mock))
        .build()
        .await
        .unwrap();
    (Stack::with(mock, oidc).await, clock)
}

/// The captured lines of refusals for `tenant`.
fn lines_for(text: &str, tenant: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.contains("request refused") && l.contains(&format!("tenant=\"{tenant}\"")))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn a_wrong_audience_is_logged_at_info_with_expected_and_received_once_a_minute() {
    let (s, clock) = stack(|mock| {
        Tenant::new("log-aud", mock.issuer())
            .client_id(mock.client_id())
            .audience("api://default")
    })
    .await;
    let logs = capture_logs();
    let token = s.mock.access_token().claim("aud", "api://orders").build();
    assert_eq!(s.status(&token).await, 401);
    let lines = lines_for(&logs.text(), "log-aud");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("reason=\"audience\""), "{line}");
    assert!(
        line.contains(&format!(
            "expected=\"{} api://default\"",
            s.mock.client_id()
        )),
        "{line}"
    );
    assert!(line.contains("received=\"api://orders\""), "{line}");
    assert!(line.contains("folded=0"), "{line}");
    assert!(!line.contains(&token), "never the token: {line}");
    let signature = token.rsplit('.').next().unwrap();
    assert!(!line.contains(signature), "{line}");

    // Within the minute: counted, not logged.
    for _ in 0..3 {
        assert_eq!(s.status(&token).await, 401);
    }
    assert_eq!(lines_for(&logs.text(), "log-aud").len(), 1);
    // Another reason has its own line.
    let expired = s.mock.access_token().claim("exp", 1_000_000).build();
    assert_eq!(s.status(&expired).await, 401);
    let lines = lines_for(&logs.text(), "log-aud");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("reason=\"expired\""), "{}", lines[1]);
    // A minute later: one line, with the three folded since.
    clock.advance(Duration::from_secs(61));
    let token = s.mock.access_token().claim("aud", "api://orders").build();
    assert_eq!(s.status(&token).await, 401);
    let lines = lines_for(&logs.text(), "log-aud");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[2].contains("reason=\"audience\""), "{}", lines[2]);
    assert!(lines[2].contains("folded=3"), "{}", lines[2]);
}

/// Issue 18 item 2: the usual mistake (a tenant with a client id only, an access token)
/// is named in the line.
#[tokio::test]
async fn an_access_token_for_a_tenant_with_only_a_client_id_says_what_to_set() {
    let (s, _clock) =
        stack(|mock| Tenant::new("log-cid-only", mock.issuer()).client_id(mock.client_id())).await;
    let logs = capture_logs();
    let token = s.mock.access_token().build(); // aud api://default, cid, scp
    assert_eq!(s.status(&token).await, 401);
    let lines = lines_for(&logs.text(), "log-cid-only");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("reason=\"audience\""), "{}", lines[0]);
    assert!(lines[0].contains("has only a client id"), "{}", lines[0]);
    assert!(lines[0].contains("Tenant::audience"), "{}", lines[0]);
    assert!(
        lines[0].contains("received=\"api://default\""),
        "{}",
        lines[0]
    );
    // An ID token of the same client passes.
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
}

/// An unknown issuer is logged with what it said, under no tenant: what a request says never
/// becomes a key of the rate limit.
#[tokio::test]
async fn an_unknown_issuer_is_logged_under_no_tenant_with_the_issuer_received() {
    let (s, _clock) = stack(|mock| {
        Tenant::new("log-iss", mock.issuer())
            .client_id(mock.client_id())
            .audience("api://default")
    })
    .await;
    let logs = capture_logs();
    let issuer = "https://unknown-issuer-log-test.example.com";
    let token = s.mock.access_token().claim("iss", issuer).build();
    assert_eq!(s.status(&token).await, 401);
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("request refused") && l.contains(issuer))
        .unwrap_or_else(|| panic!("no line in {text}"));
    assert!(line.contains("reason=\"issuer\""), "{line}");
    assert!(line.contains("tenant=\"-\""), "{line}");
    assert!(line.contains(&format!("received=\"{issuer}\"")), "{line}");
}

/// A route's `RequireScopes` refusal is logged like the layer's own: reason `scope`, the
/// scopes required and those the token had (not secret), once a minute per tenant.
#[tokio::test]
async fn a_missing_scope_on_a_route_is_logged_with_required_and_received_scopes() {
    use axum::{Router, routing::get};
    use okta_oidc::{OktaOidcLayer, RequireScopes};

    let mock = MockOkta::start().await;
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(
            Tenant::new("log-scope", mock.issuer())
                .client_id(mock.client_id())
                .audience("api://default"),
        )
        .build()
        .await
        .unwrap();
    let app = Router::new()
        .route("/orders", get(|| async { "ok" }))
        .route_layer(RequireScopes::new(["orders:write"]))
        .layer(OktaOidcLayer::new(oidc));
    let base = crate::common::serve(app).await;
    let logs = capture_logs();
    let token = mock
        .access_token()
        .claim("scp", ["openid", "orders:read"])
        .build();
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client
            .get(format!("{base}/orders"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403);
    }
    let lines = lines_for(&logs.text(), "log-scope");
    assert_eq!(lines.len(), 1, "one line a minute: {lines:?}");
    let line = &lines[0];
    assert!(line.contains(" INFO "), "{line}");
    assert!(line.contains("reason=\"scope\""), "{line}");
    assert!(line.contains("expected=\"orders:write\""), "{line}");
    assert!(line.contains("received=\"openid orders:read\""), "{line}");
    assert!(!line.contains(&token), "never the token: {line}");
}

#[test]
fn every_reason_is_a_short_snake_case_name() {
    for reason in REJECTION_REASONS {
        assert!(
            !reason.is_empty()
                && reason.len() <= 24
                && reason.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{reason}"
        );
    }
    let mut sorted = REJECTION_REASONS.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), REJECTION_REASONS.len(), "no name twice");
}

/// Every kind of refusal has a name from the closed set, and every name is used.
#[test]
fn every_error_kind_has_a_reason_from_the_closed_set() {
    use TokenError as T;
    let tokens = [
        T::TooLarge { len: 1, max: 0 },
        T::Malformed("x"),
        T::DisallowedAlgorithm,
        T::UnsupportedCritical,
        T::UnknownIssuer,
        T::UnknownKey,
        T::AmbiguousKey,
        T::KeyAlgorithmMismatch,
        T::InvalidSignature,
        T::Expired,
        T::NotYetValid,
        T::IssuedInFuture,
        T::MissingClaim("x"),
        T::InvalidClaim("x"),
        T::AudienceMismatch,
        T::AuthorizedPartyMismatch,
        T::TypeMismatch,
        T::ClientIdMismatch,
        T::AmbiguousTenant,
        T::NotAnAccessToken,
        T::NonceMismatch,
        T::AccessTokenHashMismatch,
        T::Inactive,
        T::InvalidSession,
        T::ClaimsShape,
        T::DpopBoundAsBearer,
        T::NotDpopBound,
        T::DpopKeyMismatch,
        T::DpopRequired,
        T::Revoked,
        T::Replayed,
        T::NotACredential,
        T::UnverifiableBinding,
        T::OtherTenant,
        T::NoIntrospection,
    ];
    let mut errors: Vec<AuthError> = tokens.into_iter().map(AuthError::from).collect();
    errors.extend([
        AuthError::MissingCredential,
        AuthError::InvalidRequest("x"),
        AuthError::KeysUnavailable {
            issuer: std::sync::Arc::from("i"),
        },
        AuthError::InsufficientScope {
            required: std::sync::Arc::from(vec!["s".to_owned()]),
        },
        AuthError::InsufficientUserAuthentication {
            acr_values: std::sync::Arc::from(vec!["urn:okta:loa:2fa:any".to_owned()]),
            max_age: None,
        },
        AuthError::TemporarilyUnavailable { retry_after: None },
        AuthError::CrossSiteRequest,
        AuthError::InvalidDpopProof(ProofError::Missing),
        AuthError::UseDpopNonce {
            nonce: std::sync::Arc::from("n"),
        },
    ]);
    let mut seen = std::collections::HashSet::new();
    for error in &errors {
        assert!(
            REJECTION_REASONS.contains(&error.reason()),
            "{error:?}: {}",
            error.reason()
        );
        seen.insert(error.reason());
    }
    assert_eq!(seen.len(), REJECTION_REASONS.len(), "every name is used");
}
