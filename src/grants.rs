//! The grant index: who may relay now (§6.1), in memory, so the policy service decides without a
//! database round trip. Logins arrive from the ingest writer the moment they are committed;
//! staff grants, blocks and suspensions arrive from the store (`replace_restrictions`,
//! `grant`). Every method takes `now` or the event's own time; nothing here reads a clock.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use ipnet::IpNet;

use crate::causes::CauseIndex;
use crate::config::RelayConfig;
use crate::domain::{ClientIp, Epoch, Event, LoginRule};

/// What the index says about an address at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// May relay until `until`; `login` is whose login (or `None` for a staff grant) carries it.
    Granted { until: Epoch, login: Option<String> },
    /// The address is blocked: no relay whatever its grants.
    Blocked,
    /// No current grant.
    NotGranted,
}

/// One reason an address may relay.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    login: Option<String>,
    until: Epoch,
}

/// Blocks and suspensions in force, replaced whole when the store changes.
#[derive(Debug, Clone, Default)]
pub struct Restrictions {
    pub blocks: Vec<IpNet>,
    pub suspended: HashSet<String>,
}

#[derive(Default)]
struct Inner {
    by_ip: HashMap<ClientIp, Vec<Entry>>,
    restrictions: Restrictions,
    /// The addresses the ISP's relay store holds, under `relay.authority = "store"`.
    held: HashSet<ClientIp>,
}

pub struct GrantIndex {
    window: i64,
    never_authorize: Vec<IpNet>,
    /// Logins compare in canonical form: a suspension holds for every spelling of its login.
    logins: LoginRule,
    inner: RwLock<Inner>,
    /// `relay.authority = "store"`: the relay store's addresses grant, mail checks do not.
    store_authority: bool,
    /// What a refusal's reply is worded from, fed by the same logins (and the failures).
    pub causes: CauseIndex,
}

/// The lookback of an index made with `new`: the default `relay.lookback`.
const LOOKBACK: i64 = 24 * 3600;

impl GrantIndex {
    pub fn new(window: i64, never_authorize: Vec<IpNet>) -> Self {
        GrantIndex::with_lookback(window, window.max(LOOKBACK), never_authorize)
    }

    /// An index whose cause memory reaches back `lookback` (`relay.lookback`).
    pub fn with_lookback(window: i64, lookback: i64, never_authorize: Vec<IpNet>) -> Self {
        GrantIndex {
            window,
            never_authorize,
            logins: LoginRule::default(),
            inner: RwLock::default(),
            store_authority: false,
            causes: CauseIndex::new(window, lookback),
        }
    }

    /// The index `serve` keeps for `relay`: its window, lookback, never-authorize list and
    /// login rule.
    pub fn for_relay(relay: &RelayConfig) -> Self {
        GrantIndex::with_lookback(
            relay.window.0,
            relay.lookback.0,
            relay.never_authorize.clone(),
        )
        .with_logins(relay.login_rule())
        .with_store_authority(relay.authority == crate::config::Authority::Store)
    }

    /// Under `relay.authority = "store"`: an address may relay while the ISP's relay store
    /// holds it (`replace_held`), not for a window after a mail check.
    pub fn with_store_authority(mut self, store: bool) -> Self {
        self.store_authority = store;
        self
    }

    /// The addresses the ISP's relay store holds now, as the store recorded its last read.
    pub fn replace_held(&self, held: impl IntoIterator<Item = ClientIp>) {
        self.write().held = held.into_iter().collect();
    }

    /// Compares logins by `rule` (`relay.login_case`, `relay.customer_domains`) instead of
    /// exactly as written.
    pub fn with_logins(mut self, rule: LoginRule) -> Self {
        self.logins = rule;
        self
    }

    /// Whether the ISP's relay store decides (`relay.authority = "store"`).
    pub fn store_authority(&self) -> bool {
        self.store_authority
    }

