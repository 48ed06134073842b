//! Pure log parsers: one line in, at most one event out. No I/O, no clock.
//!
//! A line is first *framed* (`framing`: timestamp, host, program tag, message), then dispatched on
//! the **program tag only** to one daemon family's parser, which reads structured fields of the
//! message. No parser ever searches a message for another daemon's text: a forged
//! `pop3-login: Login: user=<x>, rip=…` inside an envelope sender, HELO name or user name of some
//! other program's line can never become a login (the attack that opened relays of classic
//! POP-before-SMTP daemons).
//!
//! Hot path: no regex, no allocation for lines that yield no event; Strings are allocated only for
//! the fields of returned events. Lines from unknown programs are rejected after the tag.
//!
//! Measuring: `cargo test --release --lib ingest::parse::tests::throughput -- --ignored --nocapture`
//! prints lines/s on a synthetic mixed log.

mod courier;
mod cyrus;
mod dovecot;
mod exim;
mod framing;
mod postfix;
mod qpopper;
mod sendmail;
mod uw;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod formats;

use chrono_tz::Tz;

use crate::domain::{ClientIp, Epoch, Event, Service};
use framing::{Clock, Frame};

/// Lines longer than this are not log lines any syslog daemon writes by default (rsyslog's
/// default maximum is 8 KiB); they are `Malformed` without further look.
pub const MAX_LINE: usize = 64 * 1024;

/// What one line says.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed {
    /// An event of interest.
    Event(Event),
    /// A well-framed log line that carries no event of interest.
    Unrelated,
    /// No recognizable framing or timestamp, not UTF-8, or a line of interest with missing or
    /// invalid fields.
    Malformed,
}

/// Parses log lines of any supported framing into events. Holds the zone, `now` (for the year of
/// traditional syslog lines) and a cache of UTC offsets.
pub struct LineParser {
    clock: Clock,
}

impl LineParser {
    /// `tz`: zone for timestamps without one; `now`: epoch seconds used for year inference
    /// (traditional syslog has no year: the year is chosen so that the event is not more than one
    /// day in the future of `now`).
    pub fn new(tz: Tz, now: Epoch) -> Self {
        LineParser {
            clock: Clock::new(tz, now),
        }
    }

    pub fn set_now(&mut self, now: Epoch) {
        self.clock.set_now(now);
    }

    /// Parses one line, without its trailing `\n` (a trailing `\r` is stripped too).
    pub fn parse(&mut self, line: &[u8]) -> Parsed {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE {
            return Parsed::Malformed;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            return Parsed::Malformed;
        };
        if line.starts_with('{') {
            return match framing::parse_journal(line) {
                Some(j) => dispatch(&j.prog, &j.msg, j.at),
                None => Parsed::Malformed,
            };
        }
        match framing::frame(line, &mut self.clock) {
            Some(Frame::Tagged { at, prog, msg }) => dispatch(prog, msg, at),
            Some(Frame::Exim { at, msg }) => exim::parse(msg, at),
            Some(Frame::Untagged) => Parsed::Unrelated,
            None => Parsed::Malformed,
        }
    }
}

/// Chooses the parser by program tag (without `[pid]`).
///
/// Tags as the daemons set them: `dovecot`, Dovecot's own log processes; `postfix/smtpd` and any
/// `INSTANCE/[SERVICE/]daemon` of Postfix's multi-instance and `master.cf` service names; Cyrus's
/// `cyrus/pop3`, `cyrus/imaps` and any `PREFIX/service` of `syslog_prefix` or a named service;
/// Sendmail's `sendmail`, `sm-mta`, `sm-msp-queue`, `sm-mta-in`; Exim's `exim`, `exim4`;
/// Courier's `pop3d`, `pop3d-ssl`, `imapd`, `imapd-ssl`, `courier-pop3d`, `courieresmtpd`…;
/// UW `ipop3d`/`imapd`; qpopper. An `in.` prefix (inetd) is ignored.
fn dispatch(prog: &str, msg: &str, at: Epoch) -> Parsed {
    match prog {
        "dovecot" => dovecot::parse_syslog(msg, at),
        "pop3-login" | "imap-login" | "submission-login" | "managesieve-login" => {
            dovecot::parse_process(prog, framing::dovecot_level(msg).unwrap_or(msg), at)
        }
        "ipop3d" => uw::parse(Service::Pop3, msg, at),
        "in.qpopper" | "qpopper" | "popper" => qpopper::parse(msg, at),
        "sm-mta" | "sendmail" => sendmail::parse(msg, at),
        "exim" | "exim4" => exim::parse_syslog(msg, at),
        // Names shared by Courier, Cyrus (older `pop3d[pid]` tags) and UW: the message decides.
        "pop3d" | "pop3d-ssl" | "pop3" | "pop3s" | "courierpop3login" | "courierpop3d" => {
            mailbox_by_content(Service::Pop3, msg, at)
        }
        "imapd" | "imapd-ssl" | "imap" | "imaps" | "imaplogin" | "courierimaplogin"
        | "courierimapd" => mailbox_by_content(Service::Imap, msg, at),
        _ => dispatch_other(prog, msg, at),
    }
}

