//! The real daemons: Debian's Postfix, Dovecot (POP3 and IMAP) and rsyslog on loopback, started by
//! `tests/integration/setup.sh`, with `relaydesk serve --only follow,policy` following their log
//! and answering Postfix's policy requests. Clients are swaks and small POP3/IMAP logins, each
//! scenario from its own 127.0.0.x address (Linux routes all of 127/8 to lo).
//!
//! Runs only when `RELAYDESK_IT_REAL_MAIL=1` (CI sets it after running setup.sh); otherwise it
//! says it was skipped, and under `CI=true` it fails. The daemons' ports and relaydesk's policy port (127.0.0.1:10040, named in
//! Postfix's configuration) are fixed, so this is one test running its scenarios in order.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::binary;

const MAIL_LOG: &str = "/var/log/relaydesk-it/mail.log";
const SMTP: &str = "127.0.0.1:25";
const POP3: &str = "127.0.0.1:110";
const IMAP: &str = "127.0.0.1:143";
const POLICY: &str = "127.0.0.1:10040";
const HELP_URL: &str = "https://support.example.jp";
/// Every wait in this test is bounded by this.
const PATIENCE: Duration = Duration::from_secs(10);

#[test]
fn real_postfix_relays_only_right_after_a_mailbox_login_from_the_same_address() {
    if !crate::helpers::real_mail() {
        return;
    }
    for addr in [SMTP, POP3, IMAP] {
        assert!(
            answers(addr),
            "nothing answers on {addr}: run tests/integration/setup.sh as root first"
        );
    }
    assert!(
        !answers(POLICY),
        "{POLICY} is already in use (a relaydesk left running?); Postfix must reach this test's"
    );
    // A clean log: a login left from an earlier run must not be what grants a relay here.
    std::fs::write(MAIL_LOG, "").expect("truncate the test mail log (run as root)");
    let relaydesk = Relaydesk::start();

    login_then_send_is_relayed(&relaydesk);
    same_customer_from_another_address_is_refused_with_help(&relaydesk);
    dovecot_login_text_in_smtp_commands_grants_nothing(&relaydesk);
    inbound_mail_to_local_mailboxes_is_unaffected(&relaydesk);
    each_refusal_says_its_cause_and_links_to_it(&relaydesk);
    relaydesk_check_asks_the_real_postfix(&relaydesk);
}

/// (f) `relaydesk check` on this setup, asking the real Postfix and Dovecot: no problem (the
/// listen addresses are held by the running relaydesk). Then Postfix configurations of the
/// test's own (`postconf -c DIR` reads DIR/main.cf): the policy service after
/// `reject_unauth_destination`, at another address, or missing, each named.
fn relaydesk_check_asks_the_real_postfix(rd: &Relaydesk) {
    let check = |postfix_dir: &str| {
        Command::new(binary())
            .args([
                "--config",
                path(&rd.config),
                "check",
                "--postfix-config",
                postfix_dir,
                "--dovecot-config",
                "/etc/relaydesk-it/dovecot/dovecot.conf",
            ])
            .env_remove("RELAYDESK_DATABASE_URL")
            .output()
            .unwrap()
    };
    let ok = check("/etc/relaydesk-it/postfix");
    assert!(
        ok.status.success(),
        "{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    let cases = [
        (
            "permit_mynetworks, reject_unauth_destination, check_policy_service inet:127.0.0.1:10040",
            "comes before check_policy_service",
        ),
        (
            "permit_mynetworks, check_policy_service inet:127.0.0.1:10099, reject_unauth_destination",
            "does not name relaydesk's policy.listen",
        ),
        (
            "permit_mynetworks, reject_unauth_destination",
            "no check_policy_service",
        ),
    ];
    for (restrictions, problem) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("main.cf"),
            format!("compatibility_level = 3.6\nsmtpd_relay_restrictions = {restrictions}\n"),
        )
        .unwrap();
        let out = check(path(dir.path()));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{restrictions}: {text}");
        assert!(
            text.contains("postconf: smtpd_relay_restrictions") && text.contains(problem),
            "{restrictions}: {text}"
        );
    }
}

