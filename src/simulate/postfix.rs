//! Postfix's lines: relay attempts decided by the grant rule (accepted and delivered, or
//! `Relay access denied`), inbound deliveries to local mailboxes, unknown recipients, and the
//! one-line helpers each daemon's recurring lines share.

use std::net::Ipv4Addr;

use super::US;
use super::addresses::{PROBE_USERS, domain_of, host_of, pick};
use super::generator::{Gen, Intent};
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

impl Gen {
    pub(super) fn smtpd_connect(&mut self, t_us: i64, pid: u32, client: &str) {
        self.push(
            t_us,
            &format!("postfix/smtpd[{pid}]: connect from {client}"),
        );
    }

    /// smtpd's last line for a connection; `counts` are its command counters.
    pub(super) fn smtpd_disconnect(&mut self, t_us: i64, pid: u32, client: &str, counts: &str) {
        self.push(
            t_us,
            &format!("postfix/smtpd[{pid}]: disconnect from {client} {counts}"),
        );
    }

    /// A message taken into the queue at `t_us`: smtpd's `client=`, then cleanup's message id
    /// and qmgr's `from=` after the two `gaps`.
    fn queued(&mut self, t_us: i64, gaps: [i64; 2], pid: u32, client: &str, q: Queued<'_>) {
        let Queued { cpid, qid, mid, .. } = q;
        self.push(
            t_us,
            &format!("postfix/smtpd[{pid}]: {qid}: client={client}"),
        );
        self.push(
            t_us + gaps[0],
            &format!("postfix/cleanup[{cpid}]: {qid}: message-id=<{mid}>"),
        );
        self.push(
            t_us + gaps[1],
            &format!(
                "postfix/qmgr[{}]: {qid}: from=<{}>, size={}, nrcpt={} (queue active)",
                self.qmgr_pid, q.sender, q.size, q.nrcpt
            ),
        );
    }

    fn qmgr_removed(&mut self, t_us: i64, qid: &str) {
        self.push(
            t_us,
            &format!("postfix/qmgr[{}]: {qid}: removed", self.qmgr_pid),
        );
    }

    /// One SMTP session from a client wanting to relay; accepted or rejected by the grant rule.
    pub(super) fn relay_session(&mut self, it: &Intent) {
        let host = host_of(it.ip);
        let pid = self.smtpd_pid();
        let client = format!("{host}[{}]", it.ip);
        self.smtpd_connect(it.t_us, pid, &client);
        let rt = it.t_us + 200_000 + self.jitter(100);
        if self
            .hist
            .authorized(it.ip, rt.div_euclid(US), self.opts.window)
        {
            self.relay_accepted(it, rt, pid, &client);
        } else {
            self.relay_rejected(it, rt, pid, &client);
        }
    }

    /// The relay is allowed: queued at `rt`, then delivered to each recipient's MX.
    fn relay_accepted(&mut self, it: &Intent, rt: i64, pid: u32, client: &str) {
        let k = it.rcpts.len();
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
        self.queued(rt, [50_000, 90_000], pid, client, q);
        let counts = format!("ehlo=1 mail=1 rcpt={k} data=1 quit=1 commands={}", k + 4);
        self.smtpd_disconnect(rt + 120_000, pid, client, &counts);
        let mut last = rt + 120_000;
        for r in &it.rcpts {
            let spid = pick(&mut self.rng, &self.smtp_pids);
            let d_us = self.jitter(2500) + 150_000;
            last = rt + 90_000 + d_us;
            let dom = domain_of(r).unwrap_or("example.net");
            let mx_ip = Ipv4Addr::new(198, 51, 100, 100 + (dom.len() % 50) as u8);
            let remote_q = format!("{:X}", self.rng.u64(..) & 0xFFFF_FFFF_FFFF);
            let delay = (last - it.t_us) as f64 / 1e6;
            let half = d_us as f64 / 2e6;
            self.push(
                last,
                &format!(
                    "postfix/smtp[{spid}]: {qid}: to=<{r}>, relay=mx.{dom}[{mx_ip}]:25, delay={delay:.2}, delays=0.2/0.01/{half:.2}/{half:.2}, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {remote_q})"
                ),
            );
            self.stats.accepted_relays += 1;
        }
        self.qmgr_removed(last + 1_000, &qid);
    }

    /// The relay is denied: one rejection per recipient from `rt` on, each one recorded.
    fn relay_rejected(&mut self, it: &Intent, mut rt: i64, pid: u32, client: &str) {
        for r in &it.rcpts {
            // Some servers defer (454) rather than reject (554); parsers must take both.
            let code = if self.rng.u8(..100) < 15 {
                "454 4.7.1"
            } else {
                "554 5.7.1"
            };
            self.push(
                rt,
                &format!(
                    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {client}: {code} <{r}>: Relay access denied; from=<{}> to=<{r}> proto=ESMTP helo=<{}>",
                    it.sender, it.helo
                ),
            );
            self.rejections
                .push((rt.div_euclid(US), it.ip, it.sender.clone(), r.clone()));
            rt += 20_000 + self.jitter(60);
        }
        let k = it.rcpts.len();
        let counts = format!("ehlo=1 mail=1 rcpt=0/{k} quit=1 commands=3/{}", k + 3);
        self.smtpd_disconnect(rt + 30_000, pid, client, &counts);
    }

    /// One inbound message to a local mailbox (never a relay).
    pub(super) fn inbound(&mut self, t: i64, sender: &str, host: &str, ip: ClientIp, cust: usize) {
        let pid = self.smtpd_pid();
        let client = format!("{host}[{ip}]");
        self.smtpd_connect(t, pid, &client);
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
        self.queued(t + 150_000, [40_000, 80_000], pid, &client, q);
        let counts = "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5";
        self.smtpd_disconnect(t + 250_000, pid, &client, counts);
        let (login, addr) = {
            let c = &self.customers[cust];
            (c.login.clone(), c.addr.clone())
        };
        let lpid = pick(&mut self.rng, &self.lmtp_pids);
        let sess = self.session();
        self.lmtp_saved(t + 300_000, &login, &sess, &mid);
        self.push(
            t + 310_000,
            &format!(
                "postfix/lmtp[{lpid}]: {qid}: to=<{addr}>, relay={}.{}[private/dovecot-lmtp], delay=0.31, delays=0.23/0.01/0.02/0.05, dsn=2.0.0, status=sent (250 2.0.0 <{addr}> {sess} Saved)",
                self.opts.host, self.opts.domain
            ),
        );
        self.qmgr_removed(t + 312_000, &qid);
        self.stats.inbound += 1;
    }

    /// Inbound mail to a mailbox that does not exist: rejected at RCPT.
    fn inbound_unknown_user(&mut self, t: i64, sender: &str, host: &str, ip: ClientIp) {
        let pid = self.smtpd_pid();
        let client = format!("{host}[{ip}]");
        let r = format!(
            "{}{}@{}",
            pick(&mut self.rng, PROBE_USERS),
            self.rng.u32(..100),
            self.opts.domain
        );
        self.smtpd_connect(t, pid, &client);
        self.push(
            t + 180_000,
            &format!(
                "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {client}: 550 5.1.1 <{r}>: Recipient address rejected: User unknown in local recipient table; from=<{sender}> to=<{r}> proto=ESMTP helo=<{host}>"
            ),
        );
        let counts = "ehlo=1 mail=1 rcpt=0/1 data=0/1 rset=1 quit=1 commands=4/6";
        self.smtpd_disconnect(t + 200_000, pid, &client, counts);
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
