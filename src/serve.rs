//! `relaydesk serve`: starts the configured parts in one process around one store writer and
//! one grant index, as tasks of one `JoinSet` under one stop signal (Ctrl-C or SIGTERM). A part
//! that ends on its own — an error, a panic — is logged by name and ends `serve` with a
//! failure, so systemd restarts it instead of leaving a process that silently does less.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::grants::GrantIndex;
use crate::ingest::follow::Follower;
use crate::ingest::writer::Writer;
use crate::policy::recorder::{self, Recorder};
use crate::policy::server::Policy;
use crate::store::Db;

pub const PARTS: &[&str] = &[
    "web",
    "policy",
    "follow",
    "syslog",
    "hook",
    "alerts",
    "stores",
    "socketmap",
];

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

/// The running parts, each known by name.
struct Parts {
    tasks: JoinSet<std::io::Result<()>>,
    names: HashMap<tokio::task::Id, String>,
    stop_rx: watch::Receiver<bool>,
}

impl Parts {
    fn spawn(
        &mut self,
        name: impl Into<String>,
        task: impl Future<Output = std::io::Result<()>> + Send + 'static,
    ) {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name.into());
    }

    fn stopped(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.stop_rx.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }

    /// Waits for the next part to end; its name and how it ended.
    async fn next(&mut self) -> Option<(String, Result<(), String>)> {
        let ended = self.tasks.join_next_with_id().await?;
        Some(match ended {
            Ok((id, result)) => (self.name(id), result.map_err(|e| e.to_string())),
            Err(e) => {
                let why = if e.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                (self.name(e.id()), Err(why.to_string()))
            }
        })
    }

    fn name(&self, id: tokio::task::Id) -> String {
        self.names.get(&id).cloned().unwrap_or_else(|| "?".into())
    }
}

/// What the parts share.
struct Shared {
    config: Arc<Config>,
    writer: Arc<Writer>,
    index: Arc<GrantIndex>,
    metrics: Arc<crate::metrics::Metrics>,
}

