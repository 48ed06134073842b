//! The mix of a simulated log: every line written belongs to exactly one kind of flow, counted
//! as it is written, so a benchmark can state what the log it measured was made of.

use std::collections::BTreeMap;

use serde::Serialize;

/// What a line is part of. A flow's connection lines belong to the flow: the `connect from` and
/// `disconnect from` of a refused relay attempt are `RelayRejection` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineKind {
    /// A successful POP3/IMAP login (`pop3-login: Login: …`): the evidence a grant rests on.
    MailboxLogin,
    /// The rest of a mailbox session: logouts, disconnects, IMAP IDLE sessions ending.
    MailboxOther,
    /// A failed mailbox login: the login process's `auth failed` and the auth process's
    /// `Password mismatch`.
    FailedLogin,
    /// Mail delivered to local mailboxes: Postfix smtpd/cleanup/qmgr/lmtp and Dovecot's LMTP.
    Inbound,
    /// Every line of an accepted relay (POP before SMTP or SMTP AUTH): smtpd, cleanup, qmgr,
    /// smtp `to=…, status=sent`.
    RelayedSend,
    /// A refused relay attempt: `Relay access denied` and its connection lines.
    RelayRejection,
    /// Other refusals at RCPT (unknown local user).
    OtherRejection,
    /// A failed SMTP AUTH (`SASL … authentication failed`) and its connection lines.
    SmtpAuthFailure,
    /// Everything else: cron, anvil, scanners that connect and leave.
    Noise,
}

impl LineKind {
    pub const ALL: [LineKind; 9] = [
        LineKind::MailboxLogin,
        LineKind::MailboxOther,
        LineKind::FailedLogin,
        LineKind::Inbound,
        LineKind::RelayedSend,
        LineKind::RelayRejection,
        LineKind::OtherRejection,
        LineKind::SmtpAuthFailure,
        LineKind::Noise,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::MailboxLogin => "mailbox_login",
            LineKind::MailboxOther => "mailbox_other",
            LineKind::FailedLogin => "failed_login",
            LineKind::Inbound => "inbound",
            LineKind::RelayedSend => "relayed_send",
            LineKind::RelayRejection => "relay_rejection",
            LineKind::OtherRejection => "other_rejection",
            LineKind::SmtpAuthFailure => "smtp_auth_failure",
            LineKind::Noise => "noise",
        }
    }

    /// Lines of POP3/IMAP sessions, successful or not (the "mailbox lines" of §10).
    pub fn is_mailbox(self) -> bool {
        matches!(
            self,
            LineKind::MailboxLogin | LineKind::MailboxOther | LineKind::FailedLogin
        )
    }
}

/// Lines per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mix {
    lines: [usize; 9],
}

impl Mix {
    pub(super) fn add(&mut self, kind: LineKind) {
        self.lines[kind as usize] += 1;
    }

    pub fn lines(&self, kind: LineKind) -> usize {
        self.lines[kind as usize]
    }

    pub fn total(&self) -> usize {
        self.lines.iter().sum()
    }

    /// The share of all lines that are of `kind`, 0 to 1.
    pub fn share(&self, kind: LineKind) -> f64 {
        self.lines(kind) as f64 / self.total().max(1) as f64
    }

    /// The share of POP3/IMAP lines, 0 to 1.
    pub fn mailbox_share(&self) -> f64 {
        let n: usize = LineKind::ALL
            .iter()
            .filter(|k| k.is_mailbox())
            .map(|&k| self.lines(k))
            .sum();
        n as f64 / self.total().max(1) as f64
    }
}

/// Serialized as `{"mailbox_login": {"lines": N, "share": 0.23}, …}`, keyed by kind name;
/// shares rounded to four places.
impl Serialize for Mix {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Entry {
            lines: usize,
            share: f64,
        }
        let map: BTreeMap<&str, Entry> = LineKind::ALL
            .iter()
            .map(|&k| {
                let share = (self.share(k) * 10_000.0).round() / 10_000.0;
                let lines = self.lines(k);
                (k.as_str(), Entry { lines, share })
            })
            .collect();
        map.serialize(s)
    }
}

