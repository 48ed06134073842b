//! `/` and `GET /api/v1/connection`: may this connection send now, why not, and what to do.
//! The page and the JSON are built from one view.

use std::sync::Arc;

use askama::Template;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use serde::Serialize;

use super::mask_address;
use crate::diagnose::{self, State as ConnState};
use crate::explain;
use crate::store::evidence;
use crate::time::{self, local_rfc3339};
use crate::web::App;
use crate::web::client::ClientAddr;
use crate::web::error::WebError;
use crate::web::i18n::fill;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;

/// How far back the page lists refused sends.
const RECENT: i64 = 24 * 3600;

/// Refused sends listed at most, the newest.
const SHOWN: i64 = 10;

#[derive(Debug, Serialize)]
pub struct ConnectionView {
    pub ip: String,
    pub state: &'static str,
    /// Authorized until, or expired at (RFC 3339).
    pub until: Option<String>,
    /// What an authorization rests on: `mail_check` or `staff_grant`.
    pub by: Option<diagnose::By>,
    pub login_at: Option<String>,
    pub failure_at: Option<String>,
    pub window_minutes: i64,
    pub title: String,
    pub detail: String,
    pub fix: Vec<String>,
    pub recent: Vec<RecentRejection>,
}

#[derive(Debug, Serialize)]
pub struct RecentRejection {
    pub at: String,
    #[serde(skip)]
    pub time: String,
    /// Masked: the customer recognizes it, nobody else learns it.
    pub rcpt: String,
    pub cause: &'static str,
    #[serde(skip)]
    pub cause_text: &'static str,
    /// The refusal's own page (`/why/CODE`), when the policy service decided it.
    pub why: Option<String>,
}

/// The decision a refused send from the log was: same recipient, within two seconds (Postfix
/// logs the refusal in the second it asked).
fn code_of(codes: &[(i64, String, String)], at: i64, rcpt: &str) -> Option<String> {
    codes
        .iter()
        .filter(|(t, r, _)| r == rcpt && (t - at).abs() <= 2)
        .min_by_key(|(t, _, _)| (t - at).abs())
        .map(|(_, _, code)| format!("/why/{code}"))
}

/// The view of `ip`'s connection now, in `lang`.
pub async fn view(
    app: &Arc<App>,
    ip: crate::domain::ClientIp,
    lang: Lang,
) -> Result<ConnectionView, WebError> {
    let now = app.now();
    let rules = explain::rules(&app.config);
    let logins = app.config.relay.login_rule();
    let config = app.config.clone();
    let recent = evidence::Recent {
        since: now - RECENT,
        count: SHOWN,
        logins: &logins,
    };
    let (facts, codes) = app
        .db
        .run(async move |c: &mut crate::store::Conn| {
            let mut facts =
                evidence::for_connection_with_refusals(c, ip, now, rules, recent).await?;
            facts.with_relay_store(c, &config, ip, now).await?;
            // Their `/why` pages: one more query, only when there is something to link.
            let codes = match facts.recent.is_empty() {
                true => Vec::new(),
                false => {
                    let ip = ip.to_string();
                    crate::store::decisions::refusal_codes(c, &ip, now - RECENT - 2, now, 100)
                        .await?
                }
            };
            Ok((facts, codes))
        })
        .await?;
    let recent: Vec<(i64, String, diagnose::Cause)> = facts
        .recent
        .iter()
        .map(|r| {
            // A public page: worded from this address's own facts (§6.3).
            let ev = diagnose::public_evidence(&r.evidence, &r.rejection.ip, r.owner.as_deref());
            let d = diagnose::diagnose(
                r.rejection.at,
                &r.rejection.ip,
                r.owner.as_deref(),
                &ev,
                rules,
            );
            (r.rejection.at, r.rejection.rcpt.clone(), d.cause)
        })
        .collect();
    let config = &app.config;
    let s = crate::state::of_address(config, ip, now, &facts);
    let tr = Tr(lang);
    let clock = |t: Option<i64>| {
        t.map(|t| time::clock(t, config.timezone.0, now))
            .unwrap_or_default()
    };
    let window = config.window_minutes().to_string();
    let port = config.service.submission_port_used().to_string();
    let values = [
        ("until", clock(s.until)),
        ("login_at", clock(s.login_at)),
        ("failure_at", clock(s.failure_at)),
        ("window", window.clone()),
        ("contact", config.service.support_contact.clone()),
        ("smtp", config.service.smtp_server.clone()),
        ("port", port),
    ];
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let text = |key: &str| fill(tr.t(key), &values);
    let state = s.state.as_str();
    let detail_key = match s.state {
        ConnState::Authorized if s.by == Some(diagnose::By::StaffGrant) => {
            "state.authorized.staff".to_string()
        }
        ConnState::Authorized if s.by == Some(diagnose::By::RelayStore) => {
            "state.authorized.store".to_string()
        }
        other => format!("state.{}.detail", other.as_str()),
    };
    let mut fix = Vec::new();
    match s.state {
        ConnState::Authorized => {}
        ConnState::NoAttempt if config.service.submission_port == 0 => {
            fix.push(text("state.no_attempt.fix_nosub"))
        }
        other => fix.push(text(&format!("state.{}.fix", other.as_str()))),
    }
    if config.service.submission_port > 0
        && matches!(
            s.state,
            ConnState::Expired | ConnState::NeverChecked | ConnState::AuthFailed
        )
    {
        fix.push(text("state.lasting_fix"));
    }
    let recent = recent
        .into_iter()
        .map(|(at, rcpt, cause)| RecentRejection {
            at: local_rfc3339(at, config.timezone.0),
            time: time::clock(at, config.timezone.0, now),
            why: code_of(&codes, at, &rcpt),
            rcpt: mask_address(&rcpt),
            cause: cause.as_str(),
            cause_text: tr.t(&format!("cause.{}", cause.as_str())),
        })
        .collect();
    Ok(ConnectionView {
        ip: ip.to_string(),
        state,
        until: s.until.map(|t| local_rfc3339(t, config.timezone.0)),
        by: s.by.clone(),
        login_at: s.login_at.map(|t| local_rfc3339(t, config.timezone.0)),
        failure_at: s.failure_at.map(|t| local_rfc3339(t, config.timezone.0)),
        window_minutes: config.window_minutes(),
        title: tr.t(&format!("state.{state}")).to_string(),
        detail: text(&detail_key),
        fix,
        recent,
    })
}

