//! Following a log file and its rotations with exactly-once delivery.
//!
//! Every file of a source is known by its fingerprint (a hash of its first bytes), which
//! survives renaming, copying and compression, and has its own committed read position. Each
//! poll looks at the followed path and its rotated siblings, oldest first, and reads whatever
//! part of each it has not read yet; a rotated file read to its end is marked done. Because
//! each file's position is committed in the same transaction as the events read from it, no
//! order of rotations, restarts or `kill -9` can make a line count twice or not at all. A
//! rotated file still being written (its mtime is recent) is read but not yet marked done.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;

use super::files::{self, Fingerprint};
use super::pipeline::{Batch, Pipeline};
use super::writer::Writer;
use crate::config::Config;
use crate::store::{
    self,
    ingest::{FilePos, FileUpdate},
};

/// A rotated plain file modified more recently than this may still be written by a daemon that
/// has not reopened its log yet.
const QUIET: Duration = Duration::from_secs(2);

/// A followed path absent this long is reported; shorter gaps are a rename rotation at work.
const MISSING: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{0} changed while it was read; reading again")]
    Changed(PathBuf),
    #[error("{0} does not exist (waiting for it)")]
    Missing(PathBuf),
    #[error("cannot store events: {0}")]
    Store(#[from] store::StoreError),
    #[error("the reader of {0} failed")]
    Reader(PathBuf),
}

/// A file's head as last read, reused while its size and mtime stay the same.
struct CachedHead {
    len: u64,
    modified: Option<SystemTime>,
    head: Vec<u8>,
}

pub struct Follower {
    name: String,
    path: PathBuf,
    writer: Arc<Writer>,
    config: Arc<Config>,
    /// The committed positions of this source's files.
    files: Vec<FilePos>,
    /// The correlation state as last committed.
    state: String,
    /// The parser and correlator; lent to the reading thread while a batch is read (None
    /// only if that thread died, and then rebuilt from the committed state).
    pipeline: Option<Pipeline>,
    batch: Batch,
    heads: HashMap<PathBuf, CachedHead>,
    /// Since when the followed path has been absent.
    missing_since: Option<std::time::Instant>,
}