/// Runs the parts named in `only` (all configured parts when empty) until Ctrl-C or SIGTERM,
/// or until one of them ends on its own (an error).
pub async fn run(config: Arc<Config>, only: &[String]) -> anyhow::Result<()> {
    let parts = Selection { only };
    check(&config, &parts)?;
    // Catch Ctrl-C and SIGTERM before anything starts: a signal that arrives while parts start
    // must stop them cleanly, not kill the process.
    let mut signals = Signals::install()?;
    let db = Db::open_config(&config.database).await?;
    // What stores no longer configured held grants nobody (before the index loads).
    let closed = crate::store::relay_store::close_unconfigured(
        &mut db.conn().await?,
        &config.relay.store_names(),
        chrono::Utc::now().timestamp(),
    )
    .await?;
    if closed > 0 {
        tracing::info!(
            closed,
            "entries of relay stores no longer configured closed"
        );
    }
    let writer = Arc::new(Writer::new(db.clone(), config.relay.window.0));
    let index = crate::authz::start(&config, &writer).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut run = Parts {
        tasks: JoinSet::new(),
        names: HashMap::new(),
        stop_rx,
    };
    let shared = Shared {
        config: config.clone(),
        writer,
        index,
        metrics: Arc::new(crate::metrics::Metrics::default()),
    };
    let ingesting = parts.wants("follow") || parts.wants("syslog") || parts.wants("hook");
    if parts.wants("alerts") && ingesting {
        Arc::new(crate::alerts::Watch::new(db.clone(), &config)).attach(&shared.writer);
    }
    if parts.wants("follow") {
        for source in &config.sources {
            let follower =
                Follower::new(&source.path, config.clone(), shared.writer.clone()).await?;
            tracing::info!(source = %source.path.display(), "following");
            let name = format!("follow {}", follower.name());
            run.spawn(name, follower.run(run.stop_rx.clone()));
        }
    }
    if parts.wants("stores") {
        for store in &config.relay.stores {
            tracing::info!(store = %store.display_name(), "following the relay store");
            run.spawn(
                format!("relay store {}", store.display_name()),
                crate::relay_store::follow(db.clone(), store.clone()),
            );
        }
    }
    run.spawn(
        "retention",
        purge_hourly(db.clone(), config.retention.clone(), run.stop_rx.clone()),
    );
    let notices = crate::web::NoticeCache::new(db.clone());
    let on_change = {
        let notices = notices.clone();
        move |changes: &[crate::store::changes::Change]| {
            if changes.contains(&crate::store::changes::Change::Notices) {
                notices.invalidate();
            }
        }
    };
    run.spawn(
        "grant refresher",
        crate::authz::run_refresher(shared.index.clone(), db, config.relay.window.0, on_change),
    );
    start_network_parts(&mut run, &shared, &parts, notices).await?;
    // Every listener is bound and the store is open: systemd may start what depends on us.
    if let Err(e) = crate::notify::notify("READY=1") {
        tracing::warn!(error = %e, "cannot tell systemd we are ready");
    }
    if let Some(every) = crate::notify::watchdog_interval() {
        run.spawn("watchdog", watchdog(every, shared.index.clone()));
    }

    let ended = tokio::select! {
        () = signals.recv() => None,
        Some(ended) = run.next() => Some(ended),
    };
    let failed = match &ended {
        Some((name, Ok(()))) => {
            tracing::error!(part = %name, "part ended");
            Some(name.clone())
        }
        Some((name, Err(e))) => {
            tracing::error!(part = %name, error = %e, "part failed");
            Some(name.clone())
        }
        None => None,
    };
    tracing::info!("stopping");
    let _ = crate::notify::notify("STOPPING=1");
    let _ = stop_tx.send(true);
    // Let the parts finish what they are doing (bounded), then cancel what is left: a commit
    // cut short rolls back, so nothing is half-stored.
    let _ = tokio::time::timeout(Duration::from_secs(3), async {
        while let Some((name, result)) = run.next().await {
            if let Err(e) = result {
                tracing::warn!(part = %name, error = %e, "part ended badly while stopping");
            }
        }
    })
    .await;
    run.tasks.shutdown().await;
    match failed {
        Some(name) => bail!("{name} ended unexpectedly; stopped the other parts"),
        None => Ok(()),
    }
}

/// Pings systemd's watchdog every `every` for as long as this runtime schedules tasks and the
/// grant index can be read (a deadlocked index would stop every decision): a hung process is
/// restarted by systemd. A part that ends stops `serve` itself.
async fn watchdog(every: Duration, index: Arc<crate::grants::GrantIndex>) -> std::io::Result<()> {
    loop {
        let index = index.clone();
        let alive = tokio::time::timeout(every, tokio::task::spawn_blocking(move || index.len()))
            .await
            .is_ok_and(|r| r.is_ok());
        if alive {
            // systemd may be re-executing itself: a ping that cannot be sent is not fatal.
            if let Err(e) = crate::notify::notify("WATCHDOG=1") {
                tracing::warn!(error = %e, "cannot ping systemd's watchdog");
            }
        } else {
            tracing::error!("the grant index did not answer within the watchdog interval");
        }
        tokio::time::sleep(every).await;
    }
}

