//! The mock Okta org (`okta_oidc::testing::MockOkta`) as a standalone process, so that scripts
//! and black-box tests can start and stop "the org" independently of the app under test.
//!
//! ```text
//! cargo run -p okta-oidc-tools --bin mock_okta -- [--bind 127.0.0.1:PORT] [--client-id ID] \
//!     [--client-secret SECRET] [--admin-bind 127.0.0.1:PORT] [--app APP_BASE_URL]... \
//!     [--redirect-uri URI]... [--ssf-authorization VALUE]
//! ```
//!
//! `--redirect-uri` registers a sign-in redirect URI (repeatable); with one registered, the
//! authorize endpoint answers any other with its error page, as Okta does.
//!
//! `--bind` defaults to an ephemeral port on `127.0.0.1`. Once the port is bound it prints, on
//! stdout, one `key=value` line per fact, in this order:
//!
//! ```text
//! issuer=http://127.0.0.1:PORT
//! client_id=…
//! client_secret=…
//! access_token=…   (audience api://default, expires in 1 h)
//! id_token=…       (audience the client id, expires in 1 h)
//! admin=http://127.0.0.1:PORT/mock-okta/admin
//! ```
//!
//! then serves until SIGINT or SIGTERM. Logs go to stderr (`RUST_LOG`, `info` by default).
//!
//! The admin console (`admin=…`, on its own port: `--admin-bind`, an ephemeral one by default)
//! is the embedded mock's, for apps started apart: *Sign out everywhere* sends Okta's Universal
//! Logout for the mock user to every `--app` (`APP_BASE_URL/auth/global-token-revocation`),
//! *Back-channel logout* a logout token (`APP_BASE_URL/auth/backchannel-logout`). From a shell:
//!
//! ```text
//! curl -s -X POST http://127.0.0.1:PORT/mock-okta/admin/sign-out-everywhere
//! curl -s -X POST http://127.0.0.1:PORT/mock-okta/admin/backchannel-logout
//! ```
//!
//! Each answers one line per app: `<endpoint> <status>` (`204` when the app recorded it).
//!
//! `--ssf-authorization VALUE` makes the org an SSF transmitter with a stream to the first
//! `--app` (`APP_BASE_URL/auth/ssf/events`, the app's `SSF_PUSH_AUTHORIZATION` = `VALUE`, as
//! Okta pushes to one URL behind the load balancer); the console's *End the user's Okta session
//! (SSF)* and *Reset the user's password (SSF)* push CAEP `session-revoked` /
//! `credential-change` for the mock user (`202` when the app recorded it):
//!
//! ```text
//! curl -s -X POST http://127.0.0.1:PORT/mock-okta/admin/end-okta-session-ssf
//! curl -s -X POST http://127.0.0.1:PORT/mock-okta/admin/reset-password-ssf
//! ```

use std::net::SocketAddr;
use std::process::ExitCode;

use okta_oidc::testing::MockOkta;
use tracing_subscriber::EnvFilter;

mod admin {
    //! The admin console: the embedded mock's "Sign out everywhere", for apps started apart.

    use std::sync::Arc;

    use axum::Router;
    use axum::extract::State;
    use axum::response::Html;
    use axum::routing::{get, post};
    use okta_oidc::testing::MockOkta;

    use super::MOCK_USER;

    #[derive(Clone)]
    struct Admin {
        okta: MockOkta,
        apps: Arc<[String]>,
    }

    pub(super) fn router(okta: MockOkta, apps: Vec<String>) -> Router {
        let state = Admin {
            okta,
            apps: apps.into(),
        };
        Router::new()
            .route("/mock-okta/admin", get(page))
            .route("/mock-okta/admin/sign-out-everywhere", post(universal))
            .route("/mock-okta/admin/backchannel-logout", post(backchannel))
            .route(
                "/mock-okta/admin/end-okta-session-ssf",
                post(|state| shared_signals(state, false)),
            )
            .route(
                "/mock-okta/admin/reset-password-ssf",
                post(|state| shared_signals(state, true)),
            )
            .with_state(state)
    }

    fn escape(text: &str) -> String {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    }

