//! What an outsider, an SMTP client, a customer and an agent tried against the public and staff
//! surfaces, repeated: none of it may stop the policy service, tell a stranger about a customer,
//! get round a suspension or a block, or make log text display as something else.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use relaydesk::config::Config;
use relaydesk::domain::{ClientIp, Event, FailReason, Service};
use relaydesk::grants::{GrantIndex, Verdict};
use relaydesk::ingest::pipeline::{Batch, Pipeline};
use relaydesk::policy::protocol;
use relaydesk::policy::recorder::Recorder;
use relaydesk::policy::server::Policy;

use crate::api_helpers::audited;
use crate::helpers::{binary, free_port, run, staff_action};
use crate::staff::{add_staff, login_event, now, sign_in};
use crate::web_helpers::{Web, dbs, done, store_events};
use relaydesk::actions::Action;
use relaydesk::domain::Login;

/// A RCPT-stage request as Postfix 3.x sends it.
fn rcpt(ip: &str, sender: &str, to: &str) -> String {
    format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address={ip}\nclient_name=unknown\nhelo_name=pc\nsender={sender}\n\
         recipient={to}\nrecipient_count=0\nqueue_id=\ninstance=1.2.3\nsize=0\n\n"
    )
}

fn request(ip: &str, sender: &str, to: &str) -> protocol::Request {
    protocol::parse(rcpt(ip, sender, to).as_bytes())
        .unwrap()
        .unwrap()
        .0
}

fn ip(text: &str) -> ClientIp {
    text.parse().unwrap()
}

/// A grant index loaded from `web`'s store as `serve` loads it.
async fn loaded_index(web: &Web) -> Arc<GrantIndex> {
    let config = &web.app.config;
    let index = Arc::new(GrantIndex::for_relay(&config.relay));
    let now = now();
    relaydesk::authz::refresh(&index, &web.db, now - config.relay.lookback.0, now)
        .await
        .unwrap();
    index
}

