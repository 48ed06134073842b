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
pub fn run(paths: &[String], config: Arc<Config>, writer: &Writer) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mut summary = Summary::default();
    let mut progress = Progress::new();
    for path in paths {
        summary.files += 1;
        if path == "-" {
            let stdin = io::stdin();
            let mut lock = stdin.lock();
            import_reader(
                &mut lock,
                "stdin",
                None,
                &config,
                writer,
                &mut summary,
                &mut progress,
            )?;
            continue;
        }
        let path = Path::new(path);
        let head = files::head(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let fp = Fingerprint::of(&head);
        let name = format!("import:{}", std::fs::canonicalize(path)?.display());
        let known = writer
            .db()
            .with(|c| store::ingest::files(c, &name))?
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
        let mut reader = files::open_at(path, start)?;
        let file = Some((fp, known, start));
        import_reader(
            &mut reader,
            &name,
            file,
            &config,
            writer,
            &mut summary,
            &mut progress,
        )?;
    }
    progress.finish();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

fn import_reader(
    reader: &mut dyn BufRead,
    name: &str,
    file: Option<(Fingerprint, Option<FilePos>, u64)>,
    config: &Arc<Config>,
    writer: &Writer,
    summary: &mut Summary,
    progress: &mut Progress,
) -> anyhow::Result<()> {
    let now = chrono::Utc::now().timestamp();
    let mut pipeline = Pipeline::new(config, now, "{}");
    let mut batch = Batch::default();
    let mut offset = file.map_or(0, |(_, _, start)| start);
    let mut previous = file.and_then(|(_, known, _)| known);
    loop {
        batch.clear();
        let (consumed, count, eof) =
            files::read_lines(reader, config.ingest.batch_lines, true, |l| {
                pipeline.line(l, &mut batch)
            })?;
        offset += consumed;
        if count == 0 && !eof {
            break;
        }
        let update = file.map(|(fp, _, _)| FileUpdate {
            previous,
            file: FilePos {
                fp_hash: fp.hash,
                fp_len: fp.len,
                pos: offset as i64,
                done: eof,
            },
        });
        writer.commit(name, &pipeline.correlator.save(), &batch, update)?;
        previous = update.map(|u| u.file);
        summary.add(&batch);
        progress.show(summary.lines, offset);
        if eof {
            break;
        }
    }
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
