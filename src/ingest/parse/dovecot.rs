//! Dovecot 2.2–2.4 login processes.
//!
//! Syslog: `dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip=…, lip=…, …`; Dovecot's own
//! log: program `pop3-login`, message `Info: Login: …`. The part after the first `: ` that starts
//! an element (`key=`) is the element list (`login_log_format_elements`, order customizable, so
//! fields are looked up by key).
//!
//! Only the `*-login` processes are read. The auth process lines (`auth: passwd-file(taro,ip,…):
//! Password mismatch`, `unknown user`, `auth-worker(…): sql(…)`) are `Unrelated` on purpose: they
//! duplicate the failure that the login process logs for the same attempt (`Disconnected (auth
//! failed, …)` / `Aborted login (auth failed, …)` / 2.4 `Login aborted: … (auth failed …)`), and
//! only the login process line says which service (pop3/imap) it was. Counting both would count
//! every failure twice.

use super::{Parsed, elements, user_name};
use crate::domain::{ClientIp, Epoch, Event, FailReason, Service};

/// A `dovecot[pid]:` syslog message: `pop3-login: …`.
pub(super) fn parse_syslog(msg: &str, at: Epoch) -> Parsed {
    let Some(colon) = msg.find(": ") else {
        return Parsed::Unrelated;
    };
    let process = &msg[..colon];
    let body = &msg[colon + 2..];
    parse_process(
        process,
        super::framing::dovecot_level(body).unwrap_or(body),
        at,
    )
}

/// The message of one Dovecot process (level prefix already stripped).
pub(super) fn parse_process(process: &str, body: &str, at: Epoch) -> Parsed {
    let service = match process {
        "pop3-login" => Service::Pop3,
        "imap-login" => Service::Imap,
        // submission-login, managesieve-login, auth, auth-worker(…), imap(user), lmtp, master…
        _ => return Parsed::Unrelated,
    };
    let Some((head, elems)) = split_head(body) else {
        return if body.starts_with("Login: ") || body.starts_with("Logged in: ") {
            Parsed::Malformed
        } else {
            Parsed::Unrelated
        };
    };
    if head == "Login" || head == "Logged in" {
        return login(service, elems, at);
    }
    if !(head.starts_with("Disconnected")
        || head.starts_with("Aborted login")
        || head.starts_with("Login aborted"))
    {
        return Parsed::Unrelated;
    }
    let reason = if head.contains("auth failed") || head.contains("(auth_failed)") {
        FailReason::AuthFailed
    } else if head.contains("disallowed plaintext") || head.contains("disallowed cleartext") {
        FailReason::PlaintextDisallowed
    } else {
        // no auth attempts, inactivity, TLS trouble, logged out…
        return Parsed::Unrelated;
    };
    let Some([user, rip]) = elements(elems, ["user", "rip"]) else {
        return Parsed::Malformed;
    };
    let Some(ip) = rip.and_then(ClientIp::parse_lenient) else {
        return Parsed::Malformed;
    };
    let user = match user.filter(|u| !u.is_empty()) {
        Some(u) => match user_name(u) {
            Some(u) => Some(u),
            None => return Parsed::Malformed,
        },
        None => None,
    };
    Parsed::Event(Event::LoginFailed {
        at,
        service,
        user,
        ip,
        reason,
    })
}

fn login(service: Service, elems: &str, at: Epoch) -> Parsed {
    let Some([Some(user), Some(rip)]) = elements(elems, ["user", "rip"]) else {
        return Parsed::Malformed;
    };
    if user.is_empty() {
        return Parsed::Unrelated;
    }
    match (user_name(user), ClientIp::parse_lenient(rip)) {
        (Some(user), Some(ip)) => Parsed::Event(Event::Login {
            at,
            service,
            user,
            ip,
        }),
        _ => Parsed::Malformed,
    }
}

