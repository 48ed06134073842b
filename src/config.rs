//! The configuration: one documented struct, loaded once from TOML at start. Durations, zones,
//! addresses and networks are parsed here, so a bad value is refused at start with its key and
//! the reason, never discovered at use.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer};

/// Everything relaydesk reads from `relaydesk.toml`. Every field has a default, so an empty file
/// (or none) is a working configuration for a first look.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Zone for log timestamps that carry none, and for times shown to people. Default Asia/Tokyo.
    pub timezone: Zone,
    pub service: ServiceConfig,
    pub database: DatabaseConfig,
    pub relay: RelayConfig,
    pub abuse: AbuseConfig,
    pub web: WebConfig,
    pub staff: StaffConfig,
    pub policy: PolicyConfig,
    pub ingest: IngestConfig,
    pub retention: RetentionConfig,
    pub syslog: SyslogConfig,
    pub hook: HookConfig,
    pub socketmap: SocketmapConfig,
    pub customer_auth: CustomerAuthConfig,
    /// Log files to follow; each also covers its rotated siblings (`.1`, `.2.gz`, `-20260313`…).
    pub sources: Vec<SourceConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            timezone: Zone(chrono_tz::Asia::Tokyo),
            service: ServiceConfig::default(),
            database: DatabaseConfig::default(),
            relay: RelayConfig::default(),
            abuse: AbuseConfig::default(),
            web: WebConfig::default(),
            staff: StaffConfig::default(),
            policy: PolicyConfig::default(),
            ingest: IngestConfig::default(),
            retention: RetentionConfig::default(),
            syslog: SyslogConfig::default(),
            hook: HookConfig::default(),
            socketmap: SocketmapConfig::default(),
            customer_auth: CustomerAuthConfig::default(),
            sources: Vec::new(),
        }
    }
}

/// What customers see about the mail service, used in guides and explanations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub name: String,
    pub pop_server: String,
    pub imap_server: String,
    pub smtp_server: String,
    /// Submission port with SMTP AUTH; 0 when the service does not offer it. Default 587
    /// (with `submission_tls = "implicit"`, 465 unless another port is set here).
    pub submission_port: u16,
    pub support_contact: String,
    /// What the mail server offers for POP3: `"implicit"` (POP3S, 995; the default),
    /// `"starttls"` (STLS on 110) or `"none"` (plain text on 110).
    pub pop_tls: Tls,
    /// IMAP likewise: `"implicit"` (IMAPS, 993; the default), `"starttls"` (143), `"none"`.
    pub imap_tls: Tls,
    /// The submission port: `"starttls"` (the default), `"implicit"` (465) or `"none"`.
    pub submission_tls: Tls,
    /// Port 25, where POP-before-SMTP sends go: `"starttls"` (the default: Postfix offers it)
    /// or `"none"`.
    pub smtp_tls: Tls,
    /// Ports other than the mode's usual one (0: the usual one).
    pub pop_port: u16,
    pub imap_port: u16,
    /// A PEM certificate (then any intermediates) and its PEM key that sign the Apple
    /// profile (`.mobileconfig`); both empty (the default): the profile is unsigned.
    pub profile_certificate: String,
    pub profile_key: String,
}

/// How a mail port is protected, as the setup documents describe it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// TLS from the first byte (POP3S 995, IMAPS 993, SMTPS 465).
    Implicit,
    /// Plain at first, then STARTTLS / STLS before the password is sent.
    Starttls,
    /// Plain text only.
    None,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            name: "Example Net".into(),
            pop_server: "pop.example.jp".into(),
            imap_server: "imap.example.jp".into(),
            smtp_server: "smtp.example.jp".into(),
            submission_port: 587,
            support_contact: "support@example.jp".into(),
            pop_tls: Tls::Implicit,
            imap_tls: Tls::Implicit,
            submission_tls: Tls::Starttls,
            smtp_tls: Tls::Starttls,
            pop_port: 0,
            imap_port: 0,
            profile_certificate: String::new(),
            profile_key: String::new(),
        }
    }
}

