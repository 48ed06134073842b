//! What customers do in a period: while their PC is on, a polling client checks mail on its
//! interval (a login and a logout each time) and now and then sends around a check; an IMAP
//! client that stays connected logs in once, sits in IDLE, reconnects now and then, and sends
//! whenever its user does. Sends go by POP before SMTP or SMTP AUTH, as the customer's client
//! is set up (`Relay`).

use super::US;
use super::customers::{Customer, Kind, Relay};
use super::dovecot::ImapEnd;
use super::generator::{Gen, Intent};
use crate::domain::{Epoch, Service};

/// Of SMTP AUTH sends, the share (per thousand) whose authentication fails first: a mistyped
/// or just-changed password, retyped and sent again a little later.
const AUTH_TYPO_PER_MILLE: u32 = 15;

impl Gen {
    /// Every customer's mailbox sessions in [start, end), and the sends they intend. In `live`
    /// mode a connected IMAP session may run past `end`; its later lines are carried over.
    pub(super) fn customer_activity(
        &mut self,
        start: Epoch,
        end: Epoch,
        live: bool,
        intents: &mut Vec<Intent>,
    ) {
        // Taken out so a customer can be changed while `self` generates its lines.
        let mut customers = std::mem::take(&mut self.customers);
        for c in &mut customers {
            if c.idle {
                self.stay_connected(c, start, end, live, intents);
                continue;
            }
            let mut t = start + (c.phase - start).rem_euclid(c.interval);
            while t < end {
                self.check(c, t, intents);
                t += c.interval;
            }
        }
        self.customers = customers;
    }

    /// One scheduled check at `t`, if the customer is online then: a login, maybe a send.
    fn check(&mut self, c: &mut Customer, t: Epoch, intents: &mut Vec<Intent>) {
        let (day, sod) = self.local(t);
        let Some(bi) = c.blocks.iter().position(|&(a, b)| sod >= a && sod < b) else {
            return;
        };
        let key = day * 8 + bi as i64;
        match c.kind {
            Kind::Mobile if key != c.cur_key => {
                c.cur_ip = self.pools.customer_v4();
                c.cur_key = key;
            }
            Kind::Dialup => c.cur_ip = self.pools.customer_v4(),
            _ => {}
        }
        let t_us = t * US + self.jitter(3000);
        if c.kind != Kind::SendOnly {
            let ip = if c.kind == Kind::DualV6 {
                c.home6
            } else {
                c.cur_ip
            };
            let ok = !(c.kind == Kind::BadPassword && sod >= c.bad_from);
            self.login(t_us, &c.login, ip, c.service, ok);
        }
        let p_send = c.sends_per_hour * c.interval as f64 / 3600.0;
        if self.rng.f64() < p_send {
            self.send(c, t_us, intents);
        }
    }

    /// An IMAP client that stays connected through each online period overlapping [start, end):
    /// sessions of 20 minutes to 2 hours (a NAT timeout or a network change drops them, and the
    /// client logs in again), sends at any time while connected.
    fn stay_connected(
        &mut self,
        c: &mut Customer,
        start: Epoch,
        end: Epoch,
        live: bool,
        intents: &mut Vec<Intent>,
    ) {
        let (d0, _) = self.local(start);
        let (d1, _) = self.local(end);
        for day in d0..=d1 {
            for bi in 0..c.blocks.len() {
                let (a, b) = c.blocks[bi];
                let (a, b) = (self.at_local(day, a), self.at_local(day, b));
                let from = a.max(c.idle_until).max(start);
                let to = if live { b } else { b.min(end) };
                if from >= end || from >= to {
                    continue;
                }
                let key = day * 8 + bi as i64;
                if c.kind == Kind::Mobile && key != c.cur_key {
                    c.cur_ip = self.pools.customer_v4();
                    c.cur_key = key;
                }
                self.connected(c, from, to, intents);
                c.idle_until = to;
            }
        }
    }

