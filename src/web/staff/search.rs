//! `/staff/search?q=&from=&until=`: one box for a login, a mail address, an address or a
//! network, and a time range. Results link to the customer and address pages; every search is
//! written to the audit log.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::Deserialize;

use super::customer::Linked;
use super::{Frame, StaffUser, customer_href, forms, ip_href};
use crate::explain::Lang;
use crate::helpdesk::search::{self as find, Query as Find};
use crate::helpdesk::{self, customer::HISTORY};
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;

#[derive(Debug, Deserialize, Default)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
}

pub struct Line {
    pub time: String,
    pub who: Option<Linked>,
    pub ip: Linked,
    pub text: String,
}

#[derive(Template)]
#[template(path = "staff/search.html")]
struct SearchPage {
    frame: Frame,
    q: String,
    from: String,
    until: String,
    searched: bool,
    customers: Vec<Linked>,
    addresses: Vec<Linked>,
    sessions: Vec<Line>,
    rejections: Vec<Line>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Query(p): Query<SearchQuery>,
) -> Result<Html<String>, WebError> {
    let config = app.config.clone();
    let query = Find::parse(&p.q).map_err(WebError::BadRequest)?;
    let now = app.now();
    let from = forms::when("from", &p.from, &config)?;
    let until = forms::when("until", &p.until, &config)?;
    let searched = query != Find::Empty || from.is_some() || until.is_some();
    let until = until.unwrap_or(now);
    let since = from.unwrap_or(until - HISTORY);
    if since > until {
        return Err(WebError::BadRequest("from: must be before until".into()));
    }
    let results = if searched {
        let (cfg, who, q) = (config.clone(), user.name.clone(), p.q.trim().to_string());
        let detail = format!(
            "{} – {}",
            local_short(since, config.timezone.0),
            local_short(until, config.timezone.0)
        );
        app.db
            .run(async move |c: &mut crate::store::Conn| {
                helpdesk::audit(c, &who, "search", &q, None, Some(&detail)).await?;
                find::run(c, &cfg, &query, since, until).await
            })
            .await?
    } else {
        find::Results::default()
    };
    let t = |at| local_short(at, config.timezone.0);
    let last = |h: &find::Hit| h.last_seen.map(t).unwrap_or_default();
    let page = SearchPage {
        frame: Frame::new(&app, lang, &user, "/staff/search", "staff.search.title").nav("search"),
        q: p.q.trim().to_string(),
        from: from
            .map(|f| forms::local_input(f, &config))
            .unwrap_or_default(),
        until: if p.until.trim().is_empty() {
            String::new()
        } else {
            forms::local_input(until, &config)
        },
        searched,
        customers: results
            .customers
            .iter()
            .map(|h| Linked {
                text: h.key.clone(),
                href: customer_href(&h.key),
                detail: last(h),
            })
            .collect(),
        addresses: results
            .addresses
            .iter()
            .map(|h| Linked {
                text: h.key.clone(),
                href: ip_href(&h.key),
                detail: last(h),
            })
            .collect(),
        sessions: results
            .sessions
            .iter()
            .map(|s| Line {
                time: format!("{} – {}", t(s.first_seen), t(s.last_seen)),
                who: Some(Linked {
                    text: s.login.clone(),
                    href: customer_href(&s.login),
                    detail: String::new(),
                }),
                ip: Linked {
                    text: s.ip.clone(),
                    href: ip_href(&s.ip),
                    detail: String::new(),
                },
                text: format!("{}\u{a0}×{}", s.service, s.logins),
            })
            .collect(),
        rejections: results
            .rejections
            .iter()
            .map(|r| Line {
                time: t(r.at),
                who: None,
                ip: Linked {
                    text: r.ip.clone(),
                    href: ip_href(&r.ip),
                    detail: String::new(),
                },
                text: format!("{} → {}", r.sender, r.rcpt),
            })
            .collect(),
    };
    Ok(Html(page.render()?))
}
