//! Cyrus IMAP (`cyrus/pop3[pid]`, `cyrus/imap`, `cyrus/pop3s`, older `pop3d`/`imapd` tags):
//! `login: host.example [203.0.113.7] taro plaintext User logged in [SESSIONID=<…>]` and
//! `badlogin: host.example [203.0.113.7] plaintext taro SASL(-13): authentication failure: …`
//! (the user may be absent: `badlogin: host [ip] PLAIN [SASL(-13): …]`).

use super::{Parsed, host_ip, user_name};
use crate::domain::{Epoch, Event, FailReason, Service};

pub(super) fn parse(service: Service, msg: &str, at: Epoch) -> Parsed {
    if let Some(rest) = msg.strip_prefix("login: ") {
        let Some((ip, rest)) = host_ip(rest) else {
            return Parsed::Malformed;
        };
        let mut words = rest.split(' ').filter(|w| !w.is_empty());
        match words.next().and_then(user_name) {
            Some(user) => Parsed::Event(Event::Login {
                at,
                service,
                user,
                ip,
            }),
            None => Parsed::Malformed,
        }
    } else if let Some(rest) = msg.strip_prefix("badlogin: ") {
        let Some((ip, rest)) = host_ip(rest) else {
            return Parsed::Malformed;
        };
        let mut words = rest.split(' ').filter(|w| !w.is_empty());
        let _mech = words.next();
        let user = match words.next() {
            Some(w) if !w.starts_with("SASL(") && !w.starts_with('[') => match user_name(w) {
                Some(u) => Some(u),
                None => return Parsed::Malformed,
            },
            _ => None,
        };
        let reason = if rest.contains("user not found") {
            FailReason::UnknownUser
        } else {
            FailReason::AuthFailed
        };
        Parsed::Event(Event::LoginFailed {
            at,
            service,
            user,
            ip,
            reason,
        })
    } else {
        Parsed::Unrelated
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    #[test]
    fn cyrus_lines() {
        let at = jst(2026, 3, 13, 5, 12, 1);
        let p = "2026-03-13T05:12:01+09:00 mail ";
        assert_eq!(
            parse(&format!(
                "{p}cyrus/pop3[27783]: login: host.example [203.0.113.7] taro plaintext User logged in"
            )),
            Parsed::Event(Event::Login {
                at,
                service: Service::Pop3,
                user: "taro".into(),
                ip: ip("203.0.113.7")
            })
        );
        assert_eq!(
            parse(&format!(
                "{p}cyrus/imaps[5355]: login: [2001:db8::7] hanako PLAIN+TLS User logged in SESSIONID=<x>"
            )),
            Parsed::Event(Event::Login {
                at,
                service: Service::Imap,
                user: "hanako".into(),
                ip: ip("2001:db8::7")
            })
        );
        assert_eq!(
            parse(&format!(
                "{p}imapd[5355]: login: host.example [203.0.113.7] taro plaintext"
            )),
            Parsed::Event(Event::Login {
                at,
                service: Service::Imap,
                user: "taro".into(),
                ip: ip("203.0.113.7")
            })
        );
        assert_eq!(
            parse(&format!(
                "{p}cyrus/imap[5355]: badlogin: host.example [203.0.113.7] plaintext taro SASL(-13): authentication failure: checkpass failed"
            )),
            Parsed::Event(Event::LoginFailed {
                at,
                service: Service::Imap,
                user: Some("taro".into()),
                ip: ip("203.0.113.7"),
                reason: FailReason::AuthFailed
            })
        );
        assert_eq!(
            parse(&format!(
                "{p}cyrus/pop3[1]: badlogin: host.example [203.0.113.7] plaintext SASL(-13) user not found: checkpass failed"
            )),
            Parsed::Event(Event::LoginFailed {
                at,
                service: Service::Pop3,
                user: None,
                ip: ip("203.0.113.7"),
                reason: FailReason::UnknownUser
            })
        );
        assert_eq!(
            parse(&format!("{p}cyrus/pop3[1]: login: host.example taro")),
            Parsed::Malformed
        );
        assert_eq!(
            parse(&format!("{p}cyrus/lmtpd[1]: login: x [203.0.113.7] y")),
            Parsed::Unrelated
        );
        assert_eq!(
            parse(&format!("{p}cyrus/pop3[1]: accepted connection")),
            Parsed::Unrelated
        );
    }
}
