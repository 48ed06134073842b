//! Staff actions on relay authorization — grant an address for N minutes, block or unblock an
//! address or network, suspend or unsuspend a login — checked here once for the CLI, the staff
//! pages and the API. Each returns the sentence to show the person who acted.

use anyhow::bail;
use ipnet::IpNet;

use crate::domain::{ClientIp, Login, LoginRule};
use crate::store::Db;
use crate::store::changes::{self, Change};
use crate::store::restrictions::{self, Kind};

/// The longest staff grant: a day. Longer needs a configuration change, not a click.
pub const MAX_GRANT_MINUTES: i64 = 24 * 60;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn reason_of(reason: &str) -> anyhow::Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() || reason.len() > 500 || reason.chars().any(char::is_control) {
        bail!("reason: give a short reason (1-500 characters, one line)");
    }
    Ok(reason)
}

/// The widest network one block may cover: an IPv4 /16, an IPv6 /48. A slip of the keyboard
/// (or a stolen token) must not block a whole provider, let alone the Internet.
pub const WIDEST_V4_BLOCK: u8 = 16;
pub const WIDEST_V6_BLOCK: u8 = 48;

/// An address or network as blocks store it (`203.0.113.7/32`, `2001:db8::/48`), no wider than
/// a block may be. The one check for the pages, the API and the command line; its error names
/// the field `network`.
pub fn network(text: &str) -> anyhow::Result<IpNet> {
    network_in("network", text)
}

/// `network`, for a form or body whose field has another name (the API's `ip`).
pub fn network_in(field: &str, text: &str) -> anyhow::Result<IpNet> {
    let net = any_network_in(field, text)?;
    let widest = match net {
        IpNet::V4(_) => WIDEST_V4_BLOCK,
        IpNet::V6(_) => WIDEST_V6_BLOCK,
    };
    if net.prefix_len() < widest {
        bail!("{field}: /{widest} or narrower (IPv4 /16, IPv6 /48), not {net}");
    }
    Ok(net)
}

/// An address or network of any width, normalized: what lifting a block takes (a wide block
/// made before the limit existed must still be liftable).
pub fn any_network(text: &str) -> anyhow::Result<IpNet> {
    any_network_in("network", text)
}

/// `any_network`, for a field of another name.
pub fn any_network_in(field: &str, text: &str) -> anyhow::Result<IpNet> {
    let text = text.trim();
    if let Ok(ip) = text.parse::<ClientIp>() {
        return Ok(IpNet::from(ip.addr()));
    }
    let net: IpNet = text
        .parse()
        .map_err(|_| anyhow::anyhow!("{field}: {text:?} is not an address or network (CIDR)"))?;
    Ok(crate::domain::client_net(net))
}

pub async fn grant(
    db: &Db,
    ip: &str,
    minutes: i64,
    reason: &str,
    by: &str,
) -> anyhow::Result<String> {
    let ip: ClientIp = ip.parse()?;
    if !(1..=MAX_GRANT_MINUTES).contains(&minutes) {
        bail!("minutes: between 1 and {MAX_GRANT_MINUTES}");
    }
    let reason = reason_of(reason)?;
    let now = now();
    let until = now + minutes * 60;
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    restrictions::add_grant(&mut tx, &ip.to_string(), None, reason, by, now, until).await?;
    changes::notify(&mut tx, Change::Authorization).await?;
    tx.commit().await?;
    Ok(format!("{ip} may relay for {minutes} minutes"))
}

pub async fn block(db: &Db, ip: &str, reason: &str, by: &str) -> anyhow::Result<String> {
    let net = network(ip)?;
    restrict(db, Kind::Block, &net.to_string(), reason, by).await
}

pub async fn unblock(db: &Db, ip: &str, by: &str) -> anyhow::Result<String> {
    let net = any_network(ip)?;
    lift(db, Kind::Block, &net.to_string(), by).await
}

/// Suspends `login` in its canonical form (`rule`): every spelling of the account is stopped.
pub async fn suspend(
    db: &Db,
    rule: &LoginRule,
    login: &str,
    reason: &str,
    by: &str,
) -> anyhow::Result<String> {
    let login = Login::parse(login, rule)?;
    restrict(db, Kind::Suspension, login.as_str(), reason, by).await
}

