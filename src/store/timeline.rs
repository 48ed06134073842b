//! What the helpdesk's customer and address pages read besides the login history: newest-first
//! rejections, accepted relays, staff grants, staff actions and alerts about one subject. Every
//! query walks an index on its subject and stops at a limit.

use serde::Serialize;

use super::alerts::Alert;
use super::rejections::StoredRejection;
use super::restrictions::StaffGrant;
use super::{Conn, Result, Value, audit};
use crate::domain::Epoch;

/// The addresses a login used: first and last login from each, and how many.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct IpUse {
    pub ip: String,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    pub logins: i64,
}

/// A login's addresses, most recently used first.
pub async fn ip_history(
    conn: &mut Conn,
    login: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<IpUse>> {
    conn.fetch_all(
        "select ip, min(first_seen) as first_seen, max(last_seen) as last_seen,
                cast(sum(logins) as bigint) as logins from sessions
         where login = $1 and last_seen >= $2
         group by ip order by max(last_seen) desc limit $3",
        &[login.into(), Value::Int(since), Value::Int(limit)],
    )
    .await
}

/// Relay rejections from `ip` in [since, until], newest first.
pub async fn relay_rejections_from(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    conn.fetch_all(
        "select id, at, kind, ip, sender, rcpt, reply from rejections
         where ip = $1 and at >= $2 and at <= $3 and kind = 'relay'
         order by at desc, id desc limit $4",
        &[
            ip.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )
    .await
}

/// Relay rejections with one of `senders` in [since, until], newest first.
pub async fn relay_rejections_by(
    conn: &mut Conn,
    senders: &[String],
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    let mut all = Vec::new();
    // One indexed walk per address; a login has a handful.
    for sender in senders {
        let rows: Vec<StoredRejection> = conn
            .fetch_all(
                "select id, at, kind, ip, sender, rcpt, reply from rejections
             where sender = $1 and at >= $2 and at <= $3 and kind = 'relay'
             order by at desc, id desc limit $4",
                &[
                    sender.into(),
                    Value::Int(since),
                    Value::Int(until),
                    Value::Int(limit),
                ],
            )
            .await?;
        all.extend(rows);
    }
    all.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
    all.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(all)
}

/// Accepted relays, aggregated per minute, address and sender.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Relay {
    pub minute: Epoch,
    pub ip: String,
    pub sender: String,
    pub count: i64,
    pub carrier: i64,
    pub sample_rcpt: String,
}

/// Accepted relays from `ip` in [since, until], newest first.
pub async fn relays_from(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Relay>> {
    conn.fetch_all(
        "select minute, ip, sender, count, carrier, sample_rcpt from relays
         where ip = $1 and minute >= $2 and minute <= $3
         order by minute desc limit $4",
        &[
            ip.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )
    .await
}

/// Staff grants for `ip` made at or after `since`, newest first, expired and revoked included.
pub async fn grants_for_ip(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<StaffGrant>> {
    conn.fetch_all(
        "select id, ip, login, reason, created_by, created_at, expires_at from grants
         where ip = $1 and expires_at >= $2 order by created_at desc limit $3",
        &[ip.into(), Value::Int(since), Value::Int(limit)],
    )
    .await
}

/// Staff actions about `subject` (not mere views or searches), newest first.
pub async fn actions_about(
    conn: &mut Conn,
    subject: &str,
    limit: i64,
) -> Result<Vec<audit::Entry>> {
    conn.fetch_all(
        "select id, at, actor, action, subject, reason, detail from audit
         where subject = $1 and action not in ('view_customer', 'view_ip', 'search', 'note')
         order by at desc, id desc limit $2",
        &[subject.into(), Value::Int(limit)],
    )
    .await
}

/// Alerts about one address (`kind` ip) or login (`kind` login), newest first.
pub async fn alerts_about(
    conn: &mut Conn,
    kind: &str,
    subject: &str,
    limit: i64,
) -> Result<Vec<Alert>> {
    super::alerts::about(conn, kind, subject, limit).await
}