/// Deletes history past its retention at start and then every hour, until `stop`.
async fn purge_hourly(
    db: Db,
    retention: crate::config::RetentionConfig,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    loop {
        let now = chrono::Utc::now().timestamp();
        let purged = match db.conn().await {
            Ok(mut c) => crate::store::retention::prune(&mut c, now, &retention).await,
            Err(e) => Err(e),
        };
        match purged {
            Ok((anonymized, deleted)) => {
                let anonymized: u64 = anonymized.iter().map(|(_, n)| n).sum();
                let deleted: u64 = deleted.iter().map(|(_, n)| n).sum();
                if anonymized > 0 || deleted > 0 {
                    tracing::info!(
                        anonymized,
                        deleted,
                        "history anonymized and deleted by retention"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention purge failed; retrying in an hour"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
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

async fn start_network_parts(
    run: &mut Parts,
    shared: &Shared,
    parts: &Selection<'_>,
    notices: crate::web::NoticeCache,
) -> anyhow::Result<()> {
    let config = shared.config.clone();
    let db = shared.writer.db().clone();
    if parts.wants("web") {
        let signer = crate::cms::Signer::from_config(&config.service)?.map(Arc::new);
        let addr = config.web.listen;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("web: cannot listen on {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "web");
        let app = crate::web::App::with_parts(
            config.clone(),
            db.clone(),
            Some(shared.index.clone()),
            shared.metrics.clone(),
            notices,
            signer,
        );
        run.spawn("web", crate::web::serve(listener, app, run.stopped()));
    }
    if parts.wants("socketmap") && !config.socketmap.listen.is_empty() {
        let listen = &config.socketmap.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("socketmap: cannot listen on {listen}"))?;
        tracing::info!(addr = %listener.local_addr()?, "socketmap");
        run.spawn(
            "socketmap",
            crate::policy::socketmap::serve(
                listener,
                shared.index.clone(),
                Duration::from_secs(config.policy.idle_timeout.0.max(1) as u64),
                config.policy.max_connections,
                run.stop_rx.clone(),
            ),
        );
    }
    if parts.wants("socketmap") && !config.socketmap.map_file.is_empty() {
        tracing::info!(file = %config.socketmap.map_file, "writing the grants as a Postfix map");
        run.spawn(
            "map file",
            crate::policy::socketmap::keep_map_file(config.socketmap.clone(), shared.index.clone()),
        );
    }
    if parts.wants("policy") {
        let listen = &config.policy.listen;
        let (recorder, writing) = Recorder::start(db.clone(), recorder::CAPACITY);
        let mut policy = Policy::new(&config, shared.index.clone(), recorder);
        policy.metrics = shared.metrics.clone();
        let policy = Arc::new(policy);
        let (addr, serving) = crate::policy::server::serve_on_own_threads(
            listen.clone(),
            policy,
            run.stop_rx.clone(),
        )
        .await
        .with_context(|| format!("policy: cannot listen on {listen}"))?;
        tracing::info!(%addr, "policy service");
        run.spawn("policy recorder", writing);
        run.spawn("policy", serving);
    }
    if parts.wants("syslog") && (config.syslog.udp.is_some() || config.syslog.tcp.is_some()) {
        let (udp, tcp) = crate::ingest::syslog::bind(&config)
            .await
            .context("syslog: cannot listen")?;
        let (tx, committing) =
            crate::ingest::syslog::committer(config.clone(), shared.writer.clone());
        run.spawn("syslog committer", committing);
        if let Some(socket) = udp {
            tracing::info!(addr = %socket.local_addr()?, "syslog receiver (udp)");
            run.spawn(
                "syslog udp",
                crate::ingest::syslog::serve_udp(socket, tx.clone()),
            );
        }
        if let Some(listener) = tcp {
            tracing::info!(addr = %listener.local_addr()?, "syslog receiver (tcp)");
            run.spawn("syslog tcp", crate::ingest::syslog::serve_tcp(listener, tx));
        }
    }
    if let (true, Some(addr), Some(token)) =
        (parts.wants("hook"), config.hook.listen, &config.hook.token)
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .context("hook: cannot listen")?;
        tracing::info!(%addr, "login hook");
        let app =
            crate::ingest::hook::router(shared.writer.clone(), token, config.relay.login_rule());
        let serve = axum::serve(listener, app).with_graceful_shutdown(run.stopped());
        run.spawn("hook", async move { serve.await });
    }
    Ok(())
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