/// Lifts the suspension of `login`'s account, however it is spelled.
pub async fn unsuspend(db: &Db, rule: &LoginRule, login: &str, by: &str) -> anyhow::Result<String> {
    let login = Login::parse(login, rule)?;
    lift(db, Kind::Suspension, login.as_str(), by).await
}

/// A staff action, as the CLI, the staff pages and the API name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Grant { ip: String, minutes: i64 },
    Block { ip: String },
    Unblock { ip: String },
    Suspend { login: String },
    Unsuspend { login: String },
}

/// Carries out `action` for `by` with `reason` (lifting takes none); returns what to say.
/// Logins are taken in their canonical form by `rule`.
pub async fn perform(
    db: &Db,
    rule: &LoginRule,
    action: &Action,
    reason: &str,
    by: &str,
) -> anyhow::Result<String> {
    match action {
        Action::Grant { ip, minutes } => grant(db, ip, *minutes, reason, by).await,
        Action::Block { ip } => block(db, ip, reason, by).await,
        Action::Unblock { ip } => unblock(db, ip, by).await,
        Action::Suspend { login } => suspend(db, rule, login, reason, by).await,
        Action::Unsuspend { login } => unsuspend(db, rule, login, by).await,
    }
}

async fn restrict(
    db: &Db,
    kind: Kind,
    subject: &str,
    reason: &str,
    by: &str,
) -> anyhow::Result<String> {
    let reason = reason_of(reason)?;
    let now = now();
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let added = restrictions::add(&mut tx, kind, subject, reason, by, now, None).await?;
    changes::notify(&mut tx, Change::Authorization).await?;
    tx.commit().await?;
    Ok(match (kind, added) {
        (Kind::Block, true) => format!("{subject} is blocked"),
        (Kind::Block, false) => format!("{subject} was already blocked"),
        (Kind::Suspension, true) => format!("{subject} is suspended"),
        (Kind::Suspension, false) => format!("{subject} was already suspended"),
    })
}

async fn lift(db: &Db, kind: Kind, subject: &str, by: &str) -> anyhow::Result<String> {
    let now = now();
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let lifted = restrictions::lift(&mut tx, kind, subject, by, now).await?;
    changes::notify(&mut tx, Change::Authorization).await?;
    tx.commit().await?;
    Ok(match (kind, lifted) {
        (Kind::Block, 0) => format!("{subject} was not blocked"),
        (Kind::Block, _) => format!("{subject} is unblocked"),
        (Kind::Suspension, 0) => format!("{subject} was not suspended"),
        (Kind::Suspension, _) => format!("{subject} is unsuspended"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_normalized() {
        assert_eq!(
            network("203.0.113.7").unwrap().to_string(),
            "203.0.113.7/32"
        );
        assert_eq!(
            network("::ffff:203.0.113.7").unwrap().to_string(),
            "203.0.113.7/32"
        );
        assert_eq!(
            network("203.0.113.77/24").unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert_eq!(
            network("2001:db8::1/48").unwrap().to_string(),
            "2001:db8::/48"
        );
        assert!(network("example").is_err());
        // Mapped IPv6 is the IPv4 network clients are compared with, and no wider.
        assert_eq!(
            network("::ffff:203.0.113.66/128").unwrap().to_string(),
            "203.0.113.66/32"
        );
        assert_eq!(
            network("::ffff:203.0.113.0/120").unwrap().to_string(),
            "203.0.113.0/24"
        );
        assert!(network("::ffff:0:0/96").is_err());
        assert!(network("::ffff:10.0.0.0/104").is_err());
    }

    #[test]
    fn reasons_are_required_and_single_line() {
        assert!(reason_of("  ").is_err());
        assert!(reason_of("a\\nb").is_ok());
        assert!(reason_of("a\nb").is_err());
        assert_eq!(reason_of(" on the phone ").unwrap(), "on the phone");
    }
}
