//! The api example's contract (README "The api example: DPoP and metadata"): every line of it
//! over real HTTP. The example's own `build` makes the router from a map of its environment
//! variables (tests run side by side in one process, so never the process environment), and
//! the test serves it on 127.0.0.1 and calls it with reqwest.
//!
//! RFC 9728 §2 (document), §3.1 (path-inserted URL), §5.1 (`resource_metadata`); RFC 9449 §4.3
//! (proof checks), §7.1 (`DPoP` scheme), §7.2 (bound token as `Bearer`), §9 (nonces).

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/api.rs"]
mod example;

use std::net::SocketAddr;

use example::shared::Env;
use example::{Api, DpopMode};
use okta_oidc::testing::{DpopKey, MockOkta};
use serde_json::{Value, json};

use crate::common::{capture_logs, client};

const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The example, served: its base URL (APP_BASE_URL when set), the mock org whose tokens it
/// takes, and the pieces of its start.
struct Running {
    /// `http://127.0.0.1:PORT`.
    origin: String,
    /// APP_BASE_URL (or the origin when unset).
    base: String,
    mock: MockOkta,
    api_dpop: DpopMode,
    samples: Option<String>,
    http: reqwest::Client,
}

/// Where APP_BASE_URL points.
enum Base<'a> {
    /// Unset (the example defaults to `http://BIND_ADDR`).
    Unset,
    /// `http://127.0.0.1:PORT` followed by this path (`""` or `/base`).
    Path(&'a str),
}

/// Starts the example with `vars` (plus APP_BASE_URL as `base` says), offline (its embedded
/// mock) unless `vars` name an issuer, in which case `mock` is the org they name.
async fn start(base: Base<'_>, vars: &[(&str, String)], mock: Option<MockOkta>) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let origin = format!("http://{addr}");
    let mut pairs: Vec<(&str, String)> = vars.to_vec();
    let base_url = match base {
        Base::Unset => origin.clone(),
        Base::Path(path) => {
            let url = format!("{origin}{path}");
            pairs.push(("APP_BASE_URL", url.clone()));
            url
        }
    };
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let api: Api = example::build(&Env::from_pairs(&pairs), addr)
        .await
        .unwrap_or_else(|e| panic!("the example did not start: {e}"));
    let samples = api.mock.as_ref().map(|okta| example::samples(okta, &api));
    let mock = mock.or_else(|| api.mock.clone()).expect("a mock org");
    let api_dpop = api.dpop;
    tokio::spawn(async move {
        let service = api
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service).await.unwrap();
    });
    Running {
        origin,
        base: base_url,
        mock,
        api_dpop,
        samples,
        http: client(),
    }
}

/// The variables of a tenant on an external mock org: its issuer, API audience, client.
fn org_vars(mock: &MockOkta) -> Vec<(&'static str, String)> {
    vec![
        ("OKTA_ISSUER", mock.issuer()),
        ("OKTA_AUDIENCE", "api://default".into()),
        ("OKTA_CLIENT_ID", mock.client_id()),
        ("OKTA_CLIENT_SECRET", mock.client_secret()),
        ("OKTA_ALLOW_LOOPBACK_HTTP", "1".into()),
    ]
}

fn dpop(mode: &str) -> (&'static str, String) {
    ("OKTA_DPOP", mode.to_owned())
}

/// A response read whole.
struct Answer {
    status: u16,
    challenges: Vec<String>,
    nonce: Option<String>,
    body: String,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.trim_end_matches('/'))
    }

    /// The URL of `/api/me` as clients call it.
    fn me(&self) -> String {
        self.url("/api/me")
    }

    async fn get(&self, url: &str, headers: &[(&str, &str)]) -> Answer {
        let mut request = self.http.get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        Answer {
            status: response.status().as_u16(),
            challenges: response
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect(),
            nonce: response
                .headers()
                .get("dpop-nonce")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: response.text().await.unwrap(),
        }
    }

    async fn bearer(&self, token: &str) -> Answer {
        self.get(&self.me(), &[("authorization", &format!("Bearer {token}"))])
            .await
    }

    /// `GET /api/me` with `Authorization: DPoP <token>` and `proof`.
    async fn dpop(&self, token: &str, proof: &str) -> Answer {
        self.get(
            &self.me(),
            &[("authorization", &format!("DPoP {token}")), ("dpop", proof)],
        )
        .await
    }

    /// A proof for `GET /api/me` with `token`, from the example's demo key.
    fn proof(&self, token: &str, nonce: Option<&str>) -> String {
        example::demo_proof("GET", &self.me(), token, nonce)
    }

    fn bound_token(&self) -> String {
        self.mock.access_token().bound_to(&DpopKey::es256()).build()
    }

    async fn metadata(&self, path: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{WELL_KNOWN}{path}", self.origin))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }

    /// The metadata URL every 401 must name.
    fn metadata_url(&self, path: &str) -> String {
        format!("{}{WELL_KNOWN}{path}", self.origin)
    }
}

