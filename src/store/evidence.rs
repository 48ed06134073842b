//! The evidence a diagnosis rests on (§6.2), gathered for one rejection: logins from the address
//! and by the sender's owner, failed logins, and blocks or suspensions in force.

use super::rejections::StoredRejection;
use super::restrictions::{self, Kind};
use super::{Conn, Result, Value};
use crate::diagnose::{Evidence, FailureAt, LoginSpan, Restriction, Rules};
use crate::domain::{ClientIp, Epoch};

/// How many sessions or failures one diagnosis looks at, at most: the newest are the ones that
/// decide, and a busy shared address must not make a diagnosis slow.
const LIMIT: i64 = 200;

/// Gathers the evidence around a rejection at `t` from `ip` whose sender is owned by `owner`.
/// `logs_since` is when the store's logs begin (`store::ingest::logs_since`).
pub async fn gather(
    conn: &mut Conn,
    t: Epoch,
    ip: ClientIp,
    owner: Option<&str>,
    rules: Rules,
    logs_since: Option<Epoch>,
) -> Result<Evidence> {
    let ip_text = ip.to_string();
    let ip_logins = spans(
        conn,
        "select login, ip, first_seen as first, last_seen as last from sessions
         where ip = $1 and last_seen >= $2 and first_seen <= $3
         order by last_seen desc limit $4",
        &[
            ip_text.as_str().into(),
            (t - rules.lookback).into(),
            // A check just after the refusal: the program sent before it received.
            (t + crate::diagnose::SENT_BEFORE).into(),
            LIMIT.into(),
        ],
    )
    .await?;
    let owner_logins = match owner {
        Some(u) => {
            spans(
                conn,
                "select login, ip, first_seen as first, last_seen as last from sessions
             where login = $1 and last_seen >= $2 and first_seen <= $3
             order by last_seen desc limit $4",
                &[u.into(), (t - rules.window).into(), t.into(), LIMIT.into()],
            )
            .await?
        }
        None => Vec::new(),
    };
    let failures: Vec<(Epoch, Option<String>, String)> = conn
        .fetch_all(
            "select at, login, ip from login_failures
             where (ip = $1 or login = $2) and at >= $3 and at <= $4
             order by at desc limit $5",
            &[
                ip_text.as_str().into(),
                owner.into(),
                (t - rules.window).into(),
                t.into(),
                LIMIT.into(),
            ],
        )
        .await?;
    let failures = failures
        .into_iter()
        .map(|(at, login, ip)| FailureAt { at, login, ip })
        .collect();
    let block = restrictions::in_force(conn, Kind::Block, t)
        .await?
        .into_iter()
        .find(|b| crate::domain::net_holds(&b.subject, ip))
        .map(|b| Restriction {
            subject: b.subject,
            reason: b.reason,
            since: b.created_at,
        });
    let suspension = match owner {
        Some(u) => restrictions::in_force(conn, Kind::Suspension, t)
            .await?
            .into_iter()
            .find(|s| s.subject == u)
            .map(|s| Restriction {
                subject: s.subject,
                reason: s.reason,
                since: s.created_at,
            }),
        None => None,
    };
    Ok(Evidence {
        ip_logins,
        owner_logins,
        failures,
        block,
        suspension,
        logs_since,
    })
}

async fn spans(conn: &mut Conn, sql: &str, params: &[Value]) -> Result<Vec<LoginSpan>> {
    let rows: Vec<(String, String, Epoch, Epoch)> = conn.fetch_all(sql, params).await?;
    Ok(rows
        .into_iter()
        .map(|(login, ip, first, last)| LoginSpan {
            login,
            ip,
            first,
            last,
        })
        .collect())
}

/// The imported account list's answer for `address`: None when no list is configured (the
/// table is empty), Some(None) when the address is not in it.
pub async fn account_owner(conn: &mut Conn, address: &str) -> Result<Option<Option<String>>> {
    if !conn.exists("select 1 from accounts limit 1", &[]).await? {
        return Ok(None);
    }
    let row: Option<(String,)> = conn
        .fetch_optional(
            "select login from accounts where address = $1",
            &[address.to_ascii_lowercase().into()],
        )
        .await?;
    Ok(Some(row.map(|(login,)| login)))
}

