//! Postfix's lines: relay attempts (on port 25 decided by the grant rule: accepted and delivered,
//! or `Relay access denied`; on the submission port authenticated by SMTP AUTH), inbound
//! deliveries to local mailboxes, unknown recipients, and the one-line helpers each daemon's
//! recurring lines share.
//!
//! An SMTP AUTH message's smtpd line is Postfix's `QUEUEID: client=host[ip], sasl_method=PLAIN,
//! sasl_username=LOGIN` (smtpd.c appends the SASL fields to `client=`); the submission service
//! logs as `postfix/submission/smtpd`, as master.cf's `-o syslog_name=postfix/submission` makes it.

use std::net::Ipv4Addr;

use super::US;
use super::addresses::{PROBE_USERS, domain_of, host_of, pick};
use super::generator::{Gen, Intent};
use super::mix::LineKind;
use super::truth::Method;
use crate::domain::ClientIp;

/// What the queue logs about a message it takes in.
struct Queued<'a> {
    cpid: u32,
    qid: &'a str,
    mid: &'a str,
    sender: &'a str,
    size: u32,
    nrcpt: usize,
}

/// One smtpd process's connection: its syslog name, pid and `host[ip]`.
pub(super) struct Smtpd {
    pub(super) prog: &'static str,
    pub(super) pid: u32,
    pub(super) client: String,
}

impl Gen {
    /// A connection to smtpd (`postfix/smtpd` on port 25) logged as `kind` lines.
    pub(super) fn smtpd_connect(&mut self, t_us: i64, kind: LineKind, s: &Smtpd) {
        self.push(
            t_us,
            kind,
            &format!("{}[{}]: connect from {}", s.prog, s.pid, s.client),
        );
    }

    /// smtpd's last line for a connection; `counts` are its command counters.
    pub(super) fn smtpd_disconnect(&mut self, t_us: i64, kind: LineKind, s: &Smtpd, counts: &str) {
        self.push(
            t_us,
            kind,
            &format!(
                "{}[{}]: disconnect from {} {counts}",
                s.prog, s.pid, s.client
            ),
        );
    }

    /// A message taken into the queue at `t_us`: smtpd's `client=` (with `sasl`, the SASL
    /// fields), then cleanup's message id and qmgr's `from=` after the two `gaps`.
    fn queued(
        &mut self,
        t_us: i64,
        gaps: [i64; 2],
        kind: LineKind,
        s: &Smtpd,
        sasl: &str,
        q: Queued<'_>,
    ) {
        let Queued { cpid, qid, mid, .. } = q;
        self.push(
            t_us,
            kind,
            &format!("{}[{}]: {qid}: client={}{sasl}", s.prog, s.pid, s.client),
        );
        self.push(
            t_us + gaps[0],
            kind,
            &format!("postfix/cleanup[{cpid}]: {qid}: message-id=<{mid}>"),
        );
        self.push(
            t_us + gaps[1],
            kind,
            &format!(
                "postfix/qmgr[{}]: {qid}: from=<{}>, size={}, nrcpt={} (queue active)",
                self.qmgr_pid, q.sender, q.size, q.nrcpt
            ),
        );
    }

    fn qmgr_removed(&mut self, t_us: i64, kind: LineKind, qid: &str) {
        self.push(
            t_us,
            kind,
            &format!("postfix/qmgr[{}]: {qid}: removed", self.qmgr_pid),
        );
    }

    /// One SMTP session from a client wanting to relay: on the submission port with SMTP AUTH,
    /// else on port 25, accepted or refused by the grant rule.
    pub(super) fn relay_session(&mut self, it: &Intent) {
        let prog = if it.smtp_auth {
            "postfix/submission/smtpd"
        } else {
            "postfix/smtpd"
        };
        let s = Smtpd {
            prog,
            pid: self.smtpd_pid(),
            client: format!("{}[{}]", host_of(it.ip), it.ip),
        };
        let rt = it.t_us + 200_000 + self.jitter(100);
        let accepted = it.smtp_auth
            || self
                .hist
                .authorized(it.ip, rt.div_euclid(US), self.opts.window);
        let kind = if accepted {
            LineKind::RelayedSend
        } else {
            LineKind::RelayRejection
        };
        self.smtpd_connect(it.t_us, kind, &s);
        if accepted {
            self.relay_accepted(it, rt, &s);
        } else {
            self.relay_rejected(it, rt, &s);
        }
    }

