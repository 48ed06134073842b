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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};
use serde::Serialize;

use crate::domain::{ClientIp, Epoch, Service};

const US: i64 = 1_000_000;
const LIP4: &str = "192.0.2.25";
const LIP6: &str = "2001:db8::25";
/// Simulated minutes per live-mode chunk.
const LIVE_CHUNK: i64 = 300;

/// The carrier domains spam in the simulation is aimed at: today's six main ones.
const CARRIER_DOMAINS: &[&str] = &crate::domain::CARRIER_DOMAINS_CURRENT;

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

fn generate_with_stats(opts: &SimOptions) -> (Simulation, Stats) {
    let mut g = Gen::new(opts);
    let end = opts.start + i64::from(opts.hours) * 3600;
    let lines = g.range(opts.start, end, None);
    let truth = g.truth();
    (Simulation { lines, truth }, g.stats)
}

/// Writes `mail.log`, `truth.json` (the Truth) and `truth-rejections.ndjson` into `dir`.
pub fn write_day(dir: &Path, opts: &SimOptions) -> io::Result<Summary> {
    std::fs::create_dir_all(dir)?;
    let (sim, stats) = generate_with_stats(opts);
    let mut log = BufWriter::with_capacity(1 << 20, File::create(dir.join("mail.log"))?);
    for line in &sim.lines {
        log.write_all(line.text.as_bytes())?;
        log.write_all(b"\n")?;
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
    let mut causes = BTreeMap::new();
    for r in &sim.truth.rejections {
        *causes.entry(r.cause).or_insert(0) += 1;
    }
    Ok(Summary {
        lines: sim.lines.len(),
        first: sim.lines.first().map_or(opts.start, |l| l.at),
        last: sim.lines.last().map_or(opts.start, |l| l.at),
        logins: stats.logins,
        failed_logins: stats.failed_logins,
        accepted_relays: stats.accepted_relays,
        inbound_messages: stats.inbound,
        rejections: sim.truth.rejections.len(),
        causes,
    })
}

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
        let lines = g.range(cs, cs + LIVE_CHUNK, Some(chunk));
        for line in lines {
            let t = line.at * US + i64::from(line.micros);
            let due = Duration::from_secs_f64((t - sim0).max(0) as f64 / 1e6 / speed);
            loop {
                if stop.load(Ordering::Relaxed) {
                    out.flush()?;
                    return Ok(());
                }
                let el = real0.elapsed();
                if el >= due {
                    break;
                }
                out.flush()?;
                std::thread::sleep((due - el).min(Duration::from_millis(100)));
            }
            out.write_all(line.text.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        chunk += 1;
    }
}

// ---------------------------------------------------------------------------------------------
// Model

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
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

struct Customer {
    login: String,
    addr: String,
    service: Service,
    interval: i64,
    phase: i64,
    /// Online periods, local seconds of the day, [start, end).
    blocks: Vec<(i64, i64)>,
    kind: Kind,
    home6: ClientIp,
    helo: String,
    cur_ip: ClientIp,
    cur_key: i64,
    bad_from: i64,
    p_send: f64,
}

struct Intent {
    t_us: i64,
    ip: ClientIp,
    sender: String,
    rcpts: Vec<String>,
    helo: String,
}

#[derive(Default)]
struct History {
    ok_ip: HashMap<ClientIp, Vec<Epoch>>,
    ok_user: HashMap<String, Vec<(Epoch, ClientIp)>>,
    fail_ip: HashMap<ClientIp, Vec<Epoch>>,
    fail_user: HashMap<String, Vec<Epoch>>,
    known: HashSet<String>,
}

fn any_in(v: Option<&Vec<Epoch>>, a: Epoch, b: Epoch) -> bool {
    v.is_some_and(|v| {
        let i = v.partition_point(|&t| t < a);
        i < v.len() && v[i] <= b
    })
}

impl History {
    fn success(&mut self, t: Epoch, user: &str, ip: ClientIp) {
        self.ok_ip.entry(ip).or_default().push(t);
        self.ok_user
            .entry(user.to_string())
            .or_default()
            .push((t, ip));
        if !self.known.contains(user) {
            self.known.insert(user.to_string());
        }
    }

    fn failure(&mut self, t: Epoch, user: &str, ip: ClientIp) {
        self.fail_ip.entry(ip).or_default().push(t);
        self.fail_user.entry(user.to_string()).or_default().push(t);
        if !self.known.contains(user) {
            self.known.insert(user.to_string());
        }
    }

    fn sort(&mut self) {
        self.ok_ip.values_mut().for_each(|v| v.sort_unstable());
        self.ok_user.values_mut().for_each(|v| v.sort_unstable());
        self.fail_ip.values_mut().for_each(|v| v.sort_unstable());
        self.fail_user.values_mut().for_each(|v| v.sort_unstable());
    }

    fn prune(&mut self, before: Epoch) {
        self.ok_ip.retain(|_, v| {
            v.retain(|&t| t >= before);
            !v.is_empty()
        });
        self.ok_user.retain(|_, v| {
            v.retain(|&(t, _)| t >= before);
            !v.is_empty()
        });
        self.fail_ip.retain(|_, v| {
            v.retain(|&t| t >= before);
            !v.is_empty()
        });
        self.fail_user.retain(|_, v| {
            v.retain(|&t| t >= before);
            !v.is_empty()
        });
    }

    fn authorized(&self, ip: ClientIp, t: Epoch, w: Epoch) -> bool {
        any_in(self.ok_ip.get(&ip), t - w, t)
    }

    /// The §6.2 reference evaluator: (owner login, cause).
    fn diagnose(
        &self,
        t: Epoch,
        ip: ClientIp,
        sender: &str,
        domain: &str,
        w: i64,
        l: i64,
    ) -> (Option<String>, &'static str) {
        let owner = match sender.rsplit_once('@') {
            Some((local, d)) if d.eq_ignore_ascii_case(domain) => {
                if self.known.contains(sender) {
                    Some(sender.to_string())
                } else {
                    Some(local.to_string())
                }
            }
            _ => None,
        };
        let a = t - w;
        if any_in(self.ok_ip.get(&ip), a, t) {
            return (owner, "authorized");
        }
        let user_ok = owner.as_ref().and_then(|u| self.ok_user.get(u));
        let user_ok_in: Vec<&(Epoch, ClientIp)> = user_ok
            .map(|v| {
                let i = v.partition_point(|&(x, _)| x < a);
                v[i..].iter().take_while(|&&(x, _)| x <= t).collect()
            })
            .unwrap_or_default();
        if user_ok_in.iter().any(|&&(_, other)| other != ip) {
            return (owner, "ip_changed");
        }
        let failed = owner
            .as_ref()
            .is_some_and(|u| any_in(self.fail_user.get(u), a, t))
            || any_in(self.fail_ip.get(&ip), a, t);
        if failed && user_ok_in.is_empty() {
            return (owner, "auth_failed");
        }
        if let Some(v) = self.ok_ip.get(&ip) {
            let i = v.partition_point(|&x| x < t - l);
            if i < v.len() && v[i] < a {
                return (owner, "expired");
            }
        }
        if owner.is_some() {
            return (owner, "never_checked");
        }
        (None, "unknown_sender")
    }
}

#[derive(Default, Clone, Copy)]
struct Stats {
    logins: usize,
    failed_logins: usize,
    accepted_relays: usize,
    inbound: usize,
}

struct Pools {
    v4: u64,
    v6: u64,
    outside: u64,
}

impl Pools {
    fn customer_v4(&mut self) -> ClientIp {
        let c = self.v4;
        self.v4 += 1;
        if c < 250 {
            return Ipv4Addr::new(203, 0, 113, c as u8 + 1).into();
        }
        let i = c - 250 + 1;
        let x = (i.wrapping_mul(2_654_435_761) & ((1 << 22) - 1)) as u32;
        Ipv4Addr::from(0x6440_0000 | x).into()
    }

    fn customer_v6(&mut self) -> ClientIp {
        let c = self.v6;
        self.v6 += 1;
        let iid = c.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Ipv6Addr::new(
            0x2001,
            0x0db8,
            0x1000 | ((c >> 16) & 0x0fff) as u16,
            (c & 0xffff) as u16,
            (iid >> 48) as u16 | 0x0200,
            (iid >> 32) as u16,
            (iid >> 16) as u16,
            iid as u16 | 1,
        )
        .into()
    }

    fn outside(&mut self) -> ClientIp {
        self.outside += 1;
        let x = (self.outside.wrapping_mul(40_503) & ((1 << 17) - 1)) as u32;
        Ipv4Addr::from(0xC612_0000 | x).into()
    }
}

const GIVEN: &[&str] = &[
    "taro", "hanako", "ichiro", "jiro", "saburo", "yuki", "akiko", "kenji", "sakura", "hiroshi",
    "yumi", "takeshi", "naoko", "satoshi", "keiko", "makoto", "emi", "daisuke", "mai", "shota",
    "aoi", "ren", "haruto", "yui", "sota", "riko", "kaito", "mio", "yuto", "hina",
];
const FAMILY: &[&str] = &[
    "sato",
    "suzuki",
    "takahashi",
    "tanaka",
    "watanabe",
    "ito",
    "yamamoto",
    "nakamura",
    "kobayashi",
    "kato",
    "yoshida",
    "yamada",
    "sasaki",
    "yamaguchi",
    "matsumoto",
    "inoue",
    "kimura",
    "hayashi",
    "shimizu",
    "mori",
];
const OUT_DOMAINS: &[(&str, u32)] = &[
    ("example.net", 30),
    ("example.com", 30),
    ("example.org", 25),
    ("docomo.ne.jp", 5),
    ("ezweb.ne.jp", 4),
    ("softbank.ne.jp", 3),
    ("i.softbank.jp", 2),
    ("au.com", 2),
    ("ymobile.ne.jp", 1),
];
const SPAM_WORDS: &[&str] = &[
    "deai", "lucky", "bonus", "cash", "club", "love", "win", "free", "gold", "star", "happy",
    "mega", "info", "net", "mail", "kiss", "angel", "vip", "promo", "sale",
];
const TLDS: &[&str] = &["com", "net", "info", "biz", "xyz", "top", "ru", "cn"];
const PROBE_USERS: &[&str] = &[
    "admin",
    "test",
    "info",
    "user",
    "support",
    "webmaster",
    "postmaster",
    "sales",
    "guest",
];

struct InSender {
    sender: String,
    host: String,
    ip: ClientIp,
}

fn host_of(ip: ClientIp) -> String {
    match ip.addr() {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            if o[3] % 3 == 0 || o[0] == 198 {
                "unknown".into()
            } else {
                format!("p{}{:03}{:03}-dyn.example.ne.jp", o[1], o[2], o[3])
            }
        }
        std::net::IpAddr::V6(_) => "unknown".into(),
    }
}

