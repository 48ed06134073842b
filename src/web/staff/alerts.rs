//! `/staff/alerts`: abuse alerts (§6.4), open ones first, and acknowledging them (a POST from
//! here or from the dashboard, which returns to where it came from).

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use serde::Deserialize;

use super::customer::Done;
use super::{Frame, StaffUser, customer_href, ip_href};
use crate::config::Config;
use crate::explain::Lang;
use crate::helpdesk;
use crate::store::alerts::{self, Alert};
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;

pub struct AlertRow {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub href: String,
    pub time: String,
    pub count: i64,
    /// Share of mobile-carrier recipients, in percent.
    pub carrier: i64,
    pub samples: String,
    pub ips: String,
    pub acked: Option<String>,
    pub auto_blocked: bool,
}

pub fn alert_row(a: &Alert, config: &Config) -> AlertRow {
    let t = |at| local_short(at, config.timezone.0);
    AlertRow {
        id: a.id,
        kind: a.kind.clone(),
        href: if a.kind == "ip" {
            ip_href(&a.subject)
        } else {
            customer_href(&a.subject)
        },
        subject: a.subject.clone(),
        time: format!("{} – {}", t(a.first), t(a.last)),
        count: a.count,
        carrier: if a.count > 0 {
            a.carrier * 100 / a.count
        } else {
            0
        },
        samples: a.samples.join(", "),
        ips: a.ips.join(", "),
        acked: a
            .acked_at
            .map(|at| format!("{} · {}", t(at), a.acked_by.as_deref().unwrap_or(""))),
        auto_blocked: a.auto_blocked,
    }
}

#[derive(Template)]
#[template(path = "staff/alerts.html")]
struct AlertsPage {
    frame: Frame,
    open: Vec<AlertRow>,
    acked: Vec<AlertRow>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Query(q): Query<Done>,
) -> Result<Html<String>, WebError> {
    let all = alerts::list(&mut app.db.conn().await?, false, 200).await?;
    let (open, acked): (Vec<&Alert>, Vec<&Alert>) = all.iter().partition(|a| a.acked_at.is_none());
    let page = AlertsPage {
        frame: Frame::new(&app, lang, &user, "/staff/alerts", "staff.alerts.title")
            .nav("alerts")
            .done(q.done.as_deref()),
        open: open
            .into_iter()
            .map(|a| alert_row(a, &app.config))
            .collect(),
        acked: acked
            .into_iter()
            .map(|a| alert_row(a, &app.config))
            .collect(),
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
}

pub async fn acknowledge(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let id: i64 = id
        .parse()
        .map_err(|_| WebError::BadRequest("id: not an alert number".into()))?;
    let now = app.now();
    let who = user.name.clone();
    let done = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let done = alerts::acknowledge(c, id, &who, now).await?;
            if done {
                helpdesk::audit(c, &who, "ack_alert", &format!("alert {id}"), None, None).await?;
            }
            Ok(done)
        })
        .await?;
    if !done {
        return Err(WebError::NotFound);
    }
    let back = if form.back == "/staff" {
        "/staff"
    } else {
        "/staff/alerts"
    };
    Ok(Redirect::to(&format!("{back}?done=ack")))
}
