//! The store: the only module that knows SQL. SQLite (embedded, WAL) and PostgreSQL run the same
//! statements — written once with `$1…` placeholders in order of first appearance, which both
//! accept — through one `Conn` over sqlx's two drivers, so every typed function here serves
//! both backends. Store functions are async and take `&mut Conn`; `Db::conn` lends one from
//! the pool, `Conn::begin` opens a transaction that rolls back unless committed.

pub mod alerts;
pub mod audit;
pub mod authz;
mod backend;
pub mod backup;
pub mod changes;
pub mod decisions;
pub mod evidence;
pub mod history;
pub mod ingest;
pub mod migrate;
pub mod notes;
pub mod notices;
pub mod own_records;
pub mod privacy;
pub mod rejections;
pub mod relay_methods;
pub mod relay_store;
pub mod restrictions;
pub mod retention;
pub mod search;
pub mod signin;
pub mod staff;
pub mod stats;
pub mod timeline;
pub mod web_sessions;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

pub use backend::{Conn, Record, Tx, Value};
use sqlx::pool::PoolOptions;
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

/// What an ingest batch's connection gets for the batch (`bulk_write`): a month of history is a
/// few hundred MB whose indexes every batch walks; with SQLite's default 2 MB page cache each
/// step read its pages again through pread (half the ingest time into a 30-day store went to
/// the kernel copying pages, BENCHMARKS.md "Into a full store"). Pages are mapped instead, and
/// 64 MB of them cached. Other connections keep SQLite's defaults (2 MB, nothing mapped): mapped
/// and cached pages count in the process's resident memory, and a web server reading a store of
/// 10 M sessions on every connection grew to 1.3 GB with them (§10's bar: 300 MB).
const SQLITE_BULK: &str = "pragma cache_size = -65536; pragma mmap_size = 1073741824";
const SQLITE_DEFAULT: &str = "pragma cache_size = -2000; pragma mmap_size = 0";
/// WAL pages after which a writer checkpoints itself (SQLite's default 1000) — a backstop: the
/// checkpointer (`checkpoints`) copies the WAL into the database from a connection of its own,
/// on the other core, while writers go on. A writer that checkpointed after its own commit
/// spent a third of an import into a 30-day store doing so (BENCHMARKS.md "Into a full store").
const SQLITE_CHECKPOINT_PAGES: &str = "32768";
/// The WAL file is cut back to this size once it has been copied in and starts over.
const SQLITE_WAL_LIMIT_BYTES: &str = "67108864";
/// How often the checkpointer looks for WAL frames to copy when no writer has said so.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(sqlx::Error),
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// No connection could be had within the pool's acquire timeout.
    #[error("database busy: no connection free within the acquire timeout")]
    Busy,
    #[error("bad database url {0:?}: expected sqlite://PATH or postgres://…")]
    BadUrl(String),
    #[error("cannot open database {url}: {source}")]
    Open {
        url: String,
        source: Box<StoreError>,
    },
    /// Someone else committed first (another process reading the same file).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

impl StoreError {
    /// The database cannot be reached or has no connection free right now (a restart, a full
    /// pool, a locked file): worth retrying, and for a visitor "try again shortly", not a fault.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Busy => true,
            StoreError::Open { source, .. } => source.is_unavailable(),
            StoreError::Sql(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Database(db) => {
                    let code = db.code().unwrap_or_default();
                    // PostgreSQL: connection exceptions (08…), shutting down or starting up
                    // (57P01–57P03). SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6).
                    code.starts_with("08")
                        || matches!(&*code, "57P01" | "57P02" | "57P03" | "5" | "6")
                }
                _ => false,
            },
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// How a pool of connections is kept.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    /// Connections at most.
    pub size: u32,
    /// How long a caller waits for a free connection before `StoreError::Busy`.
    pub acquire_timeout: Duration,
}

