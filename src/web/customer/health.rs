//! How the status page judges each component from aggregate facts: pure functions of counts
//! and times, so the thresholds are tested here and nowhere else needs to know them.

use crate::domain::Epoch;
use crate::store::ingest::SourceStatus;

/// Logs older than these are stale (degraded) or stopped (outage).
const STALE: i64 = 10 * 60;
const STOPPED: i64 = 60 * 60;

/// What the components are judged from, read in one go.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub now: Epoch,
    /// Mail-check sessions and failed logins in the last 30 minutes…
    pub sessions: i64,
    pub failures: i64,
    /// …and in the same 30 minutes a day earlier.
    pub usual_sessions: i64,
    pub usual_failures: i64,
    pub any_decision: bool,
    /// Policy decisions in the last 30 minutes, and OKs in the last day.
    pub allowed: i64,
    pub refused: i64,
    pub allowed_day: i64,
    /// `451 4.3.5` refusals in the last 30 minutes: Postfix could not ask the policy service.
    pub policy_unavailable: i64,
    /// Whether the policy service runs in this process.
    pub policy_here: bool,
    pub sources: Vec<SourceStatus>,
    /// The ISP's relay stores, when `[[relay.stores]]` are configured: their last reads, the
    /// longest configured interval, and mail checks of the last 30 minutes they never took.
    pub relay_store: Option<StoreFacts>,
}

#[derive(Debug, Clone, Default)]
pub struct StoreFacts {
    pub configured: usize,
    pub reads: Vec<crate::store::relay_store::Read>,
    pub interval: i64,
    pub missed: i64,
}

/// One component's judgement: a state, a catalog key explaining it, and its numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub state: &'static str,
    pub key: &'static str,
    pub values: Vec<(&'static str, i64)>,
}

