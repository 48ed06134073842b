//! Customer sign-in (`/login`, `/logout`) and `/me`, through the router, with the mail ID and
//! password checked by fake POP3/IMAP servers — and by the real Dovecot when CI runs it.

use std::io::Write;

use relaydesk::config::{Config, CustomerAuthConfig, CustomerAuthMethod, CustomerAuthTls, Seconds};
use relaydesk::domain::{Event, FailReason, Service};
use relaydesk::web::customer::verify::{Verdict, verify};

use crate::fake_mail::{self, FakeMail};
use crate::helpers::{TestDb, sqlite};
use crate::staff::csrf_of;
use crate::web_helpers::{Reply, Web, dbs, done, store_events, with_db};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn auth(method: CustomerAuthMethod, server: &str) -> CustomerAuthConfig {
    CustomerAuthConfig {
        method,
        server: server.to_string(),
        timeout: Seconds(5),
        ..CustomerAuthConfig::default()
    }
}

fn web_with(t: TestDb, mail: &FakeMail) -> Web {
    let config = Config {
        customer_auth: auth(CustomerAuthMethod::Pop3, &mail.addr.to_string()),
        ..Config::default()
    };
    Web::new(t, config)
}

async fn sign_in(web: &mut Web, login: &str, password: &str) -> Reply {
    let form = web.get("/login").await;
    let csrf = csrf_of(&form.body);
    web.post_form(
        "/login",
        &[("login", login), ("password", password), ("csrf", &csrf)],
    )
    .await
}

