//! Postfix logs one message over several lines (smtpd `client=`, qmgr `from=`, smtp `to=`),
//! joined by queue ID. The correlator joins them and emits `Event::Relayed` for each accepted
//! delivery to a recipient outside `local_domains`. Its open entries are part of the source
//! position, so a restart neither forgets nor repeats a message.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::{ClientIp, DeliveryStatus, Epoch, Event, domain_of};

/// Entries older than this are dropped: a message deferred for a week has expired anyway.
const MAX_AGE: i64 = 7 * 86400;
/// A bound on open entries, so a log without `removed` lines cannot grow memory without end.
const MAX_OPEN: usize = 200_000;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Correlator {
    open: HashMap<String, Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Entry {
    at: Epoch,
    ip: String,
    sender: Option<String>,
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
                at, queue_id, ip, ..
            } => {
                if self.open.len() >= MAX_OPEN {
                    self.expire(*at);
                }
                if self.open.len() < MAX_OPEN {
                    let entry = Entry {
                        at: *at,
                        ip: ip.to_string(),
                        sender: None,
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
                })
            }
            Event::QueueRemoved { queue_id, .. } => {
                self.open.remove(queue_id);
                None
            }
            _ => None,
        }
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
                rcpt: "a@example.net".into()
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