impl ServiceConfig {
    /// The POP3 port the mode uses: 995 for implicit TLS, else 110 (or `pop_port`).
    pub fn pop_port(&self) -> u16 {
        match (self.pop_port, self.pop_tls) {
            (0, Tls::Implicit) => 995,
            (0, _) => 110,
            (port, _) => port,
        }
    }

    /// The IMAP port: 993 for implicit TLS, else 143 (or `imap_port`).
    pub fn imap_port(&self) -> u16 {
        match (self.imap_port, self.imap_tls) {
            (0, Tls::Implicit) => 993,
            (0, _) => 143,
            (port, _) => port,
        }
    }

    /// The submission port customers set (0 when SMTP AUTH is not offered).
    pub fn submission_port_used(&self) -> u16 {
        self.submission().map_or(0, |(port, _)| port)
    }

    /// The submission port and its protection, when SMTP AUTH is offered: 465 for implicit
    /// TLS unless `submission_port` names another than the default 587.
    pub fn submission(&self) -> Option<(u16, Tls)> {
        match (self.submission_port, self.submission_tls) {
            (0, _) => None,
            (587, Tls::Implicit) => Some((465, Tls::Implicit)),
            (port, tls) => Some((port, tls)),
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://relaydesk.db` (embedded, the default) or `postgres://user:pass@host/db`.
    pub url: String,
    /// Connections in the pool, at most. Default 4.
    pub pool_size: usize,
    /// How long a caller waits for a free connection before giving up with an error (a 503
    /// page; followers retry). Default 5s.
    pub acquire_timeout: Seconds,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://relaydesk.db".into(),
            pool_size: 4,
            acquire_timeout: Seconds(5),
        }
    }
}

impl fmt::Debug for DatabaseConfig {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("pool_size", &self.pool_size)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// The relay-authorization rule (§6.1) and its diagnosis (§6.2).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// W: how long a login authorizes its IP to relay. Default 30 minutes.
    pub window: Seconds,
    /// L: how far back diagnosis looks for an expired grant. Default 24 hours.
    pub lookback: Seconds,
    /// Domains whose senders are customers.
    pub customer_domains: Vec<String>,
    /// Domains whose mail is inbound (delivered here), never a relay.
    pub local_domains: Vec<String>,
    /// Networks whose logins grant nothing (e.g. cloud services polling customer mailboxes).
    pub never_authorize: Vec<IpNet>,
    /// The policy service's REJECT text for a sender who is no customer, and for any refusal
    /// whose cause has no text of its own; `{url}` and `{window}` are filled in.
    pub reject_text: String,
    /// The REJECT text per cause the policy service can see (§6.3).
    pub reject_texts: RejectTexts,
    /// Whether letters' case tells logins apart: `"insensitive"` (the default: `U00065` and
    /// `u00065` are one account, as for most mail services) or `"sensitive"`.
    pub login_case: LoginCase,
    /// Who decides which addresses may relay: `"relaydesk"` (the default: a mail check
    /// within the window, relaydesk's own grant index) or `"store"` (the ISP's relay store in
    /// `relay.stores`, which Postfix obeys: an address is authorized exactly while a store
    /// holds it with an OK-like value).
    pub authority: Authority,
    /// The relay-authorization stores the ISP already runs (DRAC's map, pop-before-smtp's
    /// map, an SQL table), read and followed.
    pub stores: Vec<RelayStoreConfig>,
}

/// `relay.authority`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Authority {
    #[default]
    Relaydesk,
    Store,
}

