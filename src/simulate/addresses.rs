//! Who is who: the address pools of the plan in `mod.rs`, the names of customers and their
//! correspondents, the other mail servers that deliver here, and the addresses spam comes from
//! and goes to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::generator::Gen;
use crate::domain::ClientIp;

/// The carrier domains spam in the simulation is aimed at: today's six main ones.
pub(super) const CARRIER_DOMAINS: &[&str] = &crate::domain::CARRIER_DOMAINS_CURRENT;

pub(super) const GIVEN: &[&str] = &[
    "taro", "hanako", "ichiro", "jiro", "saburo", "yuki", "akiko", "kenji", "sakura", "hiroshi",
    "yumi", "takeshi", "naoko", "satoshi", "keiko", "makoto", "emi", "daisuke", "mai", "shota",
    "aoi", "ren", "haruto", "yui", "sota", "riko", "kaito", "mio", "yuto", "hina",
];
pub(super) const FAMILY: &[&str] = &[
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
/// Where customers send to, with weights.
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
/// The generic mailbox names scanners and guessers try.
pub(super) const PROBE_USERS: &[&str] = &[
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

/// One element of `items`, drawn with a single `rng.usize` (the draw order keeps seeds stable).
pub(super) fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(..items.len())]
}

/// Counters handing out fresh addresses, so no two holders share one by accident.
#[derive(Default)]
pub(super) struct Pools {
    v4: u64,
    v6: u64,
    outside: u64,
}

impl Pools {
    /// 203.0.113.1–250 first, then scattered over 100.64.0.0/10.
    pub(super) fn customer_v4(&mut self) -> ClientIp {
        let c = self.v4;
        self.v4 += 1;
        if c < 250 {
            return Ipv4Addr::new(203, 0, 113, c as u8 + 1).into();
        }
        let i = c - 250 + 1;
        let x = (i.wrapping_mul(2_654_435_761) & ((1 << 22) - 1)) as u32;
        Ipv4Addr::from(0x6440_0000 | x).into()
    }

    /// A /64 per customer in 2001:db8:1000::/36, with a scrambled interface id.
    pub(super) fn customer_v6(&mut self) -> ClientIp {
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

    /// Scattered over 198.18.0.0/15.
    pub(super) fn outside(&mut self) -> ClientIp {
        self.outside += 1;
        let x = (self.outside.wrapping_mul(40_503) & ((1 << 17) - 1)) as u32;
        Ipv4Addr::from(0xC612_0000 | x).into()
    }
}

/// The reverse name Postfix logs for a client: a dynamic-pool name, or `unknown` for a third of
/// the customers, all outsiders and IPv6.
pub(super) fn host_of(ip: ClientIp) -> String {
    match ip.addr() {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if o[3] % 3 == 0 || o[0] == 198 {
                "unknown".into()
            } else {
                format!("p{}{:03}{:03}-dyn.example.ne.jp", o[1], o[2], o[3])
            }
        }
        IpAddr::V6(_) => "unknown".into(),
    }
}

/// Another mail server delivering to our customers.
pub(super) struct InSender {
    pub(super) sender: String,
    pub(super) host: String,
    pub(super) ip: ClientIp,
}

/// The regular correspondents, alternately in 198.51.100.0/24 and 192.0.2.0/24.
pub(super) fn in_senders() -> Vec<InSender> {
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
    let ip_of = |i: usize| -> ClientIp {
        if i.is_multiple_of(2) {
            Ipv4Addr::new(198, 51, 100, 10 + i as u8).into()
        } else {
            Ipv4Addr::new(192, 0, 2, 100 + i as u8).into()
        }
    };
    senders
        .iter()
        .enumerate()
        .map(|(i, (local, host, dom))| InSender {
            sender: format!("{local}@{dom}"),
            host: host.to_string(),
            ip: ip_of(i),
        })
        .collect()
}

/// The domain of an address, if it has one.
pub(super) fn domain_of(addr: &str) -> Option<&str> {
    addr.rsplit_once('@').map(|x| x.1)
}

impl Gen {
    /// A recipient elsewhere: weighted over `OUT_DOMAINS`, or only the carriers (spam).
    pub(super) fn rcpt_out(&mut self, carriers_only: bool) -> String {
        let local = if self.rng.bool() {
            format!("{}{}", pick(&mut self.rng, GIVEN), self.rng.u32(1..1000))
        } else {
            let given = pick(&mut self.rng, GIVEN);
            format!("{given}.{}", pick(&mut self.rng, FAMILY))
        };
        let dom = if carriers_only {
            pick(&mut self.rng, CARRIER_DOMAINS)
        } else {
            let total: u32 = OUT_DOMAINS.iter().map(|d| d.1).sum();
            let mut r = self.rng.u32(..total);
            let mut choice = OUT_DOMAINS[0].0;
            for &(d, w) in OUT_DOMAINS {
                if r < w {
                    choice = d;
                    break;
                }
                r -= w;
            }
            choice
        };
        format!("{local}@{dom}")
    }

    /// A throwaway spam sender such as `qxkfmt@lucky-cash42.xyz`.
    pub(super) fn spam_sender(&mut self) -> String {
        let w1 = pick(&mut self.rng, SPAM_WORDS);
        let w2 = pick(&mut self.rng, SPAM_WORDS);
        let tld = pick(&mut self.rng, TLDS);
        let local: String = (0..self.rng.usize(5..10))
            .map(|_| self.rng.lowercase())
            .collect();
        format!("{local}@{w1}-{w2}{}.{tld}", self.rng.u32(1..100))
    }
}
