//! `relaydesk serve` and `relaydesk demo`: start the configured parts, share one stop signal,
//! and report which part ended.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::{Context, bail};

use crate::config::{Config, SourceConfig};
use crate::ingest::follow::Follower;
use crate::ingest::writer::Writer;

const PARTS: &[&str] = &["web", "policy", "follow", "syslog", "hook", "alerts"];

/// Runs the parts named in `only` (all configured parts when empty) until Ctrl-C or SIGTERM.
pub fn run(config: Arc<Config>, only: &[String]) -> anyhow::Result<()> {
    for part in only {
        if !PARTS.contains(&part.as_str()) {
            bail!(
                "unknown part {part:?}: expected some of {}",
                PARTS.join(", ")
            );
        }
    }
    let wants = |part: &str| only.is_empty() || only.iter().any(|p| p == part);
    let db = crate::cli::open_db(&config)?;
    let writer = Arc::new(Writer::new(db, config.relay.window.0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut threads: Vec<(String, JoinHandle<()>)> = Vec::new();
    if wants("follow") {
        if config.sources.is_empty() && only.iter().any(|p| p == "follow") {
            bail!("sources: no [[sources]] configured to follow");
        }
        for source in &config.sources {
            threads.push(spawn_follower(source, &config, &writer, &stop)?);
        }
    }
    if threads.is_empty() {
        bail!(
            "nothing to run: configure [[sources]] (web, policy and the rest arrive in later releases)"
        );
    }
    wait_for_signal(&stop)?;
    for (name, handle) in threads {
        if handle.join().is_err() {
            tracing::error!(part = %name, "part ended abnormally");
        }
    }
    Ok(())
}

fn spawn_follower(
    source: &SourceConfig,
    config: &Arc<Config>,
    writer: &Arc<Writer>,
    stop: &Arc<AtomicBool>,
) -> anyhow::Result<(String, JoinHandle<()>)> {
    let follower = Follower::new(&source.path, config.clone(), writer.clone())?;
    let name = format!("follow {}", follower.name());
    let stop = stop.clone();
    tracing::info!(source = %source.path.display(), "following");
    let handle = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || follower.run(&stop))
        .context("cannot start follower thread")?;
    Ok((name, handle))
}

/// Blocks until Ctrl-C or SIGTERM, then sets `stop`.
fn wait_for_signal(stop: &AtomicBool) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            tokio::select! {
                r = ctrl_c => r?,
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        ctrl_c.await?;
        anyhow::Ok(())
    })?;
    tracing::info!("stopping");
    stop.store(true, Ordering::Relaxed);
    Ok(())
}

/// A fresh embedded database in `dir`, fed by a simulated ISP: the last 24 hours at once, then
/// live at `speed` simulated minutes per second.
pub fn demo(config: Arc<Config>, dir: &Path, speed: f64) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let db_path = dir.join("relaydesk.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db_path.display()));
    }
    let log = dir.join("mail.log");
    let _ = std::fs::remove_file(&log);
    let mut config = (*config).clone();
    config.database.url = format!("sqlite://{}", db_path.display());
    config.sources = vec![SourceConfig { path: log.clone() }];
    let config = Arc::new(config);
    let now = chrono::Utc::now().timestamp();
    let opts = crate::simulate::SimOptions {
        start: now - 24 * 3600,
        hours: 24,
        customers: 500,
        window: config.relay.window.0,
        lookback: config.relay.lookback.0,
        tz: config.timezone.0,
        ..Default::default()
    };
    let summary = crate::simulate::write_day(dir, &opts)?;
    std::fs::rename(dir.join("mail.log"), dir.join("mail.log.1"))?;
    println!(
        "relaydesk demo: simulated the last 24 hours ({summary}); following {} live",
        log.display()
    );
    let stop = Arc::new(AtomicBool::new(false));
    let live_stop = stop.clone();
    let live_log = log.clone();
    let live_opts = crate::simulate::SimOptions {
        start: now,
        seed: 2,
        ..opts
    };
    let live = std::thread::spawn(move || {
        if let Err(e) = crate::simulate::run_live(&live_log, &live_opts, speed * 60.0, &live_stop) {
            tracing::error!(error = %e, "simulator stopped");
        }
    });
    println!(
        "try, in another terminal:\n  cargo run --release -- --db sqlite://{} rejections --since 1h\n  \
         cargo run --release -- --db sqlite://{} history --ip <an IP from above>",
        db_path.display(),
        db_path.display()
    );
    let result = run(config, &["follow".to_string()]);
    stop.store(true, Ordering::Relaxed);
    let _ = live.join();
    result
}
