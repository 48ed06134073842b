//! Incidents over the API, so monitoring can open one and update it: `POST /incidents` and
//! `PATCH /incidents/{id}`. An open incident's impact and components drive `/status`,
//! `GET /status` and the top of `/` (`web::customer::status`). Each change, its audit record
//! and the change notice (other nodes drop their notice caches) are one transaction.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::auth::ApiStaff;
use super::params::{self, Body};
use crate::store::changes::{self, Change};
use crate::store::notices::{self, COMPONENTS, IMPACTS, NoticeDraft, NoticeKind, STATUSES};
use crate::web::App;
use crate::web::error::WebError;

fn bad(field: &str, what: &str) -> WebError {
    WebError::BadRequest(format!("{field}: {what}"))
}

/// One line of 1–200 characters.
fn title(body: &Body, field: &str) -> Result<String, WebError> {
    let t = body.string(field)?;
    let t = t.trim();
    if t.is_empty() || t.chars().count() > 200 || t.chars().any(char::is_control) {
        return Err(bad(field, "one line of 1-200 characters"));
    }
    Ok(t.to_string())
}

/// Markdown of at most 20,000 characters (`required`: at least one).
fn text(body: &Body, field: &str, required: bool) -> Result<String, WebError> {
    let t = match (body.maybe_string(field)?, required) {
        (Some(t), _) => t,
        (None, false) => String::new(),
        (None, true) => return Err(bad(field, "required")),
    };
    let t = t.trim();
    if (required && t.is_empty()) || t.chars().count() > 20_000 {
        return Err(bad(field, "1-20000 characters of Markdown"));
    }
    Ok(t.replace("\r\n", "\n"))
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, WebError> {
    let v = value.trim();
    if allowed.contains(&v) {
        Ok(v.to_string())
    } else {
        Err(bad(field, &format!("one of {}", allowed.join(", "))))
    }
}

/// `POST /incidents {title_ja, title_en, body_ja, body_en, status, impact, components}`:
/// opens an incident, published now. Audited as `api_incident_open`.
pub async fn open(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let body = Body::parse(&body)?;
    let status = one_of("status", &body.string("status")?, &STATUSES)?;
    let impact = one_of("impact", &body.string("impact")?, &IMPACTS)?;
    let mut components = Vec::new();
    for c in body.strings("components")? {
        let c = one_of("components", &c, &COMPONENTS)?;
        if !components.contains(&c) {
            components.push(c);
        }
    }
    let now = app.now();
    let draft = NoticeDraft {
        kind: NoticeKind::Incident,
        title_ja: title(&body, "title_ja")?,
        title_en: title(&body, "title_en")?,
        body_ja: text(&body, "body_ja", true)?,
        body_en: text(&body, "body_en", true)?,
        published_at: now,
        starts_at: Some(now),
        ends_at: (status == "resolved").then_some(now),
        status: Some(status),
        impact: Some(impact),
        components: (!components.is_empty()).then(|| components.join(",")),
    };
    let who = staff.name.clone();
    let id = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let mut tx = c.begin().await?;
            let id = notices::insert(&mut tx, &draft, &who, now).await?;
            let subject = format!("notice {id}");
            crate::helpdesk::audit(
                &mut tx,
                &who,
                "api_incident_open",
                &subject,
                None,
                Some(&draft.title_en),
            )
            .await?;
            changes::notify(&mut tx, Change::Notices).await?;
            tx.commit().await?;
            Ok(id)
        })
        .await?;
    app.notices.invalidate();
    let base = app.config.web.public_url.trim_end_matches('/');
    Ok(Json(json!({
        "id": id,
        "url": format!("{base}/notices/{id}"),
        "message": format!("incident {id} is open"),
    })))
}

/// `PATCH /incidents/{id} {status, text_ja, text_en, impact}`: a status update, its text
/// added to the incident under the time; `resolved` closes it. Audited as
/// `api_incident_update`; 404 when there is no such incident.
pub async fn update(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, WebError> {
    let id = params::id("incident", &id)?;
    let body = Body::parse(&body)?;
    let status = one_of("status", &body.string("status")?, &STATUSES)?;
    let impact = body
        .maybe_string("impact")?
        .map(|i| one_of("impact", &i, &IMPACTS))
        .transpose()?;
    let (ja, en) = (
        text(&body, "text_ja", false)?,
        text(&body, "text_en", false)?,
    );
    let now = app.now();
    let stamp = crate::web::customer::notices::minute(now, &app.config);
    let who = staff.name.clone();
    let found = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let mut tx = c.begin().await?;
            let impact = impact.as_deref();
            let found =
                notices::update_incident(&mut tx, id, &status, (&ja, &en), impact, &stamp, now)
                    .await?;
            if found {
                let subject = format!("notice {id}");
                crate::helpdesk::audit(
                    &mut tx,
                    &who,
                    "api_incident_update",
                    &subject,
                    None,
                    Some(&status),
                )
                .await?;
                changes::notify(&mut tx, Change::Notices).await?;
                tx.commit().await?;
            }
            Ok(found)
        })
        .await?;
    if !found {
        return Err(WebError::NotFound);
    }
    app.notices.invalidate();
    Ok(Json(json!({ "message": format!("incident {id} updated") })))
}