/// What the store knows about address `ip` now, for the customer's connection page.
pub struct ConnectionFacts {
    pub evidence: Evidence,
    pub staff_grant_until: Option<Epoch>,
    /// Logins with a mail check from the address within the window that are suspended now:
    /// those checks grant nothing (§6.1).
    pub suspended: Vec<String>,
    pub smtp_seen: bool,
    /// The newest relay refusals of sends from the address (newest first), each with the
    /// evidence around it and its sender's owner, ready for `diagnose::diagnose`.
    pub recent: Vec<RecentRefusal>,
    /// The ISP's relay store's entry for the address at that moment, read only under
    /// `relay.authority = "store"` (`with_relay_store`).
    pub relay_store: Option<super::relay_store::Held>,
}

impl ConnectionFacts {
    /// Adds what the ISP's relay store held for `ip` at `now`, when it is the authority.
    pub async fn with_relay_store(
        &mut self,
        conn: &mut Conn,
        config: &crate::config::Config,
        ip: ClientIp,
        now: Epoch,
    ) -> Result<()> {
        if config.relay.authority == crate::config::Authority::Store {
            self.relay_store = super::relay_store::held_at(conn, &ip.to_string(), now).await?;
        }
        Ok(())
    }
}

pub struct RecentRefusal {
    pub rejection: StoredRejection,
    pub owner: Option<String>,
    pub evidence: Evidence,
}

/// The connection's facts (no refusals): one query.
pub async fn for_connection(
    conn: &mut Conn,
    ip: ClientIp,
    now: Epoch,
    rules: Rules,
) -> Result<ConnectionFacts> {
    let no_owners = crate::domain::LoginRule::default();
    let nothing = Recent {
        since: now,
        count: 0,
        logins: &no_owners,
    };
    for_connection_with_refusals(conn, ip, now, rules, nothing).await
}

/// Which refusals `for_connection_with_refusals` brings along.
pub struct Recent<'a> {
    /// From this time to now.
    pub since: Epoch,
    /// At most this many, the newest.
    pub count: i64,
    /// How senders' owners are named (`relay.customer_domains`, `relay.login_case`).
    pub logins: &'a crate::domain::LoginRule,
}

/// The connection's facts and its recent refusals with their evidence, in one query (two when
/// a refused sender is a customer's): the busiest page there is asks the store once, not once
/// per table and refusal. The rows read are a superset of what each diagnosis needs; the
/// evidence for each moment is cut from them in memory by the same conditions `gather` puts
/// to the store.
pub async fn for_connection_with_refusals(
    conn: &mut Conn,
    ip: ClientIp,
    now: Epoch,
    rules: Rules,
    recent: Recent<'_>,
) -> Result<ConnectionFacts> {
    let text = ip.to_string();
    let from = recent.since.min(now);
    let rows: Vec<Fact> = conn
        .fetch_all(
            CONNECTION_FACTS,
            &[
                text.as_str().into(),
                now.into(),
                from.into(),
                rules.lookback.into(),
                rules.window.into(),
                SUPERSET.into(),
                recent.count.into(),
            ],
        )
        .await?;
    let mut n = Neighbourhood::default();
    let (mut staff_grant_until, mut smtp_seen, mut logs_since) = (None, false, None);
    let mut accounts_kept = false;
    let mut listed: Vec<(String, String)> = Vec::new();
    let mut refusals: Vec<StoredRejection> = Vec::new();
    let mut suspended: Vec<String> = Vec::new();
    for f in rows {
        match f.kind.as_str() {
            "grant" => staff_grant_until = f.x,
            "smtp" => smtp_seen = f.x == Some(1),
            "logs" => logs_since = f.x,
            "suspended" => suspended.extend(f.a),
            "accounts" => accounts_kept = f.x == Some(1),
            "account" => listed.extend(f.a.zip(f.b)),
            "rejection" => refusals.push(StoredRejection {
                id: f.x.unwrap_or_default(),
                at: f.y.unwrap_or_default(),
                kind: "relay".into(),
                ip: text.clone(),
                sender: f.a.unwrap_or_default(),
                rcpt: f.b.unwrap_or_default(),
                reply: f.c.unwrap_or_default(),
            }),
            _ => n.add(f),
        }
    }
    // Owners by the §6.2 rule (`explain::owner_of`), from what the query brought.
    let owners: Vec<Option<String>> = refusals
        .iter()
        .map(|r| {
            let lower = r.sender.to_ascii_lowercase();
            let accounts = accounts_kept.then(|| {
                listed
                    .iter()
                    .find(|(address, _)| *address == lower)
                    .map(|(_, login)| login.clone())
            });
            crate::diagnose::owner(&r.sender, recent.logins, accounts)
        })
        .collect();
    let mut wanted: Vec<&str> = owners.iter().flatten().map(String::as_str).collect();
    wanted.sort_unstable();
    wanted.dedup();
    if !wanted.is_empty() {
        let mut sql = String::from(OWNER_FACTS);
        let mut params: Vec<Value> = vec![
            text.as_str().into(),
            now.into(),
            from.into(),
            rules.window.into(),
            SUPERSET.into(),
        ];
        let list = (0..wanted.len())
            .map(|i| format!("${}", params.len() + 1 + i))
            .collect::<Vec<_>>()
            .join(", ");
        params.extend(wanted.iter().map(|&o| Value::from(o)));
        sql = sql.replace("{owners}", &list);
        let rows: Vec<Fact> = conn.fetch_all(&sql, &params).await?;
        for f in rows {
            n.add(f);
        }
    }
    let evidence = n.at(now, &text, None, rules, None);
    let recent = refusals
        .into_iter()
        .zip(owners)
        .map(|(rejection, owner)| RecentRefusal {
            evidence: n.at(rejection.at, &text, owner.as_deref(), rules, logs_since),
            rejection,
            owner,
        })
        .collect();
    Ok(ConnectionFacts {
        evidence,
        staff_grant_until,
        suspended,
        smtp_seen,
        recent,
        relay_store: None,
    })
}

