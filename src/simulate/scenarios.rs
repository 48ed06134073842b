//! The staged scenarios beyond customers' own mistakes: outside relay attempts, an outside spam
//! burst, a stolen password relayed through (accepted: the grant rule cannot tell), and an
//! inbound newsletter burst that an abuse detector must not mistake for one. Once a local day
//! each, at fixed local times, in a whole-day simulation.

use std::net::Ipv4Addr;

use super::US;
use super::addresses::{PROBE_USERS, pick};
use super::customers::Kind;
use super::generator::{Gen, Intent};
use crate::domain::{ClientIp, Epoch, Service};

impl Gen {
    /// The daily schedule within [start, end): a spam burst at about 05:00, a theft between
    /// 01:00 and 03:00, a newsletter at about 07:00; each only if it fits whole.
    pub(super) fn daily_scenarios(&mut self, start: Epoch, end: Epoch, intents: &mut Vec<Intent>) {
        let (d0, _) = self.local(start);
        let (d1, _) = self.local(end);
        for day in d0..=d1 {
            let burst = self.at_local(day, 5 * 3600) + self.rng.i64(0..600);
            if burst >= start && burst + 1200 < end {
                let total = self.rng.usize(500..=2000);
                let span = self.rng.i64(600..=1200);
                self.spam_burst(burst, total, span, intents);
            }
            let sod = self.rng.i64(3600..3 * 3600);
            let theft = self.at_local(day, sod);
            if theft >= start && theft + 3600 < end && !self.customers.is_empty() {
                let msgs = self.rng.usize(300..600);
                self.stolen_password(theft, 3600, msgs, intents);
            }
            let news = self.at_local(day, 7 * 3600) + self.rng.i64(0..600);
            if news >= start && news + 600 < end {
                self.newsletter_burst(news, 400, 480);
            }
        }
    }

    /// A stray outside client trying to relay: spam, or a forged local sender.
    pub(super) fn outside_attempt(&mut self, t_us: i64, intents: &mut Vec<Intent>) {
        let ip = self.pools.outside();
        let sender = if self.rng.u8(..100) < 20 {
            format!(
                "{}{}@{}",
                pick(&mut self.rng, PROBE_USERS),
                self.rng.u32(100..1000),
                self.opts.domain
            )
        } else {
            self.spam_sender()
        };
        let n = self.rng.usize(1..4);
        let rcpts = (0..n)
            .map(|_| {
                let c = self.rng.bool();
                self.rcpt_out(c)
            })
            .collect();
        let helo = if self.rng.bool() {
            format!("[{ip}]")
        } else {
            "User".into()
        };
        intents.push(Intent {
            t_us,
            ip,
            sender,
            msgs: vec![rcpts],
            helo,
            login: None,
            smtp_auth: false,
        });
    }

    /// One outside IP making `total` rejected relay attempts to carriers over `span` seconds.
    pub(super) fn spam_burst(
        &mut self,
        t0: Epoch,
        total: usize,
        span: i64,
        intents: &mut Vec<Intent>,
    ) {
        let ip = self.pools.outside();
        self.spammer_ips.push(ip);
        let mut left = total;
        let sessions = total.div_ceil(10);
        let mut i = 0;
        while left > 0 {
            let n = self.rng.usize(1..=20).min(left);
            left -= n;
            let t_us = t0 * US + (span * US) * i as i64 / sessions as i64 + self.jitter(500);
            i += 1;
            let sender = self.spam_sender();
            let rcpts = (0..n).map(|_| self.rcpt_out(true)).collect();
            intents.push(Intent {
                t_us,
                ip,
                sender,
                msgs: vec![rcpts],
                helo: "User".into(),
                login: None,
                smtp_auth: false,
            });
        }
    }

