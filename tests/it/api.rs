//! The JSON API as staff tools use it: bearer tokens, lookups that are audited, actions that
//! change the store, clear 400s — and the operations endpoints.

use relaydesk::config::Config;
use relaydesk::store;
use relaydesk::web::session::{Kind, SESSION_COOKIE, Session};
use serde_json::json;

use crate::api_helpers::{
    HOME, ROAMING, audited, backends, blocking, call, done, get, seed, staff_token,
};
use crate::web_helpers::{Web, urlencode};

/// Blocks, suspensions and staff grants in force now.
async fn snapshot(web: &Web) -> store::authz::Snapshot {
    let db = web.db.clone();
    blocking(async move || {
        store::authz::snapshot(&mut db.conn().await.unwrap(), crate::api_helpers::now())
            .await
            .unwrap()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_rejections_with_their_causes_and_each_lookup_is_audited() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        seed(&web.db).await;
        let token = staff_token(&web.db, "agent.sato", "agent").await;

        let all = get(&mut web, "/api/v1/rejections", &token).await;
        assert_eq!(all.status, 200, "{label}: {}", all.body);
        let all = all.json();
        let causes: Vec<&str> = all["rejections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["cause"].as_str().unwrap())
            .collect();
        assert_eq!(causes, ["ip_changed", "unknown_sender"], "{label}");
        assert_eq!(all["truncated"], false);

        let one = get(
            &mut web,
            &format!("/api/v1/rejections?ip={ROAMING}"),
            &token,
        )
        .await;
        let one = one.json();
        let r = &one["rejections"][0];
        assert_eq!(one["rejections"].as_array().unwrap().len(), 1, "{label}");
        for field in ["at", "ip", "sender", "rcpt", "login", "cause", "evidence"] {
            assert!(r.get(field).is_some(), "{label}: no {field} in {r}");
        }
        assert_eq!(r["login"], "taro");
        assert!(r["evidence"].is_object(), "{label}: {r}");

        let by_login = get(&mut web, "/api/v1/rejections?login=taro&limit=1", &token).await;
        assert_eq!(by_login.json()["rejections"][0]["ip"], ROAMING, "{label}");

        assert_eq!(
            audited(&web.db, "agent.sato").await,
            [
                ("api_rejections".to_string(), "*".to_string()),
                ("api_rejections".into(), ROAMING.into()),
                ("api_rejections".into(), "taro".into()),
            ],
            "{label}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_see_a_logins_addresses_and_who_held_an_address() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        seed(&web.db).await;
        let token = staff_token(&web.db, "agent.sato", "agent").await;

        let history = get(&mut web, "/api/v1/history?login=taro", &token).await;
        assert_eq!(history.status, 200, "{label}: {}", history.body);
        let history = history.json();
        let rows: Vec<(&str, &str)> = history["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["kind"].as_str().unwrap(), r["ip"].as_str().unwrap()))
            .collect();
        assert_eq!(
            rows,
            [("login_failed", "198.51.100.50"), ("session", HOME)],
            "{label}"
        );

        let by_ip = get(&mut web, &format!("/api/v1/history?ip={HOME}"), &token).await;
        assert_eq!(by_ip.json()["history"][0]["login"], "taro", "{label}");

        let who = get(&mut web, &format!("/api/v1/who?ip={HOME}&at=1m"), &token).await;
        assert_eq!(who.status, 200, "{label}: {}", who.body);
        let who = who.json();
        assert_eq!(who["holders"][0]["login"], "taro", "{label}");
        assert_eq!(who["holders"][0]["held_at"], true, "{label}");
        let nobody = get(&mut web, "/api/v1/who?ip=192.0.2.200", &token).await;
        assert_eq!(nobody.json()["holders"], json!([]), "{label}");

        assert_eq!(
            audited(&web.db, "agent.sato").await,
            [
                ("api_history".to_string(), "taro".to_string()),
                ("api_history".into(), HOME.into()),
                ("api_who".into(), HOME.into()),
                ("api_who".into(), "192.0.2.200".into()),
            ],
            "{label}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_listed_and_acknowledged() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let id = seed(&web.db).await;
        let token = staff_token(&web.db, "agent.sato", "agent").await;

        let open = get(&mut web, "/api/v1/alerts", &token).await.json();
        let alert = &open["alerts"][0];
        assert_eq!(alert["subject"], "192.0.2.66", "{label}");
        assert_eq!(alert["kind"], "ip");
        assert_eq!(alert["count"], 150);
        assert_eq!(alert["carrier_share"], 0.2);

        let ack = call(
            &mut web,
            "POST",
            &format!("/api/v1/alerts/{id}/ack"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(ack.status, 200, "{label}: {}", ack.body);
        let again = call(
            &mut web,
            "POST",
            &format!("/api/v1/alerts/{id}/ack"),
            Some(&token),
            None,
        )
        .await;
        assert_eq!(again.status, 404, "{label}");
        let none = call(
            &mut web,
            "POST",
            "/api/v1/alerts/999999/ack",
            Some(&token),
            None,
        )
        .await;
        assert_eq!(none.status, 404, "{label}");

        let open = get(&mut web, "/api/v1/alerts", &token).await.json();
        assert_eq!(open["alerts"], json!([]), "{label}");
        let all = get(&mut web, "/api/v1/alerts?all=true", &token)
            .await
            .json();
        assert_eq!(all["alerts"][0]["acknowledged"], true, "{label}");
        let actions: Vec<String> = audited(&web.db, "agent.sato")
            .await
            .into_iter()
            .map(|(a, _)| a)
            .collect();
        assert_eq!(
            actions,
            ["api_alerts", "api_alert_ack", "api_alerts", "api_alerts"],
            "{label}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_valid_token_the_api_answers_401_before_looking_anything_up() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        seed(&web.db).await;
        let token = staff_token(&web.db, "agent.sato", "agent").await;
        let forged = format!("rd_{}", "0".repeat(64));
        for path in [
            "/api/v1/rejections",
            "/api/v1/rejections?ip=not-an-ip",
            "/api/v1/history?login=taro",
            "/api/v1/who?ip=203.0.113.10",
            "/api/v1/alerts",
            "/api/v1/audit",
        ] {
            for bad in [None, Some(forged.as_str()), Some("rd_short")] {
                let r = call(&mut web, "GET", path, bad, None).await;
                assert_eq!(r.status, 401, "{label} {path} {bad:?}");
                assert!(
                    r.headers["www-authenticate"]
                        .to_str()
                        .unwrap()
                        .starts_with("Bearer"),
                    "{label}"
                );
                assert_eq!(r.json()["error"], "unauthorized", "{label}");
            }
        }
        let db = web.db.clone();
        blocking(async move || relaydesk::staff::disable(&db, "agent.sato").await.unwrap()).await;
        let r = get(&mut web, "/api/v1/alerts", &token).await;
        assert_eq!(r.status, 401, "{label}: a disabled account's token");
        assert!(audited(&web.db, "agent.sato").await.is_empty(), "{label}");
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_change_the_store_and_are_audited() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let token = staff_token(&web.db, "agent.sato", "agent").await;
        let t = Some(token.as_str());

        let grant = json!({"ip": "198.51.100.20", "minutes": 30, "reason": "on the phone"});
        let r = call(&mut web, "POST", "/api/v1/grants", t, Some(&grant)).await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        assert!(r.json()["message"].as_str().unwrap().contains("30 minutes"));
        let db = web.db.clone();
        let grants = blocking(async move || {
            store::restrictions::active_grants(
                &mut db.conn().await.unwrap(),
                crate::api_helpers::now(),
            )
            .await
            .unwrap()
        })
        .await;
        assert_eq!(grants.len(), 1, "{label}");
        assert_eq!(
            (grants[0].ip.as_str(), grants[0].created_by.as_str()),
            ("198.51.100.20", "agent.sato")
        );

        let block = json!({"ip": "198.51.100.0/24", "reason": "spam run"});
        let r = call(&mut web, "POST", "/api/v1/blocks", t, Some(&block)).await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        let suspend = json!({"login": "taro", "reason": "password stolen"});
        let r = call(&mut web, "POST", "/api/v1/suspensions", t, Some(&suspend)).await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        let snap = snapshot(&web).await;
        assert_eq!(snap.blocks, ["198.51.100.0/24"], "{label}");
        assert_eq!(snap.suspended, ["taro"], "{label}");

        let net = urlencode("198.51.100.0/24");
        let r = call(
            &mut web,
            "DELETE",
            &format!("/api/v1/blocks/{net}"),
            t,
            None,
        )
        .await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        assert_eq!(r.json()["message"], "198.51.100.0/24 is unblocked");
        let r = call(&mut web, "DELETE", "/api/v1/suspensions/taro", t, None).await;
        assert_eq!(r.json()["message"], "taro is unsuspended", "{label}");
        let snap = snapshot(&web).await;
        assert!(
            snap.blocks.is_empty() && snap.suspended.is_empty(),
            "{label}"
        );

        assert_eq!(
            audited(&web.db, "agent.sato").await,
            [
                ("api_grant".to_string(), "198.51.100.20".to_string()),
                ("api_block".into(), "198.51.100.0/24".into()),
                ("api_suspend".into(), "taro".into()),
                ("api_unblock".into(), "198.51.100.0/24".into()),
                ("api_unsuspend".into(), "taro".into()),
            ],
            "{label}"
        );
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_session_cookie_does_not_authenticate_the_api() {
    let mut web = Web::new(blocking(crate::helpers::sqlite).await, Config::default());
    staff_token(&web.db, "agent.sato", "agent").await;
    let (_session, cookie) = Session::start(&web.app, Kind::Staff, "agent.sato")
        .await
        .unwrap();
    web.cookies.insert(SESSION_COOKIE.into(), cookie);
    let block = json!({"ip": "198.51.100.7", "reason": "cookie only"});
    let r = call(&mut web, "POST", "/api/v1/blocks", None, Some(&block)).await;
    assert_eq!(r.status, 401);
    let r = call(&mut web, "GET", "/api/v1/rejections", None, None).await;
    assert_eq!(r.status, 401);
    let snap = snapshot(&web).await;
    assert!(snap.blocks.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_400_naming_the_field() {
    let mut web = Web::new(blocking(crate::helpers::sqlite).await, Config::default());
    let token = staff_token(&web.db, "agent.sato", "agent").await;
    let t = Some(token.as_str());
    for (path, field) in [
        ("/api/v1/rejections?ip=300.1.2.3", "ip"),
        ("/api/v1/rejections?since=last+tuesday", "since"),
        ("/api/v1/rejections?until=xx", "until"),
        ("/api/v1/rejections?limit=0", "limit"),
        ("/api/v1/rejections?limit=lots", "limit"),
        ("/api/v1/history", "login"),
        ("/api/v1/history?ip=nope", "ip"),
        ("/api/v1/who?at=1h", "ip"),
        ("/api/v1/who?ip=203.0.113.1&at=soon", "at"),
        ("/api/v1/alerts?all=maybe", "all"),
        ("/api/v1/alerts/abc/ack", "id"),
        ("/api/v1/blocks/not%20a%20net", "ip"),
    ] {
        let method = match path {
            p if p.ends_with("/ack") => "POST",
            p if p.starts_with("/api/v1/blocks/") => "DELETE",
            _ => "GET",
        };
        let r = call(&mut web, method, path, t, None).await;
        assert_eq!(r.status, 400, "{path}: {}", r.body);
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            detail.starts_with(&format!("{field}: ")),
            "{path}: {detail}"
        );
    }
    for (path, body, field) in [
        (
            "/api/v1/grants",
            json!({"ip": "x", "minutes": 5, "reason": "r"}),
            "ip",
        ),
        (
            "/api/v1/grants",
            json!({"ip": "192.0.2.1", "minutes": "5", "reason": "r"}),
            "minutes",
        ),
        (
            "/api/v1/grants",
            json!({"ip": "192.0.2.1", "minutes": 0, "reason": "r"}),
            "minutes",
        ),
        (
            "/api/v1/grants",
            json!({"ip": "192.0.2.1", "minutes": 5}),
            "reason",
        ),
        (
            "/api/v1/grants",
            json!({"ip": "192.0.2.1", "minutes": 5, "reason": " "}),
            "reason",
        ),
        ("/api/v1/grants", json!([1, 2]), "body"),
        (
            "/api/v1/blocks",
            json!({"ip": "192.0.2.0/33", "reason": "r"}),
            "ip",
        ),
        (
            "/api/v1/suspensions",
            json!({"login": "", "reason": "r"}),
            "login",
        ),
        ("/api/v1/suspensions", json!({"reason": "r"}), "login"),
    ] {
        let r = call(&mut web, "POST", path, t, Some(&body)).await;
        assert_eq!(r.status, 400, "{path} {body}: {}", r.body);
        let detail = r.json()["detail"].as_str().unwrap_or_default().to_string();
        assert!(
            detail.starts_with(&format!("{field}: ")),
            "{path} {body}: {detail}"
        );
    }
    let garbage = axum::http::Request::post("/api/v1/grants")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::from("{not json"))
        .unwrap();
    let r = web.send(garbage).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["detail"], "body: not valid JSON");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_admins_read_the_audit_log() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let agent = staff_token(&web.db, "agent.sato", "agent").await;
        let admin = staff_token(&web.db, "boss", "admin").await;
        get(&mut web, "/api/v1/who?ip=192.0.2.9", &agent).await;
        let r = get(&mut web, "/api/v1/audit", &agent).await;
        assert_eq!(r.status, 403, "{label}");
        let r = get(&mut web, "/api/v1/audit?actor=agent.sato", &admin).await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        let entries = r.json()["entries"].clone();
        assert_eq!(entries.as_array().unwrap().len(), 1, "{label}: {entries}");
        assert_eq!(entries[0]["action"], "api_who");
        assert_eq!(entries[0]["subject"], "192.0.2.9");
        assert_eq!(
            audited(&web.db, "boss").await,
            [("api_audit".to_string(), "audit".to_string())]
        );
        done(web).await;
    }
}

/// Grants, blocks and suspensions made on the command line are audited like the pages' and
/// the API's, with the operating-system user as the actor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_from_the_command_line_appear_in_the_audit_log() {
    for t in backends().await {
        let label = t.label;
        let dir = tempfile::tempdir().unwrap();
        let cli = |args: &[&str]| {
            let mut all = vec!["--db", t.url.as_str()];
            all.extend_from_slice(args);
            let out = std::process::Command::new(crate::helpers::binary())
                .args(&all)
                .current_dir(dir.path())
                .env("USER", "operator")
                .env_remove("SUDO_USER")
                .env_remove("RELAYDESK_DATABASE_URL")
                .output()
                .unwrap();
            assert!(out.status.success(), "{label} {args:?}: {out:?}");
        };
        cli(&[
            "grant",
            "203.0.113.9",
            "--minutes",
            "30",
            "--reason",
            "on the phone",
        ]);
        cli(&["suspend", "taro", "--reason", "spam complaint"]);
        cli(&["block", "198.51.100.0/24", "--reason", "relay burst"]);
        cli(&["unblock", "198.51.100.0/24"]);
        let mut web = Web::new(t, Config::default());
        let admin = staff_token(&web.db, "boss", "admin").await;
        let r = get(&mut web, "/api/v1/audit?actor=cli:operator", &admin).await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        let entries = r.json()["entries"].clone();
        let mut seen: Vec<(String, String, String)> = entries
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap().to_string(),
                    e["subject"].as_str().unwrap().to_string(),
                    e["reason"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        seen.sort();
        let expected = [
            ("block", "198.51.100.0/24", "relay burst"),
            ("grant", "203.0.113.9", "on the phone"),
            ("suspend", "taro", "spam complaint"),
            ("unblock", "198.51.100.0/24", ""),
        ]
        .map(|(a, s, r)| (a.to_string(), s.to_string(), r.to_string()));
        assert_eq!(seen, expected, "{label}: {entries}");
        done(web).await;
    }
}