/// The less common tags: instance prefixes, process titles, auth process names.
#[cold]
fn dispatch_other(prog: &str, msg: &str, at: Epoch) -> Parsed {
    if let Some((_, daemon)) = prog.rsplit_once('/') {
        // cyrus/pop3, NAME/imap, cyrus/proxyd; postfix/smtpd, postfix-out/smtpd,
        // postfix/submission/smtpd, …
        if let Some(service) = cyrus_service(daemon)
            && !postfix::is_daemon(daemon)
        {
            return mailbox_by_content(service, msg, at);
        }
        return postfix::parse(daemon, msg, at);
    }
    let p = prog.strip_prefix("in.").unwrap_or(prog);
    if p != prog {
        return dispatch(p, msg, at);
    }
    if p.starts_with("sendmail") || p.starts_with("sm-") {
        return sendmail::parse(msg, at);
    }
    if p.starts_with("exim") {
        return exim::parse_syslog(msg, at);
    }
    if p.starts_with("dovecot") {
        return dovecot::parse_syslog(msg, at);
    }
    if p.starts_with("auth") {
        // Dovecot's own log: `auth: Info: passwd-file(…): …`, `auth-worker(123): …`.
        return dovecot::parse_process(p, framing::dovecot_level(msg).unwrap_or(msg), at);
    }
    if p == "courieresmtpd" || p == "courier-esmtpd" || p == "esmtpd" || p == "esmtpd-msa" {
        return courier::esmtpd(msg, at);
    }
    let c = p
        .strip_prefix("courier-")
        .or_else(|| p.strip_prefix("courier"))
        .unwrap_or(p);
    let c = c.strip_suffix("-ssl").unwrap_or(c);
    match c {
        "pop3d" | "pop3ds" | "pop3" | "pop3s" | "pop3login" | "pop3d-login" => {
            mailbox_by_content(Service::Pop3, msg, at)
        }
        "imapd" | "imapds" | "imap" | "imaps" | "imaplogin" | "imapd-login" => {
            mailbox_by_content(Service::Imap, msg, at)
        }
        "proxyd" => mailbox_by_content(Service::Imap, msg, at),
        "pop3proxyd" => mailbox_by_content(Service::Pop3, msg, at),
        _ => Parsed::Unrelated,
    }
}

/// The mailbox service of a Cyrus service name (`pop3`, `pop3s`, `imaps`, murder frontends
/// `proxyd` (IMAP) and `pop3proxyd`).
fn cyrus_service(sub: &str) -> Option<Service> {
    if sub.starts_with("pop3") {
        Some(Service::Pop3)
    } else if sub.starts_with("imap") || sub == "proxyd" {
        Some(Service::Imap)
    } else {
        None
    }
}

