//! A simulated ISP mail log with a known truth, for the demo (live mode), tests and benchmarks.
//!
//! The simulator models the mail server as well as its users: customers' mail programs poll
//! their mailboxes every 1 to 15 minutes while the PC is on (or, for some IMAP clients, stay
//! connected in IDLE), so mail checks dominate the log as on a real POP-before-SMTP service;
//! mail arrives for them, and they send. On port 25 the simulated server accepts a relay exactly
//! when the §6.1 grant rule allows it (a successful login from the client IP within the window),
//! and logs a `Relay access denied` rejection otherwise; some customers send by SMTP AUTH on the
//! submission port instead, some both ways. The expected §6.2 cause of every rejection is then
//! computed by a small reference evaluator over the logins actually logged, so the truth stays
//! right when scenarios overlap; the truth also counts each login's accepted relays by method.
//!
//! A day of the default size has about 47 % mailbox lines (23 % successful logins) and one
//! accepted relay per 15 lines; `Summary::mix` states the shares of the day written.
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
//! `customers` (accounts and their habits), `activity` (their checks and sends), `scenarios`
//! (outside abuse and inbound bursts), `noise` (unrelated traffic), `framing` (syslog framing,
//! ids, clock), `dovecot` and `postfix` (log lines per daemon), `mix` (lines per kind), `truth`
//! (the reference evaluator and the relay tally), `output` (files) and `live`.

mod activity;
mod addresses;
mod customers;
mod dovecot;
mod framing;
mod generator;
mod live;
mod mix;
mod noise;
mod output;
mod postfix;
mod scenarios;
pub mod showcase;
mod truth;

use std::collections::BTreeMap;

use chrono::TimeZone;
use serde::Serialize;

use crate::domain::{ClientIp, Epoch};
use generator::{Gen, Stats};

pub use live::run_live;
pub use mix::{LineKind, Mix};
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
    /// Choose the number of customers (instead of `customers`) so the period has about this
    /// many lines, in the same mix.
    pub target_lines: Option<usize>,
    /// The demo's scripted customers (`showcase`), whose state stays what the demo prints for
    /// as long as it runs; `Some(t)`: the demo went live at `t`.
    pub showcase: Option<Epoch>,
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
            showcase: None,
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
    /// Per login with at least one accepted relay, its relays by method, by login.
    pub relay_methods: Vec<RelayMethods>,
}

/// One login's accepted relays by how they were authorized. A relay is counted as the store
/// counts it: one per recipient outside `local_domains` delivered (`to=… status=sent`), so a
/// message to three people is three relays, timed by its `to=` line (whole seconds).
/// `pop_before_smtp` relays rode a grant from this login's mailbox login (for a stolen password,
/// the thief's relays count for the victim's login); `smtp_auth` relays authenticated as this
/// login (`sasl_username`) on the submission port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RelayMethods {
    pub login: String,
    pub pop_before_smtp: MethodCount,
    pub smtp_auth: MethodCount,
}

/// Accepted relays by one method: how many, and the first and last (null when none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MethodCount {
    pub relays: usize,
    pub first: Option<Epoch>,
    pub last: Option<Epoch>,
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

/// What `write_day` wrote (also written as `summary.json`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub lines: usize,
    pub first: Epoch,
    pub last: Epoch,
    /// The number of customers simulated (chosen by `target_lines` when it is set).
    pub customers: usize,
    pub logins: usize,
    pub failed_logins: usize,
    /// Accepted relays, counted as the store counts them (one per relayed recipient).
    pub accepted_relays: usize,
    /// Of which by SMTP AUTH.
    pub smtp_auth_relays: usize,
    pub smtp_auth_failures: usize,
    pub inbound_messages: usize,
    pub rejections: usize,
    pub causes: BTreeMap<&'static str, usize>,
    /// Lines per kind and their shares.
    pub mix: Mix,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines, {} customers: {} logins, {} failed logins, {} accepted relays \
             ({} by SMTP AUTH, one per {:.1} lines), {} SMTP AUTH failures, {} inbound messages, \
             {} relay rejections (",
            self.lines,
            self.customers,
            self.logins,
            self.failed_logins,
            self.accepted_relays,
            self.smtp_auth_relays,
            self.lines as f64 / self.accepted_relays.max(1) as f64,
            self.smtp_auth_failures,
            self.inbound_messages,
            self.rejections
        )?;
        for (i, (cause, n)) in self.causes.iter().enumerate() {
            write!(f, "{}{cause} {n}", if i > 0 { ", " } else { "" })?;
        }
        write!(f, ")\nmix: {}", self.mix)
    }
}

/// Generates a whole simulated period (`opts.start` for `opts.hours`), lines in time order.
pub fn generate(opts: &SimOptions) -> Simulation {
    generate_with_stats(opts).0
}

/// `generate`, plus the counts `write_day` summarizes (the truth alone does not have them) and
/// the options it ran with (`customers` as `target_lines` chose).
fn generate_with_stats(opts: &SimOptions) -> (Simulation, Stats) {
    let opts = sized(opts);
    let mut g = Gen::new(&opts);
    let end = opts.start + i64::from(opts.hours) * 3600;
    let lines = g.range(opts.start, end, None);
    let truth = g.truth();
    (Simulation { lines, truth }, g.stats)
}

/// `opts` with `customers` chosen for `target_lines`, if set. Lines grow linearly with the
/// customers, plus a fixed part (the staged scenarios, cron); two small pilot periods measure
/// both. A seed's first customers are the same whatever their number, and the habits that drive
/// the volume are spread evenly over them, so the estimate holds within a few per cent.
fn sized(opts: &SimOptions) -> SimOptions {
    let Some(target) = opts.target_lines else {
        return opts.clone();
    };
    let base = SimOptions {
        target_lines: None,
        ..opts.clone()
    };
    let lines = |customers| {
        let o = SimOptions {
            customers,
            ..base.clone()
        };
        let mut g = Gen::new(&o);
        let end = o.start + i64::from(o.hours) * 3600;
        g.range(o.start, end, None).len() as f64
    };
    let (a, b) = (PILOT / 2, PILOT);
    let (la, lb) = (lines(a), lines(b));
    let per = ((lb - la) / (b - a) as f64).max(1.0);
    let fixed = la - per * a as f64;
    let customers = ((target as f64 - fixed) / per).round().max(1.0) as usize;
    SimOptions { customers, ..base }
}

/// Customers of the larger pilot period `sized` runs.
const PILOT: usize = 600;

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

    /// The default day and its counts, generated once for all the tests that only read it.
    pub(super) fn default_day() -> &'static (Simulation, Stats) {
        static DAY: OnceLock<(Simulation, Stats)> = OnceLock::new();
        DAY.get_or_init(|| generate_with_stats(&SimOptions::default()))
    }

    pub(super) fn default_sim() -> &'static Simulation {
        &default_day().0
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
