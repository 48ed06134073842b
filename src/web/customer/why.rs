//! `/why/{code}`: the explanation of one refused send, the page its SMTP reply links to (§6.3,
//! §7.1). It shows that refusal only — its time, the masked recipient, the cause, the fix and the
//! guide for the visitor's mail program — and nothing about other connections: no other address,
//! no login. The cause is the store's diagnosis of the same refusal, which sees everything the
//! policy's memory saw and more; when the store would call the send authorized (a mail check
//! logged after the refusal was decided), the cause the reply was worded by stands.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Html;

use super::connection::suggested_guide;
use super::mask_address;
use crate::diagnose::{Audience, Cause, Diagnosis};
use crate::domain::ClientIp;
use crate::explain;
use crate::store::{self, decisions};
use crate::time::local_rfc3339;
use crate::web::App;
use crate::web::client::{ClientAddr, throttle_key};
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;

/// Whether `code` is of the shape the policy service makes (`decisions::code_time`) and its
/// time could be a decision still kept: not in the future, not past the retention of policy
/// decisions. Other codes are answered without asking the store.
fn could_exist(code: &str, now: i64, kept: i64) -> bool {
    decisions::code_time(code).is_some_and(|at| at <= now + 60 && at >= now - kept)
}

#[derive(Template)]
#[template(path = "customer/why.html")]
struct WhyPage {
    page: Page,
    cause: &'static str,
    cause_text: &'static str,
    at: String,
    time: String,
    rcpt: String,
    what: String,
    fix: String,
    guide: Option<(&'static str, String)>,
}

pub async fn page(
    State(app): State<Arc<App>>,
    lang: Lang,
    headers: HeaderMap,
    ClientAddr(client): ClientAddr,
    Path(code): Path<String>,
) -> Result<Html<String>, WebError> {
    // Every lookup counts, found or not: guessing codes costs the guesser, not the store.
    app.why_budget
        .take(
            &throttle_key(client, app.config.web.throttle_ipv6_prefix),
            app.now(),
        )
        .map_err(WebError::TooMany)?;
    let config = &app.config;
    if !could_exist(&code, app.now(), config.retention.events.0) {
        return Err(WebError::NotFound);
    }
    let found = app
        .db
        .run(async |c: &mut store::Conn| {
            let Some(d) = decisions::by_code(c, &code).await? else {
                return Ok(None);
            };
            let Ok(ip) = d.ip.parse::<ClientIp>() else {
                return Ok(None);
            };
            let logs_since = store::ingest::logs_since(c).await?;
            let diagnosis = explain::diagnose_refusal(
                c,
                config,
                d.at,
                ip,
                &d.sender,
                logs_since,
                Audience::Public,
            )
            .await?;
            Ok(Some((d, diagnosis)))
        })
        .await?;
    let Some((decision, mut diagnosis)) = found else {
        return Err(WebError::NotFound);
    };
    let replied = decision.cause.as_deref().and_then(Cause::parse);
    if let Some(replied) = replied
        && diagnosis.cause == Cause::Authorized
    {
        diagnosis.cause = replied;
    }
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let client = super::connection::guess_client(ua);
    let (what, fix) = words(&diagnosis, lang, config, client);
    let cause = diagnosis.cause;
    let tr = Tr(lang);
    let page = Page::new(lang, &app, "/why", tr.t("why.title"));
    Ok(Html(
        WhyPage {
            page,
            cause: cause.as_str(),
            cause_text: tr.t(&format!("cause.{}", cause.as_str())),
            at: local_rfc3339(decision.at, config.timezone.0),
            // With the date: the page is opened from an error message, often days later.
            time: super::notices::minute(decision.at, config),
            rcpt: mask_address(&decision.rcpt),
            what,
            fix,
            guide: suggested_guide(ua, lang),
        }
        .render()?,
    ))
}

/// The explanation without what belongs to other connections: the address and login of a mail
/// check elsewhere, and who tried a password from here.
fn words(
    d: &Diagnosis,
    lang: Lang,
    config: &crate::config::Config,
    client: Option<&str>,
) -> (String, String) {
    let mut d = d.clone();
    d.login = None;
    d.evidence.login_user = None;
    d.evidence.failure_ip = None;
    if d.cause == Cause::IpChanged {
        d.evidence.login_ip = None;
    }
    let e = explain::explain_for_client(&d, lang, config, client);
    (e.what, e.fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_of_the_policy_shape_are_looked_up() {
        let code = crate::policy::server::refusal_code(1_773_346_320);
        assert!(code.starts_with("69b31e10") && code.len() == 24, "{code}");
        let now = 1_773_346_320;
        assert!(could_exist(&code, now, 86400));
        assert_ne!(code, crate::policy::server::refusal_code(1_773_346_320));
        for bad in [
            "",
            "69B315100123456789ABCDEF",
            "69b31e100123456789abcde",
            "../../etc/passwd",
            "69b31e100123456789abcdeg",
        ] {
            assert!(!could_exist(bad, now, 86400), "{bad}");
        }
        let refusal_code = crate::policy::server::refusal_code;
        assert!(!could_exist(&refusal_code(now + 3600), now, 86400));
        assert!(!could_exist(&refusal_code(now - 2 * 86400), now, 86400));
    }
}