/// `relaydesk serve --only web,policy` under two report requests that ask for every hour since
/// the epoch: they are refused at once, the policy service answers within 50 ms throughout,
/// and SIGTERM still stops the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_report_periods_are_refused_at_once_while_the_policy_answers() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let socket = dir.path().join("policy.sock");
    std::fs::write(
        dir.path().join("relaydesk.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[web]\nlisten = \"127.0.0.1:{port}\"\n\
             [policy]\nlisten = \"unix:{}\"\n",
            dir.path().join("relaydesk.db").display(),
            socket.display()
        ),
    )
    .unwrap();
    let cli = |args: &[&str], stdin: &[u8]| {
        let mut all = vec!["--config", "relaydesk.toml"];
        all.extend_from_slice(args);
        let out = run(dir.path(), &all, stdin);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    cli(&["migrate"], b"");
    cli(
        &["staff", "add", "agent1", "--role", "agent"],
        b"a long enough password\n",
    );
    let token = cli(&["token", "create", "agent1"], b"").trim().to_string();
    let mut child = std::process::Command::new(binary())
        .args([
            "--config",
            "relaydesk.toml",
            "serve",
            "--only",
            "web,policy",
        ])
        .current_dir(dir.path())
        .env_remove("RELAYDESK_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut policy = loop {
        let web_up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if let (true, Ok(s)) = (web_up, std::os::unix::net::UnixStream::connect(&socket)) {
            break s;
        }
        assert!(Instant::now() < deadline, "serve did not listen in time");
        std::thread::sleep(Duration::from_millis(20));
    };
    policy
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // The policy's answers, timed, for as long as the web requests run.
    let stop = Arc::new(AtomicBool::new(false));
    let probing = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let ask = rcpt("203.0.113.7", "taro@example.jp", "friend@example.net");
            let mut slowest = Duration::ZERO;
            let mut answers = 0;
            while !stop.load(Ordering::Relaxed) {
                let asked = Instant::now();
                policy.write_all(ask.as_bytes()).unwrap();
                let mut reply = Vec::new();
                let mut byte = [0u8; 1];
                while !reply.ends_with(b"\n\n") {
                    assert_eq!(policy.read(&mut byte).unwrap(), 1, "policy closed");
                    reply.push(byte[0]);
                }
                assert!(reply.starts_with(b"action=REJECT"));
                slowest = slowest.max(asked.elapsed());
                answers += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            (slowest, answers)
        })
    };
    let get = |path: String| {
        let token = token.clone();
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            write!(
                s,
                "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
                 Connection: close\r\n\r\n"
            )
            .unwrap();
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            (answer, started.elapsed())
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let asked = [
        (
            "400",
            get("/api/v1/relay-methods?since=9223372036854775807".into()),
        ),
        (
            "400",
            get("/api/v1/relay-methods?since=9223372036854775807".into()),
        ),
        (
            "400",
            get(
                "/api/v1/relay-methods?since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59Z"
                    .into(),
            ),
        ),
        ("400", get("/api/v1/history?login=taro&since=-5".into())),
        // Lookups that return rows are bounded by their limit, whatever the period.
        (
            "200",
            get("/api/v1/rejections?since=1970-01-01T00:00:00Z&until=9999-12-31T23:59:59Z".into()),
        ),
    ];
    for (status, request) in asked {
        let (answer, took) = request.join().unwrap();
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{answer}"
        );
        assert!(took < Duration::from_secs(2), "answered after {took:?}");
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let (slowest, answers) = probing.join().unwrap();
    assert!(answers > 10, "{answers} policy answers");
    assert!(
        slowest < Duration::from_millis(50),
        "the slowest policy answer took {slowest:?}"
    );
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("serve did not stop on SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// From an address with no history, a customer who checked mail elsewhere, a made-up account
/// and a suspended account get the same SMTP reply and `/why` pages with the same cause and
/// no time of anyone's mail check. A customer sending from an address of their own history
/// learns the whole cause on `/why`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strangers_cannot_tell_real_made_up_and_suspended_customers_apart() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let now = now();
        let checked = now - 20 * 60;
        store_events(
            &web,
            vec![
                login_event(checked, "taro", "203.0.113.10"),
                login_event(now - 3 * 3600, "taro", "198.51.100.88"),
                login_event(now - 25 * 60, "jiro", "203.0.113.11"),
                Event::LoginFailed {
                    at: now - 5 * 60,
                    service: Service::Pop3,
                    user: Some("saburo".into()),
                    ip: ip("203.0.113.12"),
                    reason: FailReason::AuthFailed,
                },
            ],
        )
        .await;
        let rule = web.app.config.relay.login_rule();
        let jiro = Login::parse("jiro", &rule).unwrap();
        staff_action(&web.db, Action::Suspend { login: jiro }, "stolen password")
            .await
            .unwrap();
        let index = loaded_index(&web).await;
        let (recorder, writing) = Recorder::start(web.db.clone(), 100);
        let writing = tokio::spawn(writing);
        let policy = Policy::new(&web.app.config, index, recorder);
        let stranger = "198.51.100.77";
        let senders = [
            "taro@example.jp",
            "nobody@example.jp",
            "jiro@example.jp",
            "saburo@example.jp",
        ];
        let mut words = Vec::new();
        let mut codes = Vec::new();
        for sender in senders {
            let reply = policy
                .answer(&request(stranger, sender, "friend@example.net"), now - 30)
                .unwrap()
                .into_owned();
            let (text, code) = reply.rsplit_once("/why/").unwrap();
            words.push(text.to_string());
            codes.push(code.to_string());
        }
        assert!(words.iter().all(|w| *w == words[0]), "{label}: {words:#?}");
        assert!(
            words[0].contains("check (receive) your mail first"),
            "{label}"
        );
        // taro from an address of taro's own history: the reply words it from that address's
        // facts (an expired check), the page from the whole history.
        let own = policy
            .answer(
                &request("198.51.100.88", "taro@example.jp", "friend@example.net"),
                now - 30,
            )
            .unwrap()
            .into_owned();
        let own_code = own.rsplit_once("/why/").unwrap().1.to_string();
        drop(policy);
        writing.await.unwrap().unwrap();
        let clock = relaydesk::time::clock(checked, web.app.config.timezone.0, now);
        let mut causes = Vec::new();
        for code in &codes {
            let page = web.get(&format!("/why/{code}?lang=en")).await;
            assert_eq!(page.status, 200, "{label}: {}", page.body);
            let cause = page.body.split("data-cause=\"").nth(1).unwrap();
            causes.push(cause[..cause.find('"').unwrap()].to_string());
            for hidden in [clock.as_str(), "203.0.113.10", "taro", "jiro", "stolen"] {
                assert!(!page.body.contains(hidden), "{label}: /why shows {hidden}");
            }
        }
        assert!(
            causes.iter().all(|c| c == "never_checked"),
            "{label}: {causes:?}"
        );
        let page = web.get(&format!("/why/{own_code}?lang=en")).await;
        assert!(
            page.body.contains(r#"data-cause="ip_changed""#),
            "{label}: {}",
            page.body
        );
        done(web).await;
    }
}

/// After `suspend U00065@EXAMPLE.JP`, no spelling of the login grants relaying, through the
/// grant index or through a Dovecot log line; a user of another domain is another account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_login_relays_under_no_spelling() {
    for t in dbs().await {
        let label = t.label;
        let web = Web::new(t, Config::default());
        let rule = web.app.config.relay.login_rule();
        let login = Login::parse(" U00065@EXAMPLE.JP ", &rule).unwrap();
        staff_action(&web.db, Action::Suspend { login }, "stolen")
            .await
            .unwrap();
        let index = loaded_index(&web).await;
        let now = now();
        let spellings = [
            "u00065",
            "U00065",
            "u00065@example.jp",
            " u00065",
            "U00065@Example.JP",
        ];
        for (i, spelling) in spellings.iter().enumerate() {
            let from = ip(&format!("203.0.113.{}", 100 + i));
            index.login(from, spelling, now);
            assert_eq!(
                index.check(from, now),
                Verdict::NotGranted,
                "{label}: {spelling:?}"
            );
            assert!(index.is_suspended(spelling), "{label}: {spelling:?}");
        }
        index.login(ip("203.0.113.200"), "u00065@elsewhere.example", now);
        assert!(
            matches!(
                index.check(ip("203.0.113.200"), now),
                Verdict::Granted { .. }
            ),
            "{label}: another domain's user is another account"
        );
        // A log line with another spelling is stored, and counted, as the one account.
        let mut pipeline = Pipeline::new(&web.app.config, now, "");
        let mut batch = Batch::default();
        let line = format!(
            "{} mail dovecot: imap-login: Login: user=<U00065@example.jp>, method=PLAIN, \
             rip=203.0.113.201, lip=192.0.2.25, mpid=1, TLS, session=<a>",
            chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        );
        pipeline.line(line.as_bytes(), &mut batch);
        let users: Vec<&str> = batch
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Login { user, .. } => Some(user.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(users, ["u00065"], "{label}");
        index.apply(&batch.events);
        assert_eq!(
            index.check(ip("203.0.113.201"), now),
            Verdict::NotGranted,
            "{label}"
        );
        // Lifting it by yet another spelling lifts it.
        let login = Login::parse("u00065", &rule).unwrap();
        staff_action(&web.db, Action::Unsuspend { login }, "recovered")
            .await
            .unwrap();
        let index = loaded_index(&web).await;
        index.login(ip("203.0.113.202"), "U00065", now);
        assert!(
            matches!(
                index.check(ip("203.0.113.202"), now),
                Verdict::Granted { .. }
            ),
            "{label}"
        );
        done(web).await;
    }
}

/// Blocks written as IPv4-mapped IPv6 block the IPv4 clients they name, on the policy and on
/// the customer's connection page; the whole mapped range is refused as too wide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mapped_ipv6_blocks_block_the_ipv4_clients_they_name() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let block = |net: &'static str| {
            let db = web.db.clone();
            async move {
                let net = relaydesk::actions::network(net)?;
                staff_action(&db, Action::Block { net }, "spam").await
            }
        };
        block("::ffff:203.0.113.66/128").await.unwrap();
        block("::ffff:198.51.100.0/120").await.unwrap();
        for too_wide in ["::ffff:0:0/96", "::ffff:10.0.0.0/104"] {
            assert!(block(too_wide).await.is_err(), "{label}: {too_wide}");
        }
        let index = loaded_index(&web).await;
        let now = now();
        for blocked in ["203.0.113.66", "198.51.100.5", "::ffff:198.51.100.200"] {
            index.login(ip(blocked), "taro", now);
            assert_eq!(
                index.check(ip(blocked), now),
                Verdict::Blocked,
                "{label}: {blocked}"
            );
        }
        index.login(ip("203.0.113.67"), "taro", now);
        assert!(matches!(
            index.check(ip("203.0.113.67"), now),
            Verdict::Granted { .. }
        ));
        web.peer = "203.0.113.66:40000".parse().unwrap();
        let state = web.get("/api/v1/connection").await.json();
        assert_eq!(state["state"], "blocked", "{label}: {state}");
        done(web).await;
    }
}

