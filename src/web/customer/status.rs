//! `/status` and `GET /api/v1/status`: is the service working — relay authorization, mailbox
//! logins, log freshness and the policy service, each operational, degraded or out — with open
//! incidents and maintenance and 24-hour charts. Only aggregate counts are shown: nothing here
//! names a customer, an address or a log file.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::response::Html;
use serde::Serialize;

use super::health::{
    Facts, StoreFacts, log_freshness, mailbox_logins, overall, policy_service, relay_authorization,
    relay_store,
};
use super::notices::{self, NoticeItem};
use crate::config::Config;
use crate::domain::Epoch;
use crate::store::ingest;
use crate::store::notices::{Notice, NoticeKind};
use crate::store::stats::{self, Activity};
use crate::time::local_rfc3339;
use crate::web::App;
use crate::web::chart::{self, Chart};
use crate::web::error::WebError;
use crate::web::i18n::fill;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;

/// "Recently": the span each component judges.
const RECENT: i64 = 30 * 60;
const DAY: i64 = 24 * 3600;

#[derive(Debug, Serialize)]
pub struct Component {
    pub id: &'static str,
    pub state: &'static str,
    pub name: &'static str,
    pub state_text: &'static str,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct HourCount {
    /// The hour's start, RFC 3339.
    pub hour: String,
    pub count: i64,
}

#[derive(Debug, Serialize)]
pub struct OpenEvent {
    pub id: i64,
    pub kind: &'static str,
    pub title: String,
    pub period: Option<String>,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct StatusJson {
    pub updated: String,
    pub overall: &'static str,
    pub components: Vec<Component>,
    pub incidents: Vec<OpenEvent>,
    /// Mail checks (successful mailbox login lines) per hour, the last 24 hours, each counted
    /// in the hour it happened in: the counts the staff dashboard shows.
    pub logins_per_hour: Vec<HourCount>,
    pub relay_rejections_per_hour: Vec<HourCount>,
}

type Series = Vec<(Epoch, i64)>;

async fn gather(app: &Arc<App>) -> Result<(Facts, Series, Series), WebError> {
    let now = app.now();
    let policy_here = app.grants.is_some();
    let config = app.config.clone();
    let read = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let (sessions, failures) = stats::logins_between(c, now - RECENT, now).await?;
            let (usual_sessions, usual_failures) =
                stats::logins_between(c, now - DAY - RECENT, now - DAY).await?;
            let (allowed, refused) = stats::decisions_between(c, now - RECENT, now).await?;
            let facts = Facts {
                now,
                sessions,
                failures,
                usual_sessions,
                usual_failures,
                any_decision: stats::any_decision(c).await?,
                allowed,
                refused,
                allowed_day: stats::decisions_between(c, now - DAY, now).await?.0,
                policy_unavailable: stats::policy_unavailable_between(c, now - RECENT, now).await?,
                policy_here,
                sources: ingest::all_sources(c).await?,
                relay_store: store_facts(c, &config, now).await?,
            };
            let logins = stats::activity_per_hour(c, Activity::MailCheck, now, 24).await?;
            let rejections = stats::activity_per_hour(c, Activity::RelayRefused, now, 24).await?;
            Ok((facts, logins, rejections))
        })
        .await?;
    Ok(read)
}

/// The relay stores' facts, when any is configured.
pub async fn store_facts(
    c: &mut crate::store::Conn,
    config: &Config,
    now: Epoch,
) -> crate::store::Result<Option<StoreFacts>> {
    let stores = &config.relay.stores;
    if stores.is_empty() {
        return Ok(None);
    }
    let missed = crate::relay_store::findings_between(
        c,
        &config.relay.store_names(),
        config.relay.window.0,
        60,
        now - RECENT,
        now,
    )
    .await?
    .iter()
    .filter(|f| f.kind == crate::relay_store::FindingKind::MissedLogin)
    .count() as i64;
    let names: Vec<String> = stores.iter().map(|s| s.display_name()).collect();
    Ok(Some(StoreFacts {
        configured: stores.len(),
        reads: crate::store::relay_store::reads(c)
            .await?
            .into_iter()
            .filter(|r| names.contains(&r.store))
            .collect(),
        interval: stores.iter().map(|s| s.interval.0).max().unwrap_or(5),
        missed,
    }))
}

