//! Calling the JSON API as a staff tool would: bearer tokens, JSON bodies, and a small store
//! seeded with logins, a failure, rejections and an alert.

use axum::body::Body;
use axum::http::{Request, header};
use relaydesk::abuse::{AlertKind, Burst};
use relaydesk::domain::{Event, FailReason, Service};
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::{self, Db};
use serde_json::Value;

use crate::helpers::TestDb;
use crate::web_helpers::{Reply, Web};

/// Runs `f` (store work of a test) and gives its result.
pub async fn blocking<T>(f: impl AsyncFnOnce() -> T) -> T {
    f().await
}

/// A fresh database per backend (`helpers::databases`).
pub async fn backends() -> Vec<TestDb> {
    crate::helpers::databases().await
}

/// Closes a test's web app and database.
pub async fn done(web: Web) {
    web.db.close().await;
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A new staff account with `role` and an API token for it.
pub async fn staff_token(db: &Db, name: &str, role: &str) -> String {
    relaydesk::staff::add(db, name, role, "a long enough password")
        .await
        .unwrap();
    relaydesk::staff::create_token(db, name).await.unwrap()
}

/// `method path` with an optional bearer token and JSON body.
pub async fn call(
    web: &mut Web,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    web.send(request.body(body).unwrap()).await
}

pub async fn get(web: &mut Web, path: &str, token: &str) -> Reply {
    call(web, "GET", path, Some(token), None).await
}

/// Where the seeded customer `taro` logged in from, and the address a rejection came from.
pub const HOME: &str = "203.0.113.10";
pub const ROAMING: &str = "203.0.113.20";

/// taro logs in from HOME a minute ago, then a relay from ROAMING with taro's address is refused
/// (cause `ip_changed`); a failed login by taro, a spam relay from elsewhere (`unknown_sender`),
/// ingest counters for source `test`, and one open alert. Returns the alert's id.
pub async fn seed(db: &Db) -> i64 {
    let now = now();
    let writer = Writer::new(db.clone(), 1800);
    let events = vec![
        Event::Login {
            at: now - 60,
            service: Service::Pop3,
            user: "taro".into(),
            ip: HOME.parse().unwrap(),
        },
        Event::LoginFailed {
            at: now - 50,
            service: Service::Imap,
            user: Some("taro".into()),
            ip: "198.51.100.50".parse().unwrap(),
            reason: FailReason::AuthFailed,
        },
        Event::RelayRejected {
            at: now - 30,
            ip: ROAMING.parse().unwrap(),
            sender: "taro@example.jp".into(),
            rcpt: "friend@example.net".into(),
            reply: "554 5.7.1 Relay access denied".into(),
        },
        Event::RelayRejected {
            at: now - 20,
            ip: "192.0.2.66".parse().unwrap(),
            sender: "promo@spam.example".into(),
            rcpt: "victim@example.org".into(),
            reply: "554 5.7.1 Relay access denied".into(),
        },
    ];
    let mut batch = Batch {
        events,
        ..Batch::default()
    };
    batch.counts.lines = 10;
    batch.counts.events = 4;
    batch.counts.skipped = 5;
    batch.counts.malformed = 1;
    writer.commit("test", "{}", &batch, None).await.unwrap();
    let burst = Burst {
        kind: AlertKind::Ip,
        subject: "192.0.2.66".into(),
        first: now - 600,
        last: now - 20,
        count: 150,
        carrier: 30,
        samples: vec!["victim@example.org".into()],
        ips: vec!["192.0.2.66".into()],
    };
    store::alerts::record(&mut db.conn().await.unwrap(), &burst, 600, now)
        .await
        .unwrap()
        .0
}

/// The audit actions recorded for `actor`, oldest first.
pub async fn audited(db: &Db, actor: &str) -> Vec<(String, String)> {
    let mut entries = store::audit::list(&mut db.conn().await.unwrap(), None, Some(actor), 0, 1000)
        .await
        .unwrap();
    entries.reverse();
    entries.into_iter().map(|e| (e.action, e.subject)).collect()
}
