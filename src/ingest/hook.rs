//! The login hook: a local HTTP endpoint that a Dovecot post-login script calls with the
//! login's USER and IP (`contrib/dovecot-post-login.sh`). It takes structured fields only, so
//! no text in a log line can ever reach it, and it requires a shared secret.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::pipeline::Batch;
use super::writer::Writer;
use crate::domain::{ClientIp, Event, LoginRule, Service};

/// The source name hook logins are committed under.
pub const SOURCE: &str = "hook";

#[derive(Clone)]
struct Hook {
    writer: Arc<Writer>,
    token: Arc<str>,
    logins: Arc<LoginRule>,
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    user: String,
    ip: String,
    #[serde(default)]
    service: Option<String>,
}

/// The hook's routes; `logins` puts each reported login in its canonical form, as ingest does.
pub fn router(writer: Arc<Writer>, token: &str, logins: LoginRule) -> Router {
    Router::new().route("/login", post(login)).with_state(Hook {
        writer,
        token: token.into(),
        logins: Arc::new(logins),
    })
}

async fn login(
    State(hook): State<Hook>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, axum::extract::rejection::FormRejection>,
) -> (StatusCode, &'static str) {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::secrets::same_secret(presented, &hook.token) {
        return (StatusCode::UNAUTHORIZED, "bad or missing bearer token\n");
    }
    let Ok(Form(form)) = form else {
        return (
            StatusCode::BAD_REQUEST,
            "expected form fields user, ip and service\n",
        );
    };
    let Some(mut event) = login_event(&form, chrono::Utc::now().timestamp()) else {
        return (
            StatusCode::BAD_REQUEST,
            "user must be 1-256 printable characters, ip an address, service pop3 or imap\n",
        );
    };
    hook.logins.canonicalize(&mut event);
    let batch = Batch {
        counts: crate::store::ingest::LineCounts {
            lines: 1,
            events: 1,
            ..Default::default()
        },
        events: vec![event],
        ..Batch::default()
    };
    match hook.writer.commit(SOURCE, "{}", &batch, None).await {
        Ok(()) => (StatusCode::NO_CONTENT, ""),
        Err(e) => {
            tracing::error!(error = %e, "login hook could not store a login");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n")
        }
    }
}

fn login_event(form: &LoginForm, now: i64) -> Option<Event> {
    let user = form.user.trim();
    if user.is_empty() || user.len() > 256 || user.chars().any(char::is_control) {
        return None;
    }
    let service = match form.service.as_deref().map(str::trim) {
        None | Some("") => Service::Pop3,
        Some(s) => Service::parse(s)?,
    };
    let ip: ClientIp = form.ip.parse().ok()?;
    Some(Event::Login {
        at: now,
        service,
        user: user.to_string(),
        ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(user: &str, ip: &str, service: Option<&str>) -> LoginForm {
        LoginForm {
            user: user.into(),
            ip: ip.into(),
            service: service.map(Into::into),
        }
    }

    #[test]
    fn a_login_needs_a_clean_user_and_a_real_address() {
        let e = login_event(&form("taro", "::ffff:203.0.113.7", Some("imap")), 5).unwrap();
        assert_eq!(
            e,
            Event::Login {
                at: 5,
                service: Service::Imap,
                user: "taro".into(),
                ip: "203.0.113.7".parse().unwrap()
            }
        );
        assert!(login_event(&form("", "203.0.113.7", None), 5).is_none());
        assert!(login_event(&form("a\nb", "203.0.113.7", None), 5).is_none());
        assert!(login_event(&form("taro", "somewhere", None), 5).is_none());
        assert!(login_event(&form("taro", "203.0.113.7", Some("smtp")), 5).is_none());
    }
}
