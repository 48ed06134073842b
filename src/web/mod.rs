//! The web surfaces: the customer site (`customer`), the JSON API (`api`), and what they share —
//! the application state, client addresses behind trusted proxies, languages, errors and the
//! security headers every response carries. Only this module knows HTTP.

pub mod api;
mod app;
mod assets;
mod budget;
pub mod chart;
pub mod client;
pub mod customer;
pub mod error;
pub mod escape;
pub mod i18n;
pub mod layers;
pub mod layout;
pub mod markdown;
mod notice_cache;
pub mod ops;
mod request_id;
pub mod session;
pub mod staff;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tower_http::limit::RequestBodyLimitLayer;

pub use app::{App, WHY_PER_MINUTE};
pub use notice_cache::NoticeCache;

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

/// Serves `app` on `listener` until `shutdown` resolves, then lets the requests in flight finish
/// (for up to `request_timeout`). Each connection is HTTP/1.1 with keep-alive; one that has not
/// sent a whole request head within `web.header_timeout` is closed (a slow-header client holds
/// no connection for long).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt as _;

    let seconds =
        |s: crate::config::Seconds| std::time::Duration::from_secs(s.0.max(1).unsigned_abs());
    let header_timeout = seconds(app.config.web.header_timeout);
    let drain = seconds(app.config.web.request_timeout);
    let site = router(app);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: say so, breathe, go on.
                    tracing::warn!(error = %e, "web: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let site = site.clone();
        let service =
            hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                site.clone().oneshot(request)
            });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, %peer, "web: connection ended");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("web: requests still in flight at shutdown were cut off");
    }
    Ok(())
}

/// `text` percent-encoded: RFC 3986 unreserved characters stay, and those of `keep` (`@` may
/// stand as it is in a query value); every other byte is `%XX`.
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
