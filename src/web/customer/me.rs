//! `/me`: the signed-in customer's own records (§7.1) — whether any of their addresses may send
//! now, their last mail checks, the addresses they used, and their refused sends, each
//! diagnosed and explained. The login comes only from the session: nothing here takes a login,
//! address or sender from the request, and what is shared with others (an address's logins and
//! failures) is narrowed to this login before it is read.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};

use super::mask_address;
use crate::config::Config;
use crate::diagnose::{self, State as ConnState};
use crate::domain::Epoch;
use crate::explain;
use crate::store::{self, history, own_records};
use crate::time::{self, local_rfc3339, local_short};
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;
use crate::web::session::{Kind, MaybeSession};

/// How far back the page looks.
const HISTORY: i64 = 30 * 24 * 3600;
/// Rows shown per list.
const ROWS: usize = 20;

pub struct AddressNow {
    pub ip: String,
    pub state: &'static str,
    pub title: &'static str,
    pub until: Option<String>,
}

pub struct Check {
    pub at: String,
    pub time: String,
    pub ip: String,
    pub protocol: String,
    pub ok: bool,
    pub result: String,
}

pub struct AddressUse {
    pub ip: String,
    pub first: String,
    pub last: String,
    pub logins: i64,
}

/// One look by staff at the customer's data, as the customer is told it.
pub struct Look {
    pub at: String,
    pub time: String,
    pub who: String,
    pub what: String,
    pub reason: String,
}

/// `looks` in the customer's words: who (a role, or the name where configured) did what.
fn looks(looks: &[store::privacy::Look], tr: Tr, config: &Config) -> Vec<Look> {
    looks
        .iter()
        .map(|l| {
            let who = if l.actor.starts_with("cli:") {
                tr.t("me.look.operator").to_string()
            } else {
                let role = match l.role.as_deref() {
                    Some("admin") => tr.t("me.look.admin"),
                    _ => tr.t("me.look.agent"),
                };
                match config.web.staff_names_to_customers {
                    true => format!("{role} ({})", l.actor),
                    false => role.to_string(),
                }
            };
            let key = format!("me.look.{}", l.action);
            let what = match tr.get(&key) {
                Some(words) => words.to_string(),
                None => crate::web::i18n::fill(tr.t("me.look.other"), &[("action", &l.action)]),
            };
            Look {
                at: local_rfc3339(l.at, config.timezone.0),
                time: local_short(l.at, config.timezone.0),
                who,
                what,
                reason: l.reason.clone().unwrap_or_default(),
            }
        })
        .collect()
}

pub struct Refusal {
    pub at: String,
    pub time: String,
    pub ip: String,
    pub rcpt: String,
    pub cause: &'static str,
    pub cause_text: &'static str,
    pub what: String,
    pub fix: String,
}

#[derive(Template)]
#[template(path = "customer/me.html")]
struct MePage {
    page: Page,
    csrf: String,
    /// The customer's state (`state::customer`), and the sentence that says it.
    state: &'static str,
    headline: String,
    addresses: Vec<AddressNow>,
    checks: Vec<Check>,
    ips: Vec<AddressUse>,
    refusals: Vec<Refusal>,
    /// When the customer's relays of the last 30 days went by POP before SMTP and the service
    /// offers SMTP AUTH.
    nudge: Option<super::Nudge>,
    /// When staff looked at this customer's data, and why (the audit log), newest first.
    looks: Vec<Look>,
}

type Facts = (
    crate::state::Customer,
    Vec<history::Session>,
    Vec<history::Failure>,
    Vec<(store::rejections::StoredRejection, diagnose::Diagnosis)>,
);

