//! The evidence a diagnosis rests on (§6.2), gathered for one rejection: logins from the address
//! and by the sender's owner, failed logins, and blocks or suspensions in force.

use super::restrictions::{self, Kind};
use super::{Conn, Result, Value};
use crate::diagnose::{Evidence, FailureAt, LoginSpan, Restriction, Rules};
use crate::domain::{ClientIp, Epoch};

/// How many sessions or failures one diagnosis looks at, at most: the newest are the ones that
/// decide, and a busy shared address must not make a diagnosis slow.
const LIMIT: i64 = 200;

/// Gathers the evidence around a rejection at `t` from `ip` whose sender is owned by `owner`.
/// `logs_since` is when the store's logs begin (`store::ingest::logs_since`).
pub fn gather(
    conn: &mut dyn Conn,
    t: Epoch,
    ip: ClientIp,
    owner: Option<&str>,
    rules: Rules,
    logs_since: Option<Epoch>,
) -> Result<Evidence> {
    let ip_text = ip.to_string();
    let ip_logins = spans(
        conn,
        "select login, ip, first_seen, last_seen from sessions
         where ip = $1 and last_seen >= $2 and first_seen <= $3
         order by last_seen desc limit $4",
        &[
            ip_text.as_str().into(),
            (t - rules.lookback).into(),
            t.into(),
            LIMIT.into(),
        ],
    )?;
    let owner_logins = match owner {
        Some(u) => spans(
            conn,
            "select login, ip, first_seen, last_seen from sessions
             where login = $1 and last_seen >= $2 and first_seen <= $3
             order by last_seen desc limit $4",
            &[u.into(), (t - rules.window).into(), t.into(), LIMIT.into()],
        )?,
        None => Vec::new(),
    };
    let failures = conn
        .query(
            "select at, login, ip from login_failures
             where (ip = $1 or login = $2) and at >= $3 and at <= $4
             order by at desc limit $5",
            &[
                ip_text.as_str().into(),
                owner.into(),
                (t - rules.window).into(),
                t.into(),
                LIMIT.into(),
            ],
        )?
        .iter()
        .map(|r| {
            Ok(FailureAt {
                at: r.int(0)?,
                login: r.opt_text(1)?,
                ip: r.text(2)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let block = restrictions::in_force(conn, Kind::Block, t)?
        .into_iter()
        .find(|b| {
            b.subject
                .parse::<ipnet::IpNet>()
                .is_ok_and(|n| n.contains(&ip.addr()))
        })
        .map(|b| Restriction {
            subject: b.subject,
            reason: b.reason,
            since: b.created_at,
        });
    let suspension = match owner {
        Some(u) => restrictions::in_force(conn, Kind::Suspension, t)?
            .into_iter()
            .find(|s| s.subject == u)
            .map(|s| Restriction {
                subject: s.subject,
                reason: s.reason,
                since: s.created_at,
            }),
        None => None,
    };
    Ok(Evidence {
        ip_logins,
        owner_logins,
        failures,
        block,
        suspension,
        logs_since,
    })
}

fn spans(conn: &mut dyn Conn, sql: &str, params: &[Value]) -> Result<Vec<LoginSpan>> {
    conn.query(sql, params)?
        .iter()
        .map(|r| {
            Ok(LoginSpan {
                login: r.text(0)?,
                ip: r.text(1)?,
                first: r.int(2)?,
                last: r.int(3)?,
            })
        })
        .collect()
}

/// Whether `login` has been seen in any login event, successful or failed.
pub fn known_login(conn: &mut dyn Conn, login: &str) -> Result<bool> {
    let seen = conn.query_one(
        "select 1 from sessions where login = $1 limit 1",
        &[login.into()],
    )?;
    if seen.is_some() {
        return Ok(true);
    }
    let failed = conn.query_one(
        "select 1 from login_failures where login = $1 limit 1",
        &[login.into()],
    )?;
    Ok(failed.is_some())
}

/// The imported account list's answer for `address`: None when no list is configured (the
/// table is empty), Some(None) when the address is not in it.
pub fn account_owner(conn: &mut dyn Conn, address: &str) -> Result<Option<Option<String>>> {
    if conn
        .query_one("select 1 from accounts limit 1", &[])?
        .is_none()
    {
        return Ok(None);
    }
    let row = conn.query_one(
        "select login from accounts where address = $1",
        &[address.to_ascii_lowercase().into()],
    )?;
    Ok(Some(row.map(|r| r.text(0)).transpose()?))
}

/// What the store knows about address `ip` now, for the customer's connection page.
pub struct ConnectionFacts {
    pub evidence: Evidence,
    pub staff_grant_until: Option<Epoch>,
    pub smtp_seen: bool,
}

pub fn for_connection(
    conn: &mut dyn Conn,
    ip: ClientIp,
    now: Epoch,
    rules: Rules,
) -> Result<ConnectionFacts> {
    let evidence = gather(conn, now, ip, None, rules, None)?;
    let text = ip.to_string();
    let staff_grant_until = conn
        .query_one(
            "select max(expires_at) from grants where ip = $1 and expires_at >= $2 and revoked_at is null",
            &[text.as_str().into(), now.into()],
        )?
        .map(|r| r.opt_int(0))
        .transpose()?
        .flatten();
    let smtp_seen = conn
        .query_one(
            "select 1 from rejections where ip = $1 limit 1",
            &[text.as_str().into()],
        )?
        .is_some()
        || conn
            .query_one(
                "select 1 from relays where ip = $1 limit 1",
                &[text.as_str().into()],
            )?
            .is_some()
        || conn
            .query_one(
                "select 1 from policy_decisions where ip = $1 limit 1",
                &[text.as_str().into()],
            )?
            .is_some();
    Ok(ConnectionFacts {
        evidence,
        staff_grant_until,
        smtp_seen,
    })
}
