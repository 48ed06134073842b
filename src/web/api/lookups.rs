//! Lookups of personal data — rejections with their diagnosis, login history, who held an
//! address, alerts, the audit log. Records are built by the same functions as the CLI's NDJSON
//! (`report`, `helpdesk`), and each lookup writes one audit record (`api_<name>`) in the same
//! store call that reads the data.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::{Value, json};

use super::auth::{ApiAdmin, ApiStaff};
use super::params::Query;
use crate::helpdesk;
use crate::report::{self, RejectionQuery, Who};
use crate::store;
use crate::time::local_rfc3339;
use crate::web::App;
use crate::web::error::WebError;

/// How far back lookups reach when `since` is not given.
const DEFAULT_SPAN: i64 = 7 * 24 * 3600;
/// The longest period a report by day covers (relay methods): 400 days, beyond any retention
/// worth asking about. Longer is a 400, so no request makes a report walk decades. Lookups
/// that return rows are bounded by their `limit` instead.
pub const MAX_SPAN: i64 = 400 * 86400;

/// `GET /rejections?ip=&login=&since=&until=&limit=`: relay rejections, oldest first, each with
/// its cause and evidence.
pub async fn rejections(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    q: Query,
) -> Result<Json<Value>, WebError> {
    let now = app.now();
    let config = app.config.clone();
    let ip = q.ip("ip")?;
    let login = q.login("login", &config)?;
    let (since, until) = q.period(&config, now, DEFAULT_SPAN, i64::MAX)?;
    let limit = q.limit("limit", 1000, 10_000)?;
    let subject = match (&login, ip) {
        (Some(login), _) => login.clone(),
        (None, Some(ip)) => ip.to_string(),
        (None, None) => "*".into(),
    };
    let detail = format!("since={since} until={until}");
    let query = RejectionQuery {
        since: Some(since),
        until: Some(until),
        ip,
        login,
        // One more than asked tells whether there were more.
        limit: Some(limit + 1),
    };
    let mut records = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            helpdesk::audit(
                c,
                &staff.name,
                "api_rejections",
                &subject,
                None,
                Some(&detail),
            )
            .await?;
            report::rejection_records(c, &config, &query).await
        })
        .await?;
    let truncated = records.len() as i64 > limit;
    records.truncate(limit as usize);
    Ok(Json(json!({
        "since": local_rfc3339(since, app.config.timezone.0),
        "until": local_rfc3339(until, app.config.timezone.0),
        "truncated": truncated,
        "rejections": records,
    })))
}

/// `GET /relay-methods?since=&until=`: per login, accepted relays by POP before SMTP and by
/// SMTP AUTH, a summary and the relays per day by method (default: the last 30 days).
pub async fn relay_methods(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    q: Query,
) -> Result<Json<report::RelayMethodsReport>, WebError> {
    let now = app.now();
    let config = app.config.clone();
    let (since, until) = q.period(&config, now, 30 * 86400, MAX_SPAN)?;
    let detail = format!("since={since} until={until}");
    let report = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            helpdesk::audit(
                c,
                &staff.name,
                "api_relay_methods",
                "*",
                None,
                Some(&detail),
            )
            .await?;
            report::relay_methods_report(c, &config, since, until).await
        })
        .await?;
    Ok(Json(report))
}

/// `GET /customers/{login}`: the customer's state now and each address's, as the policy
/// service decides and every page says it (`state::customer`). Audited as `api_customer`.
pub async fn customer(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    axum::extract::Path(login): axum::extract::Path<String>,
) -> Result<Json<Value>, WebError> {
    let now = app.now();
    let config = app.config.clone();
    let login = crate::domain::Login::parse(&login, &config.relay.login_rule())
        .map_err(|e| WebError::BadRequest(e.to_string()))?
        .into_string();
    let subject = login.clone();
    let c = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            helpdesk::audit(c, &staff.name, "api_customer", &subject, None, None).await?;
            crate::state::customer(c, &config, &subject, now).await
        })
        .await?;
    let zone = app.config.timezone.0;
    let t = |at: Option<i64>| at.map(|at| local_rfc3339(at, zone));
    let by = |b: &Option<crate::diagnose::By>| {
        b.as_ref().map(|b| match b {
            crate::diagnose::By::MailCheck => "mail_check",
            crate::diagnose::By::StaffGrant => "staff_grant",
            crate::diagnose::By::RelayStore => "relay_store",
        })
    };
    Ok(Json(json!({
        "login": c.login,
        "state": c.state.as_str(),
        "until": t(c.until),
        "suspended": c.suspension.is_some(),
        "suspension": c.suspension.as_ref().map(|s| json!({
            "reason": s.reason,
            "by": s.created_by,
            "since": local_rfc3339(s.created_at, zone),
            "until": t(s.until),
        })),
        "addresses": c.addresses.iter().map(|a| json!({
            "ip": a.ip,
            "state": a.state.state.as_str(),
            "until": t(a.state.until),
            "by": by(&a.state.by),
            "login_at": t(a.state.login_at),
        })).collect::<Vec<_>>(),
        "last_check": c.last_check.as_ref().map(|l| json!({
            "at": local_rfc3339(l.at, zone),
            "ip": l.ip,
            "service": l.service,
            "ok": l.ok,
        })),
    })))
}

