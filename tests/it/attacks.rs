//! The attacks of a security review, repeated: each must fail now.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relaydesk::config::{Config, CustomerAuthMethod, Seconds};
use relaydesk::web;
use serde_json::json;
use tower::ServiceExt;

use crate::api_helpers::{call, staff_token};
use crate::helpers::{run, sqlite};
use crate::staff::{PASSWORD, add_staff, csrf_of, sign_in};
use crate::web_helpers::{Web, dbs, done};

/// Sends `requests` all at once through the site, each from `peer`; their statuses.
async fn all_at_once(
    app: &Arc<web::App>,
    requests: Vec<(SocketAddr, Request<Body>)>,
) -> Vec<StatusCode> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(peer, mut request)| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let site = web::router(app.clone());
            tokio::spawn(async move { site.oneshot(request).await.unwrap() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let response = task.await.unwrap();
        statuses.push(response.status());
        let _ = response.into_body().collect().await;
    }
    statuses
}

/// How many of the answers evaluated the password (were not throttled).
fn evaluated(statuses: &[StatusCode]) -> usize {
    statuses
        .iter()
        .filter(|s| **s != StatusCode::TOO_MANY_REQUESTS)
        .count()
}

fn form_post(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap()
}

/// The anonymous CSRF cookie and token of a sign-in form.
async fn form_token(web: &mut Web, path: &str) -> (String, String) {
    let form = web.get(path).await;
    let cookie = format!("rd_csrf={}", web.cookies["rd_csrf"]);
    (cookie, csrf_of(&form.body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_parallel_staff_sign_ins_evaluate_at_most_five() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "fresh", "agent").await;
        let (cookie, csrf) = form_token(&mut web, "/staff/login").await;
        let peer: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        let requests = (0..30)
            .map(|i| {
                let password = if i == 17 { PASSWORD } else { "wrong guess" };
                let body = format!(
                    "csrf={csrf}&name=fresh&password={}&code=",
                    crate::web_helpers::urlencode(password)
                );
                (peer, form_post("/staff/login", &cookie, body))
            })
            .collect();
        let statuses = all_at_once(&web.app, requests).await;
        let evaluated = evaluated(&statuses);
        assert!(
            evaluated <= 5,
            "{label}: {evaluated} of 30 parallel sign-ins were evaluated: {statuses:?}"
        );
        assert!(
            statuses
                .iter()
                .all(|s| [200, 303, 429].contains(&s.as_u16())),
            "{label}: {statuses:?}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_parallel_customer_sign_ins_evaluate_at_most_five() {
    let mail = crate::fake_mail::pop3(&[("taro", "secret")]).await;
    for t in dbs().await {
        let label = t.label;
        let mut config = Config::default();
        config.customer_auth.method = CustomerAuthMethod::Pop3;
        config.customer_auth.server = mail.addr.to_string();
        config.customer_auth.timeout = Seconds(5);
        let mut web = Web::new(t, config);
        let (cookie, csrf) = form_token(&mut web, "/login").await;
        let peer: SocketAddr = "203.0.113.8:5000".parse().unwrap();
        let requests = (0..30)
            .map(|i| {
                let password = if i == 11 { "secret" } else { "guess" };
                let body = format!("csrf={csrf}&login=taro&password={password}");
                (peer, form_post("/login", &cookie, body))
            })
            .collect();
        let statuses = all_at_once(&web.app, requests).await;
        let evaluated = evaluated(&statuses);
        assert!(
            evaluated <= 5,
            "{label}: {evaluated} of 30 parallel sign-ins were evaluated: {statuses:?}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ipv6_slash_64_is_throttled_as_one_address() {
    let mail = crate::fake_mail::pop3(&[("taro", "secret")]).await;
    let mut config = Config::default();
    config.customer_auth.method = CustomerAuthMethod::Pop3;
    config.customer_auth.server = mail.addr.to_string();
    let mut web = Web::new(sqlite().await, config);
    let mut refused = 0;
    for n in 0..25 {
        web.set_peer(&format!("2001:db8:7:7::{:x}", n + 1));
        let (cookie, csrf) = form_token(&mut web, "/login").await;
        let body = format!("csrf={csrf}&login=user{n}&password=guess");
        let statuses = all_at_once(
            &web.app,
            vec![(web.peer, form_post("/login", &cookie, body))],
        )
        .await;
        if statuses[0] == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
        }
    }
    assert_eq!(
        refused, 5,
        "20 tries from one /64 are evaluated, the rest wait"
    );
    // Another /64 is someone else.
    web.set_peer("2001:db8:7:8::1");
    let (cookie, csrf) = form_token(&mut web, "/login").await;
    let statuses = all_at_once(
        &web.app,
        vec![(
            web.peer,
            form_post(
                "/login",
                &cookie,
                format!("csrf={csrf}&login=taro&password=secret"),
            ),
        )],
    )
    .await;
    assert_eq!(statuses[0], StatusCode::SEE_OTHER);
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_wider_than_a_slash_16_or_48_are_refused_everywhere() {
    for t in dbs().await {
        let label = t.label;
        let url = t.url.clone();
        let mut web = Web::new(t, Config::default());
        let agent = staff_token(&web.db, "agent.sato", "agent").await;
        for wide in ["0.0.0.0/0", "::/0", "10.0.0.0/8", "2001:db8::/32"] {
            let r = call(
                &mut web,
                "POST",
                "/api/v1/blocks",
                Some(&agent),
                Some(&json!({"ip": wide, "reason": "spam"})),
            )
            .await;
            assert_eq!(r.status, 400, "{label} API {wide}: {}", r.body);
            assert!(
                r.body.contains("ip:"),
                "{label}: the field is named: {}",
                r.body
            );
        }
        let ok = call(
            &mut web,
            "POST",
            "/api/v1/blocks",
            Some(&agent),
            Some(&json!({"ip": "10.1.0.0/16", "reason": "spam run"})),
        )
        .await;
        assert_eq!(ok.status, 200, "{label}: {}", ok.body);

        add_staff(&web, "sato", "agent").await;
        let csrf = sign_in(&mut web, "sato").await;
        let page = web
            .post_form(
                "/staff/ips/203.0.113.10/block",
                &[("csrf", &csrf), ("network", "0.0.0.0/0"), ("reason", "x")],
            )
            .await;
        assert_eq!(page.status, 400, "{label}: {}", page.body);
        assert!(page.body.contains("network"), "{label}");

        let dir = tempfile::tempdir().unwrap();
        let out = run(
            dir.path(),
            &["--db", &url, "block", "::/0", "--reason", "x"],
            b"",
        );
        assert!(!out.status.success(), "{label}: the CLI refuses ::/0");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("network: /48 or narrower")
                || String::from_utf8_lossy(&out.stderr).contains("/16 or narrower"),
            "{label}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let blocks = relaydesk::store::restrictions::in_force(
            &mut web.db.conn().await.unwrap(),
            relaydesk::store::restrictions::Kind::Block,
            chrono::Utc::now().timestamp(),
        )
        .await
        .unwrap();
        let subjects: Vec<&str> = blocks.iter().map(|b| b.subject.as_str()).collect();
        assert_eq!(subjects, ["10.1.0.0/16"], "{label}");
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_next_with_cr_lf_signs_in_to_the_console_and_never_fails() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "sato", "agent").await;
        let form = web.get("/staff/login?next=%2Fstaff%0D%0AX:%20y").await;
        assert_eq!(form.status, 200);
        assert!(!form.body.contains("X: y"), "{label}");
        let csrf = csrf_of(&form.body);
        let reply = web
            .post_form(
                "/staff/login",
                &[
                    ("csrf", &csrf),
                    ("name", "sato"),
                    ("password", PASSWORD),
                    ("code", ""),
                    ("next", "/staff\r\nX: y"),
                ],
            )
            .await;
        assert_eq!(reply.status, 303, "{label}: {}", reply.body);
        assert_eq!(reply.headers[header::LOCATION], "/staff", "{label}");
        assert!(!reply.headers.contains_key("x"), "{label}");
        assert_eq!(web.get("/staff").await.status, 200, "{label}");
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csrf_cookie_is_secure_behind_tls() {
    let mut web = Web::new(sqlite().await, Config::default());
    web.set_peer("127.0.0.1");
    for path in ["/staff/login", "/login"] {
        web.cookies.clear();
        let tls = web.get_with(path, &[("x-forwarded-proto", "https")]).await;
        let cookie = tls.headers[header::SET_COOKIE].to_str().unwrap();
        assert!(cookie.starts_with("rd_csrf="), "{path}: {cookie}");
        assert!(cookie.contains("; Secure"), "{path}: {cookie}");
    }
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_request_head_is_closed_within_the_header_timeout() {
    let t = sqlite().await;
    let mut config = Config::default();
    config.web.header_timeout = Seconds(2);
    let app = web::App::new(Arc::new(config), t.db.clone(), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(web::serve(listener, app, async {
        let _ = stopped.await;
    }));
    let closed = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(400)))
            .unwrap();
        let started = Instant::now();
        stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        // One header line every 400 ms, never the end of the head.
        let mut buf = [0u8; 512];
        while started.elapsed() < Duration::from_secs(10) {
            match stream.read(&mut buf) {
                Ok(_) => return Some(started.elapsed()),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return Some(started.elapsed()),
            }
            if stream.write_all(b"X-Slow: yes\r\n").is_err() {
                return Some(started.elapsed());
            }
        }
        None
    })
    .await
    .unwrap();
    let closed = closed.expect("the stalled connection was never closed");
    assert!(
        closed < Duration::from_secs(5),
        "closed after {closed:?}, the timeout is 2 s"
    );
    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    t.db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_are_listed_and_revoked_and_sign_out_everywhere_ends_them() {
    for t in dbs().await {
        let label = t.label;
        let url = t.url.clone();
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "sato", "agent").await;
        let dir = tempfile::tempdir().unwrap();
        let cli = |args: &[&str]| {
            let mut all = vec!["--db", url.as_str()];
            all.extend_from_slice(args);
            let out = run(dir.path(), &all, b"");
            assert!(out.status.success(), "{label} {args:?}: {out:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        let works = async |web: &mut Web, token: &str| {
            crate::api_helpers::get(web, "/api/v1/alerts", token)
                .await
                .status
        };
        // Expiry.
        let expired = relaydesk::staff::create_token_until(
            &web.db,
            "sato",
            Some(chrono::Utc::now().timestamp() - 1),
        )
        .await
        .unwrap();
        assert_eq!(
            works(&mut web, &expired).await,
            401,
            "{label}: an expired token"
        );
        let token = cli(&["token", "create", "sato", "--expires", "90d"]);
        let token = token.trim();
        assert_eq!(works(&mut web, token).await, 200, "{label}");
        // Listing shows each token's state, never the token.
        let list = cli(&["token", "list", "sato"]);
        assert!(!list.contains(token), "{label}");
        let active: Vec<&str> = list.lines().filter(|l| l.ends_with("\tactive")).collect();
        assert_eq!(active.len(), 1, "{label}: {list}");
        assert!(
            list.lines().any(|l| l.ends_with("\texpired")),
            "{label}: {list}"
        );
        // Revoking.
        let id = active[0].split('\t').next().unwrap();
        cli(&["token", "revoke", id]);
        assert_eq!(
            works(&mut web, token).await,
            401,
            "{label}: a revoked token"
        );
        // Signing out everywhere ends the account's tokens too.
        let kept = cli(&["token", "create", "sato"]);
        let kept = kept.trim();
        assert_eq!(works(&mut web, kept).await, 200, "{label}");
        let csrf = sign_in(&mut web, "sato").await;
        let page = web.get("/staff/totp?lang=en").await;
        assert!(
            page.body.contains("revokes all of its API tokens"),
            "{label}"
        );
        let out = web
            .post_form("/staff/logout/everywhere", &[("csrf", &csrf)])
            .await;
        assert_eq!(out.status, 303, "{label}");
        assert_eq!(
            works(&mut web, kept).await,
            401,
            "{label}: signed out everywhere"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notices_feed_says_it_varies_by_language() {
    let mut web = Web::new(sqlite().await, Config::default());
    let feed = web.get("/notices.atom").await;
    assert_eq!(feed.status, 200);
    let vary: Vec<String> = feed
        .headers
        .get_all(header::VARY)
        .iter()
        .map(|v| v.to_str().unwrap().to_ascii_lowercase())
        .collect();
    let vary = vary.join(", ");
    assert!(
        vary.contains("accept-language") && vary.contains("cookie"),
        "{vary}"
    );
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_surfaces_sign_ins_never_forget_the_others_failures() {
    for t in dbs().await {
        let label = t.label;
        let mut config = Config::default();
        config.staff.signin_window = Seconds(3600);
        config.customer_auth.method = CustomerAuthMethod::PasswdFile;
        let mut web = Web::new(t, config);
        add_staff(&web, "boss", "admin").await;
        // Five staff failures 20 minutes ago: inside the staff window (an hour), outside the
        // customers' (15 minutes).
        let at = chrono::Utc::now().timestamp() - 1200;
        for _ in 0..5 {
            crate::web_helpers::with_db(&web, async |c: &mut relaydesk::store::Conn| {
                c.execute(
                    "insert into signin_failures (kind, account, ip, at) values ('staff', 'boss', '203.0.113.7', $1)",
                    &[at.into()],
                )
                .await
            })
            .await;
        }
        // A customer's sign-in attempt runs its own clean-up…
        let (cookie, csrf) = form_token(&mut web, "/login").await;
        let body = format!("csrf={csrf}&login=someone&password=guess");
        all_at_once(
            &web.app,
            vec![(web.peer, form_post("/login", &cookie, body))],
        )
        .await;
        // …and the staff account is still throttled.
        let reply = crate::staff::try_sign_in(&mut web, "boss", PASSWORD, "").await;
        assert_eq!(reply.status, 429, "{label}: {}", reply.body);
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_cut_off_by_the_request_timeout_does_not_count() {
    // A mail server that accepts the connection and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut config = Config::default();
    config.web.request_timeout = Seconds(1);
    config.customer_auth.method = CustomerAuthMethod::Pop3;
    config.customer_auth.server = addr.to_string();
    config.customer_auth.timeout = Seconds(30);
    let mut web = Web::new(sqlite().await, config);
    let (cookie, csrf) = form_token(&mut web, "/login").await;
    let body = format!("csrf={csrf}&login=taro&password=secret");
    let statuses = all_at_once(
        &web.app,
        vec![(web.peer, form_post("/login", &cookie, body))],
    )
    .await;
    assert_eq!(statuses, [StatusCode::SERVICE_UNAVAILABLE]);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = crate::web_helpers::with_db(&web, async |c: &mut relaydesk::store::Conn| {
            Ok(c.scalar("select count(*) from signin_failures", &[])
                .await?
                .unwrap_or(0))
        })
        .await;
        if left == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cut-off attempt still counts"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    holder.abort();
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_an_authenticator_is_throttled_like_a_sign_in() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "boss", "admin").await;
    let csrf = sign_in(&mut web, "boss").await;
    // Set up a first authenticator.
    let page = web.get("/staff/totp").await;
    let at = page.body.find("data-secret>").unwrap() + 12;
    let secret = page.body[at..at + 32].to_string();
    let code = crate::staff::totp_now(&secret);
    let ok = web
        .post_form(
            "/staff/totp",
            &[("csrf", &csrf), ("secret", &secret), ("code", &code)],
        )
        .await;
    assert_eq!(ok.status, 303);
    // Guessing the password to replace it: five wrong guesses, then 429.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let page = web.get("/staff/totp").await;
        let at = page.body.find("data-secret>").unwrap() + 12;
        let fresh = page.body[at..at + 32].to_string();
        let code = crate::staff::totp_now(&fresh);
        let r = web
            .post_form(
                "/staff/totp",
                &[
                    ("csrf", &csrf),
                    ("secret", &fresh),
                    ("code", &code),
                    ("current", "guess"),
                ],
            )
            .await;
        statuses.push(r.status.as_u16());
    }
    assert_eq!(
        statuses,
        [303, 303, 303, 303, 303, 429, 429],
        "{statuses:?}"
    );
    done(web).await;
}

/// Compressed pages must not carry the same secret bytes twice (BREACH): the CSRF token is
/// masked afresh on every page, and every masking of it is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_csrf_token_reads_differently_on_every_page() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    sign_in(&mut web, "sato").await;
    let first = csrf_of(&web.get("/staff").await.body);
    let second = csrf_of(&web.get("/staff").await.body);
    assert_ne!(first, second);
    for token in [first, second] {
        let r = web
            .post_form(
                "/staff/ips/203.0.113.10/grant",
                &[
                    ("csrf", &token),
                    ("minutes", "10"),
                    ("reason", "on the phone"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    }
    done(web).await;
}
