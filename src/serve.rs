//! `relaydesk serve`: starts the configured parts in one process around one store writer and
//! one grant index, gives them one stop signal (Ctrl-C or SIGTERM), and reports which part
//! ended. Blocking parts (followers, the grant refresher, retention, the decision recorder) are threads;
//! network parts (web, policy, syslog, hook) are tasks on one runtime.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::grants::GrantIndex;
use crate::ingest::follow::Follower;
use crate::ingest::writer::Writer;
use crate::policy::recorder::{self, Recorder};
use crate::policy::server::{Policy, PolicyListener};

pub const PARTS: &[&str] = &["web", "policy", "follow", "syslog", "hook", "alerts"];

type Tasks = JoinSet<(&'static str, std::io::Result<()>)>;

/// Which parts run: those named in `--only`, else every configured one.
struct Selection<'a> {
    only: &'a [String],
}

impl Selection<'_> {
    fn named(&self, part: &str) -> bool {
        self.only.iter().any(|p| p == part)
    }

    fn wants(&self, part: &str) -> bool {
        self.only.is_empty() || self.named(part)
    }
}

/// Everything the parts share while they run.
struct Running {
    config: Arc<Config>,
    writer: Arc<Writer>,
    index: Arc<GrantIndex>,
    stop: Arc<AtomicBool>,
    stop_rx: watch::Receiver<bool>,
    threads: Vec<(String, JoinHandle<()>)>,
    tasks: Tasks,
}

/// Runs the parts named in `only` (all configured parts when empty) until Ctrl-C or SIGTERM.
pub fn run(config: Arc<Config>, only: &[String]) -> anyhow::Result<()> {
    let parts = Selection { only };
    check(&config, &parts)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Catch Ctrl-C and SIGTERM before anything starts: a signal that arrives while parts start
    // must stop them cleanly, not kill the process.
    let mut signals = rt.block_on(async { Signals::install() })?;
    let db = crate::cli::open_db(&config)?;
    let writer = Arc::new(Writer::new(db.clone(), config.relay.window.0));
    let index = crate::authz::start(&config, &writer)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut run = Running {
        config: config.clone(),
        writer,
        index,
        stop: Arc::new(AtomicBool::new(false)),
        stop_rx,
        threads: Vec::new(),
        tasks: JoinSet::new(),
    };
    let ingesting = parts.wants("follow") || parts.wants("syslog") || parts.wants("hook");
    if parts.wants("alerts") && ingesting {
        Arc::new(crate::alerts::Watch::new(db.clone(), &config)).attach(&run.writer);
    }
    if parts.wants("follow") {
        for source in &config.sources {
            let follower = Follower::new(&source.path, config.clone(), run.writer.clone())?;
            tracing::info!(source = %source.path.display(), "following");
            let stop = run.stop.clone();
            run.thread(&format!("follow {}", follower.name()), move || {
                follower.run(&stop)
            })?;
        }
    }
    let (retention_db, retention, stop) = (db.clone(), config.retention.clone(), run.stop.clone());
    run.thread("retention", move || {
        purge_hourly(&retention_db, &retention, &stop)
    })?;
    let (index, stop, window) = (run.index.clone(), run.stop.clone(), config.relay.window.0);
    run.thread("grant refresher", move || {
        crate::authz::run_refresher(index, db, window, stop)
    })?;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(start_network_parts(&mut run, &parts))?;
    let ended = rt.block_on(async {
        tokio::select! {
            () = signals.recv() => anyhow::Ok(None),
            Some(ended) = run.tasks.join_next() => Ok(ended.ok()),
        }
    })?;
    if let Some((name, result)) = ended {
        match result {
            Ok(()) => tracing::error!(part = name, "part ended"),
            Err(e) => tracing::error!(part = name, error = %e, "part failed"),
        }
    }
    tracing::info!("stopping");
    run.stop.store(true, Ordering::Relaxed);
    let _ = stop_tx.send(true);
    // Let network parts finish what they are answering (bounded), then the threads.
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            while run.tasks.join_next().await.is_some() {}
        })
        .await;
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    for (name, handle) in run.threads {
        if handle.join().is_err() {
            tracing::error!(part = %name, "part ended abnormally");
        }
    }
    Ok(())
}

