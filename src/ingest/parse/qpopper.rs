//! Qualcomm qpopper 4 (`in.qpopper`, `qpopper`, `popper`), an optional `(vX.Y.Z) ` in front and
//! ` [file.c:line]` behind (pop_log.c):
//! - `POP login by user "taro" at (dsl.example.jp) 203.0.113.7` (older: `POP login for "taro" at
//!   (host) ip`) and the session end `Stats: taro 0 0 1 2 dsl.example.jp 203.0.113.7` (pop_updt.c:
//!   `Stats: USER DELETED BYTES LEFT BYTES HOST IP`, only after a successful login) → `Login`;
//! - failures, which pop_msg.c logs as `USER at HOST (IP): -ERR [AUTH] Password supplied for
//!   "USER" is incorrect.` → `LoginFailed` (`[AUTH] "USER": access denied.`, `account expired.`,
//!   `password expired.` too). A line whose two user names differ is `Malformed`: the user is
//!   client-chosen and comes before the address.
//! - `apop "taro"` (before authentication) is `Unrelated`.

use super::{Parsed, user_name};
use crate::domain::{ClientIp, Epoch, Event, FailReason, Service};

pub(super) fn parse(msg: &str, at: Epoch) -> Parsed {
    let mut m = msg;
    if m.starts_with("(v")
        && let Some(close) = m.find(") ")
    {
        m = &m[close + 2..];
    }
    if let Some(rest) = m.strip_prefix("Stats: ") {
        return stats(rest, at);
    }
    if let Some(i) = m.find("): -ERR [AUTH] ") {
        return failure(m, i, at);
    }
    let Some(rest) = m
        .strip_prefix("POP login by user \"")
        .or_else(|| m.strip_prefix("POP login for \""))
    else {
        return Parsed::Unrelated;
    };
    // The user is quoted; the host (from DNS) is in parentheses after the last `" at (`.
    let Some(q) = rest.rfind("\" at (") else {
        return Parsed::Malformed;
    };
    let user = &rest[..q];
    let after = &rest[q + 6..];
    let Some(close) = after.find(") ") else {
        return Parsed::Malformed;
    };
    let addr = &after[close + 2..];
    let addr = addr.split(' ').next().unwrap_or("");
    login(user, addr, at)
}

fn login(user: &str, addr: &str, at: Epoch) -> Parsed {
    match (
        user_name(user).filter(|u| !u.is_empty()),
        ClientIp::parse_lenient(addr),
    ) {
        (Some(user), Some(ip)) => Parsed::Event(Event::Login {
            at,
            service: Service::Pop3,
            user,
            ip,
        }),
        _ => Parsed::Malformed,
    }
}

/// `USER D B L B HOST IP[ [file:line]]` — the user has no spaces (POP3 `USER` arguments are
/// split at spaces), so it is read from the left and the address from the right.
fn stats(rest: &str, at: Epoch) -> Parsed {
    let rest = match rest.rfind(" [") {
        Some(i) if rest.ends_with(']') => &rest[..i],
        _ => rest,
    };
    let words: Vec<&str> = rest.split(' ').collect();
    if words.len() != 7
        || !words[1..5]
            .iter()
            .all(|w| w.bytes().all(|c| c.is_ascii_digit()))
    {
        return Parsed::Malformed;
    }
    login(words[0], words[6], at)
}

/// `USER at HOST (IP): -ERR [AUTH] TEXT` where TEXT quotes USER again.
fn failure(m: &str, i: usize, at: Epoch) -> Parsed {
    let head = &m[..i];
    let text = &m[i + 15..];
    let Some(open) = head.rfind(" (") else {
        return Parsed::Malformed;
    };
    let Some(ip) = ClientIp::parse_lenient(&head[open + 2..]) else {
        return Parsed::Malformed;
    };
    let Some(at_host) = head[..open].rfind(" at ") else {
        return Parsed::Malformed;
    };
    let user = &head[..at_host];
    let quoted = text
        .strip_prefix("Password supplied for \"")
        .or_else(|| text.strip_prefix('"'))
        .and_then(|t| t.rfind('"').map(|e| &t[..e]));
    if quoted != Some(user) {
        return Parsed::Malformed;
    }
    let user = match user {
        "" | "(null)" => None,
        u => match user_name(u) {
            Some(u) => Some(u),
            None => return Parsed::Malformed,
        },
    };
    Parsed::Event(Event::LoginFailed {
        at,
        service: Service::Pop3,
        user,
        ip,
        reason: FailReason::AuthFailed,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ip, jst, parse};
    use super::*;

    #[test]
    fn qpopper_lines() {
        let at = jst(2026, 3, 3, 5, 12, 1);
        let want = Parsed::Event(Event::Login {
            at,
            service: Service::Pop3,
            user: "taro".into(),
            ip: ip("203.0.113.7"),
        });
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail in.qpopper[7597]: (v4.0.9) POP login by user \"taro\" at (dsl.example.jp) 203.0.113.7 [pop_log.c:244]"
            ),
            want
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail popper[7597]: POP login by user \"taro\" at (dsl.example.jp) 203.0.113.7"
            ),
            want
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail qpopper[7597]: (v4.0.9) POP login by user \"taro\" at (dsl.example.jp)"
            ),
            Parsed::Malformed
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail qpopper[7597]: [AUTH] Password supplied for \"taro\" is incorrect."
            ),
            Parsed::Unrelated
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail qpopper[7597]: Stats: taro 0 0 1 2 dsl.example.jp 203.0.113.7"
            ),
            want
        );
    }
}
