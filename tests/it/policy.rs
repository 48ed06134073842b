//! The Postfix policy service over real sockets (loopback and unix), as Postfix's policy client
//! talks to it: many requests per connection, silence and a closed connection on trouble.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relaydesk::config::Config;
use relaydesk::domain::{Event, Service};
use relaydesk::grants::{GrantIndex, Restrictions};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use relaydesk::policy::recorder::Recorder;
use relaydesk::policy::server::{Policy, PolicyListener, serve};
use relaydesk::store::decisions::{self, PolicyDecision};
use relaydesk::store::{Db, PoolSettings, authz};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::watch;
use tokio::time::timeout;

use crate::helpers::{TestDb, binary, databases, run, sqlite};

const PATIENCE: Duration = Duration::from_secs(5);

struct TestPolicy {
    addr: String,
    index: Arc<GrantIndex>,
    t: TestDb,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<io::Result<()>>,
}

async fn spawn_policy() -> TestPolicy {
    spawn_policy_with("127.0.0.1:0", |_| {}).await
}

/// The real server on `listen`, with the default configuration changed by `tune`, an empty
/// grant index and a fresh SQLite store.
async fn spawn_policy_with(listen: &str, tune: impl FnOnce(&mut Policy)) -> TestPolicy {
    let t = sqlite().await;
    let index = Arc::new(GrantIndex::new(1800, vec![]));
    let (recorder, _thread) = Recorder::start(t.db.clone(), 1000);
    let _thread = tokio::spawn(_thread);
    let mut policy = Policy::new(&Config::default(), index.clone(), recorder);
    tune(&mut policy);
    let listener = PolicyListener::bind(listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stop_rx) = watch::channel(false);
    let server = tokio::spawn(serve(listener, Arc::new(policy), stop_rx));
    TestPolicy {
        addr,
        index,
        t,
        stop,
        server,
    }
}

impl TestPolicy {
    async fn connect(&self) -> TcpStream {
        TcpStream::connect(&self.addr).await.unwrap()
    }

    fn grant(&self, ip: &str, login: &str) {
        self.index.login(ip.parse().unwrap(), login, now());
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A RCPT-stage request as Postfix 3.x sends it.
fn rcpt(ip: &str, sender: &str, to: &str) -> String {
    format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address={ip}\nclient_name=unknown\nreverse_client_name=unknown\n\
         helo_name=pc\nsender={sender}\nrecipient={to}\nrecipient_count=0\nqueue_id=\n\
         instance=1a2b.3c4d5e.0\nsize=0\nsasl_method=\nsasl_username=\n\n"
    )
}

async fn ask<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    read_reply(stream).await
}

/// One reply, up to its empty line.
async fn read_reply<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut reply = Vec::new();
    timeout(PATIENCE, async {
        while !reply.ends_with(b"\n\n") {
            let mut byte = [0u8; 1];
            let n = stream.read(&mut byte).await.unwrap();
            assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&reply));
            reply.push(byte[0]);
        }
    })
    .await
    .expect("a reply in time");
    String::from_utf8(reply).unwrap()
}

/// The peer closes without sending one byte.
async fn closed_silently<S: AsyncRead + Unpin>(stream: &mut S) {
    let mut got = Vec::new();
    let _ = timeout(PATIENCE, stream.read_to_end(&mut got))
        .await
        .expect("closed in time");
    assert!(got.is_empty(), "sent {:?}", String::from_utf8_lossy(&got));
}

