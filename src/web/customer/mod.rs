//! The customer site (§7.1): this connection's state and what to do, setup guides, notices and
//! service status — public, in Japanese and English, without JavaScript.

pub mod autoconfig;
pub mod connection;
pub mod guide_texts;
pub mod guides;
pub mod health;
pub mod me;
pub mod notices;
pub mod signin;
pub mod status;
pub mod verify;
pub mod why;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use super::App;
use super::i18n::{Lang, Tr, fill};

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(connection::page))
        .route("/guide", get(guides::index))
        .route("/guide/mail.mobileconfig", get(autoconfig::apple))
        .route("/guide/{client}", get(guides::client))
        .route(
            "/.well-known/autoconfig/mail/config-v1.1.xml",
            get(autoconfig::thunderbird),
        )
        .route("/mail/config-v1.1.xml", get(autoconfig::thunderbird))
        .route("/autodiscover/autodiscover.xml", post(autoconfig::outlook))
        .route("/Autodiscover/Autodiscover.xml", post(autoconfig::outlook))
        .route("/notices", get(notices::list))
        .route("/notices.atom", get(notices::atom))
        .route("/notices/{id}", get(notices::show))
        .route("/status", get(status::page))
        .route("/login", get(signin::form).post(signin::submit))
        .route("/logout", post(signin::logout))
        .route("/me", get(me::page))
        .route("/why/{code}", get(why::page))
}

/// Fills `{name}` placeholders in a catalog text.
/// The way off POP before SMTP, shown to a customer whose sends rely on it when the service
/// offers SMTP AUTH (`service.submission_port`): their client's guide, the Apple profile, and
/// what finds the settings by itself.
pub struct Nudge {
    pub text: String,
    /// The guide suggested from the browser: its page, and the link's words.
    pub guide: Option<(&'static str, String)>,
    /// The configuration profile, for the signed-in customer's address when known.
    pub profile_href: String,
}

impl Nudge {
    /// `None` when the service offers no SMTP AUTH.
    pub fn new(
        config: &crate::config::Config,
        lang: Lang,
        user_agent: &str,
        address: Option<&str>,
    ) -> Option<Nudge> {
        let s = &config.service;
        if s.submission_port == 0 {
            return None;
        }
        let tr = Tr(lang);
        let port = s.submission_port_used().to_string();
        let profile_href = match address {
            Some(a) => format!(
                "/guide/mail.mobileconfig?email={}",
                super::percent_encode(a, b"@")
            ),
            None => "/guide/iphone#automatic".to_string(),
        };
        Some(Nudge {
            text: fill(
                tr.t("nudge.text"),
                &[("smtp", &s.smtp_server), ("port", &port)],
            ),
            guide: connection::suggested_guide(user_agent, lang),
            profile_href,
        })
    }
}

/// `taro@example.net` → `t***@example.net`: enough for the customer to recognize, nothing more.
pub fn mask_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_masked() {
        assert_eq!(mask_address("taro@example.net"), "t***@example.net");
        assert_eq!(mask_address("@example.net"), "***@example.net");
        assert_eq!(mask_address("nobody"), "***");
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill("until {until}, {x}", &[("until", "10:30")]),
            "until 10:30, {x}"
        );
    }
}
