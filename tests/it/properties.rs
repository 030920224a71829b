//! Property tests (proptest): tampering never validates.
//!
//! - Any mutation of a valid token's bytes — header, payload or signature segment; bit flips,
//!   replaced, inserted and deleted bytes, truncation, swapped segments — never validates.
//! - Any change to a signed claim (the payload re-encoded with a changed, added or removed
//!   claim, or merely re-serialized, and the original signature kept) never validates.
//! - Sealed cookies (session and login state) never open after any change to their bytes, nor
//!   under another cookie name or purpose, and a tampered session cookie never authenticates.
//!
//! Each property runs 256 cases against one mock org whose keys are loaded once per test.

use std::sync::Arc;

use crate::common::builder_for;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use okta_oidc::testing::MockOkta;
use okta_oidc::{Algorithm, OktaOidc};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};

const CASES: u32 = 256;

/// A mutation of a byte string, positions taken modulo its length.
#[derive(Clone, Debug)]
enum Mutation {
    FlipBit { pos: usize, bit: u8 },
    Replace { pos: usize, byte: u8 },
    Insert { pos: usize, byte: u8 },
    Delete { pos: usize, len: usize },
    Truncate { keep: usize },
    Duplicate { pos: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(pos, bit)| Mutation::FlipBit { pos, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(pos, byte)| Mutation::Replace { pos, byte }),
        (any::<usize>(), any::<u8>()).prop_map(|(pos, byte)| Mutation::Insert { pos, byte }),
        (any::<usize>(), 1usize..16).prop_map(|(pos, len)| Mutation::Delete { pos, len }),
        any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
        (any::<usize>(), 1usize..16).prop_map(|(pos, len)| Mutation::Duplicate { pos, len }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len().max(1);
    match *m {
        Mutation::FlipBit { pos, bit } => {
            if let Some(b) = bytes.get_mut(pos % n) {
                *b ^= 1 << bit;
            }
        }
        Mutation::Replace { pos, byte } => {
            if let Some(b) = bytes.get_mut(pos % n) {
                *b = byte;
            }
        }
        Mutation::Insert { pos, byte } => bytes.insert(pos % (bytes.len() + 1), byte),
        Mutation::Delete { pos, len } => {
            let start = pos % n;
            let end = (start + len).min(bytes.len());
            bytes.drain(start.min(bytes.len())..end);
        }
        Mutation::Truncate { keep } => bytes.truncate(keep % n),
        Mutation::Duplicate { pos, len } => {
            let start = pos % n;
            let end = (start + len).min(bytes.len());
            let copy: Vec<u8> = bytes.get(start..end).unwrap_or_default().to_vec();
            let at = end.min(bytes.len());
            bytes.splice(at..at, copy);
        }
    }
}

/// One mock org (RSA, EC and Ed25519 keys published) and a warmed-up validator that accepts
/// all three algorithms, on a runtime kept for the whole test.
struct Setup {
    runtime: tokio::runtime::Runtime,
    mock: MockOkta,
    oidc: OktaOidc,
}

impl Setup {
    fn new() -> Setup {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (mock, oidc) = runtime.block_on(async {
            let mock = MockOkta::start().await;
            mock.publish_ec_key();
            mock.publish_ed_key();
            let oidc = builder_for(&mock)
                .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA])
                .build()
                .await
                .unwrap();
            (mock, oidc)
        });
        Setup {
            runtime,
            mock,
            oidc,
        }
    }

    /// Valid tokens of every shape: ID and access tokens, RS256, ES256 and EdDSA.
    fn tokens(&self) -> Vec<String> {
        let m = &self.mock;
        let tokens = vec![
            m.id_token().claim("nonce", "n-0S6_WzA2Mj").build(),
            m.access_token().build(),
            m.access_token().kid("mock-ec-1").alg("ES256").build(),
            m.id_token().kid("mock-ed-1").alg("EdDSA").build(),
        ];
        for t in &tokens {
            assert!(self.valid(t), "the unmodified token validates");
        }
        tokens
    }

    fn valid(&self, token: &str) -> bool {
        self.runtime.block_on(self.oidc.validate(token)).is_ok()
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    })
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

