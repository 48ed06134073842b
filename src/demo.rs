//! `relaydesk demo`: a fresh embedded database fed by a simulated ISP — the last 24 hours at
//! once, then live — served on the web with the policy service beside it, a demo-only staff
//! account, and addresses to try printed.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use crate::config::{Config, SourceConfig};
use crate::diagnose::Cause;
use crate::domain::Event;
use crate::ingest::follow::Follower;
use crate::ingest::pipeline::{Batch, Pipeline};
use crate::ingest::writer::Writer;
use crate::simulate::{self, SimOptions};
use crate::store::{self, Db, rejections};

pub async fn run(config: Arc<Config>, dir: &Path, speed: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let db_path = dir.join("relaydesk.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    let log = dir.join("mail.log");
    for stale in [log.clone(), dir.join("mail.log.1")] {
        let _ = std::fs::remove_file(stale);
    }
    let mut config = (*config).clone();
    config.database.url = format!("sqlite://{}", db_path.display());
    config.sources = vec![SourceConfig { path: log.clone() }];
    config.web.demo = true;
    // The demo's own policy service, on a socket in its directory: it never takes the port of
    // a policy service already running on this machine.
    let socket = dir.join("policy.sock");
    let _ = std::fs::remove_file(&socket);
    config.policy.listen = format!("unix:{}", socket.display());
    let config = Arc::new(config);

    let now = chrono::Utc::now().timestamp();
    let opts = SimOptions {
        start: now - 24 * 3600,
        hours: 24,
        customers: 500,
        window: config.relay.window.0,
        lookback: config.relay.lookback.0,
        tz: config.timezone.0,
        ..SimOptions::default()
    };
    println!(
        "relaydesk demo: simulating the last 24 hours of an ISP with {} customers…",
        opts.customers
    );
    let summary = simulate::write_day(dir, &opts)?;
    // Yesterday's log as logrotate leaves it; today's is written live below.
    std::fs::rename(&log, dir.join("mail.log.1"))?;
    std::fs::File::create(&log)?;
    let db = Db::open_config(&config.database).await?;
    let writer = Arc::new(Writer::new(db.clone(), config.relay.window.0));
    Arc::new(crate::alerts::Watch::new(db.clone(), &config)).attach(&writer);
    Follower::new(&log, config.clone(), writer)
        .await?
        .poll()
        .await?;
    println!("  {summary}");
    let password = demo_password();
    crate::staff::add(&db, "demo", "admin", &password).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let live = {
        let (stop, log) = (stop.clone(), log.clone());
        let live_opts = SimOptions {
            start: now,
            seed: 2,
            ..opts
        };
        std::thread::spawn(move || {
            if let Err(e) = simulate::run_live(&log, &live_opts, speed, &stop) {
                tracing::error!(error = %e, "simulator stopped");
            }
        })
    };
    let base = format!("http://{}", config.web.listen);
    println!("\nOpen {base}/ — the support site as a customer sees it. Try it as these addresses:");
    for (label, ip) in samples(&db, &config).await? {
        println!("  {label:<16} {base}/?as={ip}");
    }
    println!(
        "\nThe helpdesk and operators' console, with a staff account made for this demo only:"
    );
    println!("  staff  {base}/staff  name demo  password {password}");
    println!(
        "\nThe simulated mail log grows in {}; Ctrl-C stops the demo.",
        log.display()
    );
    let parts: Vec<String> = ["web", "policy", "follow", "alerts"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    db.close().await;
    let mta = tokio::spawn(ask_for_each_send(log, socket, config.clone()));
    let result = crate::serve::run(config, &parts).await;
    mta.abort();
    stop.store(true, Ordering::Relaxed);
    let _ = live.join();
    result
}

/// A password for the demo's staff account: 12 letters and digits, new each run.
fn demo_password() -> String {
    // Letters and digits that cannot be misread for one another (no l/1, O/0).
    const CHARS: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY346789";
    let mut bytes = [0u8; 12];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    bytes
        .iter()
        .map(|b| char::from(CHARS[usize::from(*b) % CHARS.len()]))
        .collect()
}

/// The demo's Postfix: follows the simulated log as it grows and, for each relay attempt it
/// logs (accepted or refused; not those sent with SMTP AUTH, which Postfix permits before
/// asking), asks the policy service what Postfix's `check_policy_service` would have asked.
/// So the policy service decides, records and counts as on a live server, and the status page
/// and dashboard show it at work.
async fn ask_for_each_send(log: PathBuf, socket: PathBuf, config: Arc<Config>) {
    let Ok(mut file) = tokio::fs::File::open(&log).await else {
        return;
    };
    if file.seek(std::io::SeekFrom::End(0)).await.is_err() {
        return;
    }
    let mut pipeline = Pipeline::new(&config, chrono::Utc::now().timestamp(), "");
    let mut batch = Batch::default();
    let (mut pending, mut buf) = (Vec::new(), vec![0u8; 64 * 1024]);
    let mut with_auth: HashSet<String> = HashSet::new();
    let mut policy: Option<tokio::net::UnixStream> = None;
    loop {
        match file.read(&mut buf).await {
            Ok(0) | Err(_) => {
                tokio::time::sleep(Duration::from_millis(250)).await;
                continue;
            }
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
        let complete = pending
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        for line in pending[..complete].split(|&b| b == b'\n') {
            pipeline.line(line, &mut batch);
        }
        pending.drain(..complete);
        for event in batch.events.drain(..) {
            let (ip, sender, rcpt) = match event {
                Event::QueueClient {
                    ip,
                    sasl_user: Some(_),
                    ..
                } => {
                    with_auth.insert(ip.to_string());
                    continue;
                }
                Event::Relayed {
                    ip, sender, rcpt, ..
                } if !with_auth.contains(&ip.to_string()) => (ip, sender, rcpt),
                Event::RelayRejected {
                    ip, sender, rcpt, ..
                } => (ip, sender, rcpt),
                _ => continue,
            };
            let request = format!(
                "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
                 client_address={ip}\nclient_name=unknown\nsender={sender}\nrecipient={rcpt}\n\n"
            );
            if policy.is_none() {
                policy = tokio::net::UnixStream::connect(&socket).await.ok();
            }
            if let Some(stream) = policy.as_mut()
                && ask(stream, &request).await.is_err()
            {
                policy = None;
            }
        }
        batch.clear();
        if with_auth.len() > 100_000 {
            with_auth.clear();
        }
    }
}

/// Sends one policy request and reads its answer (ending in an empty line).
async fn ask(stream: &mut tokio::net::UnixStream, request: &str) -> std::io::Result<()> {
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 1024];
    while !answer.ends_with(b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        answer.extend_from_slice(&buf[..n]);
    }
    Ok(())
}

/// An address for each state worth seeing: a fresh login, and the latest rejection of each cause.
async fn samples(db: &Db, config: &Config) -> anyhow::Result<Vec<(String, String)>> {
    let mut c = db.conn().await?;
    let mut out = Vec::new();
    if let Some(ip) = store::history::latest_login_ip(&mut c).await? {
        out.push(("authorized".to_string(), ip));
    }
    let relay = rejections::Filter {
        kind: Some("relay".into()),
        ..Default::default()
    };
    let mut rows = rejections::list(&mut c, &relay).await?;
    rows.reverse();
    let since = store::ingest::logs_since(&mut c).await?;
    for cause in [
        Cause::Expired,
        Cause::IpChanged,
        Cause::AuthFailed,
        Cause::NeverChecked,
    ] {
        for r in rows.iter().take(400) {
            let d = crate::explain::diagnose_rejection(&mut c, config, r, since).await?;
            if d.cause == cause {
                out.push((format!("refused: {}", cause.as_str()), r.ip.clone()));
                break;
            }
        }
    }
    out.push(("never seen".to_string(), "192.0.2.200".to_string()));
    Ok(out)
}
