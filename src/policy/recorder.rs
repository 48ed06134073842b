//! Records relay decisions without slowing them: the handler hands each one to a bounded
//! channel and moves on (when the channel is full the record is dropped and counted), and one
//! background task wakes on the first record, waits ~200 ms and writes what arrived in one
//! transaction. A decision is never delayed or changed by the database.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc::error::{TryRecvError, TrySendError};
use tokio::sync::mpsc::{Receiver, Sender};

use crate::store::Db;
use crate::store::decisions::{self, PolicyDecision};

/// Records waiting to be written, at most. At 30,000 decisions/s this is a few seconds of slack
/// for a slow disk.
pub const CAPACITY: usize = 100_000;

/// How long the writer gathers records before one transaction.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Most records in one transaction.
const MAX_BATCH: usize = 20_000;

/// The sending side; cheap to clone. When every clone is gone the writer flushes and ends.
#[derive(Clone)]
pub struct Recorder {
    tx: Sender<PolicyDecision>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// A recorder writing to `db` with room for `capacity` waiting records, and the writer task
    /// to run (it ends once every clone of the recorder is gone and the rest is written).
    pub fn start(
        db: Db,
        capacity: usize,
    ) -> (
        Recorder,
        impl Future<Output = std::io::Result<()>> + Send + 'static,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        let task = async move {
            write_loop(&db, rx, &lost).await;
            Ok(())
        };
        (Recorder { tx, dropped }, task)
    }

    /// Queues `decision` for writing; never blocks.
    pub fn record(&self, decision: PolicyDecision) {
        match self.tx.try_send(decision) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Closed(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records lost so far: the channel was full, or a batch could not be written.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

async fn write_loop(db: &Db, mut rx: Receiver<PolicyDecision>, lost: &AtomicU64) {
    let mut batch = Vec::new();
    // Wait only while idle: the first record wakes the writer, which then sleeps out the flush
    // interval and takes what arrived. One wake-up per flush, not one per decision: waiting with
    // a timeout made every `record` wake the writer, and at 80,000 decisions/s those wake-ups
    // cost the policy handlers more CPU than the writes (bench/policy). While the writer sleeps
    // it is not waiting on the channel, so `record` wakes nobody.
    while let Some(first) = rx.recv().await {
        batch.push(first);
        tokio::time::sleep(FLUSH_EVERY).await;
        let mut open = true;
        loop {
            match rx.try_recv() {
                Ok(d) => {
                    batch.push(d);
                    if batch.len() >= MAX_BATCH {
                        flush(db, &mut batch, lost).await;
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        flush(db, &mut batch, lost).await;
        if !open {
            break;
        }
    }
}

async fn flush(db: &Db, batch: &mut Vec<PolicyDecision>, lost: &AtomicU64) {
    if let Err(e) = write(db, batch).await {
        lost.fetch_add(batch.len() as u64, Ordering::Relaxed);
        tracing::warn!(error = %e, records = batch.len(), "policy decisions not recorded");
    }
    batch.clear();
}

async fn write(db: &Db, batch: &[PolicyDecision]) -> crate::store::Result<()> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    decisions::insert_many(&mut tx, batch).await?;
    tx.commit().await
}
