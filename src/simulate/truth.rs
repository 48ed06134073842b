//! The truth: which logins the log shows (`History`), the server's grant rule over them, a
//! small reference evaluator of the §6.2 causes, kept apart from `crate::diagnose` (its answers
//! are what that one is checked against), and the tally of accepted relays per login and method
//! (`RelayTally`).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use super::generator::Gen;
use super::{MethodCount, RelayMethods, Truth, TruthRejection};
use crate::domain::{ClientIp, Epoch};

/// How an accepted relay was authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    /// On port 25, by the grant of a prior mailbox login from the client's address.
    PopBeforeSmtp,
    /// On the submission port, by SMTP AUTH (`sasl_username` on the smtpd `client=` line).
    SmtpAuth,
}

/// Accepted relays per login and method, as they are logged. The unit is the store's: one
/// relay per recipient outside `local_domains` with a `to=… status=sent` line (the correlator
/// emits one `Relayed` event for each), timed by that line's whole second.
#[derive(Default)]
pub(super) struct RelayTally {
    by_login: BTreeMap<String, RelayMethods>,
}

impl MethodCount {
    fn add(&mut self, at: Epoch) {
        self.relays += 1;
        self.first = Some(self.first.map_or(at, |f| f.min(at)));
        self.last = Some(self.last.map_or(at, |l| l.max(at)));
    }
}

impl RelayTally {
    /// One accepted relay at `at` for `login` by `method`.
    pub(super) fn record(&mut self, login: &str, method: Method, at: Epoch) {
        let login = &account(login);
        if !self.by_login.contains_key(login) {
            let entry = RelayMethods {
                login: login.to_string(),
                ..RelayMethods::default()
            };
            self.by_login.insert(login.to_string(), entry);
        }
        if let Some(m) = self.by_login.get_mut(login) {
            match method {
                Method::PopBeforeSmtp => m.pop_before_smtp.add(at),
                Method::SmtpAuth => m.smtp_auth.add(at),
            }
        }
    }

    /// Every login with at least one accepted relay, by login.
    pub(super) fn table(&self) -> Vec<RelayMethods> {
        self.by_login.values().cloned().collect()
    }

    /// Forgets logins whose last relay is before `before` (live mode runs for days).
    pub(super) fn prune(&mut self, before: Epoch) {
        self.by_login.retain(|_, m| {
            m.pop_before_smtp
                .last
                .max(m.smtp_auth.last)
                .unwrap_or(before)
                >= before
        });
    }
}

/// The logins logged so far, by address and by user. Vectors are sorted (`sort`) before any
/// lookup, which is by binary search.
#[derive(Default)]
pub(super) struct History {
    ok_ip: HashMap<ClientIp, Vec<Epoch>>,
    ok_user: HashMap<String, Vec<(Epoch, ClientIp)>>,
    fail_ip: HashMap<ClientIp, Vec<Epoch>>,
    fail_user: HashMap<String, Vec<Epoch>>,
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
        let user = &account(user);
        self.ok_ip.entry(ip).or_default().push(t);
        self.ok_user
            .entry(user.to_string())
            .or_default()
            .push((t, ip));
    }

    pub(super) fn failure(&mut self, t: Epoch, user: &str, ip: ClientIp) {
        let user = &account(user);
        self.fail_ip.entry(ip).or_default().push(t);
        self.fail_user.entry(user.to_string()).or_default().push(t);
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

    /// The owner login u of `sender`: its account (`account`), whether it logs in with the
    /// local part or the whole address.
    fn owner(&self, sender: &str, domain: &str) -> Option<String> {
        match sender.rsplit_once('@') {
            Some((_, d)) if d.eq_ignore_ascii_case(domain) => Some(account(sender)),
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
            stolen_logins: self.stolen.iter().map(|l| account(l)).collect(),
            thief_ips: self.thief_ips.clone(),
            customers: self.customers.iter().map(|c| account(&c.login)).collect(),
            relay_methods: self.relays.table(),
        }
    }
}