struct Gen {
    opts: SimOptions,
    rng: fastrand::Rng,
    customers: Vec<Customer>,
    pools: Pools,
    out: Vec<SimLine>,
    hist: History,
    pending: Vec<Intent>,
    /// Live mode: lines of flows that run past the end of a chunk, for the next one.
    carry: Vec<SimLine>,
    rejections: Vec<(Epoch, ClientIp, String, String)>,
    qid: u64,
    mpid: u32,
    offsets: HashMap<i64, i32>,
    qmgr_pid: u32,
    cleanup_pids: [u32; 3],
    smtp_pids: [u32; 4],
    lmtp_pids: [u32; 2],
    in_senders: Vec<InSender>,
    spammer_ips: Vec<ClientIp>,
    stolen: Vec<String>,
    thief_ips: Vec<ClientIp>,
    stats: Stats,
}

impl Gen {
    fn new(opts: &SimOptions) -> Gen {
        let mut rng = fastrand::Rng::with_seed(opts.seed);
        let mut pools = Pools {
            v4: 0,
            v6: 0,
            outside: 0,
        };
        let mut customers = Vec::with_capacity(opts.customers);
        let mut taken = HashSet::new();
        let intervals = [5i64, 10, 15, 30, 60];
        for i in 0..opts.customers {
            let mut name = if let Some(&g) = GIVEN.get(i).filter(|_| i < 2) {
                g.to_string()
            } else if rng.f64() < 0.4 {
                let g = GIVEN[rng.usize(..GIVEN.len())];
                let f = FAMILY[rng.usize(..FAMILY.len())];
                match rng.u8(..5) {
                    0 => g.to_string(),
                    1 => format!("{g}.{f}"),
                    2 => format!("{g}_{f}"),
                    3 => format!("{}{f}", &g[..1]),
                    _ => format!("{g}{}", rng.u32(1..100)),
                }
            } else {
                format!("u{i:05}")
            };
            if taken.contains(&name) {
                name = format!("u{i:05}");
            }
            taken.insert(name.clone());
            let addr = format!("{name}@{}", opts.domain);
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
            let interval = match kind {
                Kind::SendOnly => 60,
                Kind::Dialup => [30, 60][rng.usize(..2)],
                _ => {
                    let r = rng.u32(..100);
                    intervals[match r {
                        0..15 => 0,
                        15..40 => 1,
                        40..65 => 2,
                        65..90 => 3,
                        _ => 4,
                    }]
                }
            } * 60;
            let mut blocks = Vec::new();
            if rng.f64() < 0.1 && kind == Kind::Normal {
                blocks.push((0, 86400));
            } else {
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
            }
            let bad_from = if rng.bool() {
                0
            } else {
                blocks[0].0 + (blocks[0].1 - blocks[0].0) / 3
            };
            let home = pools.customer_v4();
            let home6 = pools.customer_v6();
            let helo = match rng.u8(..5) {
                0 => format!("{}-PC", name.split(['.', '_']).next().unwrap_or("my")),
                1 => format!("DESKTOP-{:07X}", rng.u32(..0x0FFF_FFFF)),
                2 => "[192.168.1.10]".to_string(),
                3 => "iPhone".to_string(),
                _ => format!("LAPTOP-{:06X}", rng.u32(..0x00FF_FFFF)),
            };
            let p_send = if kind == Kind::Normal || kind == Kind::Mobile {
                0.08
            } else {
                0.25
            };
            customers.push(Customer {
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
            });
        }
        let mut in_senders = Vec::new();
        let senders = [
            ("news", "mail.example.com", "example.com"),
            ("noreply", "mta1.shop.example.net", "shop.example.net"),
            ("info", "mx.travel.example.com", "travel.example.com"),
            ("magazine", "mm.example.net", "example.net"),
            ("alert", "bank.example.org", "bank.example.org"),
            ("friend", "mail-pj1-f45.example.org", "example.org"),
            ("friend2", "mail-ot1-f41.example.org", "example.org"),
            ("yamada", "mfsmax.docomo.ne.jp", "docomo.ne.jp"),
            ("suzuki", "dmail.ezweb.ne.jp", "ezweb.ne.jp"),
            ("kato", "mx.softbank.ne.jp", "softbank.ne.jp"),
            ("office", "mx01.example.co.jp", "example.co.jp"),
            (
                "school",
                "smtp.school.example.ac.jp",
                "school.example.ac.jp",
            ),
        ];
        for (i, (local, host, dom)) in senders.iter().enumerate() {
            let ip: ClientIp = if i % 2 == 0 {
                Ipv4Addr::new(198, 51, 100, 10 + i as u8).into()
            } else {
                Ipv4Addr::new(192, 0, 2, 100 + i as u8).into()
            };
            in_senders.push(InSender {
                sender: format!("{local}@{dom}"),
                host: host.to_string(),
                ip,
            });
        }
        let qmgr_pid = rng.u32(900..2000);
        Gen {
            opts: opts.clone(),
            cleanup_pids: [
                rng.u32(2000..9000),
                rng.u32(2000..9000),
                rng.u32(2000..9000),
            ],
            smtp_pids: [
                rng.u32(2000..9000),
                rng.u32(2000..9000),
                rng.u32(2000..9000),
                rng.u32(2000..9000),
            ],
            lmtp_pids: [rng.u32(2000..9000), rng.u32(2000..9000)],
            rng,
            customers,
            pools,
            out: Vec::new(),
            hist: History::default(),
            pending: Vec::new(),
            carry: Vec::new(),
            rejections: Vec::new(),
            qid: 1,
            mpid: 3000,
            offsets: HashMap::new(),
            qmgr_pid,
            in_senders,
            spammer_ips: Vec::new(),
            stolen: Vec::new(),
            thief_ips: Vec::new(),
            stats: Stats::default(),
        }
    }

