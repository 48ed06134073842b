//! One connection type over sqlx's two drivers. Every store function takes `&mut Conn` and runs
//! the same SQL on either backend: statements are written once with `$1…` placeholders (which
//! both accept), parameters are a few plain values (integers — times are epoch seconds — and
//! text), and rows decode into types that derive `sqlx::FromRow`, which serve both drivers.
//!
//! Why an enum and not `sqlx::Any`: Any converts every row through its own value type and
//! hides the drivers, so COPY on PostgreSQL and `begin immediate` on SQLite are out of reach,
//! and each backend's statement cache sits behind another layer. Why not generics over
//! `sqlx::Database`: the bounds every function would carry (`for<'c> &'c mut DB::Connection:
//! Executor`, `i64: Encode + Type`, …) would outweigh the SQL. A `match` in this file is all
//! the dispatch there is.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, FromRow, Postgres, Sqlite, TransactionManager};

use super::{Backend, Result, StoreError};

/// A boxed store future. The methods below return these rather than being `async fn`s: boxing
/// fixes the borrow lifetimes where the future is made, which keeps rustc's Send check of a
/// spawned task from losing them in sqlx's executor bounds ("implementation of `Executor` is
/// not general enough").
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// A statement parameter. Nulls carry their type: PostgreSQL is told each parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Text(String),
    NullInt,
    NullText,
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::NullInt, Value::Int)
    }
}
impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::NullText, Into::into)
    }
}
impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::NullText, Value::Text)
    }
}
impl From<Option<&String>> for Value {
    fn from(v: Option<&String>) -> Self {
        v.map_or(Value::NullText, Into::into)
    }
}

/// A row type both drivers can decode: derive `sqlx::FromRow`, or use a tuple.
pub trait Record:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> Record for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

/// A pooled connection to one of the two databases. It goes back to the pool on drop; sqlx
/// pings it there, which also completes the rollback of a transaction dropped unfinished.
pub enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// SQLite statements take at most this many parameters (SQLITE_MAX_VARIABLE_NUMBER).
const SQLITE_PARAMS: usize = 32_000;

/// PostgreSQL text cannot hold NUL; log text occasionally does.
fn pg_text(v: &str) -> Cow<'_, str> {
    if v.contains('\0') {
        Cow::Owned(v.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(v)
    }
}

/// `sql` made into a query by `$make` (`sqlx::query` or `sqlx::query_as`) with `params` bound,
/// in order. SQLite gets the statement through `sqlite_sql` and takes text as borrowed;
/// PostgreSQL text cannot hold NUL (`pg_text`).
macro_rules! bound {
    ($make:path, $sql:expr, $params:expr, sqlite) => {
        $params
            .iter()
            .fold($make(&sqlite_sql($sql, $params.len())), |q, v| match v {
                Value::Int(i) => q.bind(*i),
                Value::Text(t) => q.bind(t.as_str()),
                Value::NullInt => q.bind(None::<i64>),
                Value::NullText => q.bind(None::<&str>),
            })
    };
    ($make:path, $sql:expr, $params:expr, postgres) => {
        $params.iter().fold($make($sql), |q, v| match v {
            Value::Int(i) => q.bind(*i),
            Value::Text(t) => q.bind(pg_text(t).into_owned()),
            Value::NullInt => q.bind(None::<i64>),
            Value::NullText => q.bind(None::<String>),
        })
    };
}

