//! `/staff/notices` (admins): writing the notices, incidents and maintenance the customer site
//! shows (§7.2) — list, create, edit and delete, with a preview of both languages rendered by
//! `web::markdown` exactly as customers will see it. Changes are CSRF-checked POSTs, audited
//! without a reason; a bad field is a 400 naming it.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::customer::Done;
use super::notice_form::NoticeForm;
use super::{AdminUser, Frame, StaffUser, forms};
use crate::explain::Lang;
use crate::store::notices;
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::markdown;

/// How many notices the editor lists.
const LIST_LIMIT: i64 = 200;

pub struct NoticeRow {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub published: String,
    pub scheduled: bool,
}

/// Both bodies as customers will see them (sanitized by `markdown::to_html`).
pub struct Preview {
    pub ja: String,
    pub en: String,
}

#[derive(Template)]
#[template(path = "staff/notices.html")]
struct NoticesPage {
    frame: Frame,
    notices: Vec<NoticeRow>,
    /// The editor: a new notice on the list page, an existing one at `/staff/notices/{id}`.
    form: NoticeForm,
    action: String,
    editing: Option<i64>,
    preview: Option<Preview>,
}

fn frame(app: &App, lang: Lang, user: &StaffUser, path: &str) -> Frame {
    Frame::new(app, lang, user, path, "staff.notices.title").nav("notices")
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    AdminUser(user): AdminUser,
    Query(q): Query<Done>,
) -> Result<Html<String>, WebError> {
    let list = notices::list_all(&mut app.db.conn().await?, LIST_LIMIT).await?;
    let now = app.now();
    let page = NoticesPage {
        frame: frame(&app, lang, &user, "/staff/notices").done(q.done.as_deref()),
        notices: list
            .iter()
            .map(|n| NoticeRow {
                id: n.id,
                kind: n.kind.as_str(),
                title: match lang {
                    Lang::Ja => n.title_ja.clone(),
                    Lang::En => n.title_en.clone(),
                },
                published: local_short(n.published_at, app.config.timezone.0),
                scheduled: n.published_at > now,
            })
            .collect(),
        form: NoticeForm {
            kind: "notice".into(),
            ..NoticeForm::default()
        },
        action: "/staff/notices".into(),
        editing: None,
        preview: None,
    };
    Ok(Html(page.render()?))
}

fn notice_id(id: &str) -> Result<i64, WebError> {
    id.parse().map_err(|_| WebError::NotFound)
}

pub async fn edit(
    State(app): State<Arc<App>>,
    lang: Lang,
    AdminUser(user): AdminUser,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let id = notice_id(&id)?;
    let notice = notices::get(&mut app.db.conn().await?, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let form = NoticeForm::from_notice(&notice, &app.config);
    Ok(Html(editor(&app, lang, &user, Some(id), form, None)?))
}

/// The editor alone, for an existing notice or a new one, with an optional preview.
fn editor(
    app: &App,
    lang: Lang,
    user: &StaffUser,
    editing: Option<i64>,
    form: NoticeForm,
    preview: Option<Preview>,
) -> Result<String, WebError> {
    let action = match editing {
        Some(id) => format!("/staff/notices/{id}"),
        None => "/staff/notices".into(),
    };
    Ok(NoticesPage {
        frame: frame(app, lang, user, &action),
        notices: Vec::new(),
        form,
        action,
        editing,
        preview,
    }
    .render()?)
}

/// Shows the form again with both bodies rendered, saving nothing.
fn preview(
    app: &App,
    lang: Lang,
    user: &StaffUser,
    editing: Option<i64>,
    form: NoticeForm,
) -> Result<Response, WebError> {
    let preview = Preview {
        ja: markdown::to_html(&form.body_ja),
        en: markdown::to_html(&form.body_en),
    };
    Ok(Html(editor(app, lang, user, editing, form, Some(preview))?).into_response())
}

/// Audits a change to notice `id`, naming it by its English title.
async fn audited(
    app: &Arc<App>,
    user: &StaffUser,
    action: &'static str,
    id: i64,
    title: String,
) -> Result<(), WebError> {
    // Every page shows notices from memory: drop this node's copy and tell the others.
    app.notices.invalidate();
    crate::store::changes::notify(
        &mut app.db.conn().await?,
        crate::store::changes::Change::Notices,
    )
    .await?;
    forms::audit(app, user, action, format!("notice {id}"), None, Some(title)).await
}

pub async fn create(
    State(app): State<Arc<App>>,
    lang: Lang,
    AdminUser(user): AdminUser,
    Form(form): Form<NoticeForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&form.csrf)?;
    if form.intent == "preview" {
        return preview(&app, lang, &user, None, form);
    }
    let now = app.now();
    let draft = form.draft(&app.config, now)?;
    let (who, title) = (user.name.clone(), draft.title_en.clone());
    let id = notices::insert(&mut app.db.conn().await?, &draft, &who, now).await?;
    audited(&app, &user, "notice_create", id, title).await?;
    Ok(Redirect::to("/staff/notices?done=notice_create").into_response())
}

pub async fn update(
    State(app): State<Arc<App>>,
    lang: Lang,
    AdminUser(user): AdminUser,
    Path(id): Path<String>,
    Form(form): Form<NoticeForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&form.csrf)?;
    let id = notice_id(&id)?;
    if form.intent == "preview" {
        return preview(&app, lang, &user, Some(id), form);
    }
    let now = app.now();
    let draft = form.draft(&app.config, now)?;
    let title = draft.title_en.clone();
    if !notices::update(&mut app.db.conn().await?, id, &draft, now).await? {
        return Err(WebError::NotFound);
    }
    audited(&app, &user, "notice_update", id, title).await?;
    Ok(Redirect::to("/staff/notices?done=notice_update").into_response())
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

pub async fn delete(
    State(app): State<Arc<App>>,
    AdminUser(user): AdminUser,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let id = notice_id(&id)?;
    let old = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let old = notices::get(c, id).await?;
            if old.is_some() {
                notices::delete(c, id).await?;
            }
            Ok(old)
        })
        .await?
        .ok_or(WebError::NotFound)?;
    audited(&app, &user, "notice_delete", id, old.title_en).await?;
    Ok(Redirect::to("/staff/notices?done=notice_delete"))
}
