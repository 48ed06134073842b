//! UW IMAP toolkit (`ipop3d`, `imapd`):
//! `Login user=taro host=dsl.example.jp [203.0.113.7] nmsgs=5/5`, `Auth user=…`, `Authenticated
//! user=… host=… [ip]` (success) and `Login failed user=taro auth=taro host=… [ip]`.
//!
//! The user name (client-chosen on failures) comes before the host: the host is taken at the
//! **last** ` host=`, so a user name containing ` host=… [ip]` cannot choose the address.

use super::{Parsed, host_ip, user_name};
use crate::domain::{Epoch, Event, FailReason, Service};

pub(super) fn parse(service: Service, msg: &str, at: Epoch) -> Parsed {
    let (ok, rest) = if let Some(r) = msg.strip_prefix("Login failed user=") {
        (false, r)
    } else if let Some(r) = msg
        .strip_prefix("Login user=")
        .or_else(|| msg.strip_prefix("Auth user="))
        .or_else(|| msg.strip_prefix("Authenticated user="))
    {
        (true, r)
    } else {
        return Parsed::Unrelated; // Logout, Autologout, Excessive login failures, …
    };
    let Some(h) = rest.rfind(" host=") else {
        return Parsed::Malformed;
    };
    let Some((ip, _)) = host_ip(&rest[h + 6..]) else {
        return Parsed::Malformed;
    };
    let mut user = &rest[..h];
    if !ok && let Some(a) = user.find(" auth=") {
        user = &user[..a];
    }
    if ok {
        match user_name(user).filter(|u| !u.is_empty()) {
            Some(user) => Parsed::Event(Event::Login {
                at,
                service,
                user,
                ip,
            }),
            None => Parsed::Malformed,
        }
    } else {
        let user = if user.is_empty() {
            None
        } else {
            match user_name(user) {
                Some(u) => Some(u),
                None => return Parsed::Malformed,
            }
        };
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
    fn uw_lines() {
        let at = jst(2026, 3, 3, 5, 12, 1);
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail ipop3d[14211]: Login user=taro host=dsl.example.jp [203.0.113.7] nmsgs=5/5"
            ),
            Parsed::Event(Event::Login {
                at,
                service: Service::Pop3,
                user: "taro".into(),
                ip: ip("203.0.113.7")
            })
        );
        assert_eq!(
            parse("Mar  3 05:12:01 mail imapd[14211]: Authenticated user=taro host=[203.0.113.7]"),
            Parsed::Event(Event::Login {
                at,
                service: Service::Imap,
                user: "taro".into(),
                ip: ip("203.0.113.7")
            })
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail ipop3d[25745]: Login failed user=taro auth=taro host=dsl.example.jp [203.0.113.7]"
            ),
            Parsed::Event(Event::LoginFailed {
                at,
                service: Service::Pop3,
                user: Some("taro".into()),
                ip: ip("203.0.113.7"),
                reason: FailReason::AuthFailed
            })
        );
        // Forged host in a failed user name: the real (last) host wins.
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail ipop3d[1]: Login failed user=x host=a [198.51.100.1] auth=x host=dsl.example.jp [203.0.113.7]"
            ),
            Parsed::Event(Event::LoginFailed {
                at,
                service: Service::Pop3,
                user: Some("x host=a [198.51.100.1]".into()),
                ip: ip("203.0.113.7"),
                reason: FailReason::AuthFailed
            })
        );
        assert_eq!(
            parse("Mar  3 05:12:01 mail ipop3d[1]: Login user=taro nmsgs=5/5"),
            Parsed::Malformed
        );
        assert_eq!(
            parse(
                "Mar  3 05:12:01 mail ipop3d[1]: Logout user=taro host=x [203.0.113.7] nmsgs=0 ndele=0"
            ),
            Parsed::Unrelated
        );
    }
}
