//! The store: the only module that knows SQL. SQLite (embedded, WAL) and PostgreSQL run the same
//! statements — written once with `$1…` placeholders in order of first appearance, which both
//! accept — through the small `Conn` trait, so every typed function here serves both backends.
//!
//! Store functions are synchronous and take `&mut dyn Conn`; async callers go through
//! `Db::run`, which borrows a pooled connection on a blocking thread.

pub mod alerts;
pub mod audit;
pub mod authz;
mod backend;
pub mod decisions;
pub mod evidence;
pub mod history;
pub mod ingest;
pub mod migrate;
pub mod notes;
pub mod notices;
pub mod own_records;
mod pool;
pub mod rejections;
pub mod restrictions;
pub mod retention;
pub mod search;
pub mod signin;
pub mod staff;
pub mod staff_signin;
pub mod stats;
pub mod timeline;
pub mod web_sessions;

use std::sync::Arc;

pub use backend::{Conn, Row, Value};
use pool::Pool;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store failure, with the statement context it happened in.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("bad database url {0:?}: expected sqlite://PATH or postgres://…")]
    BadUrl(String),
    #[error("unexpected value in column {column}: {found}")]
    Column { column: usize, found: String },
    /// Someone else committed first (another process reading the same file).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A handle on the store: a pool of connections to one database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Arc<Pool>,
}

impl Db {
    /// Opens (and creates, for SQLite) the database at `url` and brings its schema up to date.
    pub fn open(url: &str, pool_size: usize) -> Result<Db> {
        let pool = Pool::open(url, pool_size.max(1))?;
        let db = Db {
            pool: Arc::new(pool),
        };
        db.with(migrate::run)?;
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Runs `f` with a pooled connection on this thread. For CLI commands and ingest threads.
    pub fn with<T>(&self, f: impl FnOnce(&mut dyn Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        let result = f(conn.as_mut());
        if result.is_err() {
            // A connection that failed mid-statement may be in an unknown state.
            conn.discard();
        }
        result
    }

    /// Runs `f` with a pooled connection on a blocking thread, for async callers.
    pub async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Conn) -> Result<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || db.with(f))
            .await
            .map_err(|e| StoreError::Other(format!("store task failed: {e}")))?
    }
}

/// Whether the database answers a trivial statement (`/readyz`).
pub fn ping(conn: &mut dyn Conn) -> Result<()> {
    conn.query_one("select 1", &[])?;
    Ok(())
}

/// Runs `f` inside one transaction: committed when it returns Ok, rolled back otherwise.
pub fn transaction<T>(
    conn: &mut dyn Conn,
    f: impl FnOnce(&mut dyn Conn) -> Result<T>,
) -> Result<T> {
    conn.begin()?;
    match f(conn) {
        Ok(value) => {
            conn.commit()?;
            Ok(value)
        }
        Err(e) => {
            // The original error matters more than a failed rollback.
            let _ = conn.rollback();
            Err(e)
        }
    }
}

/// The notification channel that tells every node's grant index to refresh.
pub const CHANGES_CHANNEL: &str = "relaydesk_changes";

/// Tells other nodes that logins, grants or restrictions changed. PostgreSQL delivers it at
/// commit (LISTEN/NOTIFY); SQLite has no other nodes to tell, so it does nothing.
pub fn notify(conn: &mut dyn Conn) -> Result<()> {
    if conn.backend() == Backend::Postgres {
        conn.batch(&format!("notify {CHANGES_CHANNEL}"))?;
    }
    Ok(())
}

/// Waits for change notifications from other nodes (PostgreSQL LISTEN). SQLite has none.
pub struct ChangeListener {
    client: postgres::Client,
}

impl ChangeListener {
    /// Blocks until a change is announced or `timeout` passes; true when one was.
    pub fn wait(&mut self, timeout: std::time::Duration) -> Result<bool> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut notifications = self.client.notifications();
        let first = notifications.timeout_iter(timeout).next()?.is_some();
        // Several changes in a burst need one refresh: take the pending ones without waiting.
        let mut pending = notifications.iter();
        while pending.next()?.is_some() {}
        Ok(first)
    }
}

impl Db {
    /// A listener for changes made by other nodes, on PostgreSQL; None on SQLite.
    pub fn change_listener(&self) -> Result<Option<ChangeListener>> {
        if self.backend() != Backend::Postgres {
            return Ok(None);
        }
        let mut client = postgres::Client::connect(self.pool.url(), postgres::NoTls)?;
        client.batch_execute(&format!("listen {CHANGES_CHANNEL}"))?;
        Ok(Some(ChangeListener { client }))
    }
}
