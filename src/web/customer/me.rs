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
use crate::domain::{ClientIp, Epoch};
use crate::explain;
use crate::store::{self, evidence, history, own_records};
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
    /// "You can send from {ip} until {until}", for the address authorized longest.
    authorized: Option<String>,
    addresses: Vec<AddressNow>,
    checks: Vec<Check>,
    ips: Vec<AddressUse>,
    refusals: Vec<Refusal>,
    /// When the customer's relays of the last 30 days went by POP before SMTP and the service
    /// offers SMTP AUTH.
    nudge: Option<super::Nudge>,
}

type Facts = (
    Vec<history::Session>,
    Vec<history::Failure>,
    Vec<(String, diagnose::ConnectionState)>,
    Vec<(store::rejections::StoredRejection, diagnose::Diagnosis)>,
);

/// Everything the page shows, read for `login` only.
async fn gather(
    c: &mut store::Conn,
    login: &str,
    config: &Config,
    now: Epoch,
) -> store::Result<Facts> {
    let rules = explain::rules(config);
    let sessions = history::sessions_for_login(c, login, now - HISTORY, now, 200).await?;
    let failures = history::failures(c, Some(login), None, now - HISTORY, now, ROWS as i64).await?;
    let mut recent_ips: Vec<&str> = Vec::new();
    for s in sessions
        .iter()
        .filter(|s| s.last_seen >= now - rules.lookback)
    {
        if !recent_ips.contains(&s.ip.as_str()) && recent_ips.len() < 5 {
            recent_ips.push(&s.ip);
        }
    }
    let mut states = Vec::new();
    for ip in recent_ips {
        let Ok(addr) = ip.parse::<ClientIp>() else {
            continue;
        };
        let mut facts = evidence::for_connection(c, addr, now, rules).await?;
        // Others' logins and failures from a shared address are theirs, not this customer's.
        facts.evidence.ip_logins.retain(|s| s.login == login);
        facts
            .evidence
            .failures
            .retain(|f| f.login.as_deref() == Some(login));
        let state =
            diagnose::connection_state(now, ip, &facts.evidence, None, facts.smtp_seen, rules);
        states.push((ip.to_string(), state));
    }
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
    Ok((sessions, failures, states, refusals))
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
    let (sessions, failures, states, refusals) = gather(&mut conn, &who, &config, now).await?;
    let relies = app.config.service.submission_port > 0
        && store::relay_methods::relies_on_pop_before_smtp(&mut conn, &login, now - 30 * 86400)
            .await?;
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
    let addresses: Vec<AddressNow> = states
        .iter()
        .map(|(ip, s)| AddressNow {
            ip: ip.clone(),
            state: s.state.as_str(),
            title: tr.t(&format!("state.{}", s.state.as_str())),
            until: s.until.map(clock),
        })
        .collect();
    let authorized = states
        .iter()
        .filter(|(_, s)| s.state == ConnState::Authorized)
        .filter_map(|(ip, s)| Some((s.until?, ip)))
        .max()
        .map(|(until, ip)| {
            crate::web::customer::fill(
                tr.t("me.now.authorized"),
                &[("ip", ip), ("until", &clock(until))],
            )
        });
    let mut checks: Vec<(Epoch, Check)> = sessions
        .iter()
        .map(|s| {
            let result = crate::web::customer::fill(
                tr.t("me.check.ok"),
                &[("count", &s.logins.to_string())],
            );
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
            authorized,
            addresses,
            checks,
            ips: address_uses(&sessions, config),
            nudge,
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

/// Sessions grouped by address, most recently used first.
fn address_uses(sessions: &[history::Session], config: &Config) -> Vec<AddressUse> {
    let mut by_ip: HashMap<&str, (Epoch, Epoch, i64)> = HashMap::new();
    for s in sessions {
        let e = by_ip.entry(&s.ip).or_insert((s.first_seen, s.last_seen, 0));
        e.0 = e.0.min(s.first_seen);
        e.1 = e.1.max(s.last_seen);
        e.2 += s.logins;
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

/// (key, Japanese, English): `/me`'s words.
pub const WORDS: &[(&str, &str, &str)] = &[
    ("me.title", "マイページ", "My account"),
    ("me.signed_in_as", "ログイン中の ID", "Signed in as"),
    ("me.now", "現在の送信の許可", "Permission to send now"),
    (
        "me.now.authorized",
        "{ip} から {until} まで送信できます。",
        "You can send from {ip} until {until}.",
    ),
    (
        "me.now.none",
        "いま送信が許可されているアドレスはありません。メールソフトで受信すると、そのアドレスから送信できるようになります。",
        "No address of yours may send right now. Receive mail in your mail program, and its address may send.",
    ),
    ("me.address", "アドレス", "Address"),
    ("me.state", "状態", "State"),
    ("me.until", "期限", "Until"),
    (
        "me.checks",
        "最近の受信（メールの確認）",
        "Recent mail checks",
    ),
    ("me.checks.none", "記録がありません。", "None recorded."),
    ("me.time", "時刻", "Time"),
    ("me.protocol", "方式", "Protocol"),
    ("me.result", "結果", "Result"),
    ("me.check.ok", "成功（{count} 回）", "OK ({count} logins)"),
    ("me.check.failed", "パスワード不一致", "Password failed"),
    ("me.ips", "使われたアドレス", "Addresses you used"),
    ("me.first", "最初", "First"),
    ("me.last", "最後", "Last"),
    ("me.logins", "回数", "Logins"),
    ("me.refusals", "拒否された送信", "Refused sends"),
    (
        "me.refusals.none",
        "この 30 日間に拒否された送信はありません。",
        "No refused sends in the last 30 days.",
    ),
    ("me.rcpt", "宛先", "Recipient"),
    ("me.why", "理由", "Why"),
    ("me.fix", "対処", "What to do"),
    (
        "me.everywhere",
        "すべての端末でログアウトする",
        "Sign out on every device",
    ),
];