/// Asserts a 401 whose every challenge names the metadata at `url` (RFC 9728 §5.1).
#[track_caller]
fn assert_401_names(answer: &Answer, url: &str) {
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(!answer.challenges.is_empty());
    for challenge in &answer.challenges {
        assert!(
            challenge.contains(&format!("resource_metadata=\"{url}\"")),
            "{challenge}"
        );
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_document_names_the_resource_exactly_and_the_tenants_issuer() {
    let s = start(Base::Path(""), &[], None).await;
    let (status, doc) = s.metadata("").await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], s.base.as_str(), "exactly APP_BASE_URL");
    assert_eq!(doc["authorization_servers"], json!([s.mock.issuer()]));
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    // DPoP off: the document says nothing of it.
    assert!(
        doc.get("dpop_signing_alg_values_supported").is_none(),
        "{doc}"
    );
    assert!(
        doc.get("dpop_bound_access_tokens_required").is_none(),
        "{doc}"
    );
    // APP_BASE_URL unset: the resource is the bound address.
    let unset = start(Base::Unset, &[], None).await;
    let (_, doc) = unset.metadata("").await;
    assert_eq!(doc["resource"], unset.origin.as_str());
}

#[tokio::test]
async fn a_base_url_with_a_path_serves_the_routes_under_it_and_the_path_inserted_document() {
    let s = start(Base::Path("/base"), &[dpop("allowed")], None).await;
    let (status, doc) = s.metadata("/base").await;
    assert_eq!(status, 200);
    assert_eq!(doc["resource"], format!("{}/base", s.origin).as_str());
    assert_eq!(doc["authorization_servers"], json!([s.mock.issuer()]));
    // The root form never answers with the document of a resource that has a path.
    let (root, _) = s.metadata("").await;
    assert_eq!(root, 404);
    assert_eq!(s.get(&s.url("/health"), &[]).await.status, 200);
    let token = s.mock.access_token().build();
    assert_eq!(s.bearer(&token).await.status, 200);
    // htu under the path: the origin plus the path clients call.
    let bound = s.bound_token();
    let reply = s.dpop(&bound, &s.proof(&bound, None)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let none = s.get(&s.me(), &[]).await;
    assert_401_names(&none, &s.metadata_url("/base"));
}

#[tokio::test]
async fn every_401_from_api_me_names_the_metadata() {
    for mode in ["", "allowed", "required"] {
        let vars = if mode.is_empty() {
            vec![]
        } else {
            vec![dpop(mode)]
        };
        let s = start(Base::Path(""), &vars, None).await;
        let url = s.metadata_url("");
        let expired = s.mock.access_token().claim("exp", 1_000_000).build();
        let bound = s.bound_token();
        let cases = [
            vec![],
            vec![("authorization", "Bearer not-a-token".to_owned())],
            vec![("authorization", format!("Bearer {expired}"))],
            vec![("authorization", format!("Bearer {bound}"))],
            vec![("authorization", format!("DPoP {bound}"))],
            vec![
                ("authorization", format!("DPoP {bound}")),
                ("dpop", "not-a-proof".to_owned()),
            ],
        ];
        for headers in cases {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let answer = s.get(&s.me(), &headers).await;
            assert_401_names(&answer, &url);
        }
    }
}

#[tokio::test]
async fn without_okta_dpop_the_dpop_scheme_is_not_accepted() {
    let s = start(Base::Path(""), &[], None).await;
    assert_eq!(s.api_dpop, DpopMode::Off);
    let bound = s.bound_token();
    let answer = s.dpop(&bound, &s.proof(&bound, None)).await;
    assert_eq!(answer.status, 401);
    let plain = s.mock.access_token().build();
    assert_eq!(s.bearer(&plain).await.status, 200);
}

#[tokio::test]
async fn okta_dpop_allowed_takes_dpop_and_bearer_for_unbound_tokens_only() {
    let s = start(Base::Path(""), &[dpop("allowed")], None).await;
    let (_, doc) = s.metadata("").await;
    let algs = strings(&doc["dpop_signing_alg_values_supported"]);
    for alg in ["ES256", "RS256", "PS256", "EdDSA"] {
        assert!(algs.iter().any(|a| a == alg), "{alg} in {algs:?}");
    }
    assert!(
        !algs
            .iter()
            .any(|a| a.eq_ignore_ascii_case("none") || a.starts_with("HS")),
        "{algs:?}"
    );
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(false));

    let bound = s.bound_token();
    let ok = s.dpop(&bound, &s.proof(&bound, None)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let claims: Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(claims["cnf"]["jkt"], DpopKey::es256().thumbprint().as_str());
    // Unbound as Bearer: fine. Bound as Bearer: 401 (RFC 9449 §7.2).
    assert_eq!(s.bearer(&s.mock.access_token().build()).await.status, 200);
    assert_eq!(s.bearer(&bound).await.status, 401);
    // One proof header only.
    let two = s
        .http
        .get(s.me())
        .header("authorization", format!("DPoP {bound}"))
        .header("dpop", s.proof(&bound, None))
        .header("dpop", s.proof(&bound, None))
        .send()
        .await
        .unwrap();
    assert!(
        matches!(two.status().as_u16(), 400 | 401),
        "{}",
        two.status()
    );
    // A proof is good once (its jti).
    let proof = s.proof(&bound, None);
    assert_eq!(s.dpop(&bound, &proof).await.status, 200);
    assert_eq!(s.dpop(&bound, &proof).await.status, 401);
}

#[tokio::test]
async fn okta_dpop_required_refuses_bearer_with_a_dpop_challenge() {
    let s = start(Base::Path(""), &[dpop("required")], None).await;
    let (_, doc) = s.metadata("").await;
    assert_eq!(doc["dpop_bound_access_tokens_required"], json!(true));
    let refused = s.bearer(&s.mock.access_token().build()).await;
    assert_eq!(refused.status, 401);
    let challenge = refused
        .challenges
        .iter()
        .find(|c| c.starts_with("DPoP "))
        .unwrap_or_else(|| panic!("a DPoP challenge in {:?}", refused.challenges));
    assert!(challenge.contains("algs=\""), "{challenge}");
    assert!(challenge.contains("ES256"), "{challenge}");
    let bound = s.bound_token();
    assert_eq!(s.dpop(&bound, &s.proof(&bound, None)).await.status, 200);
}

#[tokio::test]
async fn instances_with_the_same_nonce_secret_accept_each_others_nonces() {
    let mock = MockOkta::start().await;
    let with_secret = |secret: &str| {
        let mut vars = org_vars(&mock);
        vars.push(dpop("allowed"));
        vars.push(("OKTA_DPOP_NONCE_SECRET", secret.to_owned()));
        vars
    };
    let a = start(Base::Path(""), &with_secret("shared"), Some(mock.clone())).await;
    let b = start(Base::Path(""), &with_secret("shared"), Some(mock.clone())).await;
    let other = start(Base::Path(""), &with_secret("another"), Some(mock.clone())).await;
    let bound = a.bound_token();
    // RFC 9449 §9: no nonce, then use_dpop_nonce with the nonce to retry with.
    let first = a.dpop(&bound, &a.proof(&bound, None)).await;
    assert_eq!(first.status, 401);
    assert!(
        first
            .challenges
            .iter()
            .any(|c| c.contains("use_dpop_nonce"))
    );
    let nonce = first.nonce.expect("a DPoP-Nonce header");
    let retry = a.dpop(&bound, &a.proof(&bound, Some(&nonce))).await;
    assert_eq!(retry.status, 200, "{}", retry.body);
    // Another instance with the same secret takes it; one with another secret does not.
    let at_b = b.dpop(&bound, &b.proof(&bound, Some(&nonce))).await;
    assert_eq!(at_b.status, 200, "{}", at_b.body);
    let at_other = other.dpop(&bound, &other.proof(&bound, Some(&nonce))).await;
    assert_eq!(at_other.status, 401);
}

#[tokio::test]
async fn htu_is_the_base_urls_origin_and_the_path_never_host_or_forwarded_headers() {
    let s = start(Base::Path(""), &[dpop("allowed")], None).await;
    let bound = s.bound_token();
    let spoofed = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("x-forwarded-proto", "https"),
    ];
    // A proof for the URL the headers claim: refused.
    let evil = example::demo_proof("GET", "https://evil.example/api/me", &bound, None);
    let auth = format!("DPoP {bound}");
    let mut headers = vec![("authorization", auth.as_str()), ("dpop", evil.as_str())];
    headers.extend(spoofed);
    assert_eq!(s.get(&s.me(), &headers).await.status, 401);
    // A proof for APP_BASE_URL's origin and the path: accepted whatever the headers say.
    let good = s.proof(&bound, None);
    let mut headers = vec![("authorization", auth.as_str()), ("dpop", good.as_str())];
    headers.extend(spoofed);
    let answer = s.get(&s.me(), &headers).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn an_introspected_token_with_cnf_jkt_and_token_type_dpop_is_bound() {
    let mock = MockOkta::start().await;
    let mut vars = org_vars(&mock);
    vars.push(dpop("allowed"));
    let s = start(Base::Path(""), &vars, Some(mock.clone())).await;
    let opaque = mock.opaque_token(json!({
        "token_type": "DPoP",
        "cnf": {"jkt": DpopKey::es256().thumbprint()},
    }));
    let ok = s.dpop(&opaque, &s.proof(&opaque, None)).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(s.bearer(&opaque).await.status, 401);
    // OKTA_AUDIENCE keeps its meaning: a JWT access token for it passes as Bearer.
    assert_eq!(s.bearer(&mock.access_token().build()).await.status, 200);
}

#[tokio::test]
async fn the_offline_start_prints_a_dpop_call_that_works() {
    let s = start(Base::Unset, &[dpop("allowed")], None).await;
    let samples = s.samples.clone().unwrap();
    let line = samples
        .lines()
        .find(|l| l.starts_with("T="))
        .unwrap_or_else(|| panic!("a DPoP call in {samples}"));
    let token = &line[2..line.find(';').unwrap()];
    assert!(line.contains("dpop-proof GET"), "{line}");
    assert!(line.contains(&s.me()), "{line}");
    // What the line's `dpop-proof` command prints, for the URL it names.
    let answer = s.dpop(token, &s.proof(token, None)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    // The bearer curl line is still there, and with DPoP off the DPoP line says what to set.
    assert!(
        samples
            .lines()
            .any(|l| l.starts_with("curl -s -H 'Authorization: Bearer "))
    );
    let off = start(Base::Unset, &[], None).await;
    assert!(
        off.samples
            .unwrap()
            .contains("start with OKTA_DPOP=allowed")
    );
}

/// The example's start-up errors are `Display` text that names the variable to change.
#[tokio::test]
async fn start_up_errors_name_the_variable_to_change() {
    let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[
                ("OKTA_ISSUER", "http://127.0.0.1:9/"),
                ("OKTA_AUDIENCE", "api://default"),
            ],
            "set OKTA_ALLOW_LOOPBACK_HTTP=1",
        ),
        (
            &[
                ("OKTA_ISSUER", "ftp://acme.okta.com"),
                ("OKTA_AUDIENCE", "api://default"),
            ],
            "OKTA_ISSUER",
        ),
        (&[("OKTA_ISSUER", "https://acme.okta.com")], "OKTA_AUDIENCE"),
        (&[("OKTA_DPOP", "sometimes")], "OKTA_DPOP"),
        (&[("OKTA_DPOP_NONCE_SECRET", "s")], "OKTA_DPOP=allowed"),
    ];
    for (vars, expected) in cases {
        let Err(error) = example::build(&Env::from_pairs(vars), addr).await else {
            panic!("{vars:?} started");
        };
        assert!(error.contains(expected), "{vars:?}: {error}");
        assert!(
            !error.contains("InvalidIssuer {") && !error.contains("Invalid(\""),
            "{error}"
        );
    }
    // The web app's session secret, in the same words.
    let short = okta_oidc::ConfigError::Invalid("session secrets must be at least 32 bytes");
    let text = example::shared::explain_config_error(&short);
    assert!(
        text.starts_with("SESSION_SECRET: session secrets"),
        "{text}"
    );
}

