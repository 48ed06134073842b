//! Keeps this process's grant index (§6.1) in step with the store: loaded at start, fed every
//! committed login at once by the ingest writer, and refreshed — blocks, suspensions, staff
//! grants, and logins committed by other processes — whenever PostgreSQL announces a change
//! (LISTEN/NOTIFY), and at least every second either way.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ipnet::IpNet;

use crate::config::Config;
use crate::grants::{GrantIndex, Restrictions};
use crate::ingest::writer::Writer;
use crate::store::changes::Listener;
use crate::store::{self, Db};

/// How often the index is refreshed when no change is announced.
const REFRESH: Duration = Duration::from_secs(1);
/// Logins re-read on each refresh reach back this far before the last one, so a commit that
/// raced the previous refresh is not missed.
const OVERLAP: i64 = 5;

/// A grant index subscribed to `writer` and loaded from the store.
pub async fn start(config: &Config, writer: &Writer) -> anyhow::Result<Arc<GrantIndex>> {
    let index = Arc::new(GrantIndex::for_relay(&config.relay));
    // Subscribe before loading: a login committed in between is then applied twice, which is
    // harmless, rather than missed.
    let feed = index.clone();
    writer.subscribe(Arc::new(move |events| {
        feed.apply(events);
        None
    }));
    let now = chrono::Utc::now().timestamp();
    // The cause memory reaches back the lookback: the last mail check of a customer whose
    // permission expired hours ago is what words that customer's refusal.
    refresh(&index, writer.db(), now - config.relay.lookback.0, now)
        .await
        .context("cannot load current grants")?;
    tracing::info!(
        addresses = index.len(),
        remembered = index.causes.len(),
        "grant index loaded"
    );
    Ok(index)
}

/// Reloads restrictions and staff grants, and applies logins and failed logins seen since
/// `logins_since` (the cause memory keeps the latest of each, so seeing one twice is harmless).
pub async fn refresh(
    index: &GrantIndex,
    db: &Db,
    logins_since: i64,
    now: i64,
) -> store::Result<()> {
    let mut c = db.conn().await?;
    let snapshot = store::authz::snapshot(&mut c, now).await?;
    let logins = store::authz::recent_logins(&mut c, logins_since).await?;
    let failures = store::authz::recent_failures(&mut c, logins_since).await?;
    let held = match index.store_authority() {
        true => Some(store::relay_store::held_now(&mut c).await?),
        false => None,
    };
    drop(c);
    if let Some(held) = held {
        index.replace_held(held.into_iter().map(|(ip, _)| ip));
    }
    for (ip, login, at) in &failures {
        index.causes.failure(*ip, login.as_deref(), *at);
    }
    let restrictions = Restrictions {
        blocks: snapshot
            .blocks
            .iter()
            .filter_map(|b| b.parse::<IpNet>().ok().map(crate::domain::client_net))
            .collect(),
        suspended: snapshot.suspended.into_iter().collect(),
    };
    index.replace_restrictions(restrictions);
    index.replace_staff_grants(&snapshot.staff_grants, now);
    for (ip, login, last_seen) in &logins {
        if last_seen + index.window() >= now {
            index.login(*ip, login, *last_seen);
        } else {
            // Too old to grant: only the refusals' words need it.
            index.causes.login(*ip, login, *last_seen);
        }
    }
    Ok(())
}

/// Refreshes `index` on each announced change and every second, for as long as the task runs
/// (serve ends it with the others). `on_change` hears every change announced by other nodes,
/// so parts that cache other things (the notices) can reload them too.
pub async fn run_refresher(
    index: Arc<GrantIndex>,
    db: Db,
    window: i64,
    on_change: impl Fn(&[store::changes::Change]) + Send + Sync + 'static,
) -> std::io::Result<()> {
    let mut listener: Option<Listener> = None;
    let mut listening = false;
    let mut last = chrono::Utc::now().timestamp();
    let mut pruned = last;
    loop {
        if !listening {
            match Listener::start(&db).await {
                Ok(l) => {
                    listener = l;
                    listening = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for changes; refreshing every second");
                }
            }
        }
        match listener.as_mut() {
            Some(l) => match l.wait(REFRESH).await {
                Ok(changes) => on_change(&changes),
                Err(e) => {
                    tracing::warn!(error = %e, "change listener lost; reconnecting");
                    listener = None;
                    listening = false;
                    tokio::time::sleep(REFRESH).await;
                }
            },
            None => tokio::time::sleep(REFRESH).await,
        }
        let now = chrono::Utc::now().timestamp();
        match refresh(&index, &db, (last - OVERLAP).max(now - window), now).await {
            Ok(()) => last = now,
            Err(e) => {
                tracing::warn!(error = %e, "grant index refresh failed; decisions continue from memory")
            }
        }
        if now - pruned >= 60 {
            index.prune(now);
            pruned = now;
        }
    }
}
