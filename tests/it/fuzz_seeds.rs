//! The seeds of the fuzz targets of the third wave (`dpop`, `htu`, `universal_logout`,
//! `backchannel_logout`, `revocation_wire`, `resource_metadata`): valid and forged examples, in
//! the text form the harness reads, taken from this suite's own cases (RFC 9449 proofs, Okta's
//! Universal Logout call, OIDC Back-Channel Logout tokens, the Redis values of
//! `store/redis_state.rs`, RFC 9728 paths).
//!
//! `valid_signal_seeds_are_answered_as_the_server_would` checks that the valid seeds get all
//! the way through (so the fuzzer starts from inputs past the signature) and the forged ones
//! are refused for their reason; `regenerate_signal_seeds` (ignored) writes them:
//! `cargo test --all-features --test it -- --ignored fuzz_seeds::regenerate_signal_seeds`.
#![cfg(all(feature = "fuzzing", feature = "rust_crypto"))]

use std::path::{Path, PathBuf};

use okta_oidc::__fuzz::{
    self, ISSUER, ISSUER2, NOW, RSA_KID, SIGNAL_KID, Signals, TENANT, logout_claims, proof_claims,
    universal_claims,
};
use okta_oidc::store::{Revocation, RevocationKind};
use serde_json::{Value, json};

const KEYS: &[u8] = include_bytes!("../../fuzz/keys.json");

fn corpus(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn read(target: &str, name: &str) -> Vec<u8> {
    std::fs::read(corpus(target).join(name)).unwrap_or_else(|e| panic!("seed {target}/{name}: {e}"))
}

fn with(mut v: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        v.as_object_mut().unwrap().remove(name);
    } else {
        v[name] = value;
    }
    v
}

