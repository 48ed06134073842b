//! Why was a relay refused? One pure function, `diagnose`, applies the rules of §6.2 to the
//! evidence the store gathered around a rejection and returns the cause, the evidence it rests
//! on, and — through `explain` — a short explanation with the fix in Japanese and English.
//! The CLI, the pages, the API and the policy service all use this one function.

use serde::Serialize;

use crate::domain::{Epoch, LoginRule, domain_of};

/// The cause of a refused relay, in the order the rules are tried (§6.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    Suspended,
    Authorized,
    /// The mail program sent before it received: a mail check from the address followed
    /// within `SENT_BEFORE` seconds. Only pages, reports and the API can see this; the policy's
    /// reply, decided before the check, cannot.
    SentBeforeReceiving,
    IpChanged,
    AuthFailed,
    Expired,
    NeverChecked,
    UnknownSender,
}

impl Cause {
    pub const ALL: [Cause; 8] = [
        Cause::Suspended,
        Cause::Authorized,
        Cause::SentBeforeReceiving,
        Cause::IpChanged,
        Cause::AuthFailed,
        Cause::Expired,
        Cause::NeverChecked,
        Cause::UnknownSender,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Suspended => "suspended",
            Cause::Authorized => "authorized",
            Cause::SentBeforeReceiving => "sent_before_receiving",
            Cause::IpChanged => "ip_changed",
            Cause::AuthFailed => "auth_failed",
            Cause::Expired => "expired",
            Cause::NeverChecked => "never_checked",
            Cause::UnknownSender => "unknown_sender",
        }
    }

    pub fn parse(s: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How soon after a refusal a mail check from the same address shows that the program sent
/// before it received (§6.2 `sent_before_receiving`).
pub const SENT_BEFORE: Epoch = 60;

/// W and L, in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub window: i64,
    pub lookback: i64,
}

/// Logins by one login from one IP with no gap longer than W (a stored session). Because gaps
/// are at most W, a session overlapping any interval of length W has a login inside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoginSpan {
    pub login: String,
    pub ip: String,
    pub first: Epoch,
    pub last: Epoch,
}

impl LoginSpan {
    fn overlaps(&self, from: Epoch, to: Epoch) -> bool {
        self.first <= to && self.last >= from
    }

    /// The latest login of this span at or before `t`, as far as the span tells.
    fn latest_by(&self, t: Epoch) -> Epoch {
        if self.last <= t {
            self.last
        } else {
            self.first.max(t)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailureAt {
    pub at: Epoch,
    pub login: Option<String>,
    pub ip: String,
}

/// A block or suspension in force.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Restriction {
    pub subject: String,
    pub reason: String,
    pub since: Epoch,
}

/// Everything the rules look at for a rejection at `at` from `ip` with sender `sender`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// Sessions from the client IP overlapping [t−L, t + SENT_BEFORE].
    pub ip_logins: Vec<LoginSpan>,
    /// Sessions of the owner login overlapping [t−W, t].
    pub owner_logins: Vec<LoginSpan>,
    /// Failed logins by the owner or from the IP in [t−W, t].
    pub failures: Vec<FailureAt>,
    pub block: Option<Restriction>,
    pub suspension: Option<Restriction>,
    /// The earliest time the store has mailbox logs for; None when it has none at all.
    pub logs_since: Option<Epoch>,
}

/// What a diagnosis rests on: the login or failure, its time and IP, and when a grant expired.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Found {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_at: Option<Epoch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expired_at: Option<Epoch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_at: Option<Epoch>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
    /// The logs do not reach back far enough to rule out an earlier login.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub logs_incomplete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub cause: Cause,
    pub at: Epoch,
    pub ip: String,
    pub login: Option<String>,
    pub evidence: Found,
}

/// Who owns sender address `sender` (§6.2). `accounts` is the imported account list's answer
/// when one is configured (`Some(None)`: configured, address not in it). Otherwise a sender in a
/// customer domain is owned by its account: `Taro@EXAMPLE.JP` and a login `taro@example.jp`
/// are both the account `taro` (`LoginRule::canonical`).
pub fn owner(sender: &str, rule: &LoginRule, accounts: Option<Option<String>>) -> Option<String> {
    let domain = domain_of(sender)?;
    if !rule
        .customer_domains
        .iter()
        .any(|d| d.eq_ignore_ascii_case(&domain))
    {
        return None;
    }
    if let Some(listed) = accounts {
        return listed.map(|l| rule.canonical(&l).into_owned());
    }
    let (local, _) = sender.rsplit_once('@')?;
    if local.trim().is_empty() {
        return None;
    }
    Some(rule.canonical(sender).into_owned())
}