/// A single issuer whose host does not resolve stops the start, naming OKTA_ISSUER and the
/// DNS cause; one that refuses connections starts (the org may come up) and logs the cause.
#[tokio::test]
async fn an_issuer_that_does_not_resolve_stops_the_start_with_the_cause() {
    let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let vars = [
        ("OKTA_ISSUER", "https://dev-000.okta.invalid/oauth2/default"),
        ("OKTA_AUDIENCE", "api://default"),
    ];
    let Err(error) = example::build(&Env::from_pairs(&vars), addr).await else {
        panic!("started with an issuer that does not resolve");
    };
    assert!(
        error.contains("OKTA_ISSUER=https://dev-000.okta.invalid"),
        "{error}"
    );
    assert!(error.contains("not found (DNS"), "{error}");
    assert!(error.contains("check OKTA_ISSUER"), "{error}");

    let (_reserved, refusing) = crate::common::refusing_address();
    let issuer = format!("http://{refusing}");
    let logs = capture_logs();
    let vars = [
        ("OKTA_ISSUER", issuer.as_str()),
        ("OKTA_AUDIENCE", "api://default"),
        ("OKTA_ALLOW_LOOPBACK_HTTP", "1"),
    ];
    let started = example::build(&Env::from_pairs(&vars), addr).await;
    assert!(started.is_ok(), "{:?}", started.err());
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("OKTA_ISSUER cannot be loaded yet") && l.contains(&issuer))
        .unwrap_or_else(|| panic!("no warning in {text}"));
    assert!(line.to_lowercase().contains("refused"), "the cause: {line}");
}