/// `pop3d`/`imapd` and friends: Courier writes `LOGIN, …` (1.x: `INFO: LOGIN, …`), Cyrus
/// `login: …` (3.13+: `event=login.good …`), UW `Login user=…`.
fn mailbox_by_content(service: Service, msg: &str, at: Epoch) -> Parsed {
    if msg.starts_with("LOGIN") || msg.starts_with("INFO: LOGIN") {
        courier::parse(service, msg, at)
    } else if msg.starts_with("login: ")
        || msg.starts_with("badlogin: ")
        || msg.starts_with("event=login.")
    {
        cyrus::parse(service, msg, at)
    } else {
        uw::parse(service, msg, at)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared by the daemon parsers.

/// A user name as logged: rejected (→ `Malformed`) when it contains control characters.
pub(crate) fn user_name(u: &str) -> Option<String> {
    if u.chars().any(char::is_control) {
        None
    } else {
        Some(u.to_owned())
    }
}

/// A successful mailbox login by `user`, or `Malformed` when the line's user could not be
/// read (a login without a user authorizes nothing).
pub(crate) fn login(at: Epoch, service: Service, user: Option<String>, ip: ClientIp) -> Parsed {
    match user {
        Some(user) => Parsed::Event(Event::Login {
            at,
            service,
            user,
            ip,
        }),
        None => Parsed::Malformed,
    }
}

/// A refused recipient: a relay refusal when `relay` (the MTA's own wording said so), any other
/// rejection otherwise.
pub(crate) fn refused(
    relay: bool,
    at: Epoch,
    ip: ClientIp,
    sender: String,
    rcpt: String,
    reply: String,
) -> Parsed {
    Parsed::Event(if relay {
        Event::RelayRejected {
            at,
            ip,
            sender,
            rcpt,
            reply,
        }
    } else {
        Event::Rejected {
            at,
            ip,
            sender,
            rcpt,
            reply,
        }
    })
}

/// Strips one pair of `<…>` if present.
pub(crate) fn strip_angle(s: &str) -> &str {
    s.strip_prefix('<')
        .and_then(|t| t.strip_suffix('>'))
        .unwrap_or(s)
}

/// `[ip]` at the start of `s` (optionally followed by `:port`): the address and the rest after
/// `]` and the port.
pub(crate) fn bracket_ip(s: &str) -> Option<(ClientIp, &str)> {
    let inner = s.strip_prefix('[')?;
    let close = memchr::memchr(b']', inner.as_bytes())?;
    let ip = ClientIp::parse_lenient(&inner[..close])?;
    let mut rest = &inner[close + 1..];
    if let Some(r) = rest.strip_prefix(':') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            rest = &r[digits..];
        }
    }
    Some((ip, rest))
}

/// `name [ip]`, `name[ip]` or `[ip]` at the start of `s` (the name is one token without spaces or
/// brackets, as resolvers return them): the address and the rest after `]` (and `:port`).
pub(crate) fn host_ip(s: &str) -> Option<(ClientIp, &str)> {
    let b = s.as_bytes();
    let open = memchr::memchr(b'[', b)?;
    let name = &b[..open];
    let name = name.strip_suffix(b" ").unwrap_or(name);
    if name.iter().any(|&c| c == b' ' || c == b']') {
        return None;
    }
    bracket_ip(&s[open..])
}

/// Looks up `keys` in a Dovecot/Courier style element list `k=v, k=<v>, flag, …`. A value in
/// `<…>` may contain `, ` and spaces: it ends at the first `>` followed by `, ` or the end.
/// Returns `None` when a wanted key occurs twice (a client-supplied value forging an element)
/// or a `<…>` value is not closed.
pub(crate) fn elements<'a, const N: usize>(
    s: &'a str,
    keys: [&str; N],
) -> Option<[Option<&'a str>; N]> {
    let mut out = [None; N];
    let mut rest = s;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        let eq = memchr::memchr(b'=', b);
        let comma = find_comma_space(b);
        let (key, value, next) = match (eq, comma) {
            (Some(e), c) if c.is_none_or(|c| e < c) => {
                let key = &rest[..e];
                let v = &rest[e + 1..];
                if let Some(inner) = v.strip_prefix('<') {
                    let close = find_close_angle(inner)?;
                    let next = inner.get(close + 1..).unwrap_or("");
                    (
                        key,
                        &inner[..close],
                        next.strip_prefix(", ").unwrap_or(next),
                    )
                } else {
                    match find_comma_space(v.as_bytes()) {
                        Some(c) => (key, &v[..c], &v[c + 2..]),
                        None => (key, v, ""),
                    }
                }
            }
            (_, Some(c)) => ("", "", &rest[c + 2..]),
            (_, None) => ("", "", ""),
        };
        if let Some(i) = keys.iter().position(|k| *k == key) {
            if out[i].is_some() {
                return None;
            }
            out[i] = Some(value);
        }
        rest = next;
    }
    Some(out)
}

