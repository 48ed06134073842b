//! Static assets, embedded in the binary: the site works with no files beside it and loads
//! nothing from elsewhere.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use super::App;

const STYLE: &str = include_str!("../../static/style.css");
const ICON: &str = include_str!("../../static/icon.svg");
const COPY: &str = include_str!("../../static/copy.js");

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/static/style.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route(
            "/static/copy.js",
            get(|| async { asset("text/javascript; charset=utf-8", COPY) }),
        )
        .route(
            "/static/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}