    async fn page(State(admin): State<Admin>) -> Html<String> {
        let apps = if admin.apps.is_empty() {
            "<p>No app: start mock_okta with <code>--app APP_BASE_URL</code> (once per \
             app).</p>"
                .to_owned()
        } else {
            let items: String = admin
                .apps
                .iter()
                .map(|a| format!("<li>{}</li>", escape(a)))
                .collect();
            format!("<ul>{items}</ul>")
        };
        Html(format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Mock Okta admin \
             console</title></head><body><h1>Mock Okta admin console</h1>\
             <p>Org: {issuer}. User: Sam Sample ({MOCK_USER}).</p><p>Apps:</p>{apps}\
             <form method=\"post\" action=\"/mock-okta/admin/sign-out-everywhere\">\
             <button>Sign out everywhere (as an Okta admin would)</button></form>\
             <form method=\"post\" action=\"/mock-okta/admin/backchannel-logout\">\
             <button>Back-channel logout</button></form>\
             <form method=\"post\" action=\"/mock-okta/admin/end-okta-session-ssf\">\
             <button>End the user's Okta session (SSF)</button></form>\
             <form method=\"post\" action=\"/mock-okta/admin/reset-password-ssf\">\
             <button>Reset the user's password (SSF)</button></form>\
             <p>Okta then calls each app's Universal Logout endpoint with a signed request.</p>\
             </body></html>",
            issuer = escape(&admin.okta.issuer()),
        ))
    }

    /// Okta's Universal Logout of the mock user, to every app: one line per app.
    async fn universal(State(admin): State<Admin>) -> String {
        let mut out = String::new();
        for app in admin.apps.iter() {
            let endpoint = format!("{app}/auth/global-token-revocation");
            let okta = admin.okta.clone();
            let target = endpoint.clone();
            // The test kit panics when the app cannot be reached: one task per call.
            let status = tokio::spawn(async move {
                okta.universal_logout(&target, okta.iss_sub(MOCK_USER))
                    .await
            })
            .await;
            out.push_str(&line(&endpoint, status));
        }
        if out.is_empty() {
            out.push_str("no app: start mock_okta with --app APP_BASE_URL\n");
        }
        tracing::info!(apps = admin.apps.len(), "Universal Logout sent");
        out
    }

    /// An OpenID Connect Back-Channel Logout token for the mock user, to every app.
    async fn backchannel(State(admin): State<Admin>) -> String {
        let mut out = String::new();
        for app in admin.apps.iter() {
            let endpoint = format!("{app}/auth/backchannel-logout");
            let okta = admin.okta.clone();
            let target = endpoint.clone();
            let status = tokio::spawn(async move {
                let token = okta.logout_token().build();
                okta.backchannel_logout(&target, &token).await
            })
            .await;
            out.push_str(&line(&endpoint, status));
        }
        if out.is_empty() {
            out.push_str("no app: start mock_okta with --app APP_BASE_URL\n");
        }
        out
    }

    /// A CAEP event about the mock user pushed to the org's SSF stream (`--ssf-authorization`):
    /// session-revoked (Okta's `user.session.end`) or, with `password`, credential-change.
    async fn shared_signals(State(admin): State<Admin>, password: bool) -> String {
        let Some(stream) = admin.okta.ssf_stream() else {
            return "no SSF stream: start mock_okta with --ssf-authorization VALUE and an --app\n"
                .to_owned();
        };
        let endpoint = stream["delivery"]["endpoint_url"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let okta = admin.okta.clone();
        let status = tokio::spawn(async move {
            if password {
                okta.reset_password_ssf(MOCK_USER).await
            } else {
                okta.end_okta_session_ssf(MOCK_USER).await
            }
        })
        .await;
        tracing::info!(password, "SSF event pushed");
        line(&endpoint, status)
    }

    fn line(endpoint: &str, status: Result<u16, tokio::task::JoinError>) -> String {
        match status {
            Ok(status) => format!("{endpoint} {status}\n"),
            Err(_) => format!("{endpoint} unreachable\n"),
        }
    }
}

const USAGE: &str = "usage: mock_okta [--bind 127.0.0.1:PORT] [--client-id ID] \
     [--client-secret SECRET] [--admin-bind 127.0.0.1:PORT] [--app APP_BASE_URL]... \
     [--redirect-uri URI]... [--ssf-authorization VALUE]";

/// The user the mock signs in (`sub` of its ID tokens and userinfo).
const MOCK_USER: &str = "00u1mockuser";

#[derive(Default)]
struct Args {
    bind: Option<SocketAddr>,
    client_id: Option<String>,
    client_secret: Option<String>,
    admin_bind: Option<SocketAddr>,
    apps: Vec<String>,
    redirect_uris: Vec<String>,
    ssf_authorization: Option<String>,
}

