//! Live mode for the demo: the simulated clock runs alongside the wall clock, lines are appended
//! to a file as they happen, and every chunk stages the failure scenarios a demo should show.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::customers::Kind;
use super::generator::{Gen, Intent};
use super::output::writeln_bytes;
use super::{SimOptions, US};
use crate::domain::Epoch;

/// Simulated seconds per live-mode chunk.
pub(super) const LIVE_CHUNK: i64 = 300;

/// Live mode for the demo: appends lines to `path` as they happen. The simulated clock starts at
/// the wall clock's now and runs `speed` times real time. Events are generated in chunks of five
/// simulated minutes; every chunk also stages some failure scenarios (send before receive,
/// expired window, changed IP, wrong password, IPv6/IPv4, outside attempts), and every sixth
/// chunk an outside burst and a stolen-password relay run. Returns when `stop` is set.
pub fn run_live(path: &Path, opts: &SimOptions, speed: f64, stop: &AtomicBool) -> io::Result<()> {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut o = opts.clone();
    o.start = now;
    let mut g = Gen::new(&o);
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let mut out = BufWriter::new(file);
    let real0 = Instant::now();
    let sim0 = now * US;
    let mut chunk = 0u64;
    loop {
        let cs = now + chunk as i64 * LIVE_CHUNK;
        for line in g.range(cs, cs + LIVE_CHUNK, Some(chunk)) {
            let t = line.at * US + i64::from(line.micros);
            let due = Duration::from_secs_f64((t - sim0).max(0) as f64 / 1e6 / speed);
            if !wait_until(&mut out, real0, due, stop)? {
                return Ok(());
            }
            writeln_bytes(&mut out, line.text.as_bytes())?;
        }
        out.flush()?;
        chunk += 1;
    }
}

/// Sleeps until `due` after `real0`; false (after a flush) once `stop` is set. Sleeps are capped
/// at 100 ms so a stop is noticed promptly, and `out` is flushed first so a reader following the
/// file sees every line that is due.
fn wait_until(
    out: &mut impl Write,
    real0: Instant,
    due: Duration,
    stop: &AtomicBool,
) -> io::Result<bool> {
    loop {
        if stop.load(Ordering::Relaxed) {
            out.flush()?;
            return Ok(false);
        }
        let el = real0.elapsed();
        if el >= due {
            return Ok(true);
        }
        out.flush()?;
        std::thread::sleep((due - el).min(Duration::from_millis(100)));
    }
}

impl Gen {
    /// Live mode: small staged failure scenarios around `t0`, so every cause shows within minutes
    /// rather than once a simulated day.
    pub(super) fn live_scenarios(&mut self, t0: Epoch, chunk: u64, intents: &mut Vec<Intent>) {
        if self.customers.is_empty() {
            return;
        }
        let w = self.opts.window;
        // A wrong password shows best for a customer with no good login around: a send-only one.
        let send_only: Vec<usize> = (0..self.customers.len())
            .filter(|&i| self.customers[i].kind == Kind::SendOnly)
            .collect();
        for k in 0..3u64 {
            let t = t0 + self.rng.i64(10..100) + k as i64 * 60;
            let t_us = t * US + self.jitter(900);
            let scenario = (chunk * 3 + k) % 6;
            let ci = if scenario == 3 && !send_only.is_empty() {
                send_only[self.rng.usize(..send_only.len())]
            } else {
                self.rng.usize(..self.customers.len())
            };
            let (login, addr, svc, helo) = {
                let c = &self.customers[ci];
                (c.login.clone(), c.addr.clone(), c.service, c.helo.clone())
            };
            let rcpts = vec![self.rcpt_out(false)];
            let mk = |t_us, ip| Intent {
                t_us,
                ip,
                sender: addr.clone(),
                msgs: vec![rcpts.clone()],
                helo: helo.clone(),
                login: Some(login.clone()),
                smtp_auth: false,
            };
            match scenario {
                // Send before receive: a fresh address with no login of its own yet.
                0 => {
                    let ip = self.pools.customer_v4();
                    intents.push(mk(t_us, ip));
                }
                // An expired window: sends long after the login.
                1 => {
                    let ip = self.pools.customer_v4();
                    self.login(t_us, &login, ip, svc, true);
                    intents.push(mk(t_us + (w + self.rng.i64(60..600)) * US, ip));
                }
                // A changed IP: logs in from one address, sends from another.
                2 => {
                    let a = self.pools.customer_v4();
                    let b = self.pools.customer_v4();
                    self.login(t_us, &login, a, svc, true);
                    intents.push(mk(t_us + self.rng.i64(20..180) * US, b));
                }
                // A wrong password, then a send.
                3 => {
                    let ip = self.pools.customer_v4();
                    self.login(t_us, &login, ip, svc, false);
                    intents.push(mk(t_us + self.rng.i64(8..30) * US, ip));
                }
                // Receives over IPv6, sends over IPv4.
                4 => {
                    let a = self.pools.customer_v6();
                    let b = self.pools.customer_v4();
                    self.login(t_us, &login, a, svc, true);
                    intents.push(mk(t_us + self.rng.i64(3..60) * US, b));
                }
                _ => self.outside_attempt(t_us, intents),
            }
        }
        if chunk.is_multiple_of(6) {
            self.spam_burst(t0 + 30, 150, 240, intents);
        }
        if chunk % 6 == 3 {
            self.stolen_password(t0 + 20, 240, 60, intents);
        }
        if chunk % 12 == 1 {
            self.newsletter_burst(t0 + 40, 300, 180);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn live_chunks_are_ordered_and_stage_every_scenario() {
        let opts = SimOptions {
            customers: 200,
            ..SimOptions::default()
        };
        let mut g = Gen::new(&opts);
        let mut all = Vec::new();
        for chunk in 0..13 {
            let cs = opts.start + 12 * 3600 + chunk as i64 * LIVE_CHUNK;
            let lines = g.range(cs, cs + LIVE_CHUNK, Some(chunk));
            assert!(lines.iter().all(|l| l.at >= cs && l.at < cs + LIVE_CHUNK));
            all.extend(lines);
        }
        assert!(
            all.windows(2)
                .all(|w| (w[0].at, w[0].micros) <= (w[1].at, w[1].micros))
        );
        let truth = g.truth();
        let causes: HashSet<&str> = truth.rejections.iter().map(|r| r.cause).collect();
        for c in [
            "ip_changed",
            "auth_failed",
            "expired",
            "never_checked",
            "unknown_sender",
        ] {
            assert!(causes.contains(c), "{c}: {causes:?}");
        }
        assert!(!causes.contains("authorized"));
        assert_eq!(truth.spammer_ips.len(), 3);
        assert_eq!(truth.thief_ips.len(), 2);
        // The live stream follows the same customers' habits: mail checks go on under the
        // staged scenarios (which weigh heavily in an hour of 200 customers at noon).
        let mix = &g.stats.mix;
        assert!(mix.mailbox_share() > 0.2, "{mix}");
        assert!(
            all.iter()
                .any(|l| l.text.contains("postfix/submission/smtpd"))
        );
    }

    #[test]
    fn live_mode_appends_and_stops() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("live.log");
        let stop = AtomicBool::new(false);
        let opts = SimOptions {
            customers: 50,
            ..SimOptions::default()
        };
        std::thread::scope(|s| {
            s.spawn(|| run_live(&path, &opts, 600.0, &stop).unwrap());
            std::thread::sleep(Duration::from_millis(1500));
            stop.store(true, Ordering::Relaxed);
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.lines().count() > 20, "{}", text.lines().count());
        assert!(text.contains("Relay access denied"));
    }
}
