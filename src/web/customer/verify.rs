//! Checks a customer's mail ID and password for `/login` (§7.1) the way the mail service itself
//! would: a POP3 `USER`/`PASS` or IMAP `LOGIN` at the configured server, or a Dovecot-style
//! passwd-file (`passwd_file`). The answer is one of three: accepted, rejected (the password or
//! ID is wrong: it counts towards throttling), or unavailable (the service could not say: it
//! does not count, and the visitor is asked to try later).
//!
//! The wire formats are pure functions, unit-tested here; the conversations are tested against
//! small fake servers (tests/it/customer_signin.rs) and, in CI, the real Dovecot over plain
//! text, POP3S and IMAP STARTTLS.
//!
//! TLS (`[customer_auth] tls`) is rustls: implicit (POP3S, IMAPS) or upgraded on the plain port
//! (STLS, STARTTLS), the certificate checked against `ca_file` or the system's roots and the
//! host name of `server`. A certificate that does not verify makes the check unavailable (the
//! log names the problem); nothing falls back to plain text.

mod passwd_file;

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types};

use crate::config::{CustomerAuthConfig, CustomerAuthMethod, CustomerAuthTls};

/// What the mail service said about a mail ID and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
    /// The check could not be made; the reason is for the log, not the visitor.
    Unavailable(String),
}

/// Longest reply line read from a server; a longer one ends the check.
const MAX_LINE: usize = 8192;

/// Checks `login` and `password` as `config` says, within `config.timeout`.
pub async fn verify(config: &CustomerAuthConfig, login: &str, password: &str) -> Verdict {
    if !valid_login(login) || !valid_password(password) {
        return Verdict::Rejected;
    }
    let limit = Duration::from_secs(config.timeout.0.max(1) as u64);
    let check = async {
        match config.method {
            CustomerAuthMethod::Pop3 => pop3(config, login, password).await,
            CustomerAuthMethod::Imap => imap(config, login, password).await,
            CustomerAuthMethod::PasswdFile => {
                let (path, login, password) = (
                    config.passwd_file.clone(),
                    login.to_string(),
                    password.to_string(),
                );
                tokio::task::spawn_blocking(move || passwd_file::check(&path, &login, &password))
                    .await
                    .unwrap_or_else(|e| Verdict::Unavailable(format!("passwd-file check: {e}")))
            }
            CustomerAuthMethod::None => Verdict::Unavailable("customer sign-in is disabled".into()),
        }
    };
    tokio::time::timeout(limit, check)
        .await
        .unwrap_or_else(|_| Verdict::Unavailable("the mail server did not answer in time".into()))
}

/// A mail ID we will send anywhere: 1–255 bytes, no spaces or control characters (which could
/// split or end a protocol line).
pub fn valid_login(login: &str) -> bool {
    (1..=255).contains(&login.len()) && !login.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A password we will send: 1–1024 bytes without CR, LF or NUL.
pub fn valid_password(password: &str) -> bool {
    (1..=1024).contains(&password.len())
        && !password.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))
}

// ---- POP3 (RFC 1939, response codes RFC 3206) -----------------------------------------------

/// The `USER` and `PASS` lines for a valid login and password.
pub fn pop3_commands(login: &str, password: &str) -> (String, String) {
    (format!("USER {login}\r\n"), format!("PASS {password}\r\n"))
}

/// What a reply to `USER` or `PASS` means. `+OK` accepts; `-ERR [IN-USE]` also means the
/// password was right (the mailbox is only locked); `[SYS/…]` and refusals of plaintext
/// logins are the service's trouble, not a wrong password.
pub fn pop3_verdict(line: &str) -> Verdict {
    let line = line.trim_end();
    if line.starts_with("+OK") {
        return Verdict::Accepted;
    }
    let Some(rest) = line.strip_prefix("-ERR") else {
        return Verdict::Unavailable(format!("unexpected POP3 reply {:?}", short(line)));
    };
    let rest = rest.trim_start();
    let lower = rest.to_ascii_lowercase();
    if rest.starts_with("[IN-USE]") {
        Verdict::Accepted
    } else if rest.starts_with("[SYS/") || lower.contains("plaintext") {
        Verdict::Unavailable(format!("POP3 server: {}", short(rest)))
    } else {
        Verdict::Rejected
    }
}

