//! `okta-oidc-doctor`: checks a customer's Okta org and the app's settings for it, and says the
//! cause and the fix of each problem (the crate's [`okta_oidc::Diagnosis`]).
//!
//! ```text
//! okta-oidc-doctor --issuer URL --client-id ID --client-secret SECRET --redirect-uri URL
//!                  [--app-url URL] [--allow-loopback-http] [--json]
//! ```
//!
//! The secret may come from `OKTA_CLIENT_SECRET` instead (it then stays out of the shell's
//! history and the process list). Exit status: 0 when no check failed, 1 when one did, 2 on
//! bad arguments.

use std::process::ExitCode;

use okta_oidc::{Diagnosis, DiagnosisOptions, Tenant};

const USAGE: &str = "usage: okta-oidc-doctor --issuer URL --client-id ID \
[--client-secret SECRET] --redirect-uri URL [--app-url URL] [--allow-loopback-http] [--json]

  --issuer URL            the customer's Okta org URL (e.g. https://acme.okta.com)
  --client-id ID          the app's client id in that org
  --client-secret SECRET  its client secret (or set OKTA_CLIENT_SECRET)
  --redirect-uri URL      the app's sign-in redirect URI (…/auth/callback)
  --app-url URL           the app's public URL: checks its Universal Logout endpoint
  --allow-loopback-http   accept http:// on loopback hosts (a local mock org)
  --json                  {\"checks\": [{\"code\", \"status\", \"message\", \"fix\"}]}

Exit status: 0 no check failed, 1 a check failed, 2 bad arguments.";

/// The parsed command line.
#[derive(Debug, Default)]
struct Args {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
    app_url: Option<String>,
    allow_loopback_http: bool,
    json: bool,
}

/// Parses `--flag value` and `--flag=value` forms; every flag at most once.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut parsed = Args::default();
    let (mut issuer, mut client_id, mut redirect_uri) = (None, None, None);
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| args.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{name} needs a value")),
            }
        };
        let once = |slot: &mut Option<String>, name: &str, v: String| {
            if slot.replace(v).is_some() {
                return Err(format!("{name} given twice"));
            }
            Ok(())
        };
        match flag.as_str() {
            "--issuer" => once(&mut issuer, "--issuer", value("--issuer")?)?,
            "--client-id" => once(&mut client_id, "--client-id", value("--client-id")?)?,
            "--client-secret" => {
                let v = value("--client-secret")?;
                once(&mut parsed.client_secret, "--client-secret", v)?;
            }
            "--redirect-uri" => {
                once(
                    &mut redirect_uri,
                    "--redirect-uri",
                    value("--redirect-uri")?,
                )?;
            }
            "--app-url" => {
                let v = value("--app-url")?;
                once(&mut parsed.app_url, "--app-url", v)?;
            }
            "--allow-loopback-http" if inline.is_none() => parsed.allow_loopback_http = true,
            "--json" if inline.is_none() => parsed.json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    parsed.issuer = issuer.ok_or("--issuer is required")?;
    parsed.client_id = client_id.ok_or("--client-id is required")?;
    parsed.redirect_uri = redirect_uri.ok_or("--redirect-uri is required")?;
    Ok(parsed)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let mut args = match parse(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(why) => {
            if !why.is_empty() {
                eprintln!("okta-oidc-doctor: {why}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.client_secret.is_none() {
        args.client_secret = std::env::var("OKTA_CLIENT_SECRET").ok();
    }
    let Some(secret) = args.client_secret.take() else {
        eprintln!("okta-oidc-doctor: --client-secret or OKTA_CLIENT_SECRET is required");
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let tenant = Tenant::new("doctor", args.issuer).client(args.client_id, secret);
    let mut options = DiagnosisOptions::new()
        .redirect_uri(args.redirect_uri)
        .allow_loopback_http(args.allow_loopback_http);
    if let Some(app_url) = args.app_url {
        options = options.app_url(app_url);
    }
    let diagnosis = Diagnosis::run(&tenant, &options).await;
    if args.json {
        println!("{}", diagnosis.to_json());
    } else {
        print!("{}", diagnosis.to_text());
    }
    if diagnosis.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags() {
        let ok = args(&[
            "--issuer",
            "https://acme.okta.com",
            "--client-id=0oa1",
            "--redirect-uri",
            "https://app/cb",
            "--json",
            "--allow-loopback-http",
            "--app-url",
            "https://app",
        ])
        .unwrap();
        assert_eq!(ok.issuer, "https://acme.okta.com");
        assert_eq!(ok.client_id, "0oa1");
        assert!(ok.json && ok.allow_loopback_http);
        assert_eq!(ok.app_url.as_deref(), Some("https://app"));
        assert_eq!(ok.client_secret, None);
        assert!(
            args(&["--issuer", "x", "--client-id", "y"]).is_err(),
            "no redirect URI"
        );
        assert!(args(&["--issuer"]).unwrap_err().contains("needs a value"));
        assert!(
            args(&["--issuer", "a", "--issuer", "b"])
                .unwrap_err()
                .contains("twice")
        );
        assert!(args(&["--bogus"]).unwrap_err().contains("unknown"));
        assert!(args(&["--json=1"]).is_err());
    }
}