/// One `[[relay.stores]]`: a Postfix lookup table (`kind = "postfix-map"`, `map`) or an SQL
/// table (`kind = "sql"`, `url`, `query`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayStoreConfig {
    /// How pages and findings name it. Default: the map or the URL's scheme.
    #[serde(default)]
    pub name: String,
    pub kind: RelayStoreKind,
    /// `postfix-map`: the table as Postfix names it, `btree:/etc/drac/dracd`,
    /// `hash:/etc/postfix/pop-before-smtp`, `lmdb:…`, `cdb:…`, `texthash:…`.
    #[serde(default)]
    pub map: String,
    /// `sql`: `postgres://…`, `mysql://…` (MariaDB too) or `sqlite://PATH` (opened read-only).
    #[serde(default)]
    pub url: String,
    /// `sql`: a query returning the address, a time (Unix seconds, the grant's start or its
    /// expiry) and optionally the login, one row per address that may relay now.
    #[serde(default)]
    pub query: String,
    /// `sql`: whether the query's time is when the grant began (`"granted"`, the default) or
    /// when it ends (`"expires"`).
    #[serde(default)]
    pub time_is: StoreTime,
    /// How often the store is read at least (the map file is also read as soon as it
    /// changes). Default 5s.
    #[serde(default = "default_store_interval")]
    pub interval: Seconds,
    /// `postfix-map`: the `postmap` program that reads it. Default `postmap` on the PATH.
    #[serde(default = "default_postmap")]
    pub postmap: String,
    /// `postfix-map`: Postfix's configuration directory for `postmap -c` (empty: the
    /// system's, `/etc/postfix`).
    #[serde(default)]
    pub postfix_config: String,
}

fn default_store_interval() -> Seconds {
    Seconds(5)
}

fn default_postmap() -> String {
    "postmap".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelayStoreKind {
    PostfixMap,
    Sql,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreTime {
    #[default]
    Granted,
    Expires,
}

impl RelayConfig {
    /// The names of the configured relay stores.
    pub fn store_names(&self) -> Vec<String> {
        self.stores
            .iter()
            .map(RelayStoreConfig::display_name)
            .collect()
    }
}

impl RelayStoreConfig {
    /// The name pages and findings use.
    pub fn display_name(&self) -> String {
        if !self.name.is_empty() {
            self.name.clone()
        } else if self.kind == RelayStoreKind::PostfixMap {
            self.map.clone()
        } else {
            format!("sql:{}", redact_url(&self.url))
        }
    }
}

/// `relay.login_case`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoginCase {
    #[default]
    Insensitive,
    Sensitive,
}

/// REJECT texts per cause, in ASCII (SMTP replies are). `{url}` becomes the refusal's own
/// `{public_url}/why/CODE`, `{window}` the window in minutes, `{time}` the last mail check from
/// the address and `{until}` when its permission ended (`expired`), as HH:MM in `timezone`.
/// Postfix writes `<rcpt>: Recipient address rejected: ` before the text; a reply that would
/// not fit one 512-octet line is cut to its cause's first sentence and the link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RejectTexts {
    pub expired: String,
    pub ip_changed: String,
    pub auth_failed: String,
    pub never_checked: String,
    pub suspended: String,
}

impl Default for RejectTexts {
    fn default() -> Self {
        RejectTexts {
            expired: "Relay access denied: your last mail check from this address, at {time}, \
                      allowed sending until {until}. Check (receive) your mail again, then send. \
                      Why: {url}"
                .into(),
            ip_changed: "Relay access denied: your mail was checked from a different connection. \
                         Check (receive) your mail again just before sending. Why: {url}"
                .into(),
            auth_failed: "Relay access denied: your last mail check failed (user name or \
                          password). Check the password in your mail program, receive, then \
                          send. Why: {url}"
                .into(),
            never_checked: "Relay access denied: check (receive) your mail first, then send \
                            within {window} minutes. Why: {url}"
                .into(),
            suspended: "Relay access denied: sending is stopped for this connection or account. \
                        Please contact support. Why: {url}"
                .into(),
        }
    }
}

impl RejectTexts {
    /// `(key, text)` of every cause's text, for checks.
    pub fn all(&self) -> [(&'static str, &str); 5] {
        [
            ("reject_texts.expired", &self.expired),
            ("reject_texts.ip_changed", &self.ip_changed),
            ("reject_texts.auth_failed", &self.auth_failed),
            ("reject_texts.never_checked", &self.never_checked),
            ("reject_texts.suspended", &self.suspended),
        ]
    }
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            window: Seconds(30 * 60),
            lookback: Seconds(24 * 3600),
            customer_domains: vec!["example.jp".into()],
            local_domains: vec!["example.jp".into()],
            never_authorize: Vec::new(),
            reject_text: "Relay access denied. Why: {url}".into(),
            reject_texts: RejectTexts::default(),
            login_case: LoginCase::Insensitive,
            authority: Authority::Relaydesk,
            stores: Vec::new(),
        }
    }
}