/// Nothing arrives for a while (the request is not served yet).
async fn silent_for<S: AsyncRead + Unpin>(stream: &mut S, wait: Duration) {
    let mut byte = [0u8; 1];
    if let Ok(read) = timeout(wait, stream.read(&mut byte)).await {
        panic!("expected silence, got {read:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_client_may_relay() {
    let p = spawn_policy().await;
    p.grant("203.0.113.7", "taro");
    let mut c = p.connect().await;
    let reply = ask(
        &mut c,
        &rcpt("203.0.113.7", "taro@example.jp", "a@example.com"),
    )
    .await;
    assert_eq!(reply, "action=OK\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungranted_relay_is_rejected_with_the_support_url() {
    let p = spawn_policy().await;
    let mut c = p.connect().await;
    let reply = ask(
        &mut c,
        &rcpt("203.0.113.7", "taro@example.jp", "a@example.com"),
    )
    .await;
    assert!(reply.starts_with("action=REJECT 5.7.1 "), "{reply}");
    assert!(reply.contains("https://support.example.jp"), "{reply}");
    assert!(reply.contains("30 minutes"), "{reply}");
    assert!(reply.ends_with("\n\n") && reply.matches('\n').count() == 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_to_a_local_domain_is_left_to_postfix() {
    let p = spawn_policy().await;
    let mut c = p.connect().await;
    let reply = ask(&mut c, &rcpt("203.0.113.7", "", "hanako@example.jp")).await;
    assert_eq!(reply, "action=DUNNO\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_client_is_never_ok() {
    let p = spawn_policy().await;
    p.grant("203.0.113.7", "taro");
    p.index.replace_restrictions(Restrictions {
        blocks: vec!["203.0.113.0/24".parse().unwrap()],
        ..Restrictions::default()
    });
    let mut c = p.connect().await;
    let reply = ask(
        &mut c,
        &rcpt("203.0.113.7", "taro@example.jp", "a@example.com"),
    )
    .await;
    assert!(reply.starts_with("action=REJECT 5.7.1 "), "{reply}");
    let reply = ask(&mut c, &rcpt("203.0.113.7", "", "hanako@example.jp")).await;
    assert_eq!(reply, "action=DUNNO\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shuffled_unknown_duplicate_and_empty_attributes_are_accepted() {
    let p = spawn_policy().await;
    p.grant("192.0.2.10", "taro");
    let mut c = p.connect().await;
    let shuffled = "recipient=a@example.com\nx_future_attribute=whatever=it=is\nsender=\n\
                    client_address=192.0.2.10\nrequest=smtpd_access_policy\n\
                    protocol_state=RCPT\nccert_subject=\n\n";
    assert_eq!(ask(&mut c, shuffled).await, "action=OK\n\n");
    // The first client_address counts: the second (granted) one is ignored.
    let duplicate = "request=smtpd_access_policy\nprotocol_state=RCPT\n\
                     client_address=192.0.2.99\nclient_address=192.0.2.10\n\
                     recipient=a@example.com\nrecipient=b@example.jp\n\n";
    let reply = ask(&mut c, duplicate).await;
    assert!(reply.starts_with("action=REJECT 5.7.1 "), "{reply}");
    // Empty values everywhere but the client address: not a relay, nothing to decide.
    let empty = "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=192.0.2.99\n\
                 sender=\nrecipient=\nhelo_name=\nqueue_id=\n\n";
    assert_eq!(ask(&mut c, empty).await, "action=DUNNO\n\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv6_and_mapped_ipv4_client_addresses_are_understood() {
    let p = spawn_policy().await;
    p.grant("2001:db8::5", "taro");
    p.grant("192.0.2.9", "hanako");
    let mut c = p.connect().await;
    for ip in [
        "2001:db8::5",
        "2001:DB8:0::5",
        "::ffff:192.0.2.9",
        "192.0.2.9",
    ] {
        let reply = ask(&mut c, &rcpt(ip, "", "a@example.com")).await;
        assert_eq!(reply, "action=OK\n\n", "{ip}");
    }
    let reply = ask(&mut c, &rcpt("2001:db8::6", "", "a@example.com")).await;
    assert!(reply.starts_with("action=REJECT"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_share_one_connection() {
    let p = spawn_policy().await;
    p.grant("203.0.113.7", "taro");
    let mut c = p.connect().await;
    for i in 0..500 {
        let ip = if i % 2 == 0 {
            "203.0.113.7"
        } else {
            "203.0.113.8"
        };
        let reply = ask(&mut c, &rcpt(ip, "taro@example.jp", "a@example.com")).await;
        assert_eq!(reply.starts_with("action=OK"), i % 2 == 0, "{i}: {reply}");
    }
    // And 500 more written at once, as a pipelining client would.
    let batch: String = (0..500)
        .map(|_| rcpt("203.0.113.7", "", "a@example.com"))
        .collect();
    let (mut rd, mut wr) = c.into_split();
    let writer = tokio::spawn(async move { wr.write_all(batch.as_bytes()).await });
    for i in 0..500 {
        assert_eq!(read_reply(&mut rd).await, "action=OK\n\n", "{i}");
    }
    writer.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_split_across_writes_is_answered_once_whole() {
    let p = spawn_policy().await;
    let request = rcpt("203.0.113.7", "taro@example.jp", "hanako@example.jp");
    let mut c = p.connect().await;
    for cut in [1, 30, request.len() / 2, request.len() - 1] {
        c.write_all(&request.as_bytes()[..cut]).await.unwrap();
        silent_for(&mut c, Duration::from_millis(100)).await;
        c.write_all(&request.as_bytes()[cut..]).await.unwrap();
        assert_eq!(read_reply(&mut c).await, "action=DUNNO\n\n", "cut at {cut}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_closes_the_connection_without_a_byte() {
    let p = spawn_policy().await;
    for garbage in [
        &b"GET / HTTP/1.0\r\nHost: x\r\n\r\n"[..],
        b"request=smtpd_access_policy\nsender=\xff\xfe\n\n",
        b"request=something_else\n\n",
        b"client_address=203.0.113.7\nrecipient=a@example.com\n\n",
    ] {
        let mut c = p.connect().await;
        c.write_all(garbage).await.unwrap();
        closed_silently(&mut c).await;
    }
    // A good request first does not make later garbage acceptable.
    let mut c = p.connect().await;
    let reply = ask(&mut c, &rcpt("203.0.113.7", "", "hanako@example.jp")).await;
    assert_eq!(reply, "action=DUNNO\n\n");
    c.write_all(b"hello\n").await.unwrap();
    closed_silently(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_closes_the_connection() {
    let p = spawn_policy().await;
    let mut c = p.connect().await;
    let mut big = b"request=smtpd_access_policy\nsender=".to_vec();
    big.resize(70 * 1024, b'a');
    let _ = c.write_all(&big).await;
    closed_silently(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_usable_client_address_closes_the_connection() {
    let p = spawn_policy().await;
    p.grant("203.0.113.7", "taro");
    for request in [
        "request=smtpd_access_policy\nprotocol_state=RCPT\nrecipient=a@example.com\n\n".to_string(),
        rcpt("", "", "a@example.com"),
        rcpt("unknown", "", "a@example.com"),
        rcpt("203.0.113.7.example", "", "a@example.com"),
    ] {
        let mut c = p.connect().await;
        c.write_all(request.as_bytes()).await.unwrap();
        closed_silently(&mut c).await;
    }
}

/// At the cap, a new connection is served at once and the one silent longest is closed (Postfix
/// reconnects an idle policy connection by itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_connection_cap_the_quietest_connection_makes_room() {
    let p = spawn_policy_with("127.0.0.1:0", |policy| policy.max_connections = 2).await;
    let request = rcpt("203.0.113.7", "", "hanako@example.jp");
    let mut first = p.connect().await;
    let mut second = p.connect().await;
    assert_eq!(ask(&mut first, &request).await, "action=DUNNO\n\n");
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(ask(&mut second, &request).await, "action=DUNNO\n\n");
    let mut third = p.connect().await;
    assert_eq!(ask(&mut third, &request).await, "action=DUNNO\n\n");
    closed_silently(&mut first).await;
    assert_eq!(ask(&mut second, &request).await, "action=DUNNO\n\n");
}

/// Peers that connect and say nothing, or one line, cannot lock Postfix out: 300 of them are
/// open (more than the cap of 256) and a real request is still answered within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_request_is_answered_while_300_idle_connections_are_open() {
    let p = spawn_policy().await;
    let mut idle = Vec::new();
    for i in 0..300 {
        let mut c = p.connect().await;
        if i % 2 == 0 {
            c.write_all(b"request=smtpd_access_policy\n").await.unwrap();
        }
        idle.push(c);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    p.grant("203.0.113.7", "taro");
    let started = Instant::now();
    let mut postfix = p.connect().await;
    let reply = timeout(
        Duration::from_secs(1),
        ask(
            &mut postfix,
            &rcpt("203.0.113.7", "taro@example.jp", "a@example.com"),
        ),
    )
    .await
    .expect("answered within a second");
    assert_eq!(reply, "action=OK\n\n");
    assert!(started.elapsed() < Duration::from_secs(1));
    // And again on the same connection: it was not the one closed to make room.
    let reply = ask(
        &mut postfix,
        &rcpt("203.0.113.7", "taro@example.jp", "b@example.com"),
    )
    .await;
    assert_eq!(reply, "action=OK\n\n");
}

/// A request dribbled in a byte at a time is read once (the parser resumes where it stopped),
/// and answered; one that takes longer than the request time is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_kb_request_sent_a_byte_at_a_time_is_answered() {
    let p = spawn_policy().await;
    let mut request = String::from("request=smtpd_access_policy\nclient_address=203.0.113.7\n");
    request.push_str("recipient=hanako@example.jp\n");
    let mut i = 0;
    while request.len() < 60 * 1024 - 300 {
        request.push_str(&format!("x_padding_{i}={}\n", "p".repeat(230)));
        i += 1;
    }
    request.push('\n');
    assert!(
        request.len() < 64 * 1024 && i < 256,
        "{} bytes, {i} lines",
        request.len()
    );
    let mut c = p.connect().await;
    c.set_nodelay(true).unwrap();
    let started = Instant::now();
    for byte in request.as_bytes() {
        c.write_all(std::slice::from_ref(byte)).await.unwrap();
    }
    assert_eq!(read_reply(&mut c).await, "action=DUNNO\n\n");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed() {
    let p = spawn_policy_with("127.0.0.1:0", |policy| {
        policy.idle_timeout = Duration::from_millis(200);
    })
    .await;
    let mut c = p.connect().await;
    let reply = ask(&mut c, &rcpt("203.0.113.7", "", "hanako@example.jp")).await;
    assert_eq!(reply, "action=DUNNO\n\n");
    let started = Instant::now();
    closed_silently(&mut c).await;
    assert!(started.elapsed() >= Duration::from_millis(150));
    // A half request stalls no longer than a silent connection.
    let mut c = p.connect().await;
    c.write_all(b"request=smtpd_access_policy\n").await.unwrap();
    closed_silently(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_and_stops_listening() {
    let p = spawn_policy().await;
    let mut c = p.connect().await;
    let reply = ask(&mut c, &rcpt("203.0.113.7", "", "hanako@example.jp")).await;
    assert_eq!(reply, "action=DUNNO\n\n");
    p.stop.send(true).unwrap();
    timeout(PATIENCE, p.server)
        .await
        .expect("the server ends in time")
        .unwrap()
        .unwrap();
    closed_silently(&mut c).await;
    assert!(TcpStream::connect(&p.addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_listener_answers_and_is_removed_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.sock");
    // A stale socket left by a crash is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let p = spawn_policy_with(&format!("unix:{}", path.display()), |_| {}).await;
    assert_eq!(p.addr, format!("unix:{}", path.display()));
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o666, "Postfix (another user) may connect");
    p.grant("203.0.113.7", "taro");
    let mut c = UnixStream::connect(&path).await.unwrap();
    let reply = ask(&mut c, &rcpt("203.0.113.7", "", "a@example.com")).await;
    assert_eq!(reply, "action=OK\n\n");
    p.stop.send(true).unwrap();
    timeout(PATIENCE, p.server).await.unwrap().unwrap().unwrap();
    closed_silently(&mut c).await;
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_decisions_are_recorded() {
    let p = spawn_policy().await;
    p.grant("203.0.113.7", "taro");
    let mut c = p.connect().await;
    ask(
        &mut c,
        &rcpt("203.0.113.7", "taro@example.jp", "a@example.com"),
    )
    .await;
    ask(
        &mut c,
        &rcpt("203.0.113.9", "spam@example.org", "b@example.net"),
    )
    .await;
    // Inbound mail is no relay: not recorded.
    ask(
        &mut c,
        &rcpt("203.0.113.9", "x@example.org", "hanako@example.jp"),
    )
    .await;
    let db = p.t.db.clone();
    let deadline = Instant::now() + PATIENCE;
    while db.run(decisions::count).await.unwrap() < 2 {
        assert!(Instant::now() < deadline, "decisions not recorded in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(db.run(decisions::count).await.unwrap(), 2);
    let since = now() - 60;
    let ok = decisions::recent(&mut db.conn().await.unwrap(), "203.0.113.7", since, 10)
        .await
        .unwrap();
    assert_eq!(ok.len(), 1);
    assert_eq!(
        (ok[0].action.as_str(), ok[0].login.as_deref()),
        ("ok", Some("taro"))
    );
    assert_eq!(
        (ok[0].sender.as_str(), ok[0].rcpt.as_str()),
        ("taro@example.jp", "a@example.com")
    );
    let rejected = decisions::recent(&mut db.conn().await.unwrap(), "203.0.113.9", since, 10)
        .await
        .unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(
        (rejected[0].action.as_str(), rejected[0].login.as_deref()),
        ("reject", None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_decisions_come_back_newest_first() {
    for t in databases().await {
        let decision = |at: i64, ip: &str, action: &str| PolicyDecision {
            at,
            ip: ip.into(),
            sender: String::new(),
            rcpt: "a@example.com".into(),
            action: action.into(),
            login: (action == "ok").then(|| "taro".to_string()),
            code: None,
            cause: None,
        };
        let rows: Vec<_> = (0..20)
            .map(|i| {
                decision(
                    1000 + i,
                    "203.0.113.7",
                    if i % 2 == 0 { "ok" } else { "reject" },
                )
            })
            .chain([decision(1005, "203.0.113.8", "reject")])
            .collect();
        decisions::insert_many(&mut t.db.conn().await.unwrap(), &rows)
            .await
            .unwrap();
        let recent = decisions::recent(&mut t.db.conn().await.unwrap(), "203.0.113.7", 1010, 3)
            .await
            .unwrap();
        let times: Vec<i64> = recent.iter().map(|d| d.at).collect();
        assert_eq!(times, [1019, 1018, 1017], "{}", t.label);
        assert_eq!(
            recent[1],
            decision(1018, "203.0.113.7", "ok"),
            "{}",
            t.label
        );
        assert_eq!(t.db.run(decisions::count).await.unwrap(), 21, "{}", t.label);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recent_logins_are_the_sessions_that_still_grant() {
    for t in databases().await {
        let writer = Writer::new(t.db.clone(), 1800);
        let login = |at: i64, user: &str, ip: &str| Event::Login {
            at,
            service: Service::Pop3,
            user: user.into(),
            ip: ip.parse().unwrap(),
        };
        let batch = Batch {
            events: vec![
                login(1000, "old", "192.0.2.1"),
                login(5000, "taro", "203.0.113.7"),
                login(6000, "taro", "203.0.113.7"),
                login(6100, "hanako", "2001:db8::5"),
            ],
            ..Batch::default()
        };
        writer.commit("test", "{}", &batch, None).await.unwrap();
        let mut logins = authz::recent_logins(&mut t.db.conn().await.unwrap(), 6000 - 1800)
            .await
            .unwrap();
        logins.sort_by(|a, b| a.1.cmp(&b.1));
        let expected = vec![
            ("2001:db8::5".parse().unwrap(), "hanako".to_string(), 6100),
            ("203.0.113.7".parse().unwrap(), "taro".to_string(), 6000),
        ];
        assert_eq!(logins, expected, "{}", t.label);
    }
}

/// `relaydesk serve --only policy`: grants from logins already stored, answers on a unix
/// socket, ends cleanly on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_from_grants_loaded_at_start() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("policy.sock");
    std::fs::write(
        dir.path().join("relaydesk.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[policy]\nlisten = \"unix:{}\"\n",
            dir.path().join("relaydesk.db").display(),
            socket.display()
        ),
    )
    .unwrap();
    let at = chrono::Utc::now() - chrono::Duration::seconds(60);
    let line = format!(
        "{} mail dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip=203.0.113.7, \
         lip=192.0.2.25, mpid=3147, TLS, session=<x8G0F0JvVoTLAHEH>\n",
        at.format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
    );
    std::fs::write(dir.path().join("mail.log"), line).unwrap();
    let out = run(
        dir.path(),
        &["--config", "relaydesk.toml", "ingest", "mail.log"],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let mut child = std::process::Command::new(binary())
        .args(["--config", "relaydesk.toml", "serve", "--only", "policy"])
        .current_dir(dir.path())
        .env_remove("RELAYDESK_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stream = connect_when_listening(&socket);
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream
        .write_all(rcpt("203.0.113.7", "taro@example.jp", "a@example.com").as_bytes())
        .unwrap();
    let mut reply = [0u8; 11];
    stream.read_exact(&mut reply).unwrap();
    assert_eq!(&reply, b"action=OK\n\n");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let db = Db::open(
        &format!("sqlite://{}", dir.path().join("relaydesk.db").display()),
        PoolSettings::new(1),
    )
    .await
    .unwrap();
    assert_eq!(
        db.run(decisions::count).await.unwrap(),
        1,
        "flushed at exit"
    );
}

fn connect_when_listening(socket: &Path) -> std::os::unix::net::UnixStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(stream) = std::os::unix::net::UnixStream::connect(socket) {
            return stream;
        }
        assert!(Instant::now() < deadline, "serve did not listen in time");
        std::thread::sleep(Duration::from_millis(20));
    }
}
