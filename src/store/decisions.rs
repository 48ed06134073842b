//! The policy service's relay decisions (§6.3): every OK or REJECT it gave for a recipient
//! outside the local domains, written in batches by the policy recorder.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// One relay decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDecision {
    pub at: Epoch,
    pub ip: String,
    /// Envelope sender; empty for the null sender.
    pub sender: String,
    pub rcpt: String,
    /// `ok` or `reject`.
    pub action: String,
    /// Whose login granted the relay (`None` for a staff grant or a rejection).
    pub login: Option<String>,
}

const COLUMNS: [&str; 6] = ["at", "ip", "sender", "rcpt", "action", "login"];

/// Appends `decisions`; call inside a transaction for one commit per batch.
pub fn insert_many(conn: &mut dyn Conn, decisions: &[PolicyDecision]) -> Result<()> {
    let rows: Vec<Vec<Value>> = decisions
        .iter()
        .map(|d| {
            vec![
                Value::Int(d.at),
                (&d.ip).into(),
                (&d.sender).into(),
                (&d.rcpt).into(),
                (&d.action).into(),
                d.login.as_ref().into(),
            ]
        })
        .collect();
    conn.insert_many("policy_decisions", &COLUMNS, &rows, "")
}

/// Decisions for clients at `ip` since `since` (inclusive), newest first, at most `limit`.
pub fn recent(
    conn: &mut dyn Conn,
    ip: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<PolicyDecision>> {
    conn.query(
        "select at, ip, sender, rcpt, action, login from policy_decisions
         where ip = $1 and at >= $2
         order by at desc, id desc limit $3",
        &[ip.into(), Value::Int(since), Value::Int(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(PolicyDecision {
            at: r.int(0)?,
            ip: r.text(1)?,
            sender: r.text(2)?,
            rcpt: r.text(3)?,
            action: r.text(4)?,
            login: r.opt_text(5)?,
        })
    })
    .collect()
}

/// How many decisions are stored (tests, summaries).
pub fn count(conn: &mut dyn Conn) -> Result<i64> {
    conn.query_one("select count(*) from policy_decisions", &[])?
        .map_or(Ok(0), |r| r.int(0))
}
