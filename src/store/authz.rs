//! What the grant index is loaded from at start (§6.1): logins recent enough to still grant.
//! Staff grants, blocks and suspensions are loaded here too as they are added.

use super::{Conn, Result, Value};
use crate::domain::{ClientIp, Epoch};

/// `(ip, login, last_seen)` for every session seen at or after `since` (now − W): each still
/// grants its address until `last_seen + W`. Rows whose address does not parse are skipped.
pub fn recent_logins(conn: &mut dyn Conn, since: Epoch) -> Result<Vec<(ClientIp, String, Epoch)>> {
    let rows = conn.query(
        "select ip, login, max(last_seen) from sessions
         where last_seen >= $1
         group by ip, login",
        &[Value::Int(since)],
    )?;
    let mut logins = Vec::with_capacity(rows.len());
    for r in &rows {
        if let Some(ip) = ClientIp::parse_lenient(&r.text(0)?) {
            logins.push((ip, r.text(1)?, r.int(2)?));
        }
    }
    Ok(logins)
}

/// Blocks and suspensions in force at `now`, and staff grants not yet expired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    pub blocks: Vec<String>,
    pub suspended: Vec<String>,
    pub staff_grants: Vec<(ClientIp, Epoch)>,
}

pub fn snapshot(conn: &mut dyn Conn, now: Epoch) -> Result<Snapshot> {
    use super::restrictions::{self, Kind};
    let blocks = restrictions::in_force(conn, Kind::Block, now)?
        .into_iter()
        .map(|r| r.subject)
        .collect();
    let suspended = restrictions::in_force(conn, Kind::Suspension, now)?
        .into_iter()
        .map(|r| r.subject)
        .collect();
    let staff_grants = restrictions::active_grants(conn, now)?
        .into_iter()
        .filter_map(|g| Some((ClientIp::parse_lenient(&g.ip)?, g.expires_at)))
        .collect();
    Ok(Snapshot {
        blocks,
        suspended,
        staff_grants,
    })
}
