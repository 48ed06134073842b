//! The customers: their accounts, mail clients and online habits (`Kind`, how often the client
//! polls or whether it stays connected, when the PC is on), and how they relay (`Relay`). What
//! they do in a period is in `activity`.
//!
//! The habits that drive the volume of the log (poll interval, always-on PCs) are spread over
//! the customers by a low-discrepancy sequence rather than drawn, so any number of customers has
//! nearly the same make-up and the size of a day grows in proportion to them.

use std::collections::HashSet;

use super::SimOptions;
use super::addresses::{FAMILY, GIVEN, Pools, pick};
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

/// How a customer's client relays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relay {
    /// On port 25, relying on the grant of its mail check.
    PopBeforeSmtp,
    /// SMTP AUTH on the submission port.
    SmtpAuth,
    /// Both: a PC set up for POP before SMTP, a phone or laptop with SMTP AUTH.
    Mixed,
}

pub(super) struct Customer {
    pub(super) login: String,
    pub(super) addr: String,
    pub(super) service: Service,
    /// Seconds between mail checks.
    pub(super) interval: i64,
    pub(super) phase: i64,
    /// An IMAP client that stays connected (IDLE) rather than polling.
    pub(super) idle: bool,
    /// The time up to which this customer's IDLE sessions are generated (live mode asks for
    /// chunk after chunk, and a session runs across them).
    pub(super) idle_until: Epoch,
    /// Online periods, local seconds of the day, [start, end).
    pub(super) blocks: Vec<(i64, i64)>,
    pub(super) kind: Kind,
    pub(super) relay: Relay,
    pub(super) home6: ClientIp,
    pub(super) helo: String,
    pub(super) cur_ip: ClientIp,
    /// The online period `cur_ip` belongs to (mobile customers change address per period).
    pub(super) cur_key: i64,
    /// Local second of the day from which a `BadPassword` client fails.
    pub(super) bad_from: i64,
    /// Messages sent per online hour.
    pub(super) sends_per_hour: f64,
}

/// The `i`-th element of a low-discrepancy sequence in [0, 1) for the irrational step `step`.
fn spread(i: usize, step: f64) -> f64 {
    ((i as f64 + 0.5) * step).fract()
}

/// Steps of the sequences: the golden ratio and the plastic number's conjugates.
const STEP_INTERVAL: f64 = 0.618_033_988_749_895;
const STEP_ALWAYS_ON: f64 = 0.754_877_666_246_693;

/// Customer `i`. Every ~100 customers have one of each unusual kind, and every tenth is mobile.
/// The draws happen in a fixed order, so the same seed gives the same customers, and customer
/// `i` is the same whatever the number of customers.
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
    // Half the IMAP clients stay connected; the unusual kinds poll, as their stories need.
    let ordinary = matches!(kind, Kind::Normal | Kind::Mobile);
    let idle = service == Service::Imap && rng.bool() && ordinary;
    let interval = check_interval(i, kind, rng);
    let blocks = online_blocks(i, kind, rng);
    let bad_from = if rng.bool() {
        0
    } else {
        blocks[0].0 + (blocks[0].1 - blocks[0].0) / 3
    };
    let home = pools.customer_v4();
    let home6 = pools.customer_v6();
    let helo = helo_name(&name, rng);
    let relay = relay_method(ordinary, idle, rng.f64());
    let sends_per_hour = if ordinary {
        // Most send a few messages an evening; a few send all day.
        0.29 + 2.85 * rng.f64().powi(3)
    } else {
        // The unusual kinds send at one check in four: their failures must show in a day.
        0.25 * 3600.0 / interval as f64
    };
    Customer {
        login,
        addr,
        service,
        interval,
        phase: rng.i64(0..interval),
        idle,
        idle_until: Epoch::MIN,
        blocks,
        kind,
        relay,
        home6,
        helo,
        cur_ip: home,
        cur_key: i64::MIN,
        bad_from,
        sends_per_hour,
    }
}

/// The unusual kinds relay by POP before SMTP (their failures are its failures). Of the others,
/// most pollers do too; clients that stay connected mostly use SMTP AUTH, since a grant from
/// one login an hour ago has long expired when they send.
fn relay_method(ordinary: bool, idle: bool, u: f64) -> Relay {
    let (pbs, auth) = match (ordinary, idle) {
        (false, _) => (1.0, 0.0),
        (true, false) => (0.72, 0.18),
        (true, true) => (0.15, 0.65),
    };
    if u < pbs {
        Relay::PopBeforeSmtp
    } else if u < pbs + auth {
        Relay::SmtpAuth
    } else {
        Relay::Mixed
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

/// Seconds between mail checks. Mail programs poll every 1 to 15 minutes, each customer at
/// its own setting; the unusual kinds check by hand or seldom, as their stories need.
fn check_interval(i: usize, kind: Kind, rng: &mut fastrand::Rng) -> i64 {
    let minutes = match kind {
        Kind::SendOnly => 60,
        Kind::Dialup => [30, 60][rng.usize(..2)],
        Kind::SendFirst | Kind::Late => [30, 45, 60, 90][rng.usize(..4)],
        Kind::BadPassword => [5, 10, 15][rng.usize(..3)],
        Kind::Normal | Kind::Mobile | Kind::DualV6 => match spread(i, STEP_INTERVAL) {
            u if u < 0.04 => 1,
            u if u < 0.18 => 3,
            u if u < 0.50 => 5,
            u if u < 0.82 => 10,
            _ => 15,
        },
    };
    minutes * 60
}

/// Online periods: always on for some, else some of morning, daytime and evening (most in the
/// evening, few at night).
fn online_blocks(i: usize, kind: Kind, rng: &mut fastrand::Rng) -> Vec<(i64, i64)> {
    let mut blocks = Vec::new();
    if spread(i, STEP_ALWAYS_ON) < 0.1 && kind == Kind::Normal {
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
