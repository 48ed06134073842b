//! The notices every page shows, held in memory: the customer `/` page is the busiest page there
//! is, and notices change a few times a month. The cache is dropped when staff change a notice
//! here, when another node announces a change (PostgreSQL NOTIFY, heard by serve's refresher),
//! and after a minute regardless (another process on the same SQLite file), then read again
//! with one query.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::domain::Epoch;
use crate::store::notices::{self, Notice, NoticeKind};
use crate::store::{self, Db};

/// How long a reading is trusted without a change announced.
const FRESH: Duration = Duration::from_secs(60);

/// Notices kept at most: the newest by publication time.
const KEPT: i64 = 1000;

/// When the notices were read, and what was read.
type Loaded = Option<(Instant, Arc<Vec<Notice>>)>;

#[derive(Clone)]
pub struct NoticeCache {
    db: Db,
    loaded: Arc<RwLock<Loaded>>,
}

impl NoticeCache {
    pub fn new(db: Db) -> Self {
        NoticeCache {
            db,
            loaded: Arc::default(),
        }
    }

    /// Forgets what was read; the next page reads the store again.
    pub fn invalidate(&self) {
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Every notice (published or scheduled), newest first.
    pub async fn all(&self) -> store::Result<Arc<Vec<Notice>>> {
        if let Some((at, list)) = &*self.loaded.read().unwrap_or_else(|e| e.into_inner())
            && at.elapsed() < FRESH
        {
            return Ok(list.clone());
        }
        let list = Arc::new(notices::list_all(&mut self.db.conn().await?, KEPT).await?);
        *self.loaded.write().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// Notices of `kind` (any kind when None) published by `now`, newest first, at most `limit`.
    pub async fn published(
        &self,
        now: Epoch,
        kind: Option<NoticeKind>,
        limit: usize,
    ) -> store::Result<Vec<Notice>> {
        Ok(self
            .all()
            .await?
            .iter()
            .filter(|n| n.published_at <= now && kind.is_none_or(|k| n.kind == k))
            .take(limit)
            .cloned()
            .collect())
    }

    /// Published incidents not yet over and maintenance not yet ended at `now`, soonest first
    /// (as `store::notices::open_events`).
    pub async fn open_events(&self, now: Epoch) -> store::Result<Vec<Notice>> {
        let mut open: Vec<Notice> = self
            .all()
            .await?
            .iter()
            .filter(|n| {
                n.published_at <= now
                    && matches!(n.kind, NoticeKind::Incident | NoticeKind::Maintenance)
                    && n.ends_at.is_none_or(|end| end > now)
                    && n.status.as_deref() != Some("resolved")
            })
            .cloned()
            .collect();
        open.sort_by_key(|n| (n.starts_at.unwrap_or(n.published_at), n.id));
        Ok(open)
    }
}
