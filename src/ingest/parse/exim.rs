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
//! - `H=… dropped by 'connect' ACL[: reason]` (4.97+, TLS-on-connect ports), `SMTP protocol
//!   synchronization error (…): rejected …`, `SMTP call from HOST dropped: too many …` →
//!   `Rejected`; `SMTP protocol error in "AUTH …" H=… AUTH command used when not advertised`
//!   (or `… mechanism not supported`) → `SmtpAuthFailed`. A ` DS` (`+dnssec`) before `H=` is
//!   skipped.
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
    // `+dnssec` writes ` DS` right before the host of a connection line.
    let body = match body.strip_prefix("DS") {
        Some(b) if b.starts_with("H=") => b,
        _ => body,
    };
    if let Some(h) = body.strip_prefix("H=") {
        if let Some(r) = h.find(" rejected ") {
            return reject(h, r, at);
        }
        // 4.97+: the connect ACL refused a TLS-on-connect client before TLS began.
        if let Some(d) = h.find(" dropped by 'connect' ACL") {
            let Some((ip, _)) = exim_host(&h[..d]) else {
                return Parsed::Malformed;
            };
            let after = &h[d + " dropped by 'connect' ACL".len()..];
            let reply = after
                .strip_prefix(": ")
                .unwrap_or("dropped by 'connect' ACL");
            return super::refused(false, at, ip, String::new(), String::new(), reply.into());
        }
        return Parsed::Unrelated; // lost connections, incomplete transactions, …
    }
    if let Some(rest) = body.strip_prefix("SMTP protocol synchronization error (") {
        return sync_error(rest, at);
    }
    if let Some(rest) = body.strip_prefix("SMTP call from ") {
        return call_dropped(rest, at);
    }
    if let Some(rest) = body.strip_prefix("SMTP protocol error in ") {
        return auth_protocol_error(rest, at);
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

/// `input sent without waiting for greeting): rejected connection from H=… input="…"` and
/// `next input sent too soon: pipelining was[ not] advertised): rejected "CMD" H=… next
/// input="…"` (smtp_in.c): the client was answered 554 and disconnected. The command and the
/// input are the client's own text, so the host is taken only where exactly one ` H=` parses
/// and is followed by Exim's own next field.
fn sync_error(rest: &str, at: Epoch) -> Parsed {
    const REPLY: &str = "554 SMTP synchronization error";
    if let Some(h) =
        rest.strip_prefix("input sent without waiting for greeting): rejected connection from ")
    {
        let Some(end) = h.find(" input=") else {
            return Parsed::Malformed;
        };
        return match exim_host(&h[..end]) {
            Some((ip, _)) => {
                super::refused(false, at, ip, String::new(), String::new(), REPLY.into())
            }
            None => Parsed::Malformed,
        };
    }
    if !rest.starts_with("next input sent too soon: ") {
        return Parsed::Unrelated;
    }
    let mut found = None;
    let mut from = 0;
    for _ in 0..16 {
        let Some(i) = rest[from..].find(" H=") else {
            break;
        };
        let at_h = from + i + 1;
        let tail = &rest[at_h..];
        if let Some(n) = tail.find(" next input=")
            && let Some((ip, after)) = exim_host(&tail[..n])
            && (after.is_empty() || after.starts_with(" I=") || after.starts_with(" U="))
        {
            if found.is_some_and(|f| f != ip) {
                return Parsed::Malformed;
            }
            found = Some(ip);
        }
        from = at_h;
    }
    match found {
        Some(ip) => super::refused(false, at, ip, String::new(), String::new(), REPLY.into()),
        None => Parsed::Malformed,
    }
}

/// `HOST dropped: too many syntax or protocol errors (last command was "…", C=…)`, and the
/// `too many nonmail commands` / `too many unrecognized commands` variants (smtp_in.c): the
/// host has no `H=`; a local `U=`-only session is none of ours.
fn call_dropped(rest: &str, at: Epoch) -> Parsed {
    let Some(d) = rest.find(" dropped: ") else {
        return Parsed::Unrelated;
    };
    let Some((ip, _)) = exim_host(&rest[..d]) else {
        return Parsed::Unrelated;
    };
    let why = &rest[d + 10..];
    let reply = why.find(" (last").map_or(why, |e| &why[..e]);
    super::refused(false, at, ip, String::new(), String::new(), reply.into())
}

/// `"CMD" H=… MESSAGE` under `+smtp_protocol_error`: an AUTH the server does not offer is a
/// failed SMTP AUTH; other protocol errors are not. The quoted command may hold credentials
/// and is never kept.
fn auth_protocol_error(rest: &str, at: Epoch) -> Parsed {
    let failed = rest.ends_with(" AUTH command used when not advertised")
        || rest.ends_with(" authentication mechanism not supported");
    if !failed {
        return Parsed::Unrelated;
    }
    let Some(h) = rest.rfind(" H=") else {
        return Parsed::Malformed;
    };
    match exim_host(&rest[h + 1..]) {
        Some((ip, _)) => Parsed::Event(Event::SmtpAuthFailed { at, ip, user: None }),
        None => Parsed::Malformed,
    }
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
