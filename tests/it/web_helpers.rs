//! Driving the web router directly, as a browser would, without a socket: each request carries
//! its peer address, cookies are kept like a browser keeps them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use relaydesk::config::Config;
use relaydesk::store::Db;
use relaydesk::web::{self, App};
use tower::ServiceExt;

use crate::helpers::{TestDb, databases};
use relaydesk::domain::Event;
use relaydesk::ingest::pipeline::Batch;
use relaydesk::ingest::writer::Writer;
use relaydesk::store::{self as rstore, Conn};

pub struct Web {
    pub app: Arc<App>,
    pub db: Db,
    pub peer: SocketAddr,
    pub cookies: BTreeMap<String, String>,
    /// The database this site owns (none for a second visitor of another's site).
    _t: Option<TestDb>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The body as sent, for what is not text (a signed profile).
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Web {
    pub fn new(t: TestDb, config: Config) -> Web {
        let mut config = config;
        config.database.url = t.url.clone();
        let app = App::new(Arc::new(config), t.db.clone(), None);
        Web {
            app,
            db: t.db.clone(),
            peer: "203.0.113.7:50000".parse().unwrap(),
            cookies: BTreeMap::new(),
            _t: Some(t),
        }
    }

    /// Another visitor (another browser, no cookies) of the same site.
    pub fn new_sharing(other: &Web) -> Web {
        Web {
            app: other.app.clone(),
            db: other.db.clone(),
            peer: other.peer,
            cookies: BTreeMap::new(),
            _t: None,
        }
    }

    pub fn set_peer(&mut self, ip: &str) {
        self.peer = SocketAddr::new(ip.parse().unwrap(), 50000);
    }

    pub async fn send(&mut self, mut request: Request<Body>) -> Reply {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        if !self.cookies.is_empty() && !request.headers().contains_key(header::COOKIE) {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            request
                .headers_mut()
                .insert(header::COOKIE, jar.join("; ").parse().unwrap());
        }
        let response = web::router(self.app.clone())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for set in headers.get_all(header::SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attrs) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes: bytes.to_vec(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.get_with(path, &[]).await
    }

    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        let mut request = Request::get(path);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        let request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.join("&")))
            .unwrap();
        self.send(request).await
    }
}

pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub use crate::api_helpers::blocking;

/// A fresh database per backend.
pub async fn dbs() -> Vec<TestDb> {
    databases().await
}

/// Runs store work `f` with a connection of the test site's database.
pub async fn with_db<T>(web: &Web, f: impl AsyncFnOnce(&mut Conn) -> rstore::Result<T>) -> T {
    web.db.run(f).await.unwrap()
}

/// Ends a test site: its database's connections close.
pub async fn done(web: Web) {
    web.db.close().await;
}

pub async fn store_events(web: &Web, events: Vec<Event>) {
    Writer::new(web.db.clone(), 1800)
        .commit(
            "test",
            "{}",
            &Batch {
                events,
                ..Batch::default()
            },
            None,
        )
        .await
        .unwrap()
}