/// A statement's `$1`, `$2`, … as SQLite's anonymous `?` when they appear exactly once each and
/// in order, as in a generated `values` list. SQLite looks up each named parameter in a list
/// (sqlite3VListNameToNum when preparing, and sqlx asks each one's name when binding): quadratic
/// in their number, which a statement of thousands of parameters pays in milliseconds; anonymous
/// ones cost nothing to look up. Other statements are left as written.
fn sqlite_sql(sql: &str, params: usize) -> Cow<'_, str> {
    const FEW: usize = 16;
    if params <= FEW {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let (mut copied, mut next, mut i, mut quoted) = (0, 1usize, 0, false);
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => quoted = !quoted,
            b'$' if !quoted => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                if digits > 0 {
                    if sql[i + 1..i + 1 + digits].parse::<usize>().ok() != Some(next) {
                        return Cow::Borrowed(sql);
                    }
                    out.push_str(&sql[copied..i]);
                    out.push('?');
                    next += 1;
                    i += 1 + digits;
                    copied = i;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if next != params + 1 {
        return Cow::Borrowed(sql);
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs one statement; returns the number of rows changed.
    pub fn execute<'a>(&'a mut self, sql: &'a str, params: &'a [Value]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            Ok(match self {
                Conn::Sqlite(c) => bound!(sqlx::query, sql, params, sqlite)
                    .execute(&mut **c)
                    .await?
                    .rows_affected(),
                Conn::Postgres(c) => bound!(sqlx::query, sql, params, postgres)
                    .execute(&mut **c)
                    .await?
                    .rows_affected(),
            })
        })
    }

    /// Every row of a query, decoded into `T`.
    pub fn fetch_all<'a, T: Record + 'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> StoreFuture<'a, Vec<T>> {
        Box::pin(async move {
            Ok(match self {
                Conn::Sqlite(c) => {
                    bound!(sqlx::query_as, sql, params, sqlite)
                        .fetch_all(&mut **c)
                        .await?
                }
                Conn::Postgres(c) => {
                    bound!(sqlx::query_as, sql, params, postgres)
                        .fetch_all(&mut **c)
                        .await?
                }
            })
        })
    }

    /// The first row of a query, if any.
    pub fn fetch_optional<'a, T: Record + 'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> StoreFuture<'a, Option<T>> {
        Box::pin(async move {
            Ok(match self {
                Conn::Sqlite(c) => {
                    bound!(sqlx::query_as, sql, params, sqlite)
                        .fetch_optional(&mut **c)
                        .await?
                }
                Conn::Postgres(c) => {
                    bound!(sqlx::query_as, sql, params, postgres)
                        .fetch_optional(&mut **c)
                        .await?
                }
            })
        })
    }

    /// Whether the query returns a row (its columns are not read: `select 1 … limit 1`).
    pub fn exists<'a>(&'a mut self, sql: &'a str, params: &'a [Value]) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            Ok(match self {
                Conn::Sqlite(c) => bound!(sqlx::query, sql, params, sqlite)
                    .fetch_optional(&mut **c)
                    .await?
                    .is_some(),
                Conn::Postgres(c) => bound!(sqlx::query, sql, params, postgres)
                    .fetch_optional(&mut **c)
                    .await?
                    .is_some(),
            })
        })
    }

    /// Every row of a query as a JSON object with the columns named `names`, in order; each
    /// value an integer, text or null (what the export of one customer's data needs).
    pub fn fetch_json<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
        names: &'a [&'a str],
    ) -> StoreFuture<'a, Vec<serde_json::Value>> {
        macro_rules! objects {
            ($rows:expr) => {{
                use sqlx::Row;
                $rows
                    .iter()
                    .map(|r| {
                        let mut o = serde_json::Map::new();
                        for (i, name) in names.iter().enumerate() {
                            let v = match r.try_get::<Option<i64>, _>(i) {
                                Ok(Some(n)) => serde_json::Value::from(n),
                                Ok(None) => serde_json::Value::Null,
                                Err(_) => r
                                    .try_get::<Option<String>, _>(i)
                                    .ok()
                                    .flatten()
                                    .map_or(serde_json::Value::Null, serde_json::Value::from),
                            };
                            o.insert((*name).to_string(), v);
                        }
                        serde_json::Value::Object(o)
                    })
                    .collect::<Vec<_>>()
            }};
        }
        Box::pin(async move {
            Ok(match self {
                Conn::Sqlite(c) => {
                    let rows = bound!(sqlx::query, sql, params, sqlite)
                        .fetch_all(&mut **c)
                        .await?;
                    objects!(rows)
                }
                Conn::Postgres(c) => {
                    let rows = bound!(sqlx::query, sql, params, postgres)
                        .fetch_all(&mut **c)
                        .await?;
                    objects!(rows)
                }
            })
        })
    }

    /// The single value of a one-column query (null or no row: `None`).
    pub fn scalar<'a>(
        &'a mut self,
        sql: &'a str,
        params: &'a [Value],
    ) -> StoreFuture<'a, Option<i64>> {
        Box::pin(async move {
            Ok(self
                .fetch_optional::<(Option<i64>,)>(sql, params)
                .await?
                .and_then(|(v,)| v))
        })
    }

    /// Runs statements without parameters (migrations, session settings).
    pub fn batch<'a>(&'a mut self, sql: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            match self {
                // A bare string runs unprepared, several statements at once.
                Conn::Sqlite(c) => {
                    sqlx::Executor::execute(&mut **c, sql).await?;
                }
                Conn::Postgres(c) => {
                    sqlx::Executor::execute(&mut **c, sql).await?;
                }
            }
            Ok(())
        })
    }

    /// Starts a transaction: committed by `Tx::commit`, rolled back if dropped unfinished
    /// (an error, a panic, a cancelled task). SQLite's is `begin immediate`: it takes the
    /// write lock up front, so two writers queue instead of failing on upgrade.
    pub fn begin(&mut self) -> StoreFuture<'_, Tx<'_>> {
        Box::pin(async move {
            match self {
                Conn::Sqlite(c) => {
                    <Sqlite as Database>::TransactionManager::begin(
                        &mut **c,
                        Some(Cow::Borrowed("begin immediate")),
                    )
                    .await?
                }
                Conn::Postgres(c) => {
                    <Postgres as Database>::TransactionManager::begin(&mut **c, None).await?
                }
            }
            Ok(Tx {
                conn: self,
                open: true,
            })
        })
    }

    /// Inserts many rows into `table`; `conflict` is appended (`on conflict … do …` or empty).
    /// Rows must not conflict with each other. SQLite takes multi-row statements (a round trip
    /// costs far more than a row); PostgreSQL copies the rows into a temporary table and
    /// inserts them from it in one statement.
    pub fn insert_many<'a>(
        &'a mut self,
        table: &'a str,
        columns: &'a [&'a str],
        rows: &'a [Vec<Value>],
        conflict: &'a str,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            if rows.is_empty() {
                return Ok(());
            }
            match self {
                Conn::Sqlite(c) => {
                    let full = (SQLITE_PARAMS / columns.len()).max(1);
                    for chunk in rows.chunks(full) {
                        let mut b = sqlx::QueryBuilder::<Sqlite>::new(format!(
                            "insert into {table} ({}) ",
                            columns.join(", ")
                        ));
                        b.push_values(chunk, |mut r, row| {
                            for v in row {
                                match v {
                                    Value::Int(i) => r.push_bind(*i),
                                    Value::Text(t) => r.push_bind(t.as_str()),
                                    Value::NullInt => r.push_bind(None::<i64>),
                                    Value::NullText => r.push_bind(None::<String>),
                                };
                            }
                        });
                        b.push(" ");
                        b.push(conflict);
                        // A full chunk's statement repeats (the policy recorder's batches): kept
                        // prepared. A shorter one has a row count of its own: kept out of the
                        // connection's statement cache, where it would push out those that repeat.
                        b.build()
                            .persistent(chunk.len() == full)
                            .execute(&mut **c)
                            .await?;
                    }
                    Ok(())
                }
                Conn::Postgres(c) => {
                    if rows.len() < 8 {
                        let sql = insert_sql(table, columns, conflict);
                        for row in rows {
                            params_query_pg(&sql, row).execute(&mut **c).await?;
                        }
                        return Ok(());
                    }
                    let cols = columns.join(", ");
                    let temp = format!("copy_{table}");
                    let create = format!(
                        "create temporary table if not exists {temp} as \
                     select {cols} from {table} limit 0; truncate {temp}"
                    );
                    sqlx::Executor::execute(&mut **c, create.as_str()).await?;
                    let mut text = Vec::with_capacity(rows.len() * 64);
                    for row in rows {
                        for (i, value) in row.iter().enumerate() {
                            if i > 0 {
                                text.push(b'\t');
                            }
                            copy_text(&mut text, value);
                        }
                        text.push(b'\n');
                    }
                    let mut copy = c
                        .copy_in_raw(&format!("copy {temp} ({cols}) from stdin"))
                        .await?;
                    if let Err(e) = copy.send(text).await {
                        // Leave the connection usable: end the COPY before reporting.
                        let _ = copy.abort("send failed").await;
                        return Err(e.into());
                    }
                    copy.finish().await?;
                    sqlx::query(&format!(
                        "insert into {table} ({cols}) select {cols} from {temp} {conflict}"
                    ))
                    .execute(&mut **c)
                    .await?;
                    Ok(())
                }
            }
        })
    }
}

