//! Fixture-driven tests over `tests/fixtures/parse/*`. Lines starting with `#` are fixture
//! comments; each file has one `# expect: kind=N …` header (kinds not named are expected 0).

use std::collections::BTreeMap;

use super::tests::{ip, parser};
use super::{Parsed, dispatch};
use crate::domain::Event;

macro_rules! fixture {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../../tests/fixtures/parse/", $name)) as &[u8],
        )
    };
}

pub(crate) const FIXTURES: &[(&str, &[u8])] = &[
    fixture!("dovecot.log"),
    fixture!("dovecot-own.log"),
    fixture!("courier.log"),
    fixture!("cyrus.log"),
    fixture!("uw.log"),
    fixture!("qpopper.log"),
    fixture!("postfix.log"),
    fixture!("sendmail.log"),
    fixture!("exim.log"),
    fixture!("rfc5424.log"),
    fixture!("journald.json"),
    fixture!("unrelated.log"),
    fixture!("garbage.log"),
    fixture!("poison.log"),
];

/// The non-comment lines of a fixture (a final empty piece after the last `\n` is not a line).
pub(crate) fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.starts_with(b"#"))
}

fn kind(p: &Parsed) -> &'static str {
    match p {
        Parsed::Event(e) => e.kind(),
        Parsed::Unrelated => "unrelated",
        Parsed::Malformed => "malformed",
    }
}

