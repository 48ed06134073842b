//! `/staff/audit` (admins): the audit log, newest first, filtered by subject or actor.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::{AdminUser, Frame};
use crate::explain::Lang;
use crate::store::audit;
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;

/// Most entries on one page.
const LIMIT: i64 = 500;

#[derive(Debug, Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    actor: String,
}

pub struct EntryRow {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub reason: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "staff/audit.html")]
struct AuditPage {
    frame: Frame,
    subject: String,
    actor: String,
    entries: Vec<EntryRow>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    AdminUser(user): AdminUser,
    Query(q): Query<AuditQuery>,
) -> Result<Html<String>, WebError> {
    let subject = q.subject.trim().to_string();
    let actor = q.actor.trim().to_string();
    if subject.len() > 256 || actor.len() > 64 {
        return Err(WebError::BadRequest("subject, actor: too long".into()));
    }
    let (s, a) = (subject.clone(), actor.clone());
    let entries = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let opt = |v: &str| (!v.is_empty()).then(|| v.to_string());
            audit::list(c, opt(&s).as_deref(), opt(&a).as_deref(), 0, LIMIT).await
        })
        .await?;
    let page = AuditPage {
        frame: Frame::new(&app, lang, &user, "/staff/audit", "staff.audit.title").nav("audit"),
        subject,
        actor,
        entries: entries
            .into_iter()
            .map(|e| EntryRow {
                time: local_short(e.at, app.config.timezone.0),
                actor: e.actor,
                action: e.action,
                subject: e.subject,
                reason: e.reason.unwrap_or_default(),
                detail: e.detail.unwrap_or_default(),
            })
            .collect(),
    };
    Ok(Html(page.render()?))
}
