//! The fuzz targets' inputs as regression tests: every committed seed (`fuzz/corpus/<target>/`)
//! and every input that once crashed a target (`fuzz/regressions/<target>/`) is replayed
//! through the same entry points the fuzzer uses (`okta_oidc::__fuzz`, feature `fuzzing`).
//!
//! A crash found by `scripts/fuzz.sh` is fixed, then its input is copied to
//! `fuzz/regressions/<target>/` and a named test added below when the case deserves one. The
//! structure-aware targets (`dpop`, `universal_logout`, `backchannel_logout`: inputs starting
//! with the byte 0xFF) are committed in their text form, which
//! `OKTA_FUZZ_RENDER=1 fuzz/target/fuzz-run/bin/<target> <crash file>` prints.
//!
//! The seeds themselves are written by the ignored test `regenerate_fuzz_seeds`:
//! `cargo test --all-features --test it -- --ignored fuzz_regressions::regenerate_fuzz_seeds`.
#![cfg(all(feature = "fuzzing", feature = "rust_crypto"))]

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_oidc::__fuzz::{
    self, AUDIENCE, CLIENT_ID, Harness, ISSUER, LOGIN_STATE, NOW, SESSION_COOKIE, Signals, TENANT,
};
use okta_oidc::testing::MockOkta;
use serde_json::{Value, json};

const KEYS: &[u8] = include_bytes!("../../fuzz/keys.json");

const TARGETS: [&str; 13] = [
    "bearer",
    "jwks",
    "discovery",
    "introspection",
    "session_cookie",
    "login_cookie",
    "callback",
    "dpop",
    "htu",
    "universal_logout",
    "backchannel_logout",
    "revocation_wire",
    "resource_metadata",
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(kind: &str, target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = fuzz_dir().join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

fn run(harness: &Harness, signals: &Signals, target: &str, data: &[u8]) {
    match target {
        "dpop" => {
            signals.dpop(data);
        }
        "htu" => {
            __fuzz::htu(data);
        }
        "universal_logout" => {
            signals.universal_logout(data);
        }
        "backchannel_logout" => {
            signals.backchannel_logout(data);
        }
        "revocation_wire" => {
            __fuzz::revocation_wire(data);
        }
        "resource_metadata" => {
            signals.resource_metadata(data);
        }
        "bearer" => {
            harness.bearer(data);
        }
        "jwks" => {
            let _ = __fuzz::jwks(data);
        }
        "discovery" => {
            let _ = __fuzz::discovery(data);
        }
        "introspection" => {
            let _ = __fuzz::introspection(data);
        }
        "session_cookie" => {
            harness.session_cookie(data);
        }
        "login_cookie" => {
            harness.login_cookie(data);
        }
        "callback" => {
            harness.callback(data);
        }
        other => panic!("unknown target {other}"),
    }
}

/// Every seed and every past crash input runs through its target without a panic.
#[test]
fn replay_seed_corpus_and_past_crashes() {
    let harness = Harness::new(KEYS);
    let signals = Signals::new(KEYS);
    let mut seeds = 0;
    for target in TARGETS {
        let corpus = inputs("corpus", target);
        assert!(!corpus.is_empty(), "no seed corpus for {target}");
        for (path, data) in corpus.iter().chain(&inputs("regressions", target)) {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run(&harness, &signals, target, data)
            }));
            assert!(outcome.is_ok(), "{target} panicked on {}", path.display());
            seeds += 1;
        }
    }
    assert!(seeds >= TARGETS.len() * 3);
}

/// The seeds are real-shaped: the valid ones get all the way through, so the fuzzer starts
/// from inputs that reach the signature check, the session and the code exchange.
#[test]
fn valid_seeds_are_accepted() {
    let harness = Harness::new(KEYS);
    let read = |target: &str, name: &str| {
        std::fs::read(fuzz_dir().join("corpus").join(target).join(name)).unwrap()
    };
    assert_eq!(harness.bearer(&read("bearer", "id-token-rs256")), 200);
    assert_eq!(harness.bearer(&read("bearer", "access-token-rs256")), 200);
    assert_eq!(harness.bearer(&read("bearer", "access-token-es256")), 200);
    assert_eq!(harness.bearer(&read("bearer", "expired")), 401);
    assert!(__fuzz::jwks(&read("jwks", "okta-like")).unwrap() >= 3);
    assert!(__fuzz::discovery(&read("discovery", "okta-org")).is_ok());
    assert!(__fuzz::introspection(&read("introspection", "active")).is_ok());
    assert_eq!(
        harness.session_cookie(&read("session_cookie", "sealed-valid")),
        200
    );
    // A valid login cookie gets to the code exchange, which the harness cannot do (no token
    // endpoint): 502, not a sign-in.
    assert_eq!(
        harness.login_cookie(&read("login_cookie", "sealed-valid")),
        502
    );
    assert_eq!(harness.callback(&read("callback", "valid-state")), 502);
    assert_eq!(harness.callback(&read("callback", "error")), 403);
}

