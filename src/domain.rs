//! The vocabulary of relaydesk: client addresses, mail services, and the events that the parsers
//! recognize in mail logs. Every other module speaks in these types; none of them knows log text.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::Serialize;

/// Seconds since the Unix epoch, UTC. Times are stored and compared as this; zones only matter
/// when text is parsed or shown.
pub type Epoch = i64;

/// A client IP address, normalized: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes plain IPv4, so a
/// login over IPv4-mapped IPv6 and a send over IPv4 are the same client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientIp(IpAddr);

impl ClientIp {
    pub fn new(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientIp(IpAddr::V4(v4)),
                None => ClientIp(IpAddr::V6(v6)),
            },
            v4 => ClientIp(v4),
        }
    }

    pub fn addr(self) -> IpAddr {
        self.0
    }

    /// Parses an address as logs write it: bare, in `[brackets]`, with an `IPv6:` prefix, or
    /// with a `:port` suffix on IPv4 (`203.0.113.7:1060`) or bracketed IPv6 (`[2001:db8::1]:1060`).
    pub fn parse_lenient(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t
            .strip_prefix("IPv6:")
            .or_else(|| t.strip_prefix("ipv6:"))
            .unwrap_or(t);
        if let Some(rest) = t.strip_prefix('[') {
            let end = rest.find(']')?;
            return ClientIp::parse_lenient(&rest[..end]);
        }
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Some(ClientIp::new(ip));
        }
        // IPv4 with a port: exactly one colon.
        if let Some((host, port)) = t.rsplit_once(':')
            && !host.contains(':')
            && port.bytes().all(|b| b.is_ascii_digit())
            && let Ok(v4) = host.parse::<Ipv4Addr>()
        {
            return Some(ClientIp(IpAddr::V4(v4)));
        }
        None
    }

    pub fn is_ipv6(self) -> bool {
        self.0.is_ipv6()
    }

    /// The address as `Display` writes it; IPv4 digit by digit into a stack buffer, without
    /// `fmt` or an allocation (`parse` writes one per record, the policy one per refusal).
    pub fn write_text(self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self.0 {
            IpAddr::V4(a) => {
                let mut buf = [0u8; 15];
                let mut n = 0;
                for (k, octet) in a.octets().into_iter().enumerate() {
                    if k > 0 {
                        buf[n] = b'.';
                        n += 1;
                    }
                    if octet >= 100 {
                        buf[n] = b'0' + octet / 100;
                        n += 1;
                    }
                    if octet >= 10 {
                        buf[n] = b'0' + octet / 10 % 10;
                        n += 1;
                    }
                    buf[n] = b'0' + octet % 10;
                    n += 1;
                }
                out.write_all(&buf[..n])
            }
            IpAddr::V6(a) => write!(out, "{a}"),
        }
    }

    /// `write_text` as a `String`.
    pub fn text(self) -> String {
        let mut out = Vec::with_capacity(15);
        // Writing to a Vec cannot fail.
        let _ = self.write_text(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl FromStr for ClientIp {
    type Err = ParseIpError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientIp::parse_lenient(s).ok_or_else(|| ParseIpError(s.chars().take(64).collect()))
    }
}

impl fmt::Display for ClientIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for ClientIp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl From<Ipv4Addr> for ClientIp {
    fn from(v: Ipv4Addr) -> Self {
        ClientIp(IpAddr::V4(v))
    }
}

impl From<Ipv6Addr> for ClientIp {
    fn from(v: Ipv6Addr) -> Self {
        ClientIp::new(IpAddr::V6(v))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an IP address: {0:?}")]
pub struct ParseIpError(String);

/// How logins compare (`relay.login_case`, `relay.customer_domains`): one account, one name.
/// `U00065`, ` u00065` and `u00065@example.jp` are the account `u00065` when logins are case
/// insensitive and `example.jp` is a customer domain; `u00065@elsewhere.example` stays itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginRule {
    /// Letters' case tells accounts apart (`relay.login_case = "sensitive"`).
    pub case_sensitive: bool,
    /// Domains whose `user@domain` is the account `user`.
    pub customer_domains: Vec<String>,
}

impl LoginRule {
    /// The canonical form of `raw`: surrounding space trimmed, lowercased unless logins are
    /// case sensitive, and `@domain` dropped for a customer domain. Borrowed when `raw` is
    /// already canonical (ingest calls this for every login line).
    pub fn canonical<'a>(&self, raw: &'a str) -> std::borrow::Cow<'a, str> {
        use std::borrow::Cow;
        let t = raw.trim();
        let t = match t.rsplit_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && self
                        .customer_domains
                        .iter()
                        .any(|d| d.eq_ignore_ascii_case(domain)) =>
            {
                local.trim()
            }
            _ => t,
        };
        let fold = !self.case_sensitive && t.chars().any(char::is_uppercase);
        match (fold, t.len() == raw.len()) {
            (false, true) => Cow::Borrowed(raw),
            (false, false) => Cow::Borrowed(t),
            (true, _) => Cow::Owned(t.to_lowercase()),
        }
    }

    /// Puts every login in `event` in canonical form.
    pub fn canonicalize(&self, event: &mut Event) {
        let fix = |login: &mut String| {
            let c = self.canonical(login);
            if c.as_ref() != login.as_str() {
                let c = c.into_owned();
                *login = c;
            }
        };
        match event {
            Event::Login { user, .. } | Event::SmtpAuth { user, .. } => fix(user),
            Event::LoginFailed { user, .. } | Event::SmtpAuthFailed { user, .. } => {
                if let Some(u) = user {
                    fix(u);
                }
            }
            Event::QueueClient { sasl_user, .. } | Event::Relayed { sasl_user, .. } => {
                if let Some(u) = sasl_user {
                    fix(u);
                }
            }
            _ => {}
        }
    }
}