fn judged(state: &'static str, key: &'static str, values: &[(&'static str, i64)]) -> Judgement {
    Judgement {
        state,
        key,
        values: values.to_vec(),
    }
}

pub fn relay_authorization(f: &Facts) -> Judgement {
    let v = [("allowed", f.allowed), ("refused", f.refused)];
    if !f.any_decision {
        judged("not_used", "status.relay.not_used", &v)
    } else if f.allowed == 0 && f.refused >= 10 && f.allowed_day > 0 {
        judged("degraded", "status.relay.none_allowed", &v)
    } else {
        judged("operational", "status.relay.ok", &v)
    }
}

pub fn mailbox_logins(f: &Facts) -> Judgement {
    let v = [
        ("sessions", f.sessions),
        ("failures", f.failures),
        ("usual", f.usual_sessions),
    ];
    if f.sessions == 0 && f.usual_sessions >= 5 {
        judged("outage", "status.logins.none", &v)
    } else if f.usual_sessions >= 8 && f.sessions * 4 < f.usual_sessions {
        judged("degraded", "status.logins.few", &v)
    } else if f.failures >= 20
        && f.failures > 3 * f.usual_failures.max(1)
        && f.failures > f.sessions
    {
        judged("degraded", "status.logins.failing", &v)
    } else {
        judged("operational", "status.logins.ok", &v)
    }
}

pub fn log_freshness(f: &Facts) -> Judgement {
    let newest = f
        .sources
        .iter()
        .map(|s| s.last_event_at.unwrap_or(0).max(s.updated_at))
        .max();
    let Some(newest) = newest.filter(|t| *t > 0) else {
        return judged("degraded", "status.logs.none", &[]);
    };
    let minutes = (f.now - newest).max(0) / 60;
    let failing = f.sources.iter().filter(|s| s.error.is_some()).count() as i64;
    let v = [("minutes", minutes), ("failing", failing)];
    if f.now - newest > STOPPED {
        judged("outage", "status.logs.stopped", &v)
    } else if failing > 0 {
        judged("degraded", "status.logs.failing", &v)
    } else if f.now - newest > STALE {
        judged("degraded", "status.logs.stale", &v)
    } else {
        judged("operational", "status.logs.ok", &v)
    }
}

pub fn policy_service(f: &Facts) -> Judgement {
    let v = [("count", f.policy_unavailable)];
    if f.policy_unavailable >= 5 {
        judged("outage", "status.policy.unreachable", &v)
    } else if f.policy_unavailable > 0 {
        judged("degraded", "status.policy.unreachable", &v)
    } else if !f.any_decision && !f.policy_here {
        judged("not_used", "status.policy.not_used", &v)
    } else {
        judged("operational", "status.policy.ok", &v)
    }
}

/// The relay store the ISP runs, as relaydesk reads it: read on time, readable, and taking
/// the logins the mail checks show.
pub fn relay_store(f: &Facts, s: &StoreFacts) -> Judgement {
    let held: i64 = s.reads.iter().map(|r| r.held).sum();
    let oldest = s.reads.iter().map(|r| r.read_at).min();
    let late = (3 * s.interval).max(60);
    match oldest {
        _ if s.reads.len() < s.configured => judged("degraded", "status.store.unread", &[]),
        Some(at) if f.now - at > late => judged(
            "outage",
            "status.store.stale",
            &[("minutes", (f.now - at).max(0) / 60)],
        ),
        _ if s.reads.iter().any(|r| r.error.is_some()) => {
            judged("degraded", "status.store.failing", &[("held", held)])
        }
        _ if s.missed > 0 => judged("degraded", "status.store.missed", &[("count", s.missed)]),
        _ => judged("operational", "status.store.ok", &[("held", held)]),
    }
}

/// The worst state of the components in use.
pub fn overall(states: &[&'static str]) -> &'static str {
    ["outage", "degraded"]
        .into_iter()
        .find(|bad| states.contains(bad))
        .unwrap_or("operational")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            now: 100_000,
            sessions: 40,
            usual_sessions: 50,
            any_decision: true,
            allowed: 30,
            refused: 5,
            allowed_day: 900,
            sources: vec![SourceStatus {
                last_event_at: Some(99_990),
                updated_at: 99_995,
                ..SourceStatus::default()
            }],
            ..Facts::default()
        }
    }

    #[test]
    fn a_normal_half_hour_is_operational() {
        let f = facts();
        for j in [
            relay_authorization(&f),
            mailbox_logins(&f),
            log_freshness(&f),
            policy_service(&f),
        ] {
            assert_eq!(j.state, "operational", "{j:?}");
        }
    }

    #[test]
    fn the_relay_store_is_judged_by_its_reads_and_the_logins_it_missed() {
        let f = facts();
        let read = |at: i64, error: Option<&str>| crate::store::relay_store::Read {
            store: "drac".into(),
            first_read_at: at,
            read_at: at,
            held: 7,
            error: error.map(str::to_string),
        };
        let s = |reads: Vec<crate::store::relay_store::Read>, missed| StoreFacts {
            configured: 1,
            reads,
            interval: 5,
            missed,
        };
        assert_eq!(
            relay_store(&f, &s(vec![read(99_998, None)], 0)).state,
            "operational"
        );
        assert_eq!(relay_store(&f, &s(vec![], 0)).state, "degraded");
        assert_eq!(
            relay_store(&f, &s(vec![read(99_000, None)], 0)).state,
            "outage"
        );
        assert_eq!(
            relay_store(&f, &s(vec![read(99_998, Some("postmap: fatal"))], 0)).state,
            "degraded"
        );
        let missed = relay_store(&f, &s(vec![read(99_998, None)], 3));
        assert_eq!(
            (missed.state, missed.key),
            ("degraded", "status.store.missed")
        );
    }

    #[test]
    fn sites_without_the_policy_service_say_so() {
        let f = Facts {
            any_decision: false,
            ..facts()
        };
        assert_eq!(relay_authorization(&f).state, "not_used");
        assert_eq!(policy_service(&f).state, "not_used");
        assert_eq!(
            policy_service(&Facts {
                policy_here: true,
                ..f
            })
            .state,
            "operational"
        );
    }

    #[test]
    fn missing_logins_and_failing_passwords_show() {
        assert_eq!(
            mailbox_logins(&Facts {
                sessions: 0,
                ..facts()
            })
            .state,
            "outage"
        );
        assert_eq!(
            mailbox_logins(&Facts {
                sessions: 5,
                ..facts()
            })
            .state,
            "degraded"
        );
        let quiet_night = Facts {
            sessions: 0,
            usual_sessions: 2,
            ..facts()
        };
        assert_eq!(mailbox_logins(&quiet_night).state, "operational");
        let failing = Facts {
            failures: 80,
            usual_failures: 3,
            ..facts()
        };
        assert_eq!(mailbox_logins(&failing).key, "status.logins.failing");
    }

    #[test]
    fn old_or_failing_logs_and_451_refusals_degrade() {
        let mut f = facts();
        f.sources[0].updated_at = 100_000 - 20 * 60;
        f.sources[0].last_event_at = Some(100_000 - 20 * 60);
        assert_eq!(log_freshness(&f).state, "degraded");
        f.sources[0].updated_at = 100_000 - 2 * 3600;
        f.sources[0].last_event_at = None;
        assert_eq!(log_freshness(&f).state, "outage");
        let mut failing = facts();
        failing.sources[0].error = Some("permission denied".into());
        assert_eq!(log_freshness(&failing).key, "status.logs.failing");
        assert_eq!(
            log_freshness(&Facts {
                sources: vec![],
                ..facts()
            })
            .key,
            "status.logs.none"
        );
        assert_eq!(
            policy_service(&Facts {
                policy_unavailable: 2,
                ..facts()
            })
            .state,
            "degraded"
        );
        assert_eq!(
            policy_service(&Facts {
                policy_unavailable: 9,
                ..facts()
            })
            .state,
            "outage"
        );
        let refusing = Facts {
            allowed: 0,
            refused: 40,
            ..facts()
        };
        assert_eq!(relay_authorization(&refusing).state, "degraded");
    }

    #[test]
    fn the_worst_component_decides_the_summary() {
        assert_eq!(overall(&["operational", "not_used"]), "operational");
        assert_eq!(overall(&["degraded", "operational"]), "degraded");
        assert_eq!(overall(&["degraded", "outage"]), "outage");
    }
}