impl RelayConfig {
    /// How logins compare: one account, one name (`domain::LoginRule`).
    pub fn login_rule(&self) -> crate::domain::LoginRule {
        crate::domain::LoginRule {
            case_sensitive: self.login_case == LoginCase::Sensitive,
            customer_domains: self.customer_domains.clone(),
        }
    }

    pub fn is_local_domain(&self, domain: &str) -> bool {
        self.local_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    pub fn is_customer_domain(&self, domain: &str) -> bool {
        self.customer_domains
            .iter()
            .any(|d| d.eq_ignore_ascii_case(domain))
    }

    pub fn never_authorizes(&self, ip: IpAddr) -> bool {
        self.never_authorize.iter().any(|net| net.contains(&ip))
    }
}

/// Abuse alerts (§6.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbuseConfig {
    /// Relay attempts (accepted or rejected) that open an alert within `burst_window`.
    pub burst_relays: u32,
    pub burst_window: Seconds,
    /// Block the IP / suspend the login when an alert opens, until staff lift it.
    pub auto_block: bool,
}

impl Default for AbuseConfig {
    fn default() -> Self {
        AbuseConfig {
            burst_relays: 100,
            burst_window: Seconds(600),
            auto_block: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    pub listen: SocketAddr,
    /// The public address of the support site, used in links and the policy REJECT text.
    pub public_url: String,
    /// Only peers in these networks may set `X-Forwarded-For`.
    pub trusted_proxies: Vec<IpNet>,
    /// A signed-in session idle this long ends. Default 30 minutes.
    pub session_idle: Seconds,
    /// A signed-in session ends this long after sign-in, however active. Default 12 hours.
    pub session_max: Seconds,
    /// A request not answered within this long gets a 503 page. Default 10 seconds.
    pub request_timeout: Seconds,
    /// A connection that has not sent a whole request head within this long is closed.
    /// Default 10 seconds.
    pub header_timeout: Seconds,
    /// Sign-in throttling counts IPv6 clients by their network of this many bits. Default 64.
    pub throttle_ipv6_prefix: u8,
    /// Whether `/me`'s list of staff looks at a customer's data names the staff member
    /// (`true`) or only their role (`false`, the default).
    pub staff_names_to_customers: bool,
    /// `relaydesk demo` only: pages may be viewed as another address with `?as=IP`. Never read
    /// from a file.
    #[serde(skip)]
    pub demo: bool,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: "https://support.example.jp".into(),
            trusted_proxies: vec!["127.0.0.1/32".parse().expect("literal network")],
            session_idle: Seconds(30 * 60),
            session_max: Seconds(12 * 3600),
            request_timeout: Seconds(10),
            header_timeout: Seconds(10),
            throttle_ipv6_prefix: 64,
            staff_names_to_customers: false,
            demo: false,
        }
    }
}

/// The staff console (`/staff`): sign-in hardening.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StaffConfig {
    /// Admins must enter a TOTP code (RFC 6238) at sign-in; an admin without one set up can
    /// only set it up. Default false: turn it on once every admin has an authenticator.
    pub require_totp_for_admins: bool,
    /// Failed sign-ins are counted over this window; once it passes they are forgotten, so an
    /// attacker can slow an account down but never lock it out for good. Default 15 minutes.
    pub signin_window: Seconds,
    /// Failed sign-ins for one staff name within `signin_window` before further tries are
    /// refused (429). Default 5.
    pub signin_max_per_account: u32,
    /// Failed staff sign-ins from one address within `signin_window` before that address is
    /// refused (429). Default 20: an office behind one NAT still gets in.
    pub signin_max_per_address: u32,
}

impl Default for StaffConfig {
    fn default() -> Self {
        StaffConfig {
            require_totp_for_admins: false,
            signin_window: Seconds(15 * 60),
            signin_max_per_account: 5,
            signin_max_per_address: 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// `127.0.0.1:10040`, or `unix:/var/spool/postfix/private/relaydesk`.
    pub listen: String,
    /// Most connections open at once; a new one beyond this closes the one silent longest.
    pub max_connections: usize,
    /// A connection idle this long is closed (Postfix reconnects). Default 300 s.
    pub idle_timeout: Seconds,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            listen: "127.0.0.1:10040".into(),
            max_connections: 256,
            idle_timeout: Seconds(300),
        }
    }
}

