//! The JSON API (`/api/v1`, §7.3): the staff pages' data and actions for staff tools, behind
//! bearer tokens (`auth`), plus the public connection state. Described by `openapi.json`.

mod actions;
pub mod auth;
mod incidents;
mod lookups;
mod openapi;
mod params;

use std::sync::Arc;

use axum::Router;
use axum::routing::{delete, get, patch, post};

use super::App;
use super::customer::{connection, status};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/connection", get(connection::api))
        .route("/status", get(status::api))
        .route("/openapi.json", get(openapi::document))
        .route("/rejections", get(lookups::rejections))
        .route("/history", get(lookups::history))
        .route("/customers/{login}", get(lookups::customer))
        .route("/who", get(lookups::who))
        .route("/alerts", get(lookups::alerts))
        .route("/alerts/{id}/ack", post(actions::acknowledge))
        .route("/relay-methods", get(lookups::relay_methods))
        .route("/audit", get(lookups::audit))
        .route("/grants", post(actions::grant))
        .route("/blocks", post(actions::block))
        .route("/blocks/{ip}", delete(actions::unblock))
        .route("/suspensions", post(actions::suspend))
        .route("/suspensions/{login}", delete(actions::unsuspend))
        .route("/incidents", post(incidents::open))
        .route("/incidents/{incident}", patch(incidents::update))
}
