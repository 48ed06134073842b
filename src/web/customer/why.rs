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

use super::connection::guess_client;
use super::{fill, mask_address};
use crate::diagnose::{self, Cause, Diagnosis};
use crate::domain::ClientIp;
use crate::explain;
use crate::store::{self, decisions, evidence};
use crate::time::{self, local_rfc3339};
use crate::web::App;
use crate::web::error::WebError;
use crate::web::i18n::{Lang, Tr};
use crate::web::layout::Page;

/// A code as the policy service makes them: 20 lowercase hex digits (80 bits).
fn well_formed(code: &str) -> bool {
    code.len() == 20
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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
    Path(code): Path<String>,
) -> Result<Html<String>, WebError> {
    if !well_formed(&code) {
        return Err(WebError::NotFound);
    }
    let config = &app.config;
    let rules = explain::rules(config);
    let found = app
        .db
        .run(async |c: &mut store::Conn| {
            let Some(d) = decisions::by_code(c, &code).await? else {
                return Ok(None);
            };
            let Ok(ip) = d.ip.parse::<ClientIp>() else {
                return Ok(None);
            };
            let owner = explain::owner_of(c, &d.sender, config).await?;
            let logs_since = store::ingest::logs_since(c).await?;
            let ev = evidence::gather(c, d.at, ip, owner.as_deref(), rules, logs_since).await?;
            let diagnosis = diagnose::diagnose(d.at, &d.ip, owner.as_deref(), &ev, rules);
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
    let now = app.now();
    let (what, fix) = words(&diagnosis, lang, config);
    let cause = diagnosis.cause;
    let tr = Tr(lang);
    let ua = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let page = Page::new(lang, &app, "/why", tr.t("why.title"));
    Ok(Html(
        WhyPage {
            page,
            cause: cause.as_str(),
            cause_text: tr.t(&format!("cause.{}", cause.as_str())),
            at: local_rfc3339(decision.at, config.timezone.0),
            time: time::clock(decision.at, config.timezone.0, now),
            rcpt: mask_address(&decision.rcpt),
            what,
            fix,
            guide: guess_client(ua)
                .and_then(super::guide_texts::find)
                .map(|c| {
                    let name = super::guides::pick(&c.name, lang);
                    (c.slug, fill(tr.t("home.guide_see"), &[("client", name)]))
                }),
        }
        .render()?,
    ))
}

/// The explanation without what belongs to other connections: the address and login of a mail
/// check elsewhere, and who tried a password from here.
fn words(d: &Diagnosis, lang: Lang, config: &crate::config::Config) -> (String, String) {
    let mut d = d.clone();
    d.login = None;
    d.evidence.login_user = None;
    d.evidence.failure_ip = None;
    if d.cause == Cause::IpChanged {
        d.evidence.login_ip = None;
    }
    let e = explain::explain(&d, lang, config);
    (e.what, e.fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_codes_of_the_policy_shape_are_looked_up() {
        assert!(well_formed("0123456789abcdef0123"));
        for bad in [
            "",
            "0123456789ABCDEF0123",
            "0123456789abcdef012",
            "../../etc/passwd",
            "0123456789abcdef012g",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