/// relaydesk's grants as a Postfix lookup table (socketmap_table(5)): `check_client_access
/// socketmap:inet:127.0.0.1:10042:relay` answers `OK` exactly where the policy service would.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SocketmapConfig {
    /// `127.0.0.1:10042`; empty (the default): not served.
    pub listen: String,
    /// The same grants written to a Postfix map for sites that must keep a file: the source
    /// `PATH` (`ADDRESS OK` lines) and, unless `map_type` is `texthash`, `postmap`'s
    /// `PATH.db` (or `.lmdb`, `.cdb`), each replaced whole by a rename when the grants change.
    /// Postfix reads it as `check_client_access hash:PATH`. Empty (the default): no file.
    pub map_file: String,
    /// `hash` (the default), `btree`, `lmdb`, `cdb` or `texthash`.
    pub map_type: String,
    /// The `postmap` that builds it, and Postfix's configuration directory for `-c` (empty:
    /// the system's).
    pub postmap: String,
    pub postfix_config: String,
}

impl Default for SocketmapConfig {
    fn default() -> Self {
        SocketmapConfig {
            listen: String::new(),
            map_file: String::new(),
            map_type: "hash".into(),
            postmap: "postmap".into(),
            postfix_config: String::new(),
        }
    }
}

/// How long history is kept (§5): login and IP history is personal data, kept only as long as
/// configured. Older rows are deleted hourly by `relaydesk serve`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Raw events: failed logins, rejections, policy decisions, accepted-relay counts. Default 90 days.
    pub events: Seconds,
    /// Login sessions (the login and IP history). Default 180 days.
    pub sessions: Seconds,
    /// Alerts, ended grants, blocks and suspensions, notes and the audit log. Default 400 days.
    pub records: Seconds,
    /// History older than this is anonymized before it is deleted: addresses become their
    /// /24 or /48, logins and mail addresses' local parts a keyed hash, so counts, reports and
    /// alerts still add up. `0s` (the default): not anonymized. At least `relay.lookback`.
    pub anonymize_after: Seconds,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            events: Seconds(90 * 86400),
            sessions: Seconds(180 * 86400),
            records: Seconds(400 * 86400),
            anonymize_after: Seconds(0),
        }
    }
}

/// How followed files are read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Most lines committed in one transaction. Default 100,000: into a store holding a
    /// month, each commit rewrites the index pages its rows touch, so fewer, larger commits of
    /// a backlog or an import write far less (BENCHMARKS.md "Into a full store"); a followed
    /// file commits whenever it reaches its end, so live lines are not held back.
    pub batch_lines: usize,
    /// How often followed files are checked for new lines, in milliseconds. Default 100 ms,
    /// so a login reaches the grant index well within 250 ms.
    pub poll_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_lines: 100_000,
            poll_ms: 100,
        }
    }
}

/// The optional syslog receiver (RFC 3164 / RFC 5424) for logs forwarded from many servers.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    pub udp: Option<SocketAddr>,
    pub tcp: Option<SocketAddr>,
}

/// The login hook: a local endpoint that a Dovecot post-login script calls with USER and IP.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HookConfig {
    pub listen: Option<SocketAddr>,
    /// Shared secret the script sends as `Authorization: Bearer …`. Required when `listen` is set.
    pub token: Option<String>,
}

