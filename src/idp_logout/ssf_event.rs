//! What a verified Security Event Token says: its events (RFC 8417 §2.2 `events`), read into
//! the few this receiver acts on, and the user each names (RFC 9493 subject identifiers).
//!
//! The subject is the event's `subject` member (OpenID CAEP 1.0 §2, Okta's payloads) or,
//! without one, the SET's top-level `sub_id` (OpenID SSF 1.0 §4.1.6). Formats: `iss_sub`,
//! `email` (RFC 9493 §3.2.3, §3.2.2), and the complex subject (SSF 1.0 §3.2: `format`
//! `complex`, or no `format`) whose `user` member is one of those; a `session` member beside
//! it is not used (the user's every session is ended, a stronger answer).

use serde_json::{Map, Value};

/// CAEP 1.0 §3.1.
pub(super) const SESSION_REVOKED: &str =
    "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
/// CAEP 1.0 §3.3.
pub(super) const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
/// SSF 1.0 §8.1.4.1.
pub(super) const VERIFICATION: &str =
    "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// A user named by a subject identifier.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Subject {
    /// `iss_sub`: the user `sub` of the issuer `iss`.
    IssuerSubject { iss: String, sub: String },
    /// `email`.
    Email(String),
}

/// One event of a SET, as this receiver reads it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Event {
    /// Every session of the user ends; `at` is `event_timestamp` when present.
    SessionRevoked { subject: Subject, at: Option<i64> },
    /// The user's credential changed.
    CredentialChange {
        subject: Subject,
        at: Option<i64>,
        change_type: String,
        credential_type: String,
    },
    /// A stream verification, with the `state` the receiver asked for (if any).
    Verification { state: Option<String> },
    /// Any other event type: accepted and ignored.
    Other,
}

/// Why a SET's events cannot be read: a fixed text (the `description` of RFC 8935 §2.4's
/// `invalid_request`), never a value from the SET.
pub(super) type Unreadable = &'static str;

/// The events of a SET's payload (already verified: `events` is a non-empty object of
/// objects).
pub(super) fn read(raw_claims: &str) -> Result<Vec<Event>, Unreadable> {
    let payload: Value =
        serde_json::from_str(raw_claims).map_err(|_| "the payload is not a JSON object")?;
    let events = payload
        .get("events")
        .and_then(Value::as_object)
        .ok_or("the SET has no events")?;
    let top_subject = payload.get("sub_id");
    events
        .iter()
        .map(|(kind, body)| {
            let body = body.as_object().ok_or("an event is not a JSON object")?;
            read_event(kind, body, top_subject)
        })
        .collect()
}

fn read_event(
    kind: &str,
    body: &Map<String, Value>,
    top_subject: Option<&Value>,
) -> Result<Event, Unreadable> {
    let subject = || {
        body.get("subject")
            .or(top_subject)
            .ok_or("the event names no subject (subject or sub_id)")
            .and_then(read_subject)
    };
    let at = || body.get("event_timestamp").and_then(Value::as_i64);
    Ok(match kind {
        SESSION_REVOKED => Event::SessionRevoked {
            subject: subject()?,
            at: at(),
        },
        CREDENTIAL_CHANGE => Event::CredentialChange {
            subject: subject()?,
            at: at(),
            change_type: text(body, "change_type")?,
            credential_type: text(body, "credential_type")?,
        },
        VERIFICATION => Event::Verification {
            state: body.get("state").and_then(Value::as_str).map(str::to_owned),
        },
        _ => Event::Other,
    })
}

/// A required string member of a CAEP event (`change_type`, `credential_type`), at most 100
/// characters (it reaches a log line).
fn text(body: &Map<String, Value>, name: &'static str) -> Result<String, Unreadable> {
    match body.get(name).and_then(Value::as_str) {
        Some(v) if !v.is_empty() && v.len() <= 100 => Ok(v.to_owned()),
        _ => Err("credential-change needs change_type and credential_type"),
    }
}

fn read_subject(subject: &Value) -> Result<Subject, Unreadable> {
    let object = subject.as_object().ok_or("the subject is not an object")?;
    let format = object.get("format").and_then(Value::as_str);
    match format {
        None | Some("complex") => match object.get("user") {
            Some(user) if user.get("user").is_none() => read_simple(user),
            _ => Err("a complex subject needs a user member"),
        },
        Some(_) => read_simple(subject),
    }
}

fn read_simple(subject: &Value) -> Result<Subject, Unreadable> {
    let field = |name: &str| {
        subject
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    match subject.get("format").and_then(Value::as_str) {
        Some("iss_sub") => match (field("iss"), field("sub")) {
            (Some(iss), Some(sub)) => Ok(Subject::IssuerSubject { iss, sub }),
            _ => Err("an iss_sub subject needs iss and sub"),
        },
        Some("email") => match field("email") {
            Some(email) if email.contains('@') => Ok(Subject::Email(email)),
            _ => Err("an email subject needs an email address"),
        },
        _ => Err("unsupported subject format: iss_sub, email or complex"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn events(payload: Value) -> Result<Vec<Event>, Unreadable> {
        read(&payload.to_string())
    }

    #[test]
    fn okta_payload_subject_in_the_event_caep_1_0_section_3_1() {
        let user = json!({"format": "iss_sub", "iss": "https://a.okta.com", "sub": "00u1"});
        let read = events(json!({"events": {SESSION_REVOKED: {
            "subject": {"user": user}, "event_timestamp": 1_700_000_000
        }}}))
        .unwrap();
        let subject = Subject::IssuerSubject {
            iss: "https://a.okta.com".into(),
            sub: "00u1".into(),
        };
        assert_eq!(
            read,
            [Event::SessionRevoked {
                subject,
                at: Some(1_700_000_000)
            }]
        );
    }

    #[test]
    fn top_level_sub_id_ssf_1_0_and_complex_subject() {
        let read = events(json!({
            "sub_id": {"format": "complex", "user": {"format": "email", "email": "a@b.c"},
                       "session": {"format": "opaque", "id": "s"}},
            "events": {CREDENTIAL_CHANGE: {"change_type": "update", "credential_type": "password"}}
        }))
        .unwrap();
        assert!(matches!(
            &read[..],
            [Event::CredentialChange { subject: Subject::Email(e), at: None, .. }] if e == "a@b.c"
        ));
    }

    #[test]
    fn refused_subjects_rfc_9493() {
        for subject in [
            json!({"format": "opaque", "id": "x"}),
            json!({"format": "phone_number", "phone_number": "+1"}),
            json!({"format": "iss_sub", "iss": "x"}),
            json!({"format": "email", "email": "nope"}),
            json!({"format": "complex"}),
            json!({"user": {"user": {"format": "email", "email": "a@b.c"}}}),
            json!("00u1"),
        ] {
            let payload = json!({"events": {SESSION_REVOKED: {"subject": subject}}});
            assert!(events(payload).is_err(), "{subject}");
        }
        let none = json!({"events": {SESSION_REVOKED: {}}});
        assert!(events(none).is_err());
    }

    #[test]
    fn verification_and_other_events() {
        let read = events(json!({"events": {
            VERIFICATION: {"state": "s1"},
            "https://schemas.openid.net/secevent/caep/event-type/token-claims-change": {}
        }}))
        .unwrap();
        assert_eq!(read.len(), 2);
        assert!(read.contains(&Event::Verification {
            state: Some("s1".into())
        }));
        assert!(read.contains(&Event::Other));
    }
}