    /// The relay is allowed: each message queued from `rt` on, then delivered to each
    /// recipient's MX; every delivery is one accepted relay of the intent's login.
    fn relay_accepted(&mut self, it: &Intent, mut rt: i64, s: &Smtpd) {
        let kind = LineKind::RelayedSend;
        let (sasl, method) = match (&it.login, it.smtp_auth) {
            (Some(login), true) => (
                format!(", sasl_method=PLAIN, sasl_username={login}"),
                Method::SmtpAuth,
            ),
            _ => (String::new(), Method::PopBeforeSmtp),
        };
        let mut rcpts = 0;
        for msg in &it.msgs {
            let k = msg.len();
            rcpts += k;
            let qid = self.next_qid();
            let cpid = pick(&mut self.rng, &self.cleanup_pids);
            let mid = format!(
                "{:08X}.{:04X}@{}",
                self.rng.u32(..),
                self.rng.u16(..),
                domain_of(&it.sender).unwrap_or("localhost")
            );
            let size = self.rng.u32(800..60_000);
            let q = Queued {
                cpid,
                qid: &qid,
                mid: &mid,
                sender: &it.sender,
                size,
                nrcpt: k,
            };
            self.queued(rt, [50_000, 90_000], kind, s, &sasl, q);
            // Recipients are delivered in parallel, in any order; `removed` follows the last.
            let mut last = rt + 120_000;
            for r in msg {
                let spid = pick(&mut self.rng, &self.smtp_pids);
                let d_us = self.jitter(2500) + 150_000;
                let at = rt + 90_000 + d_us;
                last = last.max(at);
                let dom = domain_of(r).unwrap_or("example.net");
                let mx_ip = Ipv4Addr::new(198, 51, 100, 100 + (dom.len() % 50) as u8);
                let remote_q = format!("{:X}", self.rng.u64(..) & 0xFFFF_FFFF_FFFF);
                let delay = (at - rt) as f64 / 1e6 + 0.2;
                let half = d_us as f64 / 2e6;
                self.push(
                    at,
                    kind,
                    &format!(
                        "postfix/smtp[{spid}]: {qid}: to=<{r}>, relay=mx.{dom}[{mx_ip}]:25, delay={delay:.2}, delays=0.2/0.01/{half:.2}/{half:.2}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {remote_q})"
                    ),
                );
                self.stats.accepted_relays += 1;
                if let Some(login) = &it.login {
                    self.relays.record(login, method, at.div_euclid(US));
                }
            }
            self.qmgr_removed(last + 1_000, kind, &qid);
            rt += 300_000 + self.jitter(200);
        }
        let m = it.msgs.len();
        let counts = if it.smtp_auth {
            format!(
                "ehlo=2 starttls=1 auth=1 mail={m} rcpt={rcpts} data={m} quit=1 commands={}",
                rcpts + 2 * m + 5
            )
        } else {
            format!(
                "ehlo=1 mail={m} rcpt={rcpts} data={m} quit=1 commands={}",
                rcpts + 2 * m + 2
            )
        };
        self.smtpd_disconnect(rt, kind, s, &counts);
    }

    /// The relay is denied: one rejection per recipient of the first message from `rt` on, each
    /// one recorded; the client then gives up (its other messages stay in its outbox).
    fn relay_rejected(&mut self, it: &Intent, mut rt: i64, s: &Smtpd) {
        let kind = LineKind::RelayRejection;
        let rcpts = it.msgs.first().map(Vec::as_slice).unwrap_or_default();
        for r in rcpts {
            // Some servers defer (454) rather than reject (554); parsers must take both.
            let code = if self.rng.u8(..100) < 15 {
                "454 4.7.1"
            } else {
                "554 5.7.1"
            };
            self.push(
                rt,
                kind,
                &format!(
                    "{}[{}]: NOQUEUE: reject: RCPT from {}: {code} <{r}>: Relay access denied; from=<{}> to=<{r}> proto=ESMTP helo=<{}>",
                    s.prog, s.pid, s.client, it.sender, it.helo
                ),
            );
            self.rejections
                .push((rt.div_euclid(US), it.ip, it.sender.clone(), r.clone()));
            rt += 20_000 + self.jitter(60);
        }
        let k = rcpts.len();
        let counts = format!("ehlo=1 mail=1 rcpt=0/{k} quit=1 commands=3/{}", k + 3);
        self.smtpd_disconnect(rt + 30_000, kind, s, &counts);
    }

