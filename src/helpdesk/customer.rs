//! Everything the helpdesk sees about one customer login or one address, gathered in one place
//! for the staff pages (and the API when it wants the same): current state, one timeline newest
//! first, address history, and each relay rejection with its diagnosis from `explain`.

use serde::Serialize;

use crate::config::Config;
use crate::diagnose::Diagnosis;
use crate::domain::{ClientIp, Epoch};
use crate::explain;
use crate::store::alerts::Alert;
use crate::store::audit::Entry as AuditEntry;
use crate::store::history::{self, Failure, Session};
use crate::store::notes::{self, Note};
use crate::store::rejections::StoredRejection;
use crate::store::restrictions::{self, Kind, Restriction, StaffGrant};
use crate::store::timeline::{self, IpUse, Relay};
use crate::store::{self, Conn};

/// How far back the pages look.
pub const HISTORY: i64 = 30 * 86400;
/// Most rows of each kind a page shows.
pub const ROWS: i64 = 50;
/// Most rejections diagnosed for one page: each diagnosis is a few indexed queries.
pub const DIAGNOSED: i64 = 30;
/// Most sessions whose addresses are searched for accepted relays.
const RELAY_SESSIONS: usize = 20;

/// One thing that happened, for the timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Session(Session),
    Failure(Failure),
    Grant(StaffGrant),
    Relay(Relay),
    Rejection(Box<Diagnosed>),
    Action(AuditEntry),
    Note(Note),
}

impl Event {
    pub fn at(&self) -> Epoch {
        match self {
            Event::Session(s) => s.last_seen,
            Event::Failure(f) => f.at,
            Event::Grant(g) => g.created_at,
            Event::Relay(r) => r.minute,
            Event::Rejection(d) => d.rejection.at,
            Event::Action(a) => a.at,
            Event::Note(n) => n.created_at,
        }
    }
}

/// A relay rejection and why it happened.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosed {
    pub rejection: StoredRejection,
    pub diagnosis: Diagnosis,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    pub login: String,
    /// The sender addresses this login owns, by the §6.2 rule.
    pub senders: Vec<String>,
    /// The customer's state and each address's now, as every surface says it.
    pub state: crate::state::Customer,
    pub ips: Vec<IpUse>,
    /// Newest first.
    pub timeline: Vec<Event>,
    pub latest_rejection: Option<Diagnosed>,
}

/// The addresses `login` sends from: itself when it is an address, else login@domain for each
/// customer domain — kept only when the §6.2 owner of the address is this login.
pub async fn senders_of(
    conn: &mut Conn,
    config: &Config,
    login: &str,
) -> store::Result<Vec<String>> {
    let mut senders = Vec::new();
    for c in explain::candidate_senders(login, config) {
        if explain::owner_of(conn, &c, config).await?.as_deref() == Some(login) {
            senders.push(c);
        }
    }
    Ok(senders)
}

