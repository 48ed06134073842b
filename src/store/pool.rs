//! A small blocking connection pool: connections are opened on demand up to a limit and handed
//! back on drop. A connection that saw an error is discarded rather than reused, so a broken
//! PostgreSQL session never poisons later work.

use std::sync::{Condvar, Mutex};

use super::backend::{Conn, PgConn, SqliteConn};
use super::{Backend, Result, StoreError};

pub struct Pool {
    url: String,
    backend: Backend,
    size: usize,
    state: Mutex<State>,
    freed: Condvar,
}

struct State {
    idle: Vec<Box<dyn Conn>>,
    open: usize,
}

impl Pool {
    pub fn open(url: &str, size: usize) -> Result<Pool> {
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(url.to_string()));
        };
        let pool = Pool {
            url: url.to_string(),
            backend,
            size,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
        };
        // Open one connection now so a wrong URL or a down server is reported at start.
        let first = pool.connect()?;
        pool.lock().idle.push(first);
        pool.lock().open = 1;
        Ok(pool)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn connect(&self) -> Result<Box<dyn Conn>> {
        Ok(match self.backend {
            Backend::Sqlite => Box::new(SqliteConn::open(sqlite_path(&self.url))?),
            Backend::Postgres => Box::new(PgConn::open(&self.url)?),
        })
    }

    pub fn get(&self) -> Result<Pooled<'_>> {
        let mut state = self.lock();
        loop {
            if let Some(conn) = state.idle.pop() {
                return Ok(Pooled {
                    pool: self,
                    conn: Some(conn),
                });
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                return match self.connect() {
                    Ok(conn) => Ok(Pooled {
                        pool: self,
                        conn: Some(conn),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.freed.notify_one();
                        Err(e)
                    }
                };
            }
            state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// `sqlite://relaydesk.db` → `relaydesk.db`; `sqlite:///var/lib/x.db` → `/var/lib/x.db`.
pub fn sqlite_path(url: &str) -> &str {
    let rest = url.strip_prefix("sqlite:").unwrap_or(url);
    rest.strip_prefix("//").unwrap_or(rest)
}

pub struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Box<dyn Conn>>,
}

impl Pooled<'_> {
    pub fn as_mut(&mut self) -> &mut dyn Conn {
        self.conn
            .as_deref_mut()
            .expect("connection present until drop")
    }

    /// Drops the connection instead of returning it (after an error).
    pub fn discard(mut self) {
        self.conn = None;
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut state = self.pool.lock();
        match self.conn.take() {
            Some(conn) => state.idle.push(conn),
            None => state.open -= 1,
        }
        self.pool.freed.notify_one();
    }
}