fn params_query_pg<'q>(sql: &'q str, row: &'q [Value]) -> Query<'q, Postgres, PgArguments> {
    bound!(sqlx::query, sql, row, postgres)
}

/// A transaction on a connection; derefs to the connection, so store functions take it as
/// `&mut Conn`. Dropped without `commit`, it rolls back.
pub struct Tx<'c> {
    conn: &'c mut Conn,
    open: bool,
}

impl<'c> Tx<'c> {
    pub fn commit(mut self) -> StoreFuture<'c, ()> {
        Box::pin(async move {
            self.open = false;
            match &mut *self.conn {
                Conn::Sqlite(c) => {
                    <Sqlite as Database>::TransactionManager::commit(&mut **c).await?
                }
                Conn::Postgres(c) => {
                    <Postgres as Database>::TransactionManager::commit(&mut **c).await?
                }
            }
            Ok(())
        })
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            // Queued now, sent before the connection's next statement or when the pool takes
            // it back — so the next user never finds this transaction open.
            match &mut *self.conn {
                Conn::Sqlite(c) => <Sqlite as Database>::TransactionManager::start_rollback(c),
                Conn::Postgres(c) => {
                    <Postgres as Database>::TransactionManager::start_rollback(c);
                }
            }
        }
    }
}

fn insert_sql(table: &str, columns: &[&str], conflict: &str) -> String {
    let mut sql = format!("insert into {table} ({}) values (", columns.join(", "));
    for i in 1..=columns.len() {
        let _ = write!(sql, "{}${i}", if i > 1 { ", " } else { "" });
    }
    sql.push_str(") ");
    sql.push_str(conflict);
    sql
}