impl PoolSettings {
    pub fn new(size: usize) -> Self {
        PoolSettings {
            size: u32::try_from(size.max(1)).unwrap_or(u32::MAX),
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

/// A handle on the store: a pool of connections to one database. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// SQLite files: copies the WAL into the database beside the writers. It stops when the
    /// last handle goes or the store is closed.
    checkpointer: Option<Arc<Checkpointer>>,
}

/// A task with a connection of its own that copies committed WAL frames into the SQLite
/// database file every `CHECKPOINT_EVERY` (a passive checkpoint: it never waits for, nor
/// holds up, a reader or a writer).
struct Checkpointer {
    stop: tokio::sync::watch::Sender<bool>,
    /// A writer committed a batch: copy it in now, while the next one is being made.
    written: Arc<tokio::sync::Notify>,
    task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Checkpointer {
    fn start(options: SqliteConnectOptions) -> Checkpointer {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let written = Arc::new(tokio::sync::Notify::new());
        let wake = written.clone();
        let task = tokio::spawn(async move {
            let mut conn: Option<sqlx::SqliteConnection> = None;
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    () = wake.notified() => {}
                    () = tokio::time::sleep(CHECKPOINT_EVERY) => {}
                }
                if conn.is_none() {
                    conn = sqlx::ConnectOptions::connect(&options).await.ok();
                }
                if let Some(c) = conn.as_mut() {
                    let done = sqlx::query("pragma wal_checkpoint(passive)")
                        .execute(&mut *c)
                        .await;
                    if done.is_err() {
                        // Opened again next time (a file replaced under it, say).
                        conn = None;
                    }
                }
            }
            if let Some(c) = conn {
                let _ = sqlx::Connection::close(c).await;
            }
        });
        Checkpointer {
            stop,
            written,
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    /// Stops the task and waits until its connection is closed, so that the pool's last
    /// connection to close is the last of all and leaves the database file complete.
    async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl Db {
    /// Opens (and creates, for SQLite) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, settings: PoolSettings) -> Result<Db> {
        let db = Db::connect(url, settings).await?;
        migrate::run(&mut db.conn().await?).await?;
        Ok(db)
    }

    /// Opens the configured database (`[database]`) and brings its schema up to date.
    pub async fn open_config(c: &crate::config::DatabaseConfig) -> Result<Db> {
        let settings = PoolSettings {
            acquire_timeout: Duration::from_secs(c.acquire_timeout.0.max(1).unsigned_abs()),
            ..PoolSettings::new(c.pool_size)
        };
        Db::open(&c.url, settings)
            .await
            .map_err(|e| StoreError::Open {
                url: config_safe(&c.url),
                source: Box::new(e),
            })
    }

    /// Opens the pool without touching the schema.
    pub async fn connect(url: &str, settings: PoolSettings) -> Result<Db> {
        let bad_url = |_| StoreError::BadUrl(config_safe(url));
        let mut checkpointer = None;
        let pool = match Backend::of_url(url) {
            Some(Backend::Sqlite) => {
                let options = SqliteConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(10))
                    .pragma("wal_autocheckpoint", SQLITE_CHECKPOINT_PAGES)
                    .pragma("journal_size_limit", SQLITE_WAL_LIMIT_BYTES);
                // A file has no server that can vanish under an idle connection: no ping on
                // acquire (each is a round trip to the connection's worker thread).
                let pool = PoolOptions::<sqlx::Sqlite>::new()
                    .max_connections(settings.size)
                    .acquire_timeout(settings.acquire_timeout)
                    .test_before_acquire(false)
                    .connect_with(options.clone())
                    .await?;
                let in_memory = options.get_filename() == std::path::Path::new(":memory:");
                if !in_memory {
                    // It never makes a file: one removed under it stays removed.
                    let options = options.create_if_missing(false);
                    checkpointer = Some(Arc::new(Checkpointer::start(options)));
                }
                Pool::Sqlite(pool)
            }
            Some(Backend::Postgres) => {
                let options = PgConnectOptions::from_str(url)
                    .map_err(bad_url)?
                    .options([("client_min_messages", "warning")]);
                // A restarted server leaves idle connections dead: test each before use.
                let pool = PoolOptions::<sqlx::Postgres>::new()
                    .max_connections(settings.size)
                    .acquire_timeout(settings.acquire_timeout)
                    .test_before_acquire(true)
                    .idle_timeout(Duration::from_secs(300))
                    .connect_with(options)
                    .await?;
                Pool::Postgres(pool)
            }
            None => return Err(StoreError::BadUrl(config_safe(url))),
        };
        Ok(Db { pool, checkpointer })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Lends a connection from the pool (waiting at most the acquire timeout).
    pub async fn conn(&self) -> Result<Conn> {
        Ok(match &self.pool {
            Pool::Sqlite(p) => Conn::Sqlite(p.acquire().await?),
            Pool::Postgres(p) => Conn::Postgres(p.acquire().await?),
        })
    }

    /// Runs `f` with a connection lent from the pool; it goes back when `f` is done.
    pub async fn run<T>(&self, f: impl AsyncFnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.conn().await?;
        f(&mut conn).await
    }

    /// The PostgreSQL pool, for LISTEN (None on SQLite).
    fn pg_pool(&self) -> Option<&sqlx::PgPool> {
        match &self.pool {
            Pool::Postgres(p) => Some(p),
            Pool::Sqlite(_) => None,
        }
    }

    /// Says that a large transaction was just committed: on SQLite its WAL frames are copied
    /// into the database at once, on the checkpointer's connection, while the caller goes on
    /// (and the WAL can start over before the next one). Nothing on PostgreSQL.
    pub fn written(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.written.notify_one();
        }
    }

    /// Closes every connection (waits for those lent out to come back).
    pub async fn close(&self) {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop().await;
        }
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// Runs `work` on `conn` with a large page cache and the file mapped (`SQLITE_BULK`) when it is
/// SQLite, then gives the connection back its defaults whatever `work` returned.
pub async fn bulk_write<T>(
    conn: &mut Conn,
    work: impl AsyncFnOnce(&mut Conn) -> Result<T>,
) -> Result<T> {
    if conn.backend() != Backend::Sqlite {
        return work(conn).await;
    }
    conn.batch(SQLITE_BULK).await?;
    let result = work(conn).await;
    // The work's outcome stands either way (a committed batch must not be reported failed).
    if let Err(e) = conn.batch(SQLITE_DEFAULT).await {
        tracing::warn!(error = %e, "could not give a connection back its page cache defaults");
    }
    result
}

/// A database URL without its password, for messages.
fn config_safe(url: &str) -> String {
    crate::config::redact_url(url)
}

/// Whether the database answers a trivial statement (`/readyz`).
pub async fn ping(conn: &mut Conn) -> Result<()> {
    conn.exists("select 1", &[]).await?;
    Ok(())
}
