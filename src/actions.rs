//! Staff actions on relay authorization — grant an address for N minutes, block or unblock an
//! address or network, suspend or unsuspend a login. State changes one way: the CLI, the staff
//! pages and the API parse their input into a typed `Action` and call `perform`, which writes
//! the change, its audit record and its change notice in one transaction and returns the
//! sentence to show the person who acted.

use anyhow::bail;
use ipnet::IpNet;

use crate::domain::{ClientIp, Login};
use crate::store::Db;
use crate::store::changes::{self, Change};
use crate::store::restrictions::{self, Kind};

/// The longest staff grant: a day. Longer needs a configuration change, not a click.
pub const MAX_GRANT_MINUTES: i64 = 24 * 60;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Why staff acted: one line of 1 to 500 characters, read once at the edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub fn parse(text: &str) -> anyhow::Result<Reason> {
        let text = text.trim();
        if text.is_empty() || text.len() > 500 || text.chars().any(char::is_control) {
            bail!("reason: give a short reason (1-500 characters, one line)");
        }
        Ok(Reason(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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

/// A staff action, its values parsed at the edge (`ClientIp`, `network`, `Login`): the CLI,
/// the staff pages and the API build one and hand it to `perform`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `ip` may relay for `minutes`; `login` when granted on a customer's behalf (their page).
    Grant {
        ip: ClientIp,
        minutes: i64,
        login: Option<Login>,
    },
    Block {
        net: IpNet,
    },
    Unblock {
        net: IpNet,
    },
    Suspend {
        login: Login,
    },
    Unsuspend {
        login: Login,
    },
}

impl Action {
    /// A grant, its length checked.
    pub fn grant(ip: ClientIp, minutes: i64, login: Option<Login>) -> anyhow::Result<Action> {
        if !(1..=MAX_GRANT_MINUTES).contains(&minutes) {
            bail!("minutes: between 1 and {MAX_GRANT_MINUTES}");
        }
        Ok(Action::Grant { ip, minutes, login })
    }

    /// Whether the action needs a reason (lifting one does not).
    fn needs_reason(&self) -> bool {
        !matches!(self, Action::Unblock { .. } | Action::Unsuspend { .. })
    }
}

/// Who acted and how the audit log names the action and its subject: the pages and the
/// command line write `grant`, `block`, …, the API `api_grant`, …; the subject is the address,
/// network or login acted on (the customer's login for a grant made from their page).
pub struct Audit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: String,
}

/// Carries out `action` with `reason` for `audit.actor`: the change, its audit record and the
/// change notice (which every node's grant index hears) are written in **one transaction**,
/// so an action whose audit cannot be written is not performed. Returns what to say.
pub async fn perform(
    db: &Db,
    action: &Action,
    reason: Option<&Reason>,
    audit: Audit<'_>,
) -> anyhow::Result<String> {
    let reason = match (action.needs_reason(), reason) {
        (true, None) => bail!("reason: give a short reason (1-500 characters, one line)"),
        (_, r) => r.map(Reason::as_str),
    };
    let now = now();
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let said = match action {
        Action::Grant { ip, minutes, login } => {
            let until = now + minutes * 60;
            let login = login.as_ref().map(Login::as_str);
            let r = reason.unwrap_or_default();
            restrictions::add_grant(&mut tx, &ip.to_string(), login, r, audit.actor, now, until)
                .await?;
            format!("{ip} may relay for {minutes} minutes")
        }
        Action::Block { net } => {
            let subject = net.to_string();
            let r = reason.unwrap_or_default();
            let added =
                restrictions::add(&mut tx, Kind::Block, &subject, r, audit.actor, now, None)
                    .await?;
            match added {
                true => format!("{subject} is blocked"),
                false => format!("{subject} was already blocked"),
            }
        }
        Action::Suspend { login } => {
            let r = reason.unwrap_or_default();
            let added = restrictions::add(
                &mut tx,
                Kind::Suspension,
                login.as_str(),
                r,
                audit.actor,
                now,
                None,
            )
            .await?;
            match added {
                true => format!("{login} is suspended"),
                false => format!("{login} was already suspended"),
            }
        }
        Action::Unblock { net } => {
            let subject = net.to_string();
            match restrictions::lift(&mut tx, Kind::Block, &subject, audit.actor, now).await? {
                0 => format!("{subject} was not blocked"),
                _ => format!("{subject} is unblocked"),
            }
        }
        Action::Unsuspend { login } => {
            let lifted =
                restrictions::lift(&mut tx, Kind::Suspension, login.as_str(), audit.actor, now)
                    .await?;
            match lifted {
                0 => format!("{login} was not suspended"),
                _ => format!("{login} is unsuspended"),
            }
        }
    };
    crate::store::audit::record(
        &mut tx,
        now,
        audit.actor,
        audit.action,
        &audit.subject,
        reason,
        Some(&said),
    )
    .await?;
    changes::notify(&mut tx, Change::Authorization).await?;
    tx.commit().await?;
    Ok(said)
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
        assert!(Reason::parse("  ").is_err());
        assert!(Reason::parse("a\\nb").is_ok());
        assert!(Reason::parse("a\nb").is_err());
        assert_eq!(
            Reason::parse(" on the phone ").unwrap().as_str(),
            "on the phone"
        );
    }
}
