//! `/staff/customers/{login}`: one customer as the helpdesk sees them on the phone — whether
//! they may send now, one timeline newest first with every rejection diagnosed, the addresses
//! they used, a ready explanation to paste into the reply, and the actions (grant, suspend,
//! unsuspend, note). Every view writes one audit record.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use serde::Deserialize;

use super::{Frame, StaffUser, customer_href, forms, ip_href};
use crate::actions;
use crate::config::Config;
use crate::explain::{self, Lang};
use crate::helpdesk;
use crate::helpdesk::customer::{self as facts, Event};
use crate::store;
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::Tr;

/// One line of the timeline, worded.
pub struct Row {
    pub time: String,
    /// `session`, `failure`, `grant`, `relay`, `rejection`, `action`, `note`.
    pub kind: &'static str,
    pub label: &'static str,
    pub ip: Option<(String, String)>,
    pub text: String,
    /// (cause code, cause in words, explanation)
    pub cause: Option<(&'static str, &'static str, String)>,
}

/// Words a timeline event for staff reading in `tr`'s language.
pub fn row(event: &Event, tr: Tr, config: &Config) -> Row {
    let t = |at| local_short(at, config.timezone.0);
    let ip = |ip: &str| Some((ip.to_string(), ip_href(ip)));
    let mut r = Row {
        time: t(event.at()),
        kind: "",
        label: "",
        ip: None,
        text: String::new(),
        cause: None,
    };
    match event {
        Event::Session(s) => {
            r.kind = "session";
            r.ip = ip(&s.ip);
            r.text = format!(
                "{} ×{} ({} – {})",
                s.service,
                s.logins,
                t(s.first_seen),
                t(s.last_seen)
            );
        }
        Event::Failure(f) => {
            r.kind = "failure";
            r.ip = ip(&f.ip);
            // The login that was tried: on an address's page, the name a password guesser used.
            r.text = match &f.login {
                Some(login) => format!("{} {} · {login}", f.service, f.reason),
                None => format!("{} {}", f.service, f.reason),
            };
        }
        Event::Grant(g) => {
            r.kind = "grant";
            r.ip = ip(&g.ip);
            r.text = format!("→ {} · {} · {}", t(g.expires_at), g.created_by, g.reason);
        }
        Event::Relay(x) => {
            r.kind = "relay";
            r.ip = ip(&x.ip);
            r.text = format!("×{} {} → {}", x.count, x.sender, x.sample_rcpt);
        }
        Event::Rejection(d) => {
            r.kind = "rejection";
            r.ip = ip(&d.rejection.ip);
            r.text = format!("{} → {}", d.rejection.sender, d.rejection.rcpt);
            let cause = d.diagnosis.cause.as_str();
            r.cause = Some((
                cause,
                tr.t(&format!("cause.{cause}")),
                explain::explain(&d.diagnosis, tr.0, config).text(),
            ));
        }
        Event::Action(a) => {
            r.kind = "action";
            r.text = format!(
                "{} · {} · {}{}",
                a.action,
                a.actor,
                a.reason.as_deref().unwrap_or(""),
                a.detail
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default()
            );
        }
        Event::Note(n) => {
            r.kind = "note";
            r.text = format!("{}: {}", n.created_by, n.body);
        }
    }
    r.label = tr.t(&format!("staff.tl.{}", r.kind));
    r
}

/// One of the customer's addresses with its state now.
pub struct AddressRow {
    pub ip: String,
    pub href: String,
    pub state: &'static str,
    pub title: &'static str,
    pub until: String,
    pub by: String,
}

pub struct Linked {
    pub text: String,
    pub href: String,
    pub detail: String,
}

#[derive(Template)]
#[template(path = "staff/customer.html")]
struct CustomerPage {
    frame: Frame,
    login: String,
    base: String,
    senders: String,
    suspended: Option<String>,
    /// The customer's state (`state::customer`) and each address's.
    state: &'static str,
    addresses: Vec<AddressRow>,
    ips: Vec<Linked>,
    rows: Vec<Row>,
    copy_ja: Option<String>,
    copy_en: Option<String>,
    default_ip: String,
    max_minutes: i64,
}

