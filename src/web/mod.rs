//! The web surfaces: the customer site (`customer`), the JSON API (`api`), and what they share —
//! the application state, client addresses behind trusted proxies, languages, errors and the
//! security headers every response carries. Only this module knows HTTP.

pub mod api;
mod assets;
pub mod chart;
pub mod client;
pub mod customer;
pub mod error;
pub mod i18n;
pub mod layers;
pub mod layout;
pub mod markdown;
mod notice_cache;
pub mod ops;
pub mod session;
pub mod staff;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

use crate::config::Config;
use crate::grants::GrantIndex;
use crate::metrics::Metrics;
use crate::store::Db;
pub use notice_cache::NoticeCache;

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
}

impl App {
    pub fn new(config: Arc<Config>, db: Db, grants: Option<Arc<GrantIndex>>) -> Arc<App> {
        App::with_metrics(config, db, grants, Arc::default())
    }

    /// An App counting into `metrics`, which other parts of the process may share.
    pub fn with_metrics(
        config: Arc<Config>,
        db: Db,
        grants: Option<Arc<GrantIndex>>,
        metrics: Arc<Metrics>,
    ) -> Arc<App> {
        let notices = NoticeCache::new(db.clone());
        App::with_parts(config, db, grants, metrics, notices)
    }

    /// An App whose notice cache is `notices`, which serve's refresher drops on changes
    /// announced by other nodes.
    pub fn with_parts(
        config: Arc<Config>,
        db: Db,
        grants: Option<Arc<GrantIndex>>,
        metrics: Arc<Metrics>,
        notices: NoticeCache,
    ) -> Arc<App> {
        Arc::new(App {
            config,
            db,
            grants,
            metrics,
            notices,
        })
    }

    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// The whole site: every area's routes with its body limit, static assets, the 404 fallback,
/// and around them all the layers of `layers::around` (request ids, access log, timeout,
/// caught panics, error pages, compression, security headers).
pub fn router(app: Arc<App>) -> Router {
    let forms = Router::new()
        .merge(customer::router())
        .merge(staff::router())
        .layer(RequestBodyLimitLayer::new(layers::FORM_LIMIT));
    let api = api::router().layer(RequestBodyLimitLayer::new(layers::API_LIMIT));
    let routes = Router::new()
        .merge(forms)
        .nest("/api/v1", api)
        .merge(ops::router())
        .merge(assets::router())
        .fallback(error::not_found);
    layers::around(routes, &app).with_state(app)
}

/// Serves `app` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}
