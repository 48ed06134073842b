//! Unrelated traffic a real mail log is full of, so parsers and detectors meet it: cron jobs,
//! Postfix anvil statistics, scanners that connect and leave, and password guessing against
//! generic mailbox names.

use chrono::DateTime;

use super::US;
use super::addresses::{PROBE_USERS, pick};
use super::generator::Gen;
use super::mix::LineKind;
use super::postfix::Smtpd;
use crate::domain::{Epoch, Service};

impl Gen {
    /// All the noise of [start, end).
    pub(super) fn noise(&mut self, start: Epoch, end: Epoch) {
        let hours = ((end - start) as f64 / 3600.0).max(0.0);
        self.cron_and_anvil(start, end);
        let per_hour = (self.opts.customers as f64 / 20.0).max(4.0);
        for _ in 0..(per_hour * hours) as usize {
            self.scanner(start, end);
        }
        // Password guessing every few hours.
        let bursts = ((hours / 3.0).ceil() as usize).max(1);
        for _ in 0..bursts {
            let t0 = self.rng.i64(start * US..end * US);
            let ip = self.pools.outside();
            for k in 0..self.rng.i64(5..25) {
                let user = pick(&mut self.rng, PROBE_USERS);
                self.login(t0 + k * 4 * US, user, ip, Service::Pop3, false);
            }
        }
    }

    /// Cron every ten minutes on the clock, and anvil's statistics five minutes after.
    fn cron_and_anvil(&mut self, start: Epoch, end: Epoch) {
        let mut t = start + (600 - start.rem_euclid(600)) % 600;
        while t < end {
            let pid = self.rng.u32(10_000..60_000);
            let (j1, j2, j3) = (self.jitter(50), self.jitter(50), self.jitter(50));
            self.push(
                t * US + j1,
                LineKind::Noise,
                &format!("CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
            );
            self.push(
                t * US + 60_000 + j2,
                LineKind::Noise,
                &format!(
                    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"
                ),
            );
            self.push(
                t * US + 90_000 + j3,
                LineKind::Noise,
                &format!("CRON[{pid}]: pam_unix(cron:session): session closed for user root"),
            );
            if t + 300 < end {
                self.anvil(t + 300);
            }
            t += 600;
        }
    }

    /// anvil's three statistics lines about one of the regular correspondents.
    fn anvil(&mut self, at: Epoch) {
        let ip = self.in_senders[self.rng.usize(..self.in_senders.len())].ip;
        let off = self.offset(at);
        // anvil stamps its statistics in the old syslog style, local time.
        let stamp = DateTime::from_timestamp(at + i64::from(off), 0)
            .unwrap_or_default()
            .naive_utc()
            .format("%b %e %H:%M:%S")
            .to_string();
        let apid = 1200 + (at / 86400 % 500) as u32;
        let r = self.rng.u32(1..8);
        let j = self.jitter(100);
        let lines = [
            (
                j,
                format!("max connection rate {r}/60s for (smtp:{ip}) at {stamp}"),
            ),
            (
                200_000,
                format!(
                    "max connection count {} for (smtp:{ip}) at {stamp}",
                    r.min(3)
                ),
            ),
            (300_000, format!("max cache size {} at {stamp}", r + 2)),
        ];
        for (dt, stat) in lines {
            self.push(
                at * US + dt,
                LineKind::Noise,
                &format!("postfix/anvil[{apid}]: statistics: {stat}"),
            );
        }
    }

    /// A scanner at a random time: connects, then loses the connection after EHLO, fails SASL,
    /// or pokes IMAP without logging in.
    fn scanner(&mut self, start: Epoch, end: Epoch) {
        let t = self.rng.i64(start * US..end * US);
        let ip = self.pools.outside();
        let s = Smtpd {
            prog: "postfix/smtpd",
            pid: self.smtpd_pid(),
            client: format!("unknown[{ip}]"),
        };
        match self.rng.u8(..3) {
            0 => {
                let kind = LineKind::Noise;
                self.smtpd_connect(t, kind, &s);
                self.push(
                    t + 1_500_000,
                    kind,
                    &format!(
                        "{}[{}]: lost connection after EHLO from {}",
                        s.prog, s.pid, s.client
                    ),
                );
                self.smtpd_disconnect(t + 1_500_100, kind, &s, "ehlo=1 commands=1");
            }
            1 => {
                let kind = LineKind::SmtpAuthFailure;
                self.smtpd_connect(t, kind, &s);
                self.push(
                    t + 2_000_000,
                    kind,
                    &format!(
                        "{}[{}]: warning: {}: SASL LOGIN authentication failed: UGFzc3dvcmQ6",
                        s.prog, s.pid, s.client
                    ),
                );
                let counts = "ehlo=1 auth=0/1 rset=1 quit=1 commands=3/4";
                self.smtpd_disconnect(t + 2_100_000, kind, &s, counts);
                self.stats.smtp_auth_failures += 1;
            }
            _ => {
                let kind = LineKind::Noise;
                self.smtpd_connect(t, kind, &s);
                self.imap_no_auth(t + 900_000, ip);
                self.smtpd_disconnect(t + 1_000_000, kind, &s, "commands=0");
            }
        }
    }
}