/// Rows of the superset at most, per kind: a busy shared address (a carrier's NAT) must not
/// make the page slow.
const SUPERSET: i64 = 1000;

/// One row of the connection query: what it is, and up to three texts and three numbers.
#[derive(sqlx::FromRow)]
struct Fact {
    kind: String,
    a: Option<String>,
    b: Option<String>,
    c: Option<String>,
    x: Option<i64>,
    y: Option<i64>,
    z: Option<i64>,
}

/// $1 ip, $2 now, $3 from, $4 lookback, $5 window, $6 superset limit, $7 refusals. Every
/// column is cast: PostgreSQL types a union's columns from its first branches.
const CONNECTION_FACTS: &str = "
with recent as (
    select id, at, sender, rcpt, reply from rejections
    where kind = 'relay' and ip = $1 and at >= $3 and at <= $2
    order by at desc, id desc limit $7
)
select cast('session' as text) as kind, login as a, ip as b, cast(null as text) as c,
       first_seen as x, last_seen as y, cast(null as bigint) as z
from (select login, ip, first_seen, last_seen from sessions
      where ip = $1 and last_seen >= $3 - $4 and first_seen <= $2
      order by last_seen desc limit $6) s
union all
select 'failure', login, ip, null, at, null, null
from (select login, ip, at from login_failures
      where ip = $1 and at >= $3 - $5 and at <= $2
      order by at desc limit $6) f
union all
select 'block', network, reason, null, created_at, until, lifted_at from blocks
where created_at <= $2 and (lifted_at is null or lifted_at > $3) and (until is null or until > $3)
union all
select 'grant', null, null, null,
       (select max(expires_at) from grants
        where ip = $1 and expires_at >= $2 and revoked_at is null), null, null
union all
select 'suspended', login, null, null, null, null, null from suspensions
where login in (select login from sessions where ip = $1 and last_seen >= $2 - $5 and first_seen <= $2)
  and created_at <= $2 and (lifted_at is null or lifted_at > $2) and (until is null or until > $2)
union all
select 'smtp', null, null, null,
       case when exists (select 1 from rejections where ip = $1)
              or exists (select 1 from relays where ip = $1)
              or exists (select 1 from policy_decisions where ip = $1)
            then cast(1 as bigint) else cast(0 as bigint) end, null, null
union all
select 'logs', null, null, null, (select min(first_event_at) from sources), null, null
union all
select 'accounts', null, null, null,
       case when exists (select 1 from accounts) then cast(1 as bigint) else cast(0 as bigint) end,
       null, null
union all
select 'account', address, login, null, null, null, null from accounts
where address in (select lower(sender) from recent)
union all
select 'rejection', sender, rcpt, reply, id, at, null from recent";

/// The refused senders' owners ({owners}): their sessions from any address, their failures
/// from other addresses (those from this one came with the first query), their suspensions.
/// $1 ip, $2 now, $3 from, $4 window, $5 superset limit.
const OWNER_FACTS: &str = "
select cast('session' as text) as kind, login as a, ip as b, cast(null as text) as c,
       first_seen as x, last_seen as y, cast(null as bigint) as z
