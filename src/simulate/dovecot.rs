//! Dovecot 2.3's lines (with 2.4's `Logged in:` wording now and then): POP3/IMAP logins (the
//! evidence a grant rests on) and how their sessions end, failed logins, LMTP deliveries and
//! connections that never authenticate.
//!
//! Formats: the login processes' `login_log_format_elements` default; `pop3_logout_format`
//! default `top=%t/%p, retr=%r/%b, del=%d/%m, size=%s`; `imap_logout_format` default `in=%i
//! out=%o deleted=… expunged=… trashed=… hdr_count=… hdr_bytes=… body_count=… body_bytes=…`.

use super::US;
use super::generator::Gen;
use super::mix::LineKind;
use crate::domain::{ClientIp, Service};

/// The server's own addresses (see the address plan in `mod.rs`).
const LIP4: &str = "192.0.2.25";
const LIP6: &str = "2001:db8::25";

/// The server's address a client reached, in the client's family.
fn local_ip(ip: ClientIp) -> &'static str {
    if ip.is_ipv6() { LIP6 } else { LIP4 }
}

/// The fields dovecot logs for every login attempt.
fn login_fields(user: &str, ip: ClientIp) -> String {
    format!(
        "user=<{user}>, method=PLAIN, rip={ip}, lip={}",
        local_ip(ip)
    )
}

/// An open mail process: what its later lines are prefixed with.
pub(super) struct MailSession {
    pub(super) mpid: u32,
    pub(super) sess: String,
}

/// How an IMAP session that stayed connected ends.
#[derive(Clone, Copy)]
pub(super) enum ImapEnd {
    /// The client logged out (LOGOUT).
    LoggedOut,
    /// The connection dropped while the client sat in IDLE (NAT timeout, PC switched off).
    IdleDropped,
}

impl Gen {
    /// A mailbox check at `t_us` with a good (`ok`) or wrong password: a login and the mail
    /// process's logout a few seconds later with what it fetched (`mails` new messages).
    pub(super) fn login(&mut self, t_us: i64, user: &str, ip: ClientIp, svc: Service, ok: bool) {
        if ok {
            let mails = if self.rng.u8(..100) < 25 {
                self.rng.u32(1..4)
            } else {
                0
            };
            let s = self.login_ok(t_us, user, ip, svc);
            let t2 = t_us + self.jitter(4000);
            self.logout(t2, user, svc, &s, mails);
        } else {
            let sess = self.session();
            self.login_failed(t_us, user, ip, svc, &sess);
        }
    }

    /// The login line alone, recorded in the history; the session is left open.
    pub(super) fn login_ok(
        &mut self,
        t_us: i64,
        user: &str,
        ip: ClientIp,
        svc: Service,
    ) -> MailSession {
        let sess = self.session();
        self.mpid = if self.mpid > 60_000 {
            3000
        } else {
            self.mpid + self.rng.u32(1..7)
        };
        let mpid = self.mpid;
        // Dovecot versions word it differently; parsers must take both.
        let verb = if self.rng.u8(..100) < 15 {
            "Logged in"
        } else {
            "Login"
        };
        let tls = if self.rng.bool() { "TLS, " } else { "" };
        let (s, fields) = (svc.as_str(), login_fields(user, ip));
        self.push(
            t_us,
            LineKind::MailboxLogin,
            &format!("dovecot: {s}-login: {verb}: {fields}, mpid={mpid}, {tls}session=<{sess}>"),
        );
        self.hist.success(t_us.div_euclid(US), user, ip);
        self.stats.logins += 1;
        MailSession { mpid, sess }
    }

    /// The mail process's logout after fetching `n` messages (POP3 deletes what it fetched).
    fn logout(&mut self, t_us: i64, user: &str, svc: Service, s: &MailSession, n: u32) {
        let MailSession { mpid, sess } = s;
        let size = n * self.rng.u32(2000..40_000);
        let body = match svc {
            Service::Pop3 => format!(
                "dovecot: pop3({user})<{mpid}><{sess}>: Disconnected: Logged out top=0/0, retr={n}/{size}, del={n}/{n}, size={size}"
            ),
            Service::Imap | Service::Auth | Service::Sieve => {
                let io = self.imap_io(size, 1);
                format!(
                    "dovecot: imap({user})<{mpid}><{sess}>: Disconnected: Logged out {io} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count={n} body_bytes={size}"
                )
            }
        };
        self.push(t_us, LineKind::MailboxOther, &body);
    }

