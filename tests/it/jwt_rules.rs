//! Every validation rule, accepted and rejected, and the known attacks on JWT validators —
//! over real HTTP: a real axum server with the layer, the real mock Okta, real reqwest.

use crate::common::{self, Stack, builder_for, stack_with_clock, tenant_for};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_oidc::testing::{Endpoint, MockOkta};
use okta_oidc::{Algorithm, Clock, ManualClock, OktaOidc, Tenant};
use serde_json::json;

fn secs(clock: &ManualClock) -> i64 {
    clock.now().as_secs() as i64
}

#[tokio::test]
async fn valid_id_and_access_tokens_are_accepted() {
    let s = Stack::start().await;
    let response = s.get(&s.mock.id_token().build()).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["iss"], s.mock.issuer());
    assert_eq!(body["sub"], "00u1mockuser");
    assert_eq!(body["aud"], s.mock.client_id());
    assert_eq!(s.status(&s.mock.access_token().build()).await, 200);
}

#[tokio::test]
async fn issuer_must_match_exactly() {
    let s = Stack::start().await;
    let with_slash = format!("{}/", s.mock.issuer());
    assert_eq!(
        s.status(&s.mock.id_token().claim("iss", with_slash).build())
            .await,
        401
    );
    let upper = s.mock.issuer().replace("http", "HTTP");
    assert_eq!(
        s.status(&s.mock.id_token().claim("iss", upper).build())
            .await,
        401
    );
    assert_eq!(
        s.status(&s.mock.id_token().without_claim("iss").build())
            .await,
        401
    );
}

#[tokio::test]
async fn audience_rules() {
    let s = Stack::start().await;
    let client = s.mock.client_id();
    assert_eq!(
        s.status(&s.mock.id_token().claim("aud", "someone-else").build())
            .await,
        401
    );
    assert_eq!(
        s.status(&s.mock.id_token().without_claim("aud").build())
            .await,
        401
    );
    // An array holding the client id is fine with azp = client id ...
    let many = json!(["someone-else", client]);
    let ok = s
        .mock
        .id_token()
        .claim("aud", &many)
        .claim("azp", &client)
        .build();
    assert_eq!(s.status(&ok).await, 200);
    // ... but several audiences without azp, or with another azp, are not.
    assert_eq!(
        s.status(&s.mock.id_token().claim("aud", &many).build())
            .await,
        401
    );
    let other_azp = s
        .mock
        .id_token()
        .claim("aud", &many)
        .claim("azp", "x")
        .build();
    assert_eq!(s.status(&other_azp).await, 401);
    // A single-audience ID token with a foreign azp is rejected.
    let foreign = s.mock.id_token().claim("azp", "0oaother").build();
    assert_eq!(s.status(&foreign).await, 401);
}

#[tokio::test]
async fn time_rules_with_leeway() {
    let (s, clock) = stack_with_clock().await;
    let now = secs(&clock);
    let exp = |e: i64| {
        s.mock
            .id_token()
            .claim("exp", e)
            .claim("iat", now - 3600)
            .build()
    };
    assert_eq!(
        s.status(&exp(now - 119)).await,
        200,
        "expired within the 120 s leeway"
    );
    assert_eq!(
        s.status(&exp(now - 120)).await,
        401,
        "expired at the leeway"
    );
    let expired = s.get(&exp(now - 3600)).await;
    let challenge = expired.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("expired"), "{challenge}");
    assert_eq!(
        s.status(&s.mock.id_token().without_claim("exp").build())
            .await,
        401
    );

    let nbf = |n: i64| s.mock.id_token().claim("nbf", n).build();
    assert_eq!(s.status(&nbf(now + 120)).await, 200);
    assert_eq!(s.status(&nbf(now + 121)).await, 401);

    let iat = |i: i64| {
        s.mock
            .id_token()
            .claim("iat", i)
            .claim("exp", now + 3600)
            .build()
    };
    assert_eq!(s.status(&iat(now + 120)).await, 200);
    assert_eq!(s.status(&iat(now + 121)).await, 401);

    // Time moves: the same token stops validating.
    let token = s.mock.id_token().claim("exp", now + 60).build();
    assert_eq!(s.status(&token).await, 200);
    clock.advance(std::time::Duration::from_secs(180));
    assert_eq!(s.status(&token).await, 401);
}