/// Splits `HEAD: key=…, …` at the first `: ` that is followed by an element key (`[A-Za-z_]+=`).
fn split_head(body: &str) -> Option<(&str, &str)> {
    let b = body.as_bytes();
    let mut from = 0;
    while let Some(i) = memchr::memchr(b':', &b[from..]) {
        let i = from + i;
        if b.get(i + 1) == Some(&b' ') {
            let rest = &b[i + 2..];
            let key = rest
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            if key > 0 && rest.get(key) == Some(&b'=') {
                return Some((&body[..i], &body[i + 2..]));
            }
        }
        from = i + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    fn login(user: &str, rip: &str, service: Service) -> Parsed {
        Parsed::Event(Event::Login {
            at: jst(2026, 3, 13, 5, 12, 1),
            service,
            user: user.into(),
            ip: ip(rip),
        })
    }

    fn failed(user: Option<&str>, rip: &str, service: Service, reason: FailReason) -> Parsed {
        Parsed::Event(Event::LoginFailed {
            at: jst(2026, 3, 13, 5, 12, 1),
            service,
            user: user.map(Into::into),
            ip: ip(rip),
            reason,
        })
    }

    const P: &str = "2026-03-13T05:12:01.276189+09:00 mail dovecot: ";

    #[test]
    fn logins() {
        let l = |m: &str| parse(&format!("{P}{m}"));
        assert_eq!(
            l(
                "pop3-login: Login: user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25, mpid=3147, TLS, session=<abc>"
            ),
            login("taro", "203.0.113.7", Service::Pop3)
        );
        // 2.4
        assert_eq!(
            l(
                "imap-login: Logged in: user=<taro@example.jp>, method=PLAIN, rip=2001:db8::7, lip=2001:db8::25, mpid=77, TLS"
            ),
            login("taro@example.jp", "2001:db8::7", Service::Imap)
        );
        // ::ffff: mapped, customized element order, user with spaces and commas.
        assert_eq!(
            l(
                "imap-login: Login: rip=::ffff:203.0.113.7, lip=::ffff:192.0.2.25, user=<Yamada, Taro x>, method=LOGIN"
            ),
            login("Yamada, Taro x", "203.0.113.7", Service::Imap)
        );
        // dovecot[pid] and Dovecot's own log file.
        assert_eq!(
            parse(
                "2026-03-13T05:12:01+09:00 mail dovecot[901]: pop3-login: Login: user=<taro>, rip=203.0.113.7"
            ),
            login("taro", "203.0.113.7", Service::Pop3)
        );
        assert_eq!(
            parse(
                "2026-03-13 05:12:01 pop3-login: Info: Login: user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25, mpid=1, session=<x>"
            ),
            login("taro", "203.0.113.7", Service::Pop3)
        );
        assert_eq!(
            l("pop3-login: Login: user=<>, rip=203.0.113.7"),
            Parsed::Unrelated
        );
        assert_eq!(
            l("pop3-login: Login: user=<taro>, lip=192.0.2.25"),
            Parsed::Malformed
        );
        assert_eq!(
            l("pop3-login: Login: user=<taro>, rip=nonsense"),
            Parsed::Malformed
        );
        assert_eq!(
            l("pop3-login: Login: user=<ta\u{1b}ro>, rip=203.0.113.7"),
            Parsed::Malformed
        );
        assert_eq!(l("pop3-login: Login: "), Parsed::Malformed);
        assert_eq!(
            l("submission-login: Login: user=<taro>, rip=203.0.113.7"),
            Parsed::Unrelated
        );
        assert_eq!(
            l("managesieve-login: Login: user=<taro>, rip=203.0.113.7"),
            Parsed::Unrelated
        );
    }

    #[test]
    fn failures() {
        let l = |m: &str| parse(&format!("{P}{m}"));
        let auth = FailReason::AuthFailed;
        assert_eq!(
            l(
                "pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25, session=<x>"
            ),
            failed(Some("taro"), "203.0.113.7", Service::Pop3, auth)
        );
        assert_eq!(
            l(
                "pop3-login: Aborted login (auth failed, 1 attempts in 4 secs): user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25"
            ),
            failed(Some("taro"), "203.0.113.7", Service::Pop3, auth)
        );
        assert_eq!(
            l(
                "imap-login: Login aborted: Connection closed (auth failed, 3 attempts in 16 secs) (auth_failed): user=<taro>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25, session=<x>"
            ),
            failed(Some("taro"), "203.0.113.7", Service::Imap, auth)
        );
        assert_eq!(
            l(
                "pop3-login: Aborted login (tried to use disallowed plaintext auth): rip=203.0.113.7, lip=192.0.2.25, session=<x>"
            ),
            failed(
                None,
                "203.0.113.7",
                Service::Pop3,
                FailReason::PlaintextDisallowed
            )
        );
        assert_eq!(
            l(
                "pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<>, rip=203.0.113.7"
            ),
            failed(None, "203.0.113.7", Service::Pop3, auth)
        );
        assert_eq!(
            l(
                "pop3-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=203.0.113.7, lip=192.0.2.25"
            ),
            Parsed::Unrelated
        );
        assert_eq!(
            l("pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<taro>"),
            Parsed::Malformed
        );
        // A client-chosen user name forging a second rip: refused.
        assert_eq!(
            l(
                "pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, rip=198.51.100.1, y=<>, method=PLAIN, rip=203.0.113.7"
            ),
            Parsed::Malformed
        );
        // Auth process lines duplicate the login process failure: unrelated.
        assert_eq!(
            l("auth: passwd-file(taro,203.0.113.7,<abc>): Password mismatch"),
            Parsed::Unrelated
        );
        assert_eq!(
            l("auth-worker(123): sql(taro,203.0.113.7): unknown user"),
            Parsed::Unrelated
        );
        assert_eq!(
            l("imap(taro)<123><abc>: Disconnected: Logged out in=10 out=200"),
            Parsed::Unrelated
        );
        assert_eq!(l("pop3-login: Disconnected: Logged out"), Parsed::Unrelated);
    }
}
