//! The writer commits batches for every source of this process. It owns the open-session cache
//! (so logins coalesce across batches without a query) and tells listeners — the grant index,
//! the abuse detector — what was committed, after it is durable.

use std::sync::{Arc, Mutex};

use super::pipeline::Batch;
use crate::domain::Event;
use crate::store::ingest::{self, Commit, FileUpdate, OpenSessions};
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

    /// Commits `batch` for `source` atomically, with the correlation `state` after it and the
    /// position in the file it came from.
    pub fn commit(
        &self,
        source: &str,
        state: &str,
        batch: &Batch,
        file: Option<FileUpdate>,
    ) -> store::Result<()> {
        let commit = Commit {
            source,
            state,
            counts: batch.counts,
            file,
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
