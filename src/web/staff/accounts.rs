//! `/staff/accounts` (admins): staff accounts — list, add with a role and an initial password,
//! disable (which also ends their sessions and API tokens), and end someone's sessions.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use serde::Deserialize;

use super::customer::Done;
use super::{AdminUser, Frame, forms, path_segment};
use crate::explain::Lang;
use crate::store::{self, web_sessions};
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;

pub struct AccountRow {
    pub name: String,
    pub href: String,
    pub role: String,
    pub created: String,
    pub disabled: Option<String>,
    pub totp: bool,
}

#[derive(Template)]
#[template(path = "staff/accounts.html")]
struct AccountsPage {
    frame: Frame,
    accounts: Vec<AccountRow>,
    min_password: usize,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    AdminUser(user): AdminUser,
    Query(q): Query<Done>,
) -> Result<Html<String>, WebError> {
    let list = app
        .db
        .run(async |c: &mut crate::store::Conn| store::staff::list(c).await)
        .await?;
    let t = |at| local_short(at, app.config.timezone.0);
    let page = AccountsPage {
        frame: Frame::new(&app, lang, &user, "/staff/accounts", "staff.accounts.title")
            .nav("accounts")
            .done(q.done.as_deref()),
        accounts: list
            .into_iter()
            .map(|s| AccountRow {
                href: format!("/staff/accounts/{}", path_segment(&s.name)),
                role: s.role,
                created: t(s.created_at),
                disabled: s.disabled_at.map(t),
                totp: s.totp_secret.is_some(),
                name: s.name,
            })
            .collect(),
        min_password: crate::staff::MIN_PASSWORD,
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    reason: String,
}

pub async fn add(
    State(app): State<Arc<App>>,
    AdminUser(user): AdminUser,
    Form(form): Form<AccountForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let (name, role, password) = (
        form.name.trim().to_string(),
        form.role.clone(),
        form.password,
    );
    let n = name.clone();
    let said = forms::act(crate::staff::add(&app.db, &n, &role, &password)).await?;
    forms::audit(&app, &user, "staff_add", name, None, Some(said)).await?;
    Ok(Redirect::to("/staff/accounts?done=staff_add"))
}

pub async fn disable(
    State(app): State<Arc<App>>,
    AdminUser(user): AdminUser,
    Path(name): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let reason = forms::reason(&form.reason)?;
    if name == user.name {
        return Err(WebError::BadRequest(
            "name: you cannot disable your own account".into(),
        ));
    }
    let n = name.clone();
    let said = forms::act(crate::staff::disable(&app.db, &n)).await?;
    forms::audit(&app, &user, "staff_disable", name, Some(reason), Some(said)).await?;
    Ok(Redirect::to("/staff/accounts?done=staff_disable"))
}

pub async fn end_sessions(
    State(app): State<Arc<App>>,
    AdminUser(user): AdminUser,
    Path(name): Path<String>,
    Form(form): Form<AccountForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let reason = forms::reason(&form.reason)?;
    let n = name.clone();
    let ended = web_sessions::delete_all(&mut app.db.conn().await?, "staff", &n).await?;
    forms::audit(
        &app,
        &user,
        "staff_end_sessions",
        name,
        Some(reason),
        Some(format!("{ended} sessions")),
    )
    .await?;
    Ok(Redirect::to("/staff/accounts?done=staff_end_sessions"))
}
