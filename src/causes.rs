//! What the policy service remembers so that a refusal can name its cause (§6.3): per client
//! address the last successful and the last failed mail check, per login the last success (and
//! from where) and the last failure, within the lookback. It is fed by the same commits as the
//! grant index and turned into the §6.2 evidence for the one `diagnose` function, so the reply
//! and the store's diagnosis of the same refusal follow the same rules.
//!
//! Compact by construction (BENCHMARKS.md, "What the cause memory costs"): times are `u32`
//! seconds, IPv4 addresses are 4-byte keys, login names live in one byte arena, and logins are
//! found through a hash table of indexes into that arena rather than a map keyed by owned
//! strings. Nothing here reads a
//! clock: every method takes the event's or the decision's time.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::RwLock;

use hashbrown::HashTable;

use crate::diagnose::{Evidence, FailureAt, LoginSpan, Restriction};
use crate::domain::{ClientIp, Epoch};

/// The last success and failure seen from one address (0: none).
#[derive(Debug, Clone, Copy, Default)]
struct AddrFacts {
    ok: u32,
    failed: u32,
}

/// One login: its name in the arena, its last success (and from where) and last failure.
#[derive(Debug, Clone, Copy)]
struct LoginFacts {
    name_at: u32,
    name_len: u16,
    ok: u32,
    failed: u32,
    ok_ip: ClientIp,
}

/// Per address, keyed by the address's bits: an IPv4 key is 4 bytes, not a 17-byte `IpAddr`
/// (most of the memory is this map).
#[derive(Default)]
struct Addrs {
    v4: HashMap<u32, AddrFacts>,
    v6: HashMap<u128, AddrFacts>,
}

impl Addrs {
    fn entry(&mut self, ip: ClientIp) -> &mut AddrFacts {
        match ip.addr() {
            IpAddr::V4(a) => self.v4.entry(a.to_bits()).or_default(),
            IpAddr::V6(a) => self.v6.entry(a.to_bits()).or_default(),
        }
    }

    fn get(&self, ip: ClientIp) -> Option<&AddrFacts> {
        match ip.addr() {
            IpAddr::V4(a) => self.v4.get(&a.to_bits()),
            IpAddr::V6(a) => self.v6.get(&a.to_bits()),
        }
    }

    fn retain(&mut self, mut keep: impl FnMut(&mut AddrFacts) -> bool) {
        self.v4.retain(|_, a| keep(a));
        self.v6.retain(|_, a| keep(a));
    }

    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

#[derive(Default)]
struct Inner {
    addrs: Addrs,
    /// Indexes into `logins`, hashed by name.
    table: HashTable<u32>,
    logins: Vec<LoginFacts>,
    /// Slots of `logins` forgotten by a prune, to reuse.
    free: Vec<u32>,
    names: Vec<u8>,
    /// Arena bytes of forgotten names; compacted when they are most of it.
    garbage: usize,
}

pub struct CauseIndex {
    window: i64,
    lookback: i64,
    hasher: std::collections::hash_map::RandomState,
    inner: RwLock<Inner>,
}

/// Epoch seconds as stored: 0 is "never"; times outside u32 are clamped (year 2106).
fn t32(at: Epoch) -> u32 {
    at.clamp(1, u32::MAX as i64) as u32
}

impl CauseIndex {
    pub fn new(window: i64, lookback: i64) -> CauseIndex {
        CauseIndex {
            window,
            lookback,
            hasher: Default::default(),
            inner: RwLock::default(),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    fn hash(&self, name: &[u8]) -> u64 {
        self.hasher.hash_one(name)
    }

    /// A successful mailbox login by `login` from `ip` at `at`.
    pub fn login(&self, ip: ClientIp, login: &str, at: Epoch) {
        let at = t32(at);
        let mut inner = self.write();
        let a = inner.addrs.entry(ip);
        a.ok = a.ok.max(at);
        if let Some(l) = self.login_entry(&mut inner, login)
            && at >= l.ok
        {
            l.ok = at;
            l.ok_ip = ip;
        }
    }

    /// A failed mailbox login from `ip` at `at`, by `login` when the log named one.
    pub fn failure(&self, ip: ClientIp, login: Option<&str>, at: Epoch) {
        let at = t32(at);
        let mut inner = self.write();
        let a = inner.addrs.entry(ip);
        a.failed = a.failed.max(at);
        if let Some(l) = login.and_then(|name| self.login_entry(&mut inner, name)) {
            l.failed = l.failed.max(at);
        }
    }

    /// The facts of `name`, made if new (`None` for a name too long to hold: 64 KiB).
    fn login_entry<'a>(&self, inner: &'a mut Inner, name: &str) -> Option<&'a mut LoginFacts> {
        let name = name.as_bytes();
        let len = u16::try_from(name.len()).ok()?;
        let hash = self.hash(name);
        let Inner {
            table,
            logins,
            names,
            free,
            ..
        } = inner;
        let found = table
            .find(hash, |&i| login_name(names, &logins[i as usize]) == name)
            .copied();
        let i = match found {
            Some(i) => i,
            None => {
                let facts = LoginFacts {
                    name_at: u32::try_from(names.len()).ok()?,
                    name_len: len,
                    ok: 0,
                    failed: 0,
                    ok_ip: ClientIp::from(std::net::Ipv4Addr::UNSPECIFIED),
                };
                names.extend_from_slice(name);
                let i = match free.pop() {
                    Some(i) => {
                        logins[i as usize] = facts;
                        i
                    }
                    None => {
                        logins.push(facts);
                        (logins.len() - 1) as u32
                    }
                };
                table.insert_unique(hash, i, |&j| {
                    self.hasher.hash_one(login_name(names, &logins[j as usize]))
                });
                i
            }
        };
        Some(&mut logins[i as usize])
    }

