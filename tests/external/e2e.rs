//! End to end in a real browser: headless Chromium (Debian's `chromium`) signs in through the
//! `web_app` example (offline, embedded mock Okta) and sees the user's name on `/profile` —
//! with the app at the root, and with the app served under a path (`APP_BASE_URL` ending in
//! `/app`: every route, redirect and cookie under it). The cookie prefixes need https, which
//! cannot be served offline: `tests/it/login_cookies.rs` checks them in process.
//!
//! The example binary is built by `cargo test` (examples are built with the tests); with
//! `--test external` alone or another runner, `cargo build --all-features --example web_app`
//! first. Without Chromium or the binary the test is skipped (see `harness`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use libtest_mimic::Failed;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::harness::{CHROMIUM, NODE, find, requires};

/// Chromium, and the `web_app` example built.
pub fn needs() -> Option<String> {
    requires(&CHROMIUM).or_else(|| {
        web_app_binary().is_none().then(|| {
            "the web_app example is not built: cargo build --all-features --example web_app \
             (a plain `cargo test --all-features` builds it)"
                .to_owned()
        })
    })
}

/// Chromium, Node (it drives Chromium over the DevTools protocol), and the `web_app` example.
pub fn needs_node() -> Option<String> {
    needs().or_else(|| requires(&NODE))
}

/// The Shared Signals loop (#21) in a browser: signed in, "End the user's Okta session (SSF)"
/// on the mock's admin console (the mock pushes CAEP session-revoked to the app), the profile
/// reloaded: signed out. Driven by `fixtures/ssf-e2e.mjs`.
pub async fn chromium_is_signed_out_when_okta_ends_the_session_over_ssf() -> Result<(), Failed> {
    let node = find(&NODE).ok_or("node is gone")?;
    let chromium = find(&CHROMIUM).ok_or("chromium is gone")?;
    let web_app = web_app_binary().ok_or("the web_app example is gone")?;
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/external/fixtures/ssf-e2e.mjs");
    let output = tokio::time::timeout(
        Duration::from_secs(150),
        Command::new(node)
            .arg("--experimental-websocket")
            .arg(&script)
            .arg(&web_app)
            .env("CHROMIUM", chromium)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .map_err(|_| "the SSF e2e script timed out")?
    .map_err(|e| format!("run node: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("SSF e2e ok"), "{stdout}");
    Ok(())
}

fn web_app_binary() -> Option<PathBuf> {
    // target/<profile>/deps/external-… → target/<profile>/examples/web_app
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let path = profile_dir
        .join("examples")
        .join(format!("web_app{}", std::env::consts::EXE_SUFFIX));
    path.exists().then_some(path)
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

pub async fn chromium_signs_in_through_the_web_app_example() -> Result<(), Failed> {
    sign_in_through_the_web_app_at("").await
}

pub async fn chromium_signs_in_to_the_web_app_under_a_path() -> Result<(), Failed> {
    sign_in_through_the_web_app_at("/app").await
}

/// Chromium opens `{APP_BASE_URL}/profile` of the web_app example served under `path`, signs in
/// through the embedded mock, and lands on the profile page.
async fn sign_in_through_the_web_app_at(path: &str) -> Result<(), Failed> {
    let chromium = find(&CHROMIUM).ok_or("chromium is gone")?;
    let web_app = web_app_binary().ok_or("the web_app example is gone")?;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}{path}");
    let mut app = Command::new(&web_app)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("APP_BASE_URL", &base)
        .env("SESSION_SECRET", "e2e-session-secret-e2e-session-secret")
        .env_remove("OKTA_ISSUER")
        .env_remove("OKTA_TENANTS_FILE")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the web_app example");
    let mut lines = BufReader::new(app.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("Open ") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "web_app did not start");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let profile_dir =
        std::env::temp_dir().join(format!("okta-oidc-e2e-{}-{port}", std::process::id()));
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--no-default-browser-check",
            ])
            .arg(format!("--user-data-dir={}", profile_dir.display()))
            .arg("--dump-dom")
            // /profile → /auth/login → mock Okta authorize → /auth/callback → /profile, all
            // under `path`
            .arg(format!("{base}/profile"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("chromium timed out")
    .expect("run chromium");
    let _ = std::fs::remove_dir_all(&profile_dir);
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("<h1 id=\"name\">Sam Sample</h1>"),
        "the profile page did not show the user: {dom}"
    );
    assert!(dom.contains("sam.sample@example.com"));
    drop(app);
    Ok(())
}