/// Issue 17 item 13: a path that no route serves answers 404, not the layer's 401 (the layer
/// sits on the protected routes, not on the fallback).
#[tokio::test]
async fn paths_no_route_serves_are_404() {
    for base in [Base::Unset, Base::Path("/base")] {
        let api = start(base, &[], None).await;
        for path in [
            "/nope".to_owned(),
            format!("{WELL_KNOWN}/elsewhere"),
            "/api/me/more".to_owned(),
        ] {
            let response = api.http.get(format!("{}{path}", api.origin)).send().await;
            assert_eq!(response.unwrap().status(), 404, "{path}");
        }
        let me = api.http.get(format!("{}/api/me", api.base)).send().await;
        assert_eq!(me.unwrap().status(), 401, "the protected route still is");
    }
}

/// Issue 17: with `OKTA_TENANTS_FILE`, `X-Okta-Tenant` names the request's tenant for every
/// credential: a JWT of another tenant is 401; `TRUSTED_PROXIES` gives the client address that
/// budget shares count by, and a malformed one names the variable.
#[tokio::test]
async fn the_tenant_header_pins_every_credential_and_trusted_proxies_are_read() {
    let (a, b) = (MockOkta::start().await, MockOkta::start().await);
    let dir = std::env::temp_dir().join(format!("okta-oidc-tenants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.json", a.issuer().replace([':', '/', '.'], "_")));
    let tenant = |id: &str, mock: &MockOkta| {
        json!({"id": id, "issuer": mock.issuer(), "client_id": mock.client_id(),
               "client_secret": mock.client_secret(), "audience": "api://default"})
    };
    std::fs::write(&file, json!([tenant("a", &a), tenant("b", &b)]).to_string()).unwrap();
    let vars = [
        ("OKTA_TENANTS_FILE", file.display().to_string()),
        ("OKTA_ALLOW_LOOPBACK_HTTP", "1".into()),
        ("TRUSTED_PROXIES", "127.0.0.1, ::1".into()),
    ];
    let api = start(Base::Unset, &vars, Some(a.clone())).await;
    let status = |token: String, tenant: &'static str| {
        let request = api
            .http
            .get(format!("{}/api/me", api.base))
            .bearer_auth(token)
            .header("x-okta-tenant", tenant);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(a.access_token().build(), "a").await, 200);
    assert_eq!(
        status(a.access_token().build(), "b").await,
        401,
        "a's JWT on b"
    );
    assert_eq!(status(b.access_token().build(), "b").await, 200);
    assert_eq!(
        status(b.opaque_token(json!({})), "a").await,
        401,
        "b's opaque on a"
    );
    std::fs::remove_file(&file).ok();

    let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
    let bad = Env::from_pairs(&[("TRUSTED_PROXIES", "10.0.0.1,proxy.local")]);
    let Err(error) = example::build(&bad, addr).await else {
        panic!("a malformed TRUSTED_PROXIES started");
    };
    assert!(error.contains("TRUSTED_PROXIES"), "{error}");
}

