//! Records relay decisions without slowing them: the handler hands each one to a bounded
//! channel and moves on (when the channel is full the record is dropped and counted), and one
//! background thread writes what arrived in one transaction every ~200 ms. A decision is never
//! delayed or changed by the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::store::decisions::{self, PolicyDecision};
use crate::store::{self, Db};

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
    tx: SyncSender<PolicyDecision>,
    dropped: Arc<AtomicU64>,
}

impl Recorder {
    /// Starts the writer thread on `db`, with room for `capacity` waiting records.
    pub fn start(db: Db, capacity: usize) -> std::io::Result<(Recorder, JoinHandle<()>)> {
        let (tx, rx) = std::sync::mpsc::sync_channel(capacity.max(1));
        let dropped = Arc::new(AtomicU64::new(0));
        let lost = dropped.clone();
        let handle = std::thread::Builder::new()
            .name("policy recorder".into())
            .spawn(move || write_loop(&db, &rx, &lost))?;
        Ok((Recorder { tx, dropped }, handle))
    }

    /// Queues `decision` for writing; never blocks.
    pub fn record(&self, decision: PolicyDecision) {
        match self.tx.try_send(decision) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records lost so far: the channel was full, or a batch could not be written.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

fn write_loop(db: &Db, rx: &Receiver<PolicyDecision>, lost: &AtomicU64) {
    let mut batch = Vec::new();
    // Wait for a first record, gather for FLUSH_EVERY, write; until every sender is gone.
    while let Ok(first) = rx.recv() {
        batch.push(first);
        let deadline = Instant::now() + FLUSH_EVERY;
        let mut open = true;
        while batch.len() < MAX_BATCH {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(d) => batch.push(d),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        flush(db, &mut batch, lost);
        if !open {
            break;
        }
    }
}

fn flush(db: &Db, batch: &mut Vec<PolicyDecision>, lost: &AtomicU64) {
    let result = db.with(|conn| store::transaction(conn, |tx| decisions::insert_many(tx, batch)));
    if let Err(e) = result {
        lost.fetch_add(batch.len() as u64, Ordering::Relaxed);
        tracing::warn!(error = %e, records = batch.len(), "policy decisions not recorded");
    }
    batch.clear();
}