/// A fixed text to look for in every line of its kind, with its searchers built once:
/// `str::find` with a `&str` pattern sets up a Two-Way searcher on each call, which on these
/// short lines cost more than the search (callgrind on `parse`: 11 % of all instructions).
pub(super) struct Needle {
    forward: std::sync::LazyLock<
        memchr::memmem::Finder<'static>,
        fn() -> memchr::memmem::Finder<'static>,
    >,
    reverse: std::sync::LazyLock<
        memchr::memmem::FinderRev<'static>,
        fn() -> memchr::memmem::FinderRev<'static>,
    >,
}

/// `needle!(NAME = "text")`: a `static NAME: Needle`.
macro_rules! needle {
    ($name:ident = $text:literal) => {
        static $name: $crate::ingest::parse::Needle = $crate::ingest::parse::Needle::new(
            || memchr::memmem::Finder::new($text),
            || memchr::memmem::FinderRev::new($text),
        );
    };
}
pub(super) use needle;

impl Needle {
    pub(super) const fn new(
        forward: fn() -> memchr::memmem::Finder<'static>,
        reverse: fn() -> memchr::memmem::FinderRev<'static>,
    ) -> Needle {
        Needle {
            forward: std::sync::LazyLock::new(forward),
            reverse: std::sync::LazyLock::new(reverse),
        }
    }

    /// Where the text first starts in `haystack`.
    pub(super) fn find(&self, haystack: &str) -> Option<usize> {
        self.forward.find(haystack.as_bytes())
    }

    /// Where the text last starts in `haystack`.
    pub(super) fn rfind(&self, haystack: &str) -> Option<usize> {
        self.reverse.rfind(haystack.as_bytes())
    }
}