#[derive(Debug, Deserialize, Default)]
pub struct Done {
    #[serde(default)]
    pub done: Option<String>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Path(login): Path<String>,
    Query(q): Query<Done>,
) -> Result<Html<String>, WebError> {
    let login = forms::login(&app.config, &login)?;
    let now = app.now();
    let (config, who, subject) = (app.config.clone(), user.name.clone(), login.clone());
    let c = app
        .db
        .run(async move |conn: &mut crate::store::Conn| {
            helpdesk::audit(conn, &who, "view_customer", &subject, None, None).await?;
            facts::customer(conn, &config, &subject, now).await
        })
        .await?;
    let config = &app.config;
    let tr = Tr(lang);
    let t = |at| local_short(at, config.timezone.0);
    let base = customer_href(&login);
    let page = CustomerPage {
        frame: Frame::new(&app, lang, &user, &base, "staff.customer.title")
            .nav("search")
            .done(q.done.as_deref()),
        senders: c.senders.join(", "),
        suspended: c
            .state
            .suspension
            .as_ref()
            .map(|s| format!("{} · {} · {}", t(s.created_at), s.created_by, s.reason)),
        state: c.state.state.as_str(),
        addresses: c
            .state
            .addresses
            .iter()
            .map(|a| AddressRow {
                ip: a.ip.clone(),
                href: ip_href(&a.ip),
                state: a.state.state.as_str(),
                title: tr.t(&format!("state.{}", a.state.state.as_str())),
                until: a
                    .state
                    .until
                    .map(|u| crate::time::clock(u, config.timezone.0, now))
                    .unwrap_or_default(),
                by: match a.state.by {
                    Some(crate::diagnose::By::MailCheck) => format!(
                        "{} {}",
                        tr.t("staff.by.login"),
                        a.state.by_login.as_deref().unwrap_or("")
                    ),
                    Some(crate::diagnose::By::StaffGrant) => tr.t("staff.by.staff").to_string(),
                    Some(crate::diagnose::By::RelayStore) => match &a.state.by_login {
                        Some(login) => format!(
                            "{} ({} {login})",
                            tr.t("staff.by.store"),
                            tr.t("staff.by.login")
                        ),
                        None => tr.t("staff.by.store").to_string(),
                    },
                    None => String::new(),
                },
            })
            .collect(),
        ips: c
            .ips
            .iter()
            .map(|u| Linked {
                text: u.ip.clone(),
                href: ip_href(&u.ip),
                detail: format!("{} – {} · ×{}", t(u.first_seen), t(u.last_seen), u.logins),
            })
            .collect(),
        rows: c.timeline.iter().map(|e| row(e, tr, config)).collect(),
        copy_ja: c
            .latest_rejection
            .as_ref()
            .map(|d| explain::explain(&d.diagnosis, Lang::Ja, config).text()),
        copy_en: c
            .latest_rejection
            .as_ref()
            .map(|d| explain::explain(&d.diagnosis, Lang::En, config).text()),
        default_ip: c
            .latest_rejection
            .as_ref()
            .map(|d| d.rejection.ip.clone())
            .or_else(|| c.ips.first().map(|u| u.ip.clone()))
            .unwrap_or_default(),
        max_minutes: crate::actions::MAX_GRANT_MINUTES,
        login,
        base,
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    /// `/staff/alerts` when the form was on the alerts page: the agent stays there.
    #[serde(default)]
    back: String,
}

fn back(login: &str, done: &str) -> Redirect {
    Redirect::to(&format!("{}?done={done}", customer_href(login)))
}

/// Back where the form was: the alerts page, or the customer's page.
fn back_from(form_back: &str, login: &str, done: &str) -> Redirect {
    match form_back {
        "/staff/alerts" => Redirect::to(&format!("/staff/alerts?done={done}")),
        _ => back(login, done),
    }
}

pub async fn grant(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(login): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let account = forms::account(&app.config, &login)?;
    let login = account.to_string();
    let ip = forms::ip("ip", &form.ip)?;
    let minutes = forms::minutes(&form.minutes)?;
    // Granted on the customer's behalf: their page and `/me` list the address as theirs.
    let what = actions::Action::grant(ip, minutes, Some(account))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    forms::act_audited(&app, &user, "grant", login.clone(), &form.reason, what).await?;
    Ok(back(&login, "grant"))
}

pub async fn suspend(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(login): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let account = forms::account(&app.config, &login)?;
    let login = account.to_string();
    let what = actions::Action::Suspend { login: account };
    forms::act_audited(&app, &user, "suspend", login.clone(), &form.reason, what).await?;
    Ok(back_from(&form.back, &login, "suspend"))
}

pub async fn unsuspend(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(login): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let account = forms::account(&app.config, &login)?;
    let login = account.to_string();
    let what = actions::Action::Unsuspend { login: account };
    forms::act_audited(&app, &user, "unsuspend", login.clone(), &form.reason, what).await?;
    Ok(back(&login, "unsuspend"))
}

pub async fn note(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(login): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let login = forms::login(&app.config, &login)?;
    let body = forms::note(&form.note)?;
    let now = app.now();
    let (l, who) = (login.clone(), user.name.clone());
    app.db
        .run(async move |c: &mut crate::store::Conn| {
            let mut tx = c.begin().await?;
            store::notes::add(&mut tx, &l, &body, &who, now).await?;
            helpdesk::audit(&mut tx, &who, "note", &l, None, None).await?;
            tx.commit().await
        })
        .await?;
    Ok(back(&login, "note"))
}
