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