/// Deletes history past its retention at start and then every hour, until `stop`.
fn purge_hourly(
    db: &crate::store::Db,
    retention: &crate::config::RetentionConfig,
    stop: &AtomicBool,
) {
    let mut last: Option<std::time::Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        if last.is_none_or(|t| t.elapsed() >= Duration::from_secs(3600)) {
            let now = chrono::Utc::now().timestamp();
            match db.with(|c| crate::store::retention::purge(c, now, retention)) {
                Ok(counts) => {
                    let deleted: u64 = counts.iter().map(|(_, n)| n).sum();
                    if deleted > 0 {
                        tracing::info!(deleted, "history past its retention deleted");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "retention purge failed; retrying in an hour"),
            }
            last = Some(std::time::Instant::now());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Refuses a selection that names unknown parts or parts without their configuration.
fn check(config: &Config, parts: &Selection<'_>) -> anyhow::Result<()> {
    for part in parts.only {
        if !PARTS.contains(&part.as_str()) {
            bail!(
                "unknown part {part:?}: expected some of {}",
                PARTS.join(", ")
            );
        }
    }
    if parts.named("follow") && config.sources.is_empty() {
        bail!("sources: no [[sources]] configured to follow");
    }
    if parts.named("syslog") && config.syslog.udp.is_none() && config.syslog.tcp.is_none() {
        bail!("syslog: set syslog.udp or syslog.tcp");
    }
    if parts.named("hook") && config.hook.listen.is_none() {
        bail!("hook: set hook.listen and hook.token");
    }
    Ok(())
}

impl Running {
    fn thread(&mut self, name: &str, f: impl FnOnce() + Send + 'static) -> anyhow::Result<()> {
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .with_context(|| format!("cannot start {name}"))?;
        self.threads.push((name.to_string(), handle));
        Ok(())
    }

    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}

async fn start_network_parts(run: &mut Running, parts: &Selection<'_>) -> anyhow::Result<()> {
    let config = run.config.clone();
    // One set of counters for the web server and the policy service of this process.
    let metrics = Arc::new(crate::metrics::Metrics::default());
    if parts.wants("web") {
        let addr = config.web.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("web: cannot listen on {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "web");
        let app = crate::web::App::with_metrics(
            config.clone(),
            run.writer.db().clone(),
            Some(run.index.clone()),
            metrics.clone(),
        );
        run.tasks.spawn(named(
            "web",
            crate::web::serve(listener, app, run.stopped()),
        ));
    }
    if parts.wants("policy") {
        let listen = &config.policy.listen;
        let listener = PolicyListener::bind(listen)
            .await
            .with_context(|| format!("policy: cannot listen on {listen}"))?;
        tracing::info!(addr = %listener.local_addr()?, "policy service");
        let (recorder, handle) = Recorder::start(run.writer.db().clone(), recorder::CAPACITY)
            .context("cannot start the policy decision recorder")?;
        run.threads.push(("policy recorder".to_string(), handle));
        let mut policy = Policy::new(&config, run.index.clone(), recorder);
        policy.metrics = metrics.clone();
        let policy = Arc::new(policy);
        let serve = crate::policy::server::serve(listener, policy, run.stop_rx.clone());
        run.tasks.spawn(named("policy", serve));
    }
    if parts.wants("syslog") && (config.syslog.udp.is_some() || config.syslog.tcp.is_some()) {
        let (udp, tcp) = crate::ingest::syslog::bind(&config)
            .await
            .context("syslog: cannot listen")?;
        let tx = crate::ingest::syslog::committer(config.clone(), run.writer.clone());
        if let Some(socket) = udp {
            tracing::info!(addr = %socket.local_addr()?, "syslog receiver (udp)");
            run.tasks.spawn(named(
                "syslog udp",
                crate::ingest::syslog::serve_udp(socket, tx.clone()),
            ));
        }
        if let Some(listener) = tcp {
            tracing::info!(addr = %listener.local_addr()?, "syslog receiver (tcp)");
            run.tasks.spawn(named(
                "syslog tcp",
                crate::ingest::syslog::serve_tcp(listener, tx),
            ));
        }
    }
    if let (true, Some(addr), Some(token)) =
        (parts.wants("hook"), config.hook.listen, &config.hook.token)
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .context("hook: cannot listen")?;
        tracing::info!(%addr, "login hook");
        let app = crate::ingest::hook::router(run.writer.clone(), token);
        let serve = axum::serve(listener, app).with_graceful_shutdown(run.stopped());
        run.tasks.spawn(named("hook", async move { serve.await }));
    }
    Ok(())
}

async fn named(
    name: &'static str,
    task: impl Future<Output = std::io::Result<()>>,
) -> (&'static str, std::io::Result<()>) {
    (name, task.await)
}

/// Ctrl-C and SIGTERM, registered up front.
struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
