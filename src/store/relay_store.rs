//! What the ISP's relay-authorization stores held (`relay_store_entries`): one row per address
//! from the read that first showed it to the read that no longer did. `relay_store::follow`
//! writes it; the grant index, the state of an address and the disagreement findings read it.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::{ClientIp, Epoch};

/// An entry as a store showed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Held {
    pub id: i64,
    pub store: String,
    pub ip: String,
    /// The value as read: DRAC's login time (digits), pop-before-smtp's `ok`, or the SQL time.
    pub value: String,
    /// The login, where an SQL table holds it.
    pub login: Option<String>,
    /// When the grant began, where the value says (DRAC's digits, an SQL row's time).
    pub began_at: Option<Epoch>,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
    /// The first read that no longer showed it; none while the store holds it.
    pub gone_at: Option<Epoch>,
}

/// An entry read now that the stored rows do not hold yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct New {
    pub ip: String,
    pub value: String,
    pub login: Option<String>,
    pub began_at: Option<Epoch>,
}

const COLUMNS: &str = "id, store, ip, value, login, began_at, first_seen, last_seen, gone_at";

/// The entries `store` holds now, as last read.
pub async fn open(conn: &mut Conn, store: &str) -> Result<Vec<Held>> {
    conn.fetch_all(
        &format!("select {COLUMNS} from relay_store_entries where store = $1 and gone_at is null"),
        &[store.into()],
    )
    .await
}

/// One read of `store` at `now`: `added` appear, the rows `gone` disappear, every other open
/// row was seen again. One transaction: a reader sees the store as one read left it.
pub async fn record_read(
    conn: &mut Conn,
    store: &str,
    now: Epoch,
    added: &[New],
    gone: &[i64],
) -> Result<()> {
    let mut tx = conn.begin().await?;
    for id in gone {
        tx.execute(
            "update relay_store_entries set gone_at = $1 where id = $2 and gone_at is null",
            &[now.into(), (*id).into()],
        )
        .await?;
    }
    tx.execute(
        "update relay_store_entries set last_seen = $1 where store = $2 and gone_at is null",
        &[now.into(), store.into()],
    )
    .await?;
    for n in added {
        tx.execute(
            "insert into relay_store_entries
               (store, ip, value, login, began_at, first_seen, last_seen)
             values ($1, $2, $3, $4, $5, $6, $6)",
            &[
                store.into(),
                n.ip.as_str().into(),
                n.value.as_str().into(),
                n.login.as_deref().into(),
                Value::from(n.began_at),
                now.into(),
            ],
        )
        .await?;
    }
    tx.commit().await
}

/// Every address some store holds now, with when it was first seen there: what the grant
/// index follows under `relay.authority = "store"`. Rows whose address does not parse are
/// skipped.
pub async fn held_now(conn: &mut Conn) -> Result<Vec<(ClientIp, Epoch)>> {
    let rows: Vec<(String, Epoch)> = conn
        .fetch_all(
            "select ip, first_seen from relay_store_entries where gone_at is null",
            &[],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(ip, at)| Some((ClientIp::parse_lenient(&ip)?, at)))
        .collect())
}

/// The entry holding `ip` at `at` in any store (the one first seen latest), as the reads
/// recorded it; a store that has been read since `at` is what that moment is judged by.
pub async fn held_at(conn: &mut Conn, ip: &str, at: Epoch) -> Result<Option<Held>> {
    conn.fetch_optional(
        &format!(
            "select {COLUMNS} from relay_store_entries
             where ip = $1 and first_seen <= $2 and (gone_at is null or gone_at > $2)
             order by first_seen desc limit 1"
        ),
        &[ip.into(), at.into()],
    )
    .await
}

/// Entries present at any moment of `[from, to]`, oldest first, at most `limit`.
pub async fn between(conn: &mut Conn, from: Epoch, to: Epoch, limit: i64) -> Result<Vec<Held>> {
    conn.fetch_all(
        &format!(
            "select {COLUMNS} from relay_store_entries
             where first_seen <= $2 and (gone_at is null or gone_at >= $1)
             order by first_seen, id limit $3"
        ),
        &[from.into(), to.into(), limit.into()],
    )
    .await
}

/// A store's last read, as `record_status` left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Read {
    pub store: String,
    /// The first read: mail checks before it cannot be judged against the store.
    pub first_read_at: Epoch,
    pub read_at: Epoch,
    pub held: i64,
    pub error: Option<String>,
}

/// Records a read of `store` at `now`: how many it held, or why it failed (`held` then stays
/// what the last good read said).
pub async fn record_status(
    conn: &mut Conn,
    store: &str,
    now: Epoch,
    held: Option<i64>,
    error: Option<&str>,
) -> Result<()> {
    match held {
        Some(held) => {
            conn.execute(
                "insert into relay_store_reads (store, first_read_at, read_at, held, error)
                 values ($1, $2, $2, $3, null)
                 on conflict (store) do update
                 set read_at = excluded.read_at, held = excluded.held, error = null",
                &[store.into(), now.into(), held.into()],
            )
            .await?
        }
        None => {
            conn.execute(
                "insert into relay_store_reads (store, first_read_at, read_at, held, error)
                 values ($1, $2, $2, 0, $3)
                 on conflict (store) do update set read_at = excluded.read_at,
                 error = excluded.error",
                &[store.into(), now.into(), error.into()],
            )
            .await?
        }
    };
    Ok(())
}

/// Every store's last read.
pub async fn reads(conn: &mut Conn) -> Result<Vec<Read>> {
    conn.fetch_all(
        "select store, first_read_at, read_at, held, error from relay_store_reads
         order by store",
        &[],
    )
    .await
}

/// A run of successful mail checks by one login from one address (a stored session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Checks {
    pub ip: String,
    pub login: String,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
}

/// Mail-check sessions active in `[from, to]`, oldest first, at most `limit`.
pub async fn checks_between(
    conn: &mut Conn,
    from: Epoch,
    to: Epoch,
    limit: i64,
) -> Result<Vec<Checks>> {
    conn.fetch_all(
        "select ip, login, first_seen, last_seen from sessions
         where last_seen >= $1 and first_seen <= $2 order by first_seen limit $3",
        &[from.into(), to.into(), limit.into()],
    )
    .await
}
