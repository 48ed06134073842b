//! The audit log: every staff view of personal data and every staff action — who, when, what,
//! about whom, and why.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Entry {
    pub id: i64,
    pub at: Epoch,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

pub async fn record(
    conn: &mut Conn,
    at: Epoch,
    actor: &str,
    action: &str,
    subject: &str,
    reason: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    conn.execute(
        "insert into audit (at, actor, action, subject, reason, detail) values ($1, $2, $3, $4, $5, $6)",
        &[at.into(), actor.into(), action.into(), subject.into(), reason.into(), detail.into()],
    )
    .await?;
    Ok(())
}

/// Entries newest first, optionally only those about `subject` or by `actor`.
pub async fn list(
    conn: &mut Conn,
    subject: Option<&str>,
    actor: Option<&str>,
    since: Epoch,
    limit: i64,
) -> Result<Vec<Entry>> {
    conn.fetch_all(
        "select id, at, actor, action, subject, reason, detail from audit
         where (cast($1 as text) is null or subject = $1) and (cast($2 as text) is null or actor = $2)
           and at >= $3
         order by at desc, id desc limit $4",
        &[subject.into(), actor.into(), Value::Int(since), Value::Int(limit)],
    )
    .await
}
