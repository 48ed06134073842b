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
use crate::diagnose::Audience;
use crate::domain::Event;
use crate::ingest::follow::Follower;
use crate::ingest::pipeline::{Batch, Pipeline};
use crate::ingest::writer::Writer;
use crate::simulate::{self, SimOptions, showcase};
use crate::store::{self, Db};

pub async fn run(config: Arc<Config>, dir: &Path, speed: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Absolute, so the database URL it prints works from any directory.
    let dir = &std::path::absolute(dir)?;
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
    // Customer sign-in, with accounts for the scripted customers (their password printed).
    let password = demo_password();
    let users = dir.join("users");
    std::fs::write(
        &users,
        showcase::ALL
            .iter()
            .map(|c| format!("{}:{{PLAIN}}{password}::\n", c.login))
            .collect::<String>(),
    )?;
    config.customer_auth = crate::config::CustomerAuthConfig {
        method: crate::config::CustomerAuthMethod::PasswdFile,
        passwd_file: users,
        ..crate::config::CustomerAuthConfig::default()
    };
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
        showcase: Some(now),
        ..SimOptions::default()
    };
    println!(
        "relaydesk demo: simulating the last 24 hours of an ISP with {} customers…",
        opts.customers
    );
    let summary = simulate::write_day(dir, &opts)?;
    // Yesterday's log as logrotate leaves it; today's is written live below.
    let yesterday = dir.join("mail.log.1");
    std::fs::rename(&log, &yesterday)?;
    std::fs::File::create(&log)?;
    let db = Db::open_config(&config.database).await?;
    let writer = Arc::new(Writer::new(db.clone(), config.relay.window.0));
    Arc::new(crate::alerts::Watch::new(db.clone(), &config)).attach(&writer);
    Follower::new(&log, config.clone(), writer)
        .await?
        .poll()
        .await?;
    // The policy service decided yesterday's sends as they happened: its decisions and the
    // refusals' `/why` pages exist for the past day too.
    decide_the_day(&yesterday, &db, &config).await?;
    println!("  {summary}");
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
    println!(
        "\nOpen {base}/ — the support site as a customer sees it. Try it as these connections \
         (each keeps its state while the demo runs):"
    );
    for c in [&showcase::TARO, &showcase::HANAKO, &showcase::SABURO] {
        println!("  {:<22} {base}/?as={}", c.state, c.check_ip);
    }
    println!("  {:<22} {base}/?as=192.0.2.200", "no_attempt");
    println!("\nWhy a send was refused — the page the link in the mail program's error opens:");
    for (cause, code) in refusal_pages(&db, &config).await? {
        println!("  {cause:<22} {base}/why/{code}");
    }
    println!("\nThe customers' own page, {base}/login (password {password} for each):");
    println!(
        "  {}",
        showcase::ALL
            .iter()
            .map(|c| c.login)
            .collect::<Vec<_>>()
            .join("  ")
    );
    println!(
        "\nThe helpdesk and operators' console, with a staff account made for this demo only:"
    );
    println!("  staff  {base}/staff  name demo  password {password}");
    println!(
        "\nThe command line beside the demo reads its database:\n  \
         relaydesk --db {} rejections --since 1h",
        config.database.url
    );
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
            let Some((_, request)) = relay_attempt(&event, &mut with_auth) else {
                continue;
            };
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

/// The newest refusal of each scripted customer whose `/why` page names the cause they stand
/// for, as the store diagnoses it (the page's own words), by cause.
async fn refusal_pages(db: &Db, config: &Config) -> anyhow::Result<Vec<(&'static str, String)>> {
    let mut c = db.conn().await?;
    let since = store::ingest::logs_since(&mut c).await?;
    let now = chrono::Utc::now().timestamp();
    let mut out = Vec::new();
    for who in [
        &showcase::HANAKO,
        &showcase::JIRO,
        &showcase::SABURO,
        &showcase::SHIRO,
    ] {
        let sender = format!("{}@{}", who.login, config.relay.customer_domains[0]);
        let codes =
            store::decisions::refusal_codes(&mut c, who.send_ip, now - 86400, now, 20).await?;
        for (at, _, code) in codes {
            let ip: crate::domain::ClientIp = who.send_ip.parse()?;
            let d = crate::explain::diagnose_refusal(
                &mut c,
                config,
                at,
                ip,
                &sender,
                since,
                Audience::Public,
            )
            .await?;
            if d.cause.as_str() == who.state {
                out.push((who.state, code));
                break;
            }
        }
    }
    Ok(out)
}

/// Runs yesterday's log through the policy service as Postfix would have asked it: every
/// relay attempt it logs (not those sent with SMTP AUTH) is decided in time order from a grant
/// index fed by the same lines, and recorded with its code.
async fn decide_the_day(log: &Path, db: &Db, config: &Arc<Config>) -> anyhow::Result<()> {
    use crate::grants::GrantIndex;
    use crate::policy::recorder::Recorder;
    use crate::policy::server::Policy;
    let index = Arc::new(GrantIndex::for_relay(&config.relay));
    let (recorder, writing) = Recorder::start(db.clone(), 1 << 20);
    let writing = tokio::spawn(writing);
    let policy = Policy::new(config, index.clone(), recorder);
    let mut pipeline = Pipeline::new(config, chrono::Utc::now().timestamp(), "");
    let mut batch = Batch::default();
    let mut with_auth: HashSet<String> = HashSet::new();
    for line in std::fs::read(log)?.split(|&b| b == b'\n') {
        batch.clear();
        pipeline.line(line, &mut batch);
        for event in &batch.events {
            let Some((at, text)) = relay_attempt(event, &mut with_auth) else {
                continue;
            };
            if let Ok(Some((request, _))) = crate::policy::protocol::parse(text.as_bytes()) {
                policy.answer(&request, at);
            }
        }
        index.apply(&batch.events);
    }
    drop(policy);
    writing.await??;
    Ok(())
}

/// What Postfix's `check_policy_service` asks for a relay attempt the log shows, and when:
/// accepted or refused, but not one sent with SMTP AUTH (`with_auth` remembers those clients),
/// which Postfix permits before asking.
fn relay_attempt(event: &Event, with_auth: &mut HashSet<String>) -> Option<(i64, String)> {
    let (at, ip, sender, rcpt) = match event {
        Event::QueueClient {
            ip,
            sasl_user: Some(_),
            ..
        } => {
            with_auth.insert(ip.to_string());
            return None;
        }
        Event::Relayed {
            at,
            ip,
            sender,
            rcpt,
            ..
        } if !with_auth.contains(&ip.to_string()) => (*at, ip, sender, rcpt),
        Event::RelayRejected {
            at,
            ip,
            sender,
            rcpt,
            ..
        } => (*at, ip, sender, rcpt),
        _ => return None,
    };
    if with_auth.len() > 100_000 {
        with_auth.clear();
    }
    Some((at, request_text(&ip.to_string(), sender, rcpt)))
}

fn request_text(ip: &str, sender: &str, rcpt: &str) -> String {
    format!(
        "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
         client_address={ip}\nclient_name=unknown\nsender={sender}\nrecipient={rcpt}\n\n"
    )
}
