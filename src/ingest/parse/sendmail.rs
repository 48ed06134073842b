//! Sendmail 8.12–8.18 (`sm-mta`, `sendmail`, `sm-msp-queue`, any `sendmail*`/`sm-*` tag):
//! - parseaddr.c `rscheck`: `QUEUEID: ruleset=check_rcpt, arg1=<a@example.net>[, arg2=…],
//!   relay=dsl.example.jp [203.0.113.7], reject=550 5.7.1 <a@example.net>... Relaying denied` →
//!   `RelayRejected` (the line names no sender: `""`); `Relaying denied. Proper authentication
//!   required.`, `Relaying temporarily denied. Cannot resolve PTR record for …` (451 4.7.1) too;
//!   `relay=[ip]` and `relay=host [ip] (may be forged)` variants. Other
//!   `check_rcpt`/`check_mail`/`check_relay` rejections → `Rejected`.
//! - srvrsmtp.c: `AUTH failure (MECH): TEXT (N) DETAIL, relay=HOST [IP]` → `SmtpAuthFailed`;
//!   `AUTH=server, relay=HOST [IP], authid=USER, mech=M, bits=N` → `SmtpAuth`.
//!
//! `arg1` is client-supplied and comes before `relay=`, and the reject text repeats it, so a
//! forged `, relay=x [ip], reject=` inside `arg1` must not choose the address. Sendmail writes
//! `arg1=A, relay=…, reject=CODE X.Y.Z A... text`: the split taken is the **last** `, relay=`
//! whose reject text repeats exactly the `arg1` before it; when the reject text does not quote
//! `arg1` (access-map texts), the last structurally valid `, relay=`.

use super::{Parsed, host_ip, strip_angle, user_name};
use crate::domain::{ClientIp, Epoch, Event};

pub(super) fn parse(msg: &str, at: Epoch) -> Parsed {
    let m = match msg.find(": ruleset=") {
        Some(i) if msg[..i].bytes().all(|c| c.is_ascii_alphanumeric()) => &msg[i + 2..],
        _ => msg,
    };
    let Some(rest) = m.strip_prefix("ruleset=") else {
        return auth(m, at);
    };
    let Some(c) = rest.find(", arg1=") else {
        return Parsed::Malformed;
    };
    let ruleset = &rest[..c];
    let args = &rest[c + 7..];
    let mut checked = None;
    let mut valid = None;
    let mut from = 0;
    for _ in 0..32 {
        let Some(i) = args[from..].find(", relay=") else {
            break;
        };
        let i = from + i;
        if let Some((ip, reject)) = relay_then_reject(&args[i + 8..]) {
            let arg1 = &args[..i];
            valid = Some((arg1, ip, reject));
            if quotes_arg(reject, arg1) {
                checked = Some((arg1, ip, reject));
            }
        }
        from = i + 1;
    }
    let Some((arg1, ip, reply)) = checked.or(valid) else {
        return if args.contains(", reject=") {
            Parsed::Malformed
        } else {
            Parsed::Unrelated
        };
    };
    let reply = reply.to_owned();
    let arg1 = match arg1.rfind(", arg2=") {
        Some(a) => &arg1[..a],
        None => arg1,
    };
    let arg = strip_angle(arg1).to_owned();
    let (sender, rcpt) = match ruleset {
        "check_rcpt" => (String::new(), arg),
        "check_mail" => (arg, String::new()),
        _ => (String::new(), String::new()),
    };
    super::refused(
        reply.contains("Relaying denied") || reply.contains("Relaying temporarily denied"),
        at,
        ip,
        sender,
        rcpt,
        reply,
    )
}

/// The SMTP AUTH lines of the server, after an optional queue ID; and the greet_pause
/// refusal (srvrsmtp.c, 8.14+): `rejecting commands from HOST [IP] due to pre-greeting traffic
/// after N seconds` (8.13: without `after N seconds`, or with it before `due to`).
fn auth(m: &str, at: Epoch) -> Parsed {
    // Only at the start of the message, after an optional queue ID: a client-chosen address
    // elsewhere on a line may hold the same words.
    let body = match m.split_once(": ") {
        Some((id, rest)) if !id.is_empty() && id.bytes().all(|c| c.is_ascii_alphanumeric()) => rest,
        _ => m,
    };
    if let Some(rest) = body.strip_prefix("rejecting commands from ") {
        let Some(d) = rest.find(" due to pre-greeting traffic") else {
            return Parsed::Malformed;
        };
        let head = &rest[..d];
        let head = match head.rfind(" after ") {
            Some(a) if head[a + 7..].ends_with(" seconds") => &head[..a],
            _ => head,
        };
        // The address is the last `[…]`: a host without reverse DNS is `[ip]` twice.
        let Some(open) = head.rfind('[') else {
            return Parsed::Malformed;
        };
        return match super::bracket_ip(&head[open..]) {
            Some((ip, "")) => super::refused(
                false,
                at,
                ip,
                String::new(),
                String::new(),
                "554 pre-greeting traffic".into(),
            ),
            _ => Parsed::Malformed,
        };
    }
    let m = match m.find(": AUTH") {
        Some(i) if m[..i].bytes().all(|c| c.is_ascii_alphanumeric()) => &m[i + 2..],
        _ => m,
    };
    if let Some(rest) = m.strip_prefix("AUTH=server, relay=") {
        let Some((ip, after)) = host_ip(rest) else {
            return Parsed::Malformed;
        };
        let after = after.strip_prefix(" (may be forged)").unwrap_or(after);
        let Some(id) = after.strip_prefix(", authid=") else {
            return Parsed::Malformed;
        };
        let id = match id.rfind(", mech=") {
            Some(e) => &id[..e],
            None => id,
        };
        return match user_name(id).filter(|u| !u.is_empty()) {
            Some(user) => Parsed::Event(Event::SmtpAuth { at, ip, user }),
            None => Parsed::Malformed,
        };
    }
    if m.starts_with("AUTH failure (") {
        let Some(r) = m.rfind(", relay=") else {
            return Parsed::Malformed;
        };
        let relay = &m[r + 8..];
        let relay = relay.strip_suffix(" (may be forged)").unwrap_or(relay);
        return match host_ip(relay) {
            Some((ip, rest)) if rest.is_empty() || rest.starts_with(' ') => {
                Parsed::Event(Event::SmtpAuthFailed { at, ip, user: None })
            }
            _ => Parsed::Malformed,
        };
    }
    Parsed::Unrelated
}

