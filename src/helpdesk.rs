//! What the helpdesk asks of the store, shared by the staff pages and the API so both answer
//! alike: "who had address X at time T?", everything about one customer or one address
//! (`customer`), and the search (`search`). Every lookup of personal data is recorded in the
//! audit log by the caller's surface with `audit`.

pub mod customer;
pub mod search;

use serde::Serialize;

use crate::config::Config;
use crate::domain::{ClientIp, Epoch};
use crate::store::{self, Conn, audit, history};

/// One login that held an address around a time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Holder {
    pub login: String,
    pub service: String,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    pub logins: i64,
    /// Whether `at` falls inside the session or its grant (last login + W).
    pub held_at: bool,
}

/// Who held an address at a moment: the sessions around it, and when nobody held it then,
/// the nearest holders before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Who {
    pub holders: Vec<Holder>,
    /// The session whose last login came last before the moment (nobody held it then).
    pub before: Option<history::Session>,
    /// The session whose first login came first after the moment (nobody held it then).
    pub after: Option<history::Session>,
}

/// Who held `ip` at `at`: sessions active within one window either side, those that held it
/// at that very moment first; when none did, the nearest holders before and after.
pub async fn who(conn: &mut Conn, config: &Config, ip: ClientIp, at: Epoch) -> store::Result<Who> {
    let holders = holders(conn, config, ip, at).await?;
    let (before, after) = match holders.iter().any(|h| h.held_at) {
        true => (None, None),
        false => history::around(conn, &ip.to_string(), at).await?,
    };
    Ok(Who {
        holders,
        before,
        after,
    })
}

async fn holders(
    conn: &mut Conn,
    config: &Config,
    ip: ClientIp,
    at: Epoch,
) -> store::Result<Vec<Holder>> {
    let w = config.relay.window.0;
    let mut holders: Vec<Holder> = history::holders(conn, &ip.to_string(), at, w, 100)
        .await?
        .into_iter()
        .map(|s| Holder {
            held_at: s.first_seen <= at && at <= s.last_seen + w,
            login: s.login,
            service: s.service,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            logins: s.logins,
        })
        .collect();
    holders.sort_by_key(|h| (!h.held_at, (h.last_seen - at).abs()));
    Ok(holders)
}

/// Records that `actor` looked at or acted on `subject`.
pub async fn audit(
    conn: &mut Conn,
    actor: &str,
    action: &str,
    subject: &str,
    reason: Option<&str>,
    detail: Option<&str>,
) -> store::Result<()> {
    audit::record(
        conn,
        chrono::Utc::now().timestamp(),
        actor,
        action,
        subject,
        reason,
        detail,
    )
    .await
}