#[tokio::test]
async fn subject_and_claim_types() {
    let s = Stack::start().await;
    assert_eq!(
        s.status(&s.mock.id_token().without_claim("sub").build())
            .await,
        401
    );
    assert_eq!(
        s.status(&s.mock.id_token().claim("sub", "").build()).await,
        401
    );
    let exp_string = s.mock.id_token().claim("exp", "99999999999").build();
    assert_eq!(s.status(&exp_string).await, 401);
    assert_eq!(
        s.status(&s.mock.id_token().claim("aud", 5).build()).await,
        401
    );
    let fractional = s
        .mock
        .id_token()
        .claim("exp", common::now() as f64 + 600.5)
        .build();
    assert_eq!(s.status(&fractional).await, 200);
}

#[tokio::test]
async fn typ_and_cid_rules() {
    let mock = MockOkta::start().await;
    let tenant = tenant_for("mock", &mock)
        .access_token_typ(["at+jwt"])
        .require_cid(true);
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(tenant)
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock, oidc).await;
    let at = || s.mock.access_token();
    assert_eq!(s.status(&at().header("typ", "at+jwt").build()).await, 200);
    assert_eq!(
        s.status(&at().header("typ", "application/AT+JWT").build())
            .await,
        200
    );
    assert_eq!(s.status(&at().header("typ", "JWT").build()).await, 401);
    assert_eq!(s.status(&at().build()).await, 401, "typ missing");
    let wrong_cid = at()
        .header("typ", "at+jwt")
        .claim("cid", "0oaother")
        .build();
    assert_eq!(s.status(&wrong_cid).await, 401);
    // ID tokens are not bound by the access-token typ rule.
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
}

#[tokio::test]
async fn alg_none_in_any_casing_is_rejected() {
    let s = Stack::start().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let unsigned = s.mock.id_token().alg(alg).signature("").build();
        assert_eq!(s.status(&unsigned).await, 401, "{alg} without signature");
        let signed = s.mock.id_token().alg(alg).build();
        assert_eq!(s.status(&signed).await, 401, "{alg} with signature");
    }
}

