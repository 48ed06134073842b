//! The customer site's guides, notices and status pages, as a visitor meets them.

use relaydesk::config::Config;
use relaydesk::store::notices::{self, NoticeDraft, NoticeKind};
use relaydesk::web::i18n::MISSING;

use crate::helpers::{databases, sqlite};
use crate::web_helpers::Web;

const CLIENTS: &[&str] = &[
    "outlook-express",
    "windows-live-mail",
    "outlook",
    "thunderbird",
    "becky",
    "apple-mail",
    "iphone",
];

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn isp(submission_port: u16) -> Config {
    let mut config = Config::default();
    config.service.name = "Sakura Net".into();
    config.service.pop_server = "pop3.sakura.example".into();
    config.service.imap_server = "imap4.sakura.example".into();
    config.service.smtp_server = "mta.sakura.example".into();
    config.service.submission_port = submission_port;
    config.service.support_contact = "0120-000-111".into();
    config.relay.window = relaydesk::config::Seconds(17 * 60);
    config
}

fn lang(code: &str) -> [(&'static str, &str); 1] {
    [("accept-language", code)]
}

#[tokio::test]
async fn every_guide_shows_the_configured_servers_window_and_port_in_both_languages() {
    let mut web = Web::new(sqlite(), isp(2587));
    for code in ["ja", "en"] {
        let index = web.get_with("/guide", &lang(code)).await;
        assert_eq!(index.status, 200);
        for client in CLIENTS {
            assert!(
                index.body.contains(&format!("href=\"/guide/{client}\"")),
                "{code} index links {client}"
            );
        }
        for client in CLIENTS {
            let page = web.get_with(&format!("/guide/{client}"), &lang(code)).await;
            assert_eq!(page.status, 200, "{code} {client}");
            let body = &page.body;
            assert!(
                body.contains(&format!("<html lang=\"{code}\">")),
                "{code} {client}"
            );
            for server in [
                "pop3.sakura.example",
                "imap4.sakura.example",
                "mta.sakura.example",
            ] {
                assert!(body.contains(server), "{code} {client} shows {server}");
            }
            let window = if code == "ja" { "17 分" } else { "17 minutes" };
            assert!(body.contains(window), "{code} {client} shows the window");
            assert!(
                body.contains("0120-000-111"),
                "{code} {client} shows the contact"
            );
            assert!(
                body.contains("id=\"smtp-auth\""),
                "{code} {client} has the lasting fix"
            );
            assert!(
                body.contains("2587"),
                "{code} {client} shows the submission port"
            );
            assert!(!body.contains(MISSING), "{code} {client}");
            for placeholder in [
                "{port}",
                "{smtp}",
                "{window}",
                "{contact}",
                "{client}",
                "{service}",
            ] {
                assert!(
                    !body.contains(placeholder),
                    "{code} {client} left {placeholder}"
                );
            }
        }
    }
}

#[tokio::test]
async fn guides_say_nothing_of_smtp_auth_when_the_service_offers_none() {
    let mut web = Web::new(sqlite(), isp(0));
    for code in ["ja", "en"] {
        for client in CLIENTS {
            let page = web.get_with(&format!("/guide/{client}"), &lang(code)).await;
            assert_eq!(page.status, 200);
            assert!(!page.body.contains("id=\"smtp-auth\""), "{code} {client}");
            assert!(!page.body.contains("587"), "{code} {client} names no port");
            assert!(page.body.contains("mta.sakura.example"));
            assert!(!page.body.contains(MISSING));
        }
    }
}

#[tokio::test]
async fn guides_give_each_clients_own_advice() {
    let mut web = Web::new(sqlite(), isp(587));
    let oe = web
        .get_with("/guide/outlook-express", &lang("en"))
        .await
        .body;
    assert!(oe.contains("Receive All") && oe.contains("Hang up after sending and receiving"));
    let oe_ja = web
        .get_with("/guide/outlook-express", &lang("ja"))
        .await
        .body;
    assert!(oe_ja.contains("すべて受信") && oe_ja.contains("送受信後に切断する"));
    let tb = web.get_with("/guide/thunderbird", &lang("en")).await.body;
    assert!(tb.contains("Get Messages") && tb.contains("Write"));
    assert!(
        !tb.contains("id=\"dial-up\""),
        "Thunderbird has no hang-up setting"
    );
    let becky = web.get_with("/guide/becky", &lang("en")).await.body;
    assert!(
        becky.contains("Mailbox Settings") && !becky.contains("has no POP before SMTP setting"),
        "Becky! has its own option"
    );
    let iphone = web.get_with("/guide/iphone", &lang("en")).await.body;
    assert!(iphone.contains("pull the message list down"));
    assert!(iphone.contains("has no POP before SMTP setting"));
}

#[tokio::test]
async fn an_unknown_guide_is_a_404_page_in_the_visitors_language() {
    let mut web = Web::new(sqlite(), isp(587));
    let en = web.get_with("/guide/eudora", &lang("en")).await;
    assert_eq!(en.status, 404);
    assert!(en.body.contains("This page does not exist."), "{}", en.body);
    let ja = web.get_with("/guide/eudora", &lang("ja")).await;
    assert_eq!(ja.status, 404);
    assert!(ja.body.contains("ページが見つかりません。"));
}
