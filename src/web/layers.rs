//! What every request passes through, from tower-http: a request id (kept from a trusted proxy,
//! made here otherwise) on the request, the response and the error page; an access log line per
//! request (method, matched route, path, status, latency, id — never a credential); a timeout
//! (a 503 page); a caught panic (the generic 500 page, counted in /metrics); compression; and
//! the security headers on every response, errors and static files included. Body limits are
//! per surface (`FORM_LIMIT`, `API_LIMIT`), set where the routes are.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::App;
use super::error::WebError;
use super::request_id::{REQUEST_ID, request_id};

/// Form posts (sign-in, staff actions, notices) at most.
pub const FORM_LIMIT: usize = 64 * 1024;
/// API JSON bodies at most.
pub const API_LIMIT: usize = 256 * 1024;

/// No inline script or style, nothing from elsewhere, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Request ids made here: 16 random bytes in hex, unguessable and easy to quote.
#[derive(Clone, Copy, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

/// A request id that arrives is kept only from a trusted proxy, and only if it is a short
/// token: anyone else's is dropped, so a made-up id can neither forge a log line nor collide.
async fn only_trusted_ids(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.headers().contains_key(&REQUEST_ID) {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = peer.is_some_and(|ip| app.trusts(ip));
        let token = request_id(request.headers()).is_some_and(|id| {
            (1..=64).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        });
        if !(trusted && token) {
            request.headers_mut().remove(&REQUEST_ID);
        }
    }
    next.run(request).await
}

/// One span per request; its fields make the access log line.
fn span(request: &axum::http::Request<Body>) -> Span {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("-", MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        route,
        path = request.uri().path(),
        id = request_id(request.headers()).unwrap_or("-"),
    )
}

fn logged(response: &Response, latency: Duration, _: &Span) {
    let status = response.status().as_u16();
    let ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::warn!(status, ms, "answered");
    } else {
        tracing::info!(status, ms, "answered");
    }
}

/// The answer to a handler that panicked: a 500 that the error page renders with the request
/// id, counted in /metrics; the panic's message goes to the log only.
fn panicked(
    metrics: Arc<crate::metrics::Metrics>,
) -> impl Fn(Box<dyn Any + Send>) -> Response + Clone {
    move |payload: Box<dyn Any + Send>| {
        metrics.panic();
        let why = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into());
        let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        response
            .extensions_mut()
            .insert(WebError::Internal(format!("handler panicked: {why}")));
        response
    }
}

/// The layers of the whole site, around `routes` (which already carry their body limits).
pub fn around(routes: Router<Arc<App>>, app: &Arc<App>) -> Router<Arc<App>> {
    let timeout = Duration::from_secs(app.config.web.request_timeout.0.max(1).unsigned_abs());
    let security = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "camera=(), microphone=(), geolocation=(), interest-cohort=()",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // Pages show personal data: never cache them anywhere. Assets set their own policy.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    // Outermost first: the id exists before anything logs, the log sees the final status.
    let layers = ServiceBuilder::new()
        .layer(middleware::from_fn_with_state(
            app.clone(),
            only_trusted_ids,
        ))
        .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), MakeId))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
            header::PROXY_AUTHORIZATION,
        ]))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(span)
                .on_request(())
                .on_response(logged)
                .on_failure(()),
        )
        .layer(middleware::from_fn_with_state(
            app.clone(),
            super::ops::track,
        ))
        .layer(security)
        .layer(CompressionLayer::new().br(true).gzip(true))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            super::error::render,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(panicked(app.metrics.clone())));
    routes.layer(layers)
}