fn expected(name: &str, bytes: &[u8]) -> BTreeMap<String, usize> {
    let text = String::from_utf8_lossy(bytes);
    let header = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect:"))
        .unwrap_or_else(|| panic!("{name}: no `# expect:` header"));
    header
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

#[test]
fn fixture_counts() {
    for (name, bytes) in FIXTURES {
        let mut p = parser();
        let mut got = BTreeMap::<String, usize>::new();
        let mut listing = String::new();
        for line in lines(bytes) {
            let r = p.parse(line);
            *got.entry(kind(&r).to_owned()).or_default() += 1;
            listing.push_str(&format!(
                "{:>16} {}\n",
                kind(&r),
                String::from_utf8_lossy(line)
            ));
        }
        assert_eq!(got, expected(name, bytes), "{name}:\n{listing}");
    }
}

#[test]
fn poison_never_logs_in_nor_uses_the_forged_address() {
    let (_, bytes) = FIXTURES.iter().find(|(n, _)| *n == "poison.log").unwrap();
    let forged = ip("198.51.100.1");
    let real = ip("203.0.113.66");
    let mut p = parser();
    for line in lines(bytes) {
        let r = p.parse(line);
        let text = String::from_utf8_lossy(line);
        let Parsed::Event(e) = r else { continue };
        let addr = match &e {
            Event::Login { .. } => panic!("login from poison: {text}"),
            Event::LoginFailed { ip, .. }
            | Event::RelayRejected { ip, .. }
            | Event::Rejected { ip, .. }
            | Event::SmtpAuthFailed { ip, .. }
            | Event::QueueClient { ip, .. } => Some(*ip),
            _ => None,
        };
        if let Some(a) = addr {
            assert_ne!(a, forged, "{text}");
            assert_eq!(a, real, "{text}");
        }
    }
}

#[test]
fn mailbox_fixtures_have_no_mta_events_and_vice_versa() {
    for (name, bytes) in FIXTURES {
        let mut p = parser();
        for line in lines(bytes) {
            if let Parsed::Event(e) = p.parse(line) {
                // Dovecot's submission service logs SMTP AUTH beside the mailbox logins.
                let mailbox = matches!(
                    e,
                    Event::Login { .. }
                        | Event::LoginFailed { .. }
                        | Event::SmtpAuth { .. }
                        | Event::SmtpAuthFailed { .. }
                );
                match *name {
                    "postfix.log" | "sendmail.log" | "exim.log" | "poison.log" => {
                        assert!(
                            !matches!(e, Event::Login { .. }),
                            "{name}: {}",
                            String::from_utf8_lossy(line)
                        )
                    }
                    "dovecot.log" | "dovecot-own.log" | "courier.log" | "cyrus.log" | "uw.log"
                    | "qpopper.log" => assert!(mailbox, "{name}"),
                    _ => {}
                }
            }
        }
    }
}

/// The same message in every framing yields the same event.
#[test]
fn framings_agree() {
    let msg = "pop3-login: Login: user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25";
    let at = super::tests::jst(2026, 3, 13, 5, 12, 1);
    let want = dispatch("dovecot", msg, at);
    assert!(matches!(want, Parsed::Event(Event::Login { .. })));
    for line in [
        format!("Mar 13 05:12:01 mail dovecot: {msg}"),
        format!("Mar 13 05:12:01 mail dovecot[1]: {msg}"),
        format!("2026-03-13T05:12:01.276189+09:00 mail dovecot: {msg}"),
        format!("2026-03-12T20:12:01Z mail dovecot: {msg}"),
        format!("<22>1 2026-03-13T05:12:01+09:00 mail dovecot 1 - - {msg}"),
        format!("<22>Mar 13 05:12:01 mail dovecot: {msg}"),
        format!("2026-03-13 05:12:01 pop3-login: Info: {}", &msg[12..]),
        format!(
            r#"{{"__REALTIME_TIMESTAMP":"{}000000","SYSLOG_IDENTIFIER":"dovecot","MESSAGE":"{msg}"}}"#,
            at
        ),
    ] {
        assert_eq!(parser().parse(line.as_bytes()), want, "{line}");
    }
}

/// A synthetic, realistic mix for the micro-benchmark: mostly Postfix and Dovecot with RFC 3339
/// framing, a little noise.
pub(crate) fn benchmark_lines() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..1000u32 {
        let ts = format!(
            "2026-03-13T05:{:02}:{:02}.{:06}+09:00 mail",
            (i / 60) % 60,
            i % 60,
            i * 37
        );
        let ip = format!("203.0.113.{}", i % 250 + 1);
        let qid = format!("{:010X}", 0x4F2A1C0000u64 + i as u64);
        let user = format!("user{}", i % 97);
        out.push(format!(
            "{ts} postfix/smtpd[{}]: connect from dsl{i}.example.jp[{ip}]",
            800 + i % 50
        ));
        out.push(format!(
            "{ts} postfix/smtpd[{}]: {qid}: client=dsl{i}.example.jp[{ip}]",
            800 + i % 50
        ));
        out.push(format!(
            "{ts} postfix/cleanup[901]: {qid}: message-id=<{i}.{qid}@example.jp>"
        ));
        out.push(format!(
            "{ts} postfix/qmgr[900]: {qid}: from=<{user}@example.jp>, size={}, nrcpt=1 (queue active)",
            400 + i
        ));
        out.push(format!(
            "{ts} postfix/smtp[902]: {qid}: to=<rcpt{i}@example.net>, relay=mx.example.net[198.51.100.9]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as ABC{i})"
        ));
        out.push(format!("{ts} postfix/qmgr[900]: {qid}: removed"));
        out.push(format!(
            "{ts} postfix/smtpd[{}]: disconnect from dsl{i}.example.jp[{ip}] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5",
            800 + i % 50
        ));
        out.push(format!(
            "{ts} dovecot: pop3-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, mpid={}, TLS, session=<x8G0F0JvVoTLAHEH>",
            3000 + i
        ));
        out.push(format!(
            "{ts} dovecot: pop3({user})<{}><x8G0F0JvVoTLAHEH>: Disconnected: Logged out top=0/0, retr=1/2048, del=1/1, size=2048",
            3000 + i
        ));
        if i % 4 == 0 {
            out.push(format!(
                "{ts} postfix/smtpd[{}]: NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 <a{i}@example.net>: Relay access denied; from=<{user}@example.jp> to=<a{i}@example.net> proto=ESMTP helo=<pc>",
                800 + i % 50
            ));
            out.push(format!(
                "{ts} dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=192.0.2.25, session=<abc>"
            ));
        }
        if i % 3 == 0 {
            out.push(format!(
                "{ts} kernel: [12345.678901] IN=eth0 OUT= SRC={ip} DST=192.0.2.25 PROTO=TCP DPT=25"
            ));
            out.push(format!(
                "{ts} CRON[{}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)",
                4000 + i
            ));
            out.push(format!("{ts} postfix/anvil[907]: statistics: max connection rate 3/60s for (smtp:{ip}) at Mar 13 05:10:01"));
        }
    }
    out
}
