//! Failed sign-ins, for throttling per account and per client address (§7.1, §7.4). Only the
//! failures inside the throttling window matter; older rows are removed as new ones arrive, so
//! a lock always ends when its window passes.
//!
//! An attempt is reserved before its password is checked (`reserve`): counting and recording
//! are one transaction, serialized per account and per address (SQLite's write lock; advisory
//! locks on PostgreSQL, across nodes), so however many requests arrive at once, no more than
//! the limits are ever evaluated in a window. A reserved attempt that fails stays as the
//! failure; one that succeeds or could not be checked is released.

use super::{Backend, Conn, Result, Value};
use crate::domain::Epoch;

/// How many sign-in attempts a window allows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The sliding window, seconds.
    pub window: i64,
    pub per_account: usize,
    pub per_address: usize,
}

/// Advisory lock classes (the first key of PostgreSQL's two-key advisory locks).
const ACCOUNT_LOCKS: i64 = 0x7364_0001;
const ADDRESS_LOCKS: i64 = 0x7364_0002;

/// What `reserve` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead and check the password; the attempt is recorded under this id.
    Reserved(i64),
    /// Too many attempts in the window: try again in this many seconds.
    Wait(u64),
}

/// How long to wait before another try, when `newest_first` (attempt times within the window,
/// newest first) already holds `limit` of them: until the oldest of those leaves the window.
pub fn retry_after(newest_first: &[Epoch], limit: usize, window: i64, now: Epoch) -> Option<u64> {
    let decisive = *newest_first.get(limit.checked_sub(1)?)?;
    let free_at = decisive + window;
    (free_at > now).then(|| (free_at - now) as u64)
}

/// Reserves one sign-in attempt of a `kind` (`customer` | `staff`) account from `address` (an
/// address, or an IPv6 prefix: see `web::client::throttle_key`), or says how long to wait.
pub async fn reserve(
    conn: &mut Conn,
    kind: &str,
    account: &str,
    address: &str,
    now: Epoch,
    limits: Limits,
) -> Result<Attempt> {
    let since = now - limits.window + 1;
    let mut tx = conn.begin().await?;
    if tx.backend() == Backend::Postgres {
        // Accounts and addresses are locked in separate classes (no account name can take an
        // address's lock), account first, then address, in every transaction: no two can wait
        // on each other.
        for (class, key) in [(ACCOUNT_LOCKS, account), (ADDRESS_LOCKS, address)] {
            tx.execute(
                "select pg_advisory_xact_lock(cast($1 as integer), hashtext($2))",
                &[Value::Int(class), format!("{kind} {key}").into()],
            )
            .await?;
        }
    }
    // Only this kind's: the other surface's window may be longer.
    tx.execute(
        "delete from signin_failures where kind = $1 and at < $2",
        &[kind.into(), Value::Int(since)],
    )
    .await?;
    let by_account = times(
        &mut tx,
        "select at from signin_failures where kind = $1 and account = $2 and at >= $3
         order by at desc limit $4",
        &[
            kind.into(),
            account.into(),
            Value::Int(since),
            (limits.per_account as i64).into(),
        ],
    )
    .await?;
    let by_address = times(
        &mut tx,
        "select at from signin_failures where kind = $1 and ip = $2 and at >= $3
         order by at desc limit $4",
        &[
            kind.into(),
            address.into(),
            Value::Int(since),
            (limits.per_address as i64).into(),
        ],
    )
    .await?;
    let wait = retry_after(&by_account, limits.per_account, limits.window, now).max(retry_after(
        &by_address,
        limits.per_address,
        limits.window,
        now,
    ));
    if let Some(secs) = wait {
        tx.commit().await?;
        return Ok(Attempt::Wait(secs));
    }
    let id: Option<(i64,)> = tx
        .fetch_optional(
            "insert into signin_failures (kind, account, ip, at) values ($1, $2, $3, $4)
             returning id",
            &[kind.into(), account.into(), address.into(), Value::Int(now)],
        )
        .await?;
    tx.commit().await?;
    Ok(Attempt::Reserved(id.map_or(0, |(id,)| id)))
}

/// A reserved attempt that is given back unless `keep` is called: a sign-in that succeeds, or
/// whose check could not be made, or whose request is cut off (a timeout, a dropped
/// connection) before the password was judged, does not count as a failure.
pub struct Reservation {
    db: super::Db,
    id: Option<i64>,
}

impl Reservation {
    pub fn new(db: super::Db, id: i64) -> Reservation {
        Reservation { db, id: Some(id) }
    }

    /// The password was wrong: the attempt stays, as the failure.
    pub fn keep(mut self) {
        self.id = None;
    }

    /// Gives the attempt back now.
    pub async fn release(mut self) -> Result<()> {
        match self.id.take() {
            Some(id) => release(&mut self.db.conn().await?, id).await,
            None => Ok(()),
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(id) = self.id.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let db = self.db.clone();
            runtime.spawn(async move {
                if let Ok(mut c) = db.conn().await {
                    let _ = release(&mut c, id).await;
                }
            });
        }
    }
}

/// Gives back a reserved attempt that did not fail (signed in, or the check was unavailable).
pub async fn release(conn: &mut Conn, id: i64) -> Result<()> {
    conn.execute(
        "delete from signin_failures where id = $1",
        &[Value::Int(id)],
    )
    .await?;
    Ok(())
}

async fn times(conn: &mut Conn, sql: &str, params: &[Value]) -> Result<Vec<Epoch>> {
    let rows: Vec<(Epoch,)> = conn.fetch_all(sql, params).await?;
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
