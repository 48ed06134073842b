//! Exim 4.x (mainlog framing, or syslog tag `exim`/`exim4`); smtp_in.c, acl.c, receive.c:
//! - `H=dsl.example.jp (pc) [203.0.113.7] F=<taro@example.jp> rejected RCPT <a@example.net>:
//!   relay not permitted` → `RelayRejected`; other `rejected RCPT` → `Rejected`, and so are
//!   `rejected MAIL <s>: …`, `rejected EHLO or HELO x: …`, `rejected after DATA: …`, `rejected
//!   connection …`, with `temporarily rejected` too. `H=` may be `H=(pc) [ip]`, `H=[ip]`, with
//!   `:port`, and `I=[local]:25`, `X=…`, `A=…` fields may follow; after DATA the line starts with
//!   the message ID.
//! - `NAME authenticator failed for [H=]HOST: 535 Incorrect authentication data (set_id=user)` →
//!   `SmtpAuthFailed`.
//! - The arrival `MSGID <= sender … H=… [ip] … A=NAME:USER …` → `SmtpAuth` (arrivals without
//!   `A=` are `Unrelated`).
//!
//! The `(helo)` part is client-supplied and comes before the address. Exim by default refuses
//! HELO names with characters outside host-name syntax (no spaces, no parentheses), but accepts
//! address literals like `[192.0.2.1]`. So: an optional name token, then an optional
//! parenthesized HELO ending at the first `) `, then the `[ip]` — the bracket *after* the HELO,
//! never one inside it. (With `helo_accept_junk_hosts` a HELO containing `) [` could mislead this;
//! the line would still only concern that client's own connection.)

use super::{Parsed, bracket_ip, host_ip, strip_angle, user_name};
use crate::domain::{ClientIp, Epoch, Event};

/// An Exim line sent to syslog: by default (`syslog_timestamp = true`) it still starts with
/// Exim's own `YYYY-MM-DD HH:MM:SS` (with `.mmm` under `log_selector = +millisec`, a zone offset
/// under `log_timezone`) and `[pid] ` under `+pid`; log.c `log_write` writes that prefix before
/// the text either way.
pub(super) fn parse_syslog(msg: &str, at: Epoch) -> Parsed {
    parse(strip_own_stamp(msg), at)
}

/// `msg` without a leading Exim timestamp and `[pid]`.
fn strip_own_stamp(msg: &str) -> &str {
    let b = msg.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let stamp = b.len() > 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19);
    if !stamp {
        return msg;
    }
    let mut rest = &msg[19..];
    if let Some(ms) = rest.strip_prefix('.') {
        rest = ms.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    if let Some(zone) = rest.strip_prefix(' ')
        && zone.len() > 5
        && zone.as_bytes()[0].is_ascii()
        && matches!(zone.as_bytes()[0], b'+' | b'-')
        && zone.as_bytes()[1..5].iter().all(u8::is_ascii_digit)
        && zone.as_bytes()[5] == b' '
    {
        rest = &zone[5..];
    }
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    if let Some(pid) = rest.strip_prefix('[')
        && let Some(end) = pid.find("] ")
        && pid[..end].bytes().all(|c| c.is_ascii_digit())
    {
        return &pid[end + 2..];
    }
    rest
}

pub(super) fn parse(msg: &str, at: Epoch) -> Parsed {
    let (msg_id, body) = split_message_id(msg);
    if let Some(h) = body.strip_prefix("H=") {
        let Some(r) = h.find(" rejected ") else {
            return Parsed::Unrelated; // protocol errors, lost connections, …
        };
        return reject(h, r, at);
    }
    if msg_id && let Some(arrival) = body.strip_prefix("<= ") {
        return arrival_auth(arrival, at);
    }
    if let Some(i) = body.find(" authenticator failed for ")
        && !body[..i].contains(' ')
    {
        let Some((ip, rest)) = exim_host(&body[i + 26..]) else {
            return Parsed::Malformed;
        };
        let user = match rest.rfind("(set_id=") {
            Some(s) => {
                let u = &rest[s + 8..];
                match user_name(u.strip_suffix(')').unwrap_or(u)) {
                    Some(u) if !u.is_empty() => Some(u),
                    Some(_) => None,
                    None => return Parsed::Malformed,
                }
            }
            None => None,
        };
        return Parsed::Event(Event::SmtpAuthFailed { at, ip, user });
    }
    Parsed::Unrelated
}