    /// W, in seconds.
    pub fn window(&self) -> i64 {
        self.window
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A successful mailbox login by `login` from `ip` at `at`: relaying is allowed until
    /// `at + W`, unless the address is in `relay.never_authorize`. Blocks and suspensions are
    /// applied when the address asks (`check`), by those in force then: the rule every
    /// surface states (`diagnose::connection_state`) reads the same, and it holds the same
    /// after a restart, which loads the window's logins under the restrictions of that moment.
    pub fn login(&self, ip: ClientIp, login: &str, at: Epoch) {
        let login = &*self.logins.canonical(login);
        self.causes.login(ip, login, at);
        if !self.store_authority && self.never_authorize.iter().any(|n| n.contains(&ip.addr())) {
            return;
        }
        add(&mut self.write(), ip, Some(login), at + self.window, at);
    }

    /// A staff grant: `ip` may relay until `until`.
    pub fn grant(&self, ip: ClientIp, until: Epoch, now: Epoch) {
        add(&mut self.write(), ip, None, until, now);
    }

    /// Replaces every staff grant with `grants` (address, until), as the store now has them.
    pub fn replace_staff_grants(&self, grants: &[(ClientIp, Epoch)], now: Epoch) {
        let mut inner = self.write();
        for entries in inner.by_ip.values_mut() {
            entries.retain(|e| e.login.is_some());
        }
        for &(ip, until) in grants {
            add(&mut inner, ip, None, until, now);
        }
    }

    /// Feeds committed events: every successful login grants; failures are remembered for
    /// the refusals' words.
    pub fn apply(&self, events: &[Event]) {
        for event in events {
            match event {
                Event::Login { at, user, ip, .. } => self.login(*ip, user, *at),
                Event::LoginFailed { at, user, ip, .. } => {
                    let user = user.as_deref().map(|u| self.logins.canonical(u));
                    self.causes.failure(*ip, user.as_deref(), *at)
                }
                _ => {}
            }
        }
    }

    /// Is `login` suspended now?
    pub fn is_suspended(&self, login: &str) -> bool {
        let login = self.logins.canonical(login);
        self.read().restrictions.suspended.contains(&*login)
    }

    /// Blocks and suspensions as the store now has them; suspensions of any spelling hold
    /// for the login's canonical form.
    pub fn replace_restrictions(&self, mut restrictions: Restrictions) {
        restrictions.suspended = restrictions
            .suspended
            .into_iter()
            .map(|l| self.logins.canonical(&l).into_owned())
            .collect();
        self.write().restrictions = restrictions;
    }

    /// May `ip` relay at `now`?
    pub fn check(&self, ip: ClientIp, now: Epoch) -> Verdict {
        let inner = self.read();
        if blocked(&inner.restrictions, ip) {
            return Verdict::Blocked;
        }
        let no_entries = Vec::new();
        let entries = inner.by_ip.get(&ip).unwrap_or(&no_entries);
        if self.store_authority {
            return self.check_held(&inner, ip, entries, now);
        }
        entries
            .iter()
            .filter(|e| e.until >= now)
            .filter(|e| {
                e.login
                    .as_ref()
                    .is_none_or(|l| !inner.restrictions.suspended.contains(l))
            })
            .max_by_key(|e| e.until)
            .map_or(Verdict::NotGranted, |e| Verdict::Granted {
                until: e.until,
                login: e.login.clone(),
            })
    }

    /// The rule under `relay.authority = "store"` (as `diagnose::connection_state` states
    /// it): a staff grant, or the store holding the address unless every mail check from it
    /// within the window is by a suspended login.
    fn check_held(&self, inner: &Inner, ip: ClientIp, entries: &[Entry], now: Epoch) -> Verdict {
        let live = || entries.iter().filter(|e| e.until >= now);
        let staff = live().filter(|e| e.login.is_none()).map(|e| e.until).max();
        let suspended = |e: &&Entry| {
            e.login
                .as_ref()
                .is_some_and(|l| inner.restrictions.suspended.contains(l))
        };
        let checks: Vec<&Entry> = live().filter(|e| e.login.is_some()).collect();
        let by = checks
            .iter()
            .filter(|e| !suspended(e))
            .max_by_key(|e| e.until)
            .and_then(|e| e.login.clone());
        let refused = by.is_none() && !checks.is_empty();
        if inner.held.contains(&ip) && !refused {
            return Verdict::Granted {
                until: staff.unwrap_or(now).max(now),
                login: by,
            };
        }
        staff.map_or(Verdict::NotGranted, |until| Verdict::Granted {
            until,
            login: None,
        })
    }

    /// Every address that may relay at `now`, by the rule `check` applies, in order.
    pub fn granted(&self, now: Epoch) -> Vec<ClientIp> {
        let candidates: HashSet<ClientIp> = {
            let inner = self.read();
            inner
                .by_ip
                .keys()
                .chain(inner.held.iter())
                .copied()
                .collect()
        };
        let mut out: Vec<ClientIp> = candidates
            .into_iter()
            .filter(|ip| matches!(self.check(*ip, now), Verdict::Granted { .. }))
            .collect();
        out.sort();
        out
    }

    /// Drops expired grants (and what the cause memory can no longer use); returns how many
    /// addresses still hold a grant.
    pub fn prune(&self, now: Epoch) -> usize {
        self.causes.prune(now);
        let mut inner = self.write();
        inner.by_ip.retain(|_, entries| {
            entries.retain(|e| e.until >= now);
            !entries.is_empty()
        });
        inner.by_ip.len()
    }

    /// Addresses holding a grant (expired ones included until the next prune).
    pub fn len(&self) -> usize {
        self.read().by_ip.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn blocked(r: &Restrictions, ip: ClientIp) -> bool {
    r.blocks.iter().any(|n| n.contains(&ip.addr()))
}

fn add(inner: &mut Inner, ip: ClientIp, login: Option<&str>, until: Epoch, now: Epoch) {
    let entries = inner.by_ip.entry(ip).or_default();
    entries.retain(|e| e.until >= now.min(until));
    match entries.iter_mut().find(|e| e.login.as_deref() == login) {
        Some(e) => e.until = e.until.max(until),
        None => entries.push(Entry {
            login: login.map(str::to_string),
            until,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 1800;

    fn ip(s: &str) -> ClientIp {
        s.parse().unwrap()
    }

    #[test]
    fn a_login_grants_its_address_for_the_window() {
        let index = GrantIndex::new(W, vec![]);
        index.login(ip("203.0.113.7"), "taro", 1000);
        let granted = Verdict::Granted {
            until: 1000 + W,
            login: Some("taro".into()),
        };
        assert_eq!(index.check(ip("203.0.113.7"), 1000), granted);
        assert_eq!(index.check(ip("203.0.113.7"), 1000 + W), granted);
        assert_eq!(
            index.check(ip("203.0.113.7"), 1001 + W),
            Verdict::NotGranted
        );
        assert_eq!(index.check(ip("203.0.113.8"), 1000), Verdict::NotGranted);
        assert_eq!(
            index.check(ip("::ffff:203.0.113.7"), 1000),
            granted,
            "mapped IPv6 is IPv4"
        );
    }

    #[test]
    fn a_later_login_extends_and_an_earlier_one_does_not_shorten() {
        let index = GrantIndex::new(W, vec![]);
        index.login(ip("2001:db8::7"), "taro", 1000);
        index.login(ip("2001:db8::7"), "taro", 2000);
        index.login(ip("2001:db8::7"), "taro", 1500);
        assert!(matches!(
            index.check(ip("2001:db8::7"), 2000 + W),
            Verdict::Granted { .. }
        ));
    }

    #[test]
    fn never_authorize_networks_grant_nothing() {
        let index = GrantIndex::new(W, vec!["198.51.100.0/24".parse().unwrap()]);
        index.login(ip("198.51.100.9"), "taro", 1000);
        assert_eq!(index.check(ip("198.51.100.9"), 1000), Verdict::NotGranted);
    }

    #[test]
    fn blocks_and_suspensions_win_over_grants() {
        let index = GrantIndex::new(W, vec![]);
        index.login(ip("203.0.113.7"), "taro", 1000);
        index.login(ip("203.0.113.9"), "thief", 1000);
        index.login(ip("203.0.113.9"), "hanako", 900);
        let mut r = Restrictions::default();
        r.blocks.push("203.0.113.7/32".parse().unwrap());
        r.suspended.insert("thief".into());
        index.replace_restrictions(r);
        assert_eq!(index.check(ip("203.0.113.7"), 1000), Verdict::Blocked);
        assert_eq!(
            index.check(ip("203.0.113.9"), 1000),
            Verdict::Granted {
                until: 900 + W,
                login: Some("hanako".into())
            },
            "behind one NAT, the suspended login's grant is gone, the other's stays"
        );
        index.login(ip("203.0.113.20"), "thief", 1100);
        assert_eq!(index.check(ip("203.0.113.20"), 1100), Verdict::NotGranted);
        // Lifted: the checks of the window count again, as every page says they do.
        index.replace_restrictions(Restrictions::default());
        assert!(matches!(
            index.check(ip("203.0.113.7"), 1000),
            Verdict::Granted { .. }
        ));
        assert!(matches!(
            index.check(ip("203.0.113.20"), 1100),
            Verdict::Granted { .. }
        ));
    }

    #[test]
    fn staff_grants_have_their_own_expiry_and_can_be_revoked() {
        let index = GrantIndex::new(W, vec![]);
        index.grant(ip("192.0.2.44"), 5000, 1000);
        assert_eq!(
            index.check(ip("192.0.2.44"), 4999),
            Verdict::Granted {
                until: 5000,
                login: None
            }
        );
        index.replace_staff_grants(&[], 1000);
        assert_eq!(index.check(ip("192.0.2.44"), 4999), Verdict::NotGranted);
    }

    #[test]
    fn under_the_store_authority_the_store_grants_and_checks_name_the_login() {
        let index = GrantIndex::new(W, vec![]).with_store_authority(true);
        index.login(ip("203.0.113.7"), "taro", 1000);
        assert_eq!(
            index.check(ip("203.0.113.7"), 1000),
            Verdict::NotGranted,
            "a mail check alone grants nothing: the store has not taken it"
        );
        index.replace_held([ip("203.0.113.7"), ip("203.0.113.8")]);
        assert_eq!(
            index.check(ip("203.0.113.7"), 1000),
            Verdict::Granted {
                until: 1000,
                login: Some("taro".into())
            }
        );
        assert_eq!(
            index.check(ip("203.0.113.8"), 5000 + W),
            Verdict::Granted {
                until: 5000 + W,
                login: None
            },
            "held without a check, and long after any window: Postfix relays, so it is granted"
        );
        let mut r = Restrictions::default();
        r.suspended.insert("taro".into());
        index.replace_restrictions(r.clone());
        assert_eq!(index.check(ip("203.0.113.7"), 1000), Verdict::NotGranted);
        r.suspended.clear();
        r.blocks.push("203.0.113.8/32".parse().unwrap());
        index.replace_restrictions(r);
        assert_eq!(index.check(ip("203.0.113.8"), 1000), Verdict::Blocked);
        index.replace_held([]);
        index.grant(ip("203.0.113.7"), 4000, 1000);
        assert_eq!(
            index.check(ip("203.0.113.7"), 1000),
            Verdict::Granted {
                until: 4000,
                login: None
            }
        );
    }

    #[test]
    fn pruning_forgets_expired_grants() {
        let index = GrantIndex::new(W, vec![]);
        index.login(ip("203.0.113.7"), "taro", 1000);
        index.login(ip("203.0.113.8"), "hanako", 5000);
        assert_eq!(index.prune(1001 + W), 1);
    }
}
