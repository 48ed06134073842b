//! Abuse detection over the committed event stream (§6.4): a burst of relay attempts from one
//! address (an outside spammer hammering the relay), and many accepted relays carried by one
//! login's grants (a stolen password). Inbound mail never counts: only refused relays and
//! accepted deliveries outside `local_domains` are relay attempts. Pure: time comes from the
//! events; the caller persists what `observe` reports.

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::domain::{ClientIp, Epoch, Event, is_carrier_address};

/// How many sample recipients an alert keeps.
const SAMPLES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    Ip,
    Login,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Ip => "ip",
            AlertKind::Login => "login",
        }
    }
}

/// A burst as seen so far: the detector reports it when it crosses the threshold and on every
/// later attempt while it goes on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Burst {
    pub kind: AlertKind,
    pub subject: String,
    pub first: Epoch,
    pub last: Epoch,
    /// Attempts since the burst began.
    pub count: i64,
    /// Of which to mobile-carrier domains.
    pub carrier: i64,
    pub samples: Vec<String>,
    /// Addresses involved (for a login: where its relays came from).
    pub ips: Vec<String>,
}

/// Attempts by one subject inside the sliding window, plus the burst once it is on.
#[derive(Debug, Default)]
struct Track {
    /// (time, to a carrier) of each attempt inside the window.
    times: VecDeque<(Epoch, bool)>,
    burst: Option<Burst>,
}

pub struct Detector {
    threshold: usize,
    window: i64,
    grant_window: i64,
    by_ip: HashMap<ClientIp, Track>,
    by_login: HashMap<String, Track>,
    /// The latest login per address, to attribute accepted relays to the grant they used.
    logins: HashMap<ClientIp, (String, Epoch)>,
}

impl Detector {
    /// `threshold` attempts within `window` seconds open an alert; `grant_window` is W.
    pub fn new(threshold: u32, window: i64, grant_window: i64) -> Self {
        Detector {
            threshold: threshold.max(1) as usize,
            window,
            grant_window,
            by_ip: HashMap::new(),
            by_login: HashMap::new(),
            logins: HashMap::new(),
        }
    }

    /// Feeds events in time order; returns the bursts they opened or extended.
    pub fn observe(&mut self, events: &[Event]) -> Vec<Burst> {
        let mut changed: HashMap<(AlertKind, String), Burst> = HashMap::new();
        for event in events {
            match event {
                Event::Login { at, user, ip, .. } => {
                    self.logins.insert(*ip, (user.clone(), *at));
                }
                Event::RelayRejected { at, ip, rcpt, .. } => {
                    if let Some(b) = self.attempt(AlertKind::Ip, &ip.to_string(), *at, rcpt, ip) {
                        changed.insert((b.kind, b.subject.clone()), b);
                    }
                }
                Event::Relayed { at, ip, rcpt, .. } => {
                    if let Some(b) = self.attempt(AlertKind::Ip, &ip.to_string(), *at, rcpt, ip) {
                        changed.insert((b.kind, b.subject.clone()), b);
                    }
                    let holder = self
                        .logins
                        .get(ip)
                        .filter(|(_, t)| at - t <= self.grant_window && *t <= *at)
                        .map(|(login, _)| login.clone());
                    if let Some(login) = holder
                        && let Some(b) = self.attempt(AlertKind::Login, &login, *at, rcpt, ip)
                    {
                        changed.insert((b.kind, b.subject.clone()), b);
                    }
                }
                _ => {}
            }
        }
        let mut out: Vec<Burst> = changed.into_values().collect();
        out.sort_by(|a, b| (a.first, &a.subject).cmp(&(b.first, &b.subject)));
        out
    }