    /// The sessions of one online period [from, to).
    fn connected(&mut self, c: &Customer, from: Epoch, to: Epoch, intents: &mut Vec<Intent>) {
        let to_us = to * US;
        let mut t_us = from * US + self.jitter(20_000);
        while t_us < to_us {
            let len = self.rng.i64(20 * 60..=120 * 60) * US;
            let stop = (t_us + len).min(to_us);
            let s = self.login_ok(t_us, &c.login, c.cur_ip, Service::Imap);
            // Sends while connected: on average `sends_per_hour`.
            let expected = c.sends_per_hour * (stop - t_us) as f64 / 3600e6;
            let n = expected as usize + usize::from(self.rng.f64() < expected.fract());
            for _ in 0..n {
                let at = self.rng.i64(t_us + 30 * US..stop.max(t_us + 31 * US));
                self.send_now(c, at, intents);
            }
            let mails = self.rng.u32(0..4);
            let how = if stop < to_us || self.rng.u8(..100) < 40 {
                ImapEnd::IdleDropped
            } else {
                ImapEnd::LoggedOut
            };
            self.imap_end(stop, t_us, &c.login, &s, mails, how);
            t_us = stop + self.rng.i64(2..30) * US;
        }
    }

    /// A send around the check at `t_us`, timed and addressed as the customer's kind does.
    fn send(&mut self, c: &Customer, t_us: i64, intents: &mut Vec<Intent>) {
        let w = self.opts.window;
        let (send_us, ip) = match c.kind {
            // At least two whole seconds before the login, so never in the same second.
            Kind::SendFirst => (t_us - self.rng.i64(3..7) * US, c.cur_ip),
            Kind::Late => (t_us + self.rng.i64(w + 60..6 * w) * US, c.cur_ip),
            Kind::Dialup => (t_us + self.rng.i64(30..600) * US, self.pools.customer_v4()),
            Kind::DualV6 => (t_us + self.rng.i64(3..300) * US, c.cur_ip),
            _ => {
                let d = if self.rng.u8(..100) < 80 {
                    self.rng.i64(3..60)
                } else {
                    self.rng.i64(60..2400)
                };
                (t_us + d * US, c.cur_ip)
            }
        };
        let t_us = send_us + self.jitter(900);
        if matches!(c.kind, Kind::Normal | Kind::Mobile) {
            self.send_now(c, t_us, intents);
        } else {
            // One message to one to three people: the failure stories of the unusual kinds.
            let n = if self.rng.u8(..100) < 85 {
                1
            } else {
                self.rng.usize(2..4)
            };
            let rcpts = (0..n).map(|_| self.rcpt_out(false)).collect();
            intents.push(Intent {
                t_us,
                ip,
                sender: c.addr.clone(),
                msgs: vec![rcpts],
                helo: c.helo.clone(),
                login: Some(c.login.clone()),
                smtp_auth: false,
            });
        }
    }

    /// An ordinary customer's send at `t_us` from its current address: the outbox (mostly one
    /// message, to one or a few people), by the method its client uses.
    fn send_now(&mut self, c: &Customer, t_us: i64, intents: &mut Vec<Intent>) {
        let smtp_auth = match c.relay {
            Relay::PopBeforeSmtp => false,
            Relay::SmtpAuth => true,
            Relay::Mixed => self.rng.bool(),
        };
        let t_us = if smtp_auth && self.rng.u32(..1000) < AUTH_TYPO_PER_MILLE {
            self.smtp_auth_failed(t_us, c.cur_ip, &c.login);
            t_us + self.rng.i64(20..90) * US
        } else {
            t_us
        };
        let m = match self.rng.u8(..100) {
            0..80 => 1,
            80..94 => 2,
            _ => self.rng.usize(3..5),
        };
        let msgs = (0..m)
            .map(|_| {
                let k = match self.rng.u8(..100) {
                    0..55 => 1,
                    55..75 => 2,
                    75..92 => self.rng.usize(3..6),
                    _ => self.rng.usize(6..11),
                };
                (0..k).map(|_| self.rcpt_out(false)).collect()
            })
            .collect();
        intents.push(Intent {
            t_us,
            ip: c.cur_ip,
            sender: c.addr.clone(),
            msgs,
            helo: c.helo.clone(),
            login: Some(c.login.clone()),
            smtp_auth,
        });
    }
}