impl std::fmt::Display for Mix {
    /// One line: `mailbox 47.1 % (login 23.0 %, …), inbound 24.9 %, …`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let pct = |k: LineKind| self.share(k) * 100.0;
        write!(
            f,
            "mailbox {:.1} % (login {:.1} %, logout/other {:.1} %, failed login {:.1} %)",
            self.mailbox_share() * 100.0,
            pct(LineKind::MailboxLogin),
            pct(LineKind::MailboxOther),
            pct(LineKind::FailedLogin)
        )?;
        for k in &LineKind::ALL[3..] {
            write!(f, ", {} {:.1} %", k.as_str().replace('_', " "), pct(*k))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::default_day;
    use super::*;

    /// §10's realistic day: mail checks dominate, about a quarter of the lines are successful
    /// logins, and about one line in 15 is an accepted relay.
    #[test]
    fn a_default_day_has_the_realistic_mix() {
        let (sim, stats) = default_day();
        let mix = &stats.mix;
        assert_eq!(mix.total(), sim.lines.len());
        let mailbox = mix.mailbox_share();
        assert!((0.40..=0.55).contains(&mailbox), "mailbox {mailbox}: {mix}");
        let logins = mix.share(LineKind::MailboxLogin);
        assert!((0.18..=0.28).contains(&logins), "logins {logins}: {mix}");
        let per_relay = mix.total() as f64 / stats.accepted_relays as f64;
        assert!(
            (10.0..=20.0).contains(&per_relay),
            "one relay per {per_relay} lines"
        );
        let inbound = mix.share(LineKind::Inbound);
        assert!((0.15..=0.35).contains(&inbound), "inbound {inbound}: {mix}");
        for k in LineKind::ALL {
            assert!(mix.lines(k) > 0, "no {} lines", k.as_str());
        }
    }

    /// The kinds are what the lines say: logins, accepted relays and relay rejections counted
    /// from the text agree with the mix and the counts.
    #[test]
    fn the_mix_counts_what_the_lines_say() {
        let (sim, stats) = default_day();
        let count = |f: &dyn Fn(&str) -> bool| sim.lines.iter().filter(|l| f(&l.text)).count();
        let logins = count(&|t| t.contains("-login: Login: ") || t.contains("-login: Logged in: "));
        assert_eq!(logins, stats.mix.lines(LineKind::MailboxLogin));
        assert_eq!(logins, stats.logins);
        let relays = count(&|t| t.contains(" postfix/smtp[") && t.contains("status=sent"));
        assert_eq!(relays, stats.accepted_relays);
        let refused = count(&|t| t.contains("Relay access denied"));
        assert!(refused > 0);
        // A refused session: its rejections between a connect and a disconnect.
        let sessions =
            count(&|t| t.contains("/smtpd[") && t.contains(" rcpt=0/") && !t.contains(" data=0/1"));
        assert_eq!(
            stats.mix.lines(LineKind::RelayRejection),
            refused + 2 * sessions
        );
    }

    #[test]
    fn shares_add_up_and_print() {
        let mut m = Mix::default();
        for _ in 0..3 {
            m.add(LineKind::MailboxLogin);
        }
        m.add(LineKind::Noise);
        assert_eq!(m.total(), 4);
        assert!((m.share(LineKind::MailboxLogin) - 0.75).abs() < 1e-9);
        assert!((m.mailbox_share() - 0.75).abs() < 1e-9);
        let text = m.to_string();
        assert!(text.starts_with("mailbox 75.0 % (login 75.0 %"), "{text}");
        assert!(text.ends_with("noise 25.0 %"), "{text}");
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["noise"]["lines"], 1);
        assert_eq!(json["mailbox_login"]["share"], 0.75);
    }
}
