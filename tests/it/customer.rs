//! The customer site as a visitor meets it.

use relaydesk::config::Config;
use relaydesk::domain::{Event, FailReason, Service};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;

use crate::api_helpers::{backends, blocking, done};
use crate::web_helpers::Web;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn store(web: &Web, events: Vec<Event>) {
    let writer = Writer::new(web.db.clone(), 1800);
    let batch = Batch {
        events,
        ..Batch::default()
    };
    blocking(async move || writer.commit("test", "{}", &batch, None).await.unwrap()).await;
}

fn login(at: i64, ip: &str) -> Event {
    Event::Login {
        at,
        service: Service::Pop3,
        user: "taro".into(),
        ip: ip.parse().unwrap(),
    }
}

fn state_of(body: &str) -> &str {
    let at = body.find("data-state=\"").expect("a data-state element") + 12;
    &body[at..at + body[at..].find('"').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_sees_its_own_state() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let now = now();
        store(
            &web,
            vec![
                login(now - 60, "203.0.113.10"),
                login(now - 7200, "203.0.113.11"),
                Event::LoginFailed {
                    at: now - 30,
                    service: Service::Imap,
                    user: Some("jiro".into()),
                    ip: "203.0.113.12".parse().unwrap(),
                    reason: FailReason::AuthFailed,
                },
                Event::RelayRejected {
                    at: now - 100,
                    ip: "203.0.113.13".parse().unwrap(),
                    sender: "hanako@example.jp".into(),
                    rcpt: "friend@example.net".into(),
                    reply: "554 5.7.1 Relay access denied".into(),
                },
            ],
        )
        .await;
        for (ip, expected) in [
            ("203.0.113.10", "authorized"),
            ("203.0.113.11", "expired"),
            ("203.0.113.12", "auth_failed"),
            ("203.0.113.13", "never_checked"),
            ("198.51.100.99", "no_attempt"),
        ] {
            web.set_peer(ip);
            let page = web.get("/").await;
            assert_eq!(page.status, 200, "{label} {ip}");
            assert_eq!(state_of(&page.body), expected, "{label} {ip}");
            let json = web.get("/api/v1/connection").await.json();
            assert_eq!(json["state"], expected, "{label} {ip}");
            assert_eq!(json["ip"], ip);
        }
        web.set_peer("203.0.113.13");
        let page = web.get_with("/", &[("accept-language", "en")]).await;
        assert!(
            page.body.contains("f***@example.net"),
            "the refused send is listed, masked"
        );
        assert!(
            !page.body.contains("friend@example.net"),
            "recipients are never shown whole"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_counts_only_from_trusted_proxies() {
    let mut web = Web::new(crate::helpers::sqlite().await, Config::default());
    web.set_peer("198.51.100.50");
    let json = web
        .get_with("/api/v1/connection", &[("x-forwarded-for", "203.0.113.10")])
        .await
        .json();
    assert_eq!(
        json["ip"], "198.51.100.50",
        "an untrusted peer cannot claim another address"
    );
    web.set_peer("127.0.0.1");
    let json = web
        .get_with("/api/v1/connection", &[("x-forwarded-for", "203.0.113.10")])
        .await
        .json();
    assert_eq!(json["ip"], "203.0.113.10");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_visitors_language_and_can_switch() {
    let mut web = Web::new(crate::helpers::sqlite().await, Config::default());
    let ja = web.get("/").await;
    assert!(ja.body.contains("<html lang=\"ja\">"));
    let en = web
        .get_with("/", &[("accept-language", "en-US,en;q=0.9")])
        .await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Can I send mail now?"));
    let switched = web
        .get_with("/?lang=ja", &[("accept-language", "en")])
        .await;
    assert!(switched.body.contains("<html lang=\"ja\">"));
    for body in [&ja.body, &en.body] {
        assert!(!body.contains(relaydesk::web::i18n::MISSING));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_pages_with_security_headers_and_never_500() {
    let mut web = Web::new(crate::helpers::sqlite().await, Config::default());
    for (path, status) in [
        ("/no/such/page", 404),
        ("/api/v1/nothing", 404),
        ("/static/style.css", 200),
        ("/", 200),
    ] {
        let reply = web.get_with(path, &[("accept-language", "en")]).await;
        assert_eq!(reply.status, status, "{path}");
        for h in [
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
            "x-frame-options",
        ] {
            assert!(reply.headers.contains_key(h), "{path} lacks {h}");
        }
        assert!(
            reply.headers["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }
    let page = web
        .get_with("/no/such/page", &[("accept-language", "en")])
        .await;
    assert!(
        page.body.contains("This page does not exist."),
        "{}",
        page.body
    );
    let api = web.get("/api/v1/nothing").await;
    assert_eq!(api.json()["error"], "not found");
    let wrong_method = web.post_form("/", &[("x", "1")]).await;
    assert_eq!(wrong_method.status, 405);
}

/// With SMTP AUTH offered, `/` shows a connection whose sends rely on POP before SMTP the way
/// off it; without it, or for a connection that never tried, nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_page_shows_the_way_off_pop_before_smtp() {
    for port in [587, 0] {
        let mut config = Config::default();
        config.service.submission_port = port;
        let mut web = Web::new(blocking(crate::helpers::sqlite).await, config);
        let now = now();
        store(&web, vec![login(now - 60, "203.0.113.10")]).await;
        web.set_peer("203.0.113.10");
        let page = web
            .get_with(
                "/",
                &[(
                    "user-agent",
                    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
                )],
            )
            .await;
        assert_eq!(
            page.body.contains(r#"data-nudge="smtp-auth""#),
            port > 0,
            "port {port}"
        );
        if port > 0 {
            assert!(
                page.body.contains(r#"href="/guide/iphone#automatic""#),
                "{}",
                page.body
            );
        }
        web.set_peer("198.51.100.99");
        let page = web.get("/").await;
        assert!(
            !page.body.contains("data-nudge"),
            "no attempt: port 25 may be blocked instead"
        );
        done(web).await;
    }
}