/// A leading Exim message ID (`1rkQ2x-0001Ab-Cd`, or the 4.97+ `1rkQ2x-00000001Ab-Cdef`) and the
/// rest after it.
fn split_message_id(msg: &str) -> (bool, &str) {
    let b = msg.as_bytes();
    let Some(sp) = memchr::memchr(b' ', b) else {
        return (false, msg);
    };
    let t = &b[..sp];
    let dashes = t.iter().filter(|&&c| c == b'-').count();
    if (t.len() == 16 || t.len() == 23)
        && dashes == 2
        && t[6] == b'-'
        && t.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    {
        (true, &msg[sp + 1..])
    } else {
        (false, msg)
    }
}

/// `name (helo) [ip]:port`, `(helo) [ip]`, `name [ip]`, `[ip]`, each with an optional `H=`.
fn exim_host(s: &str) -> Option<(ClientIp, &str)> {
    let mut s = s.strip_prefix("H=").unwrap_or(s);
    if !s.starts_with('(') && !s.starts_with('[') {
        let sp = s.find(' ')?;
        if s[..sp].contains('[') {
            return host_ip(s);
        }
        s = &s[sp + 1..];
    }
    if s.starts_with('(') {
        let close = s.find(") ")?;
        s = &s[close + 2..];
    }
    bracket_ip(s)
}

/// `sender [R=…] H=host [ip] … A=NAME:USER[:SENDER] …` — the last `H=` that parses is Exim's
/// (the sender before it is client-chosen).
fn arrival_auth(s: &str, at: Epoch) -> Parsed {
    let mut found = None;
    let mut from = 0;
    for _ in 0..8 {
        let Some(i) = s[from..].find(" H=") else {
            break;
        };
        let i = from + i;
        if let Some((ip, rest)) = exim_host(&s[i + 3..]) {
            found = Some((ip, rest));
        }
        from = i + 3;
    }
    let Some((ip, rest)) = found else {
        return Parsed::Unrelated; // local submission: no H=
    };
    let Some(a) = rest.find(" A=") else {
        return Parsed::Unrelated;
    };
    let v = &rest[a + 3..];
    let v = &v[..v.find(' ').unwrap_or(v.len())];
    let Some((_, id)) = v.split_once(':') else {
        return Parsed::Unrelated; // no authenticated_id logged
    };
    let id = id.split(':').next().unwrap_or("");
    match user_name(id).filter(|u| !u.is_empty()) {
        Some(user) => Parsed::Event(Event::SmtpAuth { at, ip, user }),
        None => Parsed::Malformed,
    }
}

/// `H=… [F=<s>] [temporarily ]rejected WHAT…: reason`.
fn reject(h: &str, r: usize, at: Epoch) -> Parsed {
    let head = &h[..r];
    let head = head.strip_suffix(" temporarily").unwrap_or(head);
    let tail = &h[r + 10..];
    if let Some(t) = tail.strip_prefix("RCPT ") {
        return rcpt_reject(head, t, at);
    }
    let Some((ip, fields)) = exim_host(head) else {
        return Parsed::Malformed;
    };
    let mut sender = envelope_sender(fields);
    let reply = match tail.strip_prefix("MAIL ") {
        Some(t) => match t.find(": ") {
            Some(c) => {
                sender = strip_angle(&t[..c]);
                &t[c + 2..]
            }
            None => t,
        },
        None => match tail.find(": ") {
            Some(c) => &tail[c + 2..],
            None => tail,
        },
    };
    Parsed::Event(Event::Rejected {
        at,
        ip,
        sender: sender.to_owned(),
        rcpt: String::new(),
        reply: reply.to_owned(),
    })
}

