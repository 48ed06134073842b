//! Login history: sessions and failed logins, by login or by IP.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// Consecutive logins by one login from one IP (§5).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Session {
    pub login: String,
    pub ip: String,
    pub service: String,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    pub logins: i64,
}

const SESSION_COLUMNS: &str = "login, ip, service, first_seen, last_seen, logins";

/// A login's sessions that were active in [since, until], newest first.
pub async fn sessions_for_login(
    conn: &mut Conn,
    login: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Session>> {
    conn.fetch_all(
        &format!(
            "select {SESSION_COLUMNS} from sessions
             where login = $1 and last_seen >= $2 and first_seen <= $3
             order by last_seen desc limit $4"
        ),
        &[
            login.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )
    .await
}

/// Sessions from one IP that were active in [since, until], newest first.
pub async fn sessions_for_ip(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Session>> {
    conn.fetch_all(
        &format!(
            "select {SESSION_COLUMNS} from sessions
             where ip = $1 and last_seen >= $2 and first_seen <= $3
             order by last_seen desc limit $4"
        ),
        &[
            ip.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )
    .await
}

/// A failed mailbox login.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Failure {
    pub at: Epoch,
    pub login: Option<String>,
    pub ip: String,
    pub service: String,
    pub reason: String,
}

/// Failed logins by a login or from an IP in [since, until], newest first.
pub async fn failures(
    conn: &mut Conn,
    login: Option<&str>,
    ip: Option<&str>,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<Failure>> {
    conn.fetch_all(
        "select at, login, ip, service, reason from login_failures
         where (cast($1 as text) is null or login = $1) and (cast($2 as text) is null or ip = $2) and at >= $3 and at <= $4
         order by at desc limit $5",
        &[login.into(), ip.into(), Value::Int(since), Value::Int(until), Value::Int(limit)],
    )
    .await
}

/// The session from `ip` whose last login came last before `at`, and the one whose first
/// login came first after it: who held the address before and after a moment nobody did.
pub async fn around(
    conn: &mut Conn,
    ip: &str,
    at: Epoch,
) -> Result<(Option<Session>, Option<Session>)> {
    let before = conn
        .fetch_optional(
            &format!(
                "select {SESSION_COLUMNS} from sessions
                 where ip = $1 and last_seen < $2 order by last_seen desc limit 1"
            ),
            &[ip.into(), Value::Int(at)],
        )
        .await?;
    let after = conn
        .fetch_optional(
            &format!(
                "select {SESSION_COLUMNS} from sessions
                 where ip = $1 and first_seen > $2 order by first_seen limit 1"
            ),
            &[ip.into(), Value::Int(at)],
        )
        .await?;
    Ok((before, after))
}

/// Sessions from `ip` that held it around `at`: active within [at − slack, at + slack].
pub async fn holders(
    conn: &mut Conn,
    ip: &str,
    at: Epoch,
    slack: i64,
    limit: i64,
) -> Result<Vec<Session>> {
    sessions_for_ip(conn, ip, at - slack, at + slack, limit).await
}

/// The address of the newest login (the demo's sample of an authorized connection).
pub async fn latest_login_ip(conn: &mut Conn) -> Result<Option<String>> {
    let row: Option<(String,)> = conn
        .fetch_optional(
            "select ip from sessions order by last_seen desc limit 1",
            &[],
        )
        .await?;
    Ok(row.map(|(ip,)| ip))
}
