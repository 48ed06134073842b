//! Postfix (any `X/daemon` or `X/Y/daemon` tag; the last component picks the daemon).
//!
//! - smtpd: `NOQUEUE: reject: RCPT from host[ip]: REPLY; from=<s> to=<r> proto=ESMTP helo=<h>`
//!   (also `QUEUEID: reject:` and `milter-reject:`) → `RelayRejected` when the reply says `Relay
//!   access denied` (554 5.7.1 or the post-2.10 454 4.7.1), else `Rejected`; `reject_warning:` is
//!   unrelated. `warning: host[ip]: SASL X authentication failed: …[, sasl_username=u]` →
//!   `SmtpAuthFailed`. `QUEUEID: client=host[ip]…` → `QueueClient`.
//! - qmgr: `QUEUEID: from=<s>, size=…, nrcpt=…` → `QueueFrom`; `QUEUEID: removed` → `QueueRemoved`.
//! - smtp, lmtp, local, virtual, pipe, error, retry, discard: `QUEUEID: to=<r>, [orig_to=<…>,]
//!   relay=…, …, status=sent (…)` → `QueueTo`.
//!
//! Trust: the client IP comes from the fixed prefix `from host[ip]` (the host name was checked by
//! Postfix: no `[` in it), before any client-supplied text. Sender, recipient, HELO name and much
//! of the reply are client-supplied and Postfix logs them unquoted (internal form), so a sender
//! like `a> to=<b` makes `from=<…> to=<…>` ambiguous. Rules: the reply ends at the first
//! `; from=<`; the recipient is preferably the one the reply quotes (`554 5.7.1 <rcpt>: …`),
//! found again as `> to=<rcpt>` followed by ` proto=` or the end of the line; otherwise the split
//! is at the last `> to=<` before the last ` proto=`. A client can thus only confuse its *own*
//! line, and only into something it could have sent directly (any sender, any recipient, any
//! reply-triggering recipient), so no misreading grants or blames another address.

use super::{Parsed, find_comma_space, host_ip, strip_angle, user_name};
use crate::domain::{DeliveryStatus, Epoch, Event};

/// Whether `daemon` is a Postfix daemon whose lines this parser reads.
pub(super) fn is_daemon(daemon: &str) -> bool {
    matches!(
        daemon,
        "smtpd"
            | "postscreen"
            | "qmgr"
            | "postsuper"
            | "smtp"
            | "lmtp"
            | "local"
            | "virtual"
            | "pipe"
            | "error"
            | "retry"
            | "discard"
    )
}

pub(super) fn parse(daemon: &str, msg: &str, at: Epoch) -> Parsed {
    match daemon {
        "smtpd" => smtpd(msg, at),
        "postscreen" => postscreen(msg, at),
        "qmgr" | "postsuper" => qmgr(msg, at),
        "smtp" | "lmtp" | "local" | "virtual" | "pipe" | "error" | "retry" | "discard" => {
            delivery(daemon, msg, at)
        }
        // cleanup, pickup, postscreen, anvil, bounce, master, scache, tlsmgr, …
        _ => Parsed::Unrelated,
    }
}

/// `QUEUEID: rest` or `NOQUEUE: rest`. Queue IDs are `[0-9A-Za-z]+` (short hex or long form).
fn queue_prefix(msg: &str) -> Option<(&str, &str)> {
    let b = msg.as_bytes();
    let n = b
        .iter()
        .take(32)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if n < 5 || b.get(n) != Some(&b':') || b.get(n + 1) != Some(&b' ') {
        return None;
    }
    Some((&msg[..n], &msg[n + 2..]))
}

fn smtpd(msg: &str, at: Epoch) -> Parsed {
    if let Some(rest) = msg.strip_prefix("warning: ") {
        return sasl_failure(rest, at);
    }
    let Some((id, rest)) = queue_prefix(msg) else {
        return Parsed::Unrelated; // connect from, disconnect from, lost connection, …
    };
    if let Some(r) = rest
        .strip_prefix("reject: ")
        .or_else(|| rest.strip_prefix("milter-reject: "))
    {
        return reject(r, at);
    }
    if let Some(r) = rest.strip_prefix("client=") {
        if id == "NOQUEUE" {
            return Parsed::Unrelated;
        }
        let Some((ip, after)) = host_ip(r) else {
            return Parsed::Malformed;
        };
        return match sasl_username(after) {
            Ok(sasl_user) => Parsed::Event(Event::QueueClient {
                at,
                queue_id: id.to_owned(),
                ip,
                sasl_user,
            }),
            Err(()) => Parsed::Malformed,
        };
    }
    Parsed::Unrelated
}

