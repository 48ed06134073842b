//! Cyrus IMAP 2.2–3.x (`cyrus/pop3[pid]`, `cyrus/imap`, `cyrus/pop3s`, any `PREFIX/service` of
//! `syslog_prefix` or a named service, murder frontends `proxyd`/`pop3proxyd`, older
//! `pop3d`/`imapd` tags); imap/imapd.c, pop3d.c, proxyd.c:
//! - `login: HOST [IP] USER[+magic] MECH[+TLS] User logged in SESSIONID=<…>` (2.2: `login: HOST
//!   [IP] USER MECH[+TLS] REPLY`);
//! - `badlogin: HOST [IP] MECH (USER) [SASL(-13): authentication failure: …]` (3.x),
//!   `badlogin: HOST [IP] plaintext (USER) invalid user`, `badlogin: HOST [IP] MECH [SASL(-13):
//!   …]` (no user), 2.x `badlogin: HOST [IP] plaintext USER SASL(-13): …`;
//! - 3.13+ logfmt: `event=login.good … r.clienthost="HOST [IP]" u.username=USER …` and
//!   `event=login.bad r.clienthost=… u.username=… error=…` (imap/loginlog.c).
//!
//! `HOST [IP]` is Cyrus's own client host; `[IP]` alone when there is no reverse name.
//! Anonymous logins (`login: HOST [IP] anonymous …`) grant nothing and are `Unrelated`.

use super::{Parsed, host_ip, user_name};
use crate::domain::{Epoch, Event, FailReason, Service};

pub(super) fn parse(service: Service, msg: &str, at: Epoch) -> Parsed {
    if let Some(rest) = msg.strip_prefix("login: ") {
        let Some((ip, rest)) = host_ip(rest) else {
            return Parsed::Malformed;
        };
        let mut words = rest.split(' ').filter(|w| !w.is_empty());
        match words.next() {
            Some("anonymous") => Parsed::Unrelated,
            Some(w) => super::login(at, service, user_name(w), ip),
            None => Parsed::Malformed,
        }
    } else if let Some(rest) = msg.strip_prefix("badlogin: ") {
        let Some((ip, rest)) = host_ip(rest) else {
            return Parsed::Malformed;
        };
        let mut words = rest.split(' ').filter(|w| !w.is_empty());
        let _mech = words.next();
        let user = match words.next() {
            Some("login") if rest.contains("anonymous login refused") => None,
            Some(w) if w.starts_with('(') => {
                // `(USER)`: the user may contain spaces; it ends at the `) ` before the reason.
                let open = rest.find(" (").map_or(0, |o| o + 2);
                let inner = &rest[open..];
                let close = inner
                    .find(") [")
                    .or_else(|| inner.find(") invalid user"))
                    .or_else(|| inner.find(") "))
                    .or_else(|| inner.rfind(')'));
                match close.map(|c| &inner[..c]) {
                    Some(u) if !u.is_empty() => match user_name(u) {
                        Some(u) => Some(u),
                        None => return Parsed::Malformed,
                    },
                    _ => None,
                }
            }
            Some(w) if !w.starts_with("SASL(") && !w.starts_with('[') => match user_name(w) {
                Some(u) => Some(u),
                None => return Parsed::Malformed,
            },
            _ => None,
        };
        let reason = if rest.contains("user not found") || rest.ends_with(" invalid user") {
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
    } else if let Some(rest) = msg.strip_prefix("event=login.") {
        logfmt(service, rest, at)
    } else {
        Parsed::Unrelated
    }
}

/// The 3.13+ logfmt records after `event=login.`: `good …` or `bad …`.
fn logfmt(service: Service, rest: &str, at: Epoch) -> Parsed {
    let (good, pairs) = if let Some(p) = rest.strip_prefix("good ") {
        (true, p)
    } else if let Some(p) = rest.strip_prefix("bad ") {
        (false, p)
    } else {
        return Parsed::Unrelated;
    };
    let mut host = None;
    let mut user = None;
    let mut anonymous = false;
    let mut s = pairs;
    while !s.is_empty() {
        let Some(eq) = s.find('=') else { break };
        let key = &s[..eq];
        let Some((value, next)) = logfmt_value(&s[eq + 1..]) else {
            return Parsed::Malformed;
        };
        match key {
            "r.clienthost" if host.is_none() => host = Some(value),
            "u.username" if user.is_none() => user = Some(value),
            "r.clienthost" | "u.username" => return Parsed::Malformed,
            "login.anonymous" => anonymous = true,
            _ => {}
        }
        s = next.trim_start_matches(' ');
    }
    let Some((ip, _)) = host.as_deref().and_then(host_ip) else {
        return Parsed::Malformed;
    };
    let user = match user.as_deref().filter(|u| !u.is_empty()) {
        Some(u) => match user_name(u) {
            Some(u) => Some(u),
            None => return Parsed::Malformed,
        },
        None => None,
    };
    if good {
        if anonymous {
            Parsed::Unrelated
        } else {
            super::login(at, service, user, ip)
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

/// One logfmt value (bare up to a space, or `"…"` with `\"`, `\\`, `\n`, `\r`, `\t`,
/// `\x{hh}` escapes): the unescaped value and the rest after it.
fn logfmt_value(s: &str) -> Option<(String, &str)> {
    let Some(q) = s.strip_prefix('"') else {
        let end = s.find(' ').unwrap_or(s.len());
        return Some((s[..end].to_owned(), &s[end..]));
    };
    let mut out = String::new();
    let mut chars = q.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &q[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'x' => {
                    let rest = &q[i + 2..];
                    let hex = rest.strip_prefix('{')?.get(..3)?;
                    let v = u8::from_str_radix(hex.get(..2)?, 16).ok()?;
                    out.push(char::from(v));
                    for _ in 0..4 {
                        chars.next();
                    }
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
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
