//! Staff grants, blocks and suspensions: who may relay besides the logins, and who may not.
//! Each row records who made it, why and when, and is lifted rather than deleted.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StaffGrant {
    pub id: i64,
    pub ip: String,
    pub login: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created_at: Epoch,
    pub expires_at: Epoch,
}

pub async fn add_grant(
    conn: &mut Conn,
    ip: &str,
    login: Option<&str>,
    reason: &str,
    by: &str,
    now: Epoch,
    expires_at: Epoch,
) -> Result<()> {
    conn.execute(
        "insert into grants (ip, login, reason, created_by, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)",
        &[
            ip.into(),
            login.into(),
            reason.into(),
            by.into(),
            now.into(),
            expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

/// Staff grants not yet expired or revoked at `now`.
pub async fn active_grants(conn: &mut Conn, now: Epoch) -> Result<Vec<StaffGrant>> {
    conn.fetch_all(
        "select id, ip, login, reason, created_by, created_at, expires_at from grants
         where expires_at >= $1 and revoked_at is null order by created_at",
        &[now.into()],
    )
    .await
}

/// A block or a suspension.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Restriction {
    pub id: i64,
    /// The network (blocks) or login (suspensions).
    pub subject: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: Epoch,
    pub until: Option<Epoch>,
}

/// Which kind of restriction: its table and subject column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Block,
    Suspension,
}

impl Kind {
    fn table(self) -> (&'static str, &'static str) {
        match self {
            Kind::Block => ("blocks", "network"),
            Kind::Suspension => ("suspensions", "login"),
        }
    }
}

/// Adds a restriction on `subject` (a normalized network, or a login). Returns false when one is
/// already in force.
pub async fn add(
    conn: &mut Conn,
    kind: Kind,
    subject: &str,
    reason: &str,
    by: &str,
    now: Epoch,
    until: Option<Epoch>,
) -> Result<bool> {
    if in_force(conn, kind, now)
        .await?
        .iter()
        .any(|r| r.subject == subject)
    {
        return Ok(false);
    }
    let (table, column) = kind.table();
    conn.execute(
        &format!(
            "insert into {table} ({column}, reason, created_by, created_at, until)
             values ($1, $2, $3, $4, $5)"
        ),
        &[
            subject.into(),
            reason.into(),
            by.into(),
            now.into(),
            until.into(),
        ],
    )
    .await?;
    Ok(true)
}

/// Lifts every restriction in force on `subject`; returns how many.
pub async fn lift(conn: &mut Conn, kind: Kind, subject: &str, by: &str, now: Epoch) -> Result<u64> {
    let (table, column) = kind.table();
    conn.execute(
        &format!(
            "update {table} set lifted_at = $1, lifted_by = $2
             where {column} = $3 and lifted_at is null"
        ),
        &[now.into(), by.into(), subject.into()],
    )
    .await
}

/// Restrictions in force at `at`: made by then, and neither lifted nor run out by then.
pub async fn in_force(conn: &mut Conn, kind: Kind, at: Epoch) -> Result<Vec<Restriction>> {
    let (table, column) = kind.table();
    conn.fetch_all(
        &format!(
            "select id, {column} as subject, reason, created_by, created_at, until from {table}
             where created_at <= $1 and (lifted_at is null or lifted_at > $1)
               and (until is null or until > $1)
             order by created_at"
        ),
        &[Value::Int(at)],
    )
    .await
}
