//! Qualcomm qpopper (`in.qpopper`, `qpopper`, `popper`):
//! `(v4.0.9) POP login by user "taro" at (dsl.example.jp) 203.0.113.7 [pop_log.c:244]`
//! (older: `POP login for "taro" at (host) ip`). Failures (`[AUTH] Password supplied for "taro"
//! is incorrect.`) carry no address on that line and are `Unrelated`.

use super::{Parsed, user_name};
use crate::domain::{ClientIp, Epoch, Event, Service};

pub(super) fn parse(msg: &str, at: Epoch) -> Parsed {
    let mut m = msg;
    if m.starts_with("(v")
        && let Some(close) = m.find(") ")
    {
        m = &m[close + 2..];
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
            Parsed::Unrelated
        );
    }
}
