//! Admins write the customer site's notices from `/staff/notices`: agents may not, every change
//! needs the CSRF token and is audited, bad fields are named, and a body's HTML never reaches a
//! page as markup.

use relaydesk::config::Config;
use relaydesk::store::Value;

use crate::helpers::sqlite;
use crate::staff::{add_staff, count, sign_in};
use crate::web_helpers::{Web, dbs, done};

fn notice_form<'a>(csrf: &'a str, title_en: &'a str, body_en: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("csrf", csrf),
        ("kind", "notice"),
        ("title_ja", "メンテナンスのお知らせ"),
        ("title_en", title_en),
        ("body_ja", "**本文**"),
        ("body_en", body_en),
        ("published_at", ""),
        ("starts_at", ""),
        ("ends_at", ""),
        ("status", ""),
        ("intent", "save"),
    ]
}

async fn audited(web: &Web, action: &'static str) -> i64 {
    count(
        web,
        "select count(*) from audit where action = $1 and actor = $2",
        vec![action.into(), Value::from("boss")],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_may_not_open_the_notice_editor() {
    let mut web = Web::new(sqlite().await, Config::default());
    add_staff(&web, "sato", "agent").await;
    let csrf = sign_in(&mut web, "sato").await;
    assert_eq!(web.get("/staff/notices").await.status, 403);
    let r = web
        .post_form("/staff/notices", &notice_form(&csrf, "Hello", "Body"))
        .await;
    assert_eq!(r.status, 403);
    assert!(!web.get("/staff").await.body.contains("/staff/notices"));
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_publishes_edits_and_deletes_a_notice_and_each_step_is_audited() {
    for t in dbs().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        add_staff(&web, "boss", "admin").await;
        let csrf = sign_in(&mut web, "boss").await;
        assert!(
            web.get("/staff")
                .await
                .body
                .contains("href=\"/staff/notices\"")
        );

        let body = "Hi <script>alert(1)</script> there";
        let without = web
            .post_form(
                "/staff/notices",
                &notice_form("", "Planned work", body)[1..],
            )
            .await;
        assert_eq!(without.status, 403, "{label}: no CSRF token");
        let bad = web
            .post_form("/staff/notices", &notice_form(&csrf, "  ", body))
            .await;
        assert_eq!(bad.status, 400, "{label}");
        assert!(bad.body.contains("title_en"), "{label}: {}", bad.body);

        let preview = web
            .post_form(
                "/staff/notices",
                &[
                    &notice_form(&csrf, "Planned work", body)[..10],
                    &[("intent", "preview")],
                ]
                .concat(),
            )
            .await;
        assert_eq!(preview.status, 200, "{label}");
        assert!(preview.body.contains("data-preview"), "{label}");
        assert!(!preview.body.contains("<script>alert"), "{label}");
        assert_eq!(
            audited(&web, "notice_create").await,
            0,
            "{label}: a preview saves nothing"
        );

        let r = web
            .post_form("/staff/notices", &notice_form(&csrf, "Planned work", body))
            .await;
        assert_eq!(r.status, 303, "{label}: {}", r.body);
        assert_eq!(audited(&web, "notice_create").await, 1, "{label}");

        let list = web.get("/notices?lang=en").await;
        assert!(list.body.contains("Planned work"), "{label}");
        let id = {
            let at = list.body.find("href=\"/notices/").unwrap() + 15;
            let end = list.body[at..].find('"').unwrap();
            list.body[at..at + end].to_string()
        };
        let shown = web.get(&format!("/notices/{id}?lang=en")).await;
        assert!(!shown.body.contains("<script>alert"), "{label}");
        assert!(shown.body.contains("&lt;script&gt;"), "{label}");
        let feed = web.get("/notices.atom?lang=en").await;
        assert!(feed.body.contains("<title>Planned work</title>"), "{label}");
        assert!(!feed.body.contains("<script>"), "{label}");

        let editor = web.get(&format!("/staff/notices/{id}")).await;
        assert_eq!(editor.status, 200, "{label}");
        assert!(editor.body.contains("value=\"Planned work\""), "{label}");
        let r = web
            .post_form(
                &format!("/staff/notices/{id}"),
                &notice_form(&csrf, "Planned work, moved", "New day"),
            )
            .await;
        assert_eq!(r.status, 303, "{label}: {}", r.body);
        assert_eq!(audited(&web, "notice_update").await, 1, "{label}");
        assert!(
            web.get("/notices?lang=en")
                .await
                .body
                .contains("Planned work, moved")
        );

        let r = web
            .post_form(&format!("/staff/notices/{id}/delete"), &[("csrf", &csrf)])
            .await;
        assert_eq!(r.status, 303, "{label}");
        assert_eq!(audited(&web, "notice_delete").await, 1, "{label}");
        assert!(
            !web.get("/notices?lang=en")
                .await
                .body
                .contains("Planned work")
        );
        let again = web
            .post_form(&format!("/staff/notices/{id}/delete"), &[("csrf", &csrf)])
            .await;
        assert_eq!(again.status, 404, "{label}");
        done(web).await;
    }
}
