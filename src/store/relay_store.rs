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

/// One read of `store` at `now`, in the caller's transaction: `added` appear, the rows
/// `changed` take their new value (DRAC rewrites the time at each login), the rows `gone`
/// disappear.
pub async fn record_read(
    conn: &mut Conn,
    store: &str,
    now: Epoch,
    added: &[New],
    changed: &[(i64, New)],
    gone: &[i64],
) -> Result<()> {
    for id in gone {
        conn.execute(
            "update relay_store_entries set gone_at = $1 where id = $2 and gone_at is null",
            &[now.into(), (*id).into()],
        )
        .await?;
    }
    for (id, n) in changed {
        conn.execute(
            "update relay_store_entries set value = $1, login = $2, began_at = $3, last_seen = $4
             where id = $5",
            &[
                n.value.as_str().into(),
                n.login.as_deref().into(),
                Value::from(n.began_at),
                now.into(),
                (*id).into(),
            ],
        )
        .await?;
    }
    for n in added {
        conn.execute(
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
    Ok(())
}

/// Closes what stores no longer configured held, and forgets their reads: a store removed
/// from (or renamed in) the configuration grants nobody.
pub async fn close_unconfigured(conn: &mut Conn, configured: &[String], now: Epoch) -> Result<u64> {
    let list = (0..configured.len())
        .map(|i| format!("${}", i + 2))
        .collect::<Vec<_>>()
        .join(", ");
    let not_in = match configured.is_empty() {
        true => String::new(),
        false => format!(" and store not in ({list})"),
    };
    let mut params: Vec<Value> = vec![now.into()];
    params.extend(configured.iter().map(Value::from));
    let closed = conn
        .execute(
            &format!("update relay_store_entries set gone_at = $1 where gone_at is null{not_in}"),
            &params,
        )
        .await?;
    let reads_not_in = match configured.is_empty() {
        true => String::new(),
        false => format!(
            " where store not in ({})",
            (0..configured.len())
                .map(|i| format!("${}", i + 1))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    conn.execute(
        &format!("delete from relay_store_reads{reads_not_in}"),
        &params[1..],
    )
    .await?;
    Ok(closed)
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

/// Entries present at any moment of `[from, to]`, newest first, at most `limit`: those still
/// held and those gone since `from`, each found through its own index.
pub async fn between(conn: &mut Conn, from: Epoch, to: Epoch, limit: i64) -> Result<Vec<Held>> {
    conn.fetch_all(
        &format!(
            "select {COLUMNS} from (
               select {COLUMNS} from relay_store_entries where gone_at is null and first_seen <= $2
               union all
               select {COLUMNS} from relay_store_entries where gone_at >= $1 and first_seen <= $2
             ) e order by first_seen desc, id desc limit $3"
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
        // A failed read changes nothing but the error: the store was last read when it was.
        None => {
            conn.execute(
                "insert into relay_store_reads (store, first_read_at, read_at, held, error)
                 values ($1, 0, 0, 0, $2)
                 on conflict (store) do update set error = excluded.error",
                &[store.into(), error.into()],
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
