//! Postfix logs one message over several lines (smtpd `client=`, qmgr `from=`, smtp `to=`),
//! joined by queue ID. The correlator joins them and emits `Event::Relayed` for each accepted
//! delivery to a recipient outside `local_domains`. Its open entries are part of the source
//! position, so a restart neither forgets nor repeats a message.
//!
//! It also remembers the last failures Dovecot's auth process logged per address
//! (`auth_verbose`), so the login process's line that reports the same attempts again is dropped
//! ([`Correlator::repeats`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{ClientIp, DeliveryStatus, Epoch, Event, FailReason, Service, domain_of};

/// Entries older than this are dropped: a message deferred for a week has expired anyway.
const MAX_AGE: i64 = 7 * 86400;
/// A bound on open entries, so a log without `removed` lines cannot grow memory without end.
const MAX_OPEN: usize = 200_000;
/// How long after an auth process failure the login process's line for it may follow: it is
/// written when the client disconnects (Dovecot's own example: `auth failed, 1 attempts in 178
/// secs`).
const REPEAT_WINDOW: i64 = 600;
/// A bound on remembered auth process failures (a password-guessing flood).
const MAX_AUTH: usize = 50_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Correlator {
    open: HashMap<String, Entry>,
    /// The last auth process failure per client address: when, and the user it named.
    #[serde(default)]
    auth_failed: HashMap<String, (Epoch, Option<String>)>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Entry {
    at: Epoch,
    ip: String,
    sender: Option<String>,
    #[serde(default)]
    sasl_user: Option<String>,
}

impl Correlator {
    /// Restores the state saved with a source position; an unreadable state starts empty.
    pub fn restore(state: &str) -> Self {
        serde_json::from_str(state).unwrap_or_default()
    }

    pub fn save(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// Feeds one parsed event; returns the relay it completes, if any.
    pub fn feed(&mut self, event: &Event, is_local: impl Fn(&str) -> bool) -> Option<Event> {
        match event {
            Event::QueueClient {
                at,
                queue_id,
                ip,
                sasl_user,
            } => {
                if self.open.len() >= MAX_OPEN {
                    self.expire(*at);
                }
                if self.open.len() < MAX_OPEN {
                    let entry = Entry {
                        at: *at,
                        ip: ip.to_string(),
                        sender: None,
                        sasl_user: sasl_user.clone(),
                    };
                    self.open.insert(queue_id.clone(), entry);
                }
                None
            }
            Event::QueueFrom {
                queue_id, sender, ..
            } => {
                if let Some(entry) = self.open.get_mut(queue_id) {
                    entry.sender = Some(sender.clone());
                }
                None
            }
            Event::QueueTo {
                at,
                queue_id,
                rcpt,
                status: DeliveryStatus::Sent,
                local: false,
            } => {
                let entry = self.open.get(queue_id)?;
                let remote = domain_of(rcpt).is_some_and(|d| !is_local(&d));
                if !remote {
                    return None;
                }
                Some(Event::Relayed {
                    at: *at,
                    ip: entry.ip.parse::<ClientIp>().ok()?,
                    sender: entry.sender.clone().unwrap_or_default(),
                    rcpt: rcpt.clone(),
                    sasl_user: entry.sasl_user.clone(),
                    queued_at: entry.at,
                })
            }
            Event::QueueRemoved { queue_id, .. } => {
                self.open.remove(queue_id);
                None
            }
            _ => None,
        }
    }

    /// Whether `event` repeats failures already counted: a login process's failed login
    /// (Dovecot's `Disconnected (auth failed, N attempts)`) from an address whose auth process
    /// logged failures for the same user (or named none) within [`REPEAT_WINDOW`]. The auth
    /// process's lines are the ones kept: one per attempt, with the precise reason. Feeding an
    /// auth process failure remembers it.
    pub fn repeats(&mut self, event: &Event) -> bool {
        let Event::LoginFailed {
            at,
            service,
            user,
            ip,
            reason,
        } = event
        else {
            return false;
        };
        let key = ip.to_string();
        if *service == Service::Auth {
            if self.auth_failed.len() >= MAX_AUTH && !self.auth_failed.contains_key(&key) {
                self.auth_failed
                    .retain(|_, (t, _)| *t >= at - REPEAT_WINDOW);
            }
            if self.auth_failed.len() < MAX_AUTH || self.auth_failed.contains_key(&key) {
                self.auth_failed.insert(key, (*at, user.clone()));
            }
            return false;
        }
        if *reason == FailReason::PlaintextDisallowed {
            return false;
        }
        let Some((t, auth_user)) = self.auth_failed.get(&key) else {
            return false;
        };
        let same_user = match (user, auth_user) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => true,
        };
        let repeated = same_user && *at >= *t && *at - *t <= REPEAT_WINDOW;
        if repeated {
            self.auth_failed.remove(&key);
        }
        repeated
    }

    fn expire(&mut self, now: Epoch) {
        self.open.retain(|_, e| e.at >= now - MAX_AGE);
    }

    pub fn len(&self) -> usize {
        self.open.len()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> ClientIp {
        s.parse().unwrap()
    }

    fn local(d: &str) -> bool {
        d == "example.jp"
    }

    fn flow(c: &mut Correlator, qid: &str, rcpt: &str, local_transport: bool) -> Option<Event> {
        let q = qid.to_string();
        c.feed(
            &Event::QueueClient {
                at: 10,
                queue_id: q.clone(),
                ip: ip("203.0.113.7"),
                sasl_user: None,
            },
            local,
        );
        c.feed(
            &Event::QueueFrom {
                at: 11,
                queue_id: q.clone(),
                sender: "taro@example.jp".into(),
            },
            local,
        );
        let to = Event::QueueTo {
            at: 12,
            queue_id: q.clone(),
            rcpt: rcpt.into(),
            status: DeliveryStatus::Sent,
            local: local_transport,
        };
        let out = c.feed(&to, local);
        c.feed(
            &Event::QueueRemoved {
                at: 13,
                queue_id: q,
            },
            local,
        );
        out
    }

    #[test]
    fn remote_delivery_is_a_relay_from_the_client() {
        let mut c = Correlator::default();
        let out = flow(&mut c, "4F2A1C0594", "a@example.net", false);
        assert_eq!(
            out,
            Some(Event::Relayed {
                at: 12,
                ip: ip("203.0.113.7"),
                sender: "taro@example.jp".into(),
                rcpt: "a@example.net".into(),
                sasl_user: None,
                queued_at: 10,
            })
        );
        assert!(c.is_empty(), "removed entries are forgotten");
    }

    #[test]
    fn inbound_mail_is_never_a_relay() {
        let mut c = Correlator::default();
        assert_eq!(flow(&mut c, "7B1E2D0611", "hanako@example.jp", true), None);
        assert_eq!(flow(&mut c, "7B1E2D0612", "hanako@EXAMPLE.jp", false), None);
    }

    fn failed(at: Epoch, service: Service, user: Option<&str>, addr: &str) -> Event {
        Event::LoginFailed {
            at,
            service,
            user: user.map(str::to_string),
            ip: ip(addr),
            reason: FailReason::AuthFailed,
        }
    }

    #[test]
    fn the_login_process_line_after_auth_process_failures_is_a_repeat() {
        let mut c = Correlator::default();
        // auth_verbose: two attempts by the auth process, then the login process's one line.
        assert!(!c.repeats(&failed(100, Service::Auth, Some("taro"), "203.0.113.7")));
        assert!(!c.repeats(&failed(103, Service::Auth, Some("taro"), "203.0.113.7")));
        let restored = &mut Correlator::restore(&c.save());
        assert!(restored.repeats(&failed(160, Service::Pop3, Some("TARO"), "203.0.113.7")));
        // Counted once: the next connection's login process line stands on its own.
        assert!(!restored.repeats(&failed(170, Service::Pop3, Some("taro"), "203.0.113.7")));
        // Without auth_verbose, another address, another user or too late: not a repeat.
        assert!(!c.repeats(&failed(100, Service::Imap, Some("jiro"), "203.0.113.8")));
        c.repeats(&failed(200, Service::Auth, Some("hanako"), "203.0.113.9"));
        assert!(!c.repeats(&failed(210, Service::Imap, Some("jiro"), "203.0.113.9")));
        c.repeats(&failed(300, Service::Auth, None, "203.0.113.10"));
        assert!(!c.repeats(&failed(
            300 + REPEAT_WINDOW + 1,
            Service::Imap,
            Some("jiro"),
            "203.0.113.10"
        )));
        // Saved state of an earlier version has no auth failures: it still restores.
        let old = r#"{"open":{}}"#;
        assert_eq!(Correlator::restore(old), Correlator::default());
    }

    #[test]
    fn state_survives_a_restart() {
        let mut c = Correlator::default();
        c.feed(
            &Event::QueueClient {
                at: 1,
                queue_id: "Q1".into(),
                ip: ip("2001:db8::7"),
                sasl_user: None,
            },
            local,
        );
        let mut restored = Correlator::restore(&c.save());
        let to = Event::QueueTo {
            at: 2,
            queue_id: "Q1".into(),
            rcpt: "x@docomo.ne.jp".into(),
            status: DeliveryStatus::Sent,
            local: false,
        };
        assert!(matches!(
            restored.feed(&to, local),
            Some(Event::Relayed { .. })
        ));
        assert_eq!(Correlator::restore("not json"), Correlator::default());
    }
}
