//! Personal data kept as long as it should be: history past `retention.anonymize_after`
//! anonymized (counts still add up), one customer's data exported and erased on request, and
//! the customer shown when staff looked at it.

use relaydesk::config::Config;
use relaydesk::domain::{Event, FailReason, Service};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;

use crate::helpers::run;
use crate::staff::{add_staff, login_event, now, sign_in};
use crate::web_helpers::{Web, dbs, done};

const DAY: i64 = 86400;

fn history(now: i64) -> Vec<Event> {
    let mut events = Vec::new();
    for (who, ip) in [("taro", "203.0.113.77"), ("hanako", "2001:db8:1:2::5")] {
        for at in [now - 40 * DAY, now - 40 * DAY + 600, now - 3600] {
            events.push(login_event(at, who, ip));
        }
        events.push(Event::LoginFailed {
            at: now - 40 * DAY,
            service: Service::Pop3,
            user: Some(who.into()),
            ip: ip.parse().unwrap(),
            reason: FailReason::AuthFailed,
        });
        events.push(Event::RelayRejected {
            at: now - 40 * DAY,
            ip: ip.parse().unwrap(),
            sender: format!("{who}@example.jp"),
            rcpt: "friend@example.net".into(),
            reply: "554 5.7.1 <friend@example.net>: Relay access denied".into(),
        });
    }
    events
}

