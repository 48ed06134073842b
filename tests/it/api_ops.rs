//! Operations endpoints: liveness, readiness, and Prometheus metrics with who may read them.

use std::sync::Arc;

use relaydesk::config::Config;
use relaydesk::policy::protocol::Request;
use relaydesk::policy::recorder::Recorder;
use relaydesk::policy::server::Policy;

use crate::api_helpers::{backends, blocking, call, done, seed, staff_token};
use crate::web_helpers::Web;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_answer() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        let r = web.get("/healthz").await;
        assert_eq!((r.status.as_u16(), r.body.as_str()), (200, "ok"), "{label}");
        let r = web.get("/readyz").await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_ingest_policy_and_web_figures() {
    for t in backends().await {
        let label = t.label;
        let mut web = Web::new(t, Config::default());
        seed(&web.db).await;
        // A policy service of this process, counting into the same metrics.
        let index = Arc::new(relaydesk::grants::GrantIndex::new(1800, Vec::new()));
        let (recorder, _handle) = Recorder::start(web.db.clone(), 16);
        let _handle = tokio::spawn(_handle);
        let mut policy = Policy::new(&Config::default(), index, recorder);
        policy.metrics = web.app.metrics.clone();
        let request = Request {
            request: "smtpd_access_policy".into(),
            protocol_state: Some("RCPT".into()),
            client_address: Some("192.0.2.5".into()),
            sender: Some("x@example.jp".into()),
            recipient: Some("y@example.net".into()),
            ..Request::default()
        };
        assert!(policy.answer(&request, 0).unwrap().starts_with("REJECT"));
        web.get("/healthz").await;
        web.get("/no-such-page").await;

        web.set_peer("127.0.0.1");
        let r = web.get("/metrics").await;
        assert_eq!(r.status, 200, "{label}: {}", r.body);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
        for line in [
            "relaydesk_store_up 1",
            "relaydesk_ingest_lines_total{source=\"test\"} 10",
            "relaydesk_ingest_events_total{source=\"test\"} 4",
            "relaydesk_ingest_skipped_total{source=\"test\"} 5",
            "relaydesk_ingest_malformed_total{source=\"test\"} 1",
            "relaydesk_alerts_open 1",
            "relaydesk_policy_decisions_total{action=\"reject\"} 1",
            "relaydesk_policy_decisions_total{action=\"ok\"} 0",
            "relaydesk_http_responses_total{class=\"4xx\"} 1",
        ] {
            assert!(
                r.body.lines().any(|l| l == line),
                "{label}: no {line:?} in\n{}",
                r.body
            );
        }
        assert!(
            r.body
                .contains("relaydesk_ingest_last_event_age_seconds{source=\"test\"} ")
        );
        assert!(
            r.body
                .contains("relaydesk_http_request_duration_seconds_bucket{le=\"+Inf\"} ")
        );
        let twoxx = r
            .body
            .lines()
            .find_map(|l| l.strip_prefix("relaydesk_http_responses_total{class=\"2xx\"} "))
            .unwrap();
        assert!(twoxx.parse::<u64>().unwrap() >= 1, "{label}");
        done(web).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_for_local_scrapers_and_staff_tokens_only() {
    let mut web = Web::new(blocking(crate::helpers::sqlite).await, Config::default());
    let token = staff_token(&web.db, "agent.sato", "agent").await;
    web.set_peer("198.51.100.1");
    let r = web.get("/metrics").await;
    assert_eq!(r.status, 401);
    assert!(r.headers.contains_key("www-authenticate"));
    let r = call(&mut web, "GET", "/metrics", Some(&token), None).await;
    assert_eq!(r.status, 200);
    // A visitor through the trusted proxy on loopback has their own address.
    web.set_peer("127.0.0.1");
    let r = web
        .get_with("/metrics", &[("x-forwarded-for", "198.51.100.1")])
        .await;
    assert_eq!(r.status, 401);
    let r = web.get("/metrics").await;
    assert_eq!(r.status, 200);
    web.set_peer("::1");
    assert_eq!(web.get("/metrics").await.status, 200);
}
