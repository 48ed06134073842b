//! `/staff/relay-methods`: who relays how — per customer login, accepted relays by POP before
//! SMTP and by SMTP AUTH over the last days, the count of logins on each, relays per day by
//! method as charts, and `/staff/relay-methods.csv`: the logins that still relay by POP before
//! SMTP (those who would break if it were switched off), for a mailing. The export is audited.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{Frame, StaffUser};
use crate::explain::Lang;
use crate::helpdesk;
use crate::report::{self, Format, RelayMethodsReport};
use crate::web::App;
use crate::web::chart::{self, Chart};
use crate::web::error::WebError;
use crate::web::i18n::fill;

/// Days shown unless `?days=` says otherwise, and at most.
const DEFAULT_DAYS: i64 = 30;
const MAX_DAYS: i64 = 400;

#[derive(Debug, Deserialize, Default)]
pub struct Period {
    days: Option<String>,
    /// The page of the table of customers who rely on POP before SMTP, from 1.
    page: Option<String>,
}

/// Rows of that table per page.
const PER_PAGE: usize = 50;

/// One customer who relays by POP before SMTP, as the table shows them.
struct Dependent {
    login: String,
    href: String,
    uses: &'static str,
    uses_text: &'static str,
    pop_before_smtp: i64,
    last_pop: String,
    smtp_auth: i64,
}

impl Period {
    fn days(&self) -> Result<i64, WebError> {
        match self.days.as_deref().map(str::trim) {
            None | Some("") => Ok(DEFAULT_DAYS),
            Some(d) => d
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=MAX_DAYS).contains(d))
                .ok_or_else(|| WebError::BadRequest(format!("days: 1 to {MAX_DAYS}"))),
        }
    }
}

#[derive(Template)]
#[template(path = "staff/relay_methods.html")]
struct RelayMethodsPage {
    frame: Frame,
    days: i64,
    report: RelayMethodsReport,
    charts: Vec<Chart>,
    /// "258 of 392 customers still rely on POP before SMTP (66 %)".
    headline: String,
    /// This page of the logins that relay by POP before SMTP, the most relays first.
    dependent: Vec<Dependent>,
    page: usize,
    pages: usize,
}

/// The report for the last `days`, and the look at every customer's logins it is, audited
/// (`view_relay_methods`) in the same store call that reads it.
async fn load(app: &Arc<App>, user: &StaffUser, days: i64) -> Result<RelayMethodsReport, WebError> {
    let now = app.now();
    let since = now - days * 86400;
    let config = app.config.clone();
    let name = user.name.clone();
    Ok(app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let detail = format!("days={days}");
            helpdesk::audit(c, &name, "view_relay_methods", "*", None, Some(&detail)).await?;
            report::relay_methods_report(c, &config, since, now).await
        })
        .await?)
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Query(q): Query<Period>,
) -> Result<Html<String>, WebError> {
    let days = q.days()?;
    let mut report = load(&app, &user, days).await?;
    let tr = crate::web::i18n::Tr(lang);
    let series = |pick: fn(&report::RelayMethodsDay) -> i64| -> Vec<(String, i64)> {
        report
            .days
            .iter()
            .map(|d| (d.day.get(5..).unwrap_or(&d.day).to_string(), pick(d)))
            .collect()
    };
    let every = (report.days.len() / 6).max(1);
    let summary = |total: i64, max: i64, at: &str| {
        let (total, max) = (total.to_string(), max.to_string());
        fill(
            tr.t("chart.summary"),
            &[("total", &total), ("max", &max), ("at", at)],
        )
    };
    let charts = vec![
        chart::bars(
            "chart-pop-before-smtp",
            tr.t("staff.methods.chart_pop").to_string(),
            &series(|d| d.pop_before_smtp),
            every,
            summary,
        ),
        chart::bars(
            "chart-smtp-auth",
            tr.t("staff.methods.chart_auth").to_string(),
            &series(|d| d.smtp_auth),
            every,
            summary,
        )
        .alt(),
    ];
    let mut dependent: Vec<report::RelayMethodsRecord> = std::mem::take(&mut report.logins)
        .into_iter()
        .filter(|l| l.pop_before_smtp > 0)
        .collect();
    dependent.sort_by(|a, b| {
        b.pop_before_smtp
            .cmp(&a.pop_before_smtp)
            .then(a.login.cmp(&b.login))
    });
    let s = &report.summary;
    let total = s.smtp_auth_only + s.mixed + s.pop_before_smtp_only;
    let rely = s.mixed + s.pop_before_smtp_only;
    let share = (rely * 100).checked_div(total).unwrap_or(0);
    let headline = fill(
        tr.t("staff.methods.headline"),
        &[
            ("rely", &rely.to_string()),
            ("total", &total.to_string()),
            ("share", &share.to_string()),
        ],
    );
    let pages = dependent.len().div_ceil(PER_PAGE).max(1);
    let page = q
        .page
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<usize>().ok().filter(|n| (1..=pages).contains(n)))
        .unwrap_or(Some(1))
        .ok_or_else(|| WebError::BadRequest(format!("page: 1 to {pages}")))?;
    let zone = app.config.timezone.0;
    let local = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| crate::time::local_short(t.timestamp(), zone))
            .unwrap_or_default()
    };
    let dependent = dependent
        .into_iter()
        .skip((page - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|l| Dependent {
            href: super::customer_href(&l.login),
            uses: l.uses,
            uses_text: tr.t(match l.uses {
                "smtp_auth" => "staff.methods.smtp_auth_only",
                "mixed" => "staff.methods.mixed",
                _ => "staff.methods.pop_only",
            }),
            pop_before_smtp: l.pop_before_smtp,
            last_pop: local(&l.last_pop_before_smtp),
            smtp_auth: l.smtp_auth,
            login: l.login,
        })
        .collect();
    let page = RelayMethodsPage {
        frame: Frame::new(
            &app,
            lang,
            &user,
            "/staff/relay-methods",
            "staff.methods.title",
        )
        .nav("methods"),
        days,
        report,
        charts,
        headline,
        dependent,
        page,
        pages,
    };
    Ok(Html(page.render()?))
}

/// The logins that relay by POP before SMTP in the period, as CSV.
pub async fn csv(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Query(q): Query<Period>,
) -> Result<Response, WebError> {
    let days = q.days()?;
    let now = app.now();
    let since = now - days * 86400;
    let config = app.config.clone();
    let name = user.name.clone();
    let rows = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let detail = format!("days={days}");
            helpdesk::audit(c, &name, "relay_methods_export", "*", None, Some(&detail)).await?;
            crate::store::relay_methods::per_login(c, since, now).await
        })
        .await?;
    let dependent: Vec<_> = rows.into_iter().filter(|m| m.pop_before_smtp > 0).collect();
    let mut out = Vec::new();
    report::write_relay_methods(&dependent, &config, Format::Csv, &mut out)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"pop-before-smtp-logins.csv\"",
            ),
        ],
        out,
    )
        .into_response())
}
