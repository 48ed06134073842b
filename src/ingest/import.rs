//! One-shot imports (`relaydesk ingest FILE...`): each file is read once, committed in batches
//! with its position, so an interrupted import resumes and a repeated one adds nothing.
//! Standard input (`-`) has no identity and is simply read to its end.

use std::collections::BTreeMap;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::files::{self, Fingerprint};
use super::pipeline::{Batch, Pipeline};
use super::writer::Writer;
use crate::config::Config;
use crate::store::{
    self,
    ingest::{FilePos, FileUpdate},
};

/// What an import did, printed at its end.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub files: u64,
    pub already_imported: u64,
    pub lines: u64,
    pub events: u64,
    pub skipped: u64,
    pub malformed: u64,
    pub by_kind: BTreeMap<&'static str, u64>,
    pub seconds: f64,
}

impl Summary {
    fn add(&mut self, batch: &Batch) {
        self.lines += batch.counts.lines as u64;
        self.events += batch.counts.events as u64;
        self.skipped += batch.counts.skipped as u64;
        self.malformed += batch.counts.malformed as u64;
        for (kind, n) in &batch.by_kind {
            *self.by_kind.entry(kind).or_default() += n;
        }
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = if self.seconds > 0.0 {
            self.lines as f64 / self.seconds
        } else {
            0.0
        };
        writeln!(
            f,
            "{} lines in {:.2} s ({:.0} lines/s) from {} file(s), {} already imported",
            self.lines, self.seconds, rate, self.files, self.already_imported
        )?;
        writeln!(
            f,
            "{} events, {} skipped (no event), {} malformed",
            self.events, self.skipped, self.malformed
        )?;
        for (kind, n) in &self.by_kind {
            writeln!(f, "  {kind:<18} {n}")?;
        }
        Ok(())
    }
}

/// Imports `paths` (`-` is standard input), showing progress on a terminal.
pub async fn run(
    paths: &[String],
    config: Arc<Config>,
    writer: &Writer,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut progress = Progress::new();
    for path in paths {
        summary.files += 1;
        if path == "-" {
            let open = || -> io::Result<Box<dyn BufRead>> { Ok(Box::new(io::stdin().lock())) };
            import_reader(
                open,
                "stdin",
                None,
                &config,
                writer,
                &mut summary,
                &mut progress,
            )
            .await?;
            continue;
        }
        let path = Path::new(path);
        let head = files::head(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let fp = Fingerprint::of(&head);
        let name = format!("import:{}", std::fs::canonicalize(path)?.display());
        let known = store::ingest::files(&mut writer.db().conn().await?, &name)
            .await?
            .into_iter()
            .filter(|f| {
                Fingerprint {
                    hash: f.fp_hash,
                    len: f.fp_len,
                }
                .matches(&head)
            })
            .max_by_key(|f| f.fp_len);
        if head.is_empty() || known.is_some_and(|f| f.done) {
            summary.already_imported += 1;
            continue;
        }
        // Resume an interrupted import of the same content.
        let start = known.map_or(0, |f| f.pos as u64);
        let owned = path.to_path_buf();
        let open = move || -> io::Result<Box<dyn BufRead>> {
            Ok(Box::new(files::open_at(&owned, start)?))
        };
        let file = Some((fp, known, start));
        import_reader(
            open,
            &name,
            file,
            &config,
            writer,
            &mut summary,
            &mut progress,
        )
        .await?;
    }
    progress.finish();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// A parsed batch ready to commit: its events, the correlation state after it, and how far
/// into the file it reaches.
struct Parsed {
    batch: Batch,
    state: String,
    offset: u64,
    eof: bool,
}

/// Reads and parses on a blocking thread while the previous batch commits, so parsing and the
/// database's writes overlap (two batches in flight at most).
async fn import_reader(
    open: impl FnOnce() -> io::Result<Box<dyn BufRead>> + Send + 'static,
    name: &str,
    file: Option<(Fingerprint, Option<FilePos>, u64)>,
    config: &Arc<Config>,
    writer: &Writer,
    summary: &mut Summary,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<io::Result<Parsed>>(1);
    let start = file.map_or(0, |(_, _, start)| start);
    let parse_config = config.clone();
    let reader_task = tokio::task::spawn_blocking(move || {
        let mut reader = match open() {
            Ok(r) => r,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let now = chrono::Utc::now().timestamp();
        let mut pipeline = Pipeline::new(&parse_config, now, "{}");
        let mut offset = start;
        loop {
            let mut batch = Batch::default();
            let read = files::read_lines(&mut reader, parse_config.ingest.batch_lines, true, |l| {
                pipeline.line(l, &mut batch)
            });
            let (consumed, count, eof) = match read {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            offset += consumed;
            if count == 0 && !eof {
                return;
            }
            let parsed = Parsed {
                batch,
                state: pipeline.correlator.save(),
                offset,
                eof,
            };
            // The committer stopped (a store error): stop reading.
            if tx.blocking_send(Ok(parsed)).is_err() || eof {
                return;
            }
        }
    });
    let mut previous = file.and_then(|(_, known, _)| known);
    while let Some(parsed) = rx.recv().await {
        let parsed = parsed?;
        let update = file.map(|(fp, _, _)| FileUpdate {
            previous,
            file: FilePos {
                fp_hash: fp.hash,
                fp_len: fp.len,
                pos: parsed.offset as i64,
                done: parsed.eof,
            },
        });
        writer
            .commit(name, &parsed.state, &parsed.batch, update)
            .await?;
        previous = update.map(|u| u.file);
        summary.add(&parsed.batch);
        progress.show(summary.lines, parsed.offset);
    }
    reader_task.await?;
    Ok(())
}

/// A one-line progress display on standard error, only when it is a terminal.
struct Progress {
    enabled: bool,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        let now = Instant::now();
        Progress {
            enabled: io::stderr().is_terminal(),
            started: now,
            last: now,
        }
    }

    fn show(&mut self, lines: u64, bytes: u64) {
        if !self.enabled || self.last.elapsed() < Duration::from_millis(300) {
            return;
        }
        self.last = Instant::now();
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let _ = write!(
            io::stderr(),
            "\r{lines} lines, {:.1} MB of this file, {:.0} lines/s   ",
            bytes as f64 / 1e6,
            lines as f64 / secs
        );
    }

    fn finish(&self) {
        if self.enabled {
            let _ = writeln!(io::stderr());
        }
    }
}