/// (a) POP3 and IMAP: a send refused before the login goes through ~0.5 s after it.
fn login_then_send_is_relayed(rd: &Relaydesk) {
    for (ip, user, proto) in [(2, "taro", Proto::Pop3), (3, "hanako", Proto::Imap)] {
        let ip = Ipv4Addr::new(127, 0, 0, ip);
        let sender = format!("{user}@example.jp");
        let before = swaks(ip, &sender, "someone@example.net", &[]);
        assert!(
            before.rcpt.starts_with("554 5.7.1"),
            "{ip} may relay before any login:\n{}",
            before.transcript
        );
        mailbox_login(proto, ip, user, "secret");
        let logged_in = Instant::now();
        std::thread::sleep(Duration::from_millis(500));
        let mut sent = swaks(ip, &sender, "someone@example.net", &[]);
        if !sent.accepted() {
            std::thread::sleep(Duration::from_secs(1));
            let late = logged_in.elapsed();
            sent = swaks(ip, &sender, "someone@example.net", &[]);
            assert!(
                sent.accepted() && late <= Duration::from_secs(2),
                "{proto:?} login by {user} from {ip} did not allow relaying within 2 s:\n{}",
                sent.transcript
            );
            note(&format!(
                "{proto:?} login by {user} from {ip}: the send 0.5 s after it was refused; \
                 relayed on retry {} ms after the login",
                late.as_millis()
            ));
        }
        assert!(
            sent.transcript.contains("queued as"),
            "relayed RCPT but no DATA:\n{}",
            sent.transcript
        );
        let sessions = poll(&format!("the {proto:?} session from {ip}"), || {
            let s = rd.ndjson(&["history", "--ip", &ip.to_string()]);
            (!s.is_empty()).then_some(s)
        });
        assert!(
            sessions
                .iter()
                .any(|s| s["kind"] == "session" && s["login"] == user),
            "{sessions:?}"
        );
    }
}

/// (b) taro's login from 127.0.0.2 is current, but he sends from 127.0.0.4.
fn same_customer_from_another_address_is_refused_with_help(rd: &Relaydesk) {
    let ip = Ipv4Addr::new(127, 0, 0, 4);
    let refused = swaks(ip, "taro@example.jp", "someone@example.net", &[]);
    assert!(
        refused.rcpt.starts_with("554 5.7.1") && refused.rcpt.contains(HELP_URL),
        "expected 554 5.7.1 with the help text:\n{}",
        refused.transcript
    );
    let rejection = rejection_from(rd, ip);
    assert_eq!(rejection["sender"], "taro@example.jp", "{rejection}");
    assert_eq!(rejection["rcpt"], "someone@example.net", "{rejection}");
    assert_eq!(rejection["cause"], "ip_changed", "{rejection}");
    assert_eq!(rejection["login"], "taro", "{rejection}");
}

/// (c) A spammer writes Dovecot login text into the sender, the HELO name and a malformed MAIL
/// command, so Postfix logs it; relaydesk must still not let the address relay.
fn dovecot_login_text_in_smtp_commands_grants_nothing(rd: &Relaydesk) {
    let ip = Ipv4Addr::new(127, 0, 0, 5);
    let forged = format!(
        "dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip={ip}, lip=127.0.0.1, \
         mpid=4242, session=<forged>"
    );
    let quoted = format!("\"{forged}\"@example.net");
    // Accepted inbound mail: qmgr logs `from=<"dovecot: pop3-login: Login: …">`.
    let inbound = swaks(ip, &quoted, "taro@example.jp", &[]);
    assert!(inbound.accepted(), "{}", inbound.transcript);
    // Refused MAIL: smtpd logs `Illegal address syntax … in MAIL command: <pop3-login: …>`.
    let bare = format!("pop3-login: Login: user=<taro>, method=PLAIN, rip={ip}, lip=127.0.0.1");
    let illegal = swaks(ip, &bare, "someone@example.net", &[]);
    assert!(illegal.transcript.contains("501"), "{}", illegal.transcript);
    let helo = swaks(
        ip,
        "x@example.net",
        "someone@example.net",
        &["--ehlo", &forged],
    );
    assert!(!helo.accepted(), "{}", helo.transcript);
    // Last, a relay rejection carrying the text: once it is stored, every line above was read.
    let relay = swaks(ip, &quoted, "someone@example.net", &[]);
    assert!(relay.rcpt.starts_with("554 5.7.1"), "{}", relay.transcript);
    poll("the forged-sender rejection", || {
        rd.ndjson(&["rejections", "--ip", &ip.to_string()])
            .into_iter()
            .find(|r| {
                r["sender"]
                    .as_str()
                    .is_some_and(|s| s.contains("pop3-login"))
            })
    });
    let after = swaks(ip, "taro@example.jp", "someone@example.net", &[]);
    assert!(
        after.rcpt.starts_with("554 5.7.1"),
        "log poisoning opened the relay for {ip}:\n{}",
        after.transcript
    );
    let sessions = rd.ndjson(&["history", "--ip", &ip.to_string()]);
    assert!(
        sessions.iter().all(|s| s["kind"] != "session"),
        "{sessions:?}"
    );
}

