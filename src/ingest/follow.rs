//! Following a log file and its rotations with exactly-once delivery.
//!
//! The committed position names a file by fingerprint (a hash of its first bytes) and an offset
//! into it. Each poll takes the fast path — the followed path still starts with the committed
//! fingerprint and is not shorter than the offset — or else looks for the committed file among
//! the rotated siblings (renamed, copied by copytruncate, or compressed while relaydesk was
//! down), reads it to its end, then reads every newer file not yet done, oldest first. Rotated
//! files read to their end are remembered as done in the same transaction, so none is read
//! twice. A rotated file still being written (its mtime is recent) is drained but not left.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use super::files::{self, Fingerprint};
use super::pipeline::{Batch, Pipeline};
use super::writer::Writer;
use crate::config::Config;
use crate::store::{self, ingest::Position};

/// A rotated plain file modified more recently than this may still be written by a daemon that
/// has not reopened its log yet.
const QUIET: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot store events: {0}")]
    Store(#[from] store::StoreError),
}

pub struct Follower {
    name: String,
    path: PathBuf,
    writer: Arc<Writer>,
    config: Arc<Config>,
    committed: Position,
    pipeline: Pipeline,
    batch: Batch,
}

impl Follower {
    /// A follower for `path`, resuming from its stored position.
    pub fn new(path: &Path, config: Arc<Config>, writer: Arc<Writer>) -> store::Result<Self> {
        let name = path.to_string_lossy().into_owned();
        Self::named(name, path, config, writer)
    }

    pub fn named(
        name: String,
        path: &Path,
        config: Arc<Config>,
        writer: Arc<Writer>,
    ) -> store::Result<Self> {
        let committed = writer
            .db()
            .with(|c| store::ingest::source(c, &name))?
            .map(|s| s.position)
            .unwrap_or_default();
        let now = chrono::Utc::now().timestamp();
        let pipeline = Pipeline::new(&config, now, &committed.state);
        Ok(Follower {
            name,
            path: path.to_path_buf(),
            writer,
            config,
            committed,
            pipeline,
            batch: Batch::default(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads and commits everything available now; returns the number of lines committed.
    pub fn poll(&mut self) -> Result<u64, FollowError> {
        self.pipeline.parser.set_now(chrono::Utc::now().timestamp());
        let result = self.poll_inner();
        if result.is_err() {
            // Nothing past the committed position happened: re-read it next time.
            let now = chrono::Utc::now().timestamp();
            self.pipeline = Pipeline::new(&self.config, now, &self.committed.state);
        }
        result
    }

    fn poll_inner(&mut self) -> Result<u64, FollowError> {
        let current = match files::head(&self.path) {
            Ok(head) => Some(head),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(FollowError::Read {
                    path: self.path.clone(),
                    source: e,
                });
            }
        };
        if let Some(head) = &current {
            let committed = Fingerprint {
                hash: self.committed.fp_hash,
                len: self.committed.fp_len,
            };
            let len = std::fs::metadata(&self.path).map(|m| m.len()).unwrap_or(0);
            if committed.matches(head) && len >= self.committed.pos as u64 {
                let path = self.path.clone();
                return self.drain(
                    &path,
                    self.committed.pos as u64,
                    Fingerprint::of(head),
                    false,
                );
            }
        }
        self.catch_up(current.is_some())
    }

    /// The slow path: the committed file is not (or no longer) the followed path.
    fn catch_up(&mut self, current_exists: bool) -> Result<u64, FollowError> {
        let done: Vec<Fingerprint> = self
            .writer
            .db()
            .with(|c| store::ingest::files_done(c, &self.name))?
            .into_iter()
            .map(|(hash, len)| Fingerprint { hash, len })
            .collect();
        let mut candidates = files::rotated_siblings(&self.path);
        if current_exists {
            candidates.push(self.path.clone());
        }
        let mut total = 0;
        for path in candidates {
            let head = match files::head(&path) {
                Ok(head) => head,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(FollowError::Read { path, source: e }),
            };
            // An empty file has nothing to read and nothing to recognize it by yet.
            if head.is_empty() || done.iter().any(|d| d.matches(&head)) {
                continue;
            }
            let committed = Fingerprint {
                hash: self.committed.fp_hash,
                len: self.committed.fp_len,
            };
            let start = if committed.matches(&head) {
                self.committed.pos as u64
            } else {
                0
            };
            let fp = Fingerprint::of(&head);
            if path == self.path {
                total += self.drain(&path, start, fp, false)?;
            } else if files::is_gzip(&path) || quiet(&path) {
                total += self.drain(&path, start, fp, true)?;
            } else {
                // Still being written after its rename: keep reading it, move on later.
                total += self.drain(&path, start, fp, false)?;
                break;
            }
        }
        Ok(total)
    }

    /// Reads `path` from `start`, committing batches. `complete` files are read to their very
    /// end (a last line without newline included) and recorded as done.
    fn drain(
        &mut self,
        path: &Path,
        start: u64,
        fp: Fingerprint,
        complete: bool,
    ) -> Result<u64, FollowError> {
        let read_err = |e| FollowError::Read {
            path: path.to_path_buf(),
            source: e,
        };
        let mut reader = files::open_at(path, start).map_err(read_err)?;
        let mut offset = start;
        let mut total = 0u64;
        let batch_lines = self.config.ingest.batch_lines;
        loop {
            self.batch.clear();
            let pipeline = &mut self.pipeline;
            let batch = &mut self.batch;
            let (consumed, count, eof) =
                files::read_lines(&mut reader, batch_lines, complete, |l| {
                    pipeline.line(l, batch)
                })
                .map_err(read_err)?;
            offset += consumed;
            let finished = complete && eof;
            if count == 0 && !finished {
                return Ok(total);
            }
            let position = Position {
                fp_hash: fp.hash,
                fp_len: fp.len,
                pos: offset as i64,
                state: self.pipeline.correlator.save(),
            };
            self.writer
                .commit(&self.name, &position, &self.batch, finished.then_some(fp))?;
            self.committed = position;
            total += count as u64;
            if eof {
                return Ok(total);
            }
        }
    }

    /// Polls until `stop` is set, reporting trouble once per change and retrying.
    pub fn run(mut self, stop: &AtomicBool) {
        let poll = Duration::from_millis(self.config.ingest.poll_ms);
        let mut last_error: Option<String> = None;
        let mut backoff = poll;
        while !stop.load(Ordering::Relaxed) {
            match self.poll() {
                Ok(_) => {
                    if last_error.take().is_some() {
                        tracing::info!(source = %self.name, "source recovered");
                    }
                    backoff = poll;
                }
                Err(e) => {
                    let text = e.to_string();
                    if last_error.as_deref() != Some(&text) {
                        tracing::warn!(source = %self.name, error = %text, "follower paused; retrying");
                        let now = chrono::Utc::now().timestamp();
                        // Best effort: the database itself may be what failed.
                        let _ = self
                            .writer
                            .db()
                            .with(|c| store::ingest::set_source_error(c, &self.name, &text, now));
                        last_error = Some(text);
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            sleep_unless_stopped(backoff, stop);
        }
    }
}

fn quiet(path: &Path) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= QUIET)
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let step = Duration::from_millis(20);
    let mut slept = Duration::ZERO;
    while slept < total && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(step.min(total - slept));
        slept += step;
    }
}
