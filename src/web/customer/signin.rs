//! `GET/POST /login` and `POST /logout` for customers (§7.1, §7.4). The mail ID and password are
//! checked by `verify` against the mail service itself; failures are throttled per account and
//! per client address over a sliding window, so a lock always ends by itself. Every sign-in
//! starts a new session; the login form carries the anonymous double-submit CSRF token, sign-out
//! the session's own.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::verify::{self, Verdict};
use crate::config::CustomerAuthMethod;
use crate::domain::{Epoch, one_line};
use crate::store::signin;
use crate::web::App;
use crate::web::client::ClientAddr;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;
use crate::web::session::{
    CSRF_COOKIE, Kind, MaybeSession, SESSION_COOKIE, Session, anonymous_csrf, check_anonymous_csrf,
    over_tls, set_cookie,
};

/// Failed sign-ins of one account within `WINDOW` before it must wait.
pub const ACCOUNT_LIMIT: usize = 5;
/// Failed sign-ins from one client address (any accounts) within `WINDOW` before it must wait.
pub const ADDRESS_LIMIT: usize = 20;
/// The sliding window failures count in, in seconds.
pub const WINDOW: i64 = 15 * 60;

/// Customer sign-in's limits.
pub const LIMITS: signin::Limits = signin::Limits {
    window: WINDOW,
    per_account: ACCOUNT_LIMIT,
    per_address: ADDRESS_LIMIT,
};

/// How long to wait before another try, when `newest_first` (failure times within the window,
/// newest first) already holds `limit` failures: until the oldest of those leaves the window.
pub fn retry_after(newest_first: &[Epoch], limit: usize, now: Epoch) -> Option<u64> {
    signin::retry_after(newest_first, limit, WINDOW, now)
}

/// Whether the visitor reached us over TLS, as a trusted proxy says: cookies are then `Secure`.
pub struct Tls(pub bool);

impl FromRequestParts<Arc<App>> for Tls {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        let trusted = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|c| app.trusts(c.0.ip()));
        Ok(Tls(over_tls(&parts.headers, trusted)))
    }
}

#[derive(Template)]
#[template(path = "customer/login.html")]
struct LoginPage {
    page: Page,
    csrf: String,
    enabled: bool,
    login: String,
    error: Option<&'static str>,
}

fn login_page(
    app: &App,
    lang: Lang,
    csrf: String,
    login: String,
    error: Option<&'static str>,
) -> Result<String, WebError> {
    let tr = Tr(lang);
    let page = Page::new(lang, app, "/login", tr.t("login.title")).current("login");
    Ok(LoginPage {
        page,
        csrf: crate::web::session::masked(&csrf),
        enabled: app.config.customer_auth.method != CustomerAuthMethod::None,
        login,
        error: error.map(|k| tr.t(k)),
    }
    .render()?)
}

pub async fn form(
    State(app): State<Arc<App>>,
    lang: Lang,
    Tls(secure): Tls,
    MaybeSession(session): MaybeSession,
    headers: HeaderMap,
) -> Result<Response, WebError> {
    if session.is_some_and(|s| s.kind == Kind::Customer) {
        return Ok(Redirect::to("/me").into_response());
    }
    let (csrf, fresh) = anonymous_csrf(&headers);
    let mut response =
        Html(login_page(&app, lang, csrf.clone(), String::new(), None)?).into_response();
    if fresh {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &csrf, None, secure),
        );
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

pub async fn submit(
    State(app): State<Arc<App>>,
    lang: Lang,
    Tls(secure): Tls,
    ClientAddr(ip): ClientAddr,
    MaybeSession(old): MaybeSession,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    check_anonymous_csrf(&headers, &form.csrf)?;
    let again = |error: &'static str, login: String| -> Result<Response, WebError> {
        Ok(Html(login_page(
            &app,
            lang,
            form.csrf.clone(),
            login,
            Some(error),
        )?)
        .into_response())
    };
    if app.config.customer_auth.method == CustomerAuthMethod::None {
        return again("login.disabled", String::new());
    }
    // One spelling for throttling, verification and the session alike, so the session can only
    // ever name the login that was verified.
    let login = form.login.trim().to_lowercase();
    if login.is_empty() || form.password.is_empty() {
        return again("login.missing", form.login.trim().to_string());
    }
    // The account the login names (`U00065@example.jp` is `u00065`): what is throttled, and
    // whose data the session shows. The mail server is asked with the login as typed.
    let Ok(account) = crate::domain::Login::parse(&login, &app.config.relay.login_rule()) else {
        return again("login.missing", form.login.trim().to_string());
    };
    let account = account.into_string();
    let ip_text = ip.to_string();
    // The attempt is reserved before the password is checked, so parallel tries cannot pass
    // the count together; a throttled account is not checked at all (a right password does
    // not lift the lock early).
    let reserved = match crate::web::client::reserve_attempt(&app, "customer", &account, ip, LIMITS)
        .await
    {
        Err(WebError::TooMany(secs)) => {
            tracing::info!(login = %one_line(&login), ip = %ip_text, secs, "customer sign-in throttled");
            return Err(WebError::TooMany(secs));
        }
        other => other?,
    };
    match verify::verify(&app.config.customer_auth, &login, &form.password).await {
        Verdict::Accepted => reserved.release().await?,
        Verdict::Rejected => {
            // The reserved attempt stays: it is the failure.
            reserved.keep();
            tracing::info!(login = %one_line(&login), ip = %ip_text, "customer sign-in refused");
            return again("login.wrong", form.login.trim().to_string());
        }
        Verdict::Unavailable(reason) => {
            // Not the visitor's failure: the attempt does not count.
            reserved.release().await?;
            tracing::warn!(%reason, "customer sign-in could not be checked");
            return again("login.unavailable", form.login.trim().to_string());
        }
    }
    {
        signin::clear_account(&mut app.db.conn().await?, "customer", &account).await?;
    }
    if let Some(old) = old {
        old.end(&app).await?;
    }
    let (_, id) = Session::start(&app, Kind::Customer, &account).await?;
    tracing::info!(login = %one_line(&login), ip = %ip_text, "customer signed in");
    let mut response = Redirect::to("/me").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &id, None, secure),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
    /// Present when "sign out on every device" was ticked.
    #[serde(default)]
    everywhere: Option<String>,
}

pub async fn logout(
    State(app): State<Arc<App>>,
    Tls(secure): Tls,
    MaybeSession(session): MaybeSession,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    let Some(session) = session else {
        // Nothing to end; nothing changes.
        return Ok(Redirect::to("/login").into_response());
    };
    session.check_csrf(&form.csrf)?;
    if form.everywhere.is_some() {
        session.end_everywhere(&app).await?;
    } else {
        session.end(&app).await?;
    }
    let mut response = Redirect::to("/").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(secure));
    Ok(response)
}

fn clear_cookie(secure: bool) -> HeaderValue {
    set_cookie(SESSION_COOKIE, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_waits_for_the_oldest_counted_failure_to_leave_the_window() {
        let now = 10_000;
        assert_eq!(retry_after(&[now - 10; 4], 5, now), None);
        let five = [now - 10, now - 20, now - 30, now - 40, now - 100];
        assert_eq!(retry_after(&five, 5, now), Some((WINDOW - 100) as u64));
        assert_eq!(
            retry_after(&[now - WINDOW; 5], 5, now),
            None,
            "window-based, not permanent"
        );
        assert_eq!(retry_after(&[], 0, now), None);
    }
}