/// `host [ip][ (may be forged)], reject=TEXT` → (ip, TEXT).
fn relay_then_reject(s: &str) -> Option<(ClientIp, &str)> {
    let (ip, rest) = host_ip(s)?;
    let rest = rest.strip_prefix(" (may be forged)").unwrap_or(rest);
    Some((ip, rest.strip_prefix(", reject=")?))
}

/// `CODE X.Y.Z ARG1...` — the reject text quotes `arg1` right after the codes.
fn quotes_arg(reject: &str, arg1: &str) -> bool {
    let mut parts = reject.splitn(3, ' ');
    let (Some(code), Some(_), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    code.len() == 3
        && text
            .strip_prefix(arg1)
            .is_some_and(|t| t.starts_with("..."))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    #[test]
    fn sendmail_lines() {
        let at = jst(2026, 3, 3, 5, 12, 1);
        let p = "Mar  3 05:12:01 mail sm-mta[21134]: ";
        let relay = |ipa: &str, rcpt: &str, reply: &str| {
            Parsed::Event(Event::RelayRejected {
                at,
                ip: ip(ipa),
                sender: "".into(),
                rcpt: rcpt.into(),
                reply: reply.into(),
            })
        };
        assert_eq!(
            parse(&format!(
                "{p}s1O7XtZJ021134: ruleset=check_rcpt, arg1=<a@example.net>, relay=dsl.example.jp [203.0.113.7], reject=550 5.7.1 <a@example.net>... Relaying denied"
            )),
            relay(
                "203.0.113.7",
                "a@example.net",
                "550 5.7.1 <a@example.net>... Relaying denied"
            )
        );
        assert_eq!(
            parse(&format!(
                "{p}s1O7XtZJ021134: ruleset=check_rcpt, arg1=<a@example.net>, relay=[203.0.113.7], reject=550 5.7.1 <a@example.net>... Relaying denied. Proper authentication required."
            )),
            relay(
                "203.0.113.7",
                "a@example.net",
                "550 5.7.1 <a@example.net>... Relaying denied. Proper authentication required."
            )
        );
        assert_eq!(
            parse(&format!(
                "{p}ruleset=check_rcpt, arg1=<a@example.net>, relay=dsl.example.jp [IPv6:2001:db8::7] (may be forged), reject=550 5.7.1 <a@example.net>... Relaying denied"
            )),
            relay(
                "2001:db8::7",
                "a@example.net",
                "550 5.7.1 <a@example.net>... Relaying denied"
            )
        );
        // A forged relay= inside arg1.
        let forged = "<x, relay=evil [198.51.100.1], reject=550 5.7.1 <x... Relaying denied>";
        assert_eq!(
            parse(&format!(
                "{p}s1: ruleset=check_rcpt, arg1={forged}, relay=dsl.example.jp [203.0.113.7], reject=550 5.7.1 {forged}... Relaying denied"
            )),
            relay(
                "203.0.113.7",
                &forged[1..forged.len() - 1],
                &format!("550 5.7.1 {forged}... Relaying denied")
            )
        );
        assert_eq!(
            parse(&format!("{p}s1O7XtZJ021134: ruleset=check_mail, arg1=<x@nowhere.example>, relay=dsl.example.jp [203.0.113.7], reject=553 5.1.8 <x@nowhere.example>... Domain of sender address x@nowhere.example does not exist")),
            Parsed::Event(Event::Rejected {
                at,
                ip: ip("203.0.113.7"),
                sender: "x@nowhere.example".into(),
                rcpt: "".into(),
                reply: "553 5.1.8 <x@nowhere.example>... Domain of sender address x@nowhere.example does not exist".into()
            })
        );
        assert_eq!(
            parse(&format!(
                "{p}s1O7XtZJ021134: from=<taro@example.jp>, size=1, class=0, nrcpts=1"
            )),
            Parsed::Unrelated
        );
        assert_eq!(
            parse(&format!(
                "{p}s1O7XtZJ021134: ruleset=check_rcpt, arg1=<a@example.net>, reject=550"
            )),
            Parsed::Malformed
        );
    }
}