/// `, sasl_method=M, sasl_username=U[, sasl_sender=…][, orig_queue_id=…][, orig_client=…]` after
/// the client (smtpd.c): the user up to the next fixed element. `Err` for control characters.
fn sasl_username(after: &str) -> Result<Option<String>, ()> {
    super::needle!(SASL_USERNAME = ", sasl_username=");
    let Some(u) = SASL_USERNAME.find(after) else {
        return Ok(None);
    };
    let v = &after[u + 16..];
    let end = [", sasl_sender=", ", orig_queue_id=", ", orig_client="]
        .iter()
        .filter_map(|k| v.find(k))
        .min()
        .unwrap_or(v.len());
    match &v[..end] {
        "" => Ok(None),
        name => user_name(name).map(Some).ok_or(()),
    }
}

/// postscreen (postscreen_smtpd.c): `NOQUEUE: reject: RCPT from [ip]:port: REPLY; from=<s>,
/// to=<r>, proto=P, helo=<h>` — commas between the elements, unlike smtpd. Always `Rejected`:
/// postscreen refuses a client (DNSBL, pregreet, protocol tests), never a relay.
fn postscreen(msg: &str, at: Epoch) -> Parsed {
    let Some(r) = msg.strip_prefix("NOQUEUE: reject: RCPT from ") else {
        return Parsed::Unrelated;
    };
    let Some((ip, after)) = super::bracket_ip(r) else {
        return Parsed::Malformed;
    };
    let Some(tail) = after.strip_prefix(": ") else {
        return Parsed::Malformed;
    };
    let Some(f) = tail.rfind("; from=<") else {
        return Parsed::Malformed;
    };
    let reply = &tail[..f];
    let env = &tail[f + 8..];
    let env = &env[..env.rfind(", proto=").unwrap_or(env.len())];
    let (sender, rcpt) = match env.rfind(">, to=<") {
        Some(i) => (&env[..i], strip_angle_end(&env[i + 7..])),
        None => (strip_angle_end(env), ""),
    };
    Parsed::Event(Event::Rejected {
        at,
        ip,
        sender: sender.to_owned(),
        rcpt: rcpt.to_owned(),
        reply: reply.to_owned(),
    })
}

/// `STAGE from host[ip]: REPLY; from=<s> to=<r> proto=P helo=<h>`.
fn reject(r: &str, at: Epoch) -> Parsed {
    let Some(sp) = r.find(" from ") else {
        return Parsed::Malformed;
    };
    if !r[..sp].bytes().all(|c| c.is_ascii_uppercase() || c == b'-') {
        return Parsed::Unrelated; // not `STAGE from`: a form this parser does not know
    }
    let Some((ip, after)) = host_ip(&r[sp + 6..]) else {
        return Parsed::Malformed;
    };
    let Some(tail) = after.strip_prefix(": ") else {
        return Parsed::Malformed;
    };
    let (reply, sender, rcpt) = match tail.find("; from=<") {
        Some(f) => {
            let (sender, rcpt) = envelope(&tail[f + 8..], &tail[..f]);
            (&tail[..f], sender, rcpt)
        }
        None => {
            let end = tail.find("; proto=").unwrap_or(tail.len());
            (&tail[..end], "", "")
        }
    };
    let (reply, sender, rcpt) = (reply.to_owned(), sender.to_owned(), rcpt.to_owned());
    super::refused(
        reply.contains("Relay access denied"),
        at,
        ip,
        sender,
        rcpt,
        reply,
    )
}

/// After `; from=<`: `SENDER> to=<RCPT> proto=… helo=<…>` (to= and the rest optional).
fn envelope<'a>(t: &'a str, reply: &str) -> (&'a str, &'a str) {
    // Preferred: the recipient that the reply quotes (`554 5.7.1 <rcpt>: …`), found again as
    // `> to=<rcpt>` followed by ` proto=` or the end.
    if let Some(r0) = reply_rcpt(reply) {
        let mut from = 0;
        for _ in 0..8 {
            let Some(k) = r0[from..].find(">: ") else {
                break;
            };
            let rcpt = &r0[..from + k];
            if let Some(p) = find_to(t, rcpt) {
                return (&t[..p - 6], &t[p..p + rcpt.len()]);
            }
            from += k + 1;
        }
    }
    let mid = match t.rfind(" proto=") {
        Some(p) => &t[..p],
        None => t,
    };
    match mid.rfind("> to=<") {
        Some(i) => (&mid[..i], strip_angle_end(&mid[i + 6..])),
        None => (strip_angle_end(mid), ""),
    }
}