    // --- framing ----------------------------------------------------------------------------

    fn offset(&mut self, sec: i64) -> i32 {
        let key = sec.div_euclid(900);
        let tz = self.opts.tz;
        *self.offsets.entry(key).or_insert_with(|| {
            let naive = DateTime::from_timestamp(sec, 0)
                .unwrap_or_default()
                .naive_utc();
            tz.offset_from_utc_datetime(&naive).fix().local_minus_utc()
        })
    }

    fn push(&mut self, t_us: i64, body: &str) {
        let at = t_us.div_euclid(US);
        let micros = t_us.rem_euclid(US) as u32;
        let off = self.offset(at);
        let local = DateTime::from_timestamp(at + i64::from(off), 0)
            .unwrap_or_default()
            .naive_utc();
        let mut text = String::with_capacity(40 + self.opts.host.len() + body.len());
        let (sign, a) = if off < 0 { ('-', -off) } else { ('+', off) };
        let _ = write!(
            text,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{}{:02}:{:02} {} {}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second(),
            micros,
            sign,
            a / 3600,
            (a % 3600) / 60,
            self.opts.host,
            body
        );
        self.out.push(SimLine { at, micros, text });
    }

    /// Local (day number, second of day) of an epoch.
    fn local(&mut self, t: Epoch) -> (i64, i64) {
        let l = t + i64::from(self.offset(t));
        (l.div_euclid(86400), l.rem_euclid(86400))
    }