    /// A thief logs in as a customer from `ip` every ~20 minutes and relays `msgs` messages.
    pub(super) fn stolen_password(
        &mut self,
        t0: Epoch,
        span: i64,
        msgs: usize,
        intents: &mut Vec<Intent>,
    ) {
        let candidates: Vec<usize> = (0..self.customers.len())
            .filter(|&i| self.customers[i].kind == Kind::Normal)
            .collect();
        let Some(&victim) = candidates.get(self.rng.usize(..candidates.len().max(1))) else {
            return;
        };
        let (login, addr) = (
            self.customers[victim].login.clone(),
            self.customers[victim].addr.clone(),
        );
        let ip = self.pools.outside();
        self.stolen.push(login.clone());
        self.thief_ips.push(ip);
        let mut t = t0;
        while t <= t0 + span {
            let t_us = t * US + self.jitter(900);
            self.login(t_us, &login, ip, Service::Pop3, true);
            t += 1200 - self.rng.i64(0..120);
        }
        for i in 0..msgs {
            let t_us =
                (t0 + 20) * US + (span - 30) * US * i as i64 / msgs as i64 + self.jitter(900);
            let sender = if self.rng.u8(..100) < 30 {
                addr.clone()
            } else {
                self.spam_sender()
            };
            let n = self.rng.usize(1..4);
            let rcpts = (0..n).map(|_| self.rcpt_out(true)).collect();
            intents.push(Intent {
                t_us,
                ip,
                sender,
                msgs: vec![rcpts],
                helo: "WIN-3K2LQ0".into(),
                login: Some(login.clone()),
                smtp_auth: false,
            });
        }
    }

    /// A list server delivering `msgs` messages to customers over `span` seconds.
    pub(super) fn newsletter_burst(&mut self, t0: Epoch, msgs: usize, span: i64) {
        if self.customers.is_empty() {
            return;
        }
        let ip: ClientIp = Ipv4Addr::new(198, 51, 100, 77).into();
        let mut order: Vec<usize> = (0..self.customers.len()).collect();
        self.rng.shuffle(&mut order);
        for i in 0..msgs {
            let t = t0 * US + span * US * i as i64 / msgs as i64 + self.jitter(300);
            let c = order[i % order.len()];
            self.inbound(
                t,
                "newsletter@lists.example.com",
                "lists.example.com",
                ip,
                c,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::addresses::CARRIER_DOMAINS;
    use super::super::tests::default_sim;
    use crate::domain::Epoch;
    use chrono::Timelike;

    #[test]
    fn spammer_burst_is_present() {
        let sim = default_sim();
        assert_eq!(sim.truth.spammer_ips.len(), 1);
        let ip = sim.truth.spammer_ips[0];
        let rs: Vec<_> = sim.truth.rejections.iter().filter(|r| r.ip == ip).collect();
        assert!((500..=2000).contains(&rs.len()), "{}", rs.len());
        assert!(rs.iter().all(|r| r.cause == "unknown_sender"));
        assert!(rs.iter().all(|r| {
            CARRIER_DOMAINS
                .iter()
                .any(|d| r.rcpt.ends_with(&format!("@{d}")))
        }));
        let span = rs.last().unwrap().at - rs[0].at;
        assert!(span <= 20 * 60, "{span}");
        let local = chrono::DateTime::from_timestamp(rs[0].at, 0)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Tokyo);
        assert_eq!(local.hour(), 5);
    }

    #[test]
    fn stolen_password_relays_through_grants() {
        let sim = default_sim();
        let (login, ip) = (&sim.truth.stolen_logins[0], sim.truth.thief_ips[0]);
        let logins = sim
            .lines
            .iter()
            .filter(|l| {
                l.text
                    .contains(&format!("user=<{login}>, method=PLAIN, rip={ip},"))
            })
            .count();
        assert!(logins >= 3, "{logins}");
        let client = format!("client=unknown[{ip}]");
        let accepted = sim
            .lines
            .iter()
            .filter(|l| l.text.ends_with(&client))
            .count();
        assert!(accepted >= 300, "{accepted}");
        assert!(!sim.truth.rejections.iter().any(|r| r.ip == ip));
    }

    #[test]
    fn inbound_newsletter_burst_is_present() {
        let sim = default_sim();
        let times: Vec<Epoch> = sim
            .lines
            .iter()
            .filter(|l| l.text.ends_with("client=lists.example.com[198.51.100.77]"))
            .map(|l| l.at)
            .collect();
        assert!(times.len() >= 300);
        assert!(times.last().unwrap() - times[0] <= 600);
    }
}
