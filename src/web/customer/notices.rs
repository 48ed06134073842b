//! `/notices`, `/notices/{id}` and `/notices.atom`: the ISP's dated announcements, incidents
//! and maintenance, with "last updated" dates; also the few that `/` and `/status` show.
//! Bodies are staff-written Markdown, rendered through `web::markdown`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

use crate::config::Config;
use crate::store::notices::{self, Notice, NoticeKind};
use crate::time::local_rfc3339;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;
use crate::web::markdown;

/// How many notices the list and the feed show.
const LIST_LIMIT: i64 = 100;
/// How many plain notices `/` shows.
const HOME_LIMIT: i64 = 3;

/// A notice as a page shows it, in one language.
pub struct NoticeItem {
    pub id: i64,
    pub kind: &'static str,
    pub kind_text: &'static str,
    pub title: String,
    /// The day it was published, for lists.
    pub date: String,
    /// RFC 3339, for `<time datetime>` and the feed.
    pub published: String,
    pub published_text: String,
    pub updated: String,
    pub updated_text: String,
    pub was_updated: bool,
    /// Incidents and maintenance: when, as "from – to" (or "from –" while open).
    pub period: Option<String>,
    pub status_text: Option<&'static str>,
}

/// `2026-03-13 10:30` in the configured zone.
pub fn minute(t: i64, config: &Config) -> String {
    crate::time::local(t, config.timezone.0, "%Y-%m-%d %H:%M")
}

pub fn item(n: &Notice, lang: Lang, config: &Config) -> NoticeItem {
    let tr = Tr(lang);
    let period = match (n.kind, n.starts_at, n.ends_at) {
        (NoticeKind::Notice, _, _) | (_, None, None) => None,
        (_, from, to) => Some(format!(
            "{} – {}",
            from.map(|t| minute(t, config)).unwrap_or_default(),
            to.map(|t| minute(t, config)).unwrap_or_default()
        )),
    };
    let status_text = match (n.kind, n.status.as_deref()) {
        (NoticeKind::Incident, Some(s @ ("investigating" | "identified" | "resolved"))) => {
            Some(tr.t(&format!("incident.{s}")))
        }
        _ => None,
    };
    NoticeItem {
        id: n.id,
        kind: n.kind.as_str(),
        kind_text: tr.t(&format!("kind.{}", n.kind.as_str())),
        title: match lang {
            Lang::Ja => n.title_ja.clone(),
            Lang::En => n.title_en.clone(),
        },
        date: crate::time::local(n.published_at, config.timezone.0, "%Y-%m-%d"),
        published: local_rfc3339(n.published_at, config.timezone.0),
        published_text: minute(n.published_at, config),
        updated: local_rfc3339(n.updated_at.max(n.published_at), config.timezone.0),
        updated_text: minute(n.updated_at.max(n.published_at), config),
        was_updated: n.updated_at > n.published_at,
        period,
        status_text,
    }
}

fn body(n: &Notice, lang: Lang) -> String {
    markdown::to_html(match lang {
        Lang::Ja => &n.body_ja,
        Lang::En => &n.body_en,
    })
}

/// What `/` shows: the latest few notices and every open incident or maintenance.
pub struct HomeNotices {
    pub latest: Vec<NoticeItem>,
    pub open: Vec<NoticeItem>,
}

pub async fn for_home(app: &Arc<App>, lang: Lang) -> Result<HomeNotices, WebError> {
    let now = app.now();
    let latest = app
        .notices
        .published(now, Some(NoticeKind::Notice), HOME_LIMIT as usize)
        .await?;
    let open = app.notices.open_events(now).await?;
    let config = &app.config;
    Ok(HomeNotices {
        latest: latest.iter().map(|n| item(n, lang, config)).collect(),
        open: open.iter().map(|n| item(n, lang, config)).collect(),
    })
}

/// Open incidents and maintenance, for `/status`.
pub async fn open_events(app: &Arc<App>, lang: Lang) -> Result<Vec<NoticeItem>, WebError> {
    let now = app.now();
    let open = app.notices.open_events(now).await?;
    Ok(open.iter().map(|n| item(n, lang, &app.config)).collect())
}

#[derive(Template)]
#[template(path = "customer/notices.html")]
struct ListPage {
    page: Page,
    items: Vec<NoticeItem>,
}

pub async fn list(State(app): State<Arc<App>>, lang: Lang) -> Result<Html<String>, WebError> {
    let now = app.now();
    let rows = notices::list_published(&mut app.db.conn().await?, now, None, LIST_LIMIT).await?;
    let page = Page::new(lang, &app, "/notices", Tr(lang).t("notices.title")).current("notices");
    let items = rows.iter().map(|n| item(n, lang, &app.config)).collect();
    Ok(Html(ListPage { page, items }.render()?))
}

#[derive(Template)]
#[template(path = "customer/notice.html")]
struct NoticePage {
    page: Page,
    item: NoticeItem,
    /// Sanitized by `markdown::to_html`.
    body_html: String,
}

pub async fn show(
    State(app): State<Arc<App>>,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Html<String>, WebError> {
    let id: i64 = id.parse().map_err(|_| WebError::NotFound)?;
    let now = app.now();
    let notice = notices::get_published(&mut app.db.conn().await?, id, now)
        .await?
        .ok_or(WebError::NotFound)?;
    let item = item(&notice, lang, &app.config);
    let path = format!("/notices/{id}");
    let page = Page::new(lang, &app, &path, &item.title).current("notices");
    Ok(Html(
        NoticePage {
            page,
            body_html: body(&notice, lang),
            item,
        }
        .render()?,
    ))
}

pub struct FeedEntry {
    pub item: NoticeItem,
    /// HTML, escaped once more by the template as the feed's `type="html"` content.
    pub html: String,
}

#[derive(Template)]
#[template(path = "customer/notices.xml", escape = "html")]
struct Feed {
    lang: &'static str,
    /// The public site address, without a trailing slash.
    base: String,
    title: String,
    service: String,
    updated: String,
    entries: Vec<FeedEntry>,
}

pub async fn atom(State(app): State<Arc<App>>, lang: Lang) -> Result<Response, WebError> {
    let now = app.now();
    let rows = notices::list_published(&mut app.db.conn().await?, now, None, LIST_LIMIT).await?;
    let config = &app.config;
    let newest = rows
        .iter()
        .map(|n| n.updated_at.max(n.published_at))
        .max()
        .unwrap_or(now);
    let service = config.service.name.clone();
    let feed = Feed {
        lang: lang.code(),
        base: config.web.public_url.trim_end_matches('/').to_string(),
        title: crate::web::i18n::fill(Tr(lang).t("notices.feed_title"), &[("service", &service)]),
        service,
        updated: local_rfc3339(newest, config.timezone.0),
        entries: rows
            .iter()
            .map(|n| FeedEntry {
                item: item(n, lang, config),
                html: body(n, lang),
            })
            .collect(),
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/atom+xml"),
            (header::CACHE_CONTROL, "public, max-age=300"),
            // The feed's language comes from these: a shared cache must keep one per language.
            (header::VARY, "Accept-Language, Cookie"),
        ],
        feed.render()?,
    )
        .into_response())
}
