//! Stored rejections: relay refusals and other refused recipients.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StoredRejection {
    pub id: i64,
    pub at: Epoch,
    pub kind: String,
    pub ip: String,
    pub sender: String,
    pub rcpt: String,
    pub reply: String,
}

/// What to select; `None` fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<String>,
    pub ip: Option<String>,
    /// Exact senders to match (the addresses a login owns).
    pub senders: Option<Vec<String>>,
    pub since: Option<Epoch>,
    pub until: Option<Epoch>,
    pub limit: Option<i64>,
}

/// Rejections matching `filter`, oldest first.
pub async fn list(conn: &mut Conn, filter: &Filter) -> Result<Vec<StoredRejection>> {
    let mut sql = String::from(
        "select id, at, kind, ip, sender, rcpt, reply from rejections where at >= $1 and at <= $2",
    );
    let mut params = vec![
        Value::Int(filter.since.unwrap_or(i64::MIN)),
        Value::Int(filter.until.unwrap_or(i64::MAX)),
    ];
    let mut push = |sql: &mut String, clause: &str, value: Value| {
        params.push(value);
        sql.push_str(&clause.replace('?', &format!("${}", params.len())));
    };
    if let Some(kind) = &filter.kind {
        push(&mut sql, " and kind = ?", kind.into());
    }
    if let Some(ip) = &filter.ip {
        push(&mut sql, " and ip = ?", ip.into());
    }
    if let Some(senders) = &filter.senders {
        if senders.is_empty() {
            return Ok(Vec::new());
        }
        sql.push_str(" and sender in (");
        for (i, s) in senders.iter().enumerate() {
            push(&mut sql, if i == 0 { "?" } else { ", ?" }, s.into());
        }
        sql.push(')');
    }
    sql.push_str(" order by at, id");
    if let Some(limit) = filter.limit {
        push(&mut sql, " limit ?", limit.into());
    }
    conn.fetch_all(&sql, &params).await
}

/// Counts of stored rows per table, for summaries and tests.
pub async fn count(conn: &mut Conn, kind: &str) -> Result<i64> {
    Ok(conn
        .scalar(
            "select count(*) from rejections where kind = $1",
            &[kind.into()],
        )
        .await?
        .unwrap_or(0))
}