/// Who a diagnosis is stated to: it decides which evidence the words may rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Staff, the CLI and the signed-in customer: all the evidence.
    Staff,
    /// Whoever opened the connection or the page — the SMTP reply, `/why`: `public_evidence`.
    Public,
}

impl Audience {
    /// `diagnose` on the evidence this audience may be told of.
    pub fn diagnose(
        self,
        at: Epoch,
        ip: &str,
        login: Option<&str>,
        ev: &Evidence,
        rules: Rules,
    ) -> Diagnosis {
        match self {
            Audience::Staff => diagnose(at, ip, login, ev, rules),
            Audience::Public => diagnose(at, ip, login, &public_evidence(ev, ip, login), rules),
        }
    }
}

/// What a public surface — the SMTP reply, `/why` — may rest a refusal's words on (§6.3, the
/// rule is written out in docs/PUBLIC_SURFACES.md): facts about the client address `ip` that
/// asked. Unless that address's own history ties it to the sender's owner `login` (a mail check
/// or a failed login by that owner from `ip`), the owner's mail checks from other addresses,
/// failures elsewhere and suspension are left out, so a refusal for a real customer's sender
/// is diagnosed exactly as one for a made-up sender in a customer domain would be. A block of
/// `ip` itself stays: it is a fact about the address. Borrowed when nothing needs leaving out.
pub fn public_evidence<'a>(
    ev: &'a Evidence,
    ip: &str,
    login: Option<&str>,
) -> std::borrow::Cow<'a, Evidence> {
    use std::borrow::Cow;
    let Some(u) = login else {
        return Cow::Borrowed(ev);
    };
    let elsewhere = !ev.owner_logins.is_empty()
        || ev.suspension.is_some()
        || ev.failures.iter().any(|f| f.ip != ip);
    if !elsewhere {
        return Cow::Borrowed(ev);
    }
    let tied = ev
        .ip_logins
        .iter()
        .chain(&ev.owner_logins)
        .any(|s| s.ip == ip && s.login == u)
        || ev
            .failures
            .iter()
            .any(|f| f.ip == ip && f.login.as_deref() == Some(u));
    if tied {
        return Cow::Borrowed(ev);
    }
    Cow::Owned(Evidence {
        ip_logins: ev.ip_logins.clone(),
        owner_logins: Vec::new(),
        failures: ev.failures.iter().filter(|f| f.ip == ip).cloned().collect(),
        block: ev.block.clone(),
        suspension: None,
        logs_since: ev.logs_since,
    })
}

/// Applies the §6.2 rules, first match wins.
pub fn diagnose(
    at: Epoch,
    ip: &str,
    login: Option<&str>,
    ev: &Evidence,
    rules: Rules,
) -> Diagnosis {
    let t = at;
    let (w, l) = (rules.window, rules.lookback);
    let mut found = Found {
        logs_incomplete: ev.logs_since.is_none_or(|since| since > t - w),
        ..Found::default()
    };
    let done = |cause, found| Diagnosis {
        cause,
        at,
        ip: ip.to_string(),
        login: login.map(str::to_string),
        evidence: found,
    };

    if let Some(r) = ev.block.as_ref().or(ev.suspension.as_ref()) {
        found.restriction = Some(r.clone());
        found.logs_incomplete = false;
        return done(Cause::Suspended, found);
    }
    let latest =
        |spans: &mut dyn Iterator<Item = &LoginSpan>| spans.max_by_key(|s| s.latest_by(t)).cloned();
    let from_ip_recent = latest(
        &mut ev
            .ip_logins
            .iter()
            .filter(|s| s.ip == ip && s.overlaps(t - w, t)),
    );
    if let Some(s) = from_ip_recent {
        let when = s.latest_by(t);
        found.login_at = Some(when);
        found.login_ip = Some(s.ip);
        found.login_user = Some(s.login);
        found.expired_at = Some(when + w);
        found.logs_incomplete = false;
        return done(Cause::Authorized, found);
    }
    // The program sent first: a mail check from the address (by the owner, or by anyone when
    // the sender has none) began within a minute after the refusal.
    let next = ev
        .ip_logins
        .iter()
        .filter(|s| s.ip == ip && s.first > t && s.first <= t + SENT_BEFORE)
        .filter(|s| login.is_none_or(|u| s.login == u))
        .min_by_key(|s| s.first);
    if let Some(s) = next {
        found.login_at = Some(s.first);
        found.login_ip = Some(s.ip.clone());
        found.login_user = Some(s.login.clone());
        found.logs_incomplete = false;
        return done(Cause::SentBeforeReceiving, found);
    }
    if let Some(u) = login {
        let elsewhere = latest(
            &mut ev
                .owner_logins
                .iter()
                .filter(|s| s.login == u && s.ip != ip && s.overlaps(t - w, t)),
        );
        if let Some(s) = elsewhere {
            found.login_at = Some(s.latest_by(t));
            found.login_ip = Some(s.ip);
            found.login_user = Some(s.login);
            found.logs_incomplete = false;
            return done(Cause::IpChanged, found);
        }
    }
    let failure = ev
        .failures
        .iter()
        .filter(|f| f.at >= t - w && f.at <= t)
        .filter(|f| f.ip == ip || (login.is_some() && f.login.as_deref() == login))
        .max_by_key(|f| f.at);
    if let Some(f) = failure {
        found.failure_at = Some(f.at);
        found.failure_ip = Some(f.ip.clone());
        found.login_user = f.login.clone();
        found.logs_incomplete = false;
        return done(Cause::AuthFailed, found);
    }
    let expired = latest(
        &mut ev
            .ip_logins
            .iter()
            .filter(|s| s.ip == ip && s.overlaps(t - l, t - w - 1)),
    );
    if let Some(s) = expired {
        let when = s.latest_by(t - w - 1);
        found.login_at = Some(when);
        found.login_ip = Some(s.ip);
        found.login_user = Some(s.login);
        found.expired_at = Some(when + w);
        found.logs_incomplete = false;
        return done(Cause::Expired, found);
    }
    found.logs_incomplete = ev.logs_since.is_none_or(|since| since > t - l);
    if login.is_some() {
        return done(Cause::NeverChecked, found);
    }
    found.logs_incomplete = false;
    done(Cause::UnknownSender, found)
}

