//! What the helpdesk's customer and address pages read besides the login history: newest-first
//! rejections, accepted relays, staff grants, staff actions and alerts about one subject. Every
//! query walks an index on its subject and stops at a limit.

use serde::Serialize;

use super::alerts::Alert;
use super::rejections::StoredRejection;
use super::restrictions::StaffGrant;
use super::{Conn, Result, Row, Value, audit};
use crate::domain::Epoch;

/// The addresses a login used: first and last login from each, and how many.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IpUse {
    pub ip: String,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    pub logins: i64,
}

/// A login's addresses, most recently used first.
pub fn ip_history(
    conn: &mut dyn Conn,
    login: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<IpUse>> {
    conn.query(
        "select ip, min(first_seen), max(last_seen), cast(sum(logins) as bigint) from sessions
         where login = $1 and last_seen >= $2
         group by ip order by max(last_seen) desc limit $3",
        &[login.into(), Value::Int(since), Value::Int(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(IpUse {
            ip: r.text(0)?,
            first_seen: r.int(1)?,
            last_seen: r.int(2)?,
            logins: r.int(3)?,
        })
    })
    .collect()
}

fn rejection(r: &Row) -> Result<StoredRejection> {
    Ok(StoredRejection {
        id: r.int(0)?,
        at: r.int(1)?,
        kind: r.text(2)?,
        ip: r.text(3)?,
        sender: r.text(4)?,
        rcpt: r.text(5)?,
        reply: r.text(6)?,
    })
}

/// Relay rejections from `ip` in [since, until], newest first.
pub fn relay_rejections_from(
    conn: &mut dyn Conn,
    ip: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    conn.query(
        "select id, at, kind, ip, sender, rcpt, reply from rejections
         where ip = $1 and at >= $2 and at <= $3 and kind = 'relay'
         order by at desc, id desc limit $4",
        &[
            ip.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )?
    .iter()
    .map(rejection)
    .collect()
}

/// Relay rejections with one of `senders` in [since, until], newest first.
pub fn relay_rejections_by(
    conn: &mut dyn Conn,
    senders: &[String],
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<StoredRejection>> {
    let mut all = Vec::new();
    // One indexed walk per address; a login has a handful.
    for sender in senders {
        let rows = conn.query(
            "select id, at, kind, ip, sender, rcpt, reply from rejections
             where sender = $1 and at >= $2 and at <= $3 and kind = 'relay'
             order by at desc, id desc limit $4",
            &[
                sender.into(),
                Value::Int(since),
                Value::Int(until),
                Value::Int(limit),
            ],
        )?;
        for r in &rows {
            all.push(rejection(r)?);
        }
    }
    all.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
    all.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(all)
}

/// Accepted relays, aggregated per minute, address and sender.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relay {
    pub minute: Epoch,
    pub ip: String,
    pub sender: String,
    pub count: i64,
    pub carrier: i64,
    pub sample_rcpt: String,
}

/// Accepted relays from `ip` in [since, until], newest first.
pub fn relays_from(
    conn: &mut dyn Conn,
    ip: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Relay>> {
    conn.query(
        "select minute, ip, sender, count, carrier, sample_rcpt from relays
         where ip = $1 and minute >= $2 and minute <= $3
         order by minute desc limit $4",
        &[
            ip.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )?
    .iter()
    .map(|r| {
        Ok(Relay {
            minute: r.int(0)?,
            ip: r.text(1)?,
            sender: r.text(2)?,
            count: r.int(3)?,
            carrier: r.int(4)?,
            sample_rcpt: r.text(5)?,
        })
    })
    .collect()
}

/// Staff grants for `ip` made at or after `since`, newest first, expired and revoked included.
pub fn grants_for_ip(
    conn: &mut dyn Conn,
    ip: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<StaffGrant>> {
    conn.query(
        "select id, ip, login, reason, created_by, created_at, expires_at from grants
         where ip = $1 and expires_at >= $2 order by created_at desc limit $3",
        &[ip.into(), Value::Int(since), Value::Int(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(StaffGrant {
            id: r.int(0)?,
            ip: r.text(1)?,
            login: r.opt_text(2)?,
            reason: r.text(3)?,
            created_by: r.text(4)?,
            created_at: r.int(5)?,
            expires_at: r.int(6)?,
        })
    })
    .collect()
}

/// Staff actions about `subject` (not mere views or searches), newest first.
pub fn actions_about(conn: &mut dyn Conn, subject: &str, limit: i64) -> Result<Vec<audit::Entry>> {
    conn.query(
        "select id, at, actor, action, subject, reason, detail from audit
         where subject = $1 and action not in ('view_customer', 'view_ip', 'search', 'note')
         order by at desc, id desc limit $2",
        &[subject.into(), Value::Int(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(audit::Entry {
            id: r.int(0)?,
            at: r.int(1)?,
            actor: r.text(2)?,
            action: r.text(3)?,
            subject: r.text(4)?,
            reason: r.opt_text(5)?,
            detail: r.opt_text(6)?,
        })
    })
    .collect()
}

/// Alerts about one address (`kind` ip) or login (`kind` login), newest first.
pub fn alerts_about(
    conn: &mut dyn Conn,
    kind: &str,
    subject: &str,
    limit: i64,
) -> Result<Vec<Alert>> {
    conn.query(
        "select id, kind, subject, first_at, last_at, count, carrier, samples, ips, opened_at,
                acked_at, acked_by, auto_blocked
         from alerts where kind = $1 and subject = $2 order by last_at desc limit $3",
        &[kind.into(), subject.into(), Value::Int(limit)],
    )?
    .iter()
    .map(|r| {
        let list = |i| -> Result<Vec<String>> {
            Ok(serde_json::from_str(&r.text(i)?).unwrap_or_default())
        };
        Ok(Alert {
            id: r.int(0)?,
            kind: r.text(1)?,
            subject: r.text(2)?,
            first: r.int(3)?,
            last: r.int(4)?,
            count: r.int(5)?,
            carrier: r.int(6)?,
            samples: list(7)?,
            ips: list(8)?,
            opened_at: r.int(9)?,
            acked_at: r.opt_int(10)?,
            acked_by: r.opt_text(11)?,
            auto_blocked: r.int(12)? != 0,
        })
    })
    .collect()
}
