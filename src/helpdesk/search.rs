//! The helpdesk search: one box that takes a login, a mail address, an address or a network,
//! and an optional time range. Networks must be narrow enough to stay a quick index walk
//! (IPv4 /16, IPv6 /48 or narrower); everything stops at a limit.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

use crate::config::Config;
use crate::domain::{ClientIp, Epoch};
use crate::explain;
use crate::store::history::{self, Session};
use crate::store::rejections::StoredRejection;
use crate::store::{self, Conn, search, timeline};

/// Most rows of each kind a search returns.
pub const LIMIT: usize = 100;
/// Most rows read from a network's text range before the exact filter.
const RANGE_SCAN: i64 = 2000;
/// Widest networks searched.
pub const MIN_V4_PREFIX: u8 = 16;
pub const MIN_V6_PREFIX: u8 = 48;

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    /// Only a time range.
    Empty,
    Ip(ClientIp),
    Network(IpNet),
    /// A mail address: found through its owner (§6.2) and as a sender.
    Address(String),
    Login(String),
}

impl Query {
    /// Reads the search box. The error names the field and says what was wrong.
    pub fn parse(q: &str) -> Result<Query, String> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(Query::Empty);
        }
        if q.len() > 256 || q.chars().any(char::is_control) {
            return Err("q: at most 256 printable characters".into());
        }
        if let Some(ip) = ClientIp::parse_lenient(q) {
            return Ok(Query::Ip(ip));
        }
        if q.contains('/') && !q.contains('@') {
            let net: IpNet = q
                .parse()
                .map_err(|_| format!("q: {q:?} is not an address or network (CIDR)"))?;
            let net = crate::domain::client_net(net);
            match net {
                IpNet::V4(n) if n.prefix_len() < MIN_V4_PREFIX => {
                    return Err(format!(
                        "q: IPv4 networks must be /{MIN_V4_PREFIX} or narrower"
                    ));
                }
                IpNet::V6(n) if n.prefix_len() < MIN_V6_PREFIX => {
                    return Err(format!(
                        "q: IPv6 networks must be /{MIN_V6_PREFIX} or narrower"
                    ));
                }
                _ => {}
            }
            if net.prefix_len() == net.max_prefix_len() {
                return Ok(Query::Ip(ClientIp::new(net.addr())));
            }
            if text_range(&net).is_none() {
                return Err("q: this network cannot be searched; search its addresses".into());
            }
            return Ok(Query::Network(net));
        }
        if q.contains('@') {
            return Ok(Query::Address(q.to_ascii_lowercase()));
        }
        Ok(Query::Login(q.to_string()))
    }
}

/// The text range [lo, hi) holding every address of `net` as the store writes addresses.
/// IPv4: the whole octets of the prefix (`203.0.` for /16–/23). IPv6: the leading non-zero
/// groups the prefix covers (a zero group may be written `::`, so the range stops before it).
pub fn text_range(net: &IpNet) -> Option<(String, String)> {
    let prefix = match net {
        IpNet::V4(n) => {
            let octets = n.network().octets();
            let whole = usize::from(n.prefix_len() / 8);
            let mut p: Vec<String> = octets[..whole].iter().map(u8::to_string).collect();
            p.push(String::new());
            p.join(".")
        }
        IpNet::V6(n) => {
            let groups = n.network().segments();
            let whole = usize::from(n.prefix_len() / 16);
            let lead: Vec<String> = groups[..whole]
                .iter()
                .take_while(|g| **g != 0)
                .map(|g| format!("{g:x}"))
                .collect();
            if lead.is_empty() {
                return None;
            }
            format!("{}:", lead.join(":"))
        }
    };
    // The separator ('.' or ':') is the last character; the next character up ends the range.
    let mut hi = prefix.clone();
    let last = hi.pop()?;
    hi.push(char::from(last as u8 + 1));
    Some((prefix, hi))
}

/// A customer or an address found, with when it was last seen in the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub key: String,
    pub last_seen: Option<Epoch>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Results {
    pub customers: Vec<Hit>,
    pub addresses: Vec<Hit>,
    /// Newest first (by address for networks).
    pub sessions: Vec<Session>,
    pub rejections: Vec<StoredRejection>,
}

impl Results {
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
            && self.addresses.is_empty()
            && self.sessions.is_empty()
            && self.rejections.is_empty()
    }

    fn hits_from_rows(&mut self) {
        let note = |list: &mut Vec<Hit>, key: &str, at: Epoch| {
            if let Some(h) = list.iter_mut().find(|h| h.key == key) {
                h.last_seen = h.last_seen.max(Some(at));
            } else if list.len() < LIMIT {
                list.push(Hit {
                    key: key.to_string(),
                    last_seen: Some(at),
                });
            }
        };
        for s in &self.sessions {
            note(&mut self.customers, &s.login, s.last_seen);
            note(&mut self.addresses, &s.ip, s.last_seen);
        }
        for r in &self.rejections {
            note(&mut self.addresses, &r.ip, r.at);
        }
    }
}

