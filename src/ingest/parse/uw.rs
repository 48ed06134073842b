//! UW IMAP toolkit, imap-2004 to 2007f (`ipop3d`, `imapd`):
//! - success: `Login user=taro host=dsl.example.jp [203.0.113.7] nmsgs=5/5` (ipop3d; imapd without
//!   `nmsgs`), `Admin Login user=…`, `Auth user=… host=…`, `APOP user=… host=…`, `Authenticated
//!   user=… host=… mech=…`;
//! - failure (env_unix.c `server_login`): `Login failed user=taro auth=taro host=… [ip]`, `Login
//!   excessive login failures user=…`, `Login disabled user=…`, `Login SYSTEM BREAK-IN ATTEMPT
//!   user=…`; older releases' `Login failure user=… host=…` and `Excessive login failures user=…
//!   host=…`; `AUTHENTICATE MECH failure host=…` (no user); `Failed AUSER override of user=…`.
//!
//! The user name (client-chosen on failures) comes before the host: the host is taken at the
//! **last** ` host=`, so a user name containing ` host=… [ip]` cannot choose the address. The
//! host is `tcp_clienthost()`: `name [ip]` or `[ip]`; a bare name (no address) is `Malformed`.

use super::{Parsed, host_ip, user_name};
use crate::domain::{Epoch, Event, FailReason, Service};

pub(super) fn parse(service: Service, msg: &str, at: Epoch) -> Parsed {
    const FAILED: [&str; 7] = [
        "Login failed user=",
        "Login failure user=",
        "Login excessive login failures user=",
        "Excessive login failures user=",
        "Login disabled user=",
        "Login SYSTEM BREAK-IN ATTEMPT user=",
        "Failed ",
    ];
    const OK: [&str; 5] = [
        "Login user=",
        "Admin Login user=",
        "Auth user=",
        "APOP user=",
        "Authenticated user=",
    ];
    let (ok, rest) = if let Some(r) = OK.iter().find_map(|p| msg.strip_prefix(p)) {
        (true, r)
    } else if let Some(r) = FAILED.iter().find_map(|p| msg.strip_prefix(p)) {
        if msg.starts_with("Failed ") {
            // `Failed AUSER override of user=USER host=…`
            match r.find(" override of user=") {
                Some(o) => (false, &r[o + 18..]),
                None => return Parsed::Unrelated,
            }
        } else {
            (false, r)
        }
    } else if let Some(r) = msg.strip_prefix("AUTHENTICATE ") {
        // `AUTHENTICATE MECH failure host=…`
        let Some(h) = r.find(" failure host=") else {
            return Parsed::Unrelated; // `… invalid host=…`: a protocol error, no login attempt
        };
        let Some((ip, _)) = host_ip(&r[h + 14..]) else {
            return Parsed::Malformed;
        };
        return Parsed::Event(Event::LoginFailed {
            at,
            service,
            user: None,
            ip,
            reason: FailReason::AuthFailed,
        });
    } else {
        return Parsed::Unrelated; // Logout, Autologout, Update, Preauthenticated, …
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
        super::login(at, service, user_name(user).filter(|u| !u.is_empty()), ip)
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
