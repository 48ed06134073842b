//! The policy decision (§6.3) as one pure function: a parsed request and what the grant index
//! says about its client give the action. No I/O and no clock: the caller asks the index at its
//! own `now` and hands over the `Verdict`.
//!
//! - A granted client gets `OK` (it may relay; Postfix then skips `reject_unauth_destination`).
//! - Otherwise a recipient outside `relay.local_domains` gets `REJECT 5.7.1 …` worded by the
//!   cause memory can see (`relay.reject_texts`, `Rules::reject_text`) and ending with the link
//!   to that refusal's explanation, so the customer's error dialog says what happened and what to
//!   do, instead of Postfix's bare "Relay access denied". A blocked client is never granted, so
//!   it lands here too.
//! - Everything else is `DUNNO`: mail to local mailboxes, and recipients without a domain (Postfix
//!   qualifies those itself; `reject_unauth_destination` still judges them).
//!
//! Only the RCPT stage decides relaying: for any other `protocol_state` the answer is `DUNNO`, so
//! the service is harmless wherever else it is listed. A request without `protocol_state` is
//! taken as RCPT (hand-written test clients omit it; Postfix always sends it).

use chrono_tz::Tz;

use crate::config::Config;
use crate::diagnose::{Cause, Found};
use crate::domain::{Epoch, domain_of};
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
    /// Per cause, the REJECT text with `{window}` filled in and the refusal words in front.
    texts: Texts,
    /// `{public_url}/why/`, to which each refusal's code is appended.
    why_url: String,
    zone: Tz,
}

#[derive(Debug, Clone)]
struct Texts {
    expired: Template,
    ip_changed: Template,
    auth_failed: Template,
    never_checked: Template,
    suspended: Template,
    /// A sender who is no customer, and causes without a text of their own.
    other: Template,
}

/// A REJECT text cut at its placeholders once, at start, so a refusal is one pass of appends
/// (`REJECT 5.7.1 ` first) instead of a search and a copy per placeholder.
#[derive(Debug, Clone)]
struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    Url,
    Time,
    Until,
}

impl Template {
    fn new(text: &str) -> Template {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(i) = rest.find('{') {
            let (part, len) = if rest[i..].starts_with("{url}") {
                (Part::Url, 5)
            } else if rest[i..].starts_with("{time}") {
                (Part::Time, 6)
            } else if rest[i..].starts_with("{until}") {
                (Part::Until, 7)
            } else {
                parts.push(Part::Text(rest[..=i].to_string()));
                rest = &rest[i + 1..];
                continue;
            };
            if i > 0 {
                parts.push(Part::Text(rest[..i].to_string()));
            }
            parts.push(part);
            rest = &rest[i + len..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Template { parts }
    }

    /// `REJECT 5.7.1 ` and the text with `url`, and `time`/`until` when it has them.
    fn render(&self, url: &str, times: impl Fn(bool) -> String) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("REJECT 5.7.1 ");
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Url => out.push_str(url),
                Part::Time => out.push_str(&times(false)),
                Part::Until => out.push_str(&times(true)),
            }
        }
        out
    }
}

/// The words every relay refusal carries, as Postfix's own does.
pub const RELAY_DENIED: &str = "Relay access denied";

/// The refusal alone: what a reply falls back to when not even the plain text with its link fits.
const BARE_REJECT: &str = "REJECT 5.7.1 Relay access denied";

/// RFC 5321 §4.5.3.1.5: a reply line, code and CRLF included.
pub const MAX_REPLY_LINE: usize = 512;

/// What Postfix writes around a policy service's REJECT text: `554 5.7.1 <rcpt>: Recipient
/// address rejected: TEXT` and CRLF (smtpd_check.c, `access_map_reject_code` 554).
fn reply_line_len(rcpt: &str, text: &str) -> usize {
    "554 5.7.1 <".len() + rcpt.len() + ">: Recipient address rejected: ".len() + text.len() + 2
}

/// `text` with `{window}` filled in and, where an operator left them out, the refusal words in
/// front: Postfix logs this text, and the log parsers know a refused relay by these words.
fn prepared(text: &str, window_minutes: i64) -> String {
    let text = text.replace("{window}", &window_minutes.to_string());
    let text = text.trim();
    if text.contains(RELAY_DENIED) {
        text.to_string()
    } else {
        format!("{RELAY_DENIED}: {text}")
    }
}

impl Rules {
    pub fn from_config(config: &Config) -> Rules {
        let w = config.window_minutes();
        let t = &config.relay.reject_texts;
        Rules {
            local_domains: config
                .relay
                .local_domains
                .iter()
                .map(|d| normalize(d))
                .collect(),
            texts: Texts {
                expired: Template::new(&prepared(&t.expired, w)),
                ip_changed: Template::new(&prepared(&t.ip_changed, w)),
                auth_failed: Template::new(&prepared(&t.auth_failed, w)),
                never_checked: Template::new(&prepared(&t.never_checked, w)),
                suspended: Template::new(&prepared(&t.suspended, w)),
                other: Template::new(&prepared(&config.relay.reject_text, w)),
            },
            why_url: format!("{}/why/", config.web.public_url.trim_end_matches('/')),
            zone: config.timezone.0,
        }
    }

