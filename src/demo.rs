//! `relaydesk demo`: a fresh embedded database fed by a simulated ISP — the last 24 hours at
//! once, then live — served on the web, with addresses to try printed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::{Config, SourceConfig};
use crate::diagnose::Cause;
use crate::ingest::follow::Follower;
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
        "\nThe simulated mail log grows in {}; Ctrl-C stops the demo.",
        log.display()
    );
    let parts: Vec<String> = ["web", "follow", "alerts"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    db.close().await;
    let result = crate::serve::run(config, &parts).await;
    stop.store(true, Ordering::Relaxed);
    let _ = live.join();
    result
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
