//! The customers: their accounts, mail clients and online habits (`Kind`), and what they do in
//! a period: check mail on their client's interval while online, and now and then send.

use std::collections::HashSet;

use super::addresses::{FAMILY, GIVEN, Pools, pick};
use super::generator::{Gen, Intent};
use super::{SimOptions, US};
use crate::domain::{ClientIp, Epoch, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Normal,
    /// Send/Receive sends first (Outlook Express order).
    SendFirst,
    /// Composes offline and sends long after the last check.
    Late,
    /// Dial-up that hangs up after send/receive: a new address for every connection.
    Dialup,
    /// Receives over IPv6, sends over IPv4.
    DualV6,
    /// The client holds a wrong (old) password from some time of day on.
    BadPassword,
    /// A send-only client: never checks mail.
    SendOnly,
    /// A new address for every online period (mobile, CGNAT).
    Mobile,
}

pub(super) struct Customer {
    pub(super) login: String,
    pub(super) addr: String,
    pub(super) service: Service,
    /// Seconds between mail checks.
    interval: i64,
    phase: i64,
    /// Online periods, local seconds of the day, [start, end).
    blocks: Vec<(i64, i64)>,
    pub(super) kind: Kind,
    home6: ClientIp,
    pub(super) helo: String,
    cur_ip: ClientIp,
    /// The online period `cur_ip` belongs to (mobile customers change address per period).
    cur_key: i64,
    /// Local second of the day from which a `BadPassword` client fails.
    bad_from: i64,
    /// Chance of sending at a check.
    p_send: f64,
}

/// Customer `i`. Every ~100 customers have one of each unusual kind, and every tenth is mobile.
/// The draws happen in a fixed order, so the same seed gives the same customers.
pub(super) fn new_customer(
    i: usize,
    opts: &SimOptions,
    rng: &mut fastrand::Rng,
    pools: &mut Pools,
    taken: &mut HashSet<String>,
) -> Customer {
    let mut name = login_name(i, rng);
    if taken.contains(&name) {
        name = format!("u{i:05}");
    }
    taken.insert(name.clone());
    let addr = format!("{name}@{}", opts.domain);
    // Some customers log in with their full address.
    let login = if i % 33 == 10 {
        addr.clone()
    } else {
        name.clone()
    };
    let kind = match (i % 100, i % 10) {
        (1, _) => Kind::SendFirst,
        (2, _) => Kind::Late,
        (3, _) => Kind::Dialup,
        (4, _) => Kind::DualV6,
        (5, _) => Kind::BadPassword,
        (6, _) => Kind::SendOnly,
        (_, 7) => Kind::Mobile,
        _ => Kind::Normal,
    };
    let service = if rng.f64() < 0.7 {
        Service::Pop3
    } else {
        Service::Imap
    };
    let interval = check_interval(kind, rng);
    let blocks = online_blocks(kind, rng);
    let bad_from = if rng.bool() {
        0
    } else {
        blocks[0].0 + (blocks[0].1 - blocks[0].0) / 3
    };
    let home = pools.customer_v4();
    let home6 = pools.customer_v6();
    let helo = helo_name(&name, rng);
    let p_send = if kind == Kind::Normal || kind == Kind::Mobile {
        0.08
    } else {
        0.25
    };
    Customer {
        login,
        addr,
        service,
        interval,
        phase: rng.i64(0..interval),
        blocks,
        kind,
        home6,
        helo,
        cur_ip: home,
        cur_key: i64::MIN,
        bad_from,
        p_send,
    }
}

/// The first two are taro and hanako; then 40 % look like people's names.
fn login_name(i: usize, rng: &mut fastrand::Rng) -> String {
    if let Some(&g) = GIVEN.get(i).filter(|_| i < 2) {
        g.to_string()
    } else if rng.f64() < 0.4 {
        let g = pick(rng, GIVEN);
        let f = pick(rng, FAMILY);
        match rng.u8(..5) {
            0 => g.to_string(),
            1 => format!("{g}.{f}"),
            2 => format!("{g}_{f}"),
            3 => format!("{}{f}", &g[..1]),
            _ => format!("{g}{}", rng.u32(1..100)),
        }
    } else {
        format!("u{i:05}")
    }
}

/// Seconds between mail checks: mostly 10 to 30 minutes.
fn check_interval(kind: Kind, rng: &mut fastrand::Rng) -> i64 {
    let minutes = match kind {
        Kind::SendOnly => 60,
        Kind::Dialup => [30, 60][rng.usize(..2)],
        _ => match rng.u32(..100) {
            0..15 => 5,
            15..40 => 10,
            40..65 => 15,
            65..90 => 30,
            _ => 60,
        },
    };
    minutes * 60
}

/// Online periods: always on for a few, else some of morning, daytime and evening.
fn online_blocks(kind: Kind, rng: &mut fastrand::Rng) -> Vec<(i64, i64)> {
    let mut blocks = Vec::new();
    if rng.f64() < 0.1 && kind == Kind::Normal {
        blocks.push((0, 86400));
        return blocks;
    }
    if rng.f64() < 0.35 {
        let s = rng.i64(6 * 60..8 * 60);
        blocks.push((s * 60, (s + rng.i64(30..120)) * 60));
    }
    if rng.f64() < 0.35 {
        let s = rng.i64(9 * 60..13 * 60);
        blocks.push((s * 60, (s + rng.i64(60..360)) * 60));
    }
    if blocks.is_empty() || rng.f64() < 0.7 {
        let s = rng.i64(18 * 60..22 * 60);
        blocks.push((s * 60, (s + rng.i64(60..300)).min(24 * 60) * 60));
    }
    blocks
}

/// The HELO name a customer's client announces.
fn helo_name(name: &str, rng: &mut fastrand::Rng) -> String {
    match rng.u8(..5) {
        0 => format!("{}-PC", name.split(['.', '_']).next().unwrap_or("my")),
        1 => format!("DESKTOP-{:07X}", rng.u32(..0x0FFF_FFFF)),
        2 => "[192.168.1.10]".to_string(),
        3 => "iPhone".to_string(),
        _ => format!("LAPTOP-{:06X}", rng.u32(..0x00FF_FFFF)),
    }
}

impl Gen {
    /// Every customer's checks in [start, end), and the sends they intend.
    pub(super) fn customer_activity(
        &mut self,
        start: Epoch,
        end: Epoch,
        intents: &mut Vec<Intent>,
    ) {
        // Taken out so a customer can be changed while `self` generates its lines.
        let mut customers = std::mem::take(&mut self.customers);
        for c in &mut customers {
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
        if self.rng.f64() < c.p_send {
            self.send(c, t_us, intents);
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
        let n = if self.rng.u8(..100) < 85 {
            1
        } else {
            self.rng.usize(2..4)
        };
        let rcpts = (0..n).map(|_| self.rcpt_out(false)).collect();
        intents.push(Intent {
            t_us: send_us + self.jitter(900),
            ip,
            sender: c.addr.clone(),
            rcpts,
            helo: c.helo.clone(),
        });
    }
}
