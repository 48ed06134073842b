//! Aggregate counts for the status page (§7.1): per-hour series and counts over a span. Only
//! counts leave this module — never a login, address or recipient.
//!
//! Hours are bucketed with integer arithmetic (`at - at % 3600`), which SQLite and PostgreSQL
//! compute alike on epoch seconds.

use super::{Conn, Result};
use crate::domain::Epoch;

/// Counts per hour for the `hours` whole hours ending with the one holding `now`, oldest first;
/// hours with nothing in them are 0.
fn per_hour(conn: &mut dyn Conn, sql: &str, now: Epoch, hours: i64) -> Result<Vec<(Epoch, i64)>> {
    let last = now - now.rem_euclid(3600);
    let first = last - (hours - 1) * 3600;
    let mut series: Vec<(Epoch, i64)> = (0..hours).map(|i| (first + i * 3600, 0)).collect();
    for row in conn.query(sql, &[first.into(), (last + 3600).into()])? {
        let (hour, count) = (row.int(0)?, row.int(1)?);
        let i = (hour - first) / 3600;
        if (0..hours).contains(&i) {
            series[i as usize].1 = count;
        }
    }
    Ok(series)
}

/// Mail-check sessions started per hour: a session is one login's run of POP/IMAP logins from
/// one address, so a client polling every few minutes counts once, not every poll.
pub fn sessions_per_hour(conn: &mut dyn Conn, now: Epoch, hours: i64) -> Result<Vec<(Epoch, i64)>> {
    per_hour(
        conn,
        "select first_seen - first_seen % 3600 as hour, count(*) from sessions
         where first_seen >= $1 and first_seen < $2
         group by first_seen - first_seen % 3600",
        now,
        hours,
    )
}

/// Refused relay attempts per hour.
pub fn relay_rejections_per_hour(
    conn: &mut dyn Conn,
    now: Epoch,
    hours: i64,
) -> Result<Vec<(Epoch, i64)>> {
    per_hour(
        conn,
        "select at - at % 3600 as hour, count(*) from rejections
         where kind = 'relay' and at >= $1 and at < $2
         group by at - at % 3600",
        now,
        hours,
    )
}

/// Mail-check sessions with a login in `[from, to]`, and failed logins in that span.
pub fn logins_between(conn: &mut dyn Conn, from: Epoch, to: Epoch) -> Result<(i64, i64)> {
    // A session overlaps the span when it began by its end and was last seen after its start;
    // sessions have no gap longer than the window, so it had a login in or near the span.
    let sessions = count(
        conn,
        "select count(*) from sessions where last_seen >= $1 and first_seen <= $2",
        from,
        to,
    )?;
    let failures = count(
        conn,
        "select count(*) from login_failures where at >= $1 and at <= $2",
        from,
        to,
    )?;
    Ok((sessions, failures))
}

/// The policy service's relay decisions in `[from, to]`: (ok, reject).
pub fn decisions_between(conn: &mut dyn Conn, from: Epoch, to: Epoch) -> Result<(i64, i64)> {
    let rows = conn.query(
        "select action, count(*) from policy_decisions where at >= $1 and at <= $2
         group by action",
        &[from.into(), to.into()],
    )?;
    let (mut ok, mut reject) = (0, 0);
    for row in rows {
        match row.text(0)?.as_str() {
            "ok" => ok = row.int(1)?,
            "reject" => reject = row.int(1)?,
            _ => {}
        }
    }
    Ok((ok, reject))
}

/// Whether the policy service ever recorded a decision here.
pub fn any_decision(conn: &mut dyn Conn) -> Result<bool> {
    Ok(conn
        .query_one("select 1 from policy_decisions limit 1", &[])?
        .is_some())
}

/// Sends Postfix refused with `451 4.3.5 Server configuration problem` in `[from, to]`: what it
/// answers when its policy service does not.
pub fn policy_unavailable_between(conn: &mut dyn Conn, from: Epoch, to: Epoch) -> Result<i64> {
    count(
        conn,
        "select count(*) from rejections
         where kind in ('relay', 'other') and at >= $1 and at <= $2 and reply like '451 4.3.5%'",
        from,
        to,
    )
}

fn count(conn: &mut dyn Conn, sql: &str, from: Epoch, to: Epoch) -> Result<i64> {
    conn.query_one(sql, &[from.into(), to.into()])?
        .map_or(Ok(0), |r| r.int(0))
}