/// The first `: ` in `b`.
#[inline]
pub(crate) fn find_colon_space(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', &b[from..]) {
        let i = from + i;
        if b.get(i + 1) == Some(&b' ') {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Index of the first `, `.
#[inline]
pub(crate) fn find_comma_space(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memchr::memchr(b',', &b[from..]) {
        let i = from + i;
        if b.get(i + 1) == Some(&b' ') {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

/// Index of the `>` that closes a `<…>` value: the first one followed by `, ` or the end.
fn find_close_angle(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b'>', &b[from..]) {
        let i = from + i;
        let after = &b[i + 1..];
        if after.is_empty() || after.starts_with(b", ") {
            return Some(i);
        }
        from = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    pub(crate) const NOW: Epoch = 1_773_360_000; // 2026-03-13T00:00:00Z

    pub(crate) fn parser() -> LineParser {
        LineParser::new(chrono_tz::Asia::Tokyo, NOW + 86_400 * 30)
    }

    pub(crate) fn jst(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Epoch {
        chrono_tz::Asia::Tokyo
            .with_ymd_and_hms(y, mo, d, h, mi, s)
            .unwrap()
            .timestamp()
    }

    pub(crate) fn ip(s: &str) -> ClientIp {
        s.parse().unwrap()
    }

    pub(crate) fn parse(line: &str) -> Parsed {
        parser().parse(line.as_bytes())
    }

    #[test]
    fn elements_by_key() {
        let [u, r] = elements(
            "user=<a, b>, method=PLAIN, rip=192.0.2.1, TLS",
            ["user", "rip"],
        )
        .unwrap();
        assert_eq!((u, r), (Some("a, b"), Some("192.0.2.1")));
        let [u, r] = elements("rip=192.0.2.1, user=<>", ["user", "rip"]).unwrap();
        assert_eq!((u, r), (Some(""), Some("192.0.2.1")));
        assert!(elements("user=<a>, rip=1.2.3.4>, rip=192.0.2.1", ["user", "rip"]).is_none());
        assert!(elements("user=<a, rip=192.0.2.1", ["user", "rip"]).is_none());
        let [u] = elements("user=<x>y>, rip=1", ["user"]).unwrap();
        assert_eq!(u, Some("x>y"));
    }

    #[test]
    fn host_ip_forms() {
        assert_eq!(
            host_ip("dsl.example.jp [203.0.113.7] x").unwrap(),
            (ip("203.0.113.7"), " x")
        );
        assert_eq!(
            host_ip("[203.0.113.7]:1060 x").unwrap(),
            (ip("203.0.113.7"), " x")
        );
        assert_eq!(
            host_ip("unknown[2001:db8::7]: y").unwrap(),
            (ip("2001:db8::7"), ": y")
        );
        assert!(host_ip("a b [203.0.113.7]").is_none());
        assert!(host_ip("[nope]").is_none());
    }

    #[test]
    fn trailing_cr_and_newline() {
        let mut p = parser();
        let line = b"2026-03-13T05:12:01+09:00 mail dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25\r\n";
        assert_eq!(
            p.parse(line),
            Parsed::Event(Event::Login {
                at: jst(2026, 3, 13, 5, 12, 1),
                service: Service::Pop3,
                user: "taro".into(),
                ip: ip("203.0.113.7"),
            })
        );
    }

    #[test]
    fn not_utf8_or_huge_is_malformed() {
        let mut p = parser();
        assert_eq!(
            p.parse(b"Mar  3 05:12:01 mail dovecot: \xff\xfe"),
            Parsed::Malformed
        );
        let mut big = b"2026-03-13T05:12:01+09:00 mail postfix/smtpd[1]: ".to_vec();
        big.resize(1 << 20, b'a');
        assert_eq!(p.parse(&big), Parsed::Malformed);
        big.truncate(MAX_LINE);
        assert_eq!(p.parse(&big), Parsed::Unrelated);
    }

    /// Random bytes, every prefix of every fixture line, and long repetitive lines never panic.
    #[test]
    fn never_panics() {
        let mut p = parser();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..200);
            let bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
            let _ = p.parse(&bytes);
        }
        let alphabet = b"<>[]():;, =\"'\\{}0123456789abcdefTZ+-.\t ";
        for _ in 0..20_000 {
            let len = rng.usize(0..120);
            let mut line =
                b"2026-03-13T05:12:01Z h postfix/smtpd: NOQUEUE: reject: RCPT from ".to_vec();
            line.extend((0..len).map(|_| alphabet[rng.usize(..alphabet.len())]));
            let _ = p.parse(&line);
        }
        for (_, bytes) in fixtures::FIXTURES {
            for b in fixtures::lines(bytes) {
                for i in 0..=b.len() {
                    let _ = p.parse(&b[..i]);
                    let _ = p.parse(&b[i..]);
                }
            }
        }
        for unit in [
            ", relay=[192.0.2.1], reject=",
            "user=<",
            "> to=<",
            "[1",
            "; from=<",
            "login: ",
            "\" at (",
            ": ",
        ] {
            for prefix in [
                "2026-03-13T05:12:01Z h sm-mta[1]: ruleset=check_rcpt, arg1=",
                "2026-03-13T05:12:01Z h dovecot: pop3-login: Login: ",
                "2026-03-13T05:12:01Z h postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 ",
                "2026-03-13 05:12:01 H=(",
                "2026-03-13T05:12:01Z h cyrus/pop3[1]: login: ",
                "2026-03-13T05:12:01Z h qpopper: POP login by user \"",
            ] {
                let mut line = prefix.to_string();
                while line.len() < MAX_LINE - unit.len() {
                    line.push_str(unit);
                }
                let t = std::time::Instant::now();
                let _ = p.parse(line.as_bytes());
                assert!(t.elapsed().as_millis() < 500, "slow: {prefix} {unit}");
            }
        }
    }

    /// Micro-benchmark: `cargo test --release --lib ingest::parse::tests::throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn throughput() {
        let lines = fixtures::benchmark_lines();
        let mut p = parser();
        let rounds = 2_000_000 / lines.len() + 1;
        let mut events = 0usize;
        let t = std::time::Instant::now();
        for _ in 0..rounds {
            for l in &lines {
                if let Parsed::Event(e) = p.parse(l.as_bytes()) {
                    events += 1;
                    std::hint::black_box(e);
                }
            }
        }
        let n = rounds * lines.len();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{n} lines, {events} events in {secs:.3}s: {:.0} lines/s",
            n as f64 / secs
        );
    }
}
