//! The staff dashboard's numbers: activity counters over a recent period and per-hour series
//! for the charts. Each query is a range scan on a time index.

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// Activity since a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Counters {
    /// Mailbox logins in sessions whose last login is in the period.
    pub logins: i64,
    pub failed_logins: i64,
    pub relay_rejections: i64,
    pub accepted_relays: i64,
    /// Relay decisions the policy service recorded.
    pub policy_decisions: i64,
}

/// How many of the newest failed logins are looked at for the counter: the table has no index
/// on time alone, so the count walks the newest rows by id and stops here.
pub const FAILURE_SCAN: i64 = 100_000;

pub fn counters(conn: &mut dyn Conn, since: Epoch) -> Result<Counters> {
    let one = |conn: &mut dyn Conn, sql: &str, params: &[Value]| -> Result<i64> {
        Ok(conn
            .query_one(sql, params)?
            .map(|r| r.opt_int(0))
            .transpose()?
            .flatten()
            .unwrap_or(0))
    };
    let s = Value::Int(since);
    Ok(Counters {
        logins: one(
            conn,
            "select cast(sum(logins) as bigint) from sessions where last_seen >= $1",
            std::slice::from_ref(&s),
        )?,
        failed_logins: one(
            conn,
            "select count(*) from (select at from login_failures order by id desc limit $2) f
             where at >= $1",
            &[s.clone(), Value::Int(FAILURE_SCAN)],
        )?,
        relay_rejections: one(
            conn,
            "select count(*) from rejections where kind = 'relay' and at >= $1",
            std::slice::from_ref(&s),
        )?,
        accepted_relays: one(
            conn,
            "select cast(sum(count) as bigint) from relays where minute >= $1",
            std::slice::from_ref(&s),
        )?,
        policy_decisions: one(
            conn,
            "select count(*) from policy_decisions where at >= $1",
            &[s],
        )?,
    })
}

/// Per-hour totals since `since`: (hour start, count), hours without activity left out.
pub fn logins_per_hour(conn: &mut dyn Conn, since: Epoch) -> Result<Vec<(Epoch, i64)>> {
    hourly(
        conn,
        "select last_seen - (last_seen % 3600) as h, cast(sum(logins) as bigint) from sessions
         where last_seen >= $1 group by h order by h",
        since,
    )
}

pub fn rejections_per_hour(conn: &mut dyn Conn, since: Epoch) -> Result<Vec<(Epoch, i64)>> {
    hourly(
        conn,
        "select at - (at % 3600) as h, count(*) from rejections
         where kind = 'relay' and at >= $1 group by h order by h",
        since,
    )
}

fn hourly(conn: &mut dyn Conn, sql: &str, since: Epoch) -> Result<Vec<(Epoch, i64)>> {
    conn.query(sql, &[Value::Int(since)])?
        .iter()
        .map(|r| Ok((r.int(0)?, r.opt_int(1)?.unwrap_or(0))))
        .collect()
}

/// The newest policy decision's time, if any.
pub fn last_decision(conn: &mut dyn Conn) -> Result<Option<Epoch>> {
    conn.query_one("select max(at) from policy_decisions", &[])?
        .map_or(Ok(None), |r| r.opt_int(0))
}