impl fmt::Debug for HookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookConfig")
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// How the customer site's `/login` checks a mail ID and password: against the mail service
/// itself (a POP3 or IMAP login), or a Dovecot-style passwd-file. Off (`none`) by default, so a
/// fresh install never asks customers for a password it cannot check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CustomerAuthConfig {
    /// `pop3`, `imap`, `passwd-file`, or `none` (sign-in disabled, the default).
    pub method: CustomerAuthMethod,
    /// The POP3 or IMAP server as `host:port`. Default `127.0.0.1:110`. Its own login log line
    /// comes from this host's address: list that address in `relay.never_authorize`.
    pub server: String,
    /// TLS to the server: `none` (plain text: only for a server on this host or a trusted
    /// network), `starttls` (STLS for POP3, STARTTLS for IMAP, on the plain port) or `implicit`
    /// (POP3S, IMAPS). The host name in `server` is verified against the certificate; nothing
    /// falls back to plain text. Default `none`.
    pub tls: CustomerAuthTls,
    /// PEM file of the certificate authorities trusted for `tls`; the system's roots otherwise.
    pub ca_file: Option<PathBuf>,
    /// The passwd-file for `passwd-file`: `user:{SCHEME}hash:...` lines. Schemes: PLAIN,
    /// SHA256, SSHA256, SHA512, SSHA512, SHA, SSHA (optionally `.HEX` or `.b64`),
    /// SHA256-CRYPT and SHA512-CRYPT. Default `/etc/dovecot/users`.
    pub passwd_file: PathBuf,
    /// The whole check (connect, greeting, login) must end within this. Default 10 s.
    pub timeout: Seconds,
}

/// How `/login` talks to the mail server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TlsSetting")]
pub enum CustomerAuthTls {
    None,
    Starttls,
    Implicit,
}

/// `tls` as written: a name, or `false` as earlier configurations wrote "no TLS".
#[derive(Deserialize)]
#[serde(untagged)]
enum TlsSetting {
    Off(bool),
    Name(String),
}

impl TryFrom<TlsSetting> for CustomerAuthTls {
    type Error = String;

    fn try_from(v: TlsSetting) -> Result<Self, String> {
        match v {
            TlsSetting::Off(false) => Ok(CustomerAuthTls::None),
            TlsSetting::Off(true) => {
                Err("customer_auth.tls: say which TLS, \"starttls\" or \"implicit\"".into())
            }
            TlsSetting::Name(n) => match n.as_str() {
                "none" => Ok(CustomerAuthTls::None),
                "starttls" => Ok(CustomerAuthTls::Starttls),
                "implicit" => Ok(CustomerAuthTls::Implicit),
                other => Err(format!(
                    "customer_auth.tls: unknown mode {other:?}, expected \"none\", \"starttls\" \
                     or \"implicit\""
                )),
            },
        }
    }
}

/// Where `/login` verifies passwords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CustomerAuthMethod {
    Pop3,
    Imap,
    PasswdFile,
    None,
}

impl Default for CustomerAuthConfig {
    fn default() -> Self {
        CustomerAuthConfig {
            method: CustomerAuthMethod::None,
            server: "127.0.0.1:110".into(),
            tls: CustomerAuthTls::None,
            ca_file: None,
            passwd_file: PathBuf::from("/etc/dovecot/users"),
            timeout: Seconds(10),
        }
    }
}

