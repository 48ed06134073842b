//! A simulated ISP mail log with a known truth, for the demo (live mode), tests and benchmarks.
//!
//! The simulator models the mail server as well as its users: customers poll their mailboxes
//! (POP3 or IMAP) and send mail; the simulated server accepts a relay exactly when the §6.1 grant
//! rule allows it (a successful login from the client IP within the window), and logs a
//! `Relay access denied` rejection otherwise. The expected §6.2 cause of every rejection is then
//! computed by a small reference evaluator over the logins actually logged, so the truth stays
//! right when scenarios overlap.
//!
//! Address plan (documentation and shared ranges only): customers live in 203.0.113.0/24, then
//! 100.64.0.0/10 (CGNAT-shaped) and 2001:db8:1000::/36; outsiders (abusers, scanners, thieves)
//! in 198.18.0.0/15; other mail servers in 198.51.100.0/24 and 192.0.2.0/24; the server itself
//! is 192.0.2.25 / 2001:db8::25.
//!
//! Times of truth records are whole seconds (the log line's timestamp, truncated).
//!
//! This file holds the public API; the submodules, in the order a period is generated:
//! `generator` (the state and the per-period plan), `addresses` (names and address pools),
//! `customers` (accounts and their habits), `scenarios` (outside abuse and inbound bursts),
//! `noise` (unrelated traffic), `framing` (syslog framing, ids, clock), `dovecot` and `postfix`
//! (log lines per daemon), `truth` (the reference evaluator), `output` (files) and `live`.

mod addresses;
mod customers;
mod dovecot;
mod framing;
mod generator;
mod live;
mod noise;
mod output;
mod postfix;
mod scenarios;
mod truth;

use std::collections::BTreeMap;

use chrono::TimeZone;
use serde::Serialize;

use crate::domain::{ClientIp, Epoch};
use generator::{Gen, Stats};

pub use live::run_live;
pub use output::write_day;

/// Microseconds per second: line times are kept in microseconds.
const US: i64 = 1_000_000;

/// Options of a simulation.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub seed: u64,
    /// Number of customer accounts.
    pub customers: usize,
    /// UTC epoch of the simulated period's start.
    pub start: Epoch,
    /// Length of the simulated period in hours.
    pub hours: u32,
    /// Relay window W in seconds.
    pub window: i64,
    /// Diagnosis lookback L in seconds.
    pub lookback: i64,
    /// Customer and local mail domain.
    pub domain: String,
    /// Zone of the framed local times.
    pub tz: chrono_tz::Tz,
    /// Host name in the syslog framing.
    pub host: String,
    /// Scale background inbound mail so the period has about this many lines.
    pub target_lines: Option<usize>,
}

impl Default for SimOptions {
    fn default() -> Self {
        let tz = chrono_tz::Asia::Tokyo;
        let start = tz
            .with_ymd_and_hms(2026, 3, 13, 0, 0, 0)
            .single()
            .map(|d| d.timestamp())
            .unwrap_or(1_773_327_600);
        SimOptions {
            seed: 1,
            customers: 2000,
            start,
            hours: 24,
            window: 1800,
            lookback: 86400,
            domain: "example.jp".into(),
            tz,
            host: "mail".into(),
            target_lines: None,
        }
    }
}

/// One framed log line (no trailing newline). `at` is whole UTC seconds, `micros` the fraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimLine {
    pub at: Epoch,
    pub micros: u32,
    pub text: String,
}

/// A simulated period: lines in time order, and what is true about them.
#[derive(Debug, Clone)]
pub struct Simulation {
    pub lines: Vec<SimLine>,
    pub truth: Truth,
}

/// What a correct diagnosis and abuse detector should find in the simulated log.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Truth {
    /// Every relay rejection logged, in time order, with its expected §6.2 cause.
    pub rejections: Vec<TruthRejection>,
    /// Outside burst sources (hundreds of rejected relay attempts).
    pub spammer_ips: Vec<ClientIp>,
    /// Logins whose password was stolen and relayed through.
    pub stolen_logins: Vec<String>,
    /// Addresses the thieves logged in and relayed from.
    pub thief_ips: Vec<ClientIp>,
    /// All customer logins.
    pub customers: Vec<String>,
}

/// One logged relay rejection and its expected cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TruthRejection {
    pub at: Epoch,
    pub ip: ClientIp,
    pub sender: String,
    pub rcpt: String,
    /// The owner login u of the sender, if any.
    pub login: Option<String>,
    pub cause: &'static str,
}

