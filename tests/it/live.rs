//! A customer's "Send/Receive all": the login line lands in the followed log, and within a
//! second the support site says that address may send.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use relaydesk::config::Config;
use relaydesk::ingest::follow::Follower;
use relaydesk::ingest::writer::Writer;

use crate::helpers::{config_with, sqlite};
use crate::web_helpers::Web;

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_login_line_turns_the_page_authorized_within_a_second() {
    let t = sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mail.log");
    std::fs::File::create(&log).unwrap();
    let config = config_with(&t.url, &[&log]);
    let writer = Arc::new(Writer::new(t.db.clone(), 1800));
    let follower = Follower::new(&log, config, writer).await.unwrap();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let follow = tokio::spawn(follower.run(stopped));

    let mut web = Web::new(t, Config::default());
    web.set_peer("203.0.113.77");
    assert_eq!(
        web.get("/api/v1/connection").await.json()["state"],
        "no_attempt"
    );

    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6f%:z");
    let line = format!(
        "{now} mail dovecot: pop3-login: Login: user=<taro>, method=PLAIN, rip=203.0.113.77, \
         lip=192.0.2.25, mpid=4242, session=<live>\n"
    );
    let written = Instant::now();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(line.as_bytes())
        .unwrap();
    loop {
        let state = web.get("/api/v1/connection").await.json()["state"].clone();
        if state == "authorized" {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(1),
            "still {state} after a second"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let page = web.get("/").await;
    assert!(page.body.contains(r#"data-state="authorized""#));
    stop.send(true).unwrap();
    follow.await.unwrap().unwrap();
}
