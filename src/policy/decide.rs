//! The policy decision (§6.3) as one pure function: a parsed request and what the grant index
//! says about its client give the action. No I/O and no clock: the caller asks the index at its
//! own `now` and hands over the `Verdict`.
//!
//! - A granted client gets `OK` (it may relay; Postfix then skips `reject_unauth_destination`).
//! - Otherwise a recipient outside `relay.local_domains` gets `REJECT 5.7.1 <relay.reject_text>`,
//!   so the customer reads what to do and where to look, instead of Postfix's bare "Relay access
//!   denied". A blocked client is never granted, so it lands here too.
//! - Everything else is `DUNNO`: mail to local mailboxes, and recipients without a domain (Postfix
//!   qualifies those itself; `reject_unauth_destination` still judges them).
//!
//! Only the RCPT stage decides relaying: for any other `protocol_state` the answer is `DUNNO`, so
//! the service is harmless wherever else it is listed. A request without `protocol_state` is
//! taken as RCPT (hand-written test clients omit it; Postfix always sends it).

use crate::config::Config;
use crate::domain::domain_of;
use crate::grants::Verdict;

use super::protocol::Request;

/// The access(5) action given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ok,
    Reject,
    Dunno,
}

impl Action {
    /// As stored in `policy_decisions.action`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Ok => "ok",
            Action::Reject => "reject",
            Action::Dunno => "dunno",
        }
    }
}

/// What to answer, and whether the request was a relay (a recipient outside the local domains),
/// which is what gets recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    pub relay: bool,
}

/// The configuration the decision needs, prepared once at start.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Lowercase, without a trailing dot.
    local_domains: Vec<String>,
    /// `REJECT 5.7.1 ` and the filled-in `relay.reject_text`.
    reject_action: String,
}

/// The words every relay refusal carries, as Postfix's own does.
pub const RELAY_DENIED: &str = "Relay access denied";

impl Rules {
    /// `reject_text` with `{url}` → `public_url` and `{window}` → the window in whole minutes.
    pub fn new(
        local_domains: &[String],
        reject_text: &str,
        public_url: &str,
        window_minutes: i64,
    ) -> Rules {
        let text = reject_text
            .replace("{url}", public_url)
            .replace("{window}", &window_minutes.to_string());
        let text = text.trim();
        // Postfix logs this text; the log parsers know a refused relay by these words, whatever
        // an operator writes after them.
        let text = if text.contains(RELAY_DENIED) {
            text.to_string()
        } else {
            format!("{RELAY_DENIED}: {text}")
        };
        Rules {
            local_domains: local_domains.iter().map(|d| normalize(d)).collect(),
            reject_action: format!("REJECT 5.7.1 {text}"),
        }
    }

    pub fn from_config(config: &Config) -> Rules {
        Rules::new(
            &config.relay.local_domains,
            &config.relay.reject_text,
            &config.web.public_url,
            config.window_minutes(),
        )
    }

    /// The reply's action text.
    pub fn action_text(&self, action: Action) -> &str {
        match action {
            Action::Ok => "OK",
            Action::Reject => &self.reject_action,
            Action::Dunno => "DUNNO",
        }
    }

    /// Is mail to `recipient` a relay: a domain, and not one of ours?
    pub fn is_relay(&self, recipient: &str) -> bool {
        domain_of(recipient).is_some_and(|d| {
            let d = normalize(&d);
            !self.local_domains.contains(&d)
        })
    }
}