fn args() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bind" => {
                let addr = value()?;
                args.bind = Some(addr.parse().map_err(|e| format!("--bind {addr}: {e}"))?);
            }
            "--client-id" => args.client_id = Some(value()?),
            "--client-secret" => args.client_secret = Some(value()?),
            "--admin-bind" => {
                let addr = value()?;
                args.admin_bind = Some(
                    addr.parse()
                        .map_err(|e| format!("--admin-bind {addr}: {e}"))?,
                );
            }
            "--app" => {
                let app = value()?;
                let url = reqwest::Url::parse(&app).map_err(|e| format!("--app {app}: {e}"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("--app {app}: not an http(s) URL"));
                }
                args.apps.push(app.trim_end_matches('/').to_owned());
            }
            "--redirect-uri" => args.redirect_uris.push(value()?),
            "--ssf-authorization" => args.ssf_authorization = Some(value()?),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match args() {
        Ok(args) => args,
        Err(error) => {
            if !error.is_empty() {
                eprintln!("mock_okta: {error}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let mut builder = MockOkta::builder();
    if let Some(addr) = args.bind {
        // `build` panics when it cannot bind; a clean error for the usual case (port taken).
        if let Err(error) = std::net::TcpListener::bind(addr) {
            eprintln!("mock_okta: cannot bind {addr}: {error}");
            return ExitCode::FAILURE;
        }
        builder = builder.bind(addr);
    }
    if let Some(client_id) = args.client_id {
        builder = builder.client_id(client_id);
    }
    if let Some(client_secret) = args.client_secret {
        builder = builder.client_secret(client_secret);
    }
    for uri in args.redirect_uris {
        builder = builder.redirect_uri(uri);
    }
    let okta = builder.build().await;
    match (&args.ssf_authorization, args.apps.first()) {
        (Some(authorization), Some(app)) => {
            okta.set_ssf_stream(&format!("{app}/auth/ssf/events"), authorization);
        }
        (Some(_), None) => {
            eprintln!("mock_okta: --ssf-authorization needs an --app to push to");
            return ExitCode::from(2);
        }
        _ => {}
    }
    let admin_bind = args
        .admin_bind
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let admin_listener = match tokio::net::TcpListener::bind(admin_bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("mock_okta: cannot bind {admin_bind} (--admin-bind): {error}");
            return ExitCode::FAILURE;
        }
    };
    let admin_url = match admin_listener.local_addr() {
        Ok(addr) => format!("http://{addr}/mock-okta/admin"),
        Err(error) => {
            eprintln!("mock_okta: {error}");
            return ExitCode::FAILURE;
        }
    };
    let admin = admin::router(okta.clone(), args.apps);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(admin_listener, admin).await {
            tracing::error!(%error, "admin console stopped");
        }
    });
    // Listen for the signals before printing, so a script that stops the org as soon as it has
    // read the facts is heard (a background job of a script starts with SIGINT ignored).
    let stop = match shutdown_signal() {
        Ok(stop) => stop,
        Err(error) => {
            tracing::error!(%error, "cannot listen for shutdown signals");
            return ExitCode::FAILURE;
        }
    };

    println!("issuer={}", okta.issuer());
    println!("client_id={}", okta.client_id());
    println!("client_secret={}", okta.client_secret());
    println!("access_token={}", okta.access_token().build());
    println!("id_token={}", okta.id_token().build());
    println!("admin={admin_url}");
    tracing::info!(issuer = %okta.issuer(), "mock Okta org serving; SIGINT or SIGTERM stops it");

    let signal = stop.await;
    tracing::info!(signal, "mock Okta org stopping");
    drop(okta); // the last handle: stops the server
    ExitCode::SUCCESS
}

/// Starts listening for SIGINT and SIGTERM; the future ends with the name of the first one.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

/// Ctrl-C (elsewhere than Unix); the future ends with its name.
#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    })
}

#[cfg(test)]
mod tests {
    use okta_oidc::testing::MockOkta;
    use okta_oidc::{LogoutEndpoints, LogoutEndpointsConfig, OktaOidc, Tenant};

    const SSF_AUTHORIZATION: &str = "Bearer tools-test-ssf";

    /// Serves `router` on a loopback port; its base URL.
    async fn serve(router: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}")
    }

    /// The console's buttons reach every app's logout endpoints, signed as Okta signs them.
    #[tokio::test]
    async fn the_admin_console_signs_the_user_out_of_every_app() {
        let okta = MockOkta::start().await;
        let mut apps = Vec::new();
        for _ in 0..2 {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let oidc = OktaOidc::builder()
                .allow_loopback_http(true)
                .tenant(Tenant::new("mock", okta.issuer()).client_id(okta.client_id()))
                .build()
                .await
                .unwrap();
            let config =
                LogoutEndpointsConfig::new(&base).ssf_push_authorization(SSF_AUTHORIZATION);
            let logout = LogoutEndpoints::new(&oidc, config).unwrap();
            let router = logout.router();
            tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
            apps.push(base);
        }
        okta.set_ssf_stream(&format!("{}/auth/ssf/events", apps[0]), SSF_AUTHORIZATION);
        let admin = serve(super::admin::router(okta.clone(), apps.clone())).await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let page = http
            .get(format!("{admin}/mock-okta/admin"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Sign out everywhere"), "{page}");
        // Universal Logout answers 204, back-channel logout 200 (OIDC BCL §2.8).
        for (button, path, status) in [
            (
                "sign-out-everywhere",
                "/auth/global-token-revocation",
                " 204",
            ),
            ("backchannel-logout", "/auth/backchannel-logout", " 200"),
        ] {
            let answer = http
                .post(format!("{admin}/mock-okta/admin/{button}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            for app in &apps {
                let expected = format!("{app}{path} ");
                let line = answer
                    .lines()
                    .find(|l| l.starts_with(&expected))
                    .unwrap_or_else(|| panic!("{expected} in {answer}"));
                assert!(line.ends_with(status), "{line}");
            }
        }
        // The SSF buttons push to the stream (the first app): 202 (RFC 8935 §2.2).
        assert!(page.contains("End the user's Okta session (SSF)"), "{page}");
        for button in ["end-okta-session-ssf", "reset-password-ssf"] {
            let answer = http
                .post(format!("{admin}/mock-okta/admin/{button}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(
                answer,
                format!("{}/auth/ssf/events 202\n", apps[0]),
                "{button}"
            );
        }
    }
}
