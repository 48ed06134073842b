//! The notice editor's form: what staff submit, checked field by field into a
//! `NoticeDraft` (a bad field is a 400 naming it), and an existing notice shown again for
//! editing, its times as `datetime-local` values in the configured zone.

use serde::Deserialize;

use super::forms;
use crate::config::Config;
use crate::store::notices::{Notice, NoticeDraft, NoticeKind};
use crate::web::error::WebError;

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 20_000;
use crate::store::notices::{COMPONENTS, IMPACTS, STATUSES};

/// The editor's form as submitted, and as shown again (times as `datetime-local` values).
#[derive(Debug, Default, Deserialize)]
pub struct NoticeForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub title_ja: String,
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub body_ja: String,
    #[serde(default)]
    pub body_en: String,
    #[serde(default)]
    pub published_at: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(default)]
    pub status: String,
    /// Incidents: `degraded` or `outage` (empty: none).
    #[serde(default)]
    pub impact: String,
    /// Incidents: the components touched, one checkbox each.
    #[serde(default)]
    pub relay_authorization: Option<String>,
    #[serde(default)]
    pub mailbox_logins: Option<String>,
    #[serde(default)]
    pub log_freshness: Option<String>,
    #[serde(default)]
    pub policy_service: Option<String>,
    /// `preview` shows the rendered bodies instead of saving.
    #[serde(default)]
    pub intent: String,
}

impl NoticeForm {
    pub fn from_notice(n: &Notice, config: &Config) -> NoticeForm {
        let time = |t: Option<i64>| t.map(|t| forms::local_input(t, config)).unwrap_or_default();
        NoticeForm {
            kind: n.kind.as_str().into(),
            title_ja: n.title_ja.clone(),
            title_en: n.title_en.clone(),
            body_ja: n.body_ja.clone(),
            body_en: n.body_en.clone(),
            published_at: time(Some(n.published_at)),
            starts_at: time(n.starts_at),
            ends_at: time(n.ends_at),
            status: n.status.clone().unwrap_or_default(),
            impact: n.impact.clone().unwrap_or_default(),
            relay_authorization: n
                .component_ids()
                .any(|c| c == "relay_authorization")
                .then(|| "on".into()),
            mailbox_logins: n
                .component_ids()
                .any(|c| c == "mailbox_logins")
                .then(|| "on".into()),
            log_freshness: n
                .component_ids()
                .any(|c| c == "log_freshness")
                .then(|| "on".into()),
            policy_service: n
                .component_ids()
                .any(|c| c == "policy_service")
                .then(|| "on".into()),
            ..NoticeForm::default()
        }
    }

    /// Checks every field; an empty publication time means `now`.
    pub fn draft(&self, config: &Config, now: i64) -> Result<NoticeDraft, WebError> {
        let bad = |m: &str| WebError::BadRequest(m.into());
        let kind = NoticeKind::parse(self.kind.trim())
            .ok_or_else(|| bad("kind: notice, incident or maintenance"))?;
        let status = match self.status.trim() {
            "" => None,
            s if kind == NoticeKind::Incident && STATUSES.contains(&s) => Some(s.to_string()),
            _ if kind != NoticeKind::Incident => {
                return Err(bad("status: only incidents have one"));
            }
            _ => return Err(bad("status: investigating, identified or resolved")),
        };
        let impact = match self.impact.trim() {
            "" => None,
            i if kind == NoticeKind::Incident && IMPACTS.contains(&i) => Some(i.to_string()),
            _ if kind != NoticeKind::Incident => {
                return Err(bad("impact: only incidents have one"));
            }
            _ => return Err(bad("impact: degraded or outage")),
        };
        let ticked = [
            &self.relay_authorization,
            &self.mailbox_logins,
            &self.log_freshness,
            &self.policy_service,
        ];
        let components: Vec<&str> = COMPONENTS
            .iter()
            .zip(ticked)
            .filter(|(_, on)| on.as_deref().is_some_and(|v| !v.is_empty()))
            .map(|(id, _)| *id)
            .collect();
        let components =
            (kind == NoticeKind::Incident && !components.is_empty()).then(|| components.join(","));
        let starts_at = forms::when("starts_at", &self.starts_at, config)?;
        let ends_at = forms::when("ends_at", &self.ends_at, config)?;
        if let (Some(from), Some(to)) = (starts_at, ends_at)
            && to < from
        {
            return Err(bad("ends_at: before starts_at"));
        }
        Ok(NoticeDraft {
            kind,
            title_ja: title("title_ja", &self.title_ja)?,
            title_en: title("title_en", &self.title_en)?,
            body_ja: body("body_ja", &self.body_ja)?,
            body_en: body("body_en", &self.body_en)?,
            published_at: forms::when("published_at", &self.published_at, config)?.unwrap_or(now),
            starts_at,
            ends_at,
            status,
            impact,
            components,
        })
    }
}

/// A title: required, one line of at most 200 characters.
fn title(field: &str, text: &str) -> Result<String, WebError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_TITLE || text.chars().any(char::is_control) {
        return Err(WebError::BadRequest(format!(
            "{field}: one line of 1-{MAX_TITLE} characters"
        )));
    }
    Ok(text.to_string())
}

/// A Markdown body: required, at most 20000 characters.
fn body(field: &str, text: &str) -> Result<String, WebError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_BODY {
        return Err(WebError::BadRequest(format!(
            "{field}: 1-{MAX_BODY} characters of Markdown"
        )));
    }
    Ok(text.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(kind: &str, status: &str) -> NoticeForm {
        NoticeForm {
            kind: kind.into(),
            title_ja: "題".into(),
            title_en: "Title".into(),
            body_ja: "本文".into(),
            body_en: "Body".into(),
            status: status.into(),
            ..NoticeForm::default()
        }
    }

    fn field(r: Result<NoticeDraft, WebError>) -> String {
        match r {
            Err(WebError::BadRequest(f)) => f,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let c = Config::default();
        assert!(field(form("news", "").draft(&c, 0)).starts_with("kind"));
        assert!(field(form("notice", "resolved").draft(&c, 0)).starts_with("status"));
        assert!(field(form("incident", "fixed").draft(&c, 0)).starts_with("status"));
        let mut f = form("notice", "");
        f.title_en = " ".into();
        assert!(field(f.draft(&c, 0)).starts_with("title_en"));
        let mut f = form("maintenance", "");
        f.starts_at = "2026-03-13 05:00".into();
        f.ends_at = "2026-03-13 04:00".into();
        assert!(field(f.draft(&c, 0)).starts_with("ends_at"));
        f.ends_at = "soon".into();
        assert!(field(f.draft(&c, 0)).starts_with("ends_at"));
    }

    #[test]
    fn an_empty_publication_time_means_now() {
        let d = form("incident", "identified")
            .draft(&Config::default(), 42)
            .unwrap();
        assert_eq!(d.published_at, 42);
        assert_eq!(d.status.as_deref(), Some("identified"));
    }
}