#[tokio::test]
async fn stripped_signature_is_rejected() {
    let s = Stack::start().await;
    let token = s.mock.id_token().build();
    let (message, _) = token.rsplit_once('.').unwrap();
    assert_eq!(s.status(&format!("{message}.")).await, 401);
    assert_eq!(s.status(message).await, 401);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_rejected() {
    let s = Stack::start().await;
    let kid = s.mock.signing_kid();
    let pem = s.mock.public_key_pem(&kid).unwrap();
    let forged = s
        .mock
        .id_token()
        .kid(&kid)
        .sign_with_hmac(pem.as_bytes())
        .build();
    assert_eq!(s.status(&forged).await, 401);
    let der_like = s
        .mock
        .id_token()
        .kid(&kid)
        .sign_with_hmac(pem.trim().as_bytes())
        .build();
    assert_eq!(s.status(&der_like).await, 401);
}

#[tokio::test]
async fn embedded_jwk_is_never_trusted() {
    let s = Stack::start().await;
    let attacker = MockOkta::start().await;
    let attacker_jwk = attacker.jwks()["keys"][0].clone();
    let kid = attacker.signing_kid();
    // Signed by the attacker's key, which it embeds in the header.
    let forged = attacker
        .id_token()
        .claim("iss", s.mock.issuer())
        .claim("aud", s.mock.client_id())
        .header("jwk", &attacker_jwk)
        .build();
    assert_eq!(s.status(&forged).await, 401);
    let no_kid = attacker
        .id_token()
        .claim("iss", s.mock.issuer())
        .claim("aud", s.mock.client_id())
        .header("jwk", &attacker_jwk)
        .without_header("kid")
        .sign_with_kid(&kid)
        .build();
    assert_eq!(s.status(&no_kid).await, 401);
}

#[tokio::test]
async fn jku_and_x5u_are_never_fetched() {
    let s = Stack::start().await;
    let attacker = MockOkta::start().await;
    let keys_url = attacker.url(Endpoint::Keys.path());
    for header in ["jku", "x5u"] {
        let forged = attacker
            .id_token()
            .claim("iss", s.mock.issuer())
            .claim("aud", s.mock.client_id())
            .header(header, &keys_url)
            .build();
        assert_eq!(s.status(&forged).await, 401, "{header}");
    }
    let x5c = s
        .mock
        .id_token()
        .header("x5c", ["MIIBIjANBg=="])
        .kid("x5c-only")
        .build();
    assert_eq!(s.status(&x5c).await, 401);
    assert_eq!(attacker.hits(Endpoint::Keys), 0);
    assert_eq!(attacker.hits(Endpoint::Discovery), 0);
}

#[tokio::test]
async fn kid_path_traversal_is_just_an_unknown_kid() {
    let s = Stack::start().await;
    let before = s.mock.hits(Endpoint::Keys);
    for (i, kid) in [
        "../../../../etc/passwd",
        "..%2f..%2fkeys",
        "/oauth2/v1/keys",
        "\u{0}",
    ]
    .into_iter()
    .enumerate()
    {
        let token = s.mock.id_token().kid(kid).build();
        // The first refetches and is invalid; the rest wait for the cooldown (503, retry).
        let expected = if i == 0 { 401 } else { 503 };
        assert_eq!(s.status(&token).await, expected, "{kid:?}");
    }
    // One shared refetch at most (the cooldown holds back the rest); nothing else fetched.
    assert!(s.mock.hits(Endpoint::Keys) - before <= 1);
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
}

#[tokio::test]
async fn unknown_crit_is_rejected() {
    let s = Stack::start().await;
    let token = s
        .mock
        .id_token()
        .header("crit", ["exp"])
        .header("exp", 1)
        .build();
    assert_eq!(s.status(&token).await, 401);
    let b64 = s
        .mock
        .id_token()
        .header("crit", ["b64"])
        .header("b64", false)
        .build();
    assert_eq!(s.status(&b64).await, 401);
}

#[tokio::test]
async fn bad_signature_on_known_kid_fails_without_refetch() {
    let s = Stack::start().await;
    let before = s.mock.hits(Endpoint::Keys);
    let token = s.mock.id_token().build();
    let (message, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 0x01;
    let tampered = format!("{message}.{}", URL_SAFE_NO_PAD.encode(bytes));
    assert_eq!(s.status(&tampered).await, 401);
    // Another key's signature under the published kid.
    let other = s.mock.publish_next_key();
    s.mock.retire_key(&other);
    let wrong_key = s.mock.id_token().sign_with_kid(&other).build();
    assert_eq!(s.status(&wrong_key).await, 401);
    assert_eq!(
        s.mock.hits(Endpoint::Keys),
        before,
        "no refetch for a known kid"
    );
}

#[tokio::test]
async fn payload_change_breaks_the_signature() {
    let s = Stack::start().await;
    let token = s.mock.id_token().build();
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("00uadmin");
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    assert_eq!(
        s.status(&format!("{}.{payload}.{}", parts[0], parts[2]))
            .await,
        401
    );
}

#[tokio::test]
async fn ecdsa_zero_signature_is_rejected() {
    let mock = MockOkta::start().await;
    let ec_kid = mock.publish_ec_key();
    let oidc = builder_for(&mock)
        .algorithms([Algorithm::RS256, Algorithm::ES256])
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock, oidc).await;
    let genuine = s.mock.id_token().kid(&ec_kid).alg("ES256").build();
    assert_eq!(s.status(&genuine).await, 200, "a real ES256 token passes");
    let zeros = URL_SAFE_NO_PAD.encode([0u8; 64]);
    let forged = s
        .mock
        .id_token()
        .kid(&ec_kid)
        .alg("ES256")
        .signature(&zeros)
        .build();
    assert_eq!(s.status(&forged).await, 401);
    // The EC key is used only with its own algorithm.
    let confused = s.mock.id_token().kid(&ec_kid).alg("RS256").build();
    assert_eq!(s.status(&confused).await, 401);
}

#[tokio::test]
async fn eddsa_and_algorithm_allow_list() {
    let mock = MockOkta::start().await;
    let ed = mock.publish_ed_key();
    // Default allow-list: RS256 only, so the Ed25519 key is not even loaded.
    let s = Stack::with(mock.clone(), builder_for(&mock).build().await.unwrap()).await;
    assert_eq!(
        s.status(&mock.id_token().kid(&ed).alg("EdDSA").build())
            .await,
        401
    );
    let oidc = builder_for(&mock)
        .algorithms([Algorithm::RS256, Algorithm::EdDSA])
        .build()
        .await
        .unwrap();
    let s = Stack::with(mock.clone(), oidc).await;
    assert_eq!(
        s.status(&mock.id_token().kid(&ed).alg("EdDSA").build())
            .await,
        200
    );
    // HMAC cannot be allowed: the crate's `Algorithm` has no HMAC variant to name.
    for hmac in ["HS256", "HS384", "HS512"] {
        assert!(hmac.parse::<Algorithm>().is_err(), "{hmac}");
    }
}

#[tokio::test]
async fn malformed_tokens_are_rejected() {
    let s = Stack::start().await;
    let token = s.mock.id_token().build();
    let four = format!("{token}.AAAA");
    assert_eq!(s.status(&four).await, 401);
    let five = format!("{token}.AAAA.BBBB");
    assert_eq!(s.status(&five).await, 401);
    assert_eq!(s.status("eyJ!!!.eyJ@@@.sig").await, 401);
    assert_eq!(s.status("not-a-jwt-at-all").await, 401);
    let (h, rest) = token.split_once('.').unwrap();
    assert_eq!(
        s.status(&format!("{h}=.{rest}")).await,
        401,
        "padding in base64url"
    );
    let array_header = URL_SAFE_NO_PAD.encode(r#"["RS256"]"#);
    assert_eq!(s.status(&format!("{array_header}.{rest}")).await, 401);
}

#[tokio::test]
async fn huge_token_is_rejected_before_decoding() {
    let s = Stack::start().await;
    let filler = "a".repeat(200 * 1024);
    let huge = s.mock.id_token().claim("filler", filler).build();
    assert!(huge.len() > 200 * 1024);
    let before = s.mock.hits(Endpoint::Keys);
    assert_eq!(s.status(&huge).await, 401);
    assert_eq!(s.mock.hits(Endpoint::Keys), before);
    // The process goes on.
    assert_eq!(s.status(&s.mock.id_token().build()).await, 200);
}

#[tokio::test]
async fn token_without_kid_uses_the_single_key_of_its_algorithm() {
    let s = Stack::start().await;
    let no_kid = s.mock.id_token().without_header("kid").build();
    assert_eq!(s.status(&no_kid).await, 200);
    // With two RSA keys published, a token without kid is ambiguous.
    s.mock.publish_next_key();
    s.oidc.refresh_keys("mock").await.unwrap();
    let no_kid = s.mock.id_token().without_header("kid").build();
    assert_eq!(s.status(&no_kid).await, 401);
}

#[tokio::test]
async fn unregistered_issuer_is_never_contacted() {
    let s = Stack::start().await;
    let stranger = MockOkta::start().await;
    let token = stranger.id_token().build();
    assert_eq!(s.status(&token).await, 401);
    let aimed = stranger.id_token().claim("aud", s.mock.client_id()).build();
    assert_eq!(s.status(&aimed).await, 401);
    assert_eq!(stranger.hits(Endpoint::Discovery), 0);
    assert_eq!(stranger.hits(Endpoint::Keys), 0);
}

#[tokio::test]
async fn two_tenants_each_with_its_own_audience() {
    let a = MockOkta::builder().client_id("0oa-a").build().await;
    let b = MockOkta::builder().client_id("0oa-b").build().await;
    let oidc = OktaOidc::builder()
        .allow_loopback_http(true)
        .tenant(
            Tenant::new("a", a.issuer())
                .client_id("0oa-a")
                .audience("api://a"),
        )
        .tenant(
            Tenant::new("b", b.issuer())
                .client_id("0oa-b")
                .audience("api://b"),
        )
        .build()
        .await
        .unwrap();
    let s = Stack::with(a.clone(), oidc).await;
    let tenant_of = |r: serde_json::Value| r["iss"].as_str().unwrap().to_owned();
    let ok_a = s
        .get(&a.access_token().claim("aud", "api://a").build())
        .await;
    assert_eq!(ok_a.status(), 200);
    assert_eq!(tenant_of(ok_a.json().await.unwrap()), a.issuer());
    assert_eq!(
        s.status(&b.access_token().claim("aud", "api://b").build())
            .await,
        200
    );
    // Each tenant's audience is accepted only from that tenant.
    assert_eq!(
        s.status(&a.access_token().claim("aud", "api://b").build())
            .await,
        401
    );
    assert_eq!(
        s.status(&b.access_token().claim("aud", "api://a").build())
            .await,
        401
    );
    assert_eq!(
        s.status(&b.id_token().claim("aud", "0oa-a").build()).await,
        401
    );
    // A's token re-labelled with B's issuer fails on B's keys.
    let relabelled = a
        .access_token()
        .claim("iss", b.issuer())
        .claim("aud", "api://b")
        .build();
    assert_eq!(s.status(&relabelled).await, 401);
}