/// `GET /history?login=` or `?ip=`: sessions and failed logins, newest first.
pub async fn history(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    q: Query,
) -> Result<Json<Value>, WebError> {
    let now = app.now();
    let config = app.config.clone();
    let who = match (q.login("login", &config)?, q.ip("ip")?) {
        (Some(login), _) => Who::Login(login),
        (None, Some(ip)) => Who::Ip(ip),
        (None, None) => return Err(WebError::BadRequest("login: give login or ip".into())),
    };
    let (since, until) = q.period(&config, now, config.relay.lookback.0 * 7, i64::MAX)?;
    let limit = q.limit("limit", 1000, 10_000)?;
    let (kind, subject) = match &who {
        Who::Login(login) => ("login", login.clone()),
        Who::Ip(ip) => ("ip", ip.to_string()),
    };
    let audited = subject.clone();
    let records = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let detail = format!("since={since} until={until}");
            helpdesk::audit(c, &staff.name, "api_history", &audited, None, Some(&detail)).await?;
            report::history_records(c, &config, &who, since, until, limit).await
        })
        .await?;
    Ok(Json(json!({
        "kind": kind,
        "subject": subject,
        "since": local_rfc3339(since, app.config.timezone.0),
        "until": local_rfc3339(until, app.config.timezone.0),
        "history": records,
    })))
}

/// One login that held an address, its times in RFC 3339.
#[derive(Debug, Serialize)]
struct HolderRecord {
    login: String,
    service: String,
    first_seen: String,
    last_seen: String,
    logins: i64,
    held_at: bool,
}

/// `GET /who?ip=&at=`: who held an address at a time (`at` defaults to now).
pub async fn who(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    q: Query,
) -> Result<Json<Value>, WebError> {
    let now = app.now();
    let config = app.config.clone();
    let ip = q
        .ip("ip")?
        .ok_or_else(|| WebError::BadRequest("ip: required".into()))?;
    let at = q.time("at", &config, now)?.unwrap_or(now);
    let who = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let detail = format!("at={at}");
            let subject = ip.to_string();
            helpdesk::audit(c, &staff.name, "api_who", &subject, None, Some(&detail)).await?;
            helpdesk::who(c, &config, ip, at).await
        })
        .await?;
    let config = &app.config;
    let zone = config.timezone.0;
    let near = |s: &Option<crate::store::history::Session>| {
        s.as_ref().map(|s| {
            json!({
                "login": s.login,
                "service": s.service,
                "first_seen": local_rfc3339(s.first_seen, zone),
                "last_seen": local_rfc3339(s.last_seen, zone),
                "logins": s.logins,
            })
        })
    };
    let (before, after) = (near(&who.before), near(&who.after));
    let holders: Vec<HolderRecord> = who
        .holders
        .into_iter()
        .map(|h| HolderRecord {
            login: h.login,
            service: h.service,
            first_seen: local_rfc3339(h.first_seen, config.timezone.0),
            last_seen: local_rfc3339(h.last_seen, config.timezone.0),
            logins: h.logins,
            held_at: h.held_at,
        })
        .collect();
    Ok(Json(json!({
        "ip": ip.to_string(),
        "at": local_rfc3339(at, config.timezone.0),
        "holders": holders,
        "before": before,
        "after": after,
    })))
}

/// `GET /alerts` (open ones; `?all=true` for acknowledged too), newest first.
pub async fn alerts(
    staff: ApiStaff,
    State(app): State<Arc<App>>,
    q: Query,
) -> Result<Json<Value>, WebError> {
    let all = q.flag("all")?;
    let limit = q.limit("limit", 1000, 10_000)?;
    let config = app.config.clone();
    let records = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let detail = format!("all={all}");
            helpdesk::audit(c, &staff.name, "api_alerts", "alerts", None, Some(&detail)).await?;
            let rows = store::alerts::list(c, !all, limit).await?;
            Ok(rows
                .into_iter()
                .map(|a| report::alert_record(a, &config))
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(Json(json!({ "alerts": records })))
}

/// One audit entry, its time in RFC 3339.
#[derive(Debug, Serialize)]
struct AuditRecord {
    id: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    reason: Option<String>,
    detail: Option<String>,
}

/// `GET /audit?subject=&actor=&since=&limit=` (admins): the audit log, newest first.
pub async fn audit(
    ApiAdmin(staff): ApiAdmin,
    State(app): State<Arc<App>>,
    q: Query,
) -> Result<Json<Value>, WebError> {
    let now = app.now();
    let config = app.config.clone();
    let subject = q.text("subject")?;
    let actor = q.text("actor")?;
    let since = q.time("since", &config, now)?.unwrap_or(0);
    let limit = q.limit("limit", 100, 10_000)?;
    let entries = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let about = subject.clone().unwrap_or_else(|| "audit".into());
            let detail = actor.as_ref().map(|a| format!("actor={a}"));
            helpdesk::audit(c, &staff.name, "api_audit", &about, None, detail.as_deref()).await?;
            store::audit::list(c, subject.as_deref(), actor.as_deref(), since, limit).await
        })
        .await?;
    let entries: Vec<AuditRecord> = entries
        .into_iter()
        .map(|e| AuditRecord {
            id: e.id,
            at: local_rfc3339(e.at, app.config.timezone.0),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            reason: e.reason,
            detail: e.detail,
        })
        .collect();
    Ok(Json(json!({ "entries": entries })))
}
