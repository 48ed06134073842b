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
pub async fn gather(
    conn: &mut Conn,
    t: Epoch,
    ip: ClientIp,
    owner: Option<&str>,
    rules: Rules,
    logs_since: Option<Epoch>,
) -> Result<Evidence> {
    let ip_text = ip.to_string();
    let ip_logins = spans(
        conn,
        "select login, ip, first_seen as first, last_seen as last from sessions
         where ip = $1 and last_seen >= $2 and first_seen <= $3
         order by last_seen desc limit $4",
        &[
            ip_text.as_str().into(),
            (t - rules.lookback).into(),
            t.into(),
            LIMIT.into(),
        ],
    )
    .await?;
    let owner_logins = match owner {
        Some(u) => {
            spans(
                conn,
                "select login, ip, first_seen as first, last_seen as last from sessions
             where login = $1 and last_seen >= $2 and first_seen <= $3
             order by last_seen desc limit $4",
                &[u.into(), (t - rules.window).into(), t.into(), LIMIT.into()],
            )
            .await?
        }
        None => Vec::new(),
    };
    let failures: Vec<(Epoch, Option<String>, String)> = conn
        .fetch_all(
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
        )
        .await?;
    let failures = failures
        .into_iter()
        .map(|(at, login, ip)| FailureAt { at, login, ip })
        .collect();
    let block = restrictions::in_force(conn, Kind::Block, t)
        .await?
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
        Some(u) => restrictions::in_force(conn, Kind::Suspension, t)
            .await?
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

async fn spans(conn: &mut Conn, sql: &str, params: &[Value]) -> Result<Vec<LoginSpan>> {
    let rows: Vec<(String, String, Epoch, Epoch)> = conn.fetch_all(sql, params).await?;
    Ok(rows
        .into_iter()
        .map(|(login, ip, first, last)| LoginSpan {
            login,
            ip,
            first,
            last,
        })
        .collect())
}

/// Whether `login` has been seen in any login event, successful or failed.
pub async fn known_login(conn: &mut Conn, login: &str) -> Result<bool> {
    if conn
        .exists(
            "select 1 from sessions where login = $1 limit 1",
            &[login.into()],
        )
        .await?
    {
        return Ok(true);
    }
    conn.exists(
        "select 1 from login_failures where login = $1 limit 1",
        &[login.into()],
    )
    .await
}

/// The imported account list's answer for `address`: None when no list is configured (the
/// table is empty), Some(None) when the address is not in it.
pub async fn account_owner(conn: &mut Conn, address: &str) -> Result<Option<Option<String>>> {
    if !conn.exists("select 1 from accounts limit 1", &[]).await? {
        return Ok(None);
    }
    let row: Option<(String,)> = conn
        .fetch_optional(
            "select login from accounts where address = $1",
            &[address.to_ascii_lowercase().into()],
        )
        .await?;
    Ok(Some(row.map(|(login,)| login)))
}

/// What the store knows about address `ip` now, for the customer's connection page.
pub struct ConnectionFacts {
    pub evidence: Evidence,
    pub staff_grant_until: Option<Epoch>,
    pub smtp_seen: bool,
}

pub async fn for_connection(
    conn: &mut Conn,
    ip: ClientIp,
    now: Epoch,
    rules: Rules,
) -> Result<ConnectionFacts> {
    let evidence = gather(conn, now, ip, None, rules, None).await?;
    let text = ip.to_string();
    let staff_grant_until = conn
        .scalar(
            "select max(expires_at) from grants where ip = $1 and expires_at >= $2 and revoked_at is null",
            &[text.as_str().into(), now.into()],
        )
        .await?;
    let smtp_seen = conn
        .exists(
            "select 1 from rejections where ip = $1 limit 1",
            &[text.as_str().into()],
        )
        .await?
        || conn
            .exists(
                "select 1 from relays where ip = $1 limit 1",
                &[text.as_str().into()],
            )
            .await?
        || conn
            .exists(
                "select 1 from policy_decisions where ip = $1 limit 1",
                &[text.as_str().into()],
            )
            .await?;
    Ok(ConnectionFacts {
        evidence,
        staff_grant_until,
        smtp_seen,
    })
}