    /// The §6.2 evidence memory holds for a refusal at `at` from `ip` with sender owner `owner`:
    /// the address's last success and failure, the owner's last success (with its address) and
    /// failure. `block`/`suspension` are the restrictions the grant index holds.
    pub fn evidence(
        &self,
        ip: ClientIp,
        ip_text: &str,
        owner: Option<&str>,
        block: Option<Restriction>,
        suspension: Option<Restriction>,
    ) -> Evidence {
        let inner = self.read();
        let mut ev = Evidence {
            block,
            suspension,
            // Memory holds the lookback; what it lacks makes no claim of incompleteness here.
            logs_since: Some(Epoch::MIN),
            ..Evidence::default()
        };
        if let Some(a) = inner.addrs.get(ip) {
            if a.ok > 0 {
                ev.ip_logins
                    .push(span(String::new(), ip_text.to_string(), a.ok));
            }
            if a.failed > 0 {
                ev.failures.push(FailureAt {
                    at: a.failed as Epoch,
                    login: None,
                    ip: ip_text.to_string(),
                });
            }
        }
        if let Some(owner) = owner
            && let Some(l) = self.find(&inner, owner)
        {
            if l.ok > 0 {
                ev.owner_logins
                    .push(span(owner.to_string(), l.ok_ip.text(), l.ok));
            }
            if l.failed > 0 {
                ev.failures.push(FailureAt {
                    at: l.failed as Epoch,
                    login: Some(owner.to_string()),
                    ip: String::new(),
                });
            }
        }
        ev
    }

    /// Whether `login` is a login memory has seen.
    pub fn knows(&self, login: &str) -> bool {
        let inner = self.read();
        self.find(&inner, login).is_some()
    }

    fn find(&self, inner: &Inner, name: &str) -> Option<LoginFacts> {
        let name = name.as_bytes();
        inner
            .table
            .find(self.hash(name), |&i| {
                login_name(&inner.names, &inner.logins[i as usize]) == name
            })
            .map(|&i| inner.logins[i as usize])
    }

