//! The request id every response carries (`x-request-id`), by which a customer quotes an
//! error and staff find it in the access log. Its own module: the layers that set it and the
//! error pages that print it both read it here, neither through the other.

use axum::http::HeaderName;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request id of a request or response, if any.
pub fn request_id(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(&REQUEST_ID).and_then(|v| v.to_str().ok())
}