/// (d) Mail for example.jp from an address with no login is accepted and delivered.
fn inbound_mail_to_local_mailboxes_is_unaffected(rd: &Relaydesk) {
    let ip = Ipv4Addr::new(127, 0, 0, 6);
    let sent = swaks(ip, "friend@example.net", "taro@example.jp", &[]);
    assert!(
        sent.accepted(),
        "inbound mail refused:\n{}",
        sent.transcript
    );
    let queue_id = sent
        .transcript
        .split("queued as ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no queue id:\n{}", sent.transcript))
        .to_string();
    poll("local delivery in the mail log", || {
        let log = std::fs::read_to_string(MAIL_LOG).unwrap_or_default();
        log.lines()
            .find(|l| l.contains(&format!("{queue_id}: to=<taro@example.jp>")))
            .filter(|l| l.contains("status=sent"))
            .map(str::to_string)
    });
    let rejected = rd.ndjson(&["rejections", "--ip", &ip.to_string()]);
    assert!(rejected.is_empty(), "{rejected:?}");
}

/// (e) Each cause the policy can see words its own reply, as the client reads it from the real
/// Postfix, and the reply's link opens that refusal's page. taro's IMAP login from 127.0.0.2 is
/// current, but his send from 127.0.0.11, an address without his history, is worded as anyone's
/// from there would be (`never_checked`: a stranger learns nothing of taro, docs/
/// PUBLIC_SURFACES.md; staff see `ip_changed`); jiro's wrong password from .7 is
/// `auth_failed`; saburo never checked mail (.8); shiro's last check from .9 was an hour ago
/// (a Dovecot login line of that time appended to the log: the test cannot wait out the
/// window); a stranger's sender (.10) names nobody.
fn each_refusal_says_its_cause_and_links_to_it(rd: &Relaydesk) {
    let ip = |n| Ipv4Addr::new(127, 0, 0, n);
    mailbox_login_fails(Proto::Pop3, ip(7), "jiro", "wrong");
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(MAIL_LOG)
        .unwrap();
    writeln!(
        log,
        "{} localhost dovecot: pop3-login: Login: user=<shiro>, method=PLAIN, rip=127.0.0.9, \
         lip=127.0.0.1, mpid=4243, session=<earlier>",
        hour_ago.format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    )
    .unwrap();
    drop(log);
    poll("jiro's failure and shiro's earlier login", || {
        let failures = rd.ndjson(&["history", "--ip", "127.0.0.7"]);
        let earlier = rd.ndjson(&["history", "--ip", "127.0.0.9"]);
        (!failures.is_empty() && !earlier.is_empty()).then_some(())
    });
    // auth_verbose: Dovecot logs the attempt twice (auth process, login process); one failure.
    let failures: Vec<_> = rd
        .ndjson(&["history", "--ip", "127.0.0.7"])
        .into_iter()
        .filter(|r| r["kind"] == "login_failed")
        .collect();
    assert_eq!(failures.len(), 1, "one attempt, one failure: {failures:?}");

    let cases = [
        (
            11,
            "taro@example.jp",
            "never_checked",
            "check (receive) your mail first",
        ),
        (
            7,
            "jiro@example.jp",
            "auth_failed",
            "failed (user name or password)",
        ),
        (
            8,
            "saburo@example.jp",
            "never_checked",
            "check (receive) your mail first",
        ),
        (9, "shiro@example.jp", "expired", "allowed sending until"),
        (10, "stranger@example.net", "unknown_sender", ""),
    ];
    for (n, sender, cause, words) in cases {
        let refused = swaks(ip(n), sender, "someone@example.net", &[]);
        let reply = &refused.rcpt;
        assert!(
            reply.starts_with(
                "554 5.7.1 <someone@example.net>: Recipient address rejected: Relay access denied"
            ),
            "{cause}: {}",
            refused.transcript
        );
        assert!(reply.contains(words), "{cause}: {reply}");
        assert!(
            reply.is_ascii() && reply.len() + 2 <= 512,
            "{cause}: {reply}"
        );
        let code = reply
            .split("/why/")
            .nth(1)
            .map(|c| c.trim().to_string())
            .unwrap_or_else(|| panic!("{cause}: no link in {reply}"));
        if cause == "unknown_sender" {
            let text = reply.split("rejected: ").nth(1).unwrap();
            assert_eq!(
                text,
                format!("Relay access denied. Why: {HELP_URL}/why/{code}"),
                "an outsider's refusal names nobody"
            );
        }
        let page = poll(&format!("the {cause} page"), || {
            let (status, body) = rd.get(&format!("/why/{code}"));
            (status == 200).then_some(body)
        });
        assert!(
            page.contains(&format!("data-cause=\"{cause}\"")),
            "{cause}: {page}"
        );
        assert!(
            page.contains("s***@example.net"),
            "{cause}: the recipient masked"
        );
        assert!(
            !page.contains("someone@"),
            "{cause}: the recipient unmasked"
        );
        for other in ["127.0.0.2", "taro", "jiro"] {
            assert!(!page.contains(other), "{cause}: the page shows {other}");
        }
    }
    assert_eq!(rd.get("/why/000000000000000000000000").0, 404);
    assert_eq!(rd.get("/why/not-a-code").0, 404);
}