impl CustomerAuthConfig {
    fn check(&self) -> anyhow::Result<()> {
        if let Some(ca) = &self.ca_file
            && !ca.exists()
        {
            bail!("customer_auth.ca_file: {} does not exist", ca.display());
        }
        if self.timeout.0 <= 0 {
            bail!("customer_auth.timeout: must be longer than 0");
        }
        if matches!(
            self.method,
            CustomerAuthMethod::Pop3 | CustomerAuthMethod::Imap
        ) {
            let (host, port) = self.server.rsplit_once(':').unwrap_or(("", ""));
            if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
                bail!(
                    "customer_auth.server: expected host:port, got {:?}",
                    self.server
                );
            }
        }
        if self.method == CustomerAuthMethod::PasswdFile && self.passwd_file.as_os_str().is_empty()
        {
            bail!("customer_auth.passwd_file: required when method = \"passwd-file\"");
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    pub path: PathBuf,
}

impl Config {
    /// Reads `path`, or the defaults when `path` is None.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read configuration {}", path.display()))?;
                Config::from_toml(&text)
                    .with_context(|| format!("bad configuration in {}", path.display()))?
            }
            None => Config::default(),
        };
        Ok(config)
    }

    pub fn from_toml(text: &str) -> anyhow::Result<Config> {
        let mut config: Config = toml::from_str(text)?;
        // Domains compare without case everywhere; keep them in one case from the start.
        for d in config
            .relay
            .customer_domains
            .iter_mut()
            .chain(config.relay.local_domains.iter_mut())
        {
            *d = d.trim().to_ascii_lowercase();
        }
        // Networks compare against normalized clients: `::ffff:a.b.c.d/N` is the IPv4 network.
        for n in config
            .relay
            .never_authorize
            .iter_mut()
            .chain(config.web.trusted_proxies.iter_mut())
        {
            *n = crate::domain::client_net(*n);
        }
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if self.relay.window.0 <= 0 {
            bail!("relay.window: must be longer than 0");
        }
        if self.relay.lookback.0 < self.relay.window.0 {
            bail!("relay.lookback: must be at least relay.window");
        }
        for (key, text) in std::iter::once(("reject_text", self.relay.reject_text.as_str()))
            .chain(self.relay.reject_texts.all())
        {
            if !text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
                bail!("relay.{key}: SMTP replies are ASCII without control characters");
            }
            if text.len() > 300 {
                bail!("relay.{key}: at most 300 characters (one SMTP reply line)");
            }
        }
        if self.abuse.burst_relays == 0 || self.abuse.burst_window.0 <= 0 {
            bail!("abuse.burst_relays and abuse.burst_window: must be more than 0");
        }
        if self.ingest.batch_lines == 0 || self.ingest.poll_ms == 0 {
            bail!("ingest.batch_lines and ingest.poll_ms: must be more than 0");
        }
        if self.staff.signin_window.0 <= 0
            || self.staff.signin_max_per_account == 0
            || self.staff.signin_max_per_address == 0
        {
            bail!(
                "staff.signin_window, staff.signin_max_per_account and \
                 staff.signin_max_per_address: must be more than 0"
            );
        }
        if self.retention.events < self.relay.lookback
            || self.retention.sessions < self.relay.lookback
        {
            bail!("retention.events and retention.sessions: must be at least relay.lookback");
        }
        if self.retention.anonymize_after.0 != 0
            && self.retention.anonymize_after < self.relay.lookback
        {
            bail!("retention.anonymize_after: at least relay.lookback (0s: never)");
        }
        if self.database.pool_size == 0 {
            bail!("database.pool_size: must be more than 0");
        }
        if self.hook.listen.is_some() && self.hook.token.as_deref().is_none_or(str::is_empty) {
            bail!("hook.token: required when hook.listen is set");
        }
        if !(self.database.url.starts_with("sqlite:") || self.database.url.starts_with("postgres"))
        {
            bail!("database.url: expected sqlite://PATH or postgres://…");
        }
        self.customer_auth.check()?;
        if self.relay.authority == Authority::Store && self.relay.stores.is_empty() {
            bail!("relay.authority: \"store\" needs at least one [[relay.stores]]");
        }
        if !["hash", "btree", "lmdb", "cdb", "texthash"].contains(&self.socketmap.map_type.as_str())
        {
            bail!("socketmap.map_type: one of hash, btree, lmdb, cdb, texthash");
        }
        let mut names = std::collections::HashSet::new();
        for store in &self.relay.stores {
            match store.kind {
                RelayStoreKind::PostfixMap if !store.map.contains(':') => {
                    bail!(
                        "relay.stores.map: a Postfix table as TYPE:NAME, e.g. btree:/etc/drac/dracd"
                    )
                }
                RelayStoreKind::Sql
                    if !["sqlite:", "postgres", "mysql:", "mariadb:"]
                        .iter()
                        .any(|p| store.url.starts_with(p))
                        || store.query.trim().is_empty() =>
                {
                    bail!(
                        "relay.stores: kind = \"sql\" needs url (sqlite://, postgres:// or \
                         mysql://) and query"
                    )
                }
                _ => {}
            }
            if store.interval.0 <= 0 {
                bail!("relay.stores.interval: must be longer than 0");
            }
            if !names.insert(store.display_name()) {
                bail!(
                    "relay.stores.name: {:?} is used twice",
                    store.display_name()
                );
            }
        }
        Ok(())
    }

    /// The relay window in whole minutes, as customers are told.
    pub fn window_minutes(&self) -> i64 {
        self.relay.window.0 / 60
    }
}