async fn count(web: &Web, sql: &str) -> i64 {
    let mut c = web.db.conn().await.unwrap();
    let rows: Vec<(i64,)> = c.fetch_all(sql, &[]).await.unwrap();
    rows[0].0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_history_is_anonymized_and_its_counts_still_add_up() {
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let mut config = Config::default();
        config.retention.anonymize_after = relaydesk::config::Seconds(30 * DAY);
        let web = Web::new(t, config.clone());
        let now = now();
        let writer = Writer::new(web.db.clone(), 1800);
        let batch = Batch {
            events: history(now),
            ..Batch::default()
        };
        writer.commit("test", "{}", &batch, None).await.unwrap();
        let logins_before = count(&web, "select cast(sum(logins) as bigint) from sessions").await;
        let mut c = web.db.conn().await.unwrap();
        let (anonymized, _) = relaydesk::store::retention::prune(&mut c, now, &config.retention)
            .await
            .unwrap();
        drop(c);
        let changed: u64 = anonymized.iter().map(|(_, n)| n).sum();
        assert!(changed >= 6, "{label}: {anonymized:?}");
        // Old rows name nobody: networks and keyed names; recent rows are as they were.
        assert_eq!(
            count(
                &web,
                &format!(
                    "select count(*) from sessions where last_seen < {}",
                    now - DAY
                )
            )
            .await,
            count(
                &web,
                &format!(
                    "select count(*) from sessions where last_seen < {} and login like 'anon-%' \
                     and ip in ('203.0.113.0/24', '2001:db8:1::/48')",
                    now - DAY
                )
            )
            .await,
            "{label}"
        );
        assert_eq!(
            count(
                &web,
                "select count(*) from sessions where login = 'taro' and ip = '203.0.113.77'"
            )
            .await,
            1,
            "{label}: the recent session is untouched"
        );
        for table in ["login_failures", "rejections"] {
            let named = count(
                &web,
                &format!("select count(*) from {table} where ip not like '%/%'"),
            )
            .await;
            assert_eq!(named, 0, "{label}: {table}");
        }
        assert_eq!(
            count(
                &web,
                "select count(*) from rejections where sender like 'anon-%@example.jp'"
            )
            .await,
            2,
            "{label}: the domain stays"
        );
        // One customer's old rows are still one name; every login is still counted.
        assert_eq!(
            count(
                &web,
                "select count(distinct login) from sessions where login like 'anon-%'"
            )
            .await,
            2,
            "{label}"
        );
        assert_eq!(
            count(&web, "select cast(sum(logins) as bigint) from sessions").await,
            logins_before
        );
        // A second run has nothing left to do.
        let mut c = web.db.conn().await.unwrap();
        let (again, _) = relaydesk::store::retention::prune(&mut c, now, &config.retention)
            .await
            .unwrap();
        drop(c);
        assert_eq!(
            again.iter().map(|(_, n)| n).sum::<u64>(),
            0,
            "{label}: {again:?}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_sees_staff_looks_and_their_data_is_exported_then_erased() {
    let dir = tempfile::tempdir().unwrap();
    for t in dbs().await {
        let label = format!("{:?}", t.db.backend());
        let url = t.url.clone();
        let users = dir.path().join("users");
        std::fs::write(&users, "taro:{PLAIN}secret::\n").unwrap();
        let config = Config {
            customer_auth: relaydesk::config::CustomerAuthConfig {
                method: relaydesk::config::CustomerAuthMethod::PasswdFile,
                passwd_file: users.clone(),
                ..Default::default()
            },
            ..Config::default()
        };
        let mut staff = Web::new(t, config);
        let now = now();
        let writer = Writer::new(staff.db.clone(), 1800);
        let batch = Batch {
            events: history(now),
            ..Batch::default()
        };
        writer.commit("test", "{}", &batch, None).await.unwrap();
        // An agent opens taro's page.
        add_staff(&staff, "sato", "agent").await;
        sign_in(&mut staff, "sato").await;
        assert_eq!(staff.get("/staff/customers/taro").await.status, 200);
        // Taro sees it on /me, as a role (names are not shown by default).
        let mut taro = Web::new_sharing(&staff);
        let form = taro.get("/login").await;
        let csrf = crate::staff::csrf_of(&form.body);
        let signed = taro
            .post_form(
                "/login",
                &[("login", "taro"), ("password", "secret"), ("csrf", &csrf)],
            )
            .await;
        assert_eq!(signed.status, 303, "{}", signed.body);
        let me = taro.get("/me?lang=en").await.body;
        assert!(me.contains("data-look"), "{label}: {me}");
        assert!(
            me.contains("A support agent") && me.contains("Opened your account"),
            "{me}"
        );
        assert!(
            !me.contains("sato"),
            "{label}: the agent's name stays theirs"
        );

        // Export: everything about taro, nothing about hanako; audited.
        let out = run(
            dir.path(),
            &[
                "--db",
                &url,
                "export",
                "taro",
                "--reason",
                "request 2026-0042",
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let data: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let rows = |d: &serde_json::Value, table: &str| d["data"][table].as_array().unwrap().len();
        assert_eq!(rows(&data, "sessions"), 2, "{label}: {data}");
        assert_eq!(rows(&data, "login_failures"), 1);
        assert_eq!(rows(&data, "rejections"), 1);
        assert!(rows(&data, "audit") >= 1, "the look by staff is theirs too");
        assert!(!data.to_string().contains("hanako"), "{label}");
        // Forget: taro's rows erased, hanako's kept; the erasure is audited without the login.
        let out = run(
            dir.path(),
            &[
                "--db",
                &url,
                "forget",
                "TARO",
                "--reason",
                "request 2026-0043",
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let said = String::from_utf8_lossy(&out.stdout);
        let anonymous = said
            .lines()
            .last()
            .unwrap()
            .trim_start_matches("audited as ")
            .to_string();
        assert!(anonymous.starts_with("anon-"), "{said}");
        // Asked again (or for a login never seen), forget says nothing is held and audits
        // nothing.
        let again = run(
            dir.path(),
            &[
                "--db",
                &url,
                "forget",
                "taro",
                "--reason",
                "request 2026-0044",
            ],
            b"",
        );
        assert!(!again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("nothing is held about taro"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        let out = run(
            dir.path(),
            &["--db", &url, "export", "taro", "--reason", "check"],
            b"",
        );
        let after: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for (table, found) in after["data"].as_object().unwrap() {
            let left: Vec<_> = found
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["action"] != "export" || r["reason"] != "check")
                .collect();
            assert!(left.is_empty(), "{label}: {table} still holds {left:?}");
        }
        assert_eq!(
            count(
                &staff,
                "select count(*) from sessions where login = 'hanako'"
            )
            .await,
            2,
            "{label}"
        );
        assert_eq!(
            count(
                &staff,
                &format!(
                    "select count(*) from audit where action = 'forget' and subject = '{anonymous}'"
                )
            )
            .await,
            1
        );
        assert_eq!(
            count(
                &staff,
                "select count(*) from audit where subject = 'taro' and action <> 'export'"
            )
            .await,
            0,
            "{label}"
        );
        done(staff).await;
    }
}
