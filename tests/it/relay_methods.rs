//! Who relays how: on a simulated day whose customers relay by POP before SMTP, by SMTP AUTH on
//! the submission port, or both, `relay-methods` gives every login exactly the day's relays per
//! method, on both backends; the CLI prints them as NDJSON and CSV, and the staff page shows
//! them with the export of those who still rely on POP before SMTP.

use std::collections::BTreeMap;
use std::sync::Arc;

use relaydesk::config::Config;
use relaydesk::ingest::import;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::relay_methods;

use crate::helpers::{databases, run};

fn day(dir: &std::path::Path) -> relaydesk::simulate::Simulation {
    crate::helpers::simulated_day(dir, 23)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_login_gets_exactly_the_days_relays_per_method() {
    let dir = tempfile::tempdir().unwrap();
    let sim = day(dir.path());
    let log = dir.path().join("mail.log").display().to_string();
    let truth: BTreeMap<&str, _> = sim
        .truth
        .relay_methods
        .iter()
        .map(|m| (m.login.as_str(), m))
        .collect();
    let mixed = truth
        .values()
        .filter(|m| m.pop_before_smtp.relays > 0 && m.smtp_auth.relays > 0)
        .count();
    let auth_only = truth
        .values()
        .filter(|m| m.pop_before_smtp.relays == 0 && m.smtp_auth.relays > 0)
        .count();
    assert!(
        mixed > 0 && auth_only > 0,
        "the day has {mixed} mixed, {auth_only} SMTP AUTH only"
    );
    for t in databases().await {
        let label = t.label;
        let mut config = Config::default();
        config.database.url = t.url.clone();
        let config = Arc::new(config);
        let writer = Writer::new(t.db.clone(), config.relay.window.0);
        import::run(std::slice::from_ref(&log), config.clone(), &writer)
            .await
            .unwrap();
        let got =
            t.db.run(async |c| relay_methods::per_login(c, 0, i64::MAX / 2).await)
                .await
                .unwrap();
        let mut wrong = Vec::new();
        for g in &got {
            let Some(want) = truth.get(g.login.as_str()) else {
                wrong.push(format!("{}: no relays in the truth", g.login));
                continue;
            };
            let p = &want.pop_before_smtp;
            let a = &want.smtp_auth;
            let expected = (
                p.relays as i64,
                p.first,
                p.last,
                a.relays as i64,
                a.first,
                a.last,
            );
            let found = (
                g.pop_before_smtp,
                g.first_pop_before_smtp,
                g.last_pop_before_smtp,
                g.smtp_auth,
                g.first_smtp_auth,
                g.last_smtp_auth,
            );
            if expected != found {
                wrong.push(format!("{}: expected {expected:?}, got {found:?}", g.login));
            }
        }
        assert_eq!(got.len(), truth.len(), "{label}: logins");
        assert!(
            wrong.is_empty(),
            "{label}: {} of {} logins differ:\n{}",
            wrong.len(),
            got.len(),
            wrong[..wrong.len().min(10)].join("\n")
        );
    }
}

#[test]
fn the_cli_prints_relay_methods_as_ndjson_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let sim = day(dir.path());
    let config = dir.path().join("relaydesk.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}\"\n",
            dir.path().join("rd.db").display()
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let import = run(dir.path(), &["--config", cfg, "ingest", "mail.log"], b"");
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let since = [
        "--since",
        "2000-01-01T00:00:00Z",
        "--until",
        "2100-01-01T00:00:00Z",
    ];
    let ndjson = run(
        dir.path(),
        &[
            &["--config", cfg, "relay-methods", "--format", "ndjson"][..],
            &since[..],
        ]
        .concat(),
        b"",
    );
    assert!(
        ndjson.status.success(),
        "{}",
        String::from_utf8_lossy(&ndjson.stderr)
    );
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&ndjson.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), sim.truth.relay_methods.len());
    for (r, want) in records.iter().zip(&sim.truth.relay_methods) {
        assert_eq!(r["login"], want.login.as_str());
        assert_eq!(r["pop_before_smtp"], want.pop_before_smtp.relays);
        assert_eq!(r["smtp_auth"], want.smtp_auth.relays);
        assert_eq!(
            r["last_smtp_auth"].is_null(),
            want.smtp_auth.last.is_none(),
            "{r}"
        );
    }
    let csv = run(
        dir.path(),
        &[
            &["--config", cfg, "relay-methods", "--format", "csv"][..],
            &since[..],
        ]
        .concat(),
        b"",
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("login,uses,pop_before_smtp,last_pop_before_smtp,smtp_auth,last_smtp_auth")
    );
    assert_eq!(lines.filter(|l| !l.is_empty()).count(), records.len());
}

