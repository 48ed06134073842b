//! Reading staff forms and query strings, and the steps every action form shares: each field
//! is checked here and a bad one becomes a 400 naming it, before any action runs; then the
//! action (`crate::actions`, run on a blocking thread because it uses the store synchronously)
//! and its audit record.

use std::sync::Arc;

use chrono::{NaiveDate, NaiveDateTime, TimeZone};

use crate::actions::{self, Action, MAX_GRANT_MINUTES};
use crate::config::Config;
use crate::domain::{ClientIp, Epoch};
use crate::helpdesk;
use crate::store::StoreError;
use crate::web::App;
use crate::web::error::WebError;
use crate::web::staff::StaffUser;

fn bad(message: impl Into<String>) -> WebError {
    WebError::BadRequest(message.into())
}

/// A reason for an action: required, one line, at most 500 characters.
pub fn reason(text: &str) -> Result<String, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("reason: required"));
    }
    if text.chars().count() > 500 || text.chars().any(char::is_control) {
        return Err(bad("reason: one line of at most 500 characters"));
    }
    Ok(text.to_string())
}

/// A note: required, at most 4000 characters; line breaks allowed.
pub fn note(text: &str) -> Result<String, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(bad("note: required"));
    }
    if text.chars().count() > 4000
        || text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(bad("note: at most 4000 characters of text"));
    }
    Ok(text.replace("\r\n", "\n"))
}

pub fn minutes(text: &str) -> Result<i64, WebError> {
    match text.trim().parse::<i64>() {
        Ok(m) if (1..=MAX_GRANT_MINUTES).contains(&m) => Ok(m),
        _ => Err(bad(format!(
            "minutes: a whole number from 1 to {MAX_GRANT_MINUTES}"
        ))),
    }
}

pub fn ip(field: &str, text: &str) -> Result<ClientIp, WebError> {
    ClientIp::parse_lenient(text.trim()).ok_or_else(|| bad(format!("{field}: not an IP address")))
}

/// A login from a URL or form, in its canonical form (`relay.login_case`, customer domains):
/// 1–256 printable characters.
pub fn login(config: &Config, text: &str) -> Result<String, WebError> {
    account(config, text).map(crate::domain::Login::into_string)
}

/// `login`, typed.
pub fn account(config: &Config, text: &str) -> Result<crate::domain::Login, WebError> {
    crate::domain::Login::parse(text, &config.relay.login_rule()).map_err(|e| bad(e.to_string()))
}

/// A time as staff type it, in the configured zone: `2026-03-13T05:12` (what a
/// `datetime-local` field sends), `2026-03-13 05:12[:01]`, `2026-03-13`, or RFC 3339.
pub fn when(field: &str, text: &str, config: &Config) -> Result<Option<Epoch>, WebError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(Some(t.timestamp()));
    }
    let tz = config.timezone.0;
    let naive = [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    naive
        .and_then(|n| tz.from_local_datetime(&n).earliest())
        .map(|t| Some(t.timestamp()))
        .ok_or_else(|| bad(format!("{field}: a time like 2026-03-13 05:12")))
}

/// The value for a `datetime-local` field showing `t` in the configured zone.
pub fn local_input(t: Epoch, config: &Config) -> String {
    crate::time::local(t, config.timezone.0, "%Y-%m-%dT%H:%M")
}

/// Runs a `crate::actions` function. Its refusals (bad input it caught) are the client's
/// (400, naming the field); store trouble is ours (500).
pub async fn act(
    action: impl std::future::Future<Output = anyhow::Result<String>>,
) -> Result<String, WebError> {
    action.await.map_err(|e| {
        if e.downcast_ref::<StoreError>().is_some() {
            WebError::Internal(format!("{e:#}"))
        } else {
            WebError::BadRequest(e.to_string())
        }
    })
}

/// Records a staff member's action in the audit log.
pub async fn audit(
    app: &Arc<App>,
    user: &StaffUser,
    action: &'static str,
    subject: String,
    reason: Option<String>,
    detail: Option<String>,
) -> Result<(), WebError> {
    let who = user.name.clone();
    app.db
        .run(async move |c: &mut crate::store::Conn| {
            helpdesk::audit(
                c,
                &who,
                action,
                &subject,
                reason.as_deref(),
                detail.as_deref(),
            )
            .await
        })
        .await?;
    Ok(())
}

/// An action form's last steps, once its other fields are read: checks the `reason` field
/// and carries `what` out through the one `actions::perform`, audited as `action` about
/// `subject` in the same transaction.
pub async fn act_audited(
    app: &Arc<App>,
    user: &StaffUser,
    action: &'static str,
    subject: String,
    reason_field: &str,
    what: Action,
) -> Result<(), WebError> {
    let why = actions::Reason::parse(&reason(reason_field)?).map_err(|e| bad(e.to_string()))?;
    let audit = actions::Audit {
        actor: &user.name,
        action,
        subject,
    };
    act(actions::perform(&app.db, &what, Some(&why), audit)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(e: WebError) -> String {
        match e {
            WebError::BadRequest(f) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(field(reason("  ").unwrap_err()).starts_with("reason"));
        assert!(field(minutes("0").unwrap_err()).starts_with("minutes"));
        assert!(field(minutes("100000").unwrap_err()).starts_with("minutes"));
        assert!(field(minutes("ten").unwrap_err()).starts_with("minutes"));
        assert_eq!(minutes(" 15 ").unwrap(), 15);
        assert!(field(ip("ip", "300.1.1.1").unwrap_err()).starts_with("ip"));
        assert!(
            field(when("from", "yesterday", &Config::default()).unwrap_err()).starts_with("from")
        );
    }

    #[test]
    fn times_are_read_in_the_configured_zone() {
        let c = Config::default();
        let t = when("at", "2026-03-13T05:12", &c).unwrap().unwrap();
        assert_eq!(
            t,
            when("at", "2026-03-13T05:12:00+09:00", &c)
                .unwrap()
                .unwrap()
        );
        assert_eq!(local_input(t, &c), "2026-03-13T05:12");
        assert_eq!(when("at", "", &c).unwrap(), None);
    }
}
