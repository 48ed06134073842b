//! Failed sign-ins, for throttling per account and per client address (§7.1, §7.4). Only the
//! failures inside the throttling window matter; older rows are removed as new ones arrive, so
//! a lock always ends when its window passes.

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// Records one failed sign-in of a `kind` (`customer` | `staff`) account from `ip`, and forgets
/// failures older than `forget_before`.
pub async fn record_failure(
    conn: &mut Conn,
    kind: &str,
    account: &str,
    ip: &str,
    at: Epoch,
    forget_before: Epoch,
) -> Result<()> {
    conn.execute(
        "delete from signin_failures where at < $1",
        &[Value::Int(forget_before)],
    )
    .await?;
    conn.execute(
        "insert into signin_failures (kind, account, ip, at) values ($1, $2, $3, $4)",
        &[kind.into(), account.into(), ip.into(), Value::Int(at)],
    )
    .await?;
    Ok(())
}

/// Times of an account's failures since `since`, newest first, at most `limit`.
pub async fn account_failures(
    conn: &mut Conn,
    kind: &str,
    account: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<Epoch>> {
    let rows: Vec<(Epoch,)> = conn
        .fetch_all(
            "select at from signin_failures where kind = $1 and account = $2 and at >= $3
         order by at desc limit $4",
            &[
                kind.into(),
                account.into(),
                Value::Int(since),
                Value::Int(limit),
            ],
        )
        .await?;
    Ok(rows.into_iter().map(|(at,)| at).collect())
}

/// Times of all failures from one client address since `since`, newest first, at most `limit`.
pub async fn ip_failures(
    conn: &mut Conn,
    ip: &str,
    since: Epoch,
    limit: i64,
) -> Result<Vec<Epoch>> {
    let rows: Vec<(Epoch,)> = conn
        .fetch_all(
            "select at from signin_failures where ip = $1 and at >= $2 order by at desc limit $3",
            &[ip.into(), Value::Int(since), Value::Int(limit)],
        )
        .await?;
    Ok(rows.into_iter().map(|(at,)| at).collect())
}

/// Forgets an account's failures after it signed in successfully (its address's stay).
pub async fn clear_account(conn: &mut Conn, kind: &str, account: &str) -> Result<u64> {
    conn.execute(
        "delete from signin_failures where kind = $1 and account = $2",
        &[kind.into(), account.into()],
    )
    .await
}