/// Every seed: (target, name, text form).
fn seeds(signals: &Signals) -> Vec<(&'static str, &'static str, String)> {
    let mut out = Vec::new();
    let mut add = |t: &'static str, n: &'static str, s: String| out.push((t, n, s));

    // dpop: RFC 9449 §4.3
    let proof = proof_claims(signals, "seed-proof-1");
    let get = "\nGET /v1/api/me";
    add("dpop", "valid", format!("{proof}{get}"));
    add(
        "dpop",
        "valid-query",
        format!("{proof}\nGET /v1/api/me?page=2"),
    );
    let equivalent = with(
        proof.clone(),
        "htu",
        json!("HTTPS://API.Fuzz.Example:443/v1/./x/../%61pi/me?q=1#f"),
    );
    add("dpop", "htu-equivalent", format!("{equivalent}{get}"));
    add(
        "dpop",
        "htu-other-path",
        format!(
            "{}{get}",
            with(
                proof.clone(),
                "htu",
                json!("https://api.fuzz.example/v1/api/you")
            )
        ),
    );
    add(
        "dpop",
        "htm-post",
        format!("{}{get}", with(proof.clone(), "htm", json!("POST"))),
    );
    add(
        "dpop",
        "stale",
        format!("{}{get}", with(proof.clone(), "iat", json!(NOW - 3600))),
    );
    add(
        "dpop",
        "wrong-ath",
        format!("{}{get}", with(proof.clone(), "ath", json!("AAAA"))),
    );
    add(
        "dpop",
        "no-jti",
        format!("{}{get}", with(proof.clone(), "jti", Value::Null)),
    );
    let jwk = signals.client_jwk();
    let header = |typ: &str, alg: &str, jwk: &Value| json!({"typ": typ, "alg": alg, "jwk": jwk});
    add(
        "dpop",
        "typ-jwt",
        format!("{}\t{proof}{get}", header("JWT", "EdDSA", &jwk)),
    );
    add(
        "dpop",
        "alg-none",
        format!("{}\t{proof}{get}", header("dpop+jwt", "none", &jwk)),
    );
    let mut private = jwk.clone();
    private["d"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    add(
        "dpop",
        "private-jwk",
        format!("{}\t{proof}{get}", header("dpop+jwt", "EdDSA", &private)),
    );
    add("dpop", "not-a-jws", format!("eyJ.e30{get}"));
    let post = with(proof.clone(), "htm", json!("POST"));
    add("dpop", "valid-post", format!("{post}\nPOST /v1/api/me"));
    let other = with(
        proof.clone(),
        "htu",
        json!("https://api.fuzz.example/v1/other"),
    );
    add(
        "dpop",
        "valid-other-path",
        format!("{other}\nGET /v1/other"),
    );

    // htu: RFC 3986 §6.2.2–6.2.3
    for (name, a, b) in [
        (
            "same-case",
            "https://API.example.com/a",
            "https://api.example.com/a",
        ),
        (
            "same-port",
            "HTTPS://api.example.com:443/a",
            "https://api.example.com/a",
        ),
        (
            "same-dots",
            "https://api.example.com/a/./b/../c",
            "https://api.example.com/a/c",
        ),
        (
            "same-escape",
            "https://api.example.com/%7euser",
            "https://api.example.com/~user",
        ),
        (
            "same-hex-case",
            "https://api.example.com/a%2fb",
            "https://api.example.com/a%2Fb",
        ),
        (
            "different-slash",
            "https://api.example.com/a%2Fb",
            "https://api.example.com/a/b",
        ),
        (
            "different-path-case",
            "https://api.example.com/A",
            "https://api.example.com/a",
        ),
        (
            "different-port",
            "https://api.example.com:8443/a",
            "https://api.example.com/a",
        ),
        (
            "userinfo",
            "https://u:p@api.example.com/a",
            "https://api.example.com/a",
        ),
        (
            "ipv6",
            "http://[::1]:8080/a",
            "http://[0:0:0:0:0:0:0:1]:8080/a",
        ),
    ] {
        add("htu", name, format!("{a}\n{b}"));
    }

    // universal_logout: Okta's call (Universal Logout for OIN apps)
    let gtr = universal_claims(signals, "GTR.seed-1");
    let email = json!({"sub_id": {"format": "email", "email": "User@Example.com"}});
    let iss_sub = json!({"sub_id": {"format": "iss_sub", "iss": ISSUER, "sub": "00u1user"}});
    add("universal_logout", "valid-email", format!("{gtr}\n{email}"));
    add(
        "universal_logout",
        "valid-iss-sub",
        format!("{gtr}\n{iss_sub}"),
    );
    let legacy = json!({"subject": {"format": "iss_sub", "iss": ISSUER, "sub": "00u1user"}});
    add(
        "universal_logout",
        "legacy-subject",
        format!("{gtr}\n{legacy}"),
    );
    let other = json!({"sub_id": {"format": "iss_sub", "iss": ISSUER2, "sub": "00u1user"}});
    add(
        "universal_logout",
        "other-issuer-user",
        format!("{gtr}\n{other}"),
    );
    let tenant2 = json!({
        "iss": ISSUER2, "sub": "0oa2fuzzclient", "aud": signals.universal_url(),
        "iat": NOW, "nbf": NOW - 300, "exp": NOW + 300, "jti": "GTR.seed-2",
    });
    let iss_sub2 = json!({"sub_id": {"format": "iss_sub", "iss": ISSUER2, "sub": "00u2user"}});
    add(
        "universal_logout",
        "tenant2",
        format!("{tenant2}\n{iss_sub2}"),
    );
    add(
        "universal_logout",
        "wrong-aud",
        format!(
            "{}\n{email}",
            with(gtr.clone(), "aud", json!("https://app.fuzz.example"))
        ),
    );
    add(
        "universal_logout",
        "expired",
        format!("{}\n{email}", with(gtr.clone(), "exp", json!(NOW - 600))),
    );
    add(
        "universal_logout",
        "no-jti",
        format!("{}\n{email}", with(gtr.clone(), "jti", Value::Null)),
    );
    let jwt_typ = json!({"alg": "RS256", "kid": RSA_KID, "typ": "JWT"});
    add(
        "universal_logout",
        "typ-jwt",
        format!("{jwt_typ}\t{gtr}\n{email}"),
    );
    add("universal_logout", "no-token", format!("\n{email}"));
    add(
        "universal_logout",
        "malformed-body",
        format!("{gtr}\n{{\"sub_id\": {{\"format\": \"phone\", \"phone\": \"+1\"}}}}"),
    );
    add(
        "universal_logout",
        "opaque-token",
        format!("00Tq8vS2\n{email}"),
    );
    add(
        "universal_logout",
        "unknown-issuer",
        format!(
            "{}\n{email}",
            with(gtr.clone(), "iss", json!("https://evil.example"))
        ),
    );
    let unknown_kid = json!({"alg": "RS256", "kid": "nope", "typ": "global-token-revocation+jwt"});
    add(
        "universal_logout",
        "unknown-kid",
        format!("{unknown_kid}\t{gtr}\n{email}"),
    );

    // backchannel_logout: OIDC Back-Channel Logout 1.0 §2.4–2.6
    let lt = logout_claims("LT.seed-1");
    add(
        "backchannel_logout",
        "valid-sid",
        with(lt.clone(), "sid", json!("sid-seed-1")).to_string(),
    );
    add("backchannel_logout", "valid-sub", lt.to_string());
    add(
        "backchannel_logout",
        "with-nonce",
        with(lt.clone(), "nonce", json!("n-0S6")).to_string(),
    );
    add(
        "backchannel_logout",
        "no-events",
        with(lt.clone(), "events", Value::Null).to_string(),
    );
    add(
        "backchannel_logout",
        "no-sub-no-sid",
        with(lt.clone(), "sub", Value::Null).to_string(),
    );
    let at_typ = json!({"alg": "EdDSA", "kid": SIGNAL_KID, "typ": "at+jwt"});
    add(
        "backchannel_logout",
        "typ-at-jwt",
        format!("{at_typ}\t{lt}"),
    );
    add(
        "backchannel_logout",
        "unknown-issuer",
        with(lt.clone(), "iss", json!("https://evil.example")).to_string(),
    );
    let unknown_kid = json!({"alg": "EdDSA", "kid": "nope", "typ": "logout+jwt"});
    add(
        "backchannel_logout",
        "unknown-kid",
        format!("{unknown_kid}\t{lt}"),
    );
    add(
        "backchannel_logout",
        "form-two-tokens",
        "logout_token=a.b.c&logout_token=d.e.f".into(),
    );
    add(
        "backchannel_logout",
        "form-garbage",
        "logout_token=eyJ.e30.x&x=%zz".into(),
    );

    // revocation_wire: the JSON of store/redis_state.rs, one value per line
    let ms = NOW * 1000;
    let day = 24 * 3600 * 1000;
    let line = |r: Revocation| serde_json::to_string(&r).unwrap();
    let user = line(Revocation::new(
        RevocationKind::Subject,
        TENANT,
        "00u1user",
        ms,
        ms + day,
    ));
    let later = line(Revocation::new(
        RevocationKind::Subject,
        TENANT,
        "00u1user",
        ms + 5_000,
        ms + day / 2,
    ));
    let email = line(Revocation::new(
        RevocationKind::Email,
        TENANT,
        "User@Example.com",
        ms,
        ms + day,
    ));
    let sid = line(Revocation::new(
        RevocationKind::Sid,
        "fuzz2",
        "sid-1",
        ms,
        ms + 60_000,
    ));
    let session = line(Revocation::new(
        RevocationKind::Session,
        TENANT,
        "s-1",
        u64::MAX,
        ms + 3_600_000,
    ));
    let jti = line(Revocation::new(
        RevocationKind::TokenId,
        TENANT,
        "AT.1",
        u64::MAX,
        ms + 1,
    ));
    let expired = line(Revocation::new(
        RevocationKind::Subject,
        TENANT,
        "gone",
        ms - day,
        ms,
    ));
    add("revocation_wire", "one", user.clone());
    add(
        "revocation_wire",
        "every-kind",
        [&user, &email, &sid, &session, &jti]
            .map(|s| s.as_str())
            .join("\n"),
    );
    add(
        "revocation_wire",
        "merge-and-duplicates",
        [&user, &later, &user, &later, &expired]
            .map(|s| s.as_str())
            .join("\n"),
    );
    add(
        "revocation_wire",
        "malformed",
        format!(
            "{user}\nnot json\n{{\"kind\":\"subject\"}}\n{{\"kind\":\"nope\",\"tenant\":\"t\",\"value\":\"v\",\"before_ms\":1,\"until_ms\":2}}\n{}",
            user.replace("subject", "email")
        ),
    );
    add(
        "revocation_wire",
        "limits",
        format!(
            "{{\"kind\":\"token_id\",\"tenant\":\"\",\"value\":\"\",\"before_ms\":18446744073709551615,\"until_ms\":18446744073709551615}}\n{{\"kind\":\"sid\",\"tenant\":\"t\",\"value\":\"\\u001f\",\"before_ms\":0,\"until_ms\":{}}}",
            ms + 1
        ),
    );

    // resource_metadata: RFC 9728 §3.1
    let wk = "/.well-known/oauth-protected-resource";
    add(
        "resource_metadata",
        "resource",
        format!("{wk}/v1\napi.fuzz.example"),
    );
    add("resource_metadata", "resource-no-host", format!("{wk}/v1"));
    add(
        "resource_metadata",
        "tenant2",
        format!("{wk}/v2\nt2.api.fuzz.example"),
    );
    add(
        "resource_metadata",
        "tenant2-wrong-host",
        format!("{wk}/v2\napi.fuzz.example"),
    );
    add(
        "resource_metadata",
        "root",
        format!("{wk}\napi.fuzz.example"),
    );
    add(
        "resource_metadata",
        "post",
        format!("{wk}/v1\napi.fuzz.example\nPOST"),
    );
    add(
        "resource_metadata",
        "head",
        format!("{wk}/v1\napi.fuzz.example\nHEAD"),
    );
    add(
        "resource_metadata",
        "escaped",
        format!("{wk}/%761?x=1\napi.fuzz.example"),
    );
    add(
        "resource_metadata",
        "dot-segments",
        format!("{wk}/v2/../v1\nt2.api.fuzz.example"),
    );
    out
}

/// Writes the seeds of the third wave's targets. Run by hand after a format change.
#[test]
#[ignore = "writes files under fuzz/corpus; run by hand"]
fn regenerate_signal_seeds() {
    let signals = Signals::new(KEYS);
    for (target, name, text) in seeds(&signals) {
        let dir = corpus(target);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// The committed seeds are the ones `seeds` makes (regenerate them after a change).
#[test]
fn committed_signal_seeds_are_current() {
    let signals = Signals::new(KEYS);
    for (target, name, text) in seeds(&signals) {
        assert_eq!(
            String::from_utf8(read(target, name)).unwrap(),
            text,
            "fuzz/corpus/{target}/{name} is stale: run regenerate_signal_seeds"
        );
    }
}

/// The valid seeds get through (the fuzzer starts past the signature), and the forged ones
/// are refused with the status the server gives them.
#[test]
fn valid_signal_seeds_are_answered_as_the_server_would() {
    let signals = Signals::new(KEYS);
    let dpop = |name: &str| signals.dpop(&read("dpop", name));
    // RFC 9449 §4.3: a valid proof; `htu` compared after normalization; query and fragment
    // ignored.
    assert_eq!(dpop("valid"), 200);
    assert_eq!(dpop("valid-query"), 200);
    assert_eq!(dpop("htu-equivalent"), 200);
    assert_eq!(dpop("valid-post"), 200);
    assert_eq!(dpop("valid-other-path"), 200);
    for forged in [
        "htu-other-path",
        "htm-post",
        "stale",
        "wrong-ath",
        "no-jti",
        "typ-jwt",
        "alg-none",
        "private-jwk",
        "not-a-jws",
    ] {
        assert_eq!(dpop(forged), 401, "dpop/{forged}");
    }

    let same = |name: &str| __fuzz::htu(&read("htu", name));
    for name in [
        "same-case",
        "same-port",
        "same-dots",
        "same-escape",
        "same-hex-case",
        "ipv6",
    ] {
        assert!(same(name), "htu/{name}");
    }
    for name in [
        "different-slash",
        "different-path-case",
        "different-port",
        "userinfo",
    ] {
        assert!(!same(name), "htu/{name}");
    }

    // Okta's Universal Logout: 204 once recorded, 403 for another issuer's user, 401 for a
    // token that is not a valid request, 400 for a body that names nobody.
    let universal = |name: &str| signals.universal_logout(&read("universal_logout", name));
    assert_eq!(universal("valid-email"), 204);
    assert_eq!(universal("valid-iss-sub"), 204);
    assert_eq!(universal("legacy-subject"), 204);
    assert_eq!(universal("tenant2"), 204);
    assert_eq!(universal("other-issuer-user"), 403);
    assert_eq!(universal("malformed-body"), 400);
    for forged in [
        "wrong-aud",
        "expired",
        "no-jti",
        "typ-jwt",
        "no-token",
        "opaque-token",
        "unknown-issuer",
    ] {
        assert_eq!(universal(forged), 401, "universal_logout/{forged}");
    }
    // A `kid` the key set lacks while the refetch is held back (the harness holds every
    // refetch back): 503, retry later — the key may be new (#25), so Okta should send again.
    assert_eq!(universal("unknown-kid"), 503);

    // OIDC Back-Channel Logout 1.0 §2.6: 200 once recorded, 400 for anything else.
    let backchannel = |name: &str| signals.backchannel_logout(&read("backchannel_logout", name));
    assert_eq!(backchannel("valid-sid"), 200);
    assert_eq!(backchannel("valid-sub"), 200);
    for forged in [
        "with-nonce",
        "no-events",
        "no-sub-no-sid",
        "typ-at-jwt",
        "unknown-issuer",
        "form-two-tokens",
        "form-garbage",
    ] {
        assert_eq!(backchannel(forged), 400, "backchannel_logout/{forged}");
    }
    // A `kid` the key set lacks while the refetch is held back: 503, as for Universal Logout.
    assert_eq!(backchannel("unknown-kid"), 503);

    let wire = |name: &str| __fuzz::revocation_wire(&read("revocation_wire", name));
    assert_eq!(wire("one"), 1);
    assert_eq!(wire("every-kind"), 5);
    assert_eq!(wire("merge-and-duplicates"), 1);
    assert_eq!(wire("malformed"), 2);

    // RFC 9728 §3.1: the document at the path-inserted well-known URL of its resource.
    let metadata = |name: &str| signals.resource_metadata(&read("resource_metadata", name));
    assert_eq!(metadata("resource"), 200);
    assert_eq!(metadata("resource-no-host"), 200);
    assert_eq!(metadata("tenant2"), 200);
    assert_eq!(metadata("tenant2-wrong-host"), 404);
    assert_eq!(metadata("root"), 404);
    assert_eq!(metadata("post"), 405);
    assert_eq!(metadata("head"), 200);
}