    /// The reply's action text for OK and DUNNO; a REJECT is worded by `reject_text`.
    pub fn action_text(&self, action: Action) -> &'static str {
        match action {
            Action::Ok => "OK",
            Action::Reject => BARE_REJECT,
            Action::Dunno => "DUNNO",
        }
    }

    /// `REJECT 5.7.1 TEXT` for a refusal of `cause` (with the evidence `found`) to `rcpt` at
    /// `now`, linked to `{public_url}/why/{code}`. One ASCII reply line within 512 octets once
    /// Postfix has put its prefix before it: a text that would not fit falls back to the plain
    /// refusal with the link, then to the refusal alone. A sender who is no customer gets the
    /// plain text, which names nobody.
    pub fn reject_text(
        &self,
        cause: Cause,
        found: &Found,
        code: &str,
        rcpt: &str,
        now: Epoch,
    ) -> String {
        let t = &self.texts;
        let template = match cause {
            Cause::Expired => &t.expired,
            Cause::IpChanged => &t.ip_changed,
            Cause::AuthFailed => &t.auth_failed,
            Cause::NeverChecked => &t.never_checked,
            Cause::Suspended => &t.suspended,
            Cause::Authorized | Cause::SentBeforeReceiving | Cause::UnknownSender => &t.other,
        };
        let mut url = String::with_capacity(self.why_url.len() + code.len());
        url.push_str(&self.why_url);
        url.push_str(code);
        let times = |until: bool| {
            let at = if until {
                found.expired_at
            } else {
                found.login_at
            };
            at.map(|at| crate::time::clock(at, self.zone, now))
                .unwrap_or_else(|| "?".into())
        };
        // The action's own `REJECT 5.7.1 ` is not part of Postfix's reply line.
        let prefix = "REJECT 5.7.1 ".len();
        let text = template.render(&url, times);
        if reply_line_len(rcpt, &text[prefix..]) <= MAX_REPLY_LINE {
            return text;
        }
        let plain = t.other.render(&url, |_| String::new());
        if reply_line_len(rcpt, &plain[prefix..]) <= MAX_REPLY_LINE {
            return plain;
        }
        BARE_REJECT.to_string()
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

    fn config() -> Config {
        let mut c = Config::default();
        c.relay.local_domains = vec!["example.jp".into(), "example.ne.jp.".into()];
        c.web.public_url = "https://support.example.jp".into();
        c
    }

    fn rules() -> Rules {
        Rules::from_config(&config())
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
    fn each_cause_has_its_own_words_and_the_link() {
        let rules = rules();
        // 2026-03-13 05:12 in Tokyo.
        let login = 1_773_346_320;
        let found = Found {
            login_at: Some(login),
            expired_at: Some(login + 1800),
            ..Found::default()
        };
        let now = login + 3600;
        let mut seen = std::collections::HashSet::new();
        for cause in Cause::ALL {
            let text = rules.reject_text(cause, &found, "abcd", "friend@example.com", now);
            assert!(
                text.starts_with("REJECT 5.7.1 Relay access denied"),
                "{text}"
            );
            assert!(
                text.ends_with("https://support.example.jp/why/abcd"),
                "{text}"
            );
            assert!(text.is_ascii() && !text.contains('{'), "{text}");
            seen.insert(text);
        }
        // authorized and unknown_sender share the plain text.
        assert_eq!(seen.len(), 6);
        let expired = rules.reject_text(Cause::Expired, &found, "c", "a@b.c", now);
        assert!(
            expired.contains("at 05:12") && expired.contains("until 05:42"),
            "{expired}"
        );
        let outsider = rules.reject_text(Cause::UnknownSender, &found, "c", "a@b.c", now);
        assert_eq!(
            outsider,
            "REJECT 5.7.1 Relay access denied. Why: https://support.example.jp/why/c"
        );
    }

    #[test]
    fn a_reply_always_fits_one_line_with_postfix_prefix() {
        let mut c = config();
        c.relay.reject_texts.never_checked = "z".repeat(300);
        c.web.public_url = format!("https://{}.example.jp", "s".repeat(60));
        let rules = Rules::from_config(&c);
        let mut plain = 0;
        // RFC 5321 allows a 256-octet path; Postfix passes longer ones on.
        for len in [10, 100, 150, 250, 400] {
            let rcpt = format!("{}@example.com", "r".repeat(len));
            let text =
                rules.reject_text(Cause::NeverChecked, &Found::default(), "0123abcd", &rcpt, 0);
            let text = text.strip_prefix("REJECT 5.7.1 ").unwrap();
            assert!(
                reply_line_len(&rcpt, text) <= MAX_REPLY_LINE,
                "{len}: {text}"
            );
            assert!(text.starts_with(RELAY_DENIED), "{text}");
            plain += usize::from(!text.contains('z'));
        }
        assert_eq!(plain, 3, "long recipients get the plain text");
    }

    #[test]
    fn a_custom_text_still_reads_as_a_relay_refusal() {
        let mut c = config();
        c.relay.reject_texts.ip_changed = "Please receive first: {url}".into();
        let text = Rules::from_config(&c).reject_text(
            Cause::IpChanged,
            &Found::default(),
            "q",
            "a@b.c",
            0,
        );
        assert_eq!(
            text,
            "REJECT 5.7.1 Relay access denied: Please receive first: https://support.example.jp/why/q"
        );
    }

    #[test]
    fn an_ungranted_relay_is_rejected() {
        let d = decide(&rcpt("friend@example.com"), &Verdict::NotGranted, &rules());
        assert_eq!(
            d,
            Decision {
                action: Action::Reject,
                relay: true
            }
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
}
