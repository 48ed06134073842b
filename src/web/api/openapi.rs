//! `GET /api/v1/openapi.json`: the OpenAPI 3.0 description of this API, hand-written in
//! `static/openapi.json` and embedded in the binary. The contract tests (`tests/it/api_contract.rs`)
//! call every operation it lists and check the answers against it.

use axum::http::header;
use axum::response::IntoResponse;

pub const DOCUMENT: &str = include_str!("../../../static/openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}