from (select login, ip, first_seen, last_seen from sessions
      where login in ({owners}) and last_seen >= $3 - $4 and first_seen <= $2
      order by last_seen desc limit $5) s
union all
select 'failure', login, ip, null, at, null, null
from (select login, ip, at from login_failures
      where login in ({owners}) and ip <> $1 and at >= $3 - $4 and at <= $2
      order by at desc limit $5) f
union all
select 'suspension', login, reason, null, created_at, until, lifted_at from suspensions
where login in ({owners}) and created_at <= $2
  and (lifted_at is null or lifted_at > $3) and (until is null or until > $3)";

/// The rows around one address over a period, from which the evidence for any moment in it
/// is cut.
#[derive(Default)]
struct Neighbourhood {
    sessions: Vec<LoginSpan>,
    failures: Vec<FailureAt>,
    blocks: Vec<Held>,
    suspensions: Vec<Held>,
}

/// A block or suspension with its life: in force from `created` until lifted or `until`.
struct Held {
    subject: String,
    reason: String,
    created: Epoch,
    until: Option<Epoch>,
    lifted: Option<Epoch>,
}

impl Held {
    fn in_force(&self, t: Epoch) -> bool {
        self.created <= t && self.lifted.is_none_or(|l| l > t) && self.until.is_none_or(|u| u > t)
    }

    fn restriction(&self) -> Restriction {
        Restriction {
            subject: self.subject.clone(),
            reason: self.reason.clone(),
            since: self.created,
        }
    }
}

impl Neighbourhood {
    fn add(&mut self, f: Fact) {
        if f.kind == "failure" {
            self.failures.push(FailureAt {
                at: f.x.unwrap_or_default(),
                login: f.a,
                ip: f.b.unwrap_or_default(),
            });
            return;
        }
        let (a, b) = (f.a.unwrap_or_default(), f.b.unwrap_or_default());
        let held = |subject, reason| Held {
            subject,
            reason,
            created: f.x.unwrap_or_default(),
            until: f.y,
            lifted: f.z,
        };
        match f.kind.as_str() {
            "session" => self.sessions.push(LoginSpan {
                login: a,
                ip: b,
                first: f.x.unwrap_or_default(),
                last: f.y.unwrap_or_default(),
            }),
            "block" => self.blocks.push(held(a, b)),
            "suspension" => self.suspensions.push(held(a, b)),
            _ => {}
        }
    }

    /// The evidence `gather` would read for a rejection at `t` from `ip` with owner `owner`.
    fn at(
        &self,
        t: Epoch,
        ip: &str,
        owner: Option<&str>,
        rules: Rules,
        logs_since: Option<Epoch>,
    ) -> Evidence {
        let newest = |mut v: Vec<LoginSpan>| {
            v.sort_by_key(|s| std::cmp::Reverse(s.last));
            v.truncate(LIMIT as usize);
            v
        };
        let ip_logins = newest(
            self.sessions
                .iter()
                .filter(|s| {
                    s.ip == ip
                        && s.last >= t - rules.lookback
                        && s.first <= t + crate::diagnose::SENT_BEFORE
                })
                .cloned()
                .collect(),
        );
        let owner_logins = match owner {
            Some(o) => newest(
                self.sessions
                    .iter()
                    .filter(|s| s.login == o && s.last >= t - rules.window && s.first <= t)
                    .cloned()
                    .collect(),
            ),
            None => Vec::new(),
        };
        let mut failures: Vec<FailureAt> = self
            .failures
            .iter()
            .filter(|f| {
                (f.ip == ip || (owner.is_some() && f.login.as_deref() == owner))
                    && f.at >= t - rules.window
                    && f.at <= t
            })
            .cloned()
            .collect();
        failures.sort_by_key(|f| std::cmp::Reverse(f.at));
        failures.truncate(LIMIT as usize);
        let addr: Option<ClientIp> = ip.parse().ok();
        let mut blocks: Vec<&Held> = self.blocks.iter().filter(|b| b.in_force(t)).collect();
        blocks.sort_by_key(|b| b.created);
        let block = blocks
            .into_iter()
            .find(|b| addr.is_some_and(|a| crate::domain::net_holds(&b.subject, a)))
            .map(Held::restriction);
        let suspension = owner.and_then(|o| {
            self.suspensions
                .iter()
                .filter(|s| s.subject == o && s.in_force(t))
                .min_by_key(|s| s.created)
                .map(Held::restriction)
        });
        Evidence {
            ip_logins,
            owner_logins,
            failures,
            block,
            suspension,
            logs_since,
        }
    }
}
