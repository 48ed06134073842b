//! Notices (§7.1): dated announcements, incidents and scheduled maintenance, each in Japanese
//! and English with a Markdown body. Staff write them; the customer site shows the published
//! ones. Bodies are stored as written and sanitized when shown.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// What a notice announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    Notice,
    Incident,
    Maintenance,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Notice => "notice",
            NoticeKind::Incident => "incident",
            NoticeKind::Maintenance => "maintenance",
        }
    }

    pub fn parse(text: &str) -> Option<NoticeKind> {
        match text {
            "notice" => Some(NoticeKind::Notice),
            "incident" => Some(NoticeKind::Incident),
            "maintenance" => Some(NoticeKind::Maintenance),
            _ => None,
        }
    }
}

impl From<String> for NoticeKind {
    /// An unknown kind (a newer version wrote it) reads as a plain notice.
    fn from(text: String) -> Self {
        NoticeKind::parse(&text).unwrap_or(NoticeKind::Notice)
    }
}

/// The status page's components, by id: what an incident may touch.
pub const COMPONENTS: [&str; 4] = [
    "relay_authorization",
    "mailbox_logins",
    "log_freshness",
    "policy_service",
];

/// How bad an open incident is.
pub const IMPACTS: [&str; 2] = ["degraded", "outage"];

/// An incident's statuses; `resolved` ends it.
pub const STATUSES: [&str; 3] = ["investigating", "identified", "resolved"];

/// A stored notice.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Notice {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: NoticeKind,
    pub title_ja: String,
    pub title_en: String,
    pub body_ja: String,
    pub body_en: String,
    /// Shown to customers from this time on; a future time schedules the notice.
    pub published_at: Epoch,
    pub updated_at: Epoch,
    /// Incidents and maintenance: when it began (or begins).
    pub starts_at: Option<Epoch>,
    /// Incidents and maintenance: when it ended (or ends); open while null or in the future.
    pub ends_at: Option<Epoch>,
    /// Incidents: investigating | identified | resolved.
    pub status: Option<String>,
    pub created_by: String,
    /// Incidents: how bad, while open — `degraded` or `outage`.
    pub impact: Option<String>,
    /// Incidents: the status page components it touches, comma-separated ids.
    pub components: Option<String>,
}

impl Notice {
    /// The ids of the components an incident touches.
    pub fn component_ids(&self) -> impl Iterator<Item = &str> {
        self.components
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }
}

/// What staff write: a new notice, or the new text of one.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeDraft {
    pub kind: NoticeKind,
    pub title_ja: String,
    pub title_en: String,
    pub body_ja: String,
    pub body_en: String,
    pub published_at: Epoch,
    pub starts_at: Option<Epoch>,
    pub ends_at: Option<Epoch>,
    pub status: Option<String>,
    pub impact: Option<String>,
    pub components: Option<String>,
}

const COLUMNS: &str = "id, kind, title_ja, title_en, body_ja, body_en, published_at, updated_at, \
                       starts_at, ends_at, status, created_by, impact, components";

fn draft_values(d: &NoticeDraft) -> Vec<Value> {
    vec![
        d.kind.as_str().into(),
        (&d.title_ja).into(),
        (&d.title_en).into(),
        (&d.body_ja).into(),
        (&d.body_en).into(),
        d.published_at.into(),
        d.starts_at.into(),
        d.ends_at.into(),
        d.status.as_ref().into(),
        d.impact.as_ref().into(),
        d.components.as_ref().into(),
    ]
}

/// Stores a new notice by `by`; returns its id.
pub async fn insert(conn: &mut Conn, draft: &NoticeDraft, by: &str, now: Epoch) -> Result<i64> {
    let mut params = draft_values(draft);
    params.push(now.into());
    params.push(by.into());
    let row: Option<(i64,)> = conn
        .fetch_optional(
            "insert into notices (kind, title_ja, title_en, body_ja, body_en, published_at,
                              starts_at, ends_at, status, impact, components, updated_at,
                              created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id",
            &params,
        )
        .await?;
    Ok(row.map(|(id,)| id).unwrap_or_default())
}