/// The text after the `<` of a reply `DDD X.Y.Z <…` (or Postfix 2.0/2.1's `DDD <…`, without
/// an enhanced status code).
fn reply_rcpt(reply: &str) -> Option<&str> {
    let b = reply.as_bytes();
    if b.len() < 6 || !b[..3].iter().all(u8::is_ascii_digit) || b[3] != b' ' {
        return None;
    }
    let rest = &reply[4..];
    if let Some(r) = rest.strip_prefix('<') {
        return Some(r);
    }
    let sp = rest.find(' ')?;
    rest[sp + 1..].strip_prefix('<')
}

/// Position `p` of `rcpt` in `t` such that `t[..p]` ends with `> to=<` and `rcpt` is followed by
/// `> proto=` or a final `>`.
fn find_to(t: &str, rcpt: &str) -> Option<usize> {
    let mut from = 0;
    for _ in 0..8 {
        let p = from + t.get(from..)?.find(rcpt)?;
        let after = &t[p + rcpt.len()..];
        if t[..p].ends_with("> to=<") && (after == ">" || after.starts_with("> proto=")) {
            return Some(p);
        }
        from = p + 1;
        while !t.is_char_boundary(from) {
            from += 1;
        }
    }
    None
}

fn strip_angle_end(s: &str) -> &str {
    s.strip_suffix('>').unwrap_or(s)
}

/// `host[ip]: SASL LOGIN authentication failed: …[, sasl_username=u]`.
fn sasl_failure(rest: &str, at: Epoch) -> Parsed {
    let Some((ip, after)) = host_ip(rest) else {
        return Parsed::Unrelated; // other warnings
    };
    let Some(sasl) = after.strip_prefix(": SASL ") else {
        return Parsed::Unrelated;
    };
    let Some(sp) = sasl.find(' ') else {
        return Parsed::Unrelated;
    };
    if !sasl[sp..].starts_with(" authentication failed") {
        return Parsed::Unrelated;
    }
    // 3.x always appends `, sasl_username=U`, `(unavailable)` when the client sent none.
    let user = match sasl.rfind(", sasl_username=") {
        Some(u) if u + 16 < sasl.len() && &sasl[u + 16..] != "(unavailable)" => {
            match user_name(&sasl[u + 16..]) {
                Some(u) => Some(u),
                None => return Parsed::Malformed,
            }
        }
        _ => None,
    };
    Parsed::Event(Event::SmtpAuthFailed { at, ip, user })
}

fn qmgr(msg: &str, at: Epoch) -> Parsed {
    let Some((id, rest)) = queue_prefix(msg) else {
        return Parsed::Unrelated;
    };
    if id == "NOQUEUE" {
        return Parsed::Unrelated;
    }
    if rest == "removed" {
        return Parsed::Event(Event::QueueRemoved {
            at,
            queue_id: id.to_owned(),
        });
    }
    if let Some(r) = rest.strip_prefix("from=<") {
        // The sender is client-supplied; the fixed part follows it: `>, size=`.
        super::needle!(SIZE = ">, size=");
        let Some(end) = SIZE.rfind(r) else {
            return Parsed::Unrelated; // `from=<…>, status=expired, returned to sender`
        };
        return Parsed::Event(Event::QueueFrom {
            at,
            queue_id: id.to_owned(),
            sender: r[..end].to_owned(),
        });
    }
    Parsed::Unrelated
}