/// The staff page and the API over the same store: taro relays by POP before SMTP, hanako by
/// SMTP AUTH; the export lists taro only, and is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staff_page_and_the_api_show_who_still_relies_on_pop_before_smtp() {
    use relaydesk::domain::{Event, Service};
    use relaydesk::ingest::pipeline::Batch;

    use crate::api_helpers::{get, staff_token};
    use crate::staff::{add_staff, sign_in};
    use crate::web_helpers::{Web, done};

    for t in databases().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let now = chrono::Utc::now().timestamp();
        let home = "203.0.113.10".parse().unwrap();
        let relayed = |at: i64, ip, sasl_user: Option<&str>| Event::Relayed {
            at,
            ip,
            sender: "x@example.jp".into(),
            rcpt: "friend@example.net".into(),
            sasl_user: sasl_user.map(str::to_string),
            queued_at: at - 1,
        };
        let batch = Batch {
            events: vec![
                Event::Login {
                    at: now - 600,
                    service: Service::Pop3,
                    user: "taro".into(),
                    ip: home,
                },
                relayed(now - 500, home, None),
                relayed(now - 400, home, None),
                relayed(now - 300, "198.51.100.7".parse().unwrap(), Some("hanako")),
                // Nobody's: no mail check from this address.
                relayed(now - 200, "192.0.2.9".parse().unwrap(), None),
            ],
            ..Batch::default()
        };
        Writer::new(web.db.clone(), 1800)
            .commit("test", "{}", &batch, None)
            .await
            .unwrap();

        let token = staff_token(&web.db, "api", "agent").await;
        let api = get(&mut web, "/api/v1/relay-methods", &token).await;
        assert_eq!(api.status, 200, "{label}: {}", api.body);
        let json = api.json();
        assert_eq!(
            json["summary"]["pop_before_smtp_only"], 1,
            "{label}: {json}"
        );
        assert_eq!(json["summary"]["smtp_auth_only"], 1, "{label}");
        assert_eq!(json["logins"][0]["login"], "hanako", "{label}");
        assert_eq!(json["logins"][1]["login"], "taro", "{label}");
        assert_eq!(json["logins"][1]["pop_before_smtp"], 2, "{label}");
        assert_eq!(json["days"].as_array().unwrap().len(), 31, "{label}");
        let bad = get(
            &mut web,
            "/api/v1/relay-methods?since=yesterday-ish",
            &token,
        )
        .await;
        assert_eq!(bad.status, 400, "{label}");

        assert_eq!(web.get("/staff/relay-methods").await.status, 303, "{label}");
        add_staff(&web, "sato", "agent").await;
        sign_in(&mut web, "sato").await;
        let page = web.get("/staff/relay-methods?lang=en").await;
        assert_eq!(page.status, 200, "{label}: {}", page.body);
        assert!(page.body.contains(r#"data-login="taro""#), "{label}");
        assert!(!page.body.contains(r#"data-login="hanako""#), "{label}");
        assert!(page.body.contains("chart-pop-before-smtp"), "{label}");
        // The share that matters, in words; methods in words, not their codes.
        assert!(
            page.body.contains("still rely on POP before SMTP"),
            "{label}"
        );
        let row = &page.body[page.body.find(r#"data-login="taro""#).unwrap()..];
        let row = &row[..row.find("</tr>").unwrap()];
        assert!(
            row.contains("POP before SMTP") && !row.contains(">pop_before_smtp<"),
            "{label}: {row}"
        );
        assert_eq!(web.get("/staff/relay-methods?days=0").await.status, 400);
        assert_eq!(web.get("/staff/relay-methods?page=99").await.status, 400);
        let csv = web.get("/staff/relay-methods.csv?days=7").await;
        assert_eq!(csv.status, 200, "{label}");
        assert!(csv.body.starts_with("login,uses,"), "{label}: {}", csv.body);
        assert!(
            csv.body.contains("\r\ntaro,pop_before_smtp,2,"),
            "{label}: {}",
            csv.body
        );
        assert!(!csv.body.contains("hanako"), "{label}");
        let audited = crate::staff::count(
            &web,
            "select count(*) from audit where action = 'relay_methods_export' and actor = 'sato'",
            vec![],
        )
        .await;
        assert_eq!(audited, 1, "{label}");
        done(web).await;
    }
}
