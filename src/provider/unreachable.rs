//! [`Unreachable`]: why a call to the provider got no HTTP answer (DNS, refused, TLS, timeout),
//! told from the transport error: what the logs, the tenant doctor and a call's span say.

/// Why a request got no HTTP answer, told from the error and its sources.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unreachable {
    /// The host name did not resolve.
    Dns,
    /// Nothing listens there (TCP connection refused).
    Refused,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// No answer in time.
    Timeout,
    /// The connection failed otherwise (reset, unreachable network).
    Connect,
    /// The answer could not be read.
    Body,
    /// Anything else.
    Other,
}

impl Unreachable {
    /// Classifies a transport error. The sources are looked at for their kind and their
    /// (library-written, never provider-written) description.
    pub(crate) fn of(e: &reqwest::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
        let (mut dns, mut tls, mut refused, mut timed_out) = (false, false, false, false);
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind;
                refused |= io.kind() == ErrorKind::ConnectionRefused;
                timed_out |= io.kind() == ErrorKind::TimedOut;
                // Once TCP is up, what fails in `connect` is the TLS handshake: rustls reports
                // it as an I/O error of kind InvalidData (certificates) or Other (protocol).
                tls |= e.is_connect()
                    && matches!(io.kind(), ErrorKind::InvalidData | ErrorKind::Other);
            }
            let text = err.to_string().to_ascii_lowercase();
            dns |= text.contains("dns error") || text.contains("lookup address");
            tls |=
                text.contains("certificate") || text.contains("tls") || text.contains("handshake");
            source = err.source();
        }
        if e.is_timeout() || timed_out {
            Unreachable::Timeout
        } else if dns {
            Unreachable::Dns
        } else if refused {
            Unreachable::Refused
        } else if tls {
            Unreachable::Tls
        } else if e.is_connect() {
            Unreachable::Connect
        } else if e.is_body() || e.is_decode() {
            Unreachable::Body
        } else {
            Unreachable::Other
        }
    }

    /// A short, stable name (the `error.type` of a call's span).
    pub(crate) fn code(self) -> &'static str {
        match self {
            Unreachable::Dns => "dns",
            Unreachable::Refused => "connection_refused",
            Unreachable::Tls => "tls",
            Unreachable::Timeout => "timeout",
            Unreachable::Connect => "connect",
            Unreachable::Body => "body",
            Unreachable::Other => "other",
        }
    }

    /// A few words: "DNS lookup failed", "connection refused", …
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Unreachable::Dns => "DNS lookup failed",
            Unreachable::Refused => "connection refused",
            Unreachable::Tls => "TLS handshake failed",
            Unreachable::Timeout => "timed out",
            Unreachable::Connect => "connection failed",
            Unreachable::Body => "body could not be read",
            Unreachable::Other => "request failed",
        }
    }
}