/// A zone name such as `Asia/Tokyo`, parsed at load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Zone(pub chrono_tz::Tz);

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        chrono_tz::Tz::from_str(&name)
            .map(Zone)
            .map_err(|_| serde::de::Error::custom(format!("unknown time zone {name:?}")))
    }
}

/// A duration in whole seconds, written in configuration as `90s`, `30m`, `24h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub i64);

impl FromStr for Seconds {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(split);
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("{s:?} is not a duration like 30m"))?;
        let scale = match unit.trim() {
            "s" | "" => 1,
            "m" | "min" => 60,
            "h" => 3600,
            "d" => 86400,
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {s:?} (use s, m, h or d)"
                ));
            }
        };
        n.checked_mul(scale)
            .map(Seconds)
            .ok_or_else(|| format!("{s:?} is too long"))
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(text) => text.parse().map_err(serde::de::Error::custom),
            Raw::Number(n) => Ok(Seconds(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!("30m".parse::<Seconds>().unwrap(), Seconds(1800));
        assert_eq!("24h".parse::<Seconds>().unwrap(), Seconds(86400));
        assert_eq!("45".parse::<Seconds>().unwrap(), Seconds(45));
        assert!("30x".parse::<Seconds>().is_err());
        assert!("m".parse::<Seconds>().is_err());
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.relay.window, Seconds(1800));
        assert_eq!(c.timezone.0, chrono_tz::Asia::Tokyo);
        assert_eq!(c.database.url, "sqlite://relaydesk.db");
    }

    #[test]
    fn sample_configuration_loads() {
        let text = include_str!("../relaydesk.toml");
        let c = Config::from_toml(text).unwrap();
        assert_eq!(c.relay.window, Seconds(1800));
        assert_eq!(c.sources.len(), 1);
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = format!(
            "{:#}",
            Config::from_toml("[relay]\nwindow = \"ten\"").unwrap_err()
        );
        assert!(err.contains("window"), "{err}");
        let err = format!(
            "{:#}",
            Config::from_toml("timezone = \"Mars/Base\"").unwrap_err()
        );
        assert!(err.contains("Mars/Base"), "{err}");
        let err = format!(
            "{:#}",
            Config::from_toml("[relay]\nwindwo = \"30m\"").unwrap_err()
        );
        assert!(err.contains("windwo"), "{err}");
        let err = format!(
            "{:#}",
            Config::from_toml("[relay]\nnever_authorize = [\"x\"]").unwrap_err()
        );
        assert!(err.contains("never_authorize"), "{err}");
        let err = format!(
            "{:#}",
            Config::from_toml("[hook]\nlisten = \"127.0.0.1:1\"").unwrap_err()
        );
        assert!(err.contains("hook.token"), "{err}");
    }

    #[test]
    fn customer_auth_refuses_what_it_cannot_do() {
        let c = Config::from_toml("").unwrap();
        assert_eq!(c.customer_auth.method, CustomerAuthMethod::None);
        let c = Config::from_toml("[customer_auth]\nmethod = \"passwd-file\"").unwrap();
        assert_eq!(c.customer_auth.method, CustomerAuthMethod::PasswdFile);
        for (text, key) in [
            ("[customer_auth]\ntls = true", "customer_auth.tls"),
            ("[customer_auth]\ntls = \"ssl\"", "customer_auth.tls"),
            (
                "[customer_auth]\nca_file = \"/nonexistent/ca.pem\"",
                "customer_auth.ca_file",
            ),
            ("[customer_auth]\nmethod = \"ldap\"", "ldap"),
            (
                "[customer_auth]\nmethod = \"pop3\"\nserver = \"localhost\"",
                "customer_auth.server",
            ),
            ("[customer_auth]\ntimeout = \"0s\"", "customer_auth.timeout"),
        ] {
            let err = format!("{:#}", Config::from_toml(text).unwrap_err());
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn database_passwords_are_not_printed() {
        let c = Config::from_toml("[database]\nurl = \"postgres://u:hunter2@db/x\"").unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("u:***@db/x"));
    }
}
