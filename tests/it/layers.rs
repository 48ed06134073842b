//! What every request passes through: request ids, the access log, body limits, the timeout,
//! caught panics, compression and the security headers.

use std::io::{Read, Write};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use relaydesk::config::{Config, Seconds};
use relaydesk::web;

use crate::helpers::{binary, sqlite};
use crate::web_helpers::{Web, done};

fn id_of(reply: &crate::web_helpers::Reply) -> String {
    reply.headers["x-request-id"].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_has_a_request_id_and_error_pages_show_it() {
    let mut web = Web::new(sqlite().await, Config::default());
    web.set_peer("203.0.113.7");
    let mut ids = Vec::new();
    for path in [
        "/",
        "/static/style.css",
        "/api/v1/connection",
        "/no-such-page",
    ] {
        let reply = web.get(path).await;
        let id = id_of(&reply);
        assert_eq!(id.len(), 32, "{path}: {id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{path}: {id}");
        assert!(
            reply.headers.contains_key(header::CONTENT_SECURITY_POLICY),
            "{path}"
        );
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{path}");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "a new id for each request");

    let missing = web
        .get_with("/no-such-page", &[("accept-language", "en")])
        .await;
    assert_eq!(missing.status, 404);
    let id = id_of(&missing);
    assert!(
        missing
            .body
            .contains(&format!("<code data-request-id>{id}</code>")),
        "{}",
        missing.body
    );
    assert!(missing.body.contains("please quote this number"));
    let api = web.get("/api/v1/no-such-thing").await;
    assert_eq!(api.json()["request_id"], id_of(&api));

    // A proxy's id is kept only from a trusted proxy (127.0.0.1 by default), and only a token.
    let sent = [("x-request-id", "lb-7f3a9c")];
    assert_eq!(
        id_of(&web.get_with("/", &sent).await).len(),
        32,
        "an untrusted peer's id is replaced"
    );
    web.set_peer("127.0.0.1");
    assert_eq!(id_of(&web.get_with("/", &sent).await), "lb-7f3a9c");
    let forged = [("x-request-id", "a b<script>")];
    assert_eq!(id_of(&web.get_with("/", &forged).await).len(), 32);
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_body_is_refused_at_once_with_a_page_in_the_visitors_language() {
    let mut web = Web::new(sqlite().await, Config::default());
    let form = format!("user=taro&password={}", "x".repeat(1024 * 1024));
    for (lang, words) in [("en", "too large"), ("ja", "大きすぎ")] {
        let request = Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CONTENT_LENGTH, form.len())
            .header("accept-language", lang)
            .body(Body::from(form.clone()))
            .unwrap();
        let reply = web.send(request).await;
        assert_eq!(reply.status, 413, "{lang}");
        assert!(reply.body.contains(words), "{lang}: {}", reply.body);
    }
    // The API allows more (256 KiB), but not without limit.
    let json = format!(
        "{{\"ip\":\"203.0.113.7\",\"reason\":\"{}\"}}",
        "x".repeat(300 * 1024)
    );
    let request = Request::post("/api/v1/blocks")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, json.len())
        .body(Body::from(json))
        .unwrap();
    assert_eq!(web.send(request).await.status, 413);
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_come_compressed_when_asked() {
    let mut web = Web::new(sqlite().await, Config::default());
    for (asked, got) in [("gzip", "gzip"), ("br", "br"), ("br, gzip", "br")] {
        for path in ["/", "/static/style.css", "/api/v1/status", "/notices.atom"] {
            let reply = web.get_with(path, &[("accept-encoding", asked)]).await;
            assert_eq!(reply.status, 200, "{path}");
            assert_eq!(
                reply.headers["content-encoding"], got,
                "{path} with {asked}"
            );
        }
    }
    let plain = web.get("/").await;
    assert!(!plain.headers.contains_key("content-encoding"));
    assert!(plain.body.contains("<html"));
    done(web).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_panics_or_hangs_gets_a_page_not_a_dropped_connection() {
    use tower::ServiceExt;
    let t = sqlite().await;
    let mut config = Config::default();
    config.web.request_timeout = Seconds(1);
    let app = web::App::new(std::sync::Arc::new(config), t.db.clone(), None);
    let routes = axum::Router::new()
        .route(
            "/boom",
            axum::routing::get(|| async {
                if std::hint::black_box(true) {
                    panic!("a bug");
                }
                "never"
            }),
        )
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let site = web::layers::around(routes, &app).with_state(app.clone());
    let ask =
        |path: &str| {
            let mut request = Request::get(path)
                .header("accept-language", "en")
                .body(Body::empty())
                .unwrap();
            request.extensions_mut().insert(axum::extract::ConnectInfo(
                std::net::SocketAddr::from(([203, 0, 113, 7], 5000)),
            ));
            site.clone().oneshot(request)
        };
    let boom = ask("/boom").await.unwrap();
    assert_eq!(boom.status(), 500);
    let id = boom.headers()["x-request-id"].to_str().unwrap().to_string();
    let body = axum::body::to_bytes(boom.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains(&id), "{body}");
    assert!(
        !body.contains("a bug"),
        "the panic's message stays in the log"
    );
    let mut metrics = relaydesk::metrics::Text::default();
    app.metrics.render(&mut metrics);
    assert!(metrics.finish().contains("relaydesk_http_panics_total 1"));

    let started = std::time::Instant::now();
    let slow = ask("/slow").await.unwrap();
    assert_eq!(slow.status(), 503);
    assert!(started.elapsed() < Duration::from_secs(5));
    let body = axum::body::to_bytes(slow.into_body(), 1 << 20)
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&body).contains("Not available right now"));
    t.db.close().await;
}

/// The access log, as an operator greps it: one line per request with its path, status and
/// id, and never a credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_names_path_status_and_id_and_no_credential() {
    let dir = tempfile::tempdir().unwrap();
    let port = crate::helpers::free_port();
    std::fs::write(
        dir.path().join("relaydesk.toml"),
        format!(
            "[database]\nurl = \"sqlite://{}\"\n[web]\nlisten = \"127.0.0.1:{port}\"\n",
            dir.path().join("relaydesk.db").display()
        ),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let mut child = std::process::Command::new(binary())
        .args(["--config", "relaydesk.toml", "serve", "--only", "web"])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .env_remove("RELAYDESK_DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut stream = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            break s;
        }
        assert!(std::time::Instant::now() < deadline, "web never listened");
        std::thread::sleep(Duration::from_millis(50));
    };
    write!(
        stream,
        "GET /api/v1/audit?x=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekrit-token-123\r\n\
         Cookie: rd_session=sekrit-cookie-456\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let id = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-request-id: "))
        .expect("an id")
        .trim()
        .to_string();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap();
        if let Some(line) = text
            .lines()
            .find(|l| l.contains(&id) && l.contains("answered"))
        {
            break line.to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no access log line for {id}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("/api/v1/audit"), "{line}");
    assert!(line.contains("401"), "{line}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("sekrit"),
        "a credential reached the log:\n{text}"
    );
}
