//! The built `okta-oidc-doctor` binary, run against the mock Okta on 127.0.0.1: exit status,
//! text and JSON output, the secret from the environment, bad arguments.

use std::process::Output;

use okta_oidc::testing::MockOkta;
use tokio::process::Command;

const REDIRECT: &str = "http://127.0.0.1:3000/auth/callback";

async fn doctor(args: &[&str], secret_env: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_okta-oidc-doctor"));
    command.args(args).env_remove("OKTA_CLIENT_SECRET");
    if let Some(secret) = secret_env {
        command.env("OKTA_CLIENT_SECRET", secret);
    }
    command.output().await.expect("the binary runs")
}

async fn mock() -> MockOkta {
    MockOkta::builder().redirect_uri(REDIRECT).build().await
}

#[tokio::test(flavor = "multi_thread")]
async fn everything_right_exits_zero() {
    let okta = mock().await;
    let (issuer, id, secret) = (okta.issuer(), okta.client_id(), okta.client_secret());
    let out = doctor(
        &[
            "--issuer",
            &issuer,
            "--client-id",
            &id,
            "--client-secret",
            &secret,
            "--redirect-uri",
            REDIRECT,
            "--allow-loopback-http",
        ],
        None,
    )
    .await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("✔ client.credentials")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("· universal_logout.reachable")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secret_and_unregistered_redirect_exit_one() {
    let okta = mock().await;
    let (issuer, id) = (okta.issuer(), okta.client_id());
    let args = [
        "--issuer",
        &issuer,
        "--client-id",
        &id,
        "--redirect-uri",
        "https://app.example.com/auth/callback",
        "--allow-loopback-http",
    ];
    // Text, the secret from the environment.
    let out = doctor(&args, Some("wrong-secret")).await;
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("✘ client.credentials")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("✘ client.redirect_uri")),
        "{text}"
    );
    assert!(!text.contains("wrong-secret"));
    // JSON: every check in order, with code, status, message and fix.
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let out = doctor(&json_args, Some("wrong-secret")).await;
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = json["checks"].as_array().unwrap();
    assert_eq!(checks[0]["code"], "issuer.url");
    let find = |code: &str| checks.iter().find(|c| c["code"] == code).unwrap().clone();
    assert_eq!(find("client.credentials")["status"], "fail");
    assert_eq!(find("client.redirect_uri")["status"], "fail");
    assert_eq!(find("keys.usable")["status"], "pass");
    assert!(
        find("client.redirect_uri")["fix"]
            .as_str()
            .unwrap()
            .contains("Sign-in redirect URIs")
    );
    for check in checks {
        let keys: Vec<&String> = check.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["code", "fix", "message", "status"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_exit_two() {
    for args in [
        vec![],
        vec!["--issuer", "https://acme.okta.com"],
        vec![
            "--issuer",
            "https://a",
            "--client-id",
            "x",
            "--redirect-uri",
            "https://a/cb",
        ],
        vec!["--bogus"],
    ] {
        let out = doctor(&args, None).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("usage: okta-oidc-doctor"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dead_host_exits_one_quickly() {
    let started = std::time::Instant::now();
    let out = doctor(
        &[
            "--issuer",
            "https://dev-000.okta.invalid",
            "--client-id",
            "0oa1",
            "--redirect-uri",
            "https://app.example.com/auth/callback",
        ],
        Some("s"),
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("✘ issuer.reachable")),
        "{text}"
    );
}
