//! The JSON API (`/api/v1`, §7.3).

use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use super::App;
use super::customer::{connection, status};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/connection", get(connection::api))
        .route("/status", get(status::api))
}