/// A customer's login in canonical form (`LoginRule::canonical`), parsed once at the edge: what
/// suspensions, grants, sender owners, search and relay methods compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Login(String);

/// Why text is not a login.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("login: 1-256 printable characters")]
pub struct LoginError;

impl Login {
    /// `raw` in canonical form; 1 to 256 characters, no control characters.
    pub fn parse(raw: &str, rule: &LoginRule) -> Result<Login, LoginError> {
        let c = rule.canonical(raw);
        if c.is_empty() || c.len() > 256 || c.chars().any(char::is_control) {
            return Err(LoginError);
        }
        Ok(Login(c.into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Login {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A network as clients are compared against it: an IPv4-mapped IPv6 network
/// (`::ffff:203.0.113.0/120`) is the IPv4 network it maps (`203.0.113.0/24`), since every
/// client address is normalized to plain IPv4 (`ClientIp`); host bits are cleared.
pub fn client_net(net: ipnet::IpNet) -> ipnet::IpNet {
    use ipnet::{IpNet, Ipv4Net};
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(|n| IpNet::V4(n.trunc()))
                .unwrap_or(net.trunc()),
            None => net.trunc(),
        },
        _ => net.trunc(),
    }
}

/// Whether the block `subject` as stored (`203.0.113.0/24`, `::ffff:203.0.113.66/128`) covers
/// client `ip`: the one test of a stored network against a client.
pub fn net_holds(subject: &str, ip: ClientIp) -> bool {
    subject
        .parse::<ipnet::IpNet>()
        .is_ok_and(|n| client_net(n).contains(&ip.addr()))
}

/// The mailbox protocol a login used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Pop3,
    Imap,
    /// A mailbox login whose protocol the log does not name: Dovecot's auth process
    /// (`auth_verbose`) reports failures for POP3 and IMAP alike.
    Auth,
    /// ManageSieve (the same account's password, for Sieve scripts): only its failures count,
    /// as failed passwords; its logins are no mail checks.
    Sieve,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Pop3 => "pop3",
            Service::Imap => "imap",
            Service::Auth => "auth",
            Service::Sieve => "sieve",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pop3" => Some(Service::Pop3),
            "imap" => Some(Service::Imap),
            "auth" => Some(Service::Auth),
            "sieve" => Some(Service::Sieve),
            _ => None,
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a mailbox login failed, as far as the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailReason {
    /// Wrong password (or the daemon does not say which).
    AuthFailed,
    /// The user name is unknown to the mail service.
    UnknownUser,
    /// The client tried plaintext authentication where it is not allowed (no TLS).
    PlaintextDisallowed,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::AuthFailed => "auth_failed",
            FailReason::UnknownUser => "unknown_user",
            FailReason::PlaintextDisallowed => "plaintext_disallowed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "auth_failed" => Some(FailReason::AuthFailed),
            "unknown_user" => Some(FailReason::UnknownUser),
            "plaintext_disallowed" => Some(FailReason::PlaintextDisallowed),
            _ => None,
        }
    }
}

/// The delivery status on a Postfix `to=` line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Sent,
    Deferred,
    Bounced,
    Other,
}