/// The components as their facts judge them, each made as bad as the worst open incident
/// that touches it, and the overall state: the worst component or open incident (one without
/// components touches the service as a whole).
fn board(facts: &Facts, open: &[Notice], tr: Tr) -> (Vec<Component>, &'static str) {
    let incidents: Vec<&Notice> = open
        .iter()
        .filter(|n| n.kind == NoticeKind::Incident)
        .collect();
    let impact = |n: &Notice| match n.impact.as_deref() {
        Some("outage") => "outage",
        Some("degraded") => "degraded",
        _ => "operational",
    };
    let mut components = components(facts, tr);
    for c in &mut components {
        for n in incidents
            .iter()
            .filter(|n| n.component_ids().any(|id| id == c.id))
        {
            let state = overall(&[c.state, impact(n)]);
            if state != c.state {
                c.state = state;
                c.state_text = tr.t(&format!("status.state.{state}"));
                c.detail = match tr.0 {
                    Lang::Ja => n.title_ja.clone(),
                    Lang::En => n.title_en.clone(),
                };
            }
        }
    }
    let mut states: Vec<&'static str> = components.iter().map(|c| c.state).collect();
    states.extend(incidents.iter().map(|n| impact(n)));
    let overall = overall(&states);
    (components, overall)
}

fn components(facts: &Facts, tr: Tr) -> Vec<Component> {
    [
        ("relay_authorization", relay_authorization(facts)),
        ("mailbox_logins", mailbox_logins(facts)),
        ("log_freshness", log_freshness(facts)),
        ("policy_service", policy_service(facts)),
    ]
    .into_iter()
    .chain(
        facts
            .relay_store
            .as_ref()
            .map(|s| ("relay_store", relay_store(facts, s))),
    )
    .map(|(id, j)| {
        let numbers: Vec<(&str, String)> =
            j.values.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let pairs: Vec<(&str, &str)> = numbers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Component {
            id,
            state: j.state,
            name: tr.t(&format!("status.component.{id}")),
            state_text: tr.t(&format!("status.state.{}", j.state)),
            detail: fill(tr.t(j.key), &pairs),
        }
    })
    .collect()
}

fn hours(series: &Series, config: &Config) -> Vec<HourCount> {
    series
        .iter()
        .map(|(t, count)| HourCount {
            hour: local_rfc3339(*t, config.timezone.0),
            count: *count,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "customer/status.html")]
struct StatusPage {
    page: Page,
    overall: &'static str,
    overall_text: &'static str,
    updated: String,
    updated_text: String,
    components: Vec<Component>,
    events: Vec<NoticeItem>,
    charts: Vec<Chart>,
}

pub async fn page(State(app): State<Arc<App>>, lang: Lang) -> Result<Html<String>, WebError> {
    let tr = Tr(lang);
    let (facts, logins, rejections) = gather(&app).await?;
    let config = &app.config;
    let open = app.notices.open_events(facts.now).await?;
    let (components, overall) = board(&facts, &open, tr);
    let page = Page::new(lang, &app, "/status", tr.t("status.title")).current("status");
    let charts = vec![
        chart::hourly(
            "chart-logins",
            tr.t("status.chart.logins"),
            &logins,
            config,
            tr,
        ),
        chart::hourly(
            "chart-rejections",
            tr.t("status.chart.rejections"),
            &rejections,
            config,
            tr,
        )
        .alt(),
    ];
    Ok(Html(
        StatusPage {
            page,
            overall,
            overall_text: tr.t(&format!("status.overall.{overall}")),
            updated: local_rfc3339(facts.now, config.timezone.0),
            updated_text: notices::minute(facts.now, config),
            components,
            events: notices::open_events(&app, lang).await?,
            charts,
        }
        .render()?,
    ))
}

pub async fn api(State(app): State<Arc<App>>, lang: Lang) -> Result<Json<StatusJson>, WebError> {
    let tr = Tr(lang);
    let (facts, logins, rejections) = gather(&app).await?;
    let config = &app.config;
    let open = app.notices.open_events(facts.now).await?;
    let (components, overall) = board(&facts, &open, tr);
    let base = config.web.public_url.trim_end_matches('/');
    let incidents = notices::open_events(&app, lang)
        .await?
        .into_iter()
        .map(|n| OpenEvent {
            url: format!("{base}/notices/{}", n.id),
            id: n.id,
            kind: n.kind,
            title: n.title,
            period: n.period,
        })
        .collect();
    Ok(Json(StatusJson {
        updated: local_rfc3339(facts.now, config.timezone.0),
        overall,
        components,
        incidents,
        logins_per_hour: hours(&logins, config),
        relay_rejections_per_hour: hours(&rejections, config),
    }))
}