/// Okta's Universal Logout request names the app by its client id (the request's `sub`): with
/// `OKTA_CLIENT_ID` alone (no secret, no introspection) beside `OKTA_AUDIENCE`, the api example
/// accepts it; with `OKTA_AUDIENCE` alone it refuses it, and says so at start.
#[tokio::test]
async fn okta_client_id_alone_names_the_app_for_universal_logout() {
    let mock = MockOkta::start().await;
    let vars = |client_id: bool| {
        let mut vars = vec![
            ("OKTA_ISSUER", mock.issuer()),
            ("OKTA_AUDIENCE", "api://default".to_owned()),
            ("OKTA_ALLOW_LOOPBACK_HTTP", "1".to_owned()),
        ];
        if client_id {
            vars.push(("OKTA_CLIENT_ID", mock.client_id()));
        }
        vars
    };
    let logs = crate::common::capture_logs();
    let named = start(Base::Path(""), &vars(true), Some(mock.clone())).await;
    let endpoint = format!("{}/auth/global-token-revocation", named.base);
    assert_eq!(
        mock.universal_logout(&endpoint, mock.iss_sub("00u1")).await,
        204
    );
    // The access tokens of the API audience still pass, and no introspection is configured.
    let token = mock.access_token().build();
    let me = named
        .http
        .get(format!("{}/api/me", named.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert!(!logs.text().contains("set OKTA_CLIENT_ID"));

    let unnamed = start(Base::Path(""), &vars(false), Some(mock.clone())).await;
    let endpoint = format!("{}/auth/global-token-revocation", unnamed.base);
    assert_eq!(
        mock.universal_logout(&endpoint, mock.iss_sub("00u2")).await,
        401
    );
    assert!(
        logs.text().contains("set OKTA_CLIENT_ID"),
        "the start-up warning: {}",
        logs.text()
    );
}

/// README "Observability": `METRICS_ADDR` serves the catalogue's metrics in the Prometheus
/// text format on its own listener, with the counts of the traffic the API saw; the API's own
/// port serves no metrics.
#[cfg(feature = "metrics")]
#[tokio::test]
async fn metrics_addr_serves_the_catalogue_in_prometheus_text() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_addr = free.local_addr().unwrap();
    drop(free);
    let env = Env::from_pairs(&[("METRICS_ADDR", &metrics_addr.to_string())]);
    let (addr, builder) = example::prometheus(&env).unwrap().unwrap();
    assert_eq!(addr, metrics_addr);
    // The example installs it for the process; tests share one process, so here it is this
    // test's thread's recorder.
    let (recorder, exporter) = builder.build().unwrap();
    let recorder = Box::leak(Box::new(recorder));
    let _guard = metrics::set_default_local_recorder(recorder);
    tokio::spawn(exporter);

    let running = start(Base::Unset, &[], None).await;
    let token = running.mock.access_token().build();
    for _ in 0..3 {
        let answer = running
            .get(
                &running.me(),
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert_eq!(answer.status, 200);
    }
    let expired = running.mock.access_token().expires_in(-3600).build();
    let answer = running
        .get(
            &running.me(),
            &[("authorization", &format!("Bearer {expired}"))],
        )
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(running.get(&running.me(), &[]).await.status, 401);

    let text = running
        .http
        .get(format!("http://{metrics_addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |name: &str, labels: &[&str]| -> Option<f64> {
        text.lines()
            .filter(|line| {
                line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
            })
            .find(|line| labels.iter().all(|label| line.contains(label)))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let requests = "okta_oidc_requests_total";
    assert_eq!(
        value(
            requests,
            &[
                r#"outcome="accepted""#,
                r#"scheme="bearer""#,
                r#"reason="ok""#
            ]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(requests, &[r#"outcome="rejected""#, r#"reason="expired""#]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value(requests, &[r#"scheme="none""#, r#"reason="missing""#]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("okta_oidc_tenants", &[r#"source="registered""#]),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value("okta_oidc_revocation_store_connected", &[]),
        Some(1.0),
        "{text}"
    );
    assert!(
        value(
            "okta_oidc_key_set_refreshes_total",
            &[r#"result="updated""#]
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE okta_oidc_requests_total counter"),
        "{text}"
    );
    assert!(text.contains("# HELP okta_oidc_requests_total"), "{text}");
    assert!(
        text.contains("okta_oidc_verification_duration_seconds"),
        "{text}"
    );

    let api_port = running
        .http
        .get(running.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_ne!(api_port.status(), 200, "the API's port serves no metrics");
}

/// README "Step-up authentication": `GET /api/step-up` requires `STEP_UP_ACR` (any one of the
/// comma-separated values) and `STEP_UP_MAX_AGE` (seconds since `auth_time`), answering 401
/// `insufficient_user_authentication` with both on the challenge (RFC 9470 §3); both unset, it
/// is served like `/api/me`.
#[tokio::test]
async fn step_up_route_requires_the_configured_acr_and_max_age() {
    let now = crate::common::now();
    let vars = [
        (
            "STEP_UP_ACR",
            "urn:okta:loa:2fa:any, urn:okta:loa:2fa:any:ifpossible".to_owned(),
        ),
        ("STEP_UP_MAX_AGE", "300".to_owned()),
    ];
    let running = start(Base::Unset, &vars, None).await;
    let url = running.url("/api/step-up");
    let bearer = |token: &str| format!("Bearer {token}");
    let weak = running
        .mock
        .access_token()
        .claim("acr", "urn:okta:loa:1fa:pwd")
        .claim("auth_time", now - 10)
        .build();
    let answer = running
        .get(&url, &[("authorization", &bearer(&weak))])
        .await;
    assert_eq!(answer.status, 401);
    let challenge = &answer.challenges[0];
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#),
        "{challenge}"
    );
    assert!(
        challenge.contains(r#"acr_values="urn:okta:loa:2fa:any urn:okta:loa:2fa:any:ifpossible""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"max_age="300""#), "{challenge}");
    // The same token passes /api/me.
    let me = running
        .get(&running.me(), &[("authorization", &bearer(&weak))])
        .await;
    assert_eq!(me.status, 200);
    let strong = running
        .mock
        .access_token()
        .claim("acr", "urn:okta:loa:2fa:any:ifpossible")
        .claim("auth_time", now - 10)
        .build();
    let answer = running
        .get(&url, &[("authorization", &bearer(&strong))])
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Unset: like /api/me.
    let plain = start(Base::Unset, &[], None).await;
    let weak = plain
        .mock
        .access_token()
        .claim("acr", "urn:okta:loa:1fa:pwd")
        .build();
    let answer = plain
        .get(
            &plain.url("/api/step-up"),
            &[("authorization", &bearer(&weak))],
        )
        .await;
    assert_eq!(answer.status, 200);
    // A bad STEP_UP_MAX_AGE names the variable.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let error = example::build(&Env::from_pairs(&[("STEP_UP_MAX_AGE", "soon")]), addr)
        .await
        .err()
        .expect("refused");
    assert!(error.contains("STEP_UP_MAX_AGE"), "{error}");
}