async fn diagnosed(
    conn: &mut Conn,
    config: &Config,
    rows: Vec<StoredRejection>,
) -> store::Result<Vec<Diagnosed>> {
    let since = store::ingest::logs_since(conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for rejection in rows {
        let diagnosis = explain::diagnose_rejection(conn, config, &rejection, since).await?;
        out.push(Diagnosed {
            rejection,
            diagnosis,
        });
    }
    Ok(out)
}

pub async fn customer(
    conn: &mut Conn,
    config: &Config,
    login: &str,
    now: Epoch,
) -> store::Result<Customer> {
    let since = now - HISTORY;
    let w = config.relay.window.0;
    let senders = senders_of(conn, config, login).await?;
    let sessions = history::sessions_for_login(conn, login, since, now, ROWS).await?;
    let failures = history::failures(conn, Some(login), None, since, now, ROWS).await?;
    let ips = timeline::ip_history(conn, login, since, ROWS).await?;
    let state = crate::state::customer(conn, config, login, now).await?;
    let mut grants = Vec::new();
    for ip in ips.iter().take(RELAY_SESSIONS) {
        grants.extend(timeline::grants_for_ip(conn, &ip.ip, since, ROWS).await?);
    }
    // Grants made on this customer's behalf, from addresses they never checked mail from.
    for g in restrictions::active_grants(conn, now).await? {
        if g.login.as_deref() == Some(login) && !grants.iter().any(|h| h.id == g.id) {
            grants.push(g);
        }
    }

    let mut relays = Vec::new();
    for s in sessions.iter().take(RELAY_SESSIONS) {
        for r in timeline::relays_from(conn, &s.ip, s.first_seen, s.last_seen + w, ROWS).await? {
            if !relays.contains(&r) {
                relays.push(r);
            }
        }
    }
    let rows = timeline::relay_rejections_by(conn, &senders, since, now, DIAGNOSED).await?;
    let rejections = diagnosed(conn, config, rows).await?;
    let latest_rejection = rejections.first().cloned();

    let mut events: Vec<Event> = Vec::new();
    events.extend(sessions.into_iter().map(Event::Session));
    events.extend(failures.into_iter().map(Event::Failure));
    events.extend(grants.into_iter().map(Event::Grant));
    events.extend(relays.into_iter().map(Event::Relay));
    events.extend(
        rejections
            .into_iter()
            .map(|d| Event::Rejection(Box::new(d))),
    );
    events.extend(
        timeline::actions_about(conn, login, ROWS)
            .await?
            .into_iter()
            .map(Event::Action),
    );
    events.extend(
        notes::for_login(conn, login, ROWS)
            .await?
            .into_iter()
            .map(Event::Note),
    );
    events.sort_by_key(|e| std::cmp::Reverse(e.at()));

    Ok(Customer {
        login: login.to_string(),
        senders,
        state,
        ips,
        timeline: events,
        latest_rejection,
    })
}

/// What the helpdesk sees about one address.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    pub ip: String,
    /// The moment asked about.
    pub at: Epoch,
    /// The address's state now, as every surface says it (`state::address`).
    pub state: crate::diagnose::ConnectionState,
    pub who: super::Who,
    /// Sessions from this address, newest first.
    pub sessions: Vec<Session>,
    pub failures: Vec<Failure>,
    pub rejections: Vec<Diagnosed>,
    pub relays: Vec<Relay>,
    pub alerts: Vec<Alert>,
    /// Blocks in force that cover this address.
    pub blocks: Vec<Restriction>,
    pub grants: Vec<StaffGrant>,
}

pub async fn address(
    conn: &mut Conn,
    config: &Config,
    ip: ClientIp,
    at: Epoch,
    now: Epoch,
) -> store::Result<Address> {
    let text = ip.to_string();
    let since = now - HISTORY;
    let who = super::who(conn, config, ip, at).await?;
    let state = crate::state::address(conn, config, ip, now).await?;
    let sessions = history::sessions_for_ip(conn, &text, since, now, ROWS).await?;
    let failures = history::failures(conn, None, Some(&text), since, now, ROWS).await?;
    let rows = timeline::relay_rejections_from(conn, &text, since, now, DIAGNOSED).await?;
    let rejections = diagnosed(conn, config, rows).await?;
    let relays = timeline::relays_from(conn, &text, since, now, ROWS).await?;
    let alerts = timeline::alerts_about(conn, "ip", &text, ROWS).await?;
    let blocks = restrictions::in_force(conn, Kind::Block, now)
        .await?
        .into_iter()
        .filter(|b| crate::domain::net_holds(&b.subject, ip))
        .collect();
    let grants = timeline::grants_for_ip(conn, &text, since, ROWS).await?;
    Ok(Address {
        ip: text,
        at,
        state,
        who,
        sessions,
        failures,
        rejections,
        relays,
        alerts,
        blocks,
        grants,
    })
}
