//! The two database connections behind one small trait. Values are deliberately few — integers
//! (times are epoch seconds), text and null — so both backends store them the same way.

use std::fmt::Write as _;
use std::io::Write as _;

use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::{Result, StoreError};

/// A statement parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
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
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// One result row.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

impl Row {
    pub fn int(&self, i: usize) -> Result<i64> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            other => Err(StoreError::Column {
                column: i,
                found: format!("{other:?}"),
            }),
        }
    }

    pub fn opt_int(&self, i: usize) -> Result<Option<i64>> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.int(i).map(Some),
        }
    }

    pub fn text(&self, i: usize) -> Result<String> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.clone()),
            other => Err(StoreError::Column {
                column: i,
                found: format!("{other:?}"),
            }),
        }
    }

    pub fn opt_text(&self, i: usize) -> Result<Option<String>> {
        match self.0.get(i) {
            Some(Value::Null) => Ok(None),
            _ => self.text(i).map(Some),
        }
    }
}

/// What the store needs from a database connection.
pub trait Conn: Send {
    fn backend(&self) -> super::Backend;
    /// Runs one statement; returns the number of rows changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>>;
    /// Runs several statements without parameters (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;
    fn begin(&mut self) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;
    /// Inserts many rows into `table`; `conflict` is appended (`on conflict … do …` or empty).
    /// Rows must not conflict with each other. SQLite runs a cached statement per row;
    /// PostgreSQL copies the rows into a temporary table and inserts them in one statement.
    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        conflict: &str,
    ) -> Result<()>;

    fn query_one(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

pub struct SqliteConn(pub rusqlite::Connection);

impl SqliteConn {
    pub fn open(path: &str) -> Result<Self> {
        let conn = rusqlite::Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "wal")?;
        conn.pragma_update(None, "synchronous", "normal")?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(SqliteConn(conn))
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

fn sqlite_row(row: &rusqlite::Row<'_>, n: usize) -> rusqlite::Result<Row> {
    use rusqlite::types::ValueRef;
    let mut values = Vec::with_capacity(n);
    for i in 0..n {
        values.push(match row.get_ref(i)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(v) => Value::Int(v as i64),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
        });
    }
    Ok(Row(values))
}

impl Conn for SqliteConn {
    fn backend(&self) -> super::Backend {
        super::Backend::Sqlite
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let n = stmt.column_count();
        let rows = stmt.query_map(rusqlite::params_from_iter(params.iter()), |r| {
            sqlite_row(r, n)
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.execute_batch(sql)?)
    }

    fn begin(&mut self) -> Result<()> {
        // IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
        Ok(self.0.execute_batch("begin immediate")?)
    }

    fn commit(&mut self) -> Result<()> {
        Ok(self.0.execute_batch("commit")?)
    }

    fn rollback(&mut self) -> Result<()> {
        Ok(self.0.execute_batch("rollback")?)
    }

    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        conflict: &str,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let sql = insert_sql(table, columns, conflict);
        let mut stmt = self.0.prepare_cached(&sql)?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))?;
        }
        Ok(())
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

pub struct PgConn(pub postgres::Client, StatementCache);

/// Statements prepared on one PostgreSQL connection, by SQL text. Querying with the text
/// prepares an unnamed statement on every call: one more round trip and a parse each time
/// (the customer page makes about ten; bench/web). Emptied when it reaches `PG_CACHE`.
#[derive(Default)]
pub struct StatementCache(std::collections::HashMap<String, postgres::Statement>);

const PG_CACHE: usize = 256;

impl PgConn {
    pub fn open(url: &str) -> Result<Self> {
        let mut client = postgres::Client::connect(url, postgres::NoTls)?;
        client.batch_execute("set client_min_messages = warning")?;
        Ok(PgConn(client, StatementCache::default()))
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(stmt) = self.1.0.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.0.prepare(sql)?;
        if self.1.0.len() >= PG_CACHE {
            self.1.0.clear();
        }
        self.1.0.insert(sql.to_string(), stmt.clone());
        Ok(stmt)
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres::types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) if *ty == Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
            Value::Int(v) if *ty == Type::BOOL => (*v != 0).to_sql(ty, out),
            Value::Int(v) => v.to_sql(ty, out),
            // PostgreSQL text cannot hold NUL; log text occasionally does.
            Value::Text(v) if v.contains('\0') => v.replace('\0', "\u{FFFD}").to_sql(ty, out),
            Value::Text(v) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn pg_row(row: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i)?
                .map(|v| Value::Int(v as i64))
        } else {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl Conn for PgConn {
    fn backend(&self) -> super::Backend {
        super::Backend::Postgres
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let stmt = self.statement(sql)?;
        Ok(self.0.execute(&stmt, &params)?)
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>> {
        let params: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        let stmt = self.statement(sql)?;
        self.0.query(&stmt, &params)?.iter().map(pg_row).collect()
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.0.batch_execute(sql)?)
    }

    fn begin(&mut self) -> Result<()> {
        Ok(self.0.batch_execute("begin")?)
    }

    fn commit(&mut self) -> Result<()> {
        Ok(self.0.batch_execute("commit")?)
    }

    fn rollback(&mut self) -> Result<()> {
        Ok(self.0.batch_execute("rollback")?)
    }

    fn insert_many(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Value>],
        conflict: &str,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if rows.len() < 8 {
            let sql = insert_sql(table, columns, conflict);
            for row in rows {
                self.execute(&sql, row)?;
            }
            return Ok(());
        }
        let cols = columns.join(", ");
        let temp = format!("copy_{table}");
        self.0.batch_execute(&format!(
            "create temporary table if not exists {temp} as select {cols} from {table} limit 0; \
             truncate {temp}"
        ))?;
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
        let mut writer = self
            .0
            .copy_in(&format!("copy {temp} ({cols}) from stdin"))?;
        writer
            .write_all(&text)
            .map_err(|e| StoreError::Other(format!("copy into {table}: {e}")))?;
        writer.finish()?;
        self.0.execute(
            &format!("insert into {table} ({cols}) select {cols} from {temp} {conflict}"),
            &[],
        )?;
        Ok(())
    }
}

/// Writes one value in COPY's text format: `\N` for null; backslash, tab, newline and carriage
/// return escaped.
fn copy_text(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"\\N"),
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
