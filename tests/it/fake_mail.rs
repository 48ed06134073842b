//! Tiny fake POP3 and IMAP servers on 127.0.0.1:0 for the sign-in tests: they know a fixed set
//! of users and passwords, speak just enough of each protocol for a login, and count logins.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub struct FakeMail {
    pub addr: SocketAddr,
    /// Login attempts that reached the server.
    pub attempts: Arc<AtomicUsize>,
}

impl FakeMail {
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

fn known(users: &[(&str, &str)], user: &str, pass: &str) -> bool {
    users.iter().any(|(u, p)| *u == user && *p == pass)
}

/// A POP3 server: `USER`, `PASS`, `QUIT`.
pub async fn pop3(users: &[(&str, &str)]) -> FakeMail {
    let users: Vec<(String, String)> = users
        .iter()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let users = users.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"+OK fake POP3 ready\r\n").await.ok()?;
                let mut user = String::new();
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.ok()? == 0 {
                        return None::<()>;
                    }
                    let line = line.trim_end_matches(['\r', '\n']);
                    let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
                    let reply: &[u8] = match cmd.to_ascii_uppercase().as_str() {
                        "USER" => {
                            user = arg.to_string();
                            b"+OK\r\n"
                        }
                        "PASS" => {
                            counter.fetch_add(1, Ordering::SeqCst);
                            let pairs: Vec<(&str, &str)> = users
                                .iter()
                                .map(|(u, p)| (u.as_str(), p.as_str()))
                                .collect();
                            if known(&pairs, &user, arg) {
                                b"+OK Logged in.\r\n"
                            } else {
                                b"-ERR [AUTH] Authentication failed.\r\n"
                            }
                        }
                        "QUIT" => {
                            w.write_all(b"+OK Logging out.\r\n").await.ok()?;
                            return None;
                        }
                        _ => b"-ERR Unknown command.\r\n",
                    };
                    w.write_all(reply).await.ok()?;
                }
            });
        }
    });
    FakeMail { addr, attempts }
}

/// An IMAP server: `LOGIN` with quoted strings or synchronizing literals, `LOGOUT`.
pub async fn imap(users: &[(&str, &str)]) -> FakeMail {
    let users: Vec<(String, String)> = users
        .iter()
        .map(|(u, p)| (u.to_string(), p.to_string()))
        .collect();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let users = users.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"* OK [CAPABILITY IMAP4rev1 LITERAL+] fake ready\r\n")
                    .await
                    .ok()?;
                let mut line = String::new();
                r.read_line(&mut line).await.ok()?;
                let (tag, rest) = line.split_once(' ')?;
                let tag = tag.to_string();
                let rest = rest.strip_prefix("LOGIN ")?.to_string();
                // Arguments: quoted strings or {n} literals, possibly across lines.
                let mut args = Vec::new();
                let mut text = rest;
                while args.len() < 2 {
                    let t = text.trim_start();
                    if let Some(q) = t.strip_prefix('"') {
                        let mut value = String::new();
                        let mut chars = q.chars();
                        while let Some(c) = chars.next() {
                            match c {
                                '\\' => value.push(chars.next()?),
                                '"' => break,
                                c => value.push(c),
                            }
                        }
                        args.push(value);
                        text = chars.as_str().to_string();
                    } else if let Some(l) = t.strip_prefix('{') {
                        let n: usize = l[..l.find('}')?].parse().ok()?;
                        w.write_all(b"+ OK\r\n").await.ok()?;
                        let mut buf = vec![0u8; n];
                        r.read_exact(&mut buf).await.ok()?;
                        args.push(String::from_utf8(buf).ok()?);
                        text = String::new();
                        r.read_line(&mut text).await.ok()?;
                    } else {
                        w.write_all(format!("{tag} BAD Error in IMAP command\r\n").as_bytes())
                            .await
                            .ok()?;
                        return None;
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let pairs: Vec<(&str, &str)> = users
                    .iter()
                    .map(|(u, p)| (u.as_str(), p.as_str()))
                    .collect();
                let reply = if known(&pairs, &args[0], &args[1]) {
                    format!("* CAPABILITY IMAP4rev1\r\n{tag} OK Logged in\r\n")
                } else {
                    format!("{tag} NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
                };
                w.write_all(reply.as_bytes()).await.ok()?;
                let mut bye = String::new();
                r.read_line(&mut bye).await.ok()?;
                Some(())
            });
        }
    });
    FakeMail { addr, attempts }
}