/// Writes one value in COPY's text format: `\N` for null; backslash, tab, newline and carriage
/// return escaped.
fn copy_text(out: &mut Vec<u8>, value: &Value) {
    use std::io::Write as _;
    match value {
        Value::NullInt | Value::NullText => out.extend_from_slice(b"\\N"),
        Value::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Text(s) => {
            for b in s.bytes() {
                match b {
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    b'\t' => out.extend_from_slice(b"\\t"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    b'\r' => out.extend_from_slice(b"\\r"),
                    // NUL is not allowed in PostgreSQL text.
                    0 => out.extend_from_slice("\u{FFFD}".as_bytes()),
                    _ => out.push(b),
                }
            }
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => StoreError::Busy,
            e => StoreError::Sql(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite_sql;

    #[test]
    fn many_numbered_parameters_in_order_become_anonymous() {
        let values: Vec<String> = (1..=20).map(|n| format!("(${n})")).collect();
        let sql = format!("insert into t (a) values {}", values.join(", "));
        let out = sqlite_sql(&sql, 20);
        assert_eq!(out.matches('?').count(), 20);
        assert!(!out.contains('$'));
        // $10 is one parameter, not $1 followed by a zero.
        assert!(out.ends_with("(?)"));
    }

    #[test]
    fn other_statements_are_left_as_written() {
        let values: Vec<String> = (1..=20).map(|n| format!("${n}")).collect();
        let in_order = format!("select {}", values.join(", "));
        // Few parameters: not worth a copy.
        assert_eq!(sqlite_sql("select $1, $2", 2), "select $1, $2");
        // A parameter used twice, or out of order, or a count that differs.
        let twice = format!("{in_order}, $1");
        assert_eq!(sqlite_sql(&twice, 20), twice.as_str());
        let swapped = in_order
            .replacen("$1,", "$2,", 1)
            .replacen(", $2,", ", $1,", 1);
        assert_eq!(sqlite_sql(&swapped, 20), swapped.as_str());
        assert_eq!(sqlite_sql(&in_order, 21), in_order.as_str());
        // A dollar sign inside a string literal is text.
        let quoted = format!("{in_order}, '$21'");
        assert_eq!(sqlite_sql(&quoted, 20).matches('?').count(), 20);
        assert!(sqlite_sql(&quoted, 20).ends_with("'$21'"));
    }
}
