//! Records relay decisions without slowing them: the handler hands each one to a bounded
//! channel and moves on (when the channel is full the record is dropped and counted), and one
//! background thread wakes on the first record, waits ~200 ms and writes what arrived in one
//! transaction. A decision is never delayed or changed by the database.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::Duration;

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
    // Block only while idle: the first record wakes the writer, which then sleeps out the flush
    // interval and takes what arrived. One wake-up per flush, not one per decision: waiting in
    // `recv_timeout` made every `record` wake this thread, and at 80,000 decisions/s those
    // wake-ups cost the policy handlers more CPU than the writes (bench/policy).
    while let Ok(first) = rx.recv() {
        batch.push(first);
        std::thread::sleep(FLUSH_EVERY);
        let mut open = true;
        loop {
            match rx.try_recv() {
                Ok(d) => {
                    batch.push(d);
                    if batch.len() >= MAX_BATCH {
                        flush(db, &mut batch, lost);
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
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
