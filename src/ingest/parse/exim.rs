//! Exim (mainlog framing, or syslog tag `exim`/`exim4`):
//! `H=dsl.example.jp (pc) [203.0.113.7] F=<taro@example.jp> rejected RCPT <a@example.net>: relay
//! not permitted` → `RelayRejected`; other `rejected RCPT` → `Rejected`. `H=` may be `H=(pc) [ip]`,
//! `H=[ip]`, with `:port`. Also `NAME authenticator failed for H: 535 … (set_id=user)` →
//! `SmtpAuthFailed`.
//!
//! The `(helo)` part is client-supplied and comes before the address. Exim by default refuses
//! HELO names with characters outside host-name syntax (no spaces, no parentheses), but accepts
//! address literals like `[192.0.2.1]`. So: an optional name token, then an optional
//! parenthesized HELO ending at the first `) `, then the `[ip]` — the bracket *after* the HELO,
//! never one inside it. (With `helo_accept_junk_hosts` a HELO containing `) [` could mislead this;
//! the line would still only concern that client's own connection.)

use super::{Parsed, bracket_ip, host_ip, strip_angle, user_name};
use crate::domain::{ClientIp, Epoch, Event};

pub(super) fn parse(msg: &str, at: Epoch) -> Parsed {
    if let Some(h) = msg.strip_prefix("H=") {
        let Some(r) = h.find(" rejected RCPT ") else {
            return Parsed::Unrelated; // rejected MAIL/EHLO/connection, protocol errors, …
        };
        return rcpt_reject(h, r, at);
    }
    if let Some(i) = msg.find(" authenticator failed for ")
        && !msg[..i].contains(' ')
    {
        let Some((ip, rest)) = exim_host(&msg[i + 26..]) else {
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

/// `name (helo) [ip]:port`, `(helo) [ip]`, `name [ip]`, `[ip]`.
fn exim_host(s: &str) -> Option<(ClientIp, &str)> {
    let mut s = s;
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

fn rcpt_reject(h: &str, r: usize, at: Epoch) -> Parsed {
    let Some((ip, fields)) = exim_host(&h[..r]) else {
        return Parsed::Malformed;
    };
    let sender = match fields.find(" F=<") {
        Some(f) => {
            let s = &fields[f + 4..];
            match s.rfind('>') {
                Some(e) => &s[..e],
                None => s,
            }
        }
        None => "",
    };
    let tail = &h[r + 15..];
    let (rcpt, reason) = match tail.find(": ") {
        Some(c) => (&tail[..c], &tail[c + 2..]),
        None => (tail, ""),
    };
    let rcpt = strip_angle(rcpt).to_owned();
    let sender = sender.to_owned();
    let reply = reason.to_owned();
    if reason.contains("relay not permitted") {
        Parsed::Event(Event::RelayRejected {
            at,
            ip,
            sender,
            rcpt,
            reply,
        })
    } else {
        Parsed::Event(Event::Rejected {
            at,
            ip,
            sender,
            rcpt,
            reply,
        })
    }
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
