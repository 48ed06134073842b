//! The files of a simulated day: `mail.log`, the truth as one JSON document for people and as
//! NDJSON for tools that stream (one rejection a line; one login's relays by method a line),
//! and the summary of what was written, with its mix of lines.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::{SimOptions, Summary, generate_with_stats};

/// Writes into `dir`: `mail.log`; `truth.json` (the `Truth`); `truth-rejections.ndjson` (its
/// `rejections`, one a line); `truth-relay-methods.ndjson` (its `relay_methods`, one login a
/// line: `{"login":"taro","pop_before_smtp":{"relays":12,"first":…,"last":…},"smtp_auth":{…}}`,
/// times as UTC epoch seconds); and `summary.json` (the `Summary`, with the mix of lines).
pub fn write_day(dir: &Path, opts: &SimOptions) -> io::Result<Summary> {
    std::fs::create_dir_all(dir)?;
    let (sim, stats) = generate_with_stats(opts);
    // A day is hundreds of thousands of short lines: a large buffer saves most write calls.
    let mut log = BufWriter::with_capacity(1 << 20, File::create(dir.join("mail.log"))?);
    for line in &sim.lines {
        writeln_bytes(&mut log, line.text.as_bytes())?;
    }
    log.flush()?;
    let mut tj = BufWriter::new(File::create(dir.join("truth.json"))?);
    serde_json::to_writer_pretty(&mut tj, &sim.truth)?;
    tj.write_all(b"\n")?;
    tj.flush()?;
    let mut nd = BufWriter::new(File::create(dir.join("truth-rejections.ndjson"))?);
    for r in &sim.truth.rejections {
        serde_json::to_writer(&mut nd, r)?;
        nd.write_all(b"\n")?;
    }
    nd.flush()?;
    let mut rm = BufWriter::new(File::create(dir.join("truth-relay-methods.ndjson"))?);
    for m in &sim.truth.relay_methods {
        serde_json::to_writer(&mut rm, m)?;
        rm.write_all(b"\n")?;
    }
    rm.flush()?;
    let mut causes = BTreeMap::new();
    for r in &sim.truth.rejections {
        *causes.entry(r.cause).or_insert(0) += 1;
    }
    let summary = Summary {
        lines: sim.lines.len(),
        first: sim.lines.first().map_or(opts.start, |l| l.at),
        last: sim.lines.last().map_or(opts.start, |l| l.at),
        customers: stats.customers,
        logins: stats.logins,
        failed_logins: stats.failed_logins,
        accepted_relays: stats.accepted_relays,
        smtp_auth_relays: sim
            .truth
            .relay_methods
            .iter()
            .map(|m| m.smtp_auth.relays)
            .sum(),
        smtp_auth_failures: stats.smtp_auth_failures,
        inbound_messages: stats.inbound,
        rejections: sim.truth.rejections.len(),
        causes,
        mix: stats.mix,
    };
    let mut sj = BufWriter::new(File::create(dir.join("summary.json"))?);
    serde_json::to_writer_pretty(&mut sj, &summary)?;
    sj.write_all(b"\n")?;
    sj.flush()?;
    Ok(summary)
}

/// Writes one log line and its newline (shared with live mode).
pub(super) fn writeln_bytes(out: &mut impl Write, text: &[u8]) -> io::Result<()> {
    out.write_all(text)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::super::tests::small;
    use super::*;

    #[test]
    fn write_day_writes_log_and_truth() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_day(dir.path(), &small()).unwrap();
        let log = std::fs::read_to_string(dir.path().join("mail.log")).unwrap();
        assert_eq!(log.lines().count(), s.lines);
        let nd = std::fs::read_to_string(dir.path().join("truth-rejections.ndjson")).unwrap();
        assert_eq!(nd.lines().count(), s.rejections);
        let truth: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("truth.json")).unwrap())
                .unwrap();
        assert_eq!(truth["customers"].as_array().unwrap().len(), 300);
    }

    /// `SIM_OUT=/tmp/day cargo test --release --lib simulate::output -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn dump_default_day() {
        let dir = std::env::var("SIM_OUT").unwrap_or_else(|_| "/tmp/relaydesk-sim".into());
        let mut opts = SimOptions::default();
        if let Ok(t) = std::env::var("SIM_TARGET") {
            opts.target_lines = t.parse().ok();
        }
        let t0 = std::time::Instant::now();
        let s = write_day(Path::new(&dir), &opts).unwrap();
        println!(
            "{} in {:?}",
            serde_json::to_string_pretty(&s).unwrap(),
            t0.elapsed()
        );
    }
}