/// The `F=<sender>` field of a reject line.
fn envelope_sender(fields: &str) -> &str {
    match fields.find(" F=<") {
        Some(f) => {
            let s = &fields[f + 4..];
            match s.rfind('>') {
                Some(e) => &s[..e],
                None => s,
            }
        }
        None => "",
    }
}

fn rcpt_reject(head: &str, tail: &str, at: Epoch) -> Parsed {
    let Some((ip, fields)) = exim_host(head) else {
        return Parsed::Malformed;
    };
    let sender = envelope_sender(fields);
    let (rcpt, reason) = match tail.find(": ") {
        Some(c) => (&tail[..c], &tail[c + 2..]),
        None => (tail, ""),
    };
    let rcpt = strip_angle(rcpt).to_owned();
    let sender = sender.to_owned();
    let reply = reason.to_owned();
    super::refused(
        reason.contains("relay not permitted"),
        at,
        ip,
        sender,
        rcpt,
        reply,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    #[test]
    fn exim_lines() {
        let at = jst(2026, 3, 13, 5, 12, 1);
        let relay = |ipa: &str, sender: &str| {
            Parsed::Event(Event::RelayRejected {
                at,
                ip: ip(ipa),
                sender: sender.into(),
                rcpt: "a@example.net".into(),
                reply: "relay not permitted".into(),
            })
        };
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 H=dsl.example.jp (pc) [203.0.113.7] F=<taro@example.jp> rejected RCPT <a@example.net>: relay not permitted"
            ),
            relay("203.0.113.7", "taro@example.jp")
        );
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 [4711] H=(pc) [203.0.113.7]:1060 F=<> rejected RCPT <a@example.net>: relay not permitted"
            ),
            relay("203.0.113.7", "")
        );
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 H=[2001:db8::7]:1060 F=<taro@example.jp> rejected RCPT <a@example.net>: relay not permitted"
            ),
            relay("2001:db8::7", "taro@example.jp")
        );
        // An address literal HELO: the IP after the HELO wins.
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 H=([198.51.100.1]) [203.0.113.7] F=<taro@example.jp> rejected RCPT <a@example.net>: relay not permitted"
            ),
            relay("203.0.113.7", "taro@example.jp")
        );
        assert_eq!(
            parse(
                "Mar 13 05:12:01 mail exim[77]: H=dsl.example.jp [203.0.113.7] F=<taro@example.jp> rejected RCPT <a@example.net>: relay not permitted"
            ),
            relay("203.0.113.7", "taro@example.jp")
        );
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 H=dsl.example.jp [203.0.113.7] F=<taro@example.jp> rejected RCPT <nobody@example.jp>: Unrouteable address"
            ),
            Parsed::Event(Event::Rejected {
                at,
                ip: ip("203.0.113.7"),
                sender: "taro@example.jp".into(),
                rcpt: "nobody@example.jp".into(),
                reply: "Unrouteable address".into()
            })
        );
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 dovecot_plain authenticator failed for (pc) [203.0.113.7]:1060: 535 Incorrect authentication data (set_id=taro)"
            ),
            Parsed::Event(Event::SmtpAuthFailed {
                at,
                ip: ip("203.0.113.7"),
                user: Some("taro".into())
            })
        );
        assert_eq!(
            parse("2026-03-13 05:12:01 Start queue run: pid=4711"),
            Parsed::Unrelated
        );
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 1rkQ2x-0001Ab-Cd <= taro@example.jp H=dsl.example.jp [203.0.113.7] P=esmtp S=444"
            ),
            Parsed::Unrelated
        );
        assert_eq!(
            parse("2026-03-13 05:12:01 H=dsl.example.jp F=<a> rejected RCPT <b>: x"),
            Parsed::Malformed
        );
    }
}