impl DeliveryStatus {
    /// The name as serialized (`sent`, `deferred`, `bounced`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Bounced => "bounced",
            DeliveryStatus::Other => "other",
        }
    }
}

/// One thing a mail log line says, with its time. Produced by `ingest::parse`, consumed by the
/// store, the grant index and the abuse detector. Strings are untrusted log text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A successful POP3/IMAP login: from here the client IP may relay for the window.
    Login {
        at: Epoch,
        service: Service,
        user: String,
        ip: ClientIp,
    },
    /// A failed POP3/IMAP login. `user` is absent when the daemon did not log one.
    LoginFailed {
        at: Epoch,
        service: Service,
        user: Option<String>,
        ip: ClientIp,
        reason: FailReason,
    },
    /// The MTA refused to relay for a client that had no authorization.
    RelayRejected {
        at: Epoch,
        ip: ClientIp,
        sender: String,
        rcpt: String,
        reply: String,
    },
    /// Any other refused recipient (unknown user, client host rejected, policy trouble…).
    Rejected {
        at: Epoch,
        ip: ClientIp,
        sender: String,
        rcpt: String,
        reply: String,
    },
    /// A failed SMTP AUTH attempt.
    SmtpAuthFailed {
        at: Epoch,
        ip: ClientIp,
        user: Option<String>,
    },
    /// A successful SMTP AUTH where the MTA logs it on a line of its own (Sendmail
    /// `AUTH=server, relay=…, authid=…`) or on the arrival line (Exim `<= … A=plain:user`).
    /// Postfix says the same on its `client=` line: [`Event::QueueClient`]'s `sasl_user`.
    SmtpAuth {
        at: Epoch,
        ip: ClientIp,
        user: String,
    },
    /// Postfix smtpd accepted a message from a client: `QUEUEID: client=host[ip]`, with
    /// `sasl_user` when the client had authenticated (`, sasl_method=…, sasl_username=u`): the
    /// delivery joined by queue ID was then relayed by SMTP AUTH, not by POP before SMTP.
    QueueClient {
        at: Epoch,
        queue_id: String,
        ip: ClientIp,
        sasl_user: Option<String>,
    },
    /// Postfix qmgr: `QUEUEID: from=<sender>, size=…, nrcpt=N`.
    QueueFrom {
        at: Epoch,
        queue_id: String,
        sender: String,
    },
    /// A delivery attempt: `QUEUEID: to=<rcpt>, relay=…, status=sent`. `local` is true when the
    /// delivery went to a local mailbox transport (lmtp, local, virtual, pipe to a LDA).
    QueueTo {
        at: Epoch,
        queue_id: String,
        rcpt: String,
        status: DeliveryStatus,
        local: bool,
    },
    /// Postfix qmgr: `QUEUEID: removed` — the message has left the queue.
    QueueRemoved { at: Epoch, queue_id: String },
    /// Produced by correlation (not by the parser): mail from `ip` accepted and sent to a
    /// recipient outside `local_domains` — a relay.
    Relayed {
        at: Epoch,
        ip: ClientIp,
        sender: String,
        rcpt: String,
        /// The SMTP AUTH user when the client had authenticated (Postfix's `sasl_username`):
        /// relayed by SMTP AUTH. `None`: relayed by POP before SMTP (or mynetworks).
        sasl_user: Option<String>,
        /// When smtpd accepted the message (its `client=` line): when relaying was authorized.
        queued_at: Epoch,
    },
}

