//! Staff sign-in and who is signed in. `StaffUser` sends visitors without a staff session to
//! the sign-in page and never lets a disabled account through; `AdminUser` refuses agents
//! (403). Sign-in is a CSRF-protected form (double submit before a session exists), makes a
//! new session every time, asks for the TOTP code when the account has one (and makes admins
//! set one up when `staff.require_totp_for_admins`), and is throttled per staff name and per
//! address over `staff.signin_window` — failures age out, so nobody is locked out for good.

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::totp;
use crate::helpdesk;
use crate::staff::{Role, verify_password};
use crate::store::{self, signin};
use crate::web::App;
use crate::web::client::ClientAddr;
use crate::web::customer::signin::Tls;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;
use crate::web::session::{
    self, CSRF_COOKIE, Kind, MaybeSession, SESSION_COOKIE, Session, anonymous_csrf,
    check_anonymous_csrf, set_cookie,
};

/// A signed-in staff member with an active account.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub name: String,
    pub role: Role,
    pub session: Session,
}

impl StaffUser {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Checks a submitted form's CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        self.session.check_csrf(submitted)
    }
}

/// Pages an admin who still must set up a second factor may use.
const ENROLMENT_PATHS: &[&str] = &["/staff/totp", "/staff/logout", "/staff/logout/everywhere"];

fn to_login(parts: &Parts) -> Response {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .filter(|p| p.starts_with("/staff") && *p != "/staff/login" && parts.method == "GET")
        .map(|p| format!("?next={}", super::path_segment(p)))
        .unwrap_or_default();
    Redirect::to(&format!("/staff/login{next}")).into_response()
}

impl FromRequestParts<Arc<App>> for StaffUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let MaybeSession(session) = MaybeSession::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(session) = session.filter(|s| s.kind == Kind::Staff) else {
            return Err(to_login(parts));
        };
        let name = session.subject.clone();
        let account = async { store::staff::by_name(&mut app.db.conn().await?, &name).await }
            .await
            .map_err(|e| WebError::from(e).into_response())?;
        let Some(account) = account.filter(|a| a.disabled_at.is_none()) else {
            session
                .end(app)
                .await
                .map_err(IntoResponse::into_response)?;
            return Err(to_login(parts));
        };
        let role = Role::parse(&account.role).map_err(|_| WebError::Forbidden.into_response())?;
        if role == Role::Admin
            && app.config.staff.require_totp_for_admins
            && account.totp_secret.is_none()
            && !ENROLMENT_PATHS.contains(&parts.uri.path())
        {
            return Err(Redirect::to("/staff/totp").into_response());
        }
        Ok(StaffUser {
            name: account.name,
            role,
            session,
        })
    }
}

/// A signed-in admin; agents get 403.
#[derive(Debug, Clone)]
pub struct AdminUser(pub StaffUser);

impl FromRequestParts<Arc<App>> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Response> {
        let user = StaffUser::from_request_parts(parts, app).await?;
        if !user.is_admin() {
            return Err(WebError::Forbidden.into_response());
        }
        Ok(AdminUser(user))
    }
}

#[derive(Template)]
#[template(path = "staff/login.html")]
struct LoginPage {
    page: Page,
    csrf: String,
    next: String,
    name: String,
    failed: bool,
}

#[derive(Debug, Deserialize, Default)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// Where to go after signing in: a staff page, never another site.
/// Where to go after signing in: a page of the console, given as a path of visible ASCII (no
/// control characters, which would break the redirect's header, no backslash, no other site).
fn safe_next(next: &str) -> &str {
    let console = next == "/staff" || next.starts_with("/staff/") || next.starts_with("/staff?");
    if console && next.len() <= 512 && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        next
    } else {
        "/staff"
    }
}

fn login_form(
    app: &App,
    lang: Lang,
    headers: &HeaderMap,
    next: &str,
    name: &str,
    failed: bool,
    secure: bool,
) -> Result<Response, WebError> {
    let (csrf, fresh) = anonymous_csrf(headers);
    let page = LoginPage {
        page: Page::new(lang, app, "/staff/login", Tr(lang).t("staff.login.title")),
        csrf: session::masked(&csrf),
        next: safe_next(next).to_string(),
        name: name.to_string(),
        failed,
    };
    let mut response = Html(page.render()?).into_response();
    if fresh {
        response.headers_mut().insert(
            header::SET_COOKIE,
            set_cookie(CSRF_COOKIE, &csrf, None, secure),
        );
    }
    Ok(response)
}

