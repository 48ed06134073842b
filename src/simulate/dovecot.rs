//! Dovecot's lines: POP3/IMAP logins (the evidence a grant rests on), their failures, LMTP
//! deliveries and connections that never authenticate.

use super::US;
use super::generator::Gen;
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

impl Gen {
    /// A mailbox login at `t_us` with a good (`ok`) or wrong password, recorded in the history.
    pub(super) fn login(&mut self, t_us: i64, user: &str, ip: ClientIp, svc: Service, ok: bool) {
        let sess = self.session();
        if ok {
            self.login_ok(t_us, user, ip, svc, &sess);
        } else {
            self.login_failed(t_us, user, ip, svc, &sess);
        }
    }

    /// A login, then the mail process's logout with what it fetched.
    fn login_ok(&mut self, t_us: i64, user: &str, ip: ClientIp, svc: Service, sess: &str) {
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
            &format!("dovecot: {s}-login: {verb}: {fields}, mpid={mpid}, {tls}session=<{sess}>"),
        );
        self.hist.success(t_us.div_euclid(US), user, ip);
        self.stats.logins += 1;
        let t2 = t_us + self.jitter(4000);
        let n = self.rng.u32(0..5);
        let size = n * self.rng.u32(2000..40_000);
        let body = match svc {
            Service::Pop3 => format!(
                "dovecot: pop3({user})<{mpid}><{sess}>: Disconnected: Logged out top=0/0, retr={n}/{size}, del={n}/{n}, size={size}"
            ),
            Service::Imap => format!(
                "dovecot: imap({user})<{mpid}><{sess}>: Disconnected: Logged out in={} out={} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count={n} body_bytes={size}",
                self.rng.u32(100..900),
                size + self.rng.u32(500..3000)
            ),
        };
        self.push(t2, &body);
    }

    /// A wrong password: sometimes the auth process's reason, always the login process's
    /// disconnect two seconds later (dovecot's auth failure delay).
    fn login_failed(&mut self, t_us: i64, user: &str, ip: ClientIp, svc: Service, sess: &str) {
        if self.rng.bool() {
            self.push(
                t_us,
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
        self.push(t2, &body);
        self.hist.failure(t2.div_euclid(US), user, ip);
        self.stats.failed_logins += 1;
    }

    /// LMTP's delivery of message `mid` into `login`'s inbox.
    pub(super) fn lmtp_saved(&mut self, t_us: i64, login: &str, sess: &str, mid: &str) {
        let dpid = self.rng.u32(3000..60_000);
        self.push(
            t_us,
            &format!("dovecot: lmtp({login})<{dpid}><{sess}>: msgid=<{mid}>: saved mail to INBOX"),
        );
    }

    /// A scanner that connects to IMAP and leaves without trying to log in.
    pub(super) fn imap_no_auth(&mut self, t_us: i64, ip: ClientIp) {
        let sess = self.session();
        self.push(
            t_us,
            &format!(
                "dovecot: imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip={ip}, lip={}, session=<{sess}>",
                local_ip(ip)
            ),
        );
    }
}