    /// The UTC epoch of a local second-of-day on local day `day`.
    fn at_local(&mut self, day: i64, sod: i64) -> Epoch {
        let guess = day * 86400 + sod;
        guess - i64::from(self.offset(guess - 43200))
    }

    fn next_qid(&mut self) -> String {
        self.qid += 1;
        let x = (self.qid.wrapping_mul(0x5DEE_CE66D) ^ 0x3A_5C3F_1B27) & 0xFF_FFFF_FFFF;
        format!("{x:010X}")
    }

    fn session(&mut self) -> String {
        const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..16).map(|_| B64[self.rng.usize(..64)] as char).collect()
    }

    fn smtpd_pid(&mut self) -> u32 {
        self.rng.u32(10_000..40_000)
    }

    fn jitter(&mut self, max_ms: i64) -> i64 {
        self.rng.i64(1..=max_ms * 1000)
    }

    // --- mailbox logins -----------------------------------------------------------------------

    fn login(&mut self, t_us: i64, user: &str, ip: ClientIp, svc: Service, ok: bool) {
        let lip = if ip.is_ipv6() { LIP6 } else { LIP4 };
        let sess = self.session();
        let s = svc.as_str();
        let at = t_us.div_euclid(US);
        if ok {
            self.mpid = if self.mpid > 60_000 {
                3000
            } else {
                self.mpid + self.rng.u32(1..7)
            };
            let mpid = self.mpid;
            let verb = if self.rng.u8(..100) < 15 {
                "Logged in"
            } else {
                "Login"
            };
            let tls = if self.rng.bool() { "TLS, " } else { "" };
            self.push(
                t_us,
                &format!(
                    "dovecot: {s}-login: {verb}: user=<{user}>, method=PLAIN, rip={ip}, lip={lip}, mpid={mpid}, {tls}session=<{sess}>"
                ),
            );
            self.hist.success(at, user, ip);
            self.stats.logins += 1;
            let t2 = t_us + self.jitter(4000);
            let n = self.rng.u32(0..5);
            let size = n * self.rng.u32(2000..40_000);
            let body = match svc {
                Service::Pop3 => format!(
                    "dovecot: pop3({user})<{mpid}><{sess}>: Disconnected: Logged out top=0/0, retr={n}/{size}, del={n}/{n}, size={size}"
                ),
                Service::Imap => format!(
                    "dovecot: imap({user})<{mpid}><{sess}>: Disconnected: Logged out in={} out={} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count={n} body_bytes={size}",
                    self.rng.u32(100..900),
                    size + self.rng.u32(500..3000)
                ),
            };
            self.push(t2, &body);
        } else {
            if self.rng.bool() {
                self.push(
                    t_us,
                    &format!("dovecot: auth: passwd-file({user},{ip},<{sess}>): Password mismatch"),
                );
                self.hist.failure(at, user, ip);
            }
            let t2 = t_us + 2 * US + self.jitter(500);
            let body = if svc == Service::Imap && self.rng.bool() {
                format!(
                    "dovecot: imap-login: Login aborted: Connection closed (auth failed, 1 attempts in 2 secs) (auth_failed): user=<{user}>, method=PLAIN, rip={ip}, lip={lip}, session=<{sess}>"
                )
            } else {
                format!(
                    "dovecot: {s}-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip={lip}, session=<{sess}>"
                )
            };
            self.push(t2, &body);
            self.hist.failure(t2.div_euclid(US), user, ip);
            self.stats.failed_logins += 1;
        }
    }

    // --- SMTP flows ---------------------------------------------------------------------------

    fn rcpt_out(&mut self, carriers_only: bool) -> String {
        let local = if self.rng.bool() {
            format!(
                "{}{}",
                GIVEN[self.rng.usize(..GIVEN.len())],
                self.rng.u32(1..1000)
            )
        } else {
            format!(
                "{}.{}",
                GIVEN[self.rng.usize(..GIVEN.len())],
                FAMILY[self.rng.usize(..FAMILY.len())]
            )
        };
        let dom = if carriers_only {
            CARRIER_DOMAINS[self.rng.usize(..CARRIER_DOMAINS.len())]
        } else {
            let total: u32 = OUT_DOMAINS.iter().map(|d| d.1).sum();
            let mut r = self.rng.u32(..total);
            let mut pick = OUT_DOMAINS[0].0;
            for &(d, w) in OUT_DOMAINS {
                if r < w {
                    pick = d;
                    break;
                }
                r -= w;
            }
            pick
        };
        format!("{local}@{dom}")
    }

    fn spam_sender(&mut self) -> String {
        let w1 = SPAM_WORDS[self.rng.usize(..SPAM_WORDS.len())];
        let w2 = SPAM_WORDS[self.rng.usize(..SPAM_WORDS.len())];
        let tld = TLDS[self.rng.usize(..TLDS.len())];
        let local: String = (0..self.rng.usize(5..10))
            .map(|_| self.rng.lowercase())
            .collect();
        format!("{local}@{w1}-{w2}{}.{tld}", self.rng.u32(1..100))
    }

    /// One SMTP session from a client wanting to relay; accepted or rejected by the grant rule.
    fn relay_session(&mut self, it: &Intent) {
        let host = host_of(it.ip);
        let pid = self.smtpd_pid();
        let client = format!("{host}[{}]", it.ip);
        let t = it.t_us;
        self.push(t, &format!("postfix/smtpd[{pid}]: connect from {client}"));
        let rt = t + 200_000 + self.jitter(100);
        let k = it.rcpts.len();
        if self
            .hist
            .authorized(it.ip, rt.div_euclid(US), self.opts.window)
        {
            let qid = self.next_qid();
            self.push(rt, &format!("postfix/smtpd[{pid}]: {qid}: client={client}"));
            let cpid = self.cleanup_pids[self.rng.usize(..3)];
            let mid = format!(
                "{:08X}.{:04X}@{}",
                self.rng.u32(..),
                self.rng.u16(..),
                it.sender.rsplit_once('@').map_or("localhost", |x| x.1)
            );
            self.push(
                rt + 50_000,
                &format!("postfix/cleanup[{cpid}]: {qid}: message-id=<{mid}>"),
            );
            let size = self.rng.u32(800..60_000);
            self.push(
                rt + 90_000,
                &format!(
                    "postfix/qmgr[{}]: {qid}: from=<{}>, size={size}, nrcpt={k} (queue active)",
                    self.qmgr_pid, it.sender
                ),
            );
            self.push(
                rt + 120_000,
                &format!(
                    "postfix/smtpd[{pid}]: disconnect from {client} ehlo=1 mail=1 rcpt={k} data=1 quit=1 commands={}",
                    k + 4
                ),
            );
            let mut last = rt + 120_000;
            for r in &it.rcpts {
                let spid = self.smtp_pids[self.rng.usize(..4)];
                let d_us = self.jitter(2500) + 150_000;
                last = rt + 90_000 + d_us;
                let dom = r.rsplit_once('@').map_or("example.net", |x| x.1);
                let mx_ip = Ipv4Addr::new(198, 51, 100, 100 + (dom.len() % 50) as u8);
                let remote_q = format!("{:X}", self.rng.u64(..) & 0xFFFF_FFFF_FFFF);
                let delay = (last - t) as f64 / 1e6;
                self.push(
                    last,
                    &format!(
                        "postfix/smtp[{spid}]: {qid}: to=<{r}>, relay=mx.{dom}[{mx_ip}]:25, delay={delay:.2}, delays=0.2/0.01/{:.2}/{:.2}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {remote_q})",
                        d_us as f64 / 2e6,
                        d_us as f64 / 2e6
                    ),
                );
                self.stats.accepted_relays += 1;
            }
            self.push(
                last + 1_000,
                &format!("postfix/qmgr[{}]: {qid}: removed", self.qmgr_pid),
            );
        } else {
            let mut rt = rt;
            for r in &it.rcpts {
                let code = if self.rng.u8(..100) < 15 {
                    "454 4.7.1"
                } else {
                    "554 5.7.1"
                };
                self.push(
                    rt,
                    &format!(
                        "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {client}: {code} <{r}>: Relay access denied; from=<{}> to=<{r}> proto=ESMTP helo=<{}>",
                        it.sender, it.helo
                    ),
                );
                self.rejections
                    .push((rt.div_euclid(US), it.ip, it.sender.clone(), r.clone()));
                rt += 20_000 + self.jitter(60);
            }
            self.push(
                rt + 30_000,
                &format!(
                    "postfix/smtpd[{pid}]: disconnect from {client} ehlo=1 mail=1 rcpt=0/{k} quit=1 commands=3/{}",
                    k + 3
                ),
            );
        }
    }

    /// One inbound message to a local mailbox (never a relay).
    fn inbound(&mut self, t: i64, sender: &str, host: &str, ip: ClientIp, cust: usize) {
        let pid = self.smtpd_pid();
        let client = format!("{host}[{ip}]");
        self.push(t, &format!("postfix/smtpd[{pid}]: connect from {client}"));
        let qid = self.next_qid();
        self.push(
            t + 150_000,
            &format!("postfix/smtpd[{pid}]: {qid}: client={client}"),
        );
        let cpid = self.cleanup_pids[self.rng.usize(..3)];
        let mid = format!(
            "{}.{:08x}@{}",
            t / US,
            self.rng.u32(..),
            sender.rsplit_once('@').map_or("localhost", |x| x.1)
        );
        self.push(
            t + 190_000,
            &format!("postfix/cleanup[{cpid}]: {qid}: message-id=<{mid}>"),
        );
        let size = self.rng.u32(2000..120_000);
        self.push(
            t + 230_000,
            &format!(
                "postfix/qmgr[{}]: {qid}: from=<{sender}>, size={size}, nrcpt=1 (queue active)",
                self.qmgr_pid
            ),
        );
        self.push(
            t + 250_000,
            &format!("postfix/smtpd[{pid}]: disconnect from {client} ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"),
        );
        let (login, addr) = {
            let c = &self.customers[cust];
            (c.login.clone(), c.addr.clone())
        };
        let lpid = self.lmtp_pids[self.rng.usize(..2)];
        let sess = self.session();
        let dpid = self.rng.u32(3000..60_000);
        self.push(
            t + 300_000,
            &format!("dovecot: lmtp({login})<{dpid}><{sess}>: msgid=<{mid}>: saved mail to INBOX"),
        );
        self.push(
            t + 310_000,
            &format!(
                "postfix/lmtp[{lpid}]: {qid}: to=<{addr}>, relay={}.{}[private/dovecot-lmtp], delay=0.31, delays=0.23/0.01/0.02/0.05, dsn=2.0.0, status=sent (250 2.0.0 <{addr}> {sess} Saved)",
                self.opts.host, self.opts.domain
            ),
        );
        self.push(
            t + 312_000,
            &format!("postfix/qmgr[{}]: {qid}: removed", self.qmgr_pid),
        );
        self.stats.inbound += 1;
    }

    fn inbound_unknown_user(&mut self, t: i64, sender: &str, host: &str, ip: ClientIp) {
        let pid = self.smtpd_pid();
        let client = format!("{host}[{ip}]");
        let r = format!(
            "{}{}@{}",
            PROBE_USERS[self.rng.usize(..PROBE_USERS.len())],
            self.rng.u32(..100),
            self.opts.domain
        );
        self.push(t, &format!("postfix/smtpd[{pid}]: connect from {client}"));
        self.push(
            t + 180_000,
            &format!(
                "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {client}: 550 5.1.1 <{r}>: Recipient address rejected: User unknown in local recipient table; from=<{sender}> to=<{r}> proto=ESMTP helo=<{host}>"
            ),
        );
        self.push(
            t + 200_000,
            &format!("postfix/smtpd[{pid}]: disconnect from {client} ehlo=1 mail=1 rcpt=0/1 data=0/1 rset=1 quit=1 commands=4/6"),
        );
    }

    fn random_inbound(&mut self, t: i64) {
        let s = self.rng.usize(..self.in_senders.len());
        let (sender, host, ip) = {
            let x = &self.in_senders[s];
            (x.sender.clone(), x.host.clone(), x.ip)
        };
        if self.customers.is_empty() || self.rng.u8(..100) < 2 {
            self.inbound_unknown_user(t, &sender, &host, ip);
        } else {
            let c = self.rng.usize(..self.customers.len());
            self.inbound(t, &sender, &host, ip, c);
        }
    }

    // --- scenarios ----------------------------------------------------------------------------

    fn customer_activity(&mut self, start: Epoch, end: Epoch, intents: &mut Vec<Intent>) {
        let mut customers = std::mem::take(&mut self.customers);
        let w = self.opts.window;
        for c in &mut customers {
            let mut t = start + (c.phase - start).rem_euclid(c.interval);
            while t < end {
                let this = t;
                t += c.interval;
                let (day, sod) = self.local(this);
                let Some(bi) = c.blocks.iter().position(|&(a, b)| sod >= a && sod < b) else {
                    continue;
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
                let t_us = this * US + self.jitter(3000);
                if c.kind != Kind::SendOnly {
                    let ip = if c.kind == Kind::DualV6 {
                        c.home6
                    } else {
                        c.cur_ip
                    };
                    let ok = !(c.kind == Kind::BadPassword && sod >= c.bad_from);
                    self.login(t_us, &c.login, ip, c.service, ok);
                }
                if self.rng.f64() >= c.p_send {
                    continue;
                }
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
        self.customers = customers;
    }

    fn outside_attempt(&mut self, t_us: i64, intents: &mut Vec<Intent>) {
        let ip = self.pools.outside();
        let sender = if self.rng.u8(..100) < 20 {
            format!(
                "{}{}@{}",
                PROBE_USERS[self.rng.usize(..PROBE_USERS.len())],
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
            rcpts,
            helo,
        });
    }

    /// One outside IP making `total` rejected relay attempts to carriers over `span` seconds.
    fn spam_burst(&mut self, t0: Epoch, total: usize, span: i64, intents: &mut Vec<Intent>) {
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
                rcpts,
                helo: "User".into(),
            });
        }
    }

    /// A thief logs in as a customer from `ip` every ~20 minutes and relays `msgs` messages.
    fn stolen_password(&mut self, t0: Epoch, span: i64, msgs: usize, intents: &mut Vec<Intent>) {
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
                rcpts,
                helo: "WIN-3K2LQ0".into(),
            });
        }
    }

    fn newsletter_burst(&mut self, t0: Epoch, msgs: usize, span: i64) {
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

    /// Live mode: small staged failure scenarios around `t0`.
    fn live_scenarios(&mut self, t0: Epoch, chunk: u64, intents: &mut Vec<Intent>) {
        if self.customers.is_empty() {
            return;
        }
        let w = self.opts.window;
        for k in 0..3u64 {
            let t = t0 + self.rng.i64(10..100) + k as i64 * 60;
            let t_us = t * US + self.jitter(900);
            let scenario = (chunk * 3 + k) % 6;
            // A wrong password shows best for a customer with no good login around: a send-only one.
            let send_only: Vec<usize> = (0..self.customers.len())
                .filter(|&i| self.customers[i].kind == Kind::SendOnly)
                .collect();
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
                rcpts: rcpts.clone(),
                helo: helo.clone(),
            };
            match scenario {
                0 => {
                    let ip = self.pools.customer_v4();
                    intents.push(mk(t_us, ip));
                }
                1 => {
                    let ip = self.pools.customer_v4();
                    self.login(t_us, &login, ip, svc, true);
                    intents.push(mk(t_us + (w + self.rng.i64(60..600)) * US, ip));
                }
                2 => {
                    let a = self.pools.customer_v4();
                    let b = self.pools.customer_v4();
                    self.login(t_us, &login, a, svc, true);
                    intents.push(mk(t_us + self.rng.i64(20..180) * US, b));
                }
                3 => {
                    let ip = self.pools.customer_v4();
                    self.login(t_us, &login, ip, svc, false);
                    intents.push(mk(t_us + self.rng.i64(8..30) * US, ip));
                }
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

    fn noise(&mut self, start: Epoch, end: Epoch) {
        let hours = ((end - start) as f64 / 3600.0).max(0.0);
        // Cron and anvil on the clock.
        let mut t = start + (600 - start.rem_euclid(600)) % 600;
        while t < end {
            let pid = self.rng.u32(10_000..60_000);
            let (j1, j2, j3) = (self.jitter(50), self.jitter(50), self.jitter(50));
            self.push(
                t * US + j1,
                &format!("CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"),
            );
            self.push(
                t * US + 60_000 + j2,
                &format!(
                    "CRON[{pid}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)"
                ),
            );
            self.push(
                t * US + 90_000 + j3,
                &format!("CRON[{pid}]: pam_unix(cron:session): session closed for user root"),
            );
            let at = t + 300;
            if at < end {
                let s = &self.in_senders[self.rng.usize(..self.in_senders.len())];
                let ip = s.ip;
                let off = self.offset(at);
                let stamp = DateTime::from_timestamp(at + i64::from(off), 0)
                    .unwrap_or_default()
                    .naive_utc()
                    .format("%b %e %H:%M:%S")
                    .to_string();
                let apid = 1200 + (at / 86400 % 500) as u32;
                let r = self.rng.u32(1..8);
                let j = self.jitter(100);
                self.push(
                    at * US + j,
                    &format!("postfix/anvil[{apid}]: statistics: max connection rate {r}/60s for (smtp:{ip}) at {stamp}"),
                );
                self.push(
                    at * US + 200_000,
                    &format!("postfix/anvil[{apid}]: statistics: max connection count {} for (smtp:{ip}) at {stamp}", r.min(3)),
                );
                self.push(
                    at * US + 300_000,
                    &format!(
                        "postfix/anvil[{apid}]: statistics: max cache size {} at {stamp}",
                        r + 2
                    ),
                );
            }
            t += 600;
        }
        let per_hour = (self.opts.customers as f64 / 20.0).max(4.0);
        // Scanners: connect, lost connection, disconnect.
        let n = (per_hour * hours) as usize;
        for _ in 0..n {
            let t = self.rng.i64(start * US..end * US);
            let ip = self.pools.outside();
            let pid = self.smtpd_pid();
            self.push(
                t,
                &format!("postfix/smtpd[{pid}]: connect from unknown[{ip}]"),
            );
            match self.rng.u8(..3) {
                0 => {
                    self.push(
                        t + 1_500_000,
                        &format!(
                            "postfix/smtpd[{pid}]: lost connection after EHLO from unknown[{ip}]"
                        ),
                    );
                    self.push(
                        t + 1_500_100,
                        &format!(
                            "postfix/smtpd[{pid}]: disconnect from unknown[{ip}] ehlo=1 commands=1"
                        ),
                    );
                }
                1 => {
                    self.push(
                        t + 2_000_000,
                        &format!("postfix/smtpd[{pid}]: warning: unknown[{ip}]: SASL LOGIN authentication failed: UGFzc3dvcmQ6"),
                    );
                    self.push(
                        t + 2_100_000,
                        &format!("postfix/smtpd[{pid}]: disconnect from unknown[{ip}] ehlo=1 auth=0/1 rset=1 quit=1 commands=3/4"),
                    );
                }
                _ => {
                    let sess = self.session();
                    self.push(
                        t + 900_000,
                        &format!("dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip={ip}, lip={LIP4}, session=<{sess}>"),
                    );
                    self.push(
                        t + 1_000_000,
                        &format!("postfix/smtpd[{pid}]: disconnect from unknown[{ip}] commands=0"),
                    );
                }
            }
        }
        // Password guessing against generic names, every few hours.
        let bursts = ((hours / 3.0).ceil() as usize).max(1);
        for _ in 0..bursts {
            let t0 = self.rng.i64(start * US..end * US);
            let ip = self.pools.outside();
            for k in 0..self.rng.i64(5..25) {
                let user = PROBE_USERS[self.rng.usize(..PROBE_USERS.len())];
                self.login(t0 + k * 4 * US, user, ip, Service::Pop3, false);
            }
        }
    }

    /// Generates [start, end): lines in time order. `live` is the live-mode chunk number.
    fn range(&mut self, start: Epoch, end: Epoch, live: Option<u64>) -> Vec<SimLine> {
        let mut intents = std::mem::take(&mut self.pending);
        self.customer_activity(start, end, &mut intents);
        let hours = (end - start) as f64 / 3600.0;
        match live {
            Some(chunk) => self.live_scenarios(start, chunk, &mut intents),
            None => {
                let (d0, _) = self.local(start);
                let (d1, _) = self.local(end);
                for day in d0..=d1 {
                    let burst = self.at_local(day, 5 * 3600) + self.rng.i64(0..600);
                    if burst >= start && burst + 1200 < end {
                        let total = self.rng.usize(500..=2000);
                        let span = self.rng.i64(600..=1200);
                        self.spam_burst(burst, total, span, &mut intents);
                    }
                    let sod = self.rng.i64(3600..3 * 3600);
                    let theft = self.at_local(day, sod);
                    if theft >= start && theft + 3600 < end && !self.customers.is_empty() {
                        let msgs = self.rng.usize(300..600);
                        self.stolen_password(theft, 3600, msgs, &mut intents);
                    }
                    let news = self.at_local(day, 7 * 3600) + self.rng.i64(0..600);
                    if news >= start && news + 600 < end {
                        self.newsletter_burst(news, 400, 480);
                    }
                }
            }
        }
        let outside = ((self.opts.customers as f64 / 40.0).max(2.0) * hours / 24.0).ceil() as usize;
        for _ in 0..outside {
            let t = self.rng.i64(start * US..end * US);
            self.outside_attempt(t, &mut intents);
        }
        self.noise(start, end);
        // The server decides every send by the grant rule over the logins logged so far.
        self.hist.sort();
        intents.sort_by_key(|i| i.t_us);
        for it in intents {
            if it.t_us < end * US {
                if it.t_us >= start * US {
                    self.relay_session(&it);
                }
            } else if live.is_some() {
                self.pending.push(it);
            }
        }
        // Background inbound mail, scaled to the target size.
        let base = (self.opts.customers as f64 * 25.0 * hours / 24.0) as usize;
        let n = match (live, self.opts.target_lines) {
            // 98 % are 8-line deliveries, 2 % 3-line unknown-user rejections.
            (None, Some(target)) => target.saturating_sub(self.out.len()) * 100 / 790,
            _ => base,
        };
        for _ in 0..n {
            // More mail in the daytime: rejection-sample on local hour.
            let t = loop {
                let t = self.rng.i64(start * US..end * US);
                let (_, sod) = self.local(t.div_euclid(US));
                let h = sod / 3600;
                let w = if (1..6).contains(&h) { 30 } else { 100 };
                if self.rng.u32(..100) < w {
                    break t;
                }
            };
            self.random_inbound(t);
        }
        let mut lines = std::mem::take(&mut self.carry);
        lines.append(&mut self.out);
        lines.sort_by_key(|l| (l.at, l.micros));
        if live.is_some() {
            let cut = lines.partition_point(|l| l.at < end);
            self.carry = lines.split_off(cut);
            let before = start - self.opts.lookback - self.opts.window;
            self.hist.prune(before);
            self.rejections.retain(|r| r.0 >= before);
        }
        lines
    }

    fn truth(&self) -> Truth {
        let mut rejections: Vec<TruthRejection> = self
            .rejections
            .iter()
            .map(|(at, ip, sender, rcpt)| {
                let (login, cause) = self.hist.diagnose(
                    *at,
                    *ip,
                    sender,
                    &self.opts.domain,
                    self.opts.window,
                    self.opts.lookback,
                );
                TruthRejection {
                    at: *at,
                    ip: *ip,
                    sender: sender.clone(),
                    rcpt: rcpt.clone(),
                    login,
                    cause,
                }
            })
            .collect();
        rejections.sort_by_key(|r| r.at);
        Truth {
            rejections,
            spammer_ips: self.spammer_ips.clone(),
            stolen_logins: self.stolen.clone(),
            thief_ips: self.thief_ips.clone(),
            customers: self.customers.iter().map(|c| c.login.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn small() -> SimOptions {
        SimOptions {
            customers: 300,
            hours: 8,
            seed: 7,
            ..SimOptions::default()
        }
    }

    fn default_sim() -> &'static Simulation {
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
    fn every_cause_occurs() {
        let sim = default_sim();
        let mut causes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &sim.truth.rejections {
            *causes.entry(r.cause).or_default() += 1;
        }
        for c in [
            "ip_changed",
            "auth_failed",
            "expired",
            "never_checked",
            "unknown_sender",
        ] {
            assert!(causes.get(c).copied().unwrap_or(0) >= 3, "{c}: {causes:?}");
        }
        assert!(!causes.contains_key("suspended"));
    }

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

#[cfg(test)]
mod dump {
    use super::*;

    /// `SIM_OUT=/tmp/day cargo test --release --lib simulate::dump -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn dump_default_day() {
        let dir = std::env::var("SIM_OUT").unwrap_or_else(|_| "/tmp/relaydesk-sim".into());
        let mut opts = SimOptions::default();
        if let Ok(t) = std::env::var("SIM_TARGET") {
            opts.target_lines = t.parse().ok();
        }
        let t0 = Instant::now();
        let s = write_day(Path::new(&dir), &opts).unwrap();
        println!(
            "{} in {:?}",
            serde_json::to_string_pretty(&s).unwrap(),
            t0.elapsed()
        );
    }
}