/// The state of a customer's current connection, before any rejection (§6.2, §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Authorized,
    Expired,
    NeverChecked,
    AuthFailed,
    Blocked,
    /// Mail was checked from the address, by a login that is suspended: it grants nothing.
    Suspended,
    /// No SMTP connection from this address was ever logged: its provider may block port 25.
    NoAttempt,
    /// With `relay.authority = "store"`: a successful mail check from the address within the
    /// window, but the ISP's relay store does not hold the address (its relay daemon missed
    /// the login): Postfix refuses, and the fault is the service's, not the customer's.
    NotInStore,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Authorized,
        State::Expired,
        State::NeverChecked,
        State::AuthFailed,
        State::Blocked,
        State::Suspended,
        State::NoAttempt,
        State::NotInStore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Authorized => "authorized",
            State::Expired => "expired",
            State::NeverChecked => "never_checked",
            State::AuthFailed => "auth_failed",
            State::Blocked => "blocked",
            State::Suspended => "suspended",
            State::NoAttempt => "no_attempt",
            State::NotInStore => "not_in_store",
        }
    }
}

/// What lets an authorized address send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// A mail check from the address (whose login is for staff and the customer, never for
    /// public surfaces: `ConnectionState::by_login`).
    MailCheck,
    /// A staff grant of the address.
    StaffGrant,
    /// The ISP's relay store holds the address (`relay.authority = "store"`).
    RelayStore,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConnectionState {
    pub state: State,
    /// Authorized until (authorized), or expired at (expired).
    pub until: Option<Epoch>,
    /// What the authorization rests on (authorized only): the longest-lasting of a mail check
    /// and a staff grant.
    pub by: Option<By>,
    /// The mail check it rests on.
    pub login_at: Option<Epoch>,
    pub failure_at: Option<Epoch>,
    pub restriction: Option<Restriction>,
    /// Whose mail check authorizes the address (or was refused for suspension): never shown
    /// on a public surface.
    #[serde(skip)]
    pub by_login: Option<String>,
}

/// What grants an address besides its mail checks, and what takes them away, at one moment:
/// the policy's rule (§6.1) reads the same.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grants<'a> {
    /// A staff grant of the address in force, until then.
    pub staff_until: Option<Epoch>,
    /// Logins suspended at that moment: their mail checks grant nothing.
    pub suspended: &'a [String],
    /// The address is in `relay.never_authorize`: its mail checks grant nothing.
    pub never_authorized: bool,
    /// With `relay.authority = "store"`: whether the ISP's relay store holds the address at
    /// that moment, which then replaces "a mail check within the window" as what grants it.
    /// `None`: relaydesk's own rule decides.
    pub relay_store: Option<bool>,
}

