//! The web surfaces: the customer site (`customer`), the JSON API (`api`), and what they share —
//! the application state, client addresses behind trusted proxies, languages, errors and the
//! security headers every response carries. Only this module knows HTTP.

pub mod api;
mod assets;
pub mod client;
pub mod customer;
pub mod error;
pub mod headers;
pub mod i18n;
pub mod layout;
pub mod session;
pub mod staff;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::middleware;

use crate::config::Config;
use crate::grants::GrantIndex;
use crate::store::Db;

/// Everything a request handler may use, shared behind `State<Arc<App>>`.
pub struct App {
    pub config: Arc<Config>,
    pub db: Db,
    /// The grant index of this process, when the policy service runs here too.
    pub grants: Option<Arc<GrantIndex>>,
}

impl App {
    pub fn new(config: Arc<Config>, db: Db, grants: Option<Arc<GrantIndex>>) -> Arc<App> {
        Arc::new(App { config, db, grants })
    }

    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// The whole site: every area's routes, static assets, the 404 fallback, error pages and the
/// security headers.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .merge(customer::router())
        .merge(staff::router())
        .nest("/api/v1", api::router())
        .merge(assets::router())
        .fallback(error::not_found)
        .layer(middleware::from_fn_with_state(app.clone(), error::render))
        .layer(middleware::from_fn(headers::security))
        .with_state(app)
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