fn normalize(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The answer to `req` from a client the grant index judged `verdict`.
pub fn decide(req: &Request, verdict: &Verdict, rules: &Rules) -> Decision {
    let rcpt_stage = req
        .protocol_state
        .as_deref()
        .is_none_or(|s| s.eq_ignore_ascii_case("RCPT"));
    if !rcpt_stage {
        return Decision {
            action: Action::Dunno,
            relay: false,
        };
    }
    let relay = req.recipient.as_deref().is_some_and(|r| rules.is_relay(r));
    let action = match verdict {
        Verdict::Granted { .. } => Action::Ok,
        Verdict::Blocked | Verdict::NotGranted if relay => Action::Reject,
        Verdict::Blocked | Verdict::NotGranted => Action::Dunno,
    };
    Decision { action, relay }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custom_reject_text_still_reads_as_a_relay_refusal() {
        let rules = Rules::new(
            &["example.jp".to_string()],
            "Please receive first: {url}",
            "https://s.example.jp",
            30,
        );
        assert_eq!(
            rules.action_text(Action::Reject),
            "REJECT 5.7.1 Relay access denied: Please receive first: https://s.example.jp"
        );
    }

    fn rules() -> Rules {
        Rules::new(
            &["Example.JP".to_string(), "example.ne.jp.".to_string()],
            "Check mail first, then send within {window} minutes. Help: {url}",
            "https://support.example.jp",
            30,
        )
    }

    fn rcpt(to: &str) -> Request {
        Request {
            request: "smtpd_access_policy".into(),
            protocol_state: Some("RCPT".into()),
            client_address: Some("203.0.113.7".into()),
            sender: Some("taro@example.jp".into()),
            recipient: Some(to.into()),
            ..Request::default()
        }
    }

    fn granted() -> Verdict {
        Verdict::Granted {
            until: 5000,
            login: Some("taro".into()),
        }
    }

    fn action(req: &Request, verdict: &Verdict) -> Action {
        decide(req, verdict, &rules()).action
    }

    #[test]
    fn a_granted_client_may_relay() {
        let d = decide(&rcpt("friend@example.com"), &granted(), &rules());
        assert_eq!(
            d,
            Decision {
                action: Action::Ok,
                relay: true
            }
        );
        assert_eq!(action(&rcpt("hanako@example.jp"), &granted()), Action::Ok);
    }

    #[test]
    fn an_ungranted_relay_is_rejected_with_the_filled_in_text() {
        let d = decide(&rcpt("friend@example.com"), &Verdict::NotGranted, &rules());
        assert_eq!(
            d,
            Decision {
                action: Action::Reject,
                relay: true
            }
        );
        assert_eq!(
            rules().action_text(Action::Reject),
            "REJECT 5.7.1 Relay access denied: Check mail first, then send within 30 minutes. \
             Help: https://support.example.jp"
        );
    }

    #[test]
    fn mail_to_local_domains_is_left_to_postfix() {
        for to in [
            "hanako@example.jp",
            "hanako@EXAMPLE.jp",
            "<hanako@example.jp>",
            "h@example.ne.jp",
            "h@example.jp.",
            "postmaster",
            "",
        ] {
            let d = decide(&rcpt(to), &Verdict::NotGranted, &rules());
            assert_eq!(
                d,
                Decision {
                    action: Action::Dunno,
                    relay: false
                },
                "{to:?}"
            );
        }
        assert_eq!(
            action(&rcpt("x@sub.example.jp"), &Verdict::NotGranted),
            Action::Reject,
            "subdomains are other domains"
        );
    }

    #[test]
    fn a_blocked_client_is_never_ok() {
        assert_eq!(
            action(&rcpt("friend@example.com"), &Verdict::Blocked),
            Action::Reject
        );
        assert_eq!(
            action(&rcpt("hanako@example.jp"), &Verdict::Blocked),
            Action::Dunno
        );
    }

    #[test]
    fn only_the_rcpt_stage_decides() {
        for state in [
            "CONNECT",
            "EHLO",
            "MAIL",
            "DATA",
            "END-OF-MESSAGE",
            "VRFY",
            "",
        ] {
            let mut req = rcpt("friend@example.com");
            req.protocol_state = Some(state.into());
            for verdict in [granted(), Verdict::NotGranted, Verdict::Blocked] {
                assert_eq!(action(&req, &verdict), Action::Dunno, "{state} {verdict:?}");
            }
        }
        let mut req = rcpt("friend@example.com");
        req.protocol_state = Some("rcpt".into());
        assert_eq!(action(&req, &Verdict::NotGranted), Action::Reject);
        req.protocol_state = None;
        assert_eq!(action(&req, &Verdict::NotGranted), Action::Reject);
    }

    #[test]
    fn the_default_configuration_fills_url_and_window() {
        let text = Rules::from_config(&Config::default())
            .action_text(Action::Reject)
            .to_string();
        assert!(text.starts_with("REJECT 5.7.1 "), "{text}");
        assert!(text.contains("https://support.example.jp"), "{text}");
        assert!(text.contains("30 minutes"), "{text}");
        assert!(!text.contains('{'), "{text}");
    }
}