pub async fn login_page(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    Tls(secure): Tls,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    login_form(&app, lang, &headers, &q.next, "", false, secure)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// A hash to verify against when the name is unknown, so both cases take as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| crate::staff::hash_password("not a real password").unwrap_or_default())
}

/// Whether `code` is `name`'s current code and its time step not used before; the step is
/// taken, so a replayed code (or an older one) is refused.
pub(super) async fn code_accepted(
    app: &App,
    name: &str,
    secret: &str,
    code: &str,
    now: i64,
) -> Result<bool, WebError> {
    Ok(match totp::matching_step(secret, code, now) {
        Some(step) => store::staff::take_totp_step(&mut app.db.conn().await?, name, step).await?,
        None => false,
    })
}

/// Staff sign-in's limits (`[staff]`), for signing in and for replacing an authenticator.
pub(super) fn signin_limits(cfg: &crate::config::StaffConfig) -> signin::Limits {
    signin::Limits {
        window: cfg.signin_window.0,
        per_account: cfg.signin_max_per_account as usize,
        per_address: cfg.signin_max_per_address as usize,
    }
}

pub async fn login(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    ClientAddr(ip): ClientAddr,
    Tls(secure): Tls,
    MaybeSession(previous): MaybeSession,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    check_anonymous_csrf(&headers, &form.csrf)?;
    let name = form.name.trim().to_string();
    if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
        return Err(WebError::BadRequest("name".into()));
    }
    let now = app.now();
    // The attempt is reserved (counted and recorded at once) before the password is checked,
    // so parallel tries cannot all pass the count.
    let limits = signin_limits(&app.config.staff);
    let reserved = crate::web::client::reserve_attempt(&app, "staff", &name, ip, limits).await?;
    let account = store::staff::by_name(&mut app.db.conn().await?, &name).await?;

    let hash = account
        .as_ref()
        .map_or_else(|| dummy_hash().to_string(), |a| a.password_hash.clone());
    let password = form.password.clone();
    let password_ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| WebError::Internal(format!("password check: {e}")))?;
    let mut signed_in = account.filter(|a| password_ok && a.disabled_at.is_none());
    if let Some(a) = &signed_in
        && let Some(secret) = &a.totp_secret
        && !code_accepted(&app, &a.name, secret, &form.code, now).await?
    {
        signed_in = None;
    }
    // (Admins without a second factor under the requirement may only set one up.)
    let Some(account) = signed_in else {
        // The reserved attempt stays: it is the failure.
        reserved.keep();
        return login_form(&app, lang, &headers, &form.next, &name, true, secure);
    };

    reserved.release().await?;
    if let Some(old) = previous {
        old.end(&app).await?;
    }
    let (_, id) = Session::start(&app, Kind::Staff, &account.name).await?;
    let (who, addr) = (account.name.clone(), ip.to_string());
    app.db
        .run(async move |c: &mut crate::store::Conn| {
            signin::clear_account(c, "staff", &who).await?;
            helpdesk::audit(c, &who, "sign_in", &who, None, Some(&addr)).await
        })
        .await?;
    let mut response = Redirect::to(safe_next(&form.next)).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &id, None, secure),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn signed_out() -> Response {
    let mut response = Redirect::to("/staff/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", Some(0), false),
    );
    response
}

pub async fn logout(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&form.csrf)?;
    user.session.end(&app).await?;
    Ok(signed_out())
}

pub async fn logout_everywhere(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&form.csrf)?;
    let n = user.session.end_everywhere(&app).await?;
    let name = user.name.clone();
    let now = app.now();
    app.db
        .run(async move |c: &mut crate::store::Conn| {
            // Everywhere includes the account's API tokens: after a lost laptop, nothing the
            // account held goes on working.
            let tokens = store::staff::revoke_tokens_of(c, &name, now).await?;
            helpdesk::audit(
                c,
                &name,
                "sign_out_everywhere",
                &name,
                None,
                Some(&format!("{n} sessions, {tokens} API tokens")),
            )
            .await
        })
        .await?;
    Ok(signed_out())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_console_path_without_control_characters() {
        assert_eq!(
            safe_next("/staff/customers/taro?x=1"),
            "/staff/customers/taro?x=1"
        );
        assert_eq!(safe_next("/staff"), "/staff");
        for bad in [
            "/staff\r\nX: y",
            "/staff/\u{7f}",
            "/staff/a b",
            "//evil.example/staff",
            "https://evil.example/staff",
            "/staffevil",
            "/staff/\\evil",
            "/staff/ページ",
            "",
        ] {
            assert_eq!(safe_next(bad), "/staff", "{bad:?}");
        }
    }
}
