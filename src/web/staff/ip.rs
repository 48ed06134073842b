//! `/staff/ips/{ip}`: who held an address when (at a chosen moment, and every session), the
//! relay rejections from it with their causes, alerts about it, blocks and grants — with the
//! grant, block and unblock forms. Every view writes one audit record.

use std::sync::Arc;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{Html, Redirect};
use serde::Deserialize;

use super::customer::{Linked, Row, row};
use super::{Frame, StaffUser, customer_href, forms, ip_href};
use crate::actions;
use crate::explain::Lang;
use crate::helpdesk;
use crate::helpdesk::customer::{self as facts, Event};
use crate::time::local_short;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::Tr;

#[derive(Debug, Deserialize, Default)]
pub struct IpQuery {
    #[serde(default)]
    at: String,
    #[serde(default)]
    done: Option<String>,
}

pub struct AlertRow {
    pub id: i64,
    pub time: String,
    pub text: String,
    pub open: bool,
}

/// "Nobody at 05:12; before: u00438 until 03:58; after: u00438 from 05:35."
struct Nobody {
    text: String,
    before: Option<Linked>,
    after: Option<Linked>,
}

#[derive(Template)]
#[template(path = "staff/ip.html")]
struct IpPage {
    frame: Frame,
    ip: String,
    base: String,
    at_input: String,
    at_text: String,
    holders: Vec<Linked>,
    /// The address's state now (`state::address`), and its words.
    state: &'static str,
    state_text: String,
    /// Nobody held the address at the moment asked: that, and who did before and after.
    nobody: Option<Nobody>,
    /// Sessions, failures, relays, grants and rejections, newest first.
    rows: Vec<Row>,
    alerts: Vec<AlertRow>,
    /// (network, description) of each block in force covering the address.
    blocks: Vec<(String, String)>,
    max_minutes: i64,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    user: StaffUser,
    Path(ip): Path<String>,
    Query(q): Query<IpQuery>,
) -> Result<Html<String>, WebError> {
    let ip = forms::ip("ip", &ip)?;
    let now = app.now();
    let at = forms::when("at", &q.at, &app.config)?.unwrap_or(now);
    let (config, who, text) = (app.config.clone(), user.name.clone(), ip.to_string());
    let a = app
        .db
        .run(async move |conn: &mut crate::store::Conn| {
            helpdesk::audit(conn, &who, "view_ip", &text, None, None).await?;
            facts::address(conn, &config, ip, at, now).await
        })
        .await?;
    let config = &app.config;
    let tr = Tr(lang);
    let t = |at| local_short(at, config.timezone.0);
    let mut events: Vec<Event> = Vec::new();
    events.extend(a.sessions.into_iter().map(Event::Session));
    events.extend(a.failures.into_iter().map(Event::Failure));
    events.extend(a.grants.into_iter().map(Event::Grant));
    events.extend(a.relays.into_iter().map(Event::Relay));
    events.extend(
        a.rejections
            .into_iter()
            .map(|d| Event::Rejection(Box::new(d))),
    );
    events.sort_by_key(|e| std::cmp::Reverse(e.at()));
    let base = ip_href(&a.ip);
    let page = IpPage {
        frame: Frame::new(&app, lang, &user, &base, "staff.ip.title")
            .nav("search")
            .done(q.done.as_deref()),
        at_input: forms::local_input(at, config),
        at_text: t(at),
        nobody: (!a.who.holders.iter().any(|h| h.held_at)).then(|| {
            let who = |s: &Option<crate::store::history::Session>, key: &str, at: i64| {
                s.as_ref().map(|s| Linked {
                    text: s.login.clone(),
                    href: customer_href(&s.login),
                    detail: crate::web::i18n::fill(tr.t(key), &[("time", &t(at))]),
                })
            };
            Nobody {
                text: crate::web::i18n::fill(tr.t("staff.ip.nobody"), &[("time", &t(at))]),
                before: who(
                    &a.who.before,
                    "staff.ip.before",
                    a.who.before.as_ref().map_or(0, |s| s.last_seen),
                ),
                after: who(
                    &a.who.after,
                    "staff.ip.after",
                    a.who.after.as_ref().map_or(0, |s| s.first_seen),
                ),
            }
        }),
        state: a.state.state.as_str(),
        state_text: {
            let title = tr.t(&format!("state.{}", a.state.state.as_str()));
            match (a.state.until, &a.state.by_login) {
                (Some(u), Some(login)) if a.state.state == crate::diagnose::State::Authorized => {
                    format!("{title} → {} ({login})", t(u))
                }
                (Some(u), _) => format!("{title} → {}", t(u)),
                _ => title.to_string(),
            }
        },
        holders: a
            .who
            .holders
            .iter()
            .map(|h| Linked {
                text: h.login.clone(),
                href: customer_href(&h.login),
                detail: format!(
                    "{} {} – {} ×{}{}",
                    h.service,
                    t(h.first_seen),
                    t(h.last_seen),
                    h.logins,
                    if h.held_at {
                        format!(" · {}", tr.t("staff.ip.held"))
                    } else {
                        String::new()
                    }
                ),
            })
            .collect(),
        rows: events.iter().map(|e| row(e, tr, config)).collect(),
        alerts: a
            .alerts
            .iter()
            .map(|x| AlertRow {
                id: x.id,
                time: format!("{} – {}", t(x.first), t(x.last)),
                text: format!(
                    "×{} ({} carrier) {}",
                    x.count,
                    x.carrier,
                    x.samples.join(", ")
                ),
                open: x.acked_at.is_none(),
            })
            .collect(),
        blocks: a
            .blocks
            .iter()
            .map(|b| {
                (
                    b.subject.clone(),
                    format!(
                        "{} · {} · {} · {}",
                        b.subject,
                        t(b.created_at),
                        b.created_by,
                        b.reason
                    ),
                )
            })
            .collect(),
        max_minutes: crate::actions::MAX_GRANT_MINUTES,
        ip: a.ip,
        base,
    };
    Ok(Html(page.render()?))
}