/// The relay rejection from `ip` once relaydesk has stored it.
fn rejection_from(rd: &Relaydesk, ip: Ipv4Addr) -> serde_json::Value {
    poll(&format!("the rejection from {ip}"), || {
        rd.ndjson(&["rejections", "--ip", &ip.to_string()])
            .into_iter()
            .next()
    })
}

/// `relaydesk serve --only follow,policy` on a fresh database, stopped on drop.
struct Relaydesk {
    child: Child,
    web: String,
    config: PathBuf,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Relaydesk {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("relaydesk.toml");
        let web = format!("127.0.0.1:{}", crate::helpers::free_port());
        std::fs::write(
            &config,
            format!(
                "[database]\nurl = \"sqlite://{db}\"\n\
                 [relay]\ncustomer_domains = [\"example.jp\"]\nlocal_domains = [\"example.jp\"]\n\
                 [web]\npublic_url = \"{HELP_URL}\"\nlisten = \"{web}\"\n\
                 [policy]\nlisten = \"{POLICY}\"\n\
                 [[sources]]\npath = \"{MAIL_LOG}\"\n",
                db = dir.path().join("relaydesk.db").display()
            ),
        )
        .unwrap();
        let stderr = dir.path().join("serve.log");
        let child = Command::new(binary())
            .args([
                "--config",
                path(&config),
                "serve",
                "--only",
                "follow,policy,web",
            ])
            .env_remove("RELAYDESK_DATABASE_URL")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut rd = Relaydesk {
            child,
            web,
            config,
            stderr,
            _dir: dir,
        };
        let started = Instant::now();
        while !answers(POLICY) || !answers(&rd.web) {
            if let Ok(Some(status)) = rd.child.try_wait() {
                panic!("relaydesk serve ended ({status})");
            }
            assert!(
                started.elapsed() < PATIENCE,
                "relaydesk's policy service is not listening on {POLICY}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        rd
    }

    /// `relaydesk ARGS --format ndjson` on the same database.
    fn ndjson(&self, args: &[&str]) -> Vec<serde_json::Value> {
        let out = Command::new(binary())
            .args(["--config", path(&self.config)])
            .args(args)
            .args(["--format", "ndjson"])
            .env_remove("RELAYDESK_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "relaydesk {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// `GET path` from relaydesk's web server, in English: the status and the body.
    fn get(&self, path: &str) -> (u16, String) {
        use std::io::Read;
        let mut stream = TcpStream::connect(&self.web).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Language: en\r\nConnection: close\r\n\r\n",
            self.web
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, response)
    }

    /// relaydesk's own log and the end of the mail log, printed when the test fails.
    fn diagnostics(&self) -> String {
        let serve = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let log = std::fs::read_to_string(MAIL_LOG).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!("--- relaydesk serve ---\n{serve}\n--- {MAIL_LOG} (tail) ---\n{tail}")
    }
}

impl Drop for Relaydesk {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = writeln!(std::io::stderr(), "{}", self.diagnostics());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One swaks session: the reply to RCPT TO and the whole transcript.
struct Smtp {
    rcpt: String,
    transcript: String,
}

impl Smtp {
    fn accepted(&self) -> bool {
        self.rcpt.starts_with("250")
    }
}

/// Sends one message with swaks from source address `ip`; never relies on DNS.
fn swaks(ip: Ipv4Addr, from: &str, to: &str, extra: &[&str]) -> Smtp {
    let ip = ip.to_string();
    let out = Command::new("swaks")
        .args(["--server", SMTP, "--local-interface", &ip])
        .args(["--from", from, "--to", to, "--timeout", "20"])
        .args(["--header", "Subject: relaydesk integration test"])
        .args(extra)
        .output()
        .expect("swaks (apt-get install swaks)");
    let transcript =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // The reply that follows ` -> RCPT TO:`; none when MAIL was already refused.
    let rcpt = transcript
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("-> RCPT TO:"))
        .find(|l| l.starts_with("<-") || l.starts_with("<**"))
        .map(|l| l.trim_start_matches(['<', '-', '*', ' ']).to_string())
        .unwrap_or_default();
    Smtp { rcpt, transcript }
}

#[derive(Debug, Clone, Copy)]
enum Proto {
    Pop3,
    Imap,
}

/// A real mailbox login from source address `ip`, then a polite logout.
fn mailbox_login(proto: Proto, ip: Ipv4Addr, user: &str, password: &str) {
    let (accepted, replies) = mailbox_session(proto, ip, user, password);
    assert!(
        accepted,
        "{proto:?} login as {user} from {ip} failed: {replies:?}"
    );
}

/// A mailbox session from `ip`: whether the login was accepted, and the server's replies.
fn mailbox_session(proto: Proto, ip: Ipv4Addr, user: &str, password: &str) -> (bool, Vec<String>) {
    let (server, script, login_step, ok) = match proto {
        Proto::Pop3 => (
            POP3,
            vec![
                format!("USER {user}"),
                format!("PASS {password}"),
                "QUIT".into(),
            ],
            1,
            "+OK",
        ),
        Proto::Imap => (
            IMAP,
            vec![format!("a LOGIN {user} {password}"), "b LOGOUT".into()],
            0,
            "a OK",
        ),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::from((ip, 0)))?;
        let stream = socket.connect(server.parse().unwrap()).await?;
        let (read, mut write) = stream.into_split();
        let mut read = BufReader::new(read);
        let mut greeting = String::new();
        read.read_line(&mut greeting).await?;
        let mut replies = Vec::new();
        for command in &script {
            write.write_all(format!("{command}\r\n").as_bytes()).await?;
            // The +OK/-ERR or tagged reply, past IMAP's untagged `* …` lines.
            let mut line = String::new();
            while read.read_line(&mut line).await? > 0 && line.starts_with("* ") {
                line.clear();
            }
            replies.push(line);
        }
        std::io::Result::Ok(replies)
    };
    let replies = rt.block_on(async { tokio::time::timeout(PATIENCE, session).await });
    let replies = match replies {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => panic!("{proto:?} login from {ip}: {e}"),
        Err(_) => panic!("{proto:?} login from {ip}: no answer within {PATIENCE:?}"),
    };
    (replies[login_step].starts_with(ok), replies)
}

/// A mailbox login with a wrong password from `ip`: the server must refuse it.
fn mailbox_login_fails(proto: Proto, ip: Ipv4Addr, user: &str, password: &str) {
    let (accepted, replies) = mailbox_session(proto, ip, user, password);
    assert!(
        !accepted,
        "{proto:?} accepted {user} with a wrong password: {replies:?}"
    );
}

/// Polls `check` every 50 ms until it gives a value, at most `PATIENCE`.
fn poll<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "waited {PATIENCE:?} for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn answers(addr: &str) -> bool {
    TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_millis(500)).is_ok()
}

fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "real_mail: {text}");
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}
