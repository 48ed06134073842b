//! One answer to "what is true now": may an address send, why (the §6.2/§7.1 state), until
//! when and by what; and for a customer, their account's state and each of their addresses'.
//! It follows the rule the policy service applies (§6.1, `grants::GrantIndex`: blocks, staff
//! grants, suspensions and `relay.never_authorize`, as in force at the moment asked), through
//! the one pure `diagnose::connection_state`. `/`, `/me`, the staff customer page, the API and
//! the tests all render what this module says; none of them works a state out on its own.

use serde::Serialize;

use crate::config::Config;
use crate::diagnose::{self, ConnectionState, Grants, State};
use crate::domain::{ClientIp, Epoch};
use crate::explain;
use crate::store::evidence::{self, ConnectionFacts};
use crate::store::history;
use crate::store::restrictions::{self, Kind, Restriction};
use crate::store::{self, Conn};

/// The state of `ip` at `now`, from the facts `evidence::for_connection` (or
/// `for_connection_with_refusals`) read at `now`.
pub fn of_address(
    config: &Config,
    ip: ClientIp,
    now: Epoch,
    facts: &ConnectionFacts,
) -> ConnectionState {
    let grants = Grants {
        staff_until: facts.staff_grant_until,
        suspended: &facts.suspended,
        never_authorized: config.relay.never_authorizes(ip.addr()),
        relay_store: (config.relay.authority == crate::config::Authority::Store)
            .then_some(facts.relay_store.is_some()),
    };
    diagnose::connection_state(
        now,
        &ip.to_string(),
        &facts.evidence,
        grants,
        facts.smtp_seen,
        explain::rules(config),
    )
}

/// The state of `ip` at `now`: one query.
pub async fn address(
    conn: &mut Conn,
    config: &Config,
    ip: ClientIp,
    now: Epoch,
) -> store::Result<ConnectionState> {
    let mut facts = evidence::for_connection(conn, ip, now, explain::rules(config)).await?;
    facts.with_relay_store(conn, config, ip, now).await?;
    Ok(of_address(config, ip, now, &facts))
}

/// One of a customer's addresses and its state now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Address {
    pub ip: String,
    pub state: ConnectionState,
}

/// The latest mail check of a customer, successful or not.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastCheck {
    pub at: Epoch,
    pub ip: String,
    pub service: String,
    pub ok: bool,
}

/// A customer's state now: their account's, and each address's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Customer {
    pub login: String,
    /// The account's state: `suspended` when the login is; `authorized` when any of their
    /// addresses may send; else what their own latest mail checks say (`auth_failed`,
    /// `expired`, `never_checked`), or the state of the address of their latest check when
    /// that address is blocked or its check grants nothing.
    pub state: State,
    /// Authorized until (the longest of their addresses), or expired at.
    pub until: Option<Epoch>,
    pub suspension: Option<Restriction>,
    /// Addresses they checked mail from within the lookback, and addresses granted by staff
    /// on their behalf, each with its state; the longest-authorized first.
    pub addresses: Vec<Address>,
    pub last_check: Option<LastCheck>,
}

/// Most addresses a customer's state looks at: their latest.
pub const ADDRESSES: usize = 10;

/// The state of customer `login` (canonical) at `now`.
pub async fn customer(
    conn: &mut Conn,
    config: &Config,
    login: &str,
    now: Epoch,
) -> store::Result<Customer> {
    let rules = explain::rules(config);
    let sessions = history::sessions_for_login(conn, login, now - rules.lookback, now, 200).await?;
    let failures = history::failures(conn, Some(login), None, now - rules.window, now, 1).await?;
    let suspension = restrictions::in_force(conn, Kind::Suspension, now)
        .await?
        .into_iter()
        .find(|s| s.subject == login);
    let mut ips: Vec<String> = Vec::new();
    for s in &sessions {
        if !ips.contains(&s.ip) && ips.len() < ADDRESSES {
            ips.push(s.ip.clone());
        }
    }
    for g in restrictions::active_grants(conn, now).await? {
        if g.login.as_deref() == Some(login) && !ips.contains(&g.ip) && ips.len() < 2 * ADDRESSES {
            ips.push(g.ip);
        }
    }
    let mut addresses = Vec::with_capacity(ips.len());
    for ip in ips {
        let Ok(addr) = ip.parse::<ClientIp>() else {
            continue;
        };
        let state = address(conn, config, addr, now).await?;
        addresses.push(Address { ip, state });
    }
    addresses.sort_by_key(|a| {
        (
            a.state.state != State::Authorized,
            std::cmp::Reverse(a.state.until),
        )
    });
    let last_ok = sessions.first();
    let last_failure = failures.first();
    let last_check = match (last_ok, last_failure) {
        (Some(s), Some(f)) if f.at > s.last_seen => Some(failed(f)),
        (Some(s), _) => Some(LastCheck {
            at: s.last_seen,
            ip: s.ip.clone(),
            service: s.service.clone(),
            ok: true,
        }),
        (None, Some(f)) => Some(failed(f)),
        (None, None) => None,
    };
    // Authorized while any address is; until the latest of their ends (none while the relay
    // store, which sets no end, holds one).
    let authorized: Vec<Option<Epoch>> = addresses
        .iter()
        .filter(|a| a.state.state == State::Authorized)
        .map(|a| a.state.until)
        .collect();
    let (state, until) = if suspension.is_some() {
        (State::Suspended, None)
    } else if !authorized.is_empty() {
        let until = match authorized.contains(&None) {
            true => None,
            false => authorized.into_iter().flatten().max(),
        };
        (State::Authorized, until)
    } else {
        match (&last_check, last_ok) {
            (Some(c), _) if !c.ok => (State::AuthFailed, None),
            (_, Some(s)) if s.last_seen >= now - rules.window => {
                // Checked within the window and still not authorized: what its address says.
                let there = addresses.iter().find(|a| a.ip == s.ip);
                (
                    there.map_or(State::NeverChecked, |a| a.state.state),
                    there.and_then(|a| a.state.until),
                )
            }
            (_, Some(s)) => (State::Expired, Some(s.last_seen + rules.window)),
            _ => (State::NeverChecked, None),
        }
    };
    Ok(Customer {
        login: login.to_string(),
        state,
        until,
        suspension,
        addresses,
        last_check,
    })
}

fn failed(f: &history::Failure) -> LastCheck {
    LastCheck {
        at: f.at,
        ip: f.ip.clone(),
        service: f.service.clone(),
        ok: false,
    }
}
