//! The truth: which logins the log shows (`History`), the server's grant rule over them, and a
//! small reference evaluator of the §6.2 causes, kept apart from `crate::diagnose`: its answers
//! are what that one is checked against.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use super::generator::Gen;
use super::{Truth, TruthRejection};
use crate::domain::{ClientIp, Epoch};

/// The logins logged so far, by address and by user. Vectors are sorted (`sort`) before any
/// lookup, which is by binary search.
#[derive(Default)]
pub(super) struct History {
    ok_ip: HashMap<ClientIp, Vec<Epoch>>,
    ok_user: HashMap<String, Vec<(Epoch, ClientIp)>>,
    fail_ip: HashMap<ClientIp, Vec<Epoch>>,
    fail_user: HashMap<String, Vec<Epoch>>,
    /// Every login name seen, to tell a full-address login from a local-part one.
    known: HashSet<String>,
}

/// Whether the sorted `v` has a time in [a, b].
fn any_in(v: Option<&Vec<Epoch>>, a: Epoch, b: Epoch) -> bool {
    v.is_some_and(|v| {
        let i = v.partition_point(|&t| t < a);
        i < v.len() && v[i] <= b
    })
}

/// Drops the times `keep` rejects, and the keys left with none.
fn retain_times<K, T>(m: &mut HashMap<K, Vec<T>>, keep: impl Fn(&T) -> bool)
where
    K: Eq + Hash,
{
    m.retain(|_, v| {
        v.retain(&keep);
        !v.is_empty()
    });
}

impl History {
    pub(super) fn success(&mut self, t: Epoch, user: &str, ip: ClientIp) {
        self.ok_ip.entry(ip).or_default().push(t);
        self.ok_user
            .entry(user.to_string())
            .or_default()
            .push((t, ip));
        self.remember(user);
    }

    pub(super) fn failure(&mut self, t: Epoch, user: &str, ip: ClientIp) {
        self.fail_ip.entry(ip).or_default().push(t);
        self.fail_user.entry(user.to_string()).or_default().push(t);
        self.remember(user);
    }

    fn remember(&mut self, user: &str) {
        // Look first: most logins are of known users, and this saves the allocation.
        if !self.known.contains(user) {
            self.known.insert(user.to_string());
        }
    }

    pub(super) fn sort(&mut self) {
        self.ok_ip.values_mut().for_each(|v| v.sort_unstable());
        self.ok_user.values_mut().for_each(|v| v.sort_unstable());
        self.fail_ip.values_mut().for_each(|v| v.sort_unstable());
        self.fail_user.values_mut().for_each(|v| v.sort_unstable());
    }

    /// Forgets logins before `before` (live mode runs for days).
    pub(super) fn prune(&mut self, before: Epoch) {
        retain_times(&mut self.ok_ip, |&t| t >= before);
        retain_times(&mut self.ok_user, |&(t, _)| t >= before);
        retain_times(&mut self.fail_ip, |&t| t >= before);
        retain_times(&mut self.fail_user, |&t| t >= before);
    }

    /// The §6.1 grant rule: a successful login from `ip` within `w` seconds before `t`.
    pub(super) fn authorized(&self, ip: ClientIp, t: Epoch, w: Epoch) -> bool {
        any_in(self.ok_ip.get(&ip), t - w, t)
    }

    /// The owner login u of `sender`: the full address if it logs in as such, else its local part.
    fn owner(&self, sender: &str, domain: &str) -> Option<String> {
        match sender.rsplit_once('@') {
            Some((local, d)) if d.eq_ignore_ascii_case(domain) => {
                if self.known.contains(sender) {
                    Some(sender.to_string())
                } else {
                    Some(local.to_string())
                }
            }
            _ => None,
        }
    }

    /// The §6.2 reference evaluator: (owner login, cause).
    pub(super) fn diagnose(
        &self,
        t: Epoch,
        ip: ClientIp,
        sender: &str,
        domain: &str,
        w: i64,
        l: i64,
    ) -> (Option<String>, &'static str) {
        let owner = self.owner(sender, domain);
        let a = t - w;
        if any_in(self.ok_ip.get(&ip), a, t) {
            return (owner, "authorized");
        }
        let user_ok = owner.as_ref().and_then(|u| self.ok_user.get(u));
        let user_ok_in: Vec<&(Epoch, ClientIp)> = user_ok
            .map(|v| {
                let i = v.partition_point(|&(x, _)| x < a);
                v[i..].iter().take_while(|&&(x, _)| x <= t).collect()
            })
            .unwrap_or_default();
        if user_ok_in.iter().any(|&&(_, other)| other != ip) {
            return (owner, "ip_changed");
        }
        let failed = owner
            .as_ref()
            .is_some_and(|u| any_in(self.fail_user.get(u), a, t))
            || any_in(self.fail_ip.get(&ip), a, t);
        if failed && user_ok_in.is_empty() {
            return (owner, "auth_failed");
        }
        if let Some(v) = self.ok_ip.get(&ip) {
            let i = v.partition_point(|&x| x < t - l);
            if i < v.len() && v[i] < a {
                return (owner, "expired");
            }
        }
        if owner.is_some() {
            return (owner, "never_checked");
        }
        (None, "unknown_sender")
    }
}

impl Gen {
    /// The truth about everything generated so far: each logged rejection with the cause the
    /// evaluator finds over the logins logged.
    pub(super) fn truth(&self) -> Truth {
        let o = &self.opts;
        let mut rejections: Vec<TruthRejection> = self
            .rejections
            .iter()
            .map(|(at, ip, sender, rcpt)| {
                let (login, cause) = self
                    .hist
                    .diagnose(*at, *ip, sender, &o.domain, o.window, o.lookback);
                TruthRejection {
                    at: *at,
                    ip: *ip,
                    sender: sender.clone(),
                    rcpt: rcpt.clone(),
                    login,
                    cause,
                }
            })
            .collect();
        rejections.sort_by_key(|r| r.at);
        Truth {
            rejections,
            spammer_ips: self.spammer_ips.clone(),
            stolen_logins: self.stolen.clone(),
            thief_ips: self.thief_ips.clone(),
            customers: self.customers.iter().map(|c| c.login.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::default_sim;
    use std::collections::BTreeMap;

    #[test]
    fn every_cause_occurs() {
        let sim = default_sim();
        let mut causes: BTreeMap<&str, usize> = BTreeMap::new();
        for r in &sim.truth.rejections {
            *causes.entry(r.cause).or_default() += 1;
        }
        for c in [
            "ip_changed",
            "auth_failed",
            "expired",
            "never_checked",
            "unknown_sender",
        ] {
            assert!(causes.get(c).copied().unwrap_or(0) >= 3, "{c}: {causes:?}");
        }
        assert!(!causes.contains_key("suspended"));
    }
}
