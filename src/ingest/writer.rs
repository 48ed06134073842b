//! The writer commits batches for every source of this process. It owns the open-session cache
//! (so logins coalesce across batches without a query) and tells listeners — the grant index,
//! the abuse detector — what was committed, after it is durable.

use std::sync::{Arc, Mutex};

use super::files::Fingerprint;
use super::pipeline::Batch;
use crate::domain::Event;
use crate::store::ingest::{self, Commit, OpenSessions, Position};
use crate::store::{self, Db};

pub type Listener = Arc<dyn Fn(&[Event]) + Send + Sync>;

pub struct Writer {
    db: Db,
    window: i64,
    open: Mutex<OpenSessions>,
    listeners: Mutex<Vec<Listener>>,
}

impl Writer {
    pub fn new(db: Db, window: i64) -> Self {
        Writer {
            db,
            window,
            open: Mutex::default(),
            listeners: Mutex::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Calls `listener` with the events of every later commit.
    pub fn subscribe(&self, listener: Listener) {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    /// Commits `batch` for `source` at `position`, atomically. `done` names a rotated file
    /// that this batch read to its end.
    pub fn commit(
        &self,
        source: &str,
        position: &Position,
        batch: &Batch,
        done: Option<Fingerprint>,
    ) -> store::Result<()> {
        let commit = Commit {
            source,
            position,
            counts: batch.counts,
            done_file: done.map(|f| (f.hash, f.len)),
            events: &batch.events,
            now: chrono::Utc::now().timestamp(),
        };
        {
            let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
            self.db
                .with(|conn| ingest::commit(conn, self.window, &mut open, &commit))?;
        }
        if !batch.events.is_empty() {
            let listeners = self
                .listeners
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            for listener in listeners {
                listener(&batch.events);
            }
        }
        Ok(())
    }
}