    /// Forgets what no diagnosis at `now` or later can use: successes older than the lookback,
    /// failures older than the window. Returns the addresses still held.
    pub fn prune(&self, now: Epoch) -> usize {
        let ok_from = t32(now - self.lookback);
        let failed_from = t32(now - self.window);
        let mut inner = self.write();
        inner.addrs.retain(|a| {
            if a.failed < failed_from {
                a.failed = 0;
            }
            if a.ok < ok_from {
                a.ok = 0;
            }
            a.ok > 0 || a.failed > 0
        });
        let Inner {
            table,
            logins,
            free,
            garbage,
            ..
        } = &mut *inner;
        table.retain(|&mut i| {
            let l = &mut logins[i as usize];
            if l.failed < failed_from {
                l.failed = 0;
            }
            if l.ok < ok_from {
                l.ok = 0;
            }
            let keep = l.ok > 0 || l.failed > 0;
            if !keep {
                free.push(i);
                *garbage += l.name_len as usize;
            }
            keep
        });
        if inner.garbage > 1 << 20 && inner.garbage * 2 > inner.names.len() {
            compact(&mut inner);
        }
        inner.addrs.len()
    }

    /// Addresses held.
    pub fn len(&self) -> usize {
        self.read().addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Logins held.
    pub fn logins(&self) -> usize {
        self.read().table.len()
    }
}

fn login_name<'a>(names: &'a [u8], l: &LoginFacts) -> &'a [u8] {
    &names[l.name_at as usize..l.name_at as usize + l.name_len as usize]
}

fn span(login: String, ip: String, at: u32) -> LoginSpan {
    LoginSpan {
        login,
        ip,
        first: at as Epoch,
        last: at as Epoch,
    }
}

/// Rewrites the arena with only the names still held.
fn compact(inner: &mut Inner) {
    let mut names = Vec::with_capacity(inner.names.len() - inner.garbage);
    for &i in inner.table.iter() {
        let l = &mut inner.logins[i as usize];
        let at = names.len() as u32;
        names.extend_from_slice(login_name(&inner.names, l));
        l.name_at = at;
    }
    inner.names = names;
    inner.garbage = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnose::{Cause, Rules, diagnose};

    const W: i64 = 1800;
    const L: i64 = 86400;

    fn ip(s: &str) -> ClientIp {
        s.parse().unwrap()
    }

    fn cause(c: &CauseIndex, at: Epoch, addr: &str, owner: Option<&str>) -> Cause {
        let ev = c.evidence(ip(addr), addr, owner, None, None);
        diagnose(
            at,
            &ip(addr).to_string(),
            owner,
            &ev,
            Rules {
                window: W,
                lookback: L,
            },
        )
        .cause
    }

    #[test]
    fn memory_names_each_cause() {
        let c = CauseIndex::new(W, L);
        let t = 1_800_000_000;
        c.login(ip("203.0.113.7"), "taro", t - 2 * W);
        assert_eq!(cause(&c, t, "203.0.113.7", Some("taro")), Cause::Expired);
        c.login(ip("198.51.100.9"), "taro", t - 60);
        assert_eq!(cause(&c, t, "203.0.113.7", Some("taro")), Cause::IpChanged);
        c.failure(ip("203.0.113.8"), Some("hanako"), t - 30);
        assert_eq!(
            cause(&c, t, "203.0.113.99", Some("hanako")),
            Cause::AuthFailed
        );
        assert_eq!(cause(&c, t, "203.0.113.8", None), Cause::AuthFailed);
        assert_eq!(cause(&c, t, "192.0.2.1", Some("jiro")), Cause::NeverChecked);
        assert_eq!(cause(&c, t, "192.0.2.1", None), Cause::UnknownSender);
        assert!(c.knows("taro") && !c.knows("jiro"));
    }

    #[test]
    fn prune_forgets_what_no_diagnosis_can_use_and_reuses_the_room() {
        let c = CauseIndex::new(W, L);
        let t = 1_800_000_000;
        for i in 0..1000u32 {
            let a = ClientIp::from(std::net::Ipv4Addr::from(i));
            c.login(a, &format!("user{i}"), t);
        }
        c.failure(ip("203.0.113.8"), Some("late"), t + L);
        assert_eq!(c.prune(t + L + 1), 1);
        assert_eq!(c.logins(), 1);
        assert!(c.knows("late") && !c.knows("user3"));
        c.login(ip("203.0.113.9"), "again", t + L);
        assert!(c.knows("again") && c.knows("late"));
        assert_eq!(c.read().logins.len(), 1001, "slots are reused");
        // Compaction keeps every held name findable.
        let mut inner = c.write();
        compact(&mut inner);
        drop(inner);
        assert!(c.knows("again") && c.knows("late"));
    }
}
