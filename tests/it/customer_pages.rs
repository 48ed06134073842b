//! The customer site's guides, notices and status pages, as a visitor meets them.

use relaydesk::config::Config;
use relaydesk::domain::{Event, FailReason, Service};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::decisions::{self, PolicyDecision};
use relaydesk::store::notices::{self, NoticeDraft, NoticeKind};
use relaydesk::store::stats;
use relaydesk::web::i18n::MISSING;

use crate::helpers::{databases, sqlite};
use crate::web_helpers::{Web, done};

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

/// Runs `test` on a fresh site over each test database.
async fn on_each_database<F, Fut>(config: impl Fn() -> Config, test: F)
where
    F: Fn(Web, &'static str) -> Fut,
    Fut: std::future::Future<Output = Web>,
{
    for t in databases().await {
        let label = t.label;
        let web = Web::new(t, config());
        let web = test(web, label).await;
        done(web).await;
    }
}

fn lang(code: &str) -> [(&'static str, &str); 1] {
    [("accept-language", code)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_guide_shows_the_configured_servers_window_and_port_in_both_languages() {
    let mut web = Web::new(sqlite().await, isp(2587));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guides_say_nothing_of_smtp_auth_when_the_service_offers_none() {
    let mut web = Web::new(sqlite().await, isp(0));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guides_give_each_clients_own_advice() {
    let mut web = Web::new(sqlite().await, isp(587));
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_guide_is_a_404_page_in_the_visitors_language() {
    let mut web = Web::new(sqlite().await, isp(587));
    let en = web.get_with("/guide/eudora", &lang("en")).await;
    assert_eq!(en.status, 404);
    assert!(en.body.contains("This page does not exist."), "{}", en.body);
    let ja = web.get_with("/guide/eudora", &lang("ja")).await;
    assert_eq!(ja.status, 404);
    assert!(ja.body.contains("ページが見つかりません。"));
}

fn draft(kind: NoticeKind, title: &str, body: &str, published_at: i64) -> NoticeDraft {
    NoticeDraft {
        kind,
        title_ja: format!("{title}（日本語）"),
        title_en: title.to_string(),
        body_ja: body.to_string(),
        body_en: body.to_string(),
        published_at,
        starts_at: None,
        ends_at: None,
        status: None,
        impact: None,
        components: None,
    }
}

/// Checks that `xml` is well-formed enough: every tag closes in order, attributes are quoted,
/// and text holds no bare `<` or `&`. Returns the element names in document order.
fn xml_elements(xml: &str) -> Vec<String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"utf-8\"?>")
        .expect("an XML declaration first");
    let mut open: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = rest[start..].find('>').expect("an unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "a '<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag
                .split_whitespace()
                .next()
                .expect("a tag name")
                .to_string();
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            check_text(tag);
            names.push(name.clone());
            if !self_closing {
                open.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    check_text(rest);
    assert!(open.is_empty(), "unclosed elements: {open:?}");
    names
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..];
        let semi = entity.find(';').expect("an unterminated entity");
        let name = &entity[1..semi];
        assert!(
            ["amp", "lt", "gt", "quot", "apos"].contains(&name)
                || (name.starts_with('#') && name[1..].chars().all(|c| c.is_ascii_digit())),
            "a bare '&': {entity:.20}"
        );
    }
}

/// XML character references and the five entities, decoded.
fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let semi = rest[i..].find(';').unwrap() + i;
        let name = &rest[i + 1..semi];
        out.push(match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            n => char::from_u32(n.trim_start_matches('#').parse().unwrap()).unwrap(),
        });
        rest = &rest[semi + 1..];
    }
    out.push_str(rest);
    out
}

fn element_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    // `name` may carry attributes: `content type="html"`.
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{name}>")) + open.len();
    &xml[start..start + xml[start..].find('<').unwrap()]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_install_ships_a_notice_about_pop_before_smtp_in_both_languages() {
    on_each_database(
        || isp(587),
        |mut web, label| async move {
            let list = web.get_with("/notices", &lang("en")).await;
            assert_eq!(list.status, 200, "{label}");
            assert!(list.body.contains("About POP before SMTP"), "{label}");
            assert!(list.body.contains("badge kind-notice"), "{label}");
            let ja = web.get_with("/notices/1", &lang("ja")).await;
            assert_eq!(ja.status, 200, "{label}");
            assert!(
                ja.body
                    .contains("POP before SMTP（受信してから送信）について")
            );
            assert!(
                ja.body.contains("<h2>なぜ先に受信するのですか</h2>"),
                "{label}"
            );
            let en = web.get_with("/notices/1", &lang("en")).await;
            assert!(en.body.contains("<h2>The lasting fix</h2>"), "{label}");
            assert!(en.body.contains("Last updated"));
            assert!(en.body.contains(r#"<a href="/guide">setup guides</a>"#));
            for body in [&list.body, &ja.body, &en.body] {
                assert!(!body.contains(MISSING), "{label}");
            }
            let home = web.get_with("/", &lang("en")).await;
            assert!(
                home.body.contains("href=\"/notices/1\""),
                "{label}: / lists it"
            );
            web
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_are_listed_newest_first_with_published_and_updated_dates() {
    on_each_database(
        || isp(587),
        |mut web, label| async move {
            let now = now();
            let (old, new, future) = web
                .db
                .run(async move |c: &mut relaydesk::store::Conn| {
                    let old = notices::insert(
                        c,
                        &draft(NoticeKind::Notice, "Older news", "a", now - 7200),
                        "ops",
                        now - 7200,
                    )
                    .await?;
                    let new = notices::insert(
                        c,
                        &draft(NoticeKind::Maintenance, "Planned work", "b", now - 60),
                        "ops",
                        now - 60,
                    )
                    .await?;
                    let future = notices::insert(
                        c,
                        &draft(NoticeKind::Notice, "Not yet", "c", now + 3600),
                        "ops",
                        now,
                    )
                    .await?;
                    let mut changed = draft(
                        NoticeKind::Notice,
                        "Older news, corrected",
                        "a2",
                        now - 7200,
                    );
                    changed.body_en = "Corrected text".into();
                    assert!(notices::update(c, old, &changed, now - 30).await?);
                    Ok((old, new, future))
                })
                .await
                .unwrap();
            let list = web.get_with("/notices", &lang("en")).await.body;
            let (at_new, at_old) = (
                list.find("Planned work").expect("listed"),
                list.find("Older news, corrected")
                    .expect("listed, as updated"),
            );
            assert!(at_new < at_old, "{label}: newest first");
            assert!(list.contains("badge kind-maintenance"), "{label}");
            assert!(!list.contains("Not yet"), "{label}: scheduled notices wait");
            assert_eq!(
                web.get(&format!("/notices/{future}")).await.status,
                404,
                "{label}"
            );
            let page = web.get_with(&format!("/notices/{old}"), &lang("en")).await;
            assert_eq!(page.status, 200);
            assert!(page.body.contains("Corrected text"));
            assert!(page.body.contains("Published") && page.body.contains("Last updated"));
            assert_ne!(
                page.body.matches("datetime=").count(),
                0,
                "{label}: dates are machine-readable"
            );
            let planned = web.get_with("/", &lang("en")).await.body;
            assert!(
                planned.contains("id=\"open-events\"")
                    && planned.contains(&format!("/notices/{new}")),
                "{label}: / shows open maintenance"
            );
            for bad in ["/notices/999999", "/notices/abc", "/notices/-1"] {
                let reply = web.get_with(bad, &lang("en")).await;
                assert_eq!(reply.status, 404, "{label} {bad}");
            }
            assert!(
                notices::delete(&mut web.db.conn().await.unwrap(), new)
                    .await
                    .unwrap()
            );
            assert_eq!(web.get(&format!("/notices/{new}")).await.status, 404);
            web
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notice_markdown_cannot_carry_scripts_or_javascript_links() {
    let mut web = Web::new(sqlite().await, isp(587));
    let body = "Hello <script>alert('x')</script>\n\n[click me](javascript:alert(1))\n\n<img src=x onerror=alert(1)>";
    let id = web
        .db
        .run(async |c| {
            notices::insert(
                c,
                &draft(NoticeKind::Incident, "Bad <b>title</b>", body, now() - 10),
                "ops",
                now(),
            )
            .await
        })
        .await
        .unwrap();
    for path in [format!("/notices/{id}"), "/notices.atom".to_string()] {
        let reply = web.get_with(&path, &lang("en")).await;
        assert_eq!(reply.status, 200);
        let page = &reply.body;
        assert!(!page.contains("<script"), "{path}: {page}");
        assert!(!page.contains("<img"), "{path}");
        assert!(!page.contains("<b>title"), "{path}: titles are text");
        assert!(!page.contains("href=\"javascript:"), "{path}");
        assert!(
            !page.contains("&lt;a href=&#34;javascript")
                && !page.contains("&lt;a href=&quot;javascript"),
            "{path}"
        );
        assert!(page.contains("click me"), "{path}: the link text stays");
        if !path.ends_with(".atom") {
            continue;
        }
        // The feed carries the HTML escaped once: decoded, it must still be harmless.
        let decoded = unescape(page);
        assert!(
            !decoded.contains("<script") && !decoded.contains("<img"),
            "{path}"
        );
        assert!(!decoded.contains("href=\"javascript"), "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_atom_feed_is_well_formed_with_absolute_links() {
    on_each_database(
        || {
            let mut config = isp(587);
            config.web.public_url = "https://help.sakura.example/".into();
            config
        },
        |mut web, label| async move {
            let now = now();
            web.db
                .run(async move |c: &mut relaydesk::store::Conn| {
                    notices::insert(
                        c,
                        &draft(
                            NoticeKind::Notice,
                            "Fish & chips <today>",
                            "**Tom & Jerry** say \"hi\"",
                            now - 5,
                        ),
                        "ops",
                        now,
                    )
            .await
                })
                .await
                .unwrap();
            let feed = web.get_with("/notices.atom", &lang("en")).await;
            assert_eq!(feed.status, 200, "{label}");
            assert_eq!(feed.headers["content-type"], "application/atom+xml");
            let xml = &feed.body;
            let names = xml_elements(xml);
            assert_eq!(names[0], "feed");
            assert!(xml.contains(r#"<feed xmlns="http://www.w3.org/2005/Atom""#));
            for required in [
                "id",
                "title",
                "updated",
                "link",
                "author",
                "entry",
                "published",
                "content",
            ] {
                assert!(names.iter().any(|n| n == required), "{label}: <{required}>");
            }
            assert_eq!(
                element_text(xml, "id"),
                "https://help.sakura.example/notices"
            );
            assert!(xml.contains(r#"<link rel="self" type="application/atom+xml" href="https://help.sakura.example/notices.atom"#));
            assert!(
                xml.contains("<id>https://help.sakura.example/notices/"),
                "{label}"
            );
            let ours = xml.find("<title>Fish").expect("our entry");
            assert_eq!(
                unescape(element_text(&xml[ours..], "title")),
                "Fish & chips <today>"
            );
            let content = unescape(element_text(&xml[ours..], "content type=\"html\""));
            assert!(
                content.starts_with("<p><strong>Tom &amp; Jerry</strong>"),
                "{label}: the content is the rendered HTML, escaped once: {content}"
            );
            assert_eq!(
                names.iter().filter(|n| *n == "entry").count(),
                2,
                "{label}: the shipped notice and ours"
            );
            let updated = element_text(xml, "updated");
            assert!(
                chrono::DateTime::parse_from_rfc3339(updated).is_ok(),
                "{updated}"
            );
            let ja = web.get_with("/notices.atom", &lang("ja")).await.body;
            xml_elements(&ja);
            assert!(ja.contains("xml:lang=\"ja\"") && ja.contains("（日本語）"));
            web
        },
    )
    .await;
}

fn events(now: i64) -> Vec<Event> {
    let hour = now - now % 3600;
    let mut events = Vec::new();
    for (i, user) in ["taro", "hanako", "jiro"].iter().enumerate() {
        events.push(Event::Login {
            // In this hour even in its first minute.
            at: (now - 60 - i as i64).max(hour),
            service: Service::Pop3,
            user: user.to_string(),
            ip: format!("203.0.113.{}", 10 + i).parse().unwrap(),
        });
    }
    // One session five hours ago, and relay rejections two and three hours ago.
    events.push(Event::Login {
        at: hour - 5 * 3600 + 10,
        service: Service::Imap,
        user: "saburo".into(),
        ip: "198.51.100.4".parse().unwrap(),
    });
    for (at, n) in [(hour - 2 * 3600 + 5, 4), (hour - 3 * 3600 + 5, 2)] {
        for k in 0..n {
            events.push(Event::RelayRejected {
                at: at + k,
                ip: "192.0.2.66".parse().unwrap(),
                sender: "spam@example.net".into(),
                rcpt: format!("victim{k}@example.org"),
                reply: "554 5.7.1 Relay access denied".into(),
            });
        }
    }
    events.push(Event::LoginFailed {
        at: now - 30,
        service: Service::Imap,
        user: Some("taro".into()),
        ip: "203.0.113.10".parse().unwrap(),
        reason: FailReason::AuthFailed,
    });
    events.push(Event::Rejected {
        at: now - 20,
        ip: "203.0.113.11".parse().unwrap(),
        sender: "hanako@example.jp".into(),
        rcpt: "friend@example.net".into(),
        reply: "451 4.3.5 Server configuration problem".into(),
    });
    events
}

fn decision(at: i64, action: &str) -> PolicyDecision {
    PolicyDecision {
        at,
        ip: "203.0.113.10".into(),
        sender: "taro@example.jp".into(),
        rcpt: "friend@example.net".into(),
        action: action.into(),
        login: None,
        code: None,
        cause: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hourly_aggregates_count_the_same_on_both_backends() {
    for t in databases().await {
        let label = t.label;
        let now = now();
        let writer = Writer::new(t.db.clone(), 1800);
        let batch = Batch {
            events: events(now),
            ..Batch::default()
        };
        writer.commit("test", "{}", &batch, None).await.unwrap();
        t.db.run(async |c| {
            decisions::insert_many(
                c,
                &[decision(now - 100, "ok"), decision(now - 90, "reject")],
            )
            .await?;
            let logins = stats::activity_per_hour(c, stats::Activity::MailCheck, now, 24).await?;
            assert_eq!(logins.len(), 24, "{label}");
            assert_eq!(logins[23], (now - now % 3600, 3), "{label}: this hour");
            assert_eq!(logins[18].1, 1, "{label}: five hours ago");
            assert_eq!(logins.iter().map(|h| h.1).sum::<i64>(), 4, "{label}");
            let rejections =
                stats::activity_per_hour(c, stats::Activity::RelayRefused, now, 24).await?;
            assert_eq!((rejections[21].1, rejections[20].1), (4, 2), "{label}");
            assert_eq!(rejections.iter().map(|h| h.1).sum::<i64>(), 6, "{label}");
            assert_eq!(
                stats::logins_between(c, now - 1800, now).await?,
                (3, 1),
                "{label}"
            );
            assert_eq!(
                stats::decisions_between(c, now - 1800, now).await?,
                (1, 1),
                "{label}"
            );
            assert!(stats::any_decision(c).await?);
            assert_eq!(
                stats::policy_unavailable_between(c, now - 1800, now).await?,
                1,
                "{label}"
            );
            Ok(())
        })
        .await
        .unwrap();
    }
}

fn open_incident(now: i64) -> NoticeDraft {
    let mut incident = draft(
        NoticeKind::Incident,
        "Sending is slow",
        "We are on it.",
        now - 600,
    );
    incident.starts_at = Some(now - 900);
    incident.status = Some("investigating".into());
    incident
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_draws_accessible_charts_in_both_languages() {
    on_each_database(
        || isp(587),
        |mut web, label| async move {
            let now = now();
            let writer = Writer::new(web.db.clone(), 1800);
            {
                let batch = Batch {
                    events: events(now),
                    ..Batch::default()
                };
                writer.commit("test", "{}", &batch, None).await.unwrap();
            }
            notices::insert(
                &mut web.db.conn().await.unwrap(),
                &open_incident(now),
                "ops",
                now,
            )
            .await
            .unwrap();
            for code in ["ja", "en"] {
                let page = web.get_with("/status", &lang(code)).await;
                assert_eq!(page.status, 200, "{label} {code}");
                let body = &page.body;
                assert!(!body.contains(MISSING), "{label} {code}");
                assert_eq!(body.matches("<svg").count(), 2, "{label} {code}");
                assert_eq!(body.matches("role=\"img\"").count(), 2);
                assert!(body.contains("<title id=\"chart-logins-title\">"));
                assert!(
                    body.contains(
                        "aria-labelledby=\"chart-rejections-title chart-rejections-desc\""
                    )
                );
                assert_eq!(
                    body.matches("<rect class=\"bar").count(),
                    48,
                    "{label} {code}"
                );
                assert!(
                    body.contains("<td>4</td>"),
                    "{label} {code}: the numbers as a table"
                );
                for component in [
                    "relay_authorization",
                    "mailbox_logins",
                    "log_freshness",
                    "policy_service",
                ] {
                    assert!(
                        body.contains(&format!("data-component=\"{component}\"")),
                        "{component}"
                    );
                }
                assert!(
                    body.contains("/notices/"),
                    "{label} {code}: the open incident is listed"
                );
                for private in ["taro", "hanako", "203.0.113.10", "victim", "spam@"] {
                    assert!(
                        !body.contains(private),
                        "{label} {code}: {private} is not public"
                    );
                }
            }
            web
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_api_reports_the_same_components_as_json() {
    on_each_database(
        || isp(587),
        |mut web, label| async move {
            let now = now();
            let writer = Writer::new(web.db.clone(), 1800);
            {
                let batch = Batch {
                    events: events(now),
                    ..Batch::default()
                };
                writer.commit("test", "{}", &batch, None).await.unwrap();
            }
            web.db
                .run(async move |c: &mut relaydesk::store::Conn| {
                    notices::insert(c, &open_incident(now), "ops", now).await?;
                    decisions::insert_many(c, &[decision(now - 100, "ok")]).await
                })
                .await
                .unwrap();
            let reply = web.get_with("/api/v1/status", &lang("en")).await;
            assert_eq!(reply.status, 200, "{label}");
            let json = reply.json();
            let components = json["components"].as_array().unwrap();
            let ids: Vec<&str> = components
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .collect();
            assert_eq!(
                ids,
                [
                    "relay_authorization",
                    "mailbox_logins",
                    "log_freshness",
                    "policy_service"
                ],
                "{label}"
            );
            for c in components {
                let state = c["state"].as_str().unwrap();
                assert!(
                    ["operational", "degraded", "outage", "not_used"].contains(&state),
                    "{c}"
                );
            }
            assert_eq!(
                components[0]["state"], "operational",
                "{label}: decisions exist"
            );
            assert_eq!(
                components[3]["state"], "degraded",
                "{label}: one 451 4.3.5 refusal"
            );
            assert_eq!(json["overall"], "degraded");
            let hours = json["relay_rejections_per_hour"].as_array().unwrap();
            assert_eq!(hours.len(), 24);
            let total: i64 = hours.iter().map(|h| h["count"].as_i64().unwrap()).sum();
            assert_eq!(total, 6, "{label}");
            assert_eq!(json["logins_per_hour"].as_array().unwrap().len(), 24);
            assert_eq!(json["incidents"][0]["kind"], "incident", "{label}");
            assert!(
                json["incidents"][0]["url"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://support.example.jp/notices/")
            );
            let page = web.get("/status").await;
            for c in components {
                let marker = format!(
                    "data-component=\"{}\" data-status=\"{}\"",
                    c["id"].as_str().unwrap(),
                    c["state"].as_str().unwrap()
                );
                assert!(
                    page.body.contains(&marker),
                    "{label}: the page agrees on {marker}"
                );
            }
            web
        },
    )
    .await;
}

/// A refusal's link, `/why/CODE`: that refusal's time, masked recipient, cause and fix in the
/// visitor's language — and nothing of the other connection that explains it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusals_link_explains_that_refusal_and_nothing_else() {
    on_each_database(
        || isp(587),
        |mut web, label| async move {
            let now = now();
            // taro checked mail from .10 a minute ago, then sent from .99, an address taro
            // checked mail from this morning: ip_changed, which taro's own address may learn.
            let writer = Writer::new(web.db.clone(), 17 * 60);
            let batch = Batch {
                events: vec![
                    Event::Login {
                        at: now - 60,
                        service: Service::Pop3,
                        user: "taro".into(),
                        ip: "203.0.113.10".parse().unwrap(),
                    },
                    Event::Login {
                        at: now - 3 * 3600,
                        service: Service::Pop3,
                        user: "taro".into(),
                        ip: "203.0.113.99".parse().unwrap(),
                    },
                ],
                ..Batch::default()
            };
            writer.commit("test", "{}", &batch, None).await.unwrap();
            let code = relaydesk::policy::server::refusal_code(now - 30);
            let refusal = PolicyDecision {
                at: now - 30,
                ip: "203.0.113.99".into(),
                sender: "taro@example.jp".into(),
                rcpt: "friend@example.net".into(),
                action: "reject".into(),
                login: None,
                code: Some(code.clone()),
                cause: Some("ip_changed".into()),
            };
            web.db
                .run(async |c| decisions::insert_many(c, &[refusal]).await)
                .await
                .unwrap();
            let en = web.get_with(&format!("/why/{code}"), &lang("en")).await;
            assert_eq!(en.status, 200, "{label}: {}", en.body);
            assert!(en.body.contains(r#"data-cause="ip_changed""#), "{label}");
            assert!(en.body.contains("f***@example.net"), "{label}");
            assert!(
                en.body.contains("another address, but"),
                "{label}: {}",
                en.body
            );
            for hidden in ["friend@", "203.0.113.10", "taro"] {
                assert!(
                    !en.body.contains(hidden),
                    "{label}: the page shows {hidden}"
                );
            }
            assert!(!en.body.contains(MISSING), "{label}");
            // Japanese by default.
            let ja = web.get(&format!("/why/{code}")).await;
            assert!(ja.body.contains("送信できなかった理由"), "{label}");
            assert!(ja.body.contains(r#"data-cause="ip_changed""#), "{label}");
            let other_time = relaydesk::policy::server::refusal_code(now - 31);
            let guessed = format!("{}{}", &code[..8], "0".repeat(16));
            for unknown in [
                format!("/why/{other_time}"),
                format!("/why/{guessed}"),
                "/why/0123".into(),
                "/why/%2e%2e%2fetc".into(),
            ] {
                let r = web.get_with(&unknown, &lang("en")).await;
                assert_eq!(r.status, 404, "{label}: {unknown}");
                assert!(r.body.contains("This page does not exist."), "{label}");
            }
            web
        },
    )
    .await;
}