/// What `write_day` wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub lines: usize,
    pub first: Epoch,
    pub last: Epoch,
    pub logins: usize,
    pub failed_logins: usize,
    pub accepted_relays: usize,
    pub inbound_messages: usize,
    pub rejections: usize,
    pub causes: BTreeMap<&'static str, usize>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines: {} logins, {} failed logins, {} accepted relays, {} inbound messages, \
             {} relay rejections (",
            self.lines,
            self.logins,
            self.failed_logins,
            self.accepted_relays,
            self.inbound_messages,
            self.rejections
        )?;
        for (i, (cause, n)) in self.causes.iter().enumerate() {
            write!(f, "{}{cause} {n}", if i > 0 { ", " } else { "" })?;
        }
        f.write_str(")")
    }
}

/// Generates a whole simulated period (`opts.start` for `opts.hours`), lines in time order.
pub fn generate(opts: &SimOptions) -> Simulation {
    generate_with_stats(opts).0
}

/// `generate`, plus the counts `write_day` summarizes (the truth alone does not have them).
fn generate_with_stats(opts: &SimOptions) -> (Simulation, Stats) {
    let mut g = Gen::new(opts);
    let end = opts.start + i64::from(opts.hours) * 3600;
    let lines = g.range(opts.start, end, None);
    let truth = g.truth();
    (Simulation { lines, truth }, g.stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    pub(super) fn small() -> SimOptions {
        SimOptions {
            customers: 300,
            hours: 8,
            seed: 7,
            ..SimOptions::default()
        }
    }

    /// The default day, generated once for all the tests that only read it.
    pub(super) fn default_sim() -> &'static Simulation {
        static SIM: OnceLock<Simulation> = OnceLock::new();
        SIM.get_or_init(|| generate(&SimOptions::default()))
    }

    #[test]
    fn same_seed_same_output() {
        let a = generate(&small());
        let b = generate(&small());
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.truth.rejections, b.truth.rejections);
        let c = generate(&SimOptions { seed: 8, ..small() });
        assert_ne!(a.lines, c.lines);
    }

    #[test]
    fn lines_are_time_ordered_and_framed() {
        let sim = default_sim();
        for w in sim.lines.windows(2) {
            assert!((w[0].at, w[0].micros) <= (w[1].at, w[1].micros));
            assert!(
                w[0].text[..26] <= w[1].text[..26],
                "{} / {}",
                w[0].text,
                w[1].text
            );
        }
        let first = &sim.lines[0].text;
        assert!(first.starts_with("2026-03-13T00:"), "{first}");
        assert_eq!(&first[26..33], "+09:00 ");
        assert!(sim.lines.iter().all(|l| !l.text.contains('\n')));
    }

    #[test]
    fn default_day_size() {
        let n = default_sim().lines.len();
        assert!((300_000..=1_500_000).contains(&n), "{n} lines");
    }

    #[test]
    fn every_truth_rejection_is_logged() {
        let sim = default_sim();
        let mut logged: HashMap<_, usize> = HashMap::new();
        for l in &sim.lines {
            if let Some(i) = l.text.find("Relay access denied; from=<") {
                let rest = &l.text[i + 27..];
                let (sender, rest) = rest.split_once("> to=<").unwrap();
                let rcpt = rest.split_once('>').unwrap().0;
                let ip = l.text.split_once("RCPT from ").unwrap().1;
                let ip = &ip[ip.find('[').unwrap() + 1..ip.find("]:").unwrap()];
                *logged
                    .entry((l.at, ip.to_string(), sender.to_string(), rcpt.to_string()))
                    .or_default() += 1;
            }
        }
        assert_eq!(logged.values().sum::<usize>(), sim.truth.rejections.len());
        for r in &sim.truth.rejections {
            let n = logged.get_mut(&(r.at, r.ip.to_string(), r.sender.clone(), r.rcpt.clone()));
            let n = n.unwrap_or_else(|| panic!("not logged: {r:?}"));
            assert!(*n > 0, "{r:?}");
            *n -= 1;
        }
    }

    #[test]
    fn target_lines_scales_the_day() {
        let opts = SimOptions {
            customers: 200,
            hours: 24,
            target_lines: Some(200_000),
            ..SimOptions::default()
        };
        let n = generate(&opts).lines.len();
        assert!((190_000..=210_000).contains(&n), "{n}");
    }
}