/// The relay-methods page lists every customer who relays by POP before SMTP: looking at it
/// is audited, as its CSV and API are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn looking_at_relay_methods_is_audited() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web.get("/staff/relay-methods?days=7").await;
        assert_eq!(page.status, 200, "{label}");
        let audit = audited(&web.db, "sato").await;
        assert!(
            audit.contains(&("view_relay_methods".into(), "*".into())),
            "{label}: {audit:?}"
        );
        done(web).await;
    }
}

/// CR, ESC, NUL and U+202E in names from logs appear escaped on the staff pages, never as
/// themselves (U+202E would display one address as another).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_logs_are_shown_escaped_to_staff() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "sato", "agent").await;
        let now = now();
        store_events(
            &web,
            vec![
                login_event(now - 60, "evil\u{202E}pj.elpmaxe@oraT", "203.0.113.9"),
                Event::LoginFailed {
                    at: now - 30,
                    service: Service::Imap,
                    user: Some("x\u{1b}[2J\r\0y".into()),
                    ip: ip("203.0.113.9"),
                    reason: FailReason::AuthFailed,
                },
            ],
        )
        .await;
        sign_in(&mut web, "sato").await;
        for path in [
            "/staff/ips/203.0.113.9?lang=en",
            "/staff/search?q=203.0.113.0%2F24&lang=en",
        ] {
            let page = web.get(path).await;
            assert_eq!(page.status, 200, "{label}: {path}: {}", page.body);
            for raw in ['\u{202E}', '\u{1b}', '\r', '\0'] {
                assert!(
                    !page.body.contains(raw),
                    "{label}: {path} shows {raw:?} raw"
                );
            }
            assert!(page.body.contains("[U+202E]"), "{label}: {path}");
        }
        // The address page lists the failed attempt, with the name it tried.
        let page = web.get("/staff/ips/203.0.113.9?lang=en").await;
        // (PostgreSQL text holds no NUL: the store drops it there.)
        assert!(page.body.contains("x[U+001B][2J[U+000D]"), "{label}");
        done(web).await;
    }
}

/// `/why/CODE` is counted per client: a guesser is told to wait after a few dozen codes, and a
/// code whose time cannot be a kept decision is answered without the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_refusal_codes_is_throttled_per_client() {
    let t = crate::helpers::sqlite().await;
    let mut web = Web::new(t, Config::default());
    let now = now();
    let mut statuses = Vec::new();
    for i in 0..40 {
        let code = format!("{:08x}{:016x}", now - 60, i);
        statuses.push(web.get(&format!("/why/{code}")).await.status.as_u16());
    }
    assert!(
        statuses[..relaydesk::web::WHY_PER_MINUTE as usize]
            .iter()
            .all(|s| *s == 404)
    );
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // Another client is not slowed by the first one's guessing.
    web.peer = "198.51.100.3:1000".parse().unwrap();
    let future = format!("{:08x}{:016x}", now + 86400, 1);
    assert_eq!(web.get(&format!("/why/{future}")).await.status, 404);
    done(web).await;
}
