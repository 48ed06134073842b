//! `/staff`: the operator's view at 5 a.m. — activity in the last hour and day, logins and
//! relay rejections per hour, open alerts to acknowledge, and whether the log sources and the
//! policy service are alive.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Html;

use super::alerts::{AlertRow, alert_row};
use super::customer::Done;
use super::{Frame, StaffUser};
use crate::explain::Lang;
use crate::store::stats::{self, Activity, Counters};
use crate::store::{self, alerts};
use crate::time::local_short;
use crate::web::App;
use crate::web::chart::{self, Chart};
use crate::web::error::WebError;
use crate::web::i18n::Tr;

/// A log source falling this far behind is shown as lagging.
const LAG_WARN: i64 = 15 * 60;

pub struct SourceRow {
    pub name: String,
    pub lag: String,
    pub lagging: bool,
    pub lines: i64,
    pub skipped: i64,
    pub malformed: i64,
    pub error: String,
}

#[derive(Template)]
#[template(path = "staff/dashboard.html")]
struct DashboardPage {
    frame: Frame,
    hour: Counters,
    day: Counters,
    /// Logins and relay rejections per hour.
    charts: Vec<Chart>,
    alerts: Vec<AlertRow>,
    sources: Vec<SourceRow>,
    last_decision: String,
    /// The ISP's relay stores, when `[[relay.stores]]` are configured: each store's last
    /// read and the last day's disagreements with the mail checks.
    stores: Option<StoresView>,
}

pub struct StoreRead {
    pub name: String,
    /// "last read TIME", or that it never was.
    pub read: String,
    pub held: i64,
    pub error: String,
}

pub struct FindingRow {
    pub time: String,
    pub kind: &'static str,
    pub kind_text: &'static str,
    pub ip: String,
    pub ip_href: String,
    pub login: String,
}

pub struct StoresView {
    pub reads: Vec<StoreRead>,
    pub missed: usize,
    pub no_check: usize,
    pub outlived: usize,
    /// The newest findings, at most `FINDINGS_SHOWN`.
    pub findings: Vec<FindingRow>,
}

/// Findings listed on the dashboard; `relaydesk check-store` lists them all.
const FINDINGS_SHOWN: usize = 20;

/// `3h 05m`, `12m 30s`, `45s`.
pub fn duration(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Query(q): Query<Done>,
) -> Result<Html<String>, WebError> {
    let now = app.now();
    let day_ago = now - 86400;
    let store_config = app.config.clone();
    let (hour, day, logins, rejections, open, sources, last, stores) = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let stores = match store_config.relay.stores.is_empty() {
                true => None,
                false => Some((
                    store::relay_store::reads(c).await?,
                    crate::relay_store::findings_between(
                        c,
                        &store_config.relay.store_names(),
                        store_config.relay.window.0,
                        60,
                        day_ago,
                        now,
                    )
                    .await?,
                )),
            };
            Ok((
                stats::counters(c, now - 3600).await?,
                stats::counters(c, day_ago).await?,
                stats::activity_per_hour(c, Activity::MailCheck, now, 24).await?,
                stats::activity_per_hour(c, Activity::RelayRefused, now, 24).await?,
                alerts::list(c, true, 50).await?,
                store::ingest::all_sources(c).await?,
                stats::last_decision(c).await?,
                stores,
            ))
        })
        .await?;
    let config = &app.config;
    let tr = Tr(lang);
    let page = DashboardPage {
        frame: Frame::new(&app, lang, &user, "/staff", "staff.dashboard.title")
            .nav("dashboard")
            .done(q.done.as_deref()),
        hour,
        day,
        charts: vec![
            chart::hourly(
                "chart-logins",
                tr.t("staff.dashboard.logins_chart"),
                &logins,
                config,
                tr,
            ),
            chart::hourly(
                "chart-rejections",
                tr.t("staff.dashboard.rejections_chart"),
                &rejections,
                config,
                tr,
            )
            .alt(),
        ],
        alerts: open.iter().map(|a| alert_row(a, config)).collect(),
        sources: sources
            .into_iter()
            .map(|s| {
                let lag = s.last_event_at.map(|t| now - t);
                SourceRow {
                    lag: lag.map(duration).unwrap_or_else(|| "—".into()),
                    lagging: lag.is_none_or(|l| l > LAG_WARN),
                    lines: s.lines,
                    skipped: s.skipped,
                    malformed: s.malformed,
                    error: s.error.unwrap_or_default(),
                    name: s.name,
                }
            })
            .collect(),
        last_decision: last
            .map(|t| local_short(t, config.timezone.0))
            .unwrap_or_else(|| "—".into()),
        stores: stores.map(|(reads, found)| stores_view(&reads, &found, config, tr)),
    };
    Ok(Html(page.render()?))
}

fn stores_view(
    reads: &[store::relay_store::Read],
    found: &[crate::relay_store::Finding],
    config: &crate::config::Config,
    tr: Tr,
) -> StoresView {
    use crate::relay_store::FindingKind as K;
    let count = |k: K| found.iter().filter(|f| f.kind == k).count();
    StoresView {
        reads: reads
            .iter()
            .map(|r| StoreRead {
                name: r.store.clone(),
                // A store whose every read failed has never been read: said instead of the
                // time of its last read.
                read: match r.read_at {
                    0 => tr.t("staff.store.never").to_string(),
                    at => format!(
                        "{} {}",
                        tr.t("staff.store.read"),
                        local_short(at, config.timezone.0)
                    ),
                },
                held: r.held,
                error: r.error.clone().unwrap_or_default(),
            })
            .collect(),
        missed: count(K::MissedLogin),
        no_check: count(K::NoCheck),
        outlived: count(K::Outlived),
        findings: found
            .iter()
            .rev()
            .take(FINDINGS_SHOWN)
            .map(|f| FindingRow {
                time: local_short(f.at, config.timezone.0),
                kind: f.kind.as_str(),
                kind_text: tr.t(&format!("staff.store.{}", f.kind.as_str())),
                ip_href: crate::web::staff::ip_href(&f.ip),
                ip: f.ip.clone(),
                login: f.login.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lags_read_at_a_glance() {
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(750), "12m 30s");
        assert_eq!(duration(3 * 3600 + 300), "3h 05m");
        assert_eq!(duration(-5), "0s");
    }
}
