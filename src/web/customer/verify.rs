//! Checks a customer's mail ID and password for `/login` (§7.1) the way the mail service itself
//! would: a POP3 `USER`/`PASS` or IMAP `LOGIN` at the configured server, or a Dovecot-style
//! passwd-file (`passwd_file`). The answer is one of three: accepted, rejected (the password or
//! ID is wrong: it counts towards throttling), or unavailable (the service could not say: it
//! does not count, and the visitor is asked to try later).
//!
//! The wire formats are pure functions, unit-tested here; the conversations are tested against
//! small fake servers (tests/it/customer_signin.rs) and, in CI, the real Dovecot. TLS to the mail
//! server is not supported yet: the configuration refuses `tls = true` (see `config.rs`).

mod passwd_file;

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::config::{CustomerAuthConfig, CustomerAuthMethod};

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
            CustomerAuthMethod::Pop3 => pop3(&config.server, login, password).await,
            CustomerAuthMethod::Imap => imap(&config.server, login, password).await,
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

async fn pop3(server: &str, login: &str, password: &str) -> Verdict {
    let stream = match TcpStream::connect(server).await {
        Ok(s) => s,
        Err(e) => return Verdict::Unavailable(format!("connect to {server}: {e}")),
    };
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let result = async {
        let greeting = read_line(&mut read).await?;
        if !greeting.starts_with("+OK") {
            return Ok(Verdict::Unavailable(format!(
                "POP3 greeting {:?}",
                short(&greeting)
            )));
        }
        let (user, pass) = pop3_commands(login, password);
        write.write_all(user.as_bytes()).await?;
        match pop3_verdict(&read_line(&mut read).await?) {
            Verdict::Accepted => {}
            other => return Ok(other),
        }
        write.write_all(pass.as_bytes()).await?;
        let verdict = pop3_verdict(&read_line(&mut read).await?);
        // Leave politely; the answer is known whatever QUIT says.
        let _ = write.write_all(b"QUIT\r\n").await;
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

async fn imap(server: &str, login: &str, password: &str) -> Verdict {
    let stream = match TcpStream::connect(server).await {
        Ok(s) => s,
        Err(e) => return Verdict::Unavailable(format!("connect to {server}: {e}")),
    };
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let result = async {
        let greeting = read_line(&mut read).await?;
        if !greeting.starts_with("* OK") {
            return Ok(Verdict::Unavailable(format!(
                "IMAP greeting {:?}",
                short(&greeting)
            )));
        }
        if greeting.to_ascii_uppercase().contains("LOGINDISABLED") {
            return Ok(Verdict::Unavailable(
                "the IMAP server refuses LOGIN without TLS".into(),
            ));
        }
        write.write_all(b"a1 LOGIN").await?;
        for arg in [ImapArg::new(login), ImapArg::new(password)] {
            match arg {
                ImapArg::Quoted(q) => write.write_all(format!(" {q}").as_bytes()).await?,
                ImapArg::Literal(bytes) => {
                    write
                        .write_all(format!(" {{{}}}\r\n", bytes.len()).as_bytes())
                        .await?;
                    // The server must invite the literal with a continuation (`+`).
                    loop {
                        let line = read_line(&mut read).await?;
                        if line.starts_with('+') {
                            break;
                        }
                        if let Some(v) = imap_verdict("a1", &line) {
                            return Ok(v);
                        }
                    }
                    write.write_all(&bytes).await?;
                }
            }
        }
        write.write_all(b"\r\n").await?;
        loop {
            let line = read_line(&mut read).await?;
            if let Some(verdict) = imap_verdict("a1", &line) {
                let _ = write.write_all(b"a2 LOGOUT\r\n").await;
                return Ok(verdict);
            }
        }
    }
    .await;
    result.unwrap_or_else(|e: std::io::Error| Verdict::Unavailable(format!("IMAP {server}: {e}")))
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
