//! Aggregate counts for the status page (§7.1) and the staff dashboard (§7.2): per-hour series,
//! counts over a span and activity counters since a time. Only counts leave this module — never
//! a login, address or recipient. Each query is a range scan on a time index.
//!
//! Hours are bucketed with integer arithmetic (`at - at % 3600`), which SQLite and PostgreSQL
//! compute alike on epoch seconds.

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// What the per-minute counts (`activity`) count: one successful mailbox login line, one
/// failed attempt, one refused relay, one accepted relay (a recipient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    MailCheck,
    LoginFailed,
    RelayRefused,
    RelayAccepted,
}

impl Activity {
    fn kind(self) -> &'static str {
        match self {
            Activity::MailCheck => "mail_check",
            Activity::LoginFailed => "login_failed",
            Activity::RelayRefused => "relay_refused",
            Activity::RelayAccepted => "relay_accepted",
        }
    }
}

/// `what` per hour for the `hours` whole hours ending with the one holding `now`, each counted
/// in the hour it happened in, oldest first, hours with nothing in them 0: the one definition
/// the dashboard, `/status` and the API share.
pub async fn activity_per_hour(
    conn: &mut Conn,
    what: Activity,
    now: Epoch,
    hours: i64,
) -> Result<Vec<(Epoch, i64)>> {
    let last = now - now.rem_euclid(3600);
    let first = last - (hours - 1) * 3600;
    let mut series: Vec<(Epoch, i64)> = (0..hours).map(|i| (first + i * 3600, 0)).collect();
    let rows: Vec<(Epoch, i64)> = conn
        .fetch_all(
            "select minute - minute % 3600 as hour, cast(sum(count) as bigint) from activity
             where kind = $1 and minute >= $2 and minute < $3
             group by minute - minute % 3600",
            &[what.kind().into(), first.into(), (last + 3600).into()],
        )
        .await?;
    for (hour, count) in rows {
        let i = (hour - first) / 3600;
        if (0..hours).contains(&i) {
            series[i as usize].1 = count;
        }
    }
    Ok(series)
}

/// `what` in the minutes from `from`'s to `to`'s, both included.
pub async fn activity_between(
    conn: &mut Conn,
    what: Activity,
    from: Epoch,
    to: Epoch,
) -> Result<i64> {
    one(
        conn,
        "select cast(sum(count) as bigint) from activity
         where kind = $1 and minute >= $2 and minute <= $3",
        &[
            what.kind().into(),
            Value::Int(from - from.rem_euclid(60)),
            Value::Int(to),
        ],
    )
    .await
}

/// Mail-check sessions with a login in `[from, to]`, and failed logins in that span.
pub async fn logins_between(conn: &mut Conn, from: Epoch, to: Epoch) -> Result<(i64, i64)> {
    // A session overlaps the span when it began by its end and was last seen after its start;
    // sessions have no gap longer than the window, so it had a login in or near the span.
    let sessions = count(
        conn,
        "select count(*) from sessions where last_seen >= $1 and first_seen <= $2",
        from,
        to,
    )
    .await?;
    let failures = count(
        conn,
        "select count(*) from login_failures where at >= $1 and at <= $2",
        from,
        to,
    )
    .await?;
    Ok((sessions, failures))
}

/// The policy service's relay decisions in `[from, to]`: (ok, reject).
pub async fn decisions_between(conn: &mut Conn, from: Epoch, to: Epoch) -> Result<(i64, i64)> {
    let rows: Vec<(String, i64)> = conn
        .fetch_all(
            "select action, count(*) from policy_decisions where at >= $1 and at <= $2
         group by action",
            &[from.into(), to.into()],
        )
        .await?;
    let (mut ok, mut reject) = (0, 0);
    for (action, n) in rows {
        match action.as_str() {
            "ok" => ok = n,
            "reject" => reject = n,
            _ => {}
        }
    }
    Ok((ok, reject))
}

/// Whether the policy service ever recorded a decision here.
pub async fn any_decision(conn: &mut Conn) -> Result<bool> {
    conn.exists("select 1 from policy_decisions limit 1", &[])
        .await
}

/// Sends Postfix refused with `451 4.3.5 Server configuration problem` in `[from, to]`: what it
/// answers when its policy service does not.
pub async fn policy_unavailable_between(conn: &mut Conn, from: Epoch, to: Epoch) -> Result<i64> {
    count(
        conn,
        "select count(*) from rejections
         where kind in ('relay', 'other') and at >= $1 and at <= $2 and reply like '451 4.3.5%'",
        from,
        to,
    )
    .await
}

/// Activity since a time, from the per-minute counts (`activity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Counters {
    /// Mail checks: successful mailbox login lines.
    pub logins: i64,
    pub failed_logins: i64,
    pub relay_rejections: i64,
    pub accepted_relays: i64,
    /// Relay decisions the policy service recorded.
    pub policy_decisions: i64,
}

pub async fn counters(conn: &mut Conn, since: Epoch) -> Result<Counters> {
    let now = Epoch::MAX;
    Ok(Counters {
        logins: activity_between(conn, Activity::MailCheck, since, now).await?,
        failed_logins: activity_between(conn, Activity::LoginFailed, since, now).await?,
        relay_rejections: activity_between(conn, Activity::RelayRefused, since, now).await?,
        accepted_relays: activity_between(conn, Activity::RelayAccepted, since, now).await?,
        policy_decisions: one(
            &mut *conn,
            "select count(*) from policy_decisions where at >= $1",
            &[Value::Int(since)],
        )
        .await?,
    })
}

/// A count query's one value; 0 for null (a sum over no rows).
async fn one(conn: &mut Conn, sql: &str, params: &[Value]) -> Result<i64> {
    Ok(conn.scalar(sql, params).await?.unwrap_or(0))
}

/// The newest policy decision's time, if any.
pub async fn last_decision(conn: &mut Conn) -> Result<Option<Epoch>> {
    conn.scalar("select max(at) from policy_decisions", &[])
        .await
}

async fn count(conn: &mut Conn, sql: &str, from: Epoch, to: Epoch) -> Result<i64> {
    Ok(conn
        .scalar(sql, &[from.into(), to.into()])
        .await?
        .unwrap_or(0))
}