/// The guide to suggest from the browser's `user_agent`: its page, and the link's words with
/// the client's name.
pub fn suggested_guide(user_agent: &str, lang: Lang) -> Option<(&'static str, String)> {
    guess_client(user_agent)
        .and_then(super::guide_texts::find)
        .map(|c| {
            let name = super::guides::pick(&c.name, lang);
            (
                c.slug,
                fill(Tr(lang).t("home.guide_see"), &[("client", name)]),
            )
        })
}

/// A guide to suggest from the browser: the same device usually holds the mail program.
pub fn guess_client(user_agent: &str) -> Option<&'static str> {
    let ua = user_agent.to_ascii_lowercase();
    if ua.contains("iphone") || ua.contains("ipad") {
        Some("iphone")
    } else if ua.contains("macintosh") || ua.contains("mac os x") {
        Some("apple-mail")
    } else if ua.contains("windows nt 5.") {
        Some("outlook-express")
    } else if ua.contains("windows") {
        Some("outlook")
    } else if ua.contains("linux") && !ua.contains("android") {
        Some("thunderbird")
    } else {
        None
    }
}

#[derive(Template)]
#[template(path = "customer/home.html")]
struct HomePage {
    page: Page,
    view: ConnectionView,
    /// The guide suggested from the browser: its page, and the link's words with its name.
    guide: Option<(&'static str, String)>,
    notices: super::notices::HomeNotices,
    /// For a connection whose sends rely on POP before SMTP, when SMTP AUTH is offered.
    nudge: Option<super::Nudge>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    ClientAddr(ip): ClientAddr,
    lang: Lang,
    headers: HeaderMap,
) -> Result<Html<String>, WebError> {
    let view = view(&app, ip, lang).await?;
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // The demo's `?as=` stays when the language changes.
    let path = match app.config.web.demo {
        true => format!("/?as={ip}"),
        false => "/".to_string(),
    };
    let page = Page::new(lang, &app, &path, Tr(lang).t("home.title")).current("home");
    // Sends from here rely on POP before SMTP: a mail check's grant, or one to come.
    let relies = match view.state {
        "authorized" => view.login_at.is_some(),
        "expired" | "never_checked" | "auth_failed" => true,
        _ => false,
    };
    let nudge = relies
        .then(|| super::Nudge::new(&app.config, lang, ua, None))
        .flatten();
    Ok(Html(
        HomePage {
            page,
            nudge,
            view,
            guide: suggested_guide(ua, lang),
            notices: super::notices::for_home(&app, lang).await?,
        }
        .render()?,
    ))
}

pub async fn api(
    State(app): State<Arc<App>>,
    ClientAddr(ip): ClientAddr,
    lang: Lang,
) -> Result<Json<ConnectionView>, WebError> {
    Ok(Json(view(&app, ip, lang).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guides_are_guessed_from_the_browser() {
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15";
        assert_eq!(guess_client(iphone), Some("iphone"));
        assert_eq!(
            guess_client("Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
            Some("outlook")
        );
        assert_eq!(
            guess_client("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"),
            Some("outlook-express")
        );
        assert_eq!(guess_client("Mozilla/5.0 (Linux; Android 14)"), None);
    }
}
