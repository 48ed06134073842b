//! CPU time of one policy answer, without the network: `Policy::answer` for a refused relay and
//! for a granted one, over a grant index holding 100,000 addresses. The recorder's channel is
//! large enough that no record is dropped; its writer is not run.
//!
//! cargo run --release --example policy_answer -- [ANSWERS]

use std::sync::Arc;
use std::time::Instant;

use relaydesk::config::Config;
use relaydesk::grants::GrantIndex;
use relaydesk::policy::protocol::Request;
use relaydesk::policy::recorder::Recorder;
use relaydesk::policy::server::Policy;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = std::env::temp_dir().join(format!("policy-answer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.join("db").display());
    let db = relaydesk::store::Db::open_config(&config.database)
        .await
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let index = Arc::new(GrantIndex::new(1800, vec![]));
    for i in 0..100_000u32 {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).into();
        index.login(ip, &format!("user{i}"), now - (i as i64 % 7200));
    }
    let (recorder, _writer) = Recorder::start(db, n * 2 + 10);
    let policy = Policy::new(&config, index, recorder);
    let request = |ip: u32, sender: &str| Request {
        request: "smtpd_access_policy".into(),
        protocol_state: Some("RCPT".into()),
        client_address: Some(std::net::Ipv4Addr::from(ip).to_string()),
        sender: Some(sender.into()),
        recipient: Some("friend@example.net".into()),
        ..Request::default()
    };
    for (what, base) in [
        ("refused (never checked)", 0xc000_0200u32),
        ("refused (expired)", 0x0a00_0000 + 50_000),
        ("granted", 0x0a00_0000),
    ] {
        let reqs: Vec<Request> = (0..1000)
            .map(|k| {
                request(
                    base + if what == "granted" { k % 1000 } else { k },
                    "user7@example.jp",
                )
            })
            .collect();
        let started = Instant::now();
        let mut bytes = 0;
        for i in 0..n {
            bytes += policy.answer(&reqs[i % 1000], now).map_or(0, |a| a.len());
        }
        let ns = started.elapsed().as_nanos() as f64 / n as f64;
        println!("{what}: {ns:.0} ns per answer ({bytes} bytes)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