fn session_cookie(reply: &Reply) -> Option<String> {
    reply
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("rd_session=") && !c.contains("Max-Age=0"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_and_imap_logins_decide_the_verdict() {
    let users = [
        ("taro", "secret"),
        ("hanako", "pa\"ss\\word"),
        ("jiro", "パスワード"),
    ];
    let pop = fake_mail::pop3(&users).await;
    let imap = fake_mail::imap(&users).await;
    let p = auth(CustomerAuthMethod::Pop3, &pop.addr.to_string());
    let i = auth(CustomerAuthMethod::Imap, &imap.addr.to_string());
    for config in [&p, &i] {
        for (user, pass) in users {
            assert_eq!(
                verify(config, user, pass).await,
                Verdict::Accepted,
                "{user}"
            );
        }
        assert_eq!(verify(config, "taro", "wrong").await, Verdict::Rejected);
        assert_eq!(verify(config, "nobody", "secret").await, Verdict::Rejected);
        assert_eq!(
            verify(config, "taro\r\nQUIT", "secret").await,
            Verdict::Rejected,
            "never sent"
        );
    }
    assert_eq!(pop.attempts(), 5);
    // Nothing listening, and a server that never greets: unavailable, within the timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap().to_string();
    drop(closed);
    assert!(matches!(
        verify(&auth(CustomerAuthMethod::Pop3, &dead), "taro", "secret").await,
        Verdict::Unavailable(_)
    ));
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut slow = auth(
        CustomerAuthMethod::Imap,
        &silent.local_addr().unwrap().to_string(),
    );
    slow.timeout = Seconds(1);
    let started = std::time::Instant::now();
    assert!(matches!(
        verify(&slow, "taro", "secret").await,
        Verdict::Unavailable(_)
    ));
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwd_files_are_checked_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    let mut f = std::fs::File::create(&path).unwrap();
    writeln!(f, "taro:{{PLAIN}}secret:8:8::/var/mail/taro").unwrap();
    writeln!(
        f,
        "hanako:{{SHA512-CRYPT}}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1::"
    )
    .unwrap();
    let config = CustomerAuthConfig {
        method: CustomerAuthMethod::PasswdFile,
        passwd_file: path,
        ..CustomerAuthConfig::default()
    };
    assert_eq!(verify(&config, "taro", "secret").await, Verdict::Accepted);
    assert_eq!(
        verify(&config, "hanako", "Hello world!").await,
        Verdict::Accepted
    );
    assert_eq!(verify(&config, "hanako", "secret").await, Verdict::Rejected);
    assert_eq!(verify(&config, "jiro", "secret").await, Verdict::Rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_dovecot_accepts_taro_in_plain_text_and_over_tls() {
    if !crate::helpers::real_mail() {
        return;
    }
    let ca = std::path::PathBuf::from("/etc/relaydesk-it/tls/ca.pem");
    for (method, server, tls) in [
        (
            CustomerAuthMethod::Pop3,
            "127.0.0.1:110",
            CustomerAuthTls::None,
        ),
        (
            CustomerAuthMethod::Imap,
            "127.0.0.1:143",
            CustomerAuthTls::None,
        ),
        (
            CustomerAuthMethod::Pop3,
            "localhost:995",
            CustomerAuthTls::Implicit,
        ),
        (
            CustomerAuthMethod::Pop3,
            "localhost:110",
            CustomerAuthTls::Starttls,
        ),
        (
            CustomerAuthMethod::Imap,
            "localhost:143",
            CustomerAuthTls::Starttls,
        ),
        (
            CustomerAuthMethod::Imap,
            "127.0.0.1:993",
            CustomerAuthTls::Implicit,
        ),
    ] {
        let config = CustomerAuthConfig {
            tls,
            ca_file: Some(ca.clone()),
            ..auth(method, server)
        };
        assert_eq!(
            verify(&config, "taro", "secret").await,
            Verdict::Accepted,
            "{server} {tls:?}"
        );
        assert_eq!(
            verify(&config, "taro", "wrong").await,
            Verdict::Rejected,
            "{server} {tls:?}"
        );
    }
    // A certificate from an authority not trusted here: no sign-in, and
    // the reason names the certificate; nothing is tried in plain text.
    for (server, tls, ca) in [
        (
            "localhost:995",
            CustomerAuthTls::Implicit,
            "/etc/relaydesk-it/tls/other-ca.pem",
        ),
        (
            "localhost:143",
            CustomerAuthTls::Starttls,
            "/etc/relaydesk-it/tls/other-ca.pem",
        ),
    ] {
        let config = CustomerAuthConfig {
            tls,
            ca_file: Some(ca.into()),
            ..auth(CustomerAuthMethod::Pop3, server)
        };
        let config = if server.ends_with(":143") {
            CustomerAuthConfig {
                method: CustomerAuthMethod::Imap,
                ..config
            }
        } else {
            config
        };
        match verify(&config, "taro", "secret").await {
            Verdict::Unavailable(why) => assert!(
                why.contains("certificate"),
                "{server}: the reason names the certificate: {why}"
            ),
            other => panic!("{server} with {ca}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_disabled_by_default_with_a_clear_page() {
    let mut web = Web::new(sqlite().await, Config::default());
    let page = web.get_with("/login", &[("accept-language", "en")]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("data-signin=\"disabled\""),
        "{}",
        page.body
    );
    assert!(page.body.contains("Signing in is not available"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_form_needs_its_csrf_cookie_and_field() {
    let mail = fake_mail::pop3(&[("taro", "secret")]).await;
    let mut web = web_with(sqlite().await, &mail);
    let form = [("login", "taro"), ("password", "secret")];
    assert_eq!(
        web.post_form("/login", &form).await.status,
        403,
        "no cookie, no field"
    );
    let page = web.get("/login").await;
    assert!(web.cookies.contains_key("rd_csrf"));
    assert_eq!(
        web.post_form("/login", &form).await.status,
        403,
        "cookie, no field"
    );
    let forged = [
        ("login", "taro"),
        ("password", "secret"),
        ("csrf", &"0".repeat(64)),
    ];
    assert_eq!(
        web.post_form("/login", &forged).await.status,
        403,
        "wrong field"
    );
    assert_eq!(mail.attempts(), 0, "nothing reached the mail server");
    let csrf = csrf_of(&page.body);
    let ok = web
        .post_form(
            "/login",
            &[("login", "taro"), ("password", "secret"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(ok.status, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_pause_the_account_and_a_right_one_does_not_lift_it() {
    let mail = fake_mail::pop3(&[("taro", "secret")]).await;
    for t in dbs().await {
        let label = t.label;
        let mut web = web_with(t, &mail);
        let before = mail.attempts();
        for n in 0..5 {
            let reply = sign_in(&mut web, "taro", "wrong").await;
            assert_eq!(reply.status, 200, "{label} try {n}");
            assert!(reply.body.contains("data-error"), "{label}: {}", reply.body);
        }
        let en = [("accept-language", "en")];
        let form = web.get("/login").await;
        let csrf = csrf_of(&form.body);
        let right = [
            ("login", "taro"),
            ("password", "secret"),
            ("csrf", csrf.as_str()),
        ];
        let body: Vec<String> = right
            .iter()
            .map(|(k, v)| format!("{k}={}", crate::web_helpers::urlencode(v)))
            .collect();
        let request = axum::http::Request::post("/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .header(en[0].0, en[0].1)
            .body(axum::body::Body::from(body.join("&")))
            .unwrap();
        let throttled = web.send(request).await;
        assert_eq!(throttled.status, 429, "{label}");
        let wait: u64 = throttled.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait > 0 && wait <= 15 * 60, "{label}: {wait}");
        assert!(
            throttled.body.contains("Too many attempts"),
            "in the visitor's language"
        );
        assert_eq!(
            mail.attempts() - before,
            5,
            "{label}: the paused try never reached the server"
        );
        // Another account from another address is not affected.
        web.set_peer("198.51.100.1");
        assert_eq!(sign_in(&mut web, "hanako", "x").await.status, 200);
        // The window passes (failures age out): the customer may sign in again.
        with_db(&web, async |c: &mut relaydesk::store::Conn| {
            c.execute("update signin_failures set at = at - 900", &[])
                .await
        })
        .await;
        web.set_peer("203.0.113.7");
        assert_eq!(
            sign_in(&mut web, "taro", "secret").await.status,
            303,
            "{label}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sign_in_makes_a_new_httponly_session() {
    let mail = fake_mail::pop3(&[("taro", "secret")]).await;
    let mut web = web_with(sqlite().await, &mail);
    assert_eq!(web.get("/me").await.headers["location"], "/login");
    let first = sign_in(&mut web, "taro", "secret").await;
    assert_eq!(first.status, 303);
    assert_eq!(first.headers["location"], "/me");
    let cookie = session_cookie(&first).expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let first_id = web.cookies["rd_session"].clone();
    assert_eq!(web.get("/me").await.status, 200);
    // Signing in again (a GET of /login redirects while signed in, so post directly).
    let csrf = web.cookies["rd_csrf"].clone();
    let second = web
        .post_form(
            "/login",
            &[("login", "taro"), ("password", "secret"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(second.status, 303);
    let second_id = web.cookies["rd_session"].clone();
    assert_ne!(first_id, second_id, "rotated at sign-in");
    web.cookies.insert("rd_session".into(), first_id);
    assert_eq!(web.get("/me").await.status, 303, "the old session ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_shows_only_the_signed_in_customers_records() {
    let mail = fake_mail::pop3(&[("taro", "secret"), ("hanako", "secret")]).await;
    for t in dbs().await {
        let label = t.label;
        let mut web = web_with(t, &mail);
        let now = now();
        let login = |at, user: &str, ip: &str| Event::Login {
            at,
            service: Service::Pop3,
            user: user.into(),
            ip: ip.parse().unwrap(),
        };
        let refused = |at, sender: &str, ip: &str, rcpt: &str| Event::RelayRejected {
            at,
            ip: ip.parse().unwrap(),
            sender: sender.into(),
            rcpt: rcpt.into(),
            reply: "554 5.7.1 Relay access denied".into(),
        };
        store_events(
            &web,
            vec![
                login(now - 7200, "taro", "203.0.113.21"),
                login(now - 60, "taro", "203.0.113.22"),
                Event::LoginFailed {
                    at: now - 50,
                    service: Service::Imap,
                    user: Some("taro".into()),
                    ip: "203.0.113.23".parse().unwrap(),
                    reason: FailReason::AuthFailed,
                },
                refused(
                    now - 3000,
                    "taro@example.jp",
                    "203.0.113.21",
                    "friend@example.net",
                ),
                login(now - 30, "hanako", "198.51.100.31"),
                login(now - 40, "hanako", "203.0.113.22"),
                refused(
                    now - 20,
                    "hanako@example.jp",
                    "198.51.100.32",
                    "secretpal@example.org",
                ),
            ],
        )
        .await;
        assert_eq!(
            sign_in(&mut web, "taro", "secret").await.status,
            303,
            "{label}"
        );
        let me = web.get_with("/me", &[("accept-language", "en")]).await;
        assert_eq!(me.status, 200, "{label}");
        let body = &me.body;
        for seen in [
            "203.0.113.21",
            "203.0.113.22",
            "203.0.113.23",
            "f***@example.net",
        ] {
            assert!(body.contains(seen), "{label}: {seen} missing");
        }
        assert!(
            body.contains("You can send from 203.0.113.22 until"),
            "{label}"
        );
        assert!(
            body.contains("data-cause=\"expired\""),
            "{label}: diagnosed"
        );
        assert!(body.contains("data-check=\"failed\""), "{label}");
        for hidden in ["198.51.100.31", "198.51.100.32", "secretpal", "hanako"] {
            assert!(
                !body.contains(hidden),
                "{label}: {hidden} is someone else's"
            );
        }
        assert!(!body.contains(relaydesk::web::i18n::MISSING), "{label}");
        let ja = web.get_with("/me", &[("accept-language", "ja")]).await;
        assert!(!ja.body.contains(relaydesk::web::i18n::MISSING), "{label}");
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_needs_the_session_token_and_can_end_every_session() {
    let mail = fake_mail::pop3(&[("taro", "secret")]).await;
    let mut web = web_with(sqlite().await, &mail);
    sign_in(&mut web, "taro", "secret").await;
    let other_device = web.cookies["rd_session"].clone();
    web.cookies.remove("rd_session");
    sign_in(&mut web, "taro", "secret").await;
    let me = web.get("/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(web.post_form("/logout", &[]).await.status, 403);
    assert_eq!(
        web.post_form("/logout", &[("csrf", &"0".repeat(64))])
            .await
            .status,
        403
    );
    assert_eq!(web.get("/me").await.status, 200, "still signed in");
    let csrf = csrf_of(&me.body);
    let out = web
        .post_form("/logout", &[("csrf", &csrf), ("everywhere", "1")])
        .await;
    assert_eq!(out.status, 303);
    assert!(!web.cookies.contains_key("rd_session"), "cookie cleared");
    assert_eq!(web.get("/me").await.status, 303);
    web.cookies.insert("rd_session".into(), other_device);
    assert_eq!(
        web.get("/me").await.status,
        303,
        "the other device is signed out too"
    );
}

/// `<script>` as HTML text, in either of the usual escapings.
fn escaped(body: &str) -> bool {
    body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        || body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_names_from_logs_and_forms_are_escaped() {
    let evil = "<script>alert(1)</script>";
    let mail = fake_mail::pop3(&[(evil, "secret")]).await;
    let mut web = web_with(sqlite().await, &mail);
    let now = now();
    store_events(
        &web,
        vec![Event::Login {
            at: now - 60,
            service: Service::Pop3,
            user: evil.into(),
            ip: "203.0.113.40".parse().unwrap(),
        }],
    )
    .await;
    let wrong = sign_in(&mut web, evil, "wrong").await;
    assert!(
        !wrong.body.contains(evil),
        "the form repeats the ID escaped"
    );
    assert!(escaped(&wrong.body));
    assert_eq!(sign_in(&mut web, evil, "secret").await.status, 303);
    let me = web.get("/me").await;
    assert_eq!(me.status, 200);
    assert!(!me.body.contains(evil), "{}", me.body);
    assert!(escaped(&me.body));
    assert!(
        me.body.contains("203.0.113.40"),
        "its own records are found"
    );
}

/// When the service offers SMTP AUTH, `/me` shows a customer whose relays went by POP before
/// SMTP how to switch, with the profile for their own address; one on SMTP AUTH is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn me_nudges_a_customer_who_relies_on_pop_before_smtp() {
    use relaydesk::ingest::pipeline::Batch;
    use relaydesk::ingest::writer::Writer;

    let mail = fake_mail::pop3(&[("taro", "secret"), ("hanako", "secret")]).await;
    let mut config = Config {
        customer_auth: auth(CustomerAuthMethod::Pop3, &mail.addr.to_string()),
        ..Config::default()
    };
    config.service.submission_port = 587;
    let mut web = Web::new(sqlite().await, config);
    let now = chrono::Utc::now().timestamp();
    let home = "203.0.113.10".parse().unwrap();
    let relayed = |ip, sasl_user: Option<&str>| Event::Relayed {
        at: now - 500,
        ip,
        sender: "x@example.jp".into(),
        rcpt: "friend@example.net".into(),
        sasl_user: sasl_user.map(str::to_string),
        queued_at: now - 501,
    };
    let batch = Batch {
        events: vec![
            Event::Login {
                at: now - 600,
                service: Service::Pop3,
                user: "taro".into(),
                ip: home,
            },
            relayed(home, None),
            relayed("198.51.100.7".parse().unwrap(), Some("hanako")),
        ],
        ..Batch::default()
    };
    Writer::new(web.db.clone(), 1800)
        .commit("test", "{}", &batch, None)
        .await
        .unwrap();
    assert_eq!(sign_in(&mut web, "taro", "secret").await.status, 303);
    let me = web.get_with("/me", &[("accept-language", "en")]).await;
    assert!(me.body.contains(r#"data-nudge="smtp-auth""#), "{}", me.body);
    assert!(me.body.contains("port 587"), "{}", me.body);
    assert!(
        me.body
            .contains("/guide/mail.mobileconfig?email=taro@example.jp"),
        "{}",
        me.body
    );
    web.post_form("/logout", &[("csrf", &csrf_of(&me.body))])
        .await;
    assert_eq!(sign_in(&mut web, "hanako", "secret").await.status, 303);
    let me = web.get("/me").await;
    assert_eq!(me.status, 200);
    assert!(!me.body.contains("data-nudge"), "SMTP AUTH already");
    done(web).await;
}
