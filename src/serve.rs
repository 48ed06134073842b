//! `relaydesk serve` and `relaydesk demo`: start the configured parts, share one stop signal,
//! and report which part ended.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::{Context, bail};

use crate::config::{Config, SourceConfig};
use crate::grants::GrantIndex;
use crate::ingest::follow::Follower;
use crate::ingest::writer::Writer;
use crate::policy::recorder::{self, Recorder};
use crate::policy::server::{Policy, PolicyListener};

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
    let named = |part: &str| only.iter().any(|p| p == part);
    let wants = |part: &str| only.is_empty() || named(part);
    let db = crate::cli::open_db(&config)?;
    let writer = Arc::new(Writer::new(db, config.relay.window.0));
    let index = grant_index(&config, &writer)?;
    let stop = Arc::new(AtomicBool::new(false));
    // The async parts' stop signal; `stop` is the threads'.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut threads: Vec<(String, JoinHandle<()>)> = Vec::new();
    if wants("follow") {
        if config.sources.is_empty() && named("follow") {
            bail!("sources: no [[sources]] configured to follow");
        }
        for source in &config.sources {
            threads.push(spawn_follower(source, &config, &writer, &stop)?);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut tasks = tokio::task::JoinSet::new();
    let policy_runs = wants("policy");
    rt.block_on(async {
        if policy_runs {
            let listen = &config.policy.listen;
            let listener = PolicyListener::bind(listen)
                .await
                .with_context(|| format!("policy: cannot listen on {listen}"))?;
            tracing::info!(addr = %listener.local_addr()?, "policy service");
            let (recorder, handle) = Recorder::start(writer.db().clone(), recorder::CAPACITY)
                .context("cannot start the policy recorder thread")?;
            threads.push(("policy recorder".to_string(), handle));
            let policy = Arc::new(Policy::new(&config, index.clone(), recorder));
            tasks.spawn(named_task(
                "policy",
                crate::policy::server::serve(listener, policy, stop_rx.clone()),
            ));
        }
        let syslog_configured = config.syslog.udp.is_some() || config.syslog.tcp.is_some();
        if named("syslog") && !syslog_configured {
            bail!("syslog: set syslog.udp or syslog.tcp");
        }
        if wants("syslog") && syslog_configured {
            let (udp, tcp) = crate::ingest::syslog::bind(&config)
                .await
                .context("syslog: cannot listen")?;
            let tx = crate::ingest::syslog::committer(config.clone(), writer.clone());
            if let Some(socket) = udp {
                tracing::info!(addr = %socket.local_addr()?, "syslog receiver (udp)");
                tasks.spawn(named_task(
                    "syslog udp",
                    crate::ingest::syslog::serve_udp(socket, tx.clone()),
                ));
            }
            if let Some(listener) = tcp {
                tracing::info!(addr = %listener.local_addr()?, "syslog receiver (tcp)");
                tasks.spawn(named_task(
                    "syslog tcp",
                    crate::ingest::syslog::serve_tcp(listener, tx),
                ));
            }
        }
        if named("hook") && config.hook.listen.is_none() {
            bail!("hook: set hook.listen and hook.token");
        }
        if let (true, Some(addr), Some(token)) =
            (wants("hook"), config.hook.listen, &config.hook.token)
        {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .context("hook: cannot listen")?;
            tracing::info!(%addr, "login hook");
            let app = crate::ingest::hook::router(writer.clone(), token);
            tasks.spawn(named_task("hook", async move {
                axum::serve(listener, app).await
            }));
        }
        anyhow::Ok(())
    })?;
    if threads.is_empty() && tasks.is_empty() {
        bail!("nothing to run: configure [[sources]], [syslog], [hook] or [policy]");
    }
    rt.spawn(prune_grants(index));
    rt.block_on(async {
        tokio::select! {
            r = shutdown_signal() => r?,
            Some(ended) = tasks.join_next() => {
                if let Ok((name, Err(e))) = &ended {
                    tracing::error!(part = %name, error = %e, "part ended");
                }
            }
        }
        anyhow::Ok(())
    })?;
    tracing::info!("stopping");
    stop.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    if policy_runs {
        // Let the policy service finish the replies it is writing (bounded).
        rt.block_on(async {
            let finished = async {
                while let Some(ended) = tasks.join_next().await {
                    if matches!(ended, Ok(("policy", _))) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), finished).await;
        });
    }
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    for (name, handle) in threads {
        if handle.join().is_err() {
            tracing::error!(part = %name, "part ended abnormally");
        }
    }
    Ok(())
}

/// The grant index shared by the followers (which feed it every committed login) and the policy
/// service (which reads it), loaded at start with the logins that still grant.
fn grant_index(config: &Config, writer: &Writer) -> anyhow::Result<Arc<GrantIndex>> {
    let window = config.relay.window.0;
    let index = Arc::new(GrantIndex::new(
        window,
        config.relay.never_authorize.clone(),
    ));
    // Subscribe before loading: a login committed in between is then applied twice, which is
    // harmless, rather than missed.
    let feed = index.clone();
    writer.subscribe(Arc::new(move |events| feed.apply(events)));
    let since = chrono::Utc::now().timestamp() - window;
    let logins = writer
        .db()
        .with(|conn| crate::store::authz::recent_logins(conn, since))
        .context("cannot load current grants")?;
    for (ip, login, last_seen) in &logins {
        index.login(*ip, login, *last_seen);
    }
    tracing::info!(addresses = index.len(), "grant index loaded");
    Ok(index)
}

/// Forgets expired grants once a minute, so the index stays the size of the current grants.
async fn prune_grants(index: Arc<GrantIndex>) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        every.tick().await;
        index.prune(chrono::Utc::now().timestamp());
    }
}

async fn named_task<E>(
    name: &'static str,
    task: impl std::future::Future<Output = Result<(), E>>,
) -> (&'static str, Result<(), E>) {
    (name, task.await)
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

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
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