/// `QUEUEID: to=<rcpt>, [orig_to=<…>,] relay=R, delay=…, dsn=…, status=S (…)`.
fn delivery(daemon: &str, msg: &str, at: Epoch) -> Parsed {
    let Some((id, rest)) = queue_prefix(msg) else {
        return Parsed::Unrelated;
    };
    let Some(r) = rest.strip_prefix("to=<") else {
        return Parsed::Unrelated;
    };
    // The recipient ends before the first fixed element after it.
    super::needle!(ORIG_TO = ">, orig_to=<");
    super::needle!(RELAY = ">, relay=");
    super::needle!(RELAY_KEY = "relay=");
    super::needle!(STATUS = ", status=");
    let end = [ORIG_TO.find(r), RELAY.find(r)].into_iter().flatten().min();
    let Some(end) = end else {
        return Parsed::Malformed;
    };
    let rcpt = &r[..end];
    let after = &r[end + 3..];
    let relay = match RELAY_KEY.find(after) {
        Some(i) => {
            let v = &after[i + 6..];
            &v[..find_comma_space(v.as_bytes()).unwrap_or(v.len())]
        }
        None => "",
    };
    let Some(s) = STATUS.find(after) else {
        return Parsed::Malformed;
    };
    let word = after[s + 9..].split(' ').next().unwrap_or("");
    let status = match word {
        "sent" => DeliveryStatus::Sent,
        "deferred" => DeliveryStatus::Deferred,
        "bounced" => DeliveryStatus::Bounced,
        _ => DeliveryStatus::Other,
    };
    let local = match daemon {
        "lmtp" | "local" | "virtual" | "pipe" | "discard" => true,
        "error" | "retry" => false,
        _ => {
            relay == "local"
                || relay.starts_with("local[")
                || relay.starts_with("dovecot")
                || relay.contains("private/dovecot-lmtp")
        }
    };
    Parsed::Event(Event::QueueTo {
        at,
        queue_id: id.to_owned(),
        rcpt: strip_angle(rcpt).to_owned(),
        status,
        local,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    const P: &str = "Mar  3 05:12:01 mail postfix/smtpd[8738]: ";

    fn at() -> Epoch {
        jst(2026, 3, 3, 5, 12, 1)
    }

    fn relay(ipa: &str, sender: &str, rcpt: &str, reply: &str) -> Parsed {
        Parsed::Event(Event::RelayRejected {
            at: at(),
            ip: ip(ipa),
            sender: sender.into(),
            rcpt: rcpt.into(),
            reply: reply.into(),
        })
    }

    fn rejected(ipa: &str, sender: &str, rcpt: &str, reply: &str) -> Parsed {
        Parsed::Event(Event::Rejected {
            at: at(),
            ip: ip(ipa),
            sender: sender.into(),
            rcpt: rcpt.into(),
            reply: reply.into(),
        })
    }

    #[test]
    fn relay_rejects() {
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp[203.0.113.7]: 554 5.7.1 <a@example.net>: Relay access denied; from=<taro@example.jp> to=<a@example.net> proto=ESMTP helo=<pc>"
            )),
            relay(
                "203.0.113.7",
                "taro@example.jp",
                "a@example.net",
                "554 5.7.1 <a@example.net>: Relay access denied"
            )
        );
        assert_eq!(
            parse(&format!(
                "{P}4F2A1C0594: reject: RCPT from unknown[2001:db8::7]:50123: 454 4.7.1 <a@example.net>: Relay access denied; from=<> to=<a@example.net> proto=ESMTP helo=<[2001:db8::7]>"
            )),
            relay(
                "2001:db8::7",
                "",
                "a@example.net",
                "454 4.7.1 <a@example.net>: Relay access denied"
            )
        );
        // Zero-padded day, submission instance, postfix-in.
        assert_eq!(
            parse(
                "Mar 03 05:12:01 mail postfix-in/submission/smtpd[1]: NOQUEUE: reject: RCPT from unknown[::ffff:203.0.113.7]: 554 5.7.1 <a@example.net>: Relay access denied; from=<taro@example.jp> to=<a@example.net> proto=ESMTP helo=<pc>"
            ),
            relay(
                "203.0.113.7",
                "taro@example.jp",
                "a@example.net",
                "554 5.7.1 <a@example.net>: Relay access denied"
            )
        );
    }

    #[test]
    fn other_rejects() {
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp[203.0.113.7]: 550 5.1.1 <x@example.jp>: Recipient address rejected: User unknown in local recipient table; from=<taro@example.jp> to=<x@example.jp> proto=ESMTP helo=<pc>"
            )),
            rejected(
                "203.0.113.7",
                "taro@example.jp",
                "x@example.jp",
                "550 5.1.1 <x@example.jp>: Recipient address rejected: User unknown in local recipient table"
            )
        );
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp[203.0.113.7]: 451 4.3.5 Server configuration problem; from=<taro@example.jp> to=<a@example.net> proto=ESMTP helo=<pc>"
            )),
            rejected(
                "203.0.113.7",
                "taro@example.jp",
                "a@example.net",
                "451 4.3.5 Server configuration problem"
            )
        );
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: CONNECT from unknown[198.51.100.20]: 554 5.7.1 <unknown[198.51.100.20]>: Client host rejected: Access denied; proto=SMTP"
            )),
            rejected(
                "198.51.100.20",
                "",
                "",
                "554 5.7.1 <unknown[198.51.100.20]>: Client host rejected: Access denied"
            )
        );
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: MAIL from dsl.example.jp[203.0.113.7]: 553 5.7.1 <x@example.jp>: Sender address rejected: not owned by user; from=<x@example.jp> proto=ESMTP helo=<pc>"
            )),
            rejected(
                "203.0.113.7",
                "x@example.jp",
                "",
                "553 5.7.1 <x@example.jp>: Sender address rejected: not owned by user"
            )
        );
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject_warning: RCPT from dsl.example.jp[203.0.113.7]: 554 5.7.1 <a@example.net>: Relay access denied; from=<t@example.jp> to=<a@example.net> proto=ESMTP helo=<pc>"
            )),
            Parsed::Unrelated
        );
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp: 554 5.7.1 x"
            )),
            Parsed::Malformed
        );
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp[nope]: 554 x"
            )),
            Parsed::Malformed
        );
    }

    #[test]
    fn nasty_senders() {
        // A sender that looks like a Dovecot login: stays a sender.
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp[203.0.113.7]: 554 5.7.1 <a@example.net>: Relay access denied; from=<pop3-login: Login: user=<x>, rip=192.0.2.99> to=<a@example.net> proto=ESMTP helo=<pc>"
            )),
            relay(
                "203.0.113.7",
                "pop3-login: Login: user=<x>, rip=192.0.2.99",
                "a@example.net",
                "554 5.7.1 <a@example.net>: Relay access denied"
            )
        );
        // `> to=<` inside the sender: the split whose recipient is quoted in the reply wins.
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from dsl.example.jp[203.0.113.7]: 554 5.7.1 <a@example.net>: Relay access denied; from=<x> to=<y z@example.jp> to=<a@example.net> proto=ESMTP helo=<h proto=X>"
            )),
            relay(
                "203.0.113.7",
                "x> to=<y z@example.jp",
                "a@example.net",
                "554 5.7.1 <a@example.net>: Relay access denied"
            )
        );
        // `"quoted local part"` with spaces, and a HELO with `[ip]`.
        assert_eq!(
            parse(&format!(
                "{P}NOQUEUE: reject: RCPT from unknown[203.0.113.7]: 554 5.7.1 <a@example.net>: Relay access denied; from=<\"taro yamada\"@example.jp> to=<a@example.net> proto=ESMTP helo=<[192.0.2.1]>"
            )),
            relay(
                "203.0.113.7",
                "\"taro yamada\"@example.jp",
                "a@example.net",
                "554 5.7.1 <a@example.net>: Relay access denied"
            )
        );
    }

    #[test]
    fn sasl_failures() {
        assert_eq!(
            parse(&format!(
                "{P}warning: unknown[203.0.113.7]: SASL LOGIN authentication failed: authentication failure"
            )),
            Parsed::Event(Event::SmtpAuthFailed {
                at: at(),
                ip: ip("203.0.113.7"),
                user: None
            })
        );
        assert_eq!(
            parse(&format!(
                "{P}warning: dsl.example.jp[2001:db8::7]: SASL PLAIN authentication failed: , sasl_username=taro@example.jp"
            )),
            Parsed::Event(Event::SmtpAuthFailed {
                at: at(),
                ip: ip("2001:db8::7"),
                user: Some("taro@example.jp".into())
            })
        );
        assert_eq!(
            parse(&format!(
                "{P}warning: hostname dsl.example.jp does not resolve to address 203.0.113.7"
            )),
            Parsed::Unrelated
        );
    }

    #[test]
    fn accepted_mail_flow() {
        assert_eq!(
            parse(&format!(
                "{P}4F2A1C0594: client=dsl.example.jp[203.0.113.7]"
            )),
            Parsed::Event(Event::QueueClient {
                at: at(),
                queue_id: "4F2A1C0594".into(),
                ip: ip("203.0.113.7"),
                sasl_user: None
            })
        );
        assert_eq!(
            parse(&format!(
                "{P}4Hc8Wn4lYQz9sWK: client=unknown[::ffff:203.0.113.8], sasl_method=PLAIN, sasl_username=taro"
            )),
            Parsed::Event(Event::QueueClient {
                at: at(),
                queue_id: "4Hc8Wn4lYQz9sWK".into(),
                ip: ip("203.0.113.8"),
                sasl_user: Some("taro".into())
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/qmgr[90]: 4F2A1C0594: from=<taro@example.jp>, size=444, nrcpt=1 (queue active)"
            ),
            Parsed::Event(Event::QueueFrom {
                at: at(),
                queue_id: "4F2A1C0594".into(),
                sender: "taro@example.jp".into()
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/qmgr[90]: 4F2A1C0594: from=<>, size=444, nrcpt=1 (queue active)"
            ),
            Parsed::Event(Event::QueueFrom {
                at: at(),
                queue_id: "4F2A1C0594".into(),
                sender: "".into()
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/smtp[91]: 4F2A1C0594: to=<a@example.net>, relay=mx.example.net[198.51.100.9]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 ok)"
            ),
            Parsed::Event(Event::QueueTo {
                at: at(),
                queue_id: "4F2A1C0594".into(),
                rcpt: "a@example.net".into(),
                status: DeliveryStatus::Sent,
                local: false
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/lmtp[92]: 7B1E2D0611: to=<taro@example.jp>, relay=mail.example.jp[private/dovecot-lmtp], delay=0.1, dsn=2.0.0, status=sent (250 2.0.0 <taro@example.jp> Saved)"
            ),
            Parsed::Event(Event::QueueTo {
                at: at(),
                queue_id: "7B1E2D0611".into(),
                rcpt: "taro@example.jp".into(),
                status: DeliveryStatus::Sent,
                local: true
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/local[93]: 7B1E2D0611: to=<taro@example.jp>, orig_to=<taro>, relay=local, delay=0.1, dsn=2.0.0, status=sent (delivered to mailbox)"
            ),
            Parsed::Event(Event::QueueTo {
                at: at(),
                queue_id: "7B1E2D0611".into(),
                rcpt: "taro@example.jp".into(),
                status: DeliveryStatus::Sent,
                local: true
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/smtp[91]: 4F2A1C0594: to=<a@example.net>, relay=none, delay=30, dsn=4.4.1, status=deferred (connect to mx.example.net[198.51.100.9]:25: Connection timed out)"
            ),
            Parsed::Event(Event::QueueTo {
                at: at(),
                queue_id: "4F2A1C0594".into(),
                rcpt: "a@example.net".into(),
                status: DeliveryStatus::Deferred,
                local: false
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail postfix/error[94]: 4F2A1C0594: to=<a@example.net>, relay=none, delay=1, dsn=5.0.0, status=bounced (mail for example.net loops back)"
            ),
            Parsed::Event(Event::QueueTo {
                at: at(),
                queue_id: "4F2A1C0594".into(),
                rcpt: "a@example.net".into(),
                status: DeliveryStatus::Bounced,
                local: false
            })
        );
        assert_eq!(
            parse("Mar  3 05:12:01 mail postfix/qmgr[90]: 4F2A1C0594: removed"),
            Parsed::Event(Event::QueueRemoved {
                at: at(),
                queue_id: "4F2A1C0594".into()
            })
        );
        for unrelated in [
            "postfix/smtpd[1]: connect from dsl.example.jp[203.0.113.7]",
            "postfix/smtpd[1]: disconnect from dsl.example.jp[203.0.113.7] ehlo=1 mail=1 rcpt=0/1 quit=1 commands=3/4",
            "postfix/cleanup[2]: 4F2A1C0594: message-id=<x@example.jp>",
            "postfix/postscreen[3]: CONNECT from [203.0.113.7]:4711 to [192.0.2.25]:25",
            "postfix/qmgr[90]: 4F2A1C0594: from=<a@example.jp>, status=expired, returned to sender",
            "postfix/smtp[91]: connect to mx.example.net[198.51.100.9]:25: Connection refused",
            "postfix/anvil[4]: statistics: max connection rate 1/60s for (smtp:203.0.113.7) at Mar  3 05:10:01",
        ] {
            assert_eq!(
                parse(&format!("Mar  3 05:12:01 mail {unrelated}")),
                Parsed::Unrelated,
                "{unrelated}"
            );
        }
    }
}
