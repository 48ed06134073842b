//! The helpdesk search (§7.2) over addresses, networks and time. Addresses are stored as text,
//! so a network is searched as a range of its text prefix on the `ip` indexes and filtered
//! exactly by the caller; every query stops at a limit.

use super::history::Session;
use super::rejections::StoredRejection;
use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// Sessions whose address text lies in [lo, hi) and that were active in [since, until],
/// in address order.
pub async fn sessions_in_text_range(
    conn: &mut Conn,
    lo: &str,
    hi: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Session>> {
    conn.fetch_all(
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
    )
    .await
}

/// Sessions whose last login falls in [since, until], newest first.
pub async fn sessions_ending_between(
    conn: &mut Conn,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Session>> {
    conn.fetch_all(
        "select login, ip, service, first_seen, last_seen, logins from sessions
         where last_seen >= $1 and last_seen <= $2 order by last_seen desc limit $3",
        &[Value::Int(since), Value::Int(until), Value::Int(limit)],
    )
    .await
}

/// Relay rejections whose address text lies in [lo, hi) in [since, until], in address order.
pub async fn rejections_in_text_range(
    conn: &mut Conn,
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
    .await
}

/// Relay rejections in [since, until], newest first.
pub async fn rejections_between(
    conn: &mut Conn,
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
    .await
}

async fn rejections(conn: &mut Conn, sql: &str, params: &[Value]) -> Result<Vec<StoredRejection>> {
    conn.fetch_all(sql, params).await
}