pub async fn run(
    conn: &mut Conn,
    config: &Config,
    query: &Query,
    since: Epoch,
    until: Epoch,
) -> store::Result<Results> {
    let limit = LIMIT as i64;
    let mut out = Results::default();
    match query {
        Query::Empty => {
            out.sessions = search::sessions_ending_between(conn, since, until, limit).await?;
            out.rejections = search::rejections_between(conn, since, until, limit).await?;
        }
        Query::Login(login) => {
            let login = &config.relay.login_rule().canonical(login).into_owned();
            out.customers.push(Hit {
                key: login.clone(),
                last_seen: None,
            });
            out.sessions = history::sessions_for_login(conn, login, since, until, limit).await?;
            let senders = super::customer::senders_of(conn, config, login).await?;
            out.rejections =
                timeline::relay_rejections_by(conn, &senders, since, until, limit).await?;
        }
        Query::Address(address) => {
            if let Some(owner) = explain::owner_of(conn, address, config).await? {
                out.customers.push(Hit {
                    key: owner.clone(),
                    last_seen: None,
                });
                out.sessions =
                    history::sessions_for_login(conn, &owner, since, until, limit).await?;
            }
            out.rejections = timeline::relay_rejections_by(
                conn,
                std::slice::from_ref(address),
                since,
                until,
                limit,
            )
            .await?;
        }
        Query::Ip(ip) => {
            let text = ip.to_string();
            out.addresses.push(Hit {
                key: text.clone(),
                last_seen: None,
            });
            out.sessions = history::sessions_for_ip(conn, &text, since, until, limit).await?;
            out.rejections =
                timeline::relay_rejections_from(conn, &text, since, until, limit).await?;
        }
        Query::Network(net) => {
            let (lo, hi) = text_range(net).unwrap_or_default();
            let inside = |ip: &str| ip.parse::<IpAddr>().is_ok_and(|a| net.contains(&a));
            out.sessions = search::sessions_in_text_range(conn, &lo, &hi, since, until, RANGE_SCAN)
                .await?
                .into_iter()
                .filter(|s| inside(&s.ip))
                .take(LIMIT)
                .collect();
            out.rejections =
                search::rejections_in_text_range(conn, &lo, &hi, since, until, RANGE_SCAN)
                    .await?
                    .into_iter()
                    .filter(|r| inside(&r.ip))
                    .take(LIMIT)
                    .collect();
        }
    }
    out.hits_from_rows();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_reads_logins_addresses_ips_and_networks() {
        assert_eq!(Query::parse(" ").unwrap(), Query::Empty);
        assert_eq!(Query::parse("taro").unwrap(), Query::Login("taro".into()));
        assert_eq!(
            Query::parse("Taro@Example.jp").unwrap(),
            Query::Address("taro@example.jp".into())
        );
        assert!(
            matches!(Query::parse("::ffff:203.0.113.7").unwrap(), Query::Ip(ip) if ip.to_string() == "203.0.113.7")
        );
        assert!(matches!(
            Query::parse("203.0.113.7/32").unwrap(),
            Query::Ip(_)
        ));
        assert!(
            matches!(Query::parse("203.0.113.9/24").unwrap(), Query::Network(n) if n.to_string() == "203.0.113.0/24")
        );
        assert!(Query::parse("203.0.0.0/15").unwrap_err().starts_with("q:"));
        assert!(Query::parse("2001:db8::/47").unwrap_err().starts_with("q:"));
        assert!(Query::parse("2001:db8::/48").is_ok());
        assert!(Query::parse("300.1.2.3/24").unwrap_err().starts_with("q:"));
    }

    #[test]
    fn networks_become_text_ranges_that_hold_all_their_addresses() {
        let range = |n: &str| text_range(&n.parse().unwrap()).unwrap();
        assert_eq!(range("203.0.0.0/16"), ("203.0.".into(), "203.0/".into()));
        assert_eq!(range("203.0.112.0/20"), ("203.0.".into(), "203.0/".into()));
        assert_eq!(
            range("203.0.113.0/24"),
            ("203.0.113.".into(), "203.0.113/".into())
        );
        assert_eq!(
            range("2001:db8:5::/48"),
            ("2001:db8:5:".into(), "2001:db8:5;".into())
        );
        // 2001:db8:0:… may be written 2001:db8::…: the range stops before the zero group.
        let (lo, hi) = range("2001:db8::/48");
        for ip in ["2001:db8::1", "2001:db8:0:1::2"] {
            assert!(lo.as_str() <= ip && ip < hi.as_str(), "{ip}");
        }
        assert!(text_range(&"::/96".parse().unwrap()).is_none());
    }
}