async fn pop3(config: &CustomerAuthConfig, login: &str, password: &str) -> Verdict {
    let server = &config.server;
    let result = async {
        let mut conn = match open(config, Protocol::Pop3).await? {
            Ok(conn) => conn,
            Err(unavailable) => return Ok(unavailable),
        };
        let (user, pass) = pop3_commands(login, password);
        conn.get_mut().write_all(user.as_bytes()).await?;
        match pop3_verdict(&read_line(&mut conn).await?) {
            Verdict::Accepted => {}
            other => return Ok(other),
        }
        conn.get_mut().write_all(pass.as_bytes()).await?;
        let verdict = pop3_verdict(&read_line(&mut conn).await?);
        // Leave politely; the answer is known whatever QUIT says.
        let _ = conn.get_mut().write_all(b"QUIT\r\n").await;
        Ok(verdict)
    }
    .await;
    result.unwrap_or_else(|e: std::io::Error| Verdict::Unavailable(format!("POP3 {server}: {e}")))
}

// ---- IMAP (RFC 9051 LOGIN, response codes RFC 5530) -----------------------------------------

/// One argument of an IMAP command: a quoted string when it is plain ASCII, else a literal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapArg {
    Quoted(String),
    Literal(Vec<u8>),
}

impl ImapArg {
    /// `"…"` with `\` and `"` escaped, or a literal for text a quoted string cannot carry.
    pub fn new(text: &str) -> ImapArg {
        if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
            ImapArg::Quoted(format!("\"{escaped}\""))
        } else {
            ImapArg::Literal(text.as_bytes().to_vec())
        }
    }
}

/// What the tagged reply to `LOGIN` means.
pub fn imap_verdict(tag: &str, line: &str) -> Option<Verdict> {
    let rest = line.strip_prefix(tag)?.strip_prefix(' ')?;
    let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
    Some(match status.to_ascii_uppercase().as_str() {
        "OK" => Verdict::Accepted,
        "NO" if text.starts_with("[AUTHENTICATIONFAILED]")
            || text.starts_with("[AUTHORIZATIONFAILED]")
            || text.starts_with("[EXPIRED]")
            || !text.starts_with('[') =>
        {
            Verdict::Rejected
        }
        _ => Verdict::Unavailable(format!("IMAP server: {}", short(rest.trim_end()))),
    })
}

async fn imap(config: &CustomerAuthConfig, login: &str, password: &str) -> Verdict {
    let server = &config.server;
    let result = async {
        let mut conn = match open(config, Protocol::Imap).await? {
            Ok(conn) => conn,
            Err(unavailable) => return Ok(unavailable),
        };
        conn.get_mut().write_all(b"a1 LOGIN").await?;
        for arg in [ImapArg::new(login), ImapArg::new(password)] {
            match arg {
                ImapArg::Quoted(q) => conn.get_mut().write_all(format!(" {q}").as_bytes()).await?,
                ImapArg::Literal(bytes) => {
                    conn.get_mut()
                        .write_all(format!(" {{{}}}\r\n", bytes.len()).as_bytes())
                        .await?;
                    // The server must invite the literal with a continuation (`+`).
                    loop {
                        let line = read_line(&mut conn).await?;
                        if line.starts_with('+') {
                            break;
                        }
                        if let Some(v) = imap_verdict("a1", &line) {
                            return Ok(v);
                        }
                    }
                    conn.get_mut().write_all(&bytes).await?;
                }
            }
        }
        conn.get_mut().write_all(b"\r\n").await?;
        loop {
            let line = read_line(&mut conn).await?;
            if let Some(verdict) = imap_verdict("a1", &line) {
                let _ = conn.get_mut().write_all(b"a2 LOGOUT\r\n").await;
                return Ok(verdict);
            }
        }
    }
    .await;
    result.unwrap_or_else(|e: std::io::Error| Verdict::Unavailable(format!("IMAP {server}: {e}")))
}

// ---- Connections, plain or TLS ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Pop3,
    Imap,
}

/// A byte stream to the mail server, plain or TLS.
trait Wire: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Wire for T {}

type Conn = BufReader<Box<dyn Wire>>;