/// The state of address `ip` at `now`, by the rule the policy service applies (§6.1, the grant
/// index): blocked, else authorized by a staff grant or by a mail check from `ip` within the
/// window whose login is not suspended now (and `ip` not in `never_authorize`), the longer of
/// the two; else the §6.2 evidence read forward — a check by a suspended login, a failed check,
/// an expired one, none. `smtp_seen` says whether any SMTP attempt from `ip` was logged.
pub fn connection_state(
    now: Epoch,
    ip: &str,
    ev: &Evidence,
    grants: Grants<'_>,
    smtp_seen: bool,
    rules: Rules,
) -> ConnectionState {
    let w = rules.window;
    let mut out = ConnectionState {
        state: State::NeverChecked,
        until: None,
        by: None,
        login_at: None,
        failure_at: None,
        restriction: None,
        by_login: None,
    };
    if let Some(b) = &ev.block {
        out.state = State::Blocked;
        out.restriction = Some(b.clone());
        return out;
    }
    let suspended = |login: &str| grants.suspended.iter().any(|s| s == login);
    // The latest check from `ip` in [from, to] among the logins `keep` accepts.
    let latest = |from: Epoch, to: Epoch, keep: &dyn Fn(&LoginSpan) -> bool| {
        ev.ip_logins
            .iter()
            .filter(|s| s.ip == ip && s.overlaps(from, to) && keep(s))
            .map(|s| (s.latest_by(to), s))
            .max_by_key(|(t, _)| *t)
    };
    let by_staff = grants.staff_until.filter(|&u| u >= now);
    if let Some(held) = grants.relay_store {
        // The store Postfix obeys decides; a check within the window says whose login put the
        // address there, and a suspended login's address is refused by the policy service.
        let check = latest(now - w, now, &|s| !suspended(&s.login));
        let by_suspended = latest(now - w, now, &|s| suspended(&s.login));
        let refused_for_suspension = check.is_none() && by_suspended.is_some();
        if by_staff.is_some() || (held && !refused_for_suspension) {
            out.state = State::Authorized;
            out.by = Some(match held && !refused_for_suspension {
                true => By::RelayStore,
                false => By::StaffGrant,
            });
            // A staff grant beside the store's entry still says how long sending is sure to
            // work, as the grant index's verdict does.
            out.until = by_staff;
            if let Some((t, s)) = check {
                out.login_at = Some(t);
                out.by_login = Some(s.login.clone());
            }
            return out;
        }
        // Not held: the evidence below says why, as without the store, except that a good
        // check newer than any failure is one the store did not take (after suspension).
    }
    let granting = latest(now - w, now, &|s| {
        grants.relay_store.is_none() && !grants.never_authorized && !suspended(&s.login)
    });
    let by_check = granting.map(|(t, _)| t + w);
    if by_check.is_some() || by_staff.is_some() {
        out.state = State::Authorized;
        if by_staff > by_check {
            out.until = by_staff;
            out.by = Some(By::StaffGrant);
        } else {
            out.until = by_check;
            out.by = Some(By::MailCheck);
        }
        if let Some((t, s)) = granting {
            out.login_at = Some(t);
            out.by_login = Some(s.login.clone());
        }
        return out;
    }
    if let Some((t, s)) = latest(now - w, now, &|s| suspended(&s.login)) {
        out.state = State::Suspended;
        out.login_at = Some(t);
        out.by_login = Some(s.login.clone());
        return out;
    }
    let failure = ev
        .failures
        .iter()
        .filter(|f| f.ip == ip && f.at >= now - w && f.at <= now)
        .map(|f| f.at)
        .max();
    if grants.relay_store.is_some()
        && let Some((t, s)) = latest(now - w, now, &|s| !suspended(&s.login))
        && failure.is_none_or(|f| f < t)
    {
        out.state = State::NotInStore;
        out.login_at = Some(t);
        out.by_login = Some(s.login.clone());
        return out;
    }
    if let Some(at) = failure {
        out.state = State::AuthFailed;
        out.failure_at = Some(at);
        return out;
    }
    if let Some((at, s)) = latest(now - rules.lookback, now - w - 1, &|_| true) {
        out.state = State::Expired;
        out.login_at = Some(at);
        out.until = Some(at + w);
        out.by_login = Some(s.login.clone());
        return out;
    }
    if !smtp_seen {
        out.state = State::NoAttempt;
    }
    out
}

#[cfg(test)]
#[path = "diagnose_tests.rs"]
mod tests;