#[derive(Debug, Deserialize)]
pub struct IpForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    network: String,
    #[serde(default)]
    minutes: String,
    #[serde(default)]
    reason: String,
    /// `/staff/alerts` when the form was on the alerts page: the agent stays there.
    #[serde(default)]
    back: String,
}

fn back(ip: &str, done: &str) -> Redirect {
    Redirect::to(&format!("{}?done={done}", ip_href(ip)))
}

/// Back where the form was: the alerts page, or the address's page.
fn back_from(form_back: &str, ip: &str, done: &str) -> Redirect {
    match form_back {
        "/staff/alerts" => Redirect::to(&format!("/staff/alerts?done={done}")),
        _ => back(ip, done),
    }
}

/// The network a block form names: the page's address unless another network is given.
fn network(ip: &str, field: &str) -> Result<ipnet::IpNet, WebError> {
    let text = if field.trim().is_empty() { ip } else { field };
    crate::actions::network(text).map_err(|e| WebError::BadRequest(e.to_string()))
}

/// The network an unblock form names: any width (a wide block made earlier must be liftable).
fn lifted(ip: &str, field: &str) -> Result<ipnet::IpNet, WebError> {
    let text = if field.trim().is_empty() { ip } else { field };
    crate::actions::any_network(text).map_err(|e| WebError::BadRequest(e.to_string()))
}

pub async fn grant(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(ip): Path<String>,
    Form(form): Form<IpForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let addr = forms::ip("ip", &ip)?;
    let ip = addr.to_string();
    let minutes = forms::minutes(&form.minutes)?;
    let what = actions::Action::grant(addr, minutes, None)
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    forms::act_audited(&app, &user, "grant", ip.clone(), &form.reason, what).await?;
    Ok(back(&ip, "grant"))
}

pub async fn block(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(ip): Path<String>,
    Form(form): Form<IpForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let ip = forms::ip("ip", &ip)?.to_string();
    let net = network(&ip, &form.network)?;
    let what = actions::Action::Block { net };
    forms::act_audited(&app, &user, "block", net.to_string(), &form.reason, what).await?;
    Ok(back_from(&form.back, &ip, "block"))
}

pub async fn unblock(
    State(app): State<Arc<App>>,
    user: StaffUser,
    Path(ip): Path<String>,
    Form(form): Form<IpForm>,
) -> Result<Redirect, WebError> {
    user.check_csrf(&form.csrf)?;
    let ip = forms::ip("ip", &ip)?.to_string();
    let net = lifted(&ip, &form.network)?;
    let what = actions::Action::Unblock { net };
    forms::act_audited(&app, &user, "unblock", net.to_string(), &form.reason, what).await?;
    Ok(back(&ip, "unblock"))
}