#[test]
fn mutated_token_bytes_never_validate() {
    let setup = Setup::new();
    let tokens = Arc::new(setup.tokens());
    let strategy = (
        0..tokens.len(),
        0usize..3,
        prop::collection::vec(mutation(), 1..4),
    );
    runner()
        .run(&strategy, |(which, segment, mutations)| {
            let token = &tokens[which];
            let mut parts: Vec<Vec<u8>> = token.split('.').map(|p| p.as_bytes().to_vec()).collect();
            for m in &mutations {
                apply(&mut parts[segment], m);
            }
            let mutated = String::from_utf8_lossy(&parts.join(&b'.')).into_owned();
            if mutated == *token {
                return Ok(());
            }
            check(!setup.valid(&mutated), || {
                format!("segment {segment} mutated by {mutations:?} still validates: {mutated}")
            })
        })
        .unwrap();
}

#[test]
fn mutated_whole_tokens_never_validate() {
    let setup = Setup::new();
    let tokens = setup.tokens();
    let strategy = (
        0..tokens.len(),
        prop::collection::vec(mutation(), 1..6),
        any::<bool>(),
    );
    runner()
        .run(&strategy, |(which, mutations, swap_segments)| {
            let token = &tokens[which];
            let mut bytes = token.as_bytes().to_vec();
            for m in &mutations {
                apply(&mut bytes, m);
            }
            let mut mutated = String::from_utf8_lossy(&bytes).into_owned();
            if swap_segments {
                // Header and payload swapped, or the payload of another token.
                let p: Vec<&str> = token.split('.').collect();
                let other: Vec<&str> = tokens[(which + 1) % tokens.len()].split('.').collect();
                mutated = format!("{}.{}.{}", p[0], other[1], p[2]);
            }
            if mutated == *token {
                return Ok(());
            }
            check(!setup.valid(&mutated), || {
                format!("{mutations:?} (swap {swap_segments}) still validates: {mutated}")
            })
        })
        .unwrap();
}

/// How a signed claim is changed.
#[derive(Clone, Debug)]
enum ClaimChange {
    /// Set an existing claim (by index) to a new value.
    Set(usize, Value),
    /// Add a claim that was not there.
    Add(String, Value),
    /// Remove an existing claim.
    Remove(usize),
    /// Same claims, serialized differently (whitespace, order).
    Reserialize { pretty: bool, reverse: bool },
    /// Move a time claim by a few seconds.
    Nudge(&'static str, i64),
}

fn json_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        (-5i64..5).prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
        prop::collection::vec(any::<char>(), 0..12)
            .prop_map(|c| Value::from(c.into_iter().collect::<String>())),
        Just(Value::from("00u1attacker")),
        Just(Value::from("api://default")),
        Just(Value::from(vec!["admin", "openid"])),
    ]
}

fn claim_change() -> impl Strategy<Value = ClaimChange> {
    prop_oneof![
        (any::<usize>(), json_value()).prop_map(|(i, v)| ClaimChange::Set(i, v)),
        (
            prop_oneof![
                Just("scp".to_owned()),
                Just("groups".to_owned()),
                Just("azp".to_owned()),
                Just("nbf".to_owned()),
                Just("x".to_owned())
            ],
            json_value()
        )
            .prop_map(|(k, v)| ClaimChange::Add(k, v)),
        any::<usize>().prop_map(ClaimChange::Remove),
        (any::<bool>(), any::<bool>())
            .prop_map(|(pretty, reverse)| ClaimChange::Reserialize { pretty, reverse }),
        (
            prop_oneof![Just("exp"), Just("iat"), Just("auth_time")],
            prop_oneof![-3600i64..-1, 1i64..3600]
        )
            .prop_map(|(k, d)| ClaimChange::Nudge(k, d)),
    ]
}

fn change_claims(payload: &Map<String, Value>, change: &ClaimChange) -> String {
    let mut claims = payload.clone();
    let keys: Vec<String> = claims.keys().cloned().collect();
    match change {
        ClaimChange::Set(i, v) => {
            let k = &keys[i % keys.len()];
            if claims[k] == *v {
                claims.insert(k.clone(), Value::from(format!("{v}-changed")));
            } else {
                claims.insert(k.clone(), v.clone());
            }
        }
        ClaimChange::Add(k, v) => {
            if claims.contains_key(k) {
                claims.insert(k.clone(), Value::from(format!("{}-changed", claims[k])));
            } else {
                claims.insert(k.clone(), v.clone());
            }
        }
        ClaimChange::Remove(i) => {
            claims.remove(&keys[i % keys.len()]);
        }
        ClaimChange::Reserialize { pretty, reverse } => {
            let mut entries: Vec<(String, Value)> = claims.into_iter().collect();
            if *reverse {
                entries.reverse();
            }
            let body: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v))
                .collect();
            let sep = if *pretty { ",\n  " } else { ", " };
            return format!("{{ {} }}", body.join(sep));
        }
        ClaimChange::Nudge(k, d) => {
            let v = claims.get(*k).and_then(Value::as_i64).unwrap_or(0);
            claims.insert((*k).to_owned(), Value::from(v + d));
        }
    }
    Value::Object(claims).to_string()
}

