//! Dovecot 1.0–2.4: the login processes and the auth process.
//!
//! Syslog: `dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip=…, lip=…, …`; Dovecot's own
//! log: program `pop3-login`, message `Info: Login: …`. The part after the first `: ` that starts
//! an element (`key=`) is the element list (`login_log_format_elements`, order customizable, so
//! fields are looked up by key).
//!
//! Failures: the login process logs `Disconnected (auth failed, N attempts[ in S secs]): …`,
//! `Aborted login (…)`, 2.4 `Login aborted: … (auth failed, …) (auth_failed): …`. The auth process
//! (`auth:`, 1.x `auth(default):`, `auth-worker(N):`) logs `DRIVER(USER,IP[,<SESSION>]): Password
//! mismatch` / `unknown user` / `pam_authenticate() failed: …` when `auth_verbose` is on. Both are
//! failed logins; the auth process line names no service (`Service::Auth`). A site with
//! `auth_verbose` logs one attempt twice, first by the auth process: the correlator drops the
//! login process's line that repeats it (`Correlator::repeats`).

use super::{Parsed, elements, user_name};
use crate::domain::{ClientIp, Epoch, Event, FailReason, Service};

/// A `dovecot[pid]:` syslog message: `pop3-login: …`.
pub(super) fn parse_syslog(msg: &str, at: Epoch) -> Parsed {
    let Some(colon) = super::find_colon_space(msg.as_bytes()) else {
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

/// A line of Dovecot's `submission-login`: its logins are SMTP AUTH successes, its auth
/// failures SMTP AUTH failures (the login process's messages, as for POP3 and IMAP).
fn submission(body: &str, at: Epoch) -> Parsed {
    match parse_process("imap-login", body, at) {
        Parsed::Event(Event::Login { user, ip, at, .. }) => {
            Parsed::Event(Event::SmtpAuth { at, ip, user })
        }
        Parsed::Event(Event::LoginFailed { user, ip, at, .. }) => {
            Parsed::Event(Event::SmtpAuthFailed { at, ip, user })
        }
        other => other,
    }
}

/// The message of one Dovecot process (level prefix already stripped).
pub(super) fn parse_process(process: &str, body: &str, at: Epoch) -> Parsed {
    let service = match process {
        "pop3-login" => Service::Pop3,
        "imap-login" => Service::Imap,
        // The same account's password, for Sieve scripts: a failure counts as a failed
        // password; a success is no mail check.
        "managesieve-login" => Service::Sieve,
        // Dovecot's submission service: SMTP AUTH, a send, never a mail check.
        "submission-login" => return submission(body, at),
        _ if process.starts_with("auth") => {
            return auth_request_prefix(process, body, at)
                .unwrap_or_else(|| auth_process(body, at));
        }
        // imap(user), lmtp, master…
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
        if service == Service::Sieve {
            return Parsed::Unrelated;
        }
        return login(service, elems, at);
    }
    if !(head.starts_with("Disconnected")
        || head.starts_with("Aborted login")
        || head.starts_with("Login aborted"))
    {
        return Parsed::Unrelated;
    }
    let Some(reason) = disconnect_reason(head) else {
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

/// The failure a login process's disconnect reason reports (`client_get_extra_disconnect_reason`
/// of login-common: `auth failed, N attempts`, `authorization failed`, `user disabled`, `password
/// expired`, `login disabled`, `tried to use disallowed plaintext auth` (2.0: `disabled`, 2.4:
/// `cleartext`), a proxy's `proxy dest auth failed`; 2.4 adds the event reason `(auth_failed)`).
/// `None` for disconnects that are no failed login (`no auth attempts`, `N/M successful auths`,
/// `auth aborted by client`, inactivity, TLS trouble).
fn disconnect_reason(head: &str) -> Option<FailReason> {
    if head.contains("successful auths") {
        return None;
    }
    if head.contains("plaintext auth") || head.contains("cleartext auth") {
        return Some(FailReason::PlaintextDisallowed);
    }
    [
        "auth failed",
        "(auth_failed)",
        "authorization failed",
        "user disabled",
        "password expired",
        "login disabled",
        "proxy dest auth",
        "authentication failure",
    ]
    .iter()
    .any(|r| head.contains(r))
    .then_some(FailReason::AuthFailed)
}

/// An auth process line: `DRIVER(USER,IP[,<SESSION>]): MESSAGE`, possibly after connection
/// prefixes (`conn unix:auth-worker (pid=…,uid=…): auth-worker<2>: `). The user is client-chosen
/// and comes before the address: every `): ` whose left side ends in `,IP` or `,IP,<…>` and whose
/// right side is a failure message is a candidate; more than one candidate (a user name or a
/// logged password forging the shape) is `Malformed`.
fn auth_process(body: &str, at: Epoch) -> Parsed {
    let b = body.as_bytes();
    let mut found: Option<(Option<&str>, ClientIp, FailReason)> = None;
    let mut from = 0;
    for _ in 0..16 {
        let Some(i) = memchr::memmem::find(&b[from..], b"): ") else {
            break;
        };
        let i = from + i;
        from = i + 3;
        let Some(reason) = auth_message(&body[i + 3..]) else {
            continue;
        };
        let Some((user, ip)) = auth_prefix(&body[..i]) else {
            continue;
        };
        if found.is_some() {
            return Parsed::Malformed;
        }
        found = Some((user, ip, reason));
    }
    let Some((user, ip, reason)) = found else {
        return Parsed::Unrelated;
    };
    let user = match user {
        Some(u) => match user_name(u) {
            Some(u) => Some(u),
            None => return Parsed::Malformed,
        },
        None => None,
    };
    Parsed::Event(Event::LoginFailed {
        at,
        service: Service::Auth,
        user,
        ip,
        reason,
    })
}

/// Dovecot 2.4's auth lines carry the request in the process prefix and the passdb before the
/// message: `auth(USER,IP,sasl:MECH)<ID>: DRIVER: MESSAGE` (auth/auth-request.c
/// `auth_request_get_log_prefix` with the 2.4 event log prefix). `None` when `process` is not
/// of that shape (1.x `auth(default)`, `auth-worker(N)`).
fn auth_request_prefix(process: &str, body: &str, at: Epoch) -> Option<Parsed> {
    let inner = process.strip_prefix("auth(")?.split_once(')')?.0;
    let mut parts = inner.split(',');
    let (user, ip) = (parts.next()?, ClientIp::parse_lenient(parts.next()?)?);
    let message = body.split_once(": ").map_or(body, |(_, m)| m);
    let Some(reason) = auth_message(message) else {
        return Some(Parsed::Unrelated);
    };
    let user = match user {
        "" | "?" => None,
        u => match user_name(u) {
            Some(u) => Some(u),
            None => return Some(Parsed::Malformed),
        },
    };
    Some(Parsed::Event(Event::LoginFailed {
        at,
        service: Service::Auth,
        user,
        ip,
        reason,
    }))
}

/// What an auth process message says (auth-request.c `auth_request_log_password_mismatch`,
/// `_unknown_user`, passdb-pam.c, db-checkpassword.c, passdb-ldap.c).
fn auth_message(m: &str) -> Option<FailReason> {
    if m.starts_with("unknown user")
        || m.starts_with("pam_authenticate() failed: User not known")
        || m.starts_with("user not found")
    {
        Some(FailReason::UnknownUser)
    } else if m.starts_with("Password mismatch")
        || m.starts_with("password mismatch")
        || m.starts_with("pam_authenticate() failed")
        || m.starts_with("Login failed (status=")
        || m.starts_with("invalid credentials")
    {
        Some(FailReason::AuthFailed)
    } else {
        None
    }
}

/// `…DRIVER(USER,IP` or `…DRIVER(USER,IP,<SESSION>`: the user (`None` for `?`) and the address.
fn auth_prefix(head: &str) -> Option<(Option<&str>, ClientIp)> {
    let head = match head.strip_suffix('>') {
        Some(h) => &h[..h.rfind(",<")?],
        None => head,
    };
    let (rest, ip) = head.rsplit_once(',')?;
    let ip = ClientIp::parse_lenient(ip)?;
    // DRIVER: the first `name(` that starts the text or follows a space or `: `.
    let rb = rest.as_bytes();
    let mut from = 0;
    let open = loop {
        let p = from + memchr::memchr(b'(', &rb[from..])?;
        let start = rb[..p]
            .iter()
            .rposition(|c| !(c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_'))
            .map_or(0, |q| q + 1);
        if p > start && (start == 0 || rb[start - 1] == b' ') {
            break p;
        }
        from = p + 1;
    };
    let user = &rest[open + 1..];
    Some(((!user.is_empty() && user != "?").then_some(user), ip))
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
        // Dovecot's submission service: SMTP AUTH, a send, never a mail check.
        assert!(matches!(
            l("submission-login: Login: user=<taro>, rip=203.0.113.7"),
            Parsed::Event(Event::SmtpAuth { .. })
        ));
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
        // Auth process lines.
        assert_eq!(
            l("auth: passwd-file(taro,203.0.113.7,<abc>): Password mismatch"),
            failed(Some("taro"), "203.0.113.7", Service::Auth, auth)
        );
        assert_eq!(
            l("auth-worker(123): sql(taro,203.0.113.7): unknown user"),
            failed(
                Some("taro"),
                "203.0.113.7",
                Service::Auth,
                FailReason::UnknownUser
            )
        );
        // A user name forging the shape: two candidates, refused.
        assert_eq!(
            l("auth: passwd-file(x,198.51.100.1): Password mismatch,203.0.113.7): unknown user"),
            Parsed::Malformed
        );
        assert_eq!(
            l("imap(taro)<123><abc>: Disconnected: Logged out in=10 out=200"),
            Parsed::Unrelated
        );
        assert_eq!(l("pop3-login: Disconnected: Logged out"), Parsed::Unrelated);
    }
}
