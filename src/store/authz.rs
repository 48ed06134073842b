//! What the grant index is loaded from at start (§6.1): logins recent enough to still grant.
//! Staff grants, blocks and suspensions are loaded here too as they are added.

use std::collections::HashMap;

use super::{Conn, Result, Value};
use crate::domain::{ClientIp, Epoch};

/// `(ip, login, last_seen)` for every session seen at or after `since` (now − W): each still
/// grants its address until `last_seen + W`. One row per address and login, with the latest
/// `last_seen`. Rows whose address does not parse are skipped.
///
/// The grant refresher runs this every second, so it must stay a walk of the `sessions_last`
/// range: with `group by ip, login` in SQL, SQLite (without statistics) walked the whole primary
/// key in group order instead — every stored session, every second (bench/web). The few rows of
/// the range are grouped here.
pub async fn recent_logins(
    conn: &mut Conn,
    since: Epoch,
) -> Result<Vec<(ClientIp, String, Epoch)>> {
    let rows: Vec<(String, String, Epoch)> = conn
        .fetch_all(
            "select ip, login, last_seen from sessions where last_seen >= $1",
            &[Value::Int(since)],
        )
        .await?;
    let mut latest: HashMap<(String, String), Epoch> = HashMap::with_capacity(rows.len());
    for (ip, login, at) in rows {
        let seen = latest.entry((ip, login)).or_insert(at);
        *seen = (*seen).max(at);
    }
    let mut logins = Vec::with_capacity(latest.len());
    for ((ip, login), at) in latest {
        if let Some(ip) = ClientIp::parse_lenient(&ip) {
            logins.push((ip, login, at));
        }
    }
    Ok(logins)
}

/// `(ip, login, at)` of every failed mailbox login at or after `since`, for the policy's cause
/// memory. Rows whose address does not parse are skipped.
pub async fn recent_failures(
    conn: &mut Conn,
    since: Epoch,
) -> Result<Vec<(ClientIp, Option<String>, Epoch)>> {
    let rows: Vec<(String, Option<String>, Epoch)> = conn
        .fetch_all(
            "select ip, login, at from login_failures where at >= $1",
            &[Value::Int(since)],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(ip, login, at)| Some((ClientIp::parse_lenient(&ip)?, login, at)))
        .collect())
}

/// Blocks and suspensions in force at `now`, and staff grants not yet expired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub blocks: Vec<String>,
    pub suspended: Vec<String>,
    pub staff_grants: Vec<(ClientIp, Epoch)>,
}

pub async fn snapshot(conn: &mut Conn, now: Epoch) -> Result<Snapshot> {
    use super::restrictions::{self, Kind};
    let blocks = restrictions::in_force(conn, Kind::Block, now)
        .await?
        .into_iter()
        .map(|r| r.subject)
        .collect();
    let suspended = restrictions::in_force(conn, Kind::Suspension, now)
        .await?
        .into_iter()
        .map(|r| r.subject)
        .collect();
    let staff_grants = restrictions::active_grants(conn, now)
        .await?
        .into_iter()
        .filter_map(|g| Some((ClientIp::parse_lenient(&g.ip)?, g.expires_at)))
        .collect();
    Ok(Snapshot {
        blocks,
        suspended,
        staff_grants,
    })
}