impl Event {
    pub fn at(&self) -> Epoch {
        match self {
            Event::Login { at, .. }
            | Event::LoginFailed { at, .. }
            | Event::RelayRejected { at, .. }
            | Event::Rejected { at, .. }
            | Event::SmtpAuthFailed { at, .. }
            | Event::SmtpAuth { at, .. }
            | Event::QueueClient { at, .. }
            | Event::QueueFrom { at, .. }
            | Event::QueueTo { at, .. }
            | Event::QueueRemoved { at, .. }
            | Event::Relayed { at, .. } => *at,
        }
    }

    /// The record kind used in NDJSON output and summaries.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Login { .. } => "login",
            Event::LoginFailed { .. } => "login_failed",
            Event::RelayRejected { .. } => "relay_rejected",
            Event::Rejected { .. } => "rejected",
            Event::SmtpAuthFailed { .. } => "smtp_auth_failed",
            Event::SmtpAuth { .. } => "smtp_auth",
            Event::QueueClient { .. } => "queue_client",
            Event::QueueFrom { .. } => "queue_from",
            Event::QueueTo { .. } => "queue_to",
            Event::QueueRemoved { .. } => "queue_removed",
            Event::Relayed { .. } => "relayed",
        }
    }
}

/// The domain part of a mail address, lowercased; `None` for the null sender or no `@`.
pub fn domain_of(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim_end_matches('>').trim();
    (!domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// Neutralizes untrusted log text for display in one line: control characters (CR, LF, ESC…)
/// become U+FFFD so nothing can forge a new log line or terminal sequence.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Whether `c` must not reach a page or a spreadsheet as itself: a control character (C0 but
/// line feed and tab, DEL, C1) or a bidirectional control, which would make a value display as
/// another (U+202E shows `moc.elpmaxe@evil` reversed) or forge a line.
pub fn is_unshowable(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Untrusted text (from logs) as it may be shown: each unshowable character (`is_unshowable`)
/// written visibly as `[U+XXXX]`. Borrowed when there is none, which is nearly always.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unshowable) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unshowable(c) {
            out.push_str(&format!("[U+{:04X}]", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The six main mail domains of Japan's mobile carriers today.
pub const CARRIER_DOMAINS_CURRENT: [&str; 6] = [
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "ymobile.ne.jp",
];

/// Mail domains of Japan's mobile carriers, current and older: spam aimed at phones goes
/// here (§6.4).
pub const CARRIER_DOMAINS: &[&str] = &[
    "docomo.ne.jp",
    "ezweb.ne.jp",
    "au.com",
    "softbank.ne.jp",
    "i.softbank.jp",
    "ymobile.ne.jp",
    "disney.ne.jp",
    "pdx.ne.jp",
    "willcom.com",
    "emnet.ne.jp",
    "vodafone.ne.jp",
];

/// Whether `address` is a mobile-carrier mailbox (its domain or a subdomain of one above).
pub fn is_carrier_address(address: &str) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    CARRIER_DOMAINS.iter().any(|c| {
        domain.len() >= c.len()
            && domain[domain.len() - c.len()..].eq_ignore_ascii_case(c)
            && (domain.len() == c.len() || domain.as_bytes()[domain.len() - c.len() - 1] == b'.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(shown("taro@example.jp"), "taro@example.jp");
        assert_eq!(shown("a\u{202E}pj.elpmaxe"), "a[U+202E]pj.elpmaxe");
        assert_eq!(shown("x\u{1b}[31m\r\0"), "x[U+001B][31m[U+000D][U+0000]");
        assert_eq!(shown("two\tcells\nlines"), "two\tcells\nlines");
        assert_eq!(shown("\u{2067}\u{200F}"), "[U+2067][U+200F]");
    }

    #[test]
    fn mapped_networks_are_the_ipv4_networks_they_map() {
        let net = |s: &str| client_net(s.parse().unwrap()).to_string();
        assert_eq!(net("::ffff:203.0.113.66/128"), "203.0.113.66/32");
        assert_eq!(net("::ffff:203.0.113.0/120"), "203.0.113.0/24");
        assert_eq!(net("::ffff:0:0/96"), "0.0.0.0/0");
        assert_eq!(net("2001:db8::1/48"), "2001:db8::/48");
        assert_eq!(net("203.0.113.9/24"), "203.0.113.0/24");
        // Not mapped, though it is near: stays IPv6.
        assert_eq!(net("::fffe:0:0/96"), "::fffe:0:0/96");
    }

    #[test]
    fn one_login_has_one_name() {
        let rule = LoginRule {
            case_sensitive: false,
            customer_domains: vec!["example.jp".into()],
        };
        for spelling in [
            "u00065",
            "U00065",
            " u00065",
            "u00065@example.jp",
            "U00065@EXAMPLE.JP ",
        ] {
            assert_eq!(rule.canonical(spelling), "u00065", "{spelling:?}");
            assert_eq!(Login::parse(spelling, &rule).unwrap().as_str(), "u00065");
        }
        // Another domain's user is another account.
        assert_eq!(
            rule.canonical("u00065@elsewhere.example"),
            "u00065@elsewhere.example"
        );
        assert_eq!(rule.canonical("@example.jp"), "@example.jp");
        let sensitive = LoginRule {
            case_sensitive: true,
            ..rule.clone()
        };
        assert_eq!(sensitive.canonical("U00065@example.jp"), "U00065");
        assert!(Login::parse("  ", &rule).is_err());
        assert!(Login::parse("a\u{1b}b", &rule).is_err());
        assert!(Login::parse(&"x".repeat(257), &rule).is_err());
        // Already canonical: no copy.
        assert!(matches!(
            rule.canonical("taro"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn delivery_status_names_are_the_serialized_ones() {
        for s in [
            DeliveryStatus::Sent,
            DeliveryStatus::Deferred,
            DeliveryStatus::Bounced,
            DeliveryStatus::Other,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
    }

    #[test]
    fn mapped_ipv6_becomes_ipv4() {
        let ip: ClientIp = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(ip.to_string(), "203.0.113.7");
        assert!(!ip.is_ipv6());
    }

    #[test]
    fn ports_and_brackets_are_dropped() {
        assert_eq!(
            "203.0.113.7:1060".parse::<ClientIp>().unwrap().to_string(),
            "203.0.113.7"
        );
        assert_eq!(
            "[2001:db8::7]:1060"
                .parse::<ClientIp>()
                .unwrap()
                .to_string(),
            "2001:db8::7"
        );
        assert_eq!(
            "[::ffff:203.0.113.7]"
                .parse::<ClientIp>()
                .unwrap()
                .to_string(),
            "203.0.113.7"
        );
        assert_eq!(
            "IPv6:2001:db8::7".parse::<ClientIp>().unwrap().to_string(),
            "2001:db8::7"
        );
        assert_eq!(
            "2001:db8::7".parse::<ClientIp>().unwrap().to_string(),
            "2001:db8::7"
        );
    }

    #[test]
    fn garbage_is_not_an_address() {
        for bad in [
            "",
            "unknown",
            "203.0.113",
            "1.2.3.4:x",
            "[1.2.3.4",
            "999.1.1.1",
        ] {
            assert!(bad.parse::<ClientIp>().is_err(), "{bad}");
        }
    }

    #[test]
    fn domains_are_lowercased() {
        assert_eq!(domain_of("Taro@Example.JP").as_deref(), Some("example.jp"));
        assert_eq!(domain_of(""), None);
        assert_eq!(domain_of("postmaster"), None);
    }

    #[test]
    fn control_characters_cannot_break_lines() {
        assert_eq!(one_line("a\r\nb\x1b"), "a\u{FFFD}\u{FFFD}b\u{FFFD}");
    }
}