/// Replaces a notice's text and times, marking it updated at `now`; false when there is none.
pub async fn update(conn: &mut Conn, id: i64, draft: &NoticeDraft, now: Epoch) -> Result<bool> {
    let mut params = draft_values(draft);
    params.push(now.into());
    params.push(id.into());
    let n = conn.execute(
        "update notices set kind = $1, title_ja = $2, title_en = $3, body_ja = $4, body_en = $5,
                published_at = $6, starts_at = $7, ends_at = $8, status = $9, impact = $10,
                components = $11, updated_at = $12
         where id = $13",
        &params,
    ).await?;
    Ok(n > 0)
}

/// A status update of an incident at `now`: its new status, the update's text appended to
/// each language's body under the time, a new impact when given; `resolved` ends it. False
/// when there is no such incident.
pub async fn update_incident(
    conn: &mut Conn,
    id: i64,
    status: &str,
    text: (&str, &str),
    impact: Option<&str>,
    stamp: &str,
    now: Epoch,
) -> Result<bool> {
    let Some(n) = get(conn, id).await? else {
        return Ok(false);
    };
    if n.kind != NoticeKind::Incident {
        return Ok(false);
    }
    let add = |body: &str, text: &str| match text.trim() {
        "" => body.to_string(),
        t => format!("{body}\n\n**{stamp}** {t}"),
    };
    let ends_at = (status == "resolved").then_some(now).or(n.ends_at);
    let changed = conn
        .execute(
            "update notices set status = $1, body_ja = $2, body_en = $3, impact = $4,
                    ends_at = $5, updated_at = $6
             where id = $7",
            &[
                status.into(),
                add(&n.body_ja, text.0).into(),
                add(&n.body_en, text.1).into(),
                impact.map(str::to_string).or(n.impact).into(),
                ends_at.into(),
                now.into(),
                id.into(),
            ],
        )
        .await?;
    Ok(changed > 0)
}

/// Removes a notice; false when there is none.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<bool> {
    Ok(conn
        .execute("delete from notices where id = $1", &[id.into()])
        .await?
        > 0)
}

/// Any notice, published or not (the staff editor).
pub async fn get(conn: &mut Conn, id: i64) -> Result<Option<Notice>> {
    conn.fetch_optional(
        &format!("select {COLUMNS} from notices where id = $1"),
        &[id.into()],
    )
    .await
}

/// A notice customers may see at `now`.
pub async fn get_published(conn: &mut Conn, id: i64, now: Epoch) -> Result<Option<Notice>> {
    conn.fetch_optional(
        &format!("select {COLUMNS} from notices where id = $1 and published_at <= $2"),
        &[id.into(), now.into()],
    )
    .await
}

/// Notices published by `now`, newest first, at most `limit`; only of `kind` when given.
pub async fn list_published(
    conn: &mut Conn,
    now: Epoch,
    kind: Option<NoticeKind>,
    limit: i64,
) -> Result<Vec<Notice>> {
    // Placeholders are numbered in the order they appear (SQLite numbers them so).
    let (filter, params) = match kind {
        Some(k) => (
            "and kind = $2 order by published_at desc, id desc limit $3",
            vec![now.into(), k.as_str().into(), limit.into()],
        ),
        None => (
            "order by published_at desc, id desc limit $2",
            vec![now.into(), limit.into()],
        ),
    };
    conn.fetch_all(
        &format!("select {COLUMNS} from notices where published_at <= $1 {filter}"),
        &params,
    )
    .await
}

/// Every notice, published or scheduled, newest first (the staff editor).
pub async fn list_all(conn: &mut Conn, limit: i64) -> Result<Vec<Notice>> {
    conn.fetch_all(
        &format!("select {COLUMNS} from notices order by published_at desc, id desc limit $1"),
        &[limit.into()],
    )
    .await
}

/// Published incidents not yet over and maintenance not yet ended (scheduled or under way) at
/// `now`, soonest first. An incident is over when resolved or past its end.
pub async fn open_events(conn: &mut Conn, now: Epoch) -> Result<Vec<Notice>> {
    conn.fetch_all(
        &format!(
            "select {COLUMNS} from notices
             where published_at <= $1 and kind in ('incident', 'maintenance')
               and (ends_at is null or ends_at > $1)
               and (status is null or status <> 'resolved')
             order by coalesce(starts_at, published_at), id"
        ),
        &[now.into()],
    )
    .await
}
