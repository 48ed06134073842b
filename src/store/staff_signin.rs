//! Failed staff sign-ins (`signin_failures` with kind `staff`), for throttling per staff name
//! and per address. Rows older than the window no longer count, so nobody is locked out for good.

use super::{Conn, Result, Value};
use crate::domain::Epoch;

const KIND: &str = "staff";

pub async fn record_failure(conn: &mut Conn, account: &str, ip: &str, at: Epoch) -> Result<()> {
    conn.execute(
        "insert into signin_failures (kind, account, ip, at) values ($1, $2, $3, $4)",
        &[KIND.into(), account.into(), ip.into(), at.into()],
    )
    .await?;
    Ok(())
}

/// Failures at or after `since` for one staff name: (how many, the oldest of them).
pub async fn for_account(
    conn: &mut Conn,
    account: &str,
    since: Epoch,
) -> Result<(i64, Option<Epoch>)> {
    counted(
        conn,
        "select count(*), min(at) from signin_failures where kind = $1 and account = $2 and at >= $3",
        &[KIND.into(), account.into(), Value::Int(since)],
    )
    .await
}

/// Failures at or after `since` from one address, staff sign-ins only.
pub async fn for_address(conn: &mut Conn, ip: &str, since: Epoch) -> Result<(i64, Option<Epoch>)> {
    counted(
        conn,
        "select count(*), min(at) from signin_failures where ip = $1 and at >= $2 and kind = $3",
        &[ip.into(), Value::Int(since), KIND.into()],
    )
    .await
}

async fn counted(conn: &mut Conn, sql: &str, params: &[Value]) -> Result<(i64, Option<Epoch>)> {
    let row: Option<(i64, Option<Epoch>)> = conn.fetch_optional(sql, params).await?;
    Ok(row.unwrap_or((0, None)))
}

/// Forgets an account's failures after it signed in.
pub async fn clear_account(conn: &mut Conn, account: &str) -> Result<()> {
    conn.execute(
        "delete from signin_failures where kind = $1 and account = $2",
        &[KIND.into(), account.into()],
    )
    .await?;
    Ok(())
}