/// The account a simulated login names, as relaydesk compares logins (`domain::LoginRule`):
/// every simulated login is in the customer domain, so `u00010@example.jp` is `u00010`.
pub(super) fn account(login: &str) -> String {
    let local = login.rsplit_once('@').map_or(login, |(l, _)| l);
    local.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{default_day, default_sim, small};
    use super::super::{MethodCount, RelayMethods, generate};
    use super::account;
    use crate::domain::Event;
    use crate::ingest::pipeline::{Batch, Pipeline};
    use std::collections::{BTreeMap, HashMap};

    /// The truth's unit is the product's: ingesting the log yields one `Relayed` event for
    /// each relay the truth counts.
    #[test]
    fn the_product_counts_the_relays_the_truth_counts() {
        let sim = generate(&small());
        let config = crate::config::Config::default();
        let now = sim.lines.last().unwrap().at;
        let mut pipeline = Pipeline::new(&config, now, "");
        let mut batch = Batch::default();
        for l in &sim.lines {
            pipeline.line(l.text.as_bytes(), &mut batch);
        }
        assert_eq!(batch.counts.malformed, 0);
        let relayed = batch
            .events
            .iter()
            .filter(|e| matches!(e, Event::Relayed { .. }))
            .count();
        let truth: usize = sim
            .truth
            .relay_methods
            .iter()
            .map(|m| m.pop_before_smtp.relays + m.smtp_auth.relays)
            .sum();
        assert!(truth > 1000, "{truth}");
        assert_eq!(relayed, truth);
    }

    /// The relay methods of the truth, recounted from the log text alone: each `to=… status=sent`
    /// line is one relay; its queue's `client=` line says SMTP AUTH (`sasl_username=`) or not,
    /// and a relay without it belongs to the latest login from the client's address.
    #[test]
    fn relay_methods_match_the_lines_written() {
        let (sim, stats) = default_day();
        let field = |t: &str, from: &str, to: char| {
            let i = t.find(from)? + from.len();
            Some(t[i..].split(to).next()?.to_string())
        };
        let mut logins: HashMap<String, Vec<(i64, String)>> = HashMap::new();
        let mut clients: HashMap<String, (String, Option<String>)> = HashMap::new();
        let mut counted: BTreeMap<String, RelayMethods> = BTreeMap::new();
        for l in &sim.lines {
            let t = &l.text;
            if t.contains("-login: Login: ") || t.contains("-login: Logged in: ") {
                let user = account(&field(t, "user=<", '>').unwrap());
                let ip = field(t, "rip=", ',').unwrap();
                logins.entry(ip).or_default().push((l.at, user));
            } else if let Some(client) = field(t, ": client=", ',') {
                let qid = t[..t.find(": client=").unwrap()]
                    .rsplit(' ')
                    .next()
                    .unwrap();
                let ip = client[client.find('[').unwrap() + 1..client.len() - 1].to_string();
                clients.insert(qid.to_string(), (ip, field(t, "sasl_username=", ' ')));
            } else if t.contains(" postfix/smtp[") && t.contains("status=sent") {
                let qid = t.split(": ").nth(1).unwrap();
                let (ip, sasl) = &clients[qid];
                let (login, auth) = match sasl {
                    Some(u) => (account(u), true),
                    None => {
                        let held = logins[ip].iter().rev().find(|(at, _)| *at <= l.at);
                        (held.unwrap().1.clone(), false)
                    }
                };
                let m = counted
                    .entry(login.clone())
                    .or_insert_with(|| RelayMethods {
                        login,
                        ..RelayMethods::default()
                    });
                let c: &mut MethodCount = if auth {
                    &mut m.smtp_auth
                } else {
                    &mut m.pop_before_smtp
                };
                c.add(l.at);
            }
        }
        let counted: Vec<RelayMethods> = counted.into_values().collect();
        assert_eq!(counted.len(), sim.truth.relay_methods.len());
        for (a, b) in counted.iter().zip(&sim.truth.relay_methods) {
            assert_eq!(a, b);
        }
        let total: usize = counted
            .iter()
            .map(|m| m.pop_before_smtp.relays + m.smtp_auth.relays)
            .sum();
        assert_eq!(total, stats.accepted_relays);
        // Some customers relay only by SMTP AUTH, some both ways, most by POP before SMTP.
        let both = counted
            .iter()
            .filter(|m| m.smtp_auth.relays > 0 && m.pop_before_smtp.relays > 0)
            .count();
        let auth_only = counted
            .iter()
            .filter(|m| m.smtp_auth.relays > 0 && m.pop_before_smtp.relays == 0)
            .count();
        let pbs_only = counted.len() - both - auth_only;
        assert!(
            both >= 20 && auth_only >= 100 && pbs_only > auth_only,
            "{both} {auth_only} {pbs_only}"
        );
        let stolen = &sim.truth.stolen_logins[0];
        let victim = counted.iter().find(|m| &m.login == stolen).unwrap();
        assert!(victim.pop_before_smtp.relays >= 300, "{victim:?}");
    }

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
