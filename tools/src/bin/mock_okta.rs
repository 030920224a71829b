//! The mock Okta org (`okta_oidc::testing::MockOkta`) as a standalone process, so that scripts
//! and black-box tests can start and stop "the org" independently of the app under test.
//!
//! ```text
//! cargo run -p okta-oidc-tools --bin mock_okta -- [--bind 127.0.0.1:PORT] [--client-id ID] [--client-secret SECRET] [--redirect-uri URI]...
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
//! ```
//!
//! then serves until SIGINT or SIGTERM. Logs go to stderr (`RUST_LOG`, `info` by default).

use std::net::SocketAddr;
use std::process::ExitCode;

use okta_oidc::testing::MockOkta;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: mock_okta [--bind 127.0.0.1:PORT] [--client-id ID] [--client-secret SECRET] \
     [--redirect-uri URI]...";

#[derive(Default)]
struct Args {
    bind: Option<SocketAddr>,
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uris: Vec<String>,
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
            "--redirect-uri" => args.redirect_uris.push(value()?),
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
