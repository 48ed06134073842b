//! `App`: everything a request handler may use, shared behind `State<Arc<App>>` — the
//! configuration, the store, this process's grant index and counters, the notices held in
//! memory, and the per-client budget of `/why` lookups. Its own file, so that every part of
//! `web` can import it without importing the module tree that serves it.

use std::sync::Arc;

use super::budget::Budget;
use super::notice_cache::NoticeCache;
use crate::config::Config;
use crate::grants::GrantIndex;
use crate::metrics::Metrics;
use crate::store::Db;

/// Everything a request handler may use, shared behind `State<Arc<App>>`.
pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    /// The grant index of this process, when the policy service runs here too.
    pub grants: Option<Arc<GrantIndex>>,
    /// This process's counters for `/metrics`, shared with the policy service when it runs here.
    pub metrics: Arc<Metrics>,
    /// The notices, held in memory.
    pub notices: NoticeCache,
    /// `/why/CODE` lookups per client and minute (`WHY_PER_MINUTE`).
    pub why_budget: Budget,
    /// Signs the Apple profile, when `[service] profile_certificate` and `profile_key` are set.
    pub profile_signer: Option<Arc<crate::cms::Signer>>,
}

/// `/why/CODE` pages one client may open in a minute: a customer opens their link a few
/// times; a guesser of codes is slowed to this.
pub const WHY_PER_MINUTE: u32 = 30;

impl App {
    /// An App with counters and notices of its own, its profile signer read from the
    /// configuration (a test's way in: `serve` reads the signer first and stops on an error).
    pub fn new(config: Arc<Config>, db: Db, grants: Option<Arc<GrantIndex>>) -> Arc<App> {
        let signer = crate::cms::Signer::from_config(&config.service)
            .expect("the configured profile signer")
            .map(Arc::new);
        let notices = NoticeCache::new(db.clone());
        App::with_parts(config, db, grants, Arc::default(), notices, signer)
    }

    /// An App counting into `metrics`, which other parts of the process may share, whose
    /// notice cache is `notices`, which serve's refresher drops on changes announced by other
    /// nodes.
    pub fn with_parts(
        config: Arc<Config>,
        db: Db,
        grants: Option<Arc<GrantIndex>>,
        metrics: Arc<Metrics>,
        notices: NoticeCache,
        profile_signer: Option<Arc<crate::cms::Signer>>,
    ) -> Arc<App> {
        Arc::new(App {
            config,
            db,
            grants,
            metrics,
            why_budget: Budget::new(WHY_PER_MINUTE),
            notices,
            profile_signer,
        })
    }

    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }

    /// Whether a peer is one of `web.trusted_proxies`, whose forwarding headers are believed.
    pub fn trusts(&self, peer: std::net::IpAddr) -> bool {
        self.config
            .web
            .trusted_proxies
            .iter()
            .any(|n| n.contains(&peer))
    }
}