/// Connects as `config.tls` says and reads the greeting: a connection ready for the login
/// command, or the reason the check cannot be made (`Err` inside: not a password problem).
async fn open(
    config: &CustomerAuthConfig,
    protocol: Protocol,
) -> std::io::Result<Result<Conn, Verdict>> {
    let server = &config.server;
    let tcp = match TcpStream::connect(server).await {
        Ok(s) => s,
        Err(e) => {
            return Ok(Err(Verdict::Unavailable(format!(
                "connect to {server}: {e}"
            ))));
        }
    };
    let mut conn: Conn = match config.tls {
        CustomerAuthTls::Implicit => match handshake(config, tcp).await {
            Ok(tls) => BufReader::new(tls),
            Err(why) => return Ok(Err(Verdict::Unavailable(why))),
        },
        CustomerAuthTls::None | CustomerAuthTls::Starttls => BufReader::new(Box::new(tcp)),
    };
    let greeting = read_line(&mut conn).await?;
    let (ok, name) = match protocol {
        Protocol::Pop3 => (greeting.starts_with("+OK"), "POP3"),
        Protocol::Imap => (greeting.starts_with("* OK"), "IMAP"),
    };
    if !ok {
        return Ok(Err(Verdict::Unavailable(format!(
            "{name} greeting {:?}",
            short(&greeting)
        ))));
    }
    match config.tls {
        CustomerAuthTls::None => {
            if protocol == Protocol::Imap && greeting.to_ascii_uppercase().contains("LOGINDISABLED")
            {
                return Ok(Err(Verdict::Unavailable(
                    "the IMAP server refuses LOGIN without TLS (set customer_auth.tls)".into(),
                )));
            }
            Ok(Ok(conn))
        }
        CustomerAuthTls::Implicit => Ok(Ok(conn)),
        CustomerAuthTls::Starttls => {
            let (command, accepted): (&[u8], fn(&str) -> bool) = match protocol {
                Protocol::Pop3 => (b"STLS\r\n", |l| l.starts_with("+OK")),
                Protocol::Imap => (b"a0 STARTTLS\r\n", |l| {
                    l.get(..5).is_some_and(|t| t.eq_ignore_ascii_case("a0 OK"))
                }),
            };
            conn.get_mut().write_all(command).await?;
            let reply = loop {
                let line = read_line(&mut conn).await?;
                // IMAP may send untagged lines first.
                if protocol == Protocol::Pop3 || !line.starts_with("* ") {
                    break line;
                }
            };
            if !accepted(&reply) {
                return Ok(Err(Verdict::Unavailable(format!(
                    "{name} server refused to start TLS: {:?}",
                    short(&reply)
                ))));
            }
            // Anything already sent after the reply arrived in plain text and could have been
            // injected: refuse it rather than read it as if it came over TLS.
            if !conn.buffer().is_empty() {
                return Ok(Err(Verdict::Unavailable(format!(
                    "{name} server sent data before the TLS handshake"
                ))));
            }
            match handshake(config, conn.into_inner()).await {
                Ok(tls) => Ok(Ok(BufReader::new(tls))),
                Err(why) => Ok(Err(Verdict::Unavailable(why))),
            }
        }
    }
}

/// The TLS handshake with the server, the certificate verified for the host of `server`. The
/// error names what was wrong (for the operator's log).
async fn handshake<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    config: &CustomerAuthConfig,
    stream: S,
) -> Result<Box<dyn Wire>, String> {
    let server = &config.server;
    let host = host_of(server);
    let name = pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("TLS to {server}: {host:?} is no host name: {e}"))?;
    let tls = tls_config(config)?;
    let connector = TlsConnector::from(tls);
    match connector.connect(name, stream).await {
        Ok(s) => Ok(Box::new(s)),
        Err(e) => Err(format!("TLS to {server}: {e}")),
    }
}

/// The host part of `host:port` (an IPv6 address without its brackets).
fn host_of(server: &str) -> &str {
    let host = server.rsplit_once(':').map_or(server, |(h, _)| h);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// The TLS client configuration for `config.ca_file`, built once per process and file: reading
/// the system's certificate store is hundreds of files, not something to do per sign-in.
fn tls_config(config: &CustomerAuthConfig) -> Result<Arc<ClientConfig>, String> {
    type Built = std::collections::HashMap<Option<std::path::PathBuf>, Arc<ClientConfig>>;
    static BUILT: std::sync::OnceLock<std::sync::Mutex<Built>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let key = config.ca_file.clone();
    if let Some(tls) = built.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(tls.clone());
    }
    let tls = build_tls_config(config)?;
    built
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, tls.clone());
    Ok(tls)
}

