//! The writer commits batches for every source of this process. It owns the open-session cache
//! (so logins coalesce across batches without a query) and tells listeners — the grant index,
//! the abuse detector — what was committed, after it is durable.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use super::pipeline::Batch;
use crate::domain::Event;
use crate::store::ingest::{self, Commit, FileUpdate, OpenSessions};
use crate::store::{self, Db};

/// Work a listener wants done after a commit, such as storing the alerts a batch raised.
pub type FollowUp = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Hears each committed batch: reacts at once (in memory), and may hand back follow-up work,
/// which the committer awaits before its next batch.
pub type Listener = Arc<dyn Fn(&[Event]) -> Option<FollowUp> + Send + Sync>;

pub struct Writer {
    db: Db,
    window: i64,
    /// Held across a commit: one batch at a time, in order, shares the cache.
    open: tokio::sync::Mutex<OpenSessions>,
    listeners: Mutex<Vec<Listener>>,
}

impl Writer {
    pub fn new(db: Db, window: i64) -> Self {
        Writer {
            db,
            window,
            open: tokio::sync::Mutex::default(),
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
    pub async fn commit(
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
            let mut open = self.open.lock().await;
            let mut conn = self.db.conn().await?;
            ingest::commit(&mut conn, self.window, &mut open, &commit).await?;
        }
        self.db.written();
        if !batch.events.is_empty() {
            let listeners = self
                .listeners
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            let follow_ups: Vec<FollowUp> = listeners
                .iter()
                .filter_map(|listener| listener(&batch.events))
                .collect();
            for work in follow_ups {
                work.await;
            }
        }
        Ok(())
    }
}
