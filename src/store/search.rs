//! The helpdesk search (§7.2) over addresses, networks and time. Addresses are stored as text,
//! so a network is searched as a range of its text prefix on the `ip` indexes and filtered
//! exactly by the caller; every query stops at a limit.

use super::history::Session;
use super::rejections::StoredRejection;
use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// Sessions whose address text lies in [lo, hi) and that were active in [since, until],
/// in address order.
pub fn sessions_in_text_range(
    conn: &mut dyn Conn,
    lo: &str,
    hi: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Session>> {
    conn.query(
        "select login, ip, service, first_seen, last_seen, logins from sessions
         where ip >= $1 and ip < $2 and last_seen >= $3 and first_seen <= $4
         order by ip, last_seen limit $5",
        &[
            lo.into(),
            hi.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )?
    .iter()
    .map(session)
    .collect()
}

/// Sessions whose last login falls in [since, until], newest first.
pub fn sessions_ending_between(
    conn: &mut dyn Conn,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Session>> {
    conn.query(
        "select login, ip, service, first_seen, last_seen, logins from sessions
         where last_seen >= $1 and last_seen <= $2 order by last_seen desc limit $3",
        &[Value::Int(since), Value::Int(until), Value::Int(limit)],
    )?
    .iter()
    .map(session)
    .collect()
}

fn session(r: &super::Row) -> Result<Session> {
    Ok(Session {
        login: r.text(0)?,
        ip: r.text(1)?,
        service: r.text(2)?,
        first_seen: r.int(3)?,
        last_seen: r.int(4)?,
        logins: r.int(5)?,
    })
}

/// Relay rejections whose address text lies in [lo, hi) in [since, until], in address order.
pub fn rejections_in_text_range(
    conn: &mut dyn Conn,
    lo: &str,
    hi: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    rejections(
        conn,
        "select id, at, kind, ip, sender, rcpt, reply from rejections
         where ip >= $1 and ip < $2 and at >= $3 and at <= $4 and kind = 'relay'
         order by ip, at limit $5",
        &[
            lo.into(),
            hi.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )
}

/// Relay rejections in [since, until], newest first.
pub fn rejections_between(
    conn: &mut dyn Conn,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    rejections(
        conn,
        "select id, at, kind, ip, sender, rcpt, reply from rejections
         where kind = 'relay' and at >= $1 and at <= $2 order by at desc, id desc limit $3",
        &[Value::Int(since), Value::Int(until), Value::Int(limit)],
    )
}

fn rejections(conn: &mut dyn Conn, sql: &str, params: &[Value]) -> Result<Vec<StoredRejection>> {
    conn.query(sql, params)?
        .iter()
        .map(|r| {
            Ok(StoredRejection {
                id: r.int(0)?,
                at: r.int(1)?,
                kind: r.text(2)?,
                ip: r.text(3)?,
                sender: r.text(4)?,
                rcpt: r.text(5)?,
                reply: r.text(6)?,
            })
        })
        .collect()
}
