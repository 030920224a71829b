//! The address a request comes from, for the budget shares that keep one client's junk from
//! spending what other clients need: the peer address, or the address a trusted proxy forwarded
//! (`X-Forwarded-For`). Decided here and nowhere else.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use http::request::Parts;

/// The proxies whose `X-Forwarded-For` is believed, by address.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrustedProxies {
    addresses: Arc<[IpAddr]>,
}

impl TrustedProxies {
    pub(crate) fn new(addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        TrustedProxies {
            addresses: addresses.into_iter().map(canonical).collect(),
        }
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.addresses.contains(&canonical(address))
    }

    /// The client address of a request: the peer's (axum's `ConnectInfo<SocketAddr>`, or a
    /// `SocketAddr` the server put in the extensions), or — when the peer is a trusted proxy —
    /// the right-most `X-Forwarded-For` address that is not a trusted proxy itself (the one the
    /// first trusted proxy saw; what is left of it the client may have written). `None` when
    /// the server records no peer address: such requests share one budget share.
    pub(crate) fn client_of(&self, request: &Parts) -> Option<IpAddr> {
        let peer = canonical(peer_address(request)?);
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for value in request.headers.get_all("x-forwarded-for").iter().rev() {
            let Ok(value) = value.to_str() else {
                return Some(client);
            };
            for hop in value.rsplit(',') {
                let Ok(address) = hop.trim().parse::<IpAddr>() else {
                    // Garbage in the chain: the last address we can vouch for.
                    return Some(client);
                };
                client = canonical(address);
                if !self.trusts(client) {
                    return Some(client);
                }
            }
        }
        Some(client)
    }
}

/// The peer address the server recorded for the connection.
fn peer_address(request: &Parts) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(axum::extract::ConnectInfo(address)) = request
        .extensions
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
    {
        return Some(address.ip());
    }
    request.extensions.get::<SocketAddr>().map(SocketAddr::ip)
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) is that IPv4 address.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The key of a client's budget share: the address, with IPv6 clients grouped by their /64
/// (one host holds a whole /64; counting its addresses apart would give it millions of shares).
pub(crate) fn share_key(client: Option<IpAddr>) -> [u8; 16] {
    match client {
        Some(IpAddr::V4(v4)) => v4.to_ipv6_mapped().octets(),
        Some(IpAddr::V6(v6)) => {
            let mut octets = v6.octets();
            octets[8..].fill(0);
            octets
        }
        None => [0xff; 16],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(peer: &str, forwarded: &[&str]) -> Parts {
        let mut builder = http::Request::builder();
        for value in forwarded {
            builder = builder.header("x-forwarded-for", *value);
        }
        let (mut parts, ()) = builder.body(()).unwrap().into_parts();
        parts.extensions.insert(peer.parse::<SocketAddr>().unwrap());
        parts
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn a_peer_that_is_no_trusted_proxy_is_the_client_whatever_it_forwards() {
        let proxies = TrustedProxies::new([ip("10.0.0.1")]);
        let parts = request("203.0.113.9:5000", &["198.51.100.1"]);
        assert_eq!(proxies.client_of(&parts), Some(ip("203.0.113.9")));
    }

    #[test]
    fn a_trusted_proxy_forwards_the_right_most_untrusted_address() {
        let proxies = TrustedProxies::new([ip("10.0.0.1"), ip("10.0.0.2")]);
        // The client wrote "1.1.1.1" itself; the first proxy appended what it saw.
        let parts = request("10.0.0.2:443", &["1.1.1.1, 198.51.100.7", "10.0.0.1"]);
        assert_eq!(proxies.client_of(&parts), Some(ip("198.51.100.7")));
        let garbage = request("10.0.0.1:443", &["nonsense"]);
        assert_eq!(proxies.client_of(&garbage), Some(ip("10.0.0.1")));
        let none = request("10.0.0.1:443", &[]);
        assert_eq!(proxies.client_of(&none), Some(ip("10.0.0.1")));
    }

    #[test]
    fn mapped_ipv4_and_ipv6_hosts_share_keys() {
        let proxies = TrustedProxies::new([ip("127.0.0.1")]);
        let mapped = request("[::ffff:127.0.0.1]:80", &["192.0.2.5"]);
        assert_eq!(proxies.client_of(&mapped), Some(ip("192.0.2.5")));
        assert_eq!(
            share_key(Some(ip("2001:db8::1"))),
            share_key(Some(ip("2001:db8::ffff:2")))
        );
        assert_ne!(
            share_key(Some(ip("2001:db8:0:1::1"))),
            share_key(Some(ip("2001:db8::1")))
        );
        assert_ne!(share_key(None), share_key(Some(ip("0.0.0.0"))));
    }
}
