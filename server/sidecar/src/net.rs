//! Who is asking: the client IP of a request, and the key it is rate-limited under.
//!
//! The TCP peer is the client, unless the peer is one of `--trusted-proxies`: then the
//! `X-Forwarded-For` chain is read from the right (the hop nearest to us), skipping trusted
//! proxies, and the first address that is not one of them is the client. A client can put
//! anything at the left of that header, so the left is never believed. With no trusted
//! proxies (the default) the header is ignored entirely.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv6Addr};

/// The client IP for a request from `peer` carrying these `X-Forwarded-For` values.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[IpNet],
) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    // All header lines joined, in order; then walk from the right.
    let hops: Vec<&str> = forwarded_for.flat_map(|v| v.split(',')).collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop.trim()) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    return ip;
                }
            }
            // A malformed hop: stop and use the last address we could vouch for.
            None => return client,
        }
    }
    client
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    None
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) is the IPv4 address it maps.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The key a client IP is rate-limited under: an IPv4 address itself, an IPv6 address's /64
/// (a subscriber usually holds a whole /64, so addresses inside it are one client).
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn header_ignored_without_trusted_proxies() {
        let got = client_ip(ip("203.0.113.7"), ["1.1.1.1"].into_iter(), &[]);
        assert_eq!(got, ip("203.0.113.7"));
        // Even from a private peer.
        let got = client_ip(ip("10.0.0.2"), ["1.1.1.1"].into_iter(), &[]);
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client forged "6.6.6.6" at the left; the proxy appended the real peer.
        let got = client_ip(
            ip("10.0.0.2"),
            ["6.6.6.6, 198.51.100.4", "10.0.0.9"].into_iter(),
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.4"));
        // A peer that is not a trusted proxy is believed over any header.
        let got = client_ip(ip("198.51.100.9"), ["6.6.6.6"].into_iter(), &trusted);
        assert_eq!(got, ip("198.51.100.9"));
        // Ports and brackets are accepted; garbage stops the walk.
        let got = client_ip(ip("10.0.0.2"), ["[2001:db8::5]:443"].into_iter(), &trusted);
        assert_eq!(got, ip("2001:db8::5"));
        let got = client_ip(ip("10.0.0.2"), ["nonsense"].into_iter(), &trusted);
        assert_eq!(got, ip("10.0.0.2"));
        // No header from a trusted proxy: the proxy itself.
        let got = client_ip(ip("10.0.0.2"), std::iter::empty(), &trusted);
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            limit_key(ip("2001:db8:1:2::1"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(limit_key(ip("192.0.2.1")), ip("192.0.2.1"));
    }
}