/// The harness's key set is the one the seed tokens were signed with.
#[test]
fn keyless_rules_accept_the_seed_token() {
    let token = std::fs::read(fuzz_dir().join("corpus/bearer/id-token-rs256")).unwrap();
    assert_eq!(__fuzz::token(&token), Ok(()));
    assert!(__fuzz::token(b"eyJ.e30.x").is_err());
}

// ------------------------------------------------------------------ seeds

fn write(target: &str, name: &str, data: impl AsRef<[u8]>) {
    let dir = fuzz_dir().join("corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), data).unwrap();
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Writes `fuzz/keys.json` and the seed corpus. Run by hand after a format change.
#[test]
#[ignore = "writes files under fuzz/; run by hand"]
fn regenerate_fuzz_seeds() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockOkta::start());
    let ec = mock.publish_ec_key();
    let ed = mock.publish_ed_key();
    let now = NOW as i64;
    let keys = mock.jwks();
    std::fs::write(fuzz_dir().join("keys.json"), keys.to_string()).unwrap();
    let rsa = mock.signing_kid();
    let id = |b: okta_oidc::testing::TokenBuilder| {
        b.claim("iss", ISSUER)
            .claim("aud", CLIENT_ID)
            .claim("iat", now)
            .claim("exp", now + 3600)
            .claim("auth_time", now)
            .claim("jti", "ID.seed")
    };
    let at = |b: okta_oidc::testing::TokenBuilder| {
        b.claim("iss", ISSUER)
            .claim("aud", AUDIENCE)
            .claim("cid", CLIENT_ID)
            .claim("iat", now)
            .claim("exp", now + 3600)
            .claim("auth_time", now)
            .claim("jti", "AT.seed")
    };
    let id_token = id(mock.id_token()).build();

    // bearer
    write("bearer", "id-token-rs256", &id_token);
    write(
        "bearer",
        "access-token-rs256",
        at(mock.access_token()).build(),
    );
    write(
        "bearer",
        "access-token-es256",
        at(mock.access_token()).kid(&ec).alg("ES256").build(),
    );
    write(
        "bearer",
        "access-token-eddsa",
        at(mock.access_token()).kid(&ed).alg("EdDSA").build(),
    );
    write(
        "bearer",
        "expired",
        id(mock.id_token()).claim("exp", now - 3600).build(),
    );
    write(
        "bearer",
        "unknown-kid",
        id(mock.id_token()).kid("not-published").build(),
    );
    write(
        "bearer",
        "alg-none",
        format!(
            "{}.{}.",
            b64(&json!({"alg":"none","kid":rsa})),
            id_token.split('.').nth(1).unwrap()
        ),
    );
    write("bearer", "opaque", "00Tq8vS2ZcYZ0sVqL1Xa");
    write(
        "bearer",
        "org-access-token",
        at(mock.access_token())
            .claim("aud", ISSUER)
            .kid("org-as-unpublished")
            .signature("c2ln")
            .build(),
    );

    // jwks
    write("jwks", "okta-like", keys.to_string());
    write(
        "jwks",
        "mixed",
        json!({"keys":[
            {"kty":"oct","kid":"h","k":"c2VjcmV0"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"e","crv":"P-384","x":"AA","y":"AA"},
            {"kty":"OKP","kid":"o","crv":"X25519","x":"AA"},
            keys["keys"][0],
        ]})
        .to_string(),
    );
    write("jwks", "empty", r#"{"keys":[]}"#);

    // discovery
    let mut doc = json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/oauth2/v1/authorize"),
        "token_endpoint": format!("{ISSUER}/oauth2/v1/token"),
        "userinfo_endpoint": format!("{ISSUER}/oauth2/v1/userinfo"),
        "jwks_uri": format!("{ISSUER}/oauth2/v1/keys"),
        "end_session_endpoint": format!("{ISSUER}/oauth2/v1/logout"),
        "introspection_endpoint": format!("{ISSUER}/oauth2/v1/introspect"),
        "revocation_endpoint": format!("{ISSUER}/oauth2/v1/revoke"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    });
    write("discovery", "okta-org", doc.to_string());
    doc["issuer"] = json!(format!("{ISSUER}/"));
    write("discovery", "issuer-mismatch", doc.to_string());
    doc["issuer"] = json!(ISSUER);
    doc["jwks_uri"] = json!("http://fuzz.okta.example/keys");
    write("discovery", "insecure-jwks-uri", doc.to_string());

    // introspection
    let active = json!({
        "active": true, "scope": "openid profile email", "client_id": CLIENT_ID,
        "username": "user@example.com", "sub": "user@example.com", "uid": "00u1",
        "iss": ISSUER, "aud": ISSUER, "iat": now, "exp": now + 3600, "token_type": "Bearer",
    });
    write("introspection", "active", active.to_string());
    write("introspection", "inactive", r#"{"active":false}"#);
    let mut expired = active.clone();
    expired["exp"] = json!(now - 1);
    write("introspection", "expired", expired.to_string());
    let mut wrong = active.clone();
    wrong["exp"] = json!("soon");
    write("introspection", "wrong-type", wrong.to_string());

    // session cookie: sealed JSON (the harness seals input starting with `{`) and raw headers
    let ms = NOW * 1000;
    let session = json!({
        "tenant_id": TENANT, "issuer": ISSUER, "client_id": CLIENT_ID, "id_token": id_token,
        "userinfo": {"locale": "en-US"}, "signed_in_at": ms, "last_seen_at": ms,
    });
    write("session_cookie", "sealed-valid", session.to_string());
    let mut other = session.clone();
    other["tenant_id"] = json!("other-tenant");
    write("session_cookie", "sealed-other-tenant", other.to_string());
    let harness = Harness::new(keys.to_string().as_bytes());
    let sealed = harness.seal_session(session.to_string().as_bytes());
    write(
        "session_cookie",
        "raw-sealed",
        format!("{SESSION_COOKIE}={sealed}; theme=dark"),
    );
    write(
        "session_cookie",
        "raw-chunks",
        format!("{SESSION_COOKIE}=2.AQID; {SESSION_COOKIE}_1=BAUG"),
    );

    // login cookie (state fixed by the harness)
    let login = json!({
        "state": LOGIN_STATE, "nonce": "bm9uY2UtZm9yLWZ1enppbmc",
        "pkce_verifier": "dmVyaWZpZXItZm9yLWZ1enppbmc", "tenant_id": TENANT, "issuer": ISSUER,
        "client_id": CLIENT_ID, "return_to": "/profile", "started_at": ms,
    });
    write("login_cookie", "sealed-valid", login.to_string());
    let mut stale = login.clone();
    stale["started_at"] = json!(ms - 3_600_000);
    write("login_cookie", "sealed-expired", stale.to_string());
    let name = format!("okta_login_{}", &LOGIN_STATE[..16]);
    write(
        "login_cookie",
        "raw",
        harness.seal_login(&name, login.to_string().as_bytes()),
    );

    // callback: query, newline, login cookie
    write(
        "callback",
        "valid-state",
        format!("code=abc123&state={LOGIN_STATE}&iss={ISSUER}\n{login}"),
    );
    write(
        "callback",
        "error",
        format!("error=access_denied&error_description=denied&state={LOGIN_STATE}\n"),
    );
    write(
        "callback",
        "repeated-state",
        format!("code=a&state={LOGIN_STATE}&state={LOGIN_STATE}\n{login}"),
    );
    write(
        "callback",
        "raw-cookie",
        format!(
            "code=a&state={LOGIN_STATE}\n{name}={}",
            harness.seal_login(&name, login.to_string().as_bytes())
        ),
    );
}

// ------------------------------------------------------------------ found by fuzzing

/// `jwks` crash (fuzz/regressions/jwks/crash-80885f…): the same key listed twice without a
/// `kid` was kept twice, so a token without a `kid` found two candidates and was refused as
/// ambiguous (401), and a refresh gave both copies the id of the first.
#[test]
fn identical_keys_without_kid_are_kept_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mock = runtime.block_on(MockOkta::start());
    let mut rsa = mock.jwks()["keys"][0].clone();
    rsa.as_object_mut().unwrap().remove("kid");
    let doc = json!({ "keys": [rsa.clone(), rsa] }).to_string();
    assert_eq!(__fuzz::jwks(doc.as_bytes()), Ok(1));
    let harness = Harness::new(doc.as_bytes());
    let token = mock
        .access_token()
        .without_header("kid")
        .claim("iss", ISSUER)
        .claim("aud", AUDIENCE)
        .claim("cid", CLIENT_ID)
        .claim("iat", NOW)
        .claim("exp", NOW + 3600)
        .build();
    assert!(
        harness.validate(&token).is_ok(),
        "{:?}",
        harness.validate(&token)
    );
    drop(harness);
}