impl Follower {
    /// A follower for `path`, resuming from its stored positions.
    pub async fn new(path: &Path, config: Arc<Config>, writer: Arc<Writer>) -> store::Result<Self> {
        let name = path.to_string_lossy().into_owned();
        let (files, state) = load(&writer, &name).await?;
        let pipeline = Pipeline::new(&config, chrono::Utc::now().timestamp(), &state);
        Ok(Follower {
            name,
            path: path.to_path_buf(),
            writer,
            config,
            files,
            state,
            pipeline: Some(pipeline),
            batch: Batch::default(),
            heads: HashMap::new(),
            missing_since: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Reads and commits everything available now; returns the number of lines committed.
    pub async fn poll(&mut self) -> Result<u64, FollowError> {
        if let Some(p) = self.pipeline.as_mut() {
            p.parser.set_now(chrono::Utc::now().timestamp());
        }
        let result = self.scan().await;
        if result.is_err() {
            // Nothing past the committed positions counts: start again from them.
            self.heads.clear();
            if let Ok((files, state)) = load(&self.writer, &self.name).await {
                self.files = files;
                self.state = state;
            }
            let now = chrono::Utc::now().timestamp();
            self.pipeline = Some(Pipeline::new(&self.config, now, &self.state));
        }
        result
    }

    async fn scan(&mut self) -> Result<u64, FollowError> {
        let mut candidates = files::rotated_siblings(&self.path);
        candidates.push(self.path.clone());
        let mut total = 0;
        for path in candidates {
            let meta = match std::fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(FollowError::Read { path, source: e }),
            };
            let head = self.head(&path, &meta)?;
            // An empty file has nothing to read and nothing to recognize it by yet.
            if head.is_empty() {
                continue;
            }
            let known = self.known(&head);
            if known.is_some_and(|f| f.done) {
                continue;
            }
            let start = known.map_or(0, |f| f.pos as u64);
            let gz = files::is_gzip(&path);
            let rotated = path != self.path;
            if !gz && start >= meta.len() && !(rotated && quiet(&meta)) {
                continue;
            }
            let complete = rotated && (gz || quiet(&meta));
            let fp = Fingerprint::of(&head);
            total += self.drain(&path, known, fp, start, complete).await?;
        }
        if self.path.exists() {
            self.missing_since = None;
        } else {
            let since = *self
                .missing_since
                .get_or_insert_with(std::time::Instant::now);
            if since.elapsed() >= MISSING {
                return Err(FollowError::Missing(self.path.clone()));
            }
        }
        Ok(total)
    }

    fn head(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<Vec<u8>, FollowError> {
        let modified = meta.modified().ok();
        if let Some(c) = self.heads.get(path)
            && c.len == meta.len()
            && c.modified == modified
        {
            return Ok(c.head.clone());
        }
        let head = files::head(path).map_err(|e| FollowError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let cached = CachedHead {
            len: meta.len(),
            modified,
            head: head.clone(),
        };
        self.heads.insert(path.to_path_buf(), cached);
        Ok(head)
    }

    /// The committed position of the file whose first bytes are `head`.
    fn known(&self, head: &[u8]) -> Option<FilePos> {
        self.files
            .iter()
            .filter(|f| {
                Fingerprint {
                    hash: f.fp_hash,
                    len: f.fp_len,
                }
                .matches(head)
            })
            .max_by_key(|f| f.fp_len)
            .copied()
    }

    /// Reads `path` from `start`, committing batches. `complete` files are read to their very
    /// end (a last line without newline included) and marked done.
    async fn drain(
        &mut self,
        path: &Path,
        known: Option<FilePos>,
        fp: Fingerprint,
        start: u64,
        complete: bool,
    ) -> Result<u64, FollowError> {
        let read_err = |e| FollowError::Read {
            path: path.to_path_buf(),
            source: e,
        };
        let mut reader = Some(files::open_at(path, start).map_err(read_err)?);
        let mut previous = known;
        let mut offset = start;
        let mut total = 0u64;
        loop {
            let (consumed, count, eof) = self
                .read_batch(&mut reader, complete, path)
                .await?
                .map_err(read_err)?;
            offset += consumed;
            let done = complete && eof;
            if count == 0 && !done {
                return Ok(total);
            }
            // copytruncate may have emptied and refilled the file under the reader: what was
            // read then belongs to another file. The copy still has the real lines.
            if !complete && !files::head(path).is_ok_and(|h| fp.matches(&h)) {
                return Err(FollowError::Changed(path.to_path_buf()));
            }
            let file = FilePos {
                fp_hash: fp.hash,
                fp_len: fp.len,
                pos: offset as i64,
                done,
            };
            let state = self
                .pipeline
                .as_ref()
                .map(|p| p.correlator.save())
                .ok_or_else(|| FollowError::Reader(path.to_path_buf()))?;
            self.writer
                .commit(
                    &self.name,
                    &state,
                    &self.batch,
                    Some(FileUpdate { previous, file }),
                )
                .await?;
            self.remember(previous, file);
            self.state = state;
            previous = Some(file);
            total += count as u64;
            if eof {
                return Ok(total);
            }
        }
    }

    /// Reads and parses up to a batch of lines on a blocking thread (file reads and parsing
    /// would stall the runtime's workers, and with them the policy service).
    async fn read_batch(
        &mut self,
        reader: &mut Option<Box<dyn std::io::BufRead + Send>>,
        complete: bool,
        path: &Path,
    ) -> Result<io::Result<(u64, usize, bool)>, FollowError> {
        let lost = || FollowError::Reader(path.to_path_buf());
        let (mut r, mut pipeline) = reader.take().zip(self.pipeline.take()).ok_or_else(lost)?;
        let mut batch = std::mem::take(&mut self.batch);
        let max = self.config.ingest.batch_lines;
        let (r, pipeline, batch, read) = tokio::task::spawn_blocking(move || {
            batch.clear();
            let read = files::read_lines(&mut r, max, complete, |l| pipeline.line(l, &mut batch));
            (r, pipeline, batch, read)
        })
        .await
        .map_err(|_| lost())?;
        *reader = Some(r);
        self.pipeline = Some(pipeline);
        self.batch = batch;
        Ok(read)
    }

    fn remember(&mut self, previous: Option<FilePos>, file: FilePos) {
        if let Some(prev) = previous {
            self.files
                .retain(|f| (f.fp_hash, f.fp_len) != (prev.fp_hash, prev.fp_len));
        }
        self.files
            .retain(|f| (f.fp_hash, f.fp_len) != (file.fp_hash, file.fp_len));
        self.files.push(file);
    }

    /// Polls until `stop` turns true, reporting trouble once per change and retrying.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) -> io::Result<()> {
        let poll = Duration::from_millis(self.config.ingest.poll_ms);
        let mut last_error: Option<String> = None;
        let mut backoff = poll;
        while !*stop.borrow() {
            match self.poll().await {
                Err(FollowError::Changed(path)) => {
                    tracing::debug!(path = %path.display(), "file changed while read; reading again");
                    continue;
                }
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
                        if let Ok(mut c) = self.writer.db().conn().await {
                            let _ = store::ingest::set_source_error(&mut c, &self.name, &text, now)
                                .await;
                        }
                        last_error = Some(text);
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                changed = stop.changed() => {
                    // Nobody can tell this follower to stop any more: stop now.
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

fn quiet(meta: &std::fs::Metadata) -> bool {
    meta.modified()
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age >= QUIET)
}

async fn load(writer: &Writer, name: &str) -> store::Result<(Vec<FilePos>, String)> {
    let mut c = writer.db().conn().await?;
    let files = store::ingest::files(&mut c, name).await?;
    let state = store::ingest::source(&mut c, name)
        .await?
        .map(|s| s.state)
        .unwrap_or_default();
    Ok((files, state))
}
