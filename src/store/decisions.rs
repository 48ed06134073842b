//! The policy service's relay decisions (§6.3): every OK or REJECT it gave for a recipient
//! outside the local domains, written in batches by the policy recorder.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// One relay decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
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
    /// A refusal's code: its reply links to `/why/CODE`.
    pub code: Option<String>,
    /// The cause a refusal's reply was worded by (§6.2 names).
    pub cause: Option<String>,
}

const COLUMNS: [&str; 8] = [
    "at", "ip", "sender", "rcpt", "action", "login", "code", "cause",
];

/// Appends `decisions`; call inside a transaction for one commit per batch.
pub async fn insert_many(conn: &mut Conn, decisions: &[PolicyDecision]) -> Result<()> {
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
                d.code.as_ref().into(),
                d.cause.as_ref().into(),
            ]
        })
        .collect();
    conn.insert_many("policy_decisions", &COLUMNS, &rows, "")
        .await
}

/// Decisions for clients at `ip` since `since` (inclusive), newest first, at most `limit`.
pub async fn recent(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<PolicyDecision>> {
    conn.fetch_all(
        "select at, ip, sender, rcpt, action, login, code, cause from policy_decisions
         where ip = $1 and at >= $2
         order by at desc, id desc limit $3",
        &[ip.into(), Value::Int(since), Value::Int(limit)],
    )
    .await
}

/// The refusal whose reply carried `code`, if it is still kept. A code is its decision's time
/// as 8 hex digits and 16 random ones (`policy::server::refusal_code`); anything else is none.
pub async fn by_code(conn: &mut Conn, code: &str) -> Result<Option<PolicyDecision>> {
    let Some(at) = code_time(code) else {
        return Ok(None);
    };
    conn.fetch_optional(
        "select at, ip, sender, rcpt, action, login, code, cause from policy_decisions
         where at = $1 and code = $2",
        &[Value::Int(at), code.into()],
    )
    .await
}

/// Refusals from `ip` in [since, until] with their codes, newest first: (time, recipient,
/// code), so a page listing refused sends can link each to its `/why` page.
pub async fn refusal_codes(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> Result<Vec<(Epoch, String, String)>> {
    conn.fetch_all(
        "select at, rcpt, code from policy_decisions
         where ip = $1 and at >= $2 and at <= $3 and code is not null
         order by at desc limit $4",
        &[
            ip.into(),
            Value::Int(since),
            Value::Int(until),
            Value::Int(limit),
        ],
    )
    .await
}

/// The decision time a well-formed code starts with: 24 lowercase hex digits.
pub fn code_time(code: &str) -> Option<Epoch> {
    let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    if code.len() != 24 || !code.bytes().all(lower_hex) {
        return None;
    }
    i64::from_str_radix(&code[..8], 16).ok()
}

/// Every recorded refusal with its code and cause, oldest first (the agreement test, reports).
pub async fn refusals(conn: &mut Conn) -> Result<Vec<PolicyDecision>> {
    conn.fetch_all(
        "select at, ip, sender, rcpt, action, login, code, cause from policy_decisions
         where action = 'reject' order by at, id",
        &[],
    )
    .await
}

/// How many decisions are stored (tests, summaries).
pub async fn count(conn: &mut Conn) -> Result<i64> {
    Ok(conn
        .scalar("select count(*) from policy_decisions", &[])
        .await?
        .unwrap_or(0))
}
