//! The visitor's address: the TCP peer, or — only when the peer is one of `web.trusted_proxies` —
//! the nearest untrusted address in `X-Forwarded-For`. A visitor cannot claim another address by
//! sending the header themselves.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use ipnet::IpNet;

use super::App;
use super::error::WebError;
use crate::domain::ClientIp;

/// The client address of a request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub ClientIp);

impl FromRequestParts<Arc<App>> for ClientAddr {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| WebError::Internal("no peer address on the connection".into()))?;
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        if app.config.web.demo
            && let Some(ip) = parts
                .uri
                .query()
                .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("as=")))
                .and_then(urlencoding_ip)
        {
            return Ok(ClientAddr(ip));
        }
        Ok(ClientAddr(client_ip(
            peer,
            &forwarded,
            &app.config.web.trusted_proxies,
        )))
    }
}

/// An address from a query value, where `:` may arrive as `%3A`.
fn urlencoding_ip(value: &str) -> Option<ClientIp> {
    ClientIp::parse_lenient(&value.replace("%3A", ":").replace("%3a", ":"))
}

/// Walks `X-Forwarded-For` from the nearest hop while hops are trusted proxies.
pub fn client_ip(peer: IpAddr, forwarded: &str, trusted: &[IpNet]) -> ClientIp {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut current = ClientIp::new(peer);
    if !is_trusted(&current.addr()) {
        return current;
    }
    for hop in forwarded
        .rsplit(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        let Some(ip) = ClientIp::parse_lenient(hop) else {
            break;
        };
        current = ip;
        if !is_trusted(&ip.addr()) {
            break;
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> Vec<IpNet> {
        vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ]
    }

    #[test]
    fn untrusted_peers_cannot_claim_another_address() {
        let ip = client_ip("203.0.113.7".parse().unwrap(), "198.51.100.1", &trusted());
        assert_eq!(ip.to_string(), "203.0.113.7");
    }

    #[test]
    fn trusted_proxies_pass_on_the_nearest_untrusted_hop() {
        let ip = client_ip(
            "127.0.0.1".parse().unwrap(),
            "198.51.100.1, 203.0.113.7, 10.1.2.3",
            &trusted(),
        );
        assert_eq!(
            ip.to_string(),
            "203.0.113.7",
            "a spoofed first hop is not believed"
        );
        let ip = client_ip("127.0.0.1".parse().unwrap(), "", &trusted());
        assert_eq!(ip.to_string(), "127.0.0.1");
        let ip = client_ip("127.0.0.1".parse().unwrap(), "garbage", &trusted());
        assert_eq!(ip.to_string(), "127.0.0.1");
        let ip = client_ip(
            "127.0.0.1".parse().unwrap(),
            "[2001:db8::7]:4711",
            &trusted(),
        );
        assert_eq!(ip.to_string(), "2001:db8::7");
    }
}

/// Reserves a sign-in attempt of a `kind` account from `ip` (see `store::signin::reserve`),
/// or a 429 saying how long to wait.
pub async fn reserve_attempt(
    app: &App,
    kind: &str,
    account: &str,
    ip: ClientIp,
    limits: crate::store::signin::Limits,
) -> Result<crate::store::signin::Reservation, WebError> {
    use crate::store::signin::{self, Attempt, Reservation};
    let from = throttle_key(ip, app.config.web.throttle_ipv6_prefix);
    let now = app.now();
    match signin::reserve(&mut app.db.conn().await?, kind, account, &from, now, limits).await? {
        Attempt::Wait(secs) => Err(WebError::TooMany(secs)),
        Attempt::Reserved(id) => Ok(Reservation::new(app.db.clone(), id)),
    }
}

/// Whom sign-in throttling counts a client as: its IPv4 address, or the IPv6 network of
/// `v6_prefix` bits it is in (one household or host gets a whole /64, so counting single IPv6
/// addresses would let one guesser use 2^64 of them).
pub fn throttle_key(ip: ClientIp, v6_prefix: u8) -> String {
    match ip.addr() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match ipnet::Ipv6Net::new(v6, v6_prefix.min(128)) {
            Ok(net) => net.trunc().to_string(),
            Err(_) => v6.to_string(),
        },
    }
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_network() {
        let a: ClientIp = "2001:db8:1:2::10".parse().unwrap();
        let b: ClientIp = "2001:db8:1:2:ffff::99".parse().unwrap();
        let other: ClientIp = "2001:db8:1:3::10".parse().unwrap();
        assert_eq!(throttle_key(a, 64), "2001:db8:1:2::/64");
        assert_eq!(throttle_key(a, 64), throttle_key(b, 64));
        assert_ne!(throttle_key(a, 64), throttle_key(other, 64));
        assert_eq!(throttle_key(a, 128), "2001:db8:1:2::10/128");
        let v4: ClientIp = "203.0.113.7".parse().unwrap();
        assert_eq!(throttle_key(v4, 64), "203.0.113.7");
    }
}
