//! Courier 0.5x–1.x.
//!
//! Mailbox logins (`pop3d`, `pop3d-ssl`, `imapd`, `imapd-ssl`, `courierpop3login`, `imaplogin`,
//! `courier-pop3d`, …; imap/imaplogin.C, pop3login.C, imapd.C, pop3dserver.C):
//! `[INFO: ]LOGIN, user=taro@example.jp, ip=[::ffff:203.0.113.7], port=[1060], protocol=POP3` and
//! `[INFO: ]LOGIN FAILED, user=…, ip=[…], port=[…]` or `LOGIN FAILED, method=PLAIN, ip=[…]` (an
//! AUTHENTICATE that failed: no user). The service comes from `protocol=` when logged, else the
//! tag.
//!
//! SMTP (`courieresmtpd`; module.esmtp/courieresmtpd.C): `error,relay=IP[,port=N][,ident=…],
//! msg="535 Authentication failed.",cmd: AUTH LOGIN` → `SmtpAuthFailed`;
//! `error,relay=IP[,port=N][,ident=…][,from=<s>][,to=<r>]: 513 Relaying denied.` →
//! `RelayRejected`, other replies → `Rejected`. The address comes first and is Courier's own
//! `TCPREMOTEIP`; sender and recipient are client-chosen and come after it.

use super::{Parsed, elements, strip_angle, user_name};
use crate::domain::{ClientIp, Epoch, Event, FailReason, Service};

pub(super) fn parse(service: Service, msg: &str, at: Epoch) -> Parsed {
    let msg = msg.strip_prefix("INFO: ").unwrap_or(msg);
    let (ok, elems) = if let Some(rest) = msg.strip_prefix("LOGIN, ") {
        (true, rest)
    } else if let Some(rest) = msg.strip_prefix("LOGIN FAILED, ") {
        (false, rest)
    } else {
        return Parsed::Unrelated; // LOGOUT, Connection, DISCONNECTED, TIMEOUT…
    };
    let Some([user, ipf, protocol, method]) = elements(elems, ["user", "ip", "protocol", "method"])
    else {
        return Parsed::Malformed;
    };
    let Some(ip) = ipf.and_then(ClientIp::parse_lenient) else {
        return Parsed::Malformed;
    };
    let service = match protocol {
        Some(p) if p.eq_ignore_ascii_case("pop3") => Service::Pop3,
        Some(p) if p.eq_ignore_ascii_case("imap") => Service::Imap,
        _ => service,
    };
    let user = match user.filter(|u| !u.is_empty()) {
        Some(u) => match user_name(u) {
            Some(u) => Some(u),
            None => return Parsed::Malformed,
        },
        None => None,
    };
    if ok {
        super::login(at, service, user, ip)
    } else {
        if user.is_none() && method.is_none() {
            return Parsed::Malformed;
        }
        Parsed::Event(Event::LoginFailed {
            at,
            service,
            user,
            ip,
            reason: FailReason::AuthFailed,
        })
    }
}

/// `courieresmtpd`: `error,relay=IP,…` lines.
pub(super) fn esmtpd(msg: &str, at: Epoch) -> Parsed {
    let Some(rest) = msg.strip_prefix("error,relay=") else {
        return Parsed::Unrelated;
    };
    // IPv6 addresses contain `:`; the address ends at the first `,` (or the `: ` of the reply).
    let end = memchr::memchr(b',', rest.as_bytes()).unwrap_or(rest.len());
    let ip_text = match rest[..end].find(": ") {
        Some(c) => &rest[..c],
        None => &rest[..end],
    };
    let Some(ip) = ClientIp::parse_lenient(ip_text) else {
        return Parsed::Malformed;
    };
    let after = &rest[ip_text.len()..];
    if let Some(m) = after.find(",msg=\"") {
        let text = &after[m + 6..];
        if text.starts_with("535 ") || text.starts_with("535-") {
            return Parsed::Event(Event::SmtpAuthFailed { at, ip, user: None });
        }
        return Parsed::Unrelated; // other command errors
    }
    // `,from=<s>,to=<r>: CODE text` — the reply is after the last `: ` followed by a code.
    let Some(r) = reply_start(after) else {
        return Parsed::Unrelated;
    };
    let fields = &after[..r];
    let reply = after[r + 2..].to_owned();
    let sender = fields
        .find(",from=")
        .map(|f| &fields[f + 6..])
        .map(|s| match s.rfind(",to=") {
            Some(t) => &s[..t],
            None => s,
        })
        .unwrap_or("");
    let rcpt = fields.rfind(",to=").map(|t| &fields[t + 4..]).unwrap_or("");
    let (sender, rcpt) = (strip_angle(sender).to_owned(), strip_angle(rcpt).to_owned());
    super::refused(
        reply.contains("Relaying denied"),
        at,
        ip,
        sender,
        rcpt,
        reply,
    )
}

/// Index of the last `: ` followed by a 4xx/5xx reply code.
fn reply_start(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut end = b.len();
    while let Some(i) = memchr::memmem::rfind(&b[..end], b": ") {
        let c = &b[i + 2..];
        if c.len() >= 3 && matches!(c[0], b'4' | b'5') && c[1..3].iter().all(u8::is_ascii_digit) {
            return Some(i);
        }
        end = i;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    #[test]
    fn courier_lines() {
        let at = jst(2026, 3, 3, 5, 12, 1);
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail pop3d: LOGIN, user=taro@example.jp, ip=[::ffff:203.0.113.7], port=[1060], protocol=POP3"
            ),
            Parsed::Event(Event::Login {
                at,
                service: Service::Pop3,
                user: "taro@example.jp".into(),
                ip: ip("203.0.113.7")
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail imapd-ssl: LOGIN FAILED, user=taro@example.jp, ip=[::ffff:203.0.113.7]"
            ),
            Parsed::Event(Event::LoginFailed {
                at,
                service: Service::Imap,
                user: Some("taro@example.jp".into()),
                ip: ip("203.0.113.7"),
                reason: FailReason::AuthFailed
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail imapd[77]: LOGIN, user=hanako, ip=[2001:db8::9], port=[4711], protocol=IMAP"
            ),
            Parsed::Event(Event::Login {
                at,
                service: Service::Imap,
                user: "hanako".into(),
                ip: ip("2001:db8::9")
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail pop3d: LOGOUT, user=taro, ip=[::ffff:203.0.113.7], port=[1060], top=0, retr=0"
            ),
            Parsed::Unrelated
        );
        assert_eq!(
            parse("Mar  3 05:12:01 mail pop3d: LOGIN, user=taro, port=[1]"),
            Parsed::Malformed
        );
        // A forged ip= inside a failed user name.
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail pop3d: LOGIN FAILED, user=x, ip=[198.51.100.1], ip=[::ffff:203.0.113.7]"
            ),
            Parsed::Malformed
        );
    }
}
