//! What staff do from the customer and address pages — grant, suspend, block, note,
//! acknowledge — changes the store, is audited with its reason, needs the CSRF token, and bad
//! input is a 400 that names the field.

use relaydesk::config::Config;
use relaydesk::domain::Event;
use relaydesk::store::restrictions::{self, Kind};
use relaydesk::store::{self, Value};

use crate::helpers::sqlite;
use crate::staff::{add_staff, count, csrf_of, login_event, now, sign_in};
use crate::web_helpers::{Web, dbs, done, store_events, with_db};

async fn audited(web: &Web, action: &'static str, subject: &str, reason: &str) -> i64 {
    count(
        web,
        "select count(*) from audit where action = $1 and subject = $2 and reason = $3",
        vec![action.into(), Value::from(subject), Value::from(reason)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_suspend_and_block_forms_change_the_store_and_are_audited() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        store_events(
            &web,
            vec![login_event(now() - 7200, "taro", "203.0.113.10")],
        )
        .await;
        add_staff(&web, "sato", "agent").await;
        let csrf = sign_in(&mut web, "sato").await;

        let r = web
            .post_form(
                "/staff/customers/taro/grant",
                &[
                    ("csrf", &csrf),
                    ("ip", "203.0.113.10"),
                    ("minutes", "15"),
                    ("reason", "on the phone"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{label}: {}", r.body);
        assert_eq!(r.headers["location"], "/staff/customers/taro?done=grant");
        let grants = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            restrictions::active_grants(c, now()).await
        })
        .await;
        assert_eq!(grants.len(), 1, "{label}");
        assert_eq!(grants[0].ip, "203.0.113.10");
        assert!((grants[0].expires_at - now() - 900).abs() <= 5);
        assert_eq!(
            audited(&web, "grant", "taro", "on the phone").await,
            1,
            "{label}"
        );
        let page = web.get("/staff/customers/taro?done=grant").await;
        assert!(page.body.contains("data-authorized=\"true\""), "{label}");

        let r = web
            .post_form(
                "/staff/customers/taro/suspend",
                &[("csrf", &csrf), ("reason", "spam complaint")],
            )
            .await;
        assert_eq!(r.status, 303, "{label}: {}", r.body);
        let suspended = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            restrictions::in_force(c, Kind::Suspension, now()).await
        })
        .await;
        assert_eq!(suspended.len(), 1);
        assert_eq!(suspended[0].subject, "taro");
        assert_eq!(suspended[0].created_by, "sato");
        assert_eq!(audited(&web, "suspend", "taro", "spam complaint").await, 1);
        let page = web.get("/staff/customers/taro").await;
        assert!(page.body.contains("data-suspended=\"true\""), "{label}");

        let r = web
            .post_form(
                "/staff/customers/taro/unsuspend",
                &[("csrf", &csrf), ("reason", "customer changed password")],
            )
            .await;
        assert_eq!(r.status, 303);
        let suspended = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            restrictions::in_force(c, Kind::Suspension, now() + 1).await
        })
        .await;
        assert!(suspended.is_empty(), "{label}");
        assert_eq!(
            audited(&web, "unsuspend", "taro", "customer changed password").await,
            1
        );

        let r = web
            .post_form(
                "/staff/ips/198.51.100.66/block",
                &[("csrf", &csrf), ("reason", "relay burst")],
            )
            .await;
        assert_eq!(r.status, 303, "{label}: {}", r.body);
        let blocks = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            restrictions::in_force(c, Kind::Block, now()).await
        })
        .await;
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].subject, "198.51.100.66/32");
        assert_eq!(
            audited(&web, "block", "198.51.100.66/32", "relay burst").await,
            1
        );
        let page = web.get("/staff/ips/198.51.100.66").await;
        assert!(page.body.contains("data-blocked=\"true\""), "{label}");

        let r = web
            .post_form(
                "/staff/ips/198.51.100.66/unblock",
                &[
                    ("csrf", &csrf),
                    ("network", "198.51.100.66/32"),
                    ("reason", "cleaned up"),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        let blocks = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            restrictions::in_force(c, Kind::Block, now() + 1).await
        })
        .await;
        assert!(blocks.is_empty(), "{label}");

        let r = web
            .post_form(
                "/staff/customers/taro/notes",
                &[
                    ("csrf", &csrf),
                    ("note", "Called about Outlook.\nWill call back."),
                ],
            )
            .await;
        assert_eq!(r.status, 303);
        let notes = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            store::notes::for_login(c, "taro", 10).await
        })
        .await;
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].created_by, "sato");
        let page = web.get("/staff/customers/taro").await;
        assert!(page.body.contains("Called about Outlook."), "{label}");
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_without_the_csrf_token_are_refused() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        for (path, form) in [
            (
                "/staff/customers/taro/grant",
                vec![("ip", "203.0.113.10"), ("minutes", "15"), ("reason", "x")],
            ),
            ("/staff/customers/taro/suspend", vec![("reason", "x")]),
            ("/staff/customers/taro/notes", vec![("note", "x")]),
            ("/staff/ips/203.0.113.10/block", vec![("reason", "x")]),
            (
                "/staff/ips/203.0.113.10/grant",
                vec![("minutes", "15"), ("reason", "x")],
            ),
        ] {
            let r = web.post_form(path, &form).await;
            assert_eq!(r.status, 403, "{path}");
            let mut forged = form.clone();
            let bad = "f".repeat(64);
            forged.push(("csrf", &bad));
            assert_eq!(web.post_form(path, &forged).await.status, 403, "{path}");
        }
        for table in ["grants", "suspensions", "blocks", "notes"] {
            let n = with_db(&web, async |c: &mut relaydesk::store::Conn| {
                Ok(c.scalar(&format!("select count(*) from {table}"), &[])
                    .await?
                    .unwrap_or(0))
            })
            .await;
            assert_eq!(n, 0, "{table}");
        }
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_400_naming_the_field_never_a_500() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    let csrf = sign_in(&mut web, "sato").await;
    let en = [("accept-language", "en")];
    for (path, field) in [
        ("/staff/ips/not-an-ip", "ip"),
        ("/staff/ips/300.1.2.3", "ip"),
        ("/staff/search?q=10.0.0.0/8", "q:"),
        ("/staff/search?q=2001:db8::/32", "q:"),
        ("/staff/search?q=203.0.113.0/33", "q:"),
        ("/staff/search?q=taro&from=yesterday", "from"),
        ("/staff/search?q=taro&until=2026-13-45", "until"),
        ("/staff/ips/203.0.113.7?at=soon", "at"),
    ] {
        let r = web.get_with(path, &en).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        assert!(r.body.contains(field), "{path} names {field}: {}", r.body);
    }
    for (path, form, field) in [
        (
            "/staff/customers/taro/grant",
            vec![("ip", "999.1.1.1"), ("minutes", "15"), ("reason", "x")],
            "ip",
        ),
        (
            "/staff/customers/taro/grant",
            vec![("ip", "203.0.113.10"), ("minutes", "0"), ("reason", "x")],
            "minutes",
        ),
        (
            "/staff/customers/taro/grant",
            vec![
                ("ip", "203.0.113.10"),
                ("minutes", "100000"),
                ("reason", "x"),
            ],
            "minutes",
        ),
        (
            "/staff/customers/taro/grant",
            vec![("ip", "203.0.113.10"), ("minutes", "15"), ("reason", "  ")],
            "reason",
        ),
        (
            "/staff/customers/taro/suspend",
            vec![("reason", "")],
            "reason",
        ),
        ("/staff/customers/taro/notes", vec![("note", "")], "note"),
        (
            "/staff/ips/203.0.113.10/block",
            vec![("reason", "")],
            "reason",
        ),
        (
            "/staff/ips/203.0.113.10/block",
            vec![("network", "10.0.0.0/8"), ("reason", "x")],
            "network",
        ),
        (
            "/staff/ips/203.0.113.10/grant",
            vec![("minutes", "many"), ("reason", "x")],
            "minutes",
        ),
    ] {
        let mut form = form.clone();
        form.push(("csrf", &csrf));
        let r = web.post_form(path, &form).await;
        assert_eq!(r.status, 400, "{path} {form:?}: {}", r.body);
        assert!(r.body.contains(field), "{path} names {field}: {}", r.body);
    }
    assert_eq!(count(&web, "select count(*) from grants", vec![]).await, 0);
    assert_eq!(count(&web, "select count(*) from blocks", vec![]).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_customer_page_diagnoses_rejections_and_offers_the_explanation_in_both_languages() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        let now = now();
        store_events(
            &web,
            vec![
                login_event(now - 7200, "taro", "203.0.113.10"),
                Event::RelayRejected {
                    at: now - 60,
                    ip: "203.0.113.10".parse().unwrap(),
                    sender: "taro@example.jp".into(),
                    rcpt: "friend@example.net".into(),
                    reply: "554 5.7.1 Relay access denied".into(),
                },
            ],
        )
        .await;
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web
            .get_with("/staff/customers/taro", &[("accept-language", "en")])
            .await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("data-cause=\"expired\""),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("<textarea id=\"copy-ja\" class=\"copy\" readonly")
        );
        assert!(
            page.body.contains("送信できるのは受信から 30 分間"),
            "the Japanese version"
        );
        assert!(
            page.body.contains("sending is allowed for 30"),
            "the English version"
        );
        assert!(page.body.contains("href=\"/staff/ips/203.0.113.10\""));
        assert!(!page.body.contains(relaydesk::web::i18n::MISSING));
        let search = web.get("/staff/search?q=taro%40example.jp").await;
        assert!(
            search.body.contains("href=\"/staff/customers/taro\""),
            "{}",
            search.body
        );
        let net = web.get("/staff/search?q=203.0.113.0/24").await;
        assert!(
            net.body.contains("href=\"/staff/customers/taro\""),
            "{}",
            net.body
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_counts_and_alerts_are_acknowledged() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        let now = now();
        store_events(&web, vec![login_event(now - 60, "taro", "203.0.113.10")]).await;
        let burst = relaydesk::abuse::Burst {
            kind: relaydesk::abuse::AlertKind::Ip,
            subject: "198.51.100.66".into(),
            first: now - 300,
            last: now - 10,
            count: 120,
            carrier: 100,
            samples: vec!["x@docomo.ne.jp".into()],
            ips: vec![],
        };
        let (id, _) = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            store::alerts::record(c, &burst, 600, now).await
        })
        .await;
        add_staff(&web, "sato", "agent").await;
        let csrf = sign_in(&mut web, "sato").await;
        let page = web.get_with("/staff", &[("accept-language", "en")]).await;
        assert!(page.body.contains("<svg class=\"chart\""));
        assert!(page.body.contains(&format!("data-alert=\"{id}\"")));
        assert!(!page.body.contains(relaydesk::web::i18n::MISSING));
        let r = web
            .post_form(
                &format!("/staff/alerts/{id}/ack"),
                &[("csrf", &csrf), ("back", "/staff")],
            )
            .await;
        assert_eq!(r.headers["location"], "/staff?done=ack");
        let open = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            store::alerts::list(c, true, 10).await
        })
        .await;
        assert!(open.is_empty());
        let again = web
            .post_form(&format!("/staff/alerts/{id}/ack"), &[("csrf", &csrf)])
            .await;
        assert_eq!(again.status, 404);
        assert_eq!(web.get("/staff/alerts").await.status, 200);
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_staff_accounts_and_read_the_audit_log() {
    for t in dbs().await {
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "boss", "admin").await;
        let csrf = sign_in(&mut web, "boss").await;
        let r = web
            .post_form(
                "/staff/accounts",
                &[
                    ("csrf", &csrf),
                    ("name", "sato"),
                    ("role", "agent"),
                    ("password", "a long enough password"),
                ],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        let short = web
            .post_form(
                "/staff/accounts",
                &[
                    ("csrf", &csrf),
                    ("name", "kato"),
                    ("role", "agent"),
                    ("password", "short"),
                ],
            )
            .await;
        assert_eq!(short.status, 400);
        let sato = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            store::staff::by_name(c, "sato").await
        })
        .await
        .unwrap();
        assert_eq!(sato.role, "agent");
        let r = web
            .post_form(
                "/staff/accounts/sato/end-sessions",
                &[("csrf", &csrf), ("reason", "lost laptop")],
            )
            .await;
        assert_eq!(r.status, 303);
        let r = web
            .post_form(
                "/staff/accounts/sato/disable",
                &[("csrf", &csrf), ("reason", "left the company")],
            )
            .await;
        assert_eq!(r.status, 303);
        let sato = with_db(&web, async |c: &mut relaydesk::store::Conn| {
            store::staff::by_name(c, "sato").await
        })
        .await
        .unwrap();
        assert!(sato.disabled_at.is_some());
        let own = web
            .post_form(
                "/staff/accounts/boss/disable",
                &[("csrf", &csrf), ("reason", "oops")],
            )
            .await;
        assert_eq!(own.status, 400);
        let log = web.get("/staff/audit?subject=sato").await;
        assert_eq!(log.status, 200);
        assert!(
            log.body.contains("data-action=\"staff_disable\"")
                && log.body.contains("left the company")
        );
        assert!(log.body.contains("data-action=\"staff_end_sessions\""));
        done(web).await;
    }
}

/// An abuse alert offers the agent's next step in place: block the address (or suspend the
/// login) with a reason, from the alerts page, and back to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_is_blocked_in_place_from_the_alerts_page() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        crate::api_helpers::seed(&web.db).await;
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web.get("/staff/alerts?lang=en").await;
        let action = "/staff/ips/192.0.2.66/block";
        assert!(
            page.body.contains(&format!("action=\"{action}\"")),
            "{label}: {}",
            page.body
        );
        let csrf = csrf_of(&page.body);
        let posted = web
            .post_form(
                action,
                &[
                    ("csrf", &csrf),
                    ("back", "/staff/alerts"),
                    ("reason", "spam burst"),
                ],
            )
            .await;
        assert_eq!(posted.status, 303, "{label}: {}", posted.body);
        assert_eq!(
            posted.headers["location"], "/staff/alerts?done=block",
            "{label}"
        );
        let state = with_db(&web, async |c| {
            relaydesk::state::address(c, &Config::default(), "192.0.2.66".parse().unwrap(), now())
                .await
        })
        .await;
        assert_eq!(state.state.as_str(), "blocked", "{label}");
        done(web).await;
    }
}