#[test]
fn changed_signed_claims_never_validate() {
    let setup = Setup::new();
    let tokens = setup.tokens();
    let strategy = (0..tokens.len(), claim_change());
    runner()
        .run(&strategy, |(which, change)| {
            let token = &tokens[which];
            let p: Vec<&str> = token.split('.').collect();
            let original = URL_SAFE_NO_PAD.decode(p[1]).unwrap();
            let payload: Map<String, Value> = serde_json::from_slice(&original).unwrap();
            let json = change_claims(&payload, &change);
            if json.as_bytes() == original.as_slice() {
                return Ok(());
            }
            let forged = format!("{}.{}.{}", p[0], URL_SAFE_NO_PAD.encode(&json), p[2]);
            check(!setup.valid(&forged), || {
                format!("{change:?} kept a valid signature: {json}")
            })
        })
        .unwrap();
}

/// Sealed cookies, through the same entry points as the fuzz targets (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
mod cookies {
    use super::*;
    use okta_oidc::__fuzz::{Harness, SESSION_COOKIE};

    const KEYS: &[u8] = include_bytes!("../../fuzz/keys.json");

    fn session_json() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/corpus/session_cookie/sealed-valid"
        ))
        .unwrap()
    }

    #[test]
    fn sealed_session_cookies_never_open_after_any_change() {
        let h = Harness::new(KEYS);
        let plain = session_json();
        let strategy = prop::collection::vec(mutation(), 1..4);
        runner()
            .run(&strategy, |mutations| {
                let sealed = h.seal_session(&plain);
                let value = sealed.split_once('.').unwrap().1.to_owned();
                check(
                    h.open_session(&value).as_deref() == Some(&plain[..]),
                    || "an unchanged cookie opens".into(),
                )?;
                let mut bytes = value.clone().into_bytes();
                for m in &mutations {
                    apply(&mut bytes, m);
                }
                let mutated = String::from_utf8_lossy(&bytes).into_owned();
                if mutated == value {
                    return Ok(());
                }
                check(h.open_session(&mutated).is_none(), || {
                    format!("{mutations:?} still opens")
                })?;
                let header = format!("{SESSION_COOKIE}=1.{mutated}");
                let status = h.session_cookie(header.as_bytes());
                // 0: the bytes cannot be sent in a header at all.
                check(matches!(status, 0 | 401), || {
                    format!("{mutations:?}: the layer answered {status}")
                })
            })
            .unwrap();
    }

    #[test]
    fn sealed_login_cookies_never_open_after_any_change() {
        let h = Harness::new(KEYS);
        let plain = br#"{"s":"state","n":"nonce","v":"verifier","t":"fuzz"}"#;
        let name = "okta_login_c3RhdGUtZm9yLWZ1";
        let strategy = prop::collection::vec(mutation(), 1..4);
        runner()
            .run(&strategy, |mutations| {
                let sealed = h.seal_login(name, plain);
                let mut bytes = sealed.clone().into_bytes();
                for m in &mutations {
                    apply(&mut bytes, m);
                }
                let mutated = String::from_utf8_lossy(&bytes).into_owned();
                if mutated == sealed {
                    return Ok(());
                }
                check(h.open_login(name, &mutated).is_none(), || {
                    format!("{mutations:?} still opens")
                })
            })
            .unwrap();
    }

    #[test]
    fn sealed_cookies_are_bound_to_their_name_and_purpose() {
        let h = Harness::new(KEYS);
        let strategy = (prop::collection::vec(any::<u8>(), 0..64), 1usize..40);
        runner()
            .run(&strategy, |(plain, cut)| {
                let name = "okta_login_c3RhdGUtZm9yLWZ1";
                let sealed = h.seal_login(name, &plain);
                check(h.open_login(name, &sealed) == Some(plain.clone()), || {
                    "round trip".into()
                })?;
                let other = &name[..cut.min(name.len() - 1)];
                check(h.open_login(other, &sealed).is_none(), || {
                    format!("opened under the name {other:?}")
                })?;
                check(h.open_session(&sealed).is_none(), || {
                    "a login cookie opened as a session".into()
                })?;
                let session = h.seal_session(&plain);
                let value = session.split_once('.').unwrap().1;
                check(h.open_login(name, value).is_none(), || {
                    "a session opened as a login cookie".into()
                })
            })
            .unwrap();
    }
}