    /// `in=… out=…` of an IMAP session that fetched `size` bytes over `hours` hours.
    fn imap_io(&mut self, size: u32, hours: u32) -> String {
        let i = self.rng.u32(100..900) * hours.max(1);
        let o = size + self.rng.u32(500..3000) * hours.max(1);
        format!("in={i} out={o}")
    }

    /// The end of an IMAP session that stayed connected from `since_us`, having fetched `n` new
    /// messages while it was open.
    pub(super) fn imap_end(
        &mut self,
        t_us: i64,
        since_us: i64,
        user: &str,
        s: &MailSession,
        n: u32,
        how: ImapEnd,
    ) {
        let MailSession { mpid, sess } = s;
        let size = n * self.rng.u32(2000..40_000);
        let secs = (t_us - since_us).max(0) / US;
        let io = self.imap_io(size, (secs / 3600) as u32 + 1);
        let why = match how {
            ImapEnd::LoggedOut => "Logged out".to_string(),
            ImapEnd::IdleDropped => format!(
                "Connection closed (IDLE running for {}.{:03} + waiting input for 0.{:03} secs, 2 B in + 10+10 B out, state=wait-input)",
                secs,
                self.rng.u32(..1000),
                self.rng.u32(1..1000)
            ),
        };
        self.push(
            t_us,
            LineKind::MailboxOther,
            &format!(
                "dovecot: imap({user})<{mpid}><{sess}>: Disconnected: {why} {io} deleted=0 expunged=0 trashed=0 hdr_count={n} hdr_bytes={} body_count={n} body_bytes={size}",
                n * 900
            ),
        );
    }

    /// A wrong password: sometimes the auth process's reason (`auth_verbose`), always the login
    /// process's disconnect two seconds later (dovecot's auth failure delay). One attempt is one
    /// failure in the history, however many lines report it.
    fn login_failed(&mut self, t_us: i64, user: &str, ip: ClientIp, svc: Service, sess: &str) {
        let verbose = self.rng.bool();
        if verbose {
            self.push(
                t_us,
                LineKind::FailedLogin,
                &format!("dovecot: auth: passwd-file({user},{ip},<{sess}>): Password mismatch"),
            );
            self.hist.failure(t_us.div_euclid(US), user, ip);
        }
        let t2 = t_us + 2 * US + self.jitter(500);
        let fields = login_fields(user, ip);
        let body = if svc == Service::Imap && self.rng.bool() {
            format!(
                "dovecot: imap-login: Login aborted: Connection closed (auth failed, 1 attempts in 2 secs) (auth_failed): {fields}, session=<{sess}>"
            )
        } else {
            format!(
                "dovecot: {}-login: Disconnected (auth failed, 1 attempts in 2 secs): {fields}, session=<{sess}>",
                svc.as_str()
            )
        };
        self.push(t2, LineKind::FailedLogin, &body);
        if !verbose {
            self.hist.failure(t2.div_euclid(US), user, ip);
        }
        self.stats.failed_logins += 1;
    }

    /// LMTP's delivery of message `mid` into `login`'s inbox.
    pub(super) fn lmtp_saved(&mut self, t_us: i64, login: &str, sess: &str, mid: &str) {
        let dpid = self.rng.u32(3000..60_000);
        self.push(
            t_us,
            LineKind::Inbound,
            &format!("dovecot: lmtp({login})<{dpid}><{sess}>: msgid=<{mid}>: saved mail to INBOX"),
        );
    }

    /// A scanner that connects to IMAP and leaves without trying to log in.
    pub(super) fn imap_no_auth(&mut self, t_us: i64, ip: ClientIp) {
        let sess = self.session();
        self.push(
            t_us,
            LineKind::Noise,
            &format!(
                "dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip={ip}, lip={}, session=<{sess}>",
                local_ip(ip)
            ),
        );
    }
}
