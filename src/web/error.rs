//! One error type for the web, one status mapping, and one place that renders errors: handlers
//! return `WebError`; the `render` middleware turns it into a page in the visitor's language, or
//! JSON under `/api`. Internal errors are logged once here and shown as a generic message.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::App;
use super::i18n::{Lang, Tr, request_lang};
use super::layout::Page;

#[derive(Debug, Clone, thiserror::Error)]
pub enum WebError {
    #[error("not found")]
    NotFound,
    /// Names the field or input that was wrong.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("sign in required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    #[error("too large")]
    TooLarge,
    /// Retry after this many seconds.
    #[error("too many attempts")]
    TooMany(u64),
    #[error("internal error: {0}")]
    Internal(String),
    /// A dependency (the store) cannot be reached: try again later.
    #[error("unavailable")]
    Unavailable,
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unauthorized => StatusCode::UNAUTHORIZED,
            WebError::Forbidden => StatusCode::FORBIDDEN,
            WebError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            WebError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<crate::store::StoreError> for WebError {
    fn from(e: crate::store::StoreError) -> Self {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "database unavailable: answered 503");
            WebError::Unavailable
        } else {
            WebError::Internal(e.to_string())
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(format!("template: {e}"))
    }
}

/// Handlers' errors travel to `render` inside the response.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        response.extensions_mut().insert(self);
        response
    }
}

pub async fn not_found() -> WebError {
    WebError::NotFound
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    message: &'static str,
    detail: Option<String>,
    /// What was wrong with what the visitor sent and what to do, in their language.
    advice: Option<String>,
    /// The request's id, for the visitor to quote and staff to find in the access log.
    request_id: Option<String>,
}

/// What a customer should be told about a field they got wrong, in their words and language:
/// the developer's `field: reason` stays for staff and the API.
fn advice(error: &WebError, lang: Lang, app: &App) -> Option<String> {
    let WebError::BadRequest(detail) = error else {
        return None;
    };
    let field = detail.split(':').next().unwrap_or("").trim();
    let domain = app
        .config
        .relay
        .customer_domains
        .first()
        .map(String::as_str)
        .unwrap_or("");
    let key = match field {
        "email" => "error.advice.email",
        "csrf" | "form" => "error.advice.form",
        "login" | "password" => "error.advice.login",
        "" => "error.advice.any",
        _ => "error.advice.field",
    };
    Some(super::i18n::fill(Tr(lang).t(key), &[("domain", domain)]))
}

/// Renders every error response: those of handlers, of extractors (bad query strings, bodies)
/// and of the fallback.
pub async fn render(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let lang = request_lang(&parts);
    let id = super::request_id::request_id(&parts.headers).map(str::to_string);
    let api = parts.uri.path().starts_with("/api/");
    let staff = parts.uri.path().starts_with("/staff");
    let response = next.run(Request::from_parts(parts, body)).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let error = response
        .extensions()
        .get::<WebError>()
        .cloned()
        .unwrap_or_else(|| match status {
            StatusCode::NOT_FOUND => WebError::NotFound,
            StatusCode::PAYLOAD_TOO_LARGE => WebError::TooLarge,
            StatusCode::UNAUTHORIZED => WebError::Unauthorized,
            StatusCode::SERVICE_UNAVAILABLE => WebError::Unavailable,
            s if s.is_server_error() => WebError::Internal(format!("status {s}")),
            // Extractor rejections (bad query, form, JSON, method) are the client's.
            _ => WebError::BadRequest(String::new()),
        });
    if let WebError::Internal(detail) = &error {
        tracing::error!(%detail, "request failed");
    }
    let mut out = if api {
        json(&error, lang, id.as_deref())
    } else {
        html(&error, lang, &app, id, staff)
    };
    *out.status_mut() = error.status();
    if let WebError::TooMany(secs) = error {
        out.headers_mut().insert(header::RETRY_AFTER, secs.into());
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        *out.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    }
    // Headers that belong to the error itself: allowed methods, the authentication scheme.
    for name in [header::ALLOW, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            out.headers_mut().insert(name, value.clone());
        }
    }
    out
}

fn message(error: &WebError, tr: Tr) -> &'static str {
    tr.t(match error {
        WebError::NotFound => "error.404",
        WebError::BadRequest(_) => "error.400",
        WebError::Unauthorized => "error.401",
        WebError::Forbidden => "error.403",
        WebError::TooLarge => "error.413",
        WebError::TooMany(_) => "error.429",
        WebError::Internal(_) => "error.500",
        WebError::Unavailable => "error.503",
    })
}

/// What the visitor may learn beyond the message: the field at fault, never internals.
fn detail(error: &WebError) -> Option<String> {
    match error {
        WebError::BadRequest(field) if !field.is_empty() => Some(field.clone()),
        _ => None,
    }
}

fn json(error: &WebError, lang: Lang, id: Option<&str>) -> Response {
    let body = serde_json::json!({
        "error": error.status().canonical_reason().unwrap_or("error").to_ascii_lowercase(),
        "message": message(error, Tr(lang)),
        "detail": detail(error),
        "request_id": id,
    });
    Json(body).into_response()
}

fn html(
    error: &WebError,
    lang: Lang,
    app: &App,
    request_id: Option<String>,
    staff: bool,
) -> Response {
    // Customers read what to do in their words; staff also see the field as the code names it.
    let (detail, advice) = match staff {
        true => (detail(error), None),
        false => (None, advice(error, lang, app)),
    };
    let page = ErrorPage {
        page: Page::new(lang, app, "/", message(error, Tr(lang))),
        status: error.status().as_u16(),
        message: message(error, Tr(lang)),
        detail,
        advice,
        request_id,
    };
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "error").into_response()
        }
    }
}
