//! Courier (`pop3d`, `pop3d-ssl`, `imapd`, `imapd-ssl`, `courierpop3login`, `imaplogin`):
//! `LOGIN, user=taro@example.jp, ip=[::ffff:203.0.113.7], port=[1060], protocol=POP3` and
//! `LOGIN FAILED, user=…, ip=[…]`. The service comes from `protocol=` when logged, else the tag.

use super::{Parsed, elements, user_name};
use crate::domain::{ClientIp, Epoch, Event, FailReason, Service};

pub(super) fn parse(service: Service, msg: &str, at: Epoch) -> Parsed {
    let (ok, elems) = if let Some(rest) = msg.strip_prefix("LOGIN, ") {
        (true, rest)
    } else if let Some(rest) = msg.strip_prefix("LOGIN FAILED, ") {
        (false, rest)
    } else {
        return Parsed::Unrelated; // LOGOUT, Connection, DISCONNECTED, TIMEOUT…
    };
    let Some([user, ipf, protocol]) = elements(elems, ["user", "ip", "protocol"]) else {
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
        match user {
            Some(user) => Parsed::Event(Event::Login {
                at,
                service,
                user,
                ip,
            }),
            None => Parsed::Malformed,
        }
    } else {
        Parsed::Event(Event::LoginFailed {
            at,
            service,
            user,
            ip,
            reason: FailReason::AuthFailed,
        })
    }
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