    /// A customer's SMTP AUTH that fails (a mistyped or changed password): nothing is sent.
    pub(super) fn smtp_auth_failed(&mut self, t_us: i64, ip: ClientIp, login: &str) {
        let kind = LineKind::SmtpAuthFailure;
        let s = Smtpd {
            prog: "postfix/submission/smtpd",
            pid: self.smtpd_pid(),
            client: format!("{}[{ip}]", host_of(ip)),
        };
        self.smtpd_connect(t_us, kind, &s);
        let (mech, reason) = if self.rng.bool() {
            ("LOGIN", "UGFzc3dvcmQ6")
        } else {
            ("PLAIN", "")
        };
        let at = t_us + 300_000 + self.jitter(200);
        self.push(
            at,
            kind,
            &format!(
                "{}[{}]: warning: {}: SASL {mech} authentication failed: {reason}, sasl_username={login}",
                s.prog, s.pid, s.client
            ),
        );
        let counts = "ehlo=2 starttls=1 auth=0/1 quit=1 commands=4/5";
        self.smtpd_disconnect(t_us + 2_600_000, kind, &s, counts);
        self.stats.smtp_auth_failures += 1;
    }

    /// One inbound message to a local mailbox (never a relay).
    pub(super) fn inbound(&mut self, t: i64, sender: &str, host: &str, ip: ClientIp, cust: usize) {
        let kind = LineKind::Inbound;
        let s = Smtpd {
            prog: "postfix/smtpd",
            pid: self.smtpd_pid(),
            client: format!("{host}[{ip}]"),
        };
        self.smtpd_connect(t, kind, &s);
        let qid = self.next_qid();
        let cpid = pick(&mut self.rng, &self.cleanup_pids);
        let mid = format!(
            "{}.{:08x}@{}",
            t / US,
            self.rng.u32(..),
            domain_of(sender).unwrap_or("localhost")
        );
        let size = self.rng.u32(2000..120_000);
        let q = Queued {
            cpid,
            qid: &qid,
            mid: &mid,
            sender,
            size,
            nrcpt: 1,
        };
        self.queued(t + 150_000, [40_000, 80_000], kind, &s, "", q);
        let counts = "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5";
        self.smtpd_disconnect(t + 250_000, kind, &s, counts);
        let (login, addr) = {
            let c = &self.customers[cust];
            (c.login.clone(), c.addr.clone())
        };
        let lpid = pick(&mut self.rng, &self.lmtp_pids);
        let sess = self.session();
        self.lmtp_saved(t + 300_000, &login, &sess, &mid);
        self.push(
            t + 310_000,
            kind,
            &format!(
                "postfix/lmtp[{lpid}]: {qid}: to=<{addr}>, relay={}.{}[private/dovecot-lmtp], delay=0.31, delays=0.23/0.01/0.02/0.05, dsn=2.0.0, status=sent (250 2.0.0 <{addr}> {sess} Saved)",
                self.opts.host, self.opts.domain
            ),
        );
        self.qmgr_removed(t + 312_000, kind, &qid);
        self.stats.inbound += 1;
    }

    /// Inbound mail to a mailbox that does not exist: rejected at RCPT.
    fn inbound_unknown_user(&mut self, t: i64, sender: &str, host: &str, ip: ClientIp) {
        let kind = LineKind::OtherRejection;
        let s = Smtpd {
            prog: "postfix/smtpd",
            pid: self.smtpd_pid(),
            client: format!("{host}[{ip}]"),
        };
        let r = format!(
            "{}{}@{}",
            pick(&mut self.rng, PROBE_USERS),
            self.rng.u32(..100),
            self.opts.domain
        );
        self.smtpd_connect(t, kind, &s);
        self.push(
            t + 180_000,
            kind,
            &format!(
                "{}[{}]: NOQUEUE: reject: RCPT from {}: 550 5.1.1 <{r}>: Recipient address rejected: User unknown in local recipient table; from=<{sender}> to=<{r}> proto=ESMTP helo=<{host}>",
                s.prog, s.pid, s.client
            ),
        );
        let counts = "ehlo=1 mail=1 rcpt=0/1 data=0/1 rset=1 quit=1 commands=4/6";
        self.smtpd_disconnect(t + 200_000, kind, &s, counts);
    }

    /// Mail from one of the regular correspondents: to a random customer, or (2 %) to nobody.
    pub(super) fn random_inbound(&mut self, t: i64) {
        let s = self.rng.usize(..self.in_senders.len());
        let (sender, host, ip) = {
            let x = &self.in_senders[s];
            (x.sender.clone(), x.host.clone(), x.ip)
        };
        if self.customers.is_empty() || self.rng.u8(..100) < 2 {
            self.inbound_unknown_user(t, &sender, &host, ip);
        } else {
            let c = self.rng.usize(..self.customers.len());
            self.inbound(t, &sender, &host, ip, c);
        }
    }
}