    fn attempt(
        &mut self,
        kind: AlertKind,
        subject: &str,
        at: Epoch,
        rcpt: &str,
        ip: &ClientIp,
    ) -> Option<Burst> {
        let (threshold, window) = (self.threshold, self.window);
        let track = match kind {
            AlertKind::Ip => self.by_ip.entry(*ip).or_default(),
            AlertKind::Login => self.by_login.entry(subject.to_string()).or_default(),
        };
        while track.times.front().is_some_and(|&(t, _)| t < at - window) {
            track.times.pop_front();
        }
        let to_carrier = is_carrier_address(rcpt);
        track.times.push_back((at, to_carrier));
        // A burst ends when a whole window passes without reaching the threshold again.
        if track.burst.as_ref().is_some_and(|b| b.last < at - window)
            && track.times.len() < threshold
        {
            track.burst = None;
        }
        let carrier = i64::from(to_carrier);
        match &mut track.burst {
            Some(b) => {
                b.last = at;
                b.count += 1;
                b.carrier += carrier;
                if b.samples.len() < SAMPLES && !b.samples.iter().any(|s| s == rcpt) {
                    b.samples.push(rcpt.to_string());
                }
                let ip = ip.to_string();
                if b.ips.len() < 20 && !b.ips.contains(&ip) {
                    b.ips.push(ip);
                }
            }
            None if track.times.len() >= threshold => {
                track.burst = Some(Burst {
                    kind,
                    subject: subject.to_string(),
                    first: track.times.front().map_or(at, |&(t, _)| t),
                    last: at,
                    count: track.times.len() as i64,
                    carrier: track.times.iter().filter(|(_, c)| *c).count() as i64,
                    samples: vec![rcpt.to_string()],
                    ips: vec![ip.to_string()],
                });
            }
            None => return None,
        }
        track.burst.clone()
    }

    /// Forgets subjects quiet for longer than the window, to bound memory.
    pub fn prune(&mut self, now: Epoch) {
        let horizon = now - self.window.max(self.grant_window);
        self.by_ip
            .retain(|_, t| t.times.back().is_some_and(|&(last, _)| last >= horizon));
        self.by_login
            .retain(|_, t| t.times.back().is_some_and(|&(last, _)| last >= horizon));
        self.logins.retain(|_, (_, at)| *at >= horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> ClientIp {
        s.parse().unwrap()
    }

    fn rejected(at: Epoch, from: &str, rcpt: &str) -> Event {
        Event::RelayRejected {
            at,
            ip: ip(from),
            sender: "x@example.org".into(),
            rcpt: rcpt.into(),
            reply: "554 5.7.1".into(),
        }
    }

    #[test]
    fn a_burst_from_one_address_opens_one_alert() {
        let mut d = Detector::new(100, 600, 1800);
        let events: Vec<Event> = (0..99)
            .map(|i| rejected(1000 + i, "198.18.0.9", &format!("u{i}@docomo.ne.jp")))
            .collect();
        assert!(
            d.observe(&events).is_empty(),
            "99 attempts are below the bar"
        );
        let bursts = d.observe(&[rejected(1099, "198.18.0.9", "z@example.net")]);
        assert_eq!(bursts.len(), 1);
        let b = &bursts[0];
        assert_eq!(
            (b.kind, b.subject.as_str(), b.count, b.carrier),
            (AlertKind::Ip, "198.18.0.9", 100, 99)
        );
        assert_eq!(b.first, 1000);
        let more = d.observe(&[rejected(1100, "198.18.0.9", "y@ezweb.ne.jp")]);
        assert_eq!(
            (more[0].count, more[0].carrier, more[0].first),
            (101, 100, 1000)
        );
    }

    #[test]
    fn attempts_spread_wider_than_the_window_do_not_alert() {
        let mut d = Detector::new(100, 600, 1800);
        let events: Vec<Event> = (0..300)
            .map(|i| rejected(i * 7, "203.0.113.7", "a@example.net"))
            .collect();
        assert!(d.observe(&events).is_empty());
    }

    #[test]
    fn relays_through_one_logins_grants_alert_on_the_login() {
        let mut d = Detector::new(50, 600, 1800);
        let mut events = vec![Event::Login {
            at: 10,
            service: crate::domain::Service::Pop3,
            user: "taro".into(),
            ip: ip("198.18.5.5"),
        }];
        for i in 0..60 {
            events.push(Event::Relayed {
                at: 20 + i,
                ip: ip("198.18.5.5"),
                sender: "taro@example.jp".into(),
                rcpt: format!("m{i}@au.com"),
                sasl_user: None,
                queued_at: 20 + i,
            });
        }
        let bursts = d.observe(&events);
        let kinds: Vec<(AlertKind, &str)> = bursts
            .iter()
            .map(|b| (b.kind, b.subject.as_str()))
            .collect();
        assert!(kinds.contains(&(AlertKind::Login, "taro")), "{kinds:?}");
        assert!(kinds.contains(&(AlertKind::Ip, "198.18.5.5")), "{kinds:?}");
        let login = bursts.iter().find(|b| b.kind == AlertKind::Login).unwrap();
        assert_eq!(
            (login.count, login.carrier, login.ips.clone()),
            (60, 60, vec!["198.18.5.5".to_string()])
        );
    }
}