/// Everything the page shows, read for `login` only: its state (the one answer every surface
/// gives, `state::customer`), its mail checks and addresses, its refused sends diagnosed.
async fn gather(
    c: &mut store::Conn,
    login: &str,
    config: &Config,
    now: Epoch,
) -> store::Result<Facts> {
    let state = crate::state::customer(c, config, login, now).await?;
    let sessions = history::sessions_for_login(c, login, now - HISTORY, now, 200).await?;
    // Mail checks only: SMTP AUTH failures are sends, not checks.
    let failures = history::failures(c, Some(login), None, now - HISTORY, now, ROWS as i64)
        .await?
        .into_iter()
        .filter(|f| f.service != "smtp")
        .collect();
    let since = store::ingest::logs_since(c).await?;
    let mut refusals = Vec::new();
    let senders = crate::explain::candidate_senders(login, config);
    for r in own_records::latest_rejections(c, &senders, now - HISTORY, now, ROWS as i64).await? {
        // Only senders the §6.2 rule gives to this login (an account list may say otherwise).
        if explain::owner_of(c, &r.sender, config).await?.as_deref() != Some(login) {
            continue;
        }
        let d = explain::diagnose_rejection(c, config, &r, since).await?;
        refusals.push((r, d));
    }
    Ok((state, sessions, failures, refusals))
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    MaybeSession(session): MaybeSession,
    headers: axum::http::HeaderMap,
) -> Result<Response, WebError> {
    let Some(session) = session.filter(|s| s.kind == Kind::Customer) else {
        return Ok(Redirect::to("/login").into_response());
    };
    let login = session.subject.clone();
    let now = app.now();
    let (config, who) = (app.config.clone(), login.clone());
    let mut conn = app.db.conn().await?;
    let (state, sessions, failures, refusals) = gather(&mut conn, &who, &config, now).await?;
    let relies = app.config.service.submission_port > 0
        && store::relay_methods::relies_on_pop_before_smtp(&mut conn, &login, now - 30 * 86400)
            .await?;
    let looked = store::privacy::looks(&mut conn, &login, now - LOOKS_SINCE, LOOKS).await?;
    drop(conn);
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let address = crate::explain::candidate_senders(&login, &app.config)
        .into_iter()
        .next();
    let nudge = relies
        .then(|| super::Nudge::new(&app.config, lang, ua, address.as_deref()))
        .flatten();
    let config = &app.config;
    let tr = Tr(lang);
    let clock = |t: Epoch| time::clock(t, config.timezone.0, now);
    let addresses: Vec<AddressNow> = state
        .addresses
        .iter()
        .map(|a| AddressNow {
            ip: a.ip.clone(),
            state: a.state.state.as_str(),
            title: tr.t(&format!("state.{}", a.state.state.as_str())),
            until: a.state.until.map(clock),
        })
        .collect();
    let headline = match state.state {
        ConnState::Authorized => {
            let (ip, until) = state
                .addresses
                .iter()
                .find(|a| a.state.state == ConnState::Authorized)
                .map(|a| (a.ip.clone(), a.state.until.map(clock)))
                .unwrap_or_default();
            // The relay store sets no end: "while the mail server's list holds it".
            let key = match until {
                Some(_) => "me.now.authorized",
                None => "me.now.authorized_store",
            };
            let until = until.unwrap_or_default();
            crate::web::i18n::fill(tr.t(key), &[("ip", &ip), ("until", &until)])
        }
        other => {
            let at = state
                .last_check
                .as_ref()
                .map(|c| clock(c.at))
                .unwrap_or_default();
            let until = state.until.map(clock).unwrap_or_default();
            crate::web::i18n::fill(
                tr.t(&format!("me.now.{}", other.as_str())),
                &[("at", &at), ("until", &until)],
            )
        }
    };
    let mut checks: Vec<(Epoch, Check)> = sessions
        .iter()
        .map(|s| {
            let result =
                crate::web::i18n::fill(tr.t("me.check.ok"), &[("count", &s.logins.to_string())]);
            (
                s.last_seen,
                check(s.last_seen, &s.ip, &s.service, true, result, config),
            )
        })
        .chain(failures.iter().map(|f| {
            (
                f.at,
                check(
                    f.at,
                    &f.ip,
                    &f.service,
                    false,
                    tr.t("me.check.failed").into(),
                    config,
                ),
            )
        }))
        .collect();
    checks.sort_by_key(|c| std::cmp::Reverse(c.0));
    let checks = checks.into_iter().take(ROWS).map(|(_, c)| c).collect();
    let page = Page::new(lang, &app, "/me", tr.t("me.title"))
        .current("me")
        .signed_in(Some(login));
    Ok(Html(
        MePage {
            page,
            csrf: crate::web::session::masked(&session.csrf),
            state: state.state.as_str(),
            headline,
            addresses,
            checks,
            ips: address_uses(&sessions, &failures, config),
            nudge,
            looks: looks(&looked, tr, config),
            refusals: refusals
                .iter()
                .map(|(r, d)| {
                    let e = explain::explain(d, lang, config);
                    Refusal {
                        at: local_rfc3339(r.at, config.timezone.0),
                        time: local_short(r.at, config.timezone.0),
                        ip: r.ip.clone(),
                        rcpt: mask_address(&r.rcpt),
                        cause: d.cause.as_str(),
                        cause_text: tr.t(&format!("cause.{}", d.cause.as_str())),
                        what: e.what,
                        fix: e.fix,
                    }
                })
                .collect(),
        }
        .render()?,
    )
    .into_response())
}

/// How far back, and how many, staff looks `/me` lists.
const LOOKS_SINCE: i64 = 365 * 86400;
const LOOKS: i64 = 50;

fn check(at: Epoch, ip: &str, service: &str, ok: bool, result: String, config: &Config) -> Check {
    Check {
        at: local_rfc3339(at, config.timezone.0),
        time: local_short(at, config.timezone.0),
        ip: ip.to_string(),
        protocol: service.to_ascii_uppercase(),
        ok,
        result,
    }
}

/// The addresses mail was checked from (successfully or not), most recently used first, with
/// the successful logins from each.
fn address_uses(
    sessions: &[history::Session],
    failures: &[history::Failure],
    config: &Config,
) -> Vec<AddressUse> {
    let mut by_ip: HashMap<&str, (Epoch, Epoch, i64)> = HashMap::new();
    for s in sessions {
        let e = by_ip.entry(&s.ip).or_insert((s.first_seen, s.last_seen, 0));
        e.0 = e.0.min(s.first_seen);
        e.1 = e.1.max(s.last_seen);
        e.2 += s.logins;
    }
    for f in failures {
        let e = by_ip.entry(&f.ip).or_insert((f.at, f.at, 0));
        e.0 = e.0.min(f.at);
        e.1 = e.1.max(f.at);
    }
    let mut rows: Vec<_> = by_ip.into_iter().collect();
    rows.sort_by(|a, b| b.1.1.cmp(&a.1.1).then(a.0.cmp(b.0)));
    rows.into_iter()
        .take(ROWS)
        .map(|(ip, (first, last, logins))| AddressUse {
            ip: ip.to_string(),
            first: local_short(first, config.timezone.0),
            last: local_short(last, config.timezone.0),
            logins,
        })
        .collect()
}
