//! Sources beyond the happy path: a followed file that is missing, a database that refuses
//! writes, the syslog receiver, the login hook, and change notifications between nodes.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relaydesk::config::Config;
use relaydesk::ingest::follow::{FollowError, Follower};
use relaydesk::ingest::writer::Writer;
use relaydesk::store::{Backend, Db, PoolSettings};

use crate::helpers::{config_with, databases, failed_login_line, sqlite};
use crate::web_helpers::{Web, done};

async fn failures(db: &Db) -> i64 {
    db.conn()
        .await
        .unwrap()
        .scalar("select count(*) from login_failures", &[])
        .await
        .unwrap()
        .unwrap_or(0)
}

fn append(path: &std::path::Path, from: u64, n: u64) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for i in from..from + n {
        writeln!(f, "{}", failed_login_line(i)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_file_is_waited_for_reported_and_then_read() {
    let t = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mail.log");
    let writer = Arc::new(Writer::new(t.db.clone(), 1800));
    let mut follower = Follower::new(&path, config_with(&t.url, &[&path]), writer)
        .await
        .unwrap();
    assert_eq!(
        follower.poll().await.unwrap(),
        0,
        "a short absence is a rotation at work"
    );
    std::thread::sleep(Duration::from_millis(5200));
    assert!(
        matches!(follower.poll().await, Err(FollowError::Missing(_))),
        "a long absence is reported"
    );
    append(&path, 0, 10);
    assert_eq!(follower.poll().await.unwrap(), 10);
    assert_eq!(failures(&t.db).await, 10);
}

async fn refuse_writes(db: &Db, on: bool) {
    let mut c = db.conn().await.unwrap();
    {
        let sql = match (c.backend(), on) {
            (Backend::Sqlite, true) => {
                "create trigger refuse before insert on login_failures begin select raise(abort, 'refused'); end"
            }
            (Backend::Sqlite, false) => "drop trigger refuse",
            (Backend::Postgres, true) => {
                "create function refuse() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$;
                 create trigger refuse before insert on login_failures for each row execute function refuse()"
            }
            (Backend::Postgres, false) => "drop trigger refuse on login_failures; drop function refuse()",
        };
        c.batch(sql).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_refuses_writes_moves_no_position_and_loses_nothing() {
    for t in databases().await {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.log");
        append(&path, 0, 100);
        let writer = Arc::new(Writer::new(t.db.clone(), 1800));
        let mut follower = Follower::new(&path, config_with(&t.url, &[&path]), writer)
            .await
            .unwrap();
        refuse_writes(&t.db, true).await;
        assert!(
            matches!(follower.poll().await, Err(FollowError::Store(_))),
            "{}",
            t.label
        );
        append(&path, 100, 50);
        assert!(follower.poll().await.is_err(), "{}", t.label);
        assert_eq!(failures(&t.db).await, 0, "{}", t.label);
        refuse_writes(&t.db, false).await;
        assert_eq!(
            follower.poll().await.unwrap(),
            150,
            "{}: everything read once the store is back",
            t.label
        );
        assert_eq!(follower.poll().await.unwrap(), 0, "{}", t.label);
        assert_eq!(failures(&t.db).await, 150, "{}", t.label);
    }
}

async fn wait_for(db: &Db, n: i64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = failures(db).await;
        if got >= n {
            assert_eq!(got, n);
            return;
        }
        assert!(Instant::now() < deadline, "only {got} of {n} arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syslog_messages_arrive_over_udp_and_tcp() {
    use relaydesk::ingest::syslog;
    let t = sqlite().await;
    let mut config = Config::default();
    config.ingest.poll_ms = 20;
    let writer = Arc::new(Writer::new(t.db.clone(), 1800));
    let (tx, committing) = syslog::committer(Arc::new(config), writer);
    let committing = tokio::spawn(committing);
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (udp_addr, tcp_addr) = (udp.local_addr().unwrap(), tcp.local_addr().unwrap());
    let udp_server = tokio::spawn(syslog::serve_udp(udp, tx.clone()));
    let tcp_server = tokio::spawn(syslog::serve_tcp(tcp, tx));
    // RFC 3164 with a priority, as rsyslog forwards it.
    let line = |n: u64| {
        format!(
            "<22>Mar 13 05:12:01 mail dovecot: pop3-login: Disconnected (auth failed, 1 attempts in 2 secs): \
             user=<s{n}>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.25"
        )
    };
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    for n in 0..5 {
        udp.send_to(line(n).as_bytes(), udp_addr).unwrap();
    }
    wait_for(&t.db, 5).await;
    let mut tcp = std::net::TcpStream::connect(tcp_addr).unwrap();
    // Newline framing, then octet counting (RFC 6587).
    for n in 5..8 {
        writeln!(tcp, "{}", line(n)).unwrap();
    }
    for n in 8..10 {
        let msg = line(n);
        write!(tcp, "{} {msg}", msg.len()).unwrap();
    }
    tcp.flush().unwrap();
    wait_for(&t.db, 10).await;
    udp_server.abort();
    tcp_server.abort();
    committing.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_login_hook_needs_its_token_and_stores_the_login() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let t = sqlite().await;
    let writer = Arc::new(Writer::new(t.db.clone(), 1800));
    let app = relaydesk::ingest::hook::router(writer, "s3cret", Default::default());
    let post = |token: &str, body: &str| {
        Request::post("/login")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let wrong = app
        .clone()
        .oneshot(post("guess", "user=taro&ip=203.0.113.7"))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let bad = app
        .clone()
        .oneshot(post("s3cret", "user=taro&ip=nowhere"))
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let ok = app
        .clone()
        .oneshot(post("s3cret", "user=taro&ip=203.0.113.7&service=imap"))
        .await
        .unwrap();
    assert_eq!(ok.status(), 204);
    let sessions = relaydesk::store::history::sessions_for_ip(
        &mut t.db.conn().await.unwrap(),
        "203.0.113.7",
        0,
        i64::MAX,
        10,
    )
    .await
    .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        (sessions[0].login.as_str(), sessions[0].service.as_str()),
        ("taro", "imap")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_nodes_hear_of_changes_at_commit() {
    // LISTEN/NOTIFY is PostgreSQL's.
    let Some(t) = crate::helpers::postgres().await else {
        return;
    };
    let other_node = Db::open(&t.url, relaydesk::store::PoolSettings::new(2))
        .await
        .unwrap();
    let mut listener = relaydesk::store::changes::Listener::start(&other_node)
        .await
        .unwrap()
        .expect("PostgreSQL listens");
    assert!(
        listener
            .wait(Duration::from_millis(200))
            .await
            .unwrap()
            .is_empty(),
        "nothing happened yet"
    );
    let net = relaydesk::actions::network("198.51.100.9").unwrap();
    crate::helpers::staff_action(&t.db, relaydesk::actions::Action::Block { net }, "spam run")
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        listener.wait(Duration::from_secs(5)).await.unwrap(),
        [relaydesk::store::changes::Change::Authorization],
        "the block was announced"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_with_no_connection_free_is_a_503_page_and_the_follower_retries() {
    for t in databases().await {
        let label = t.label;
        let t = t
            .with_pool(PoolSettings {
                size: 1,
                acquire_timeout: Duration::from_millis(300),
            })
            .await;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mail.log");
        append(&path, 0, 20);
        let writer = Arc::new(Writer::new(t.db.clone(), 1800));
        let mut follower = Follower::new(&path, config_with(&t.url, &[&path]), writer)
            .await
            .unwrap();
        let mut web = Web::new(t, Config::default());

        // Someone holds the only connection (a long report, a stuck query).
        let held = web.db.conn().await.unwrap();
        let asked = Instant::now();
        let polled = follower.poll().await;
        assert!(
            matches!(&polled, Err(FollowError::Store(e)) if e.is_unavailable()),
            "{label}: {polled:?}"
        );
        assert!(
            asked.elapsed() < Duration::from_secs(5),
            "{label}: the wait is bounded by the acquire timeout"
        );
        let page = web.get_with("/", &[("accept-language", "en")]).await;
        assert_eq!(page.status, 503, "{label}: {}", page.body);
        assert!(
            page.body.contains("Not available right now"),
            "{label}: {}",
            page.body
        );
        let api = web.get("/api/v1/connection").await;
        assert_eq!(api.status, 503, "{label}");

        // Free again: the follower's retry reads every line once, the page answers.
        drop(held);
        assert_eq!(follower.poll().await.unwrap(), 20, "{label}");
        assert_eq!(failures(&web.db).await, 20, "{label}");
        assert_eq!(web.get("/").await.status, 200, "{label}");
        done(web).await;
    }
}