fn build_tls_config(config: &CustomerAuthConfig) -> Result<Arc<ClientConfig>, String> {
    use pki_types::pem::PemObject;
    let mut roots = RootCertStore::empty();
    match &config.ca_file {
        Some(path) => {
            let certs = pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| format!("customer_auth.ca_file {}: {e}", path.display()))?;
            for cert in certs {
                let cert =
                    cert.map_err(|e| format!("customer_auth.ca_file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("customer_auth.ca_file {}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                // A system store may hold certificates rustls cannot use; skip those.
                let _ = roots.add(cert);
            }
        }
    }
    if roots.is_empty() {
        return Err("TLS: no trusted certificate authority (customer_auth.ca_file)".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(tls))
}

/// One CRLF line, at most `MAX_LINE` bytes; the end of the stream is an error.
async fn read_line<R: AsyncRead + Unpin>(read: &mut BufReader<R>) -> std::io::Result<String> {
    let mut buf = Vec::new();
    let n = (&mut *read)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut buf)
        .await?;
    if n == 0 || !buf.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection or sent an overlong line",
        ));
    }
    Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
}

/// Server text for the log: one line, not too long.
fn short(text: &str) -> String {
    crate::domain::one_line(&text.chars().take(200).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_to_verify_is_the_servers_name() {
        assert_eq!(host_of("mail.example.jp:995"), "mail.example.jp");
        assert_eq!(host_of("127.0.0.1:110"), "127.0.0.1");
        assert_eq!(host_of("[2001:db8::25]:993"), "2001:db8::25");
    }

    #[test]
    fn logins_that_could_break_a_command_line_are_refused() {
        assert!(valid_login("taro"));
        assert!(valid_login("taro@example.jp"));
        for bad in ["", "ta ro", "taro\r\nQUIT", "taro\0", &"x".repeat(256)] {
            assert!(!valid_login(bad), "{bad:?}");
        }
        assert!(valid_password("pass word"));
        assert!(!valid_password("secret\r\nQUIT"));
        assert!(!valid_password(""));
    }

    #[test]
    fn pop3_replies_are_read_by_their_codes() {
        assert_eq!(pop3_verdict("+OK Logged in."), Verdict::Accepted);
        assert_eq!(
            pop3_verdict("-ERR [AUTH] Authentication failed."),
            Verdict::Rejected
        );
        assert_eq!(pop3_verdict("-ERR invalid password"), Verdict::Rejected);
        assert_eq!(
            pop3_verdict("-ERR [IN-USE] Mailbox is locked"),
            Verdict::Accepted
        );
        assert!(matches!(
            pop3_verdict("-ERR [SYS/TEMP] try later"),
            Verdict::Unavailable(_)
        ));
        assert!(matches!(
            pop3_verdict(
                "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            ),
            Verdict::Unavailable(_)
        ));
        assert!(matches!(
            pop3_verdict("HTTP/1.1 400"),
            Verdict::Unavailable(_)
        ));
        assert_eq!(
            pop3_commands("taro", "s p"),
            ("USER taro\r\n".into(), "PASS s p\r\n".into())
        );
    }

    #[test]
    fn imap_arguments_are_quoted_or_sent_as_literals() {
        assert_eq!(ImapArg::new("taro"), ImapArg::Quoted("\"taro\"".into()));
        assert_eq!(
            ImapArg::new(r#"a"b\c"#),
            ImapArg::Quoted(r#""a\"b\\c""#.into())
        );
        assert_eq!(
            ImapArg::new("パス"),
            ImapArg::Literal("パス".as_bytes().to_vec())
        );
    }

    #[test]
    fn imap_tagged_replies_decide() {
        assert_eq!(imap_verdict("a1", "* CAPABILITY IMAP4rev1"), None);
        assert_eq!(imap_verdict("a1", "a10 OK"), None);
        assert_eq!(
            imap_verdict("a1", "a1 OK [CAPABILITY IMAP4rev1] Logged in"),
            Some(Verdict::Accepted)
        );
        assert_eq!(
            imap_verdict("a1", "a1 NO [AUTHENTICATIONFAILED] Authentication failed."),
            Some(Verdict::Rejected)
        );
        assert_eq!(
            imap_verdict("a1", "a1 NO Login failed"),
            Some(Verdict::Rejected)
        );
        assert!(matches!(
            imap_verdict("a1", "a1 NO [UNAVAILABLE] Temporary failure"),
            Some(Verdict::Unavailable(_))
        ));
        assert!(matches!(
            imap_verdict("a1", "a1 BAD Error in IMAP command"),
            Some(Verdict::Unavailable(_))
        ));
    }
}
