//! The demo's scripted customers: five accounts at fixed addresses (TEST-NET-1, 192.0.2.0/24,
//! which the simulated pools never hand out) whose habits keep each in the state the demo
//! prints for as long as it runs, whatever the other simulated customers do:
//!
//! | login | address | habit | what the demo shows |
//! |---|---|---|---|
//! | `demo-taro` | .10 | checks mail every 4 minutes, sends now and then | authorized |
//! | `demo-hanako` | .20 | checked mail two hours before the demo began, sends every 15 min | expired |
//! | `demo-jiro` | .30, .31 | checks mail from .30 every 5 min, sends from .31 (where he checked mail three hours before) | ip_changed |
//! | `demo-saburo` | .40 | a wrong password every 5 minutes, sends every 10 | auth_failed |
//! | `demo-shiro` | .50 | sends, then checks mail 3 s later, every 40 minutes | sent_before_receiving |
//!
//! The schedule is a function of absolute time, so the day simulated before the demo and the
//! live chunks after it join without a seam.

use super::US;
use super::generator::{Gen, Intent};
use crate::domain::{ClientIp, Epoch, Service};

/// A scripted customer: login, the address they check mail from, the one they send from.
pub struct Showcase {
    pub login: &'static str,
    pub state: &'static str,
    pub check_ip: &'static str,
    pub send_ip: &'static str,
}

pub const TARO: Showcase = Showcase {
    login: "demo-taro",
    state: "authorized",
    check_ip: "192.0.2.10",
    send_ip: "192.0.2.10",
};
pub const HANAKO: Showcase = Showcase {
    login: "demo-hanako",
    state: "expired",
    check_ip: "192.0.2.20",
    send_ip: "192.0.2.20",
};
pub const JIRO: Showcase = Showcase {
    login: "demo-jiro",
    state: "ip_changed",
    check_ip: "192.0.2.30",
    send_ip: "192.0.2.31",
};
pub const SABURO: Showcase = Showcase {
    login: "demo-saburo",
    state: "auth_failed",
    check_ip: "192.0.2.40",
    send_ip: "192.0.2.40",
};
pub const SHIRO: Showcase = Showcase {
    login: "demo-shiro",
    state: "sent_before_receiving",
    check_ip: "192.0.2.50",
    send_ip: "192.0.2.50",
};

pub const ALL: [Showcase; 5] = [TARO, HANAKO, JIRO, SABURO, SHIRO];

fn ip(text: &str) -> ClientIp {
    text.parse().unwrap_or(ClientIp::new([192, 0, 2, 1].into()))
}

/// The times in [start, end) that are `offset` past a multiple of `every` seconds.
fn every(start: Epoch, end: Epoch, every: i64, offset: i64) -> impl Iterator<Item = Epoch> {
    let first = start - (start - offset).rem_euclid(every);
    let first = if first < start { first + every } else { first };
    (0..)
        .map(move |k| first + k * every)
        .take_while(move |&t| t < end)
}

impl Gen {
    /// The scripted customers' lines and sends in [start, end); the demo went live at `live`.
    pub(super) fn showcase(
        &mut self,
        start: Epoch,
        end: Epoch,
        live: Epoch,
        intents: &mut Vec<Intent>,
    ) {
        let domain = self.opts.domain.clone();
        let send = |g: &mut Gen, t: Epoch, who: &Showcase, intents: &mut Vec<Intent>| {
            let rcpt = g.rcpt_out(false);
            intents.push(Intent {
                t_us: t * US,
                ip: ip(who.send_ip),
                sender: format!("{}@{domain}", who.login),
                msgs: vec![vec![rcpt]],
                helo: "pc".into(),
                login: Some(who.login.to_string()),
                smtp_auth: false,
            });
        };
        for t in every(start, end, 240, 7) {
            self.login(t * US, TARO.login, ip(TARO.check_ip), Service::Pop3, true);
        }
        for t in every(start, end, 1200, 100) {
            send(self, t, &TARO, intents);
        }
        // hanako's last mail check, two hours before the demo began; then only sends.
        let last = live - 2 * 3600;
        if (start..end).contains(&last) {
            self.login(
                last * US,
                HANAKO.login,
                ip(HANAKO.check_ip),
                Service::Pop3,
                true,
            );
        }
        for t in every(start.max(last + 3000), end, 900, 40) {
            send(self, t, &HANAKO, intents);
        }
        // jiro once checked mail from the address he now sends from: that address's own
        // history ties it to him, so even the public pages may name his cause.
        let once = live - 3 * 3600;
        if (start..end).contains(&once) {
            self.login(once * US, JIRO.login, ip(JIRO.send_ip), Service::Imap, true);
        }
        for t in every(start.max(once + 60), end, 300, 20) {
            self.login(t * US, JIRO.login, ip(JIRO.check_ip), Service::Imap, true);
        }
        for t in every(start.max(once + 3600), end, 600, 200) {
            send(self, t, &JIRO, intents);
        }
        for t in every(start, end, 300, 50) {
            self.login(
                t * US,
                SABURO.login,
                ip(SABURO.check_ip),
                Service::Pop3,
                false,
            );
        }
        for t in every(start, end, 600, 55) {
            send(self, t, &SABURO, intents);
        }
        // shiro's program sends first and receives 3 s later; the window then runs out before
        // the next round. The first round comes 20 s after the demo went live, so its refusal
        // is decided by the demo's policy service (and has its `/why` page).
        for t in every(start, end, 2400, (live + 20).rem_euclid(2400)) {
            send(self, t, &SHIRO, intents);
            self.login(
                (t + 3) * US,
                SHIRO.login,
                ip(SHIRO.check_ip),
                Service::Pop3,
                true,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_absolute_times() {
        let ts: Vec<Epoch> = every(1000, 2000, 300, 50).collect();
        assert_eq!(ts, vec![1250, 1550, 1850]);
        let joined: Vec<Epoch> = every(1000, 1500, 300, 50)
            .chain(every(1500, 2000, 300, 50))
            .collect();
        assert_eq!(joined, ts, "chunks join without a seam");
        assert_eq!(every(1250, 1251, 300, 50).collect::<Vec<_>>(), vec![1250]);
    }
}
