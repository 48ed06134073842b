//! Writing what the parsers found: one transaction per batch holds the events and the source
//! position (and correlation state) that produced them, so a crash loses or repeats nothing.

use std::collections::HashMap;

use super::changes::{self, Change};
use super::{Conn, Result, Value};
use crate::domain::{Epoch, Event, is_carrier_address};

/// How far one file of a source has been read. A file is named by its fingerprint: the hash
/// of its first `fp_len` bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FilePos {
    pub fp_hash: i64,
    pub fp_len: i64,
    pub pos: i64,
    pub done: bool,
}

/// A file position to commit. `previous` is the committed position the batch was read from
/// (None for a file not read before); the commit only succeeds if the store still holds exactly
/// that, so a batch read twice — say, by a process killed with `kill -9` whose last transaction
/// commits late, and its successor — is stored once and the other commit fails. The fingerprint
/// may grow between the two (it covers more bytes as a young file grows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileUpdate {
    pub previous: Option<FilePos>,
    pub file: FilePos,
}

/// Counters for one committed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LineCounts {
    pub lines: i64,
    pub events: i64,
    pub skipped: i64,
    pub malformed: i64,
}

/// One batch to commit for source `name`.
pub struct Commit<'a> {
    pub source: &'a str,
    /// The parser's correlation state after this batch.
    pub state: &'a str,
    pub counts: LineCounts,
    /// The file the batch was read from, and how far.
    pub file: Option<FileUpdate>,
    pub events: &'a [Event],
    pub now: Epoch,
}

/// (login, ip, service): what a session is of.
type SessionKey = (String, String, &'static str);

/// The latest session per (login, ip, service) that this writer knows, so consecutive batches
/// coalesce logins without asking the database. Clear it when a commit fails.
#[derive(Debug, Default)]
pub struct OpenSessions {
    map: HashMap<SessionKey, Option<(Epoch, Epoch)>>,
}

impl OpenSessions {
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Forgets sessions that ended long before `now`, to bound memory.
    fn prune(&mut self, now: Epoch, window: i64) {
        if self.map.len() > 200_000 {
            self.map
                .retain(|_, v| v.is_some_and(|(_, last)| last >= now - window));
        }
    }
}

/// Lines from which a batch is written with `store::bulk_write`'s large page cache.
const BULK_LINES: i64 = 10_000;

/// Commits one batch atomically. `window` is W: logins further apart start a new session.
pub async fn commit(
    conn: &mut Conn,
    window: i64,
    open: &mut OpenSessions,
    batch: &Commit<'_>,
) -> Result<()> {
    // A backlog's batch walks indexes all over the file: it gets the large page cache. A live
    // follower's few lines do not, nor the two statements that set it and take it back.
    let result = if batch.counts.lines >= BULK_LINES {
        super::bulk_write(conn, async |c| write_all(c, window, open, batch).await).await
    } else {
        write_all(conn, window, open, batch).await
    };
    match &result {
        Ok(()) => open.prune(batch.now, window),
        Err(_) => open.clear(),
    }
    result
}

async fn write_all(
    conn: &mut Conn,
    window: i64,
    open: &mut OpenSessions,
    batch: &Commit<'_>,
) -> Result<()> {
    let mut tx = conn.begin().await?;
    write_sessions(&mut tx, window, open, batch.events).await?;
    write_failures(&mut tx, batch.events).await?;
    write_rejections(&mut tx, batch.events).await?;
    write_relays(&mut tx, batch.events).await?;
    write_activity(&mut tx, batch.events).await?;
    write_login_relays(&mut tx, window, batch.events).await?;
    write_source(&mut tx, batch).await?;
    if batch
        .events
        .iter()
        .any(|e| matches!(e, Event::Login { .. }))
    {
        // Other nodes' grant indexes learn of these logins at commit.
        changes::notify(&mut tx, Change::Authorization).await?;
    }
    tx.commit().await
}

async fn write_sessions(
    tx: &mut Conn,
    window: i64,
    open: &mut OpenSessions,
    events: &[Event],
) -> Result<()> {
    let mut logins: HashMap<SessionKey, Vec<Epoch>> = HashMap::new();
    for e in events {
        if let Event::Login {
            at,
            service,
            user,
            ip,
        } = e
        {
            logins
                .entry((user.clone(), ip.to_string(), service.as_str()))
                .or_default()
                .push(*at);
        }
    }
    let unknown: Vec<&SessionKey> = logins
        .keys()
        .filter(|k| !open.map.contains_key(*k))
        .collect();
    let stored = latest_sessions(tx, &unknown).await?;
    let mut rows = Vec::new();
    for (key, mut times) in logins {
        times.sort_unstable();
        let mut current = match open.map.get(&key) {
            Some(known) => *known,
            None => stored.get(&key).copied(),
        };
        let mut count = 0i64;
        for at in times {
            match current {
                Some((first, last)) if at - last <= window && at >= first - window => {
                    current = Some((first, last.max(at)));
                    count += 1;
                }
                _ => {
                    if let Some((first, last)) = current.filter(|_| count > 0) {
                        rows.push(session_row(&key, first, last, count));
                    }
                    current = Some((at, at));
                    count = 1;
                }
            }
        }
        if let Some((first, last)) = current.filter(|_| count > 0) {
            rows.push(session_row(&key, first, last, count));
        }
        open.map.insert(key, current);
    }
    tx.insert_many(
        "sessions",
        &[
            "login",
            "ip",
            "service",
            "first_seen",
            "last_seen",
            "logins",
        ],
        &rows,
        "on conflict (login, ip, service, first_seen) do update set
             last_seen = case when excluded.last_seen > sessions.last_seen
                              then excluded.last_seen else sessions.last_seen end,
             logins = sessions.logins + excluded.logins",
    )
    .await
}

/// The latest stored session of each key, in a few statements however many keys there are.
async fn latest_sessions(
    tx: &mut Conn,
    keys: &[&SessionKey],
) -> Result<HashMap<SessionKey, (Epoch, Epoch)>> {
    let mut found = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(1000) {
        let mut params = Vec::with_capacity(chunk.len() * 3);
        let mut values = String::new();
        for (login, ip, service) in chunk {
            let n = params.len();
            if n > 0 {
                values.push_str(", ");
            }
            values.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
            params.extend([login.into(), ip.into(), (*service).into()]);
        }
        // Sessions of one key never overlap, so the latest is the one that began last: a
        // seek on the primary key (login, ip, service, first_seen) per key.
        let sql = format!(
            "with k (login, ip, service) as (values {values})
             select s.login, s.ip, s.service, s.first_seen, s.last_seen
             from k join sessions s
               on s.login = k.login and s.ip = k.ip and s.service = k.service
              and s.first_seen = (select max(m.first_seen) from sessions m
                                  where m.login = k.login and m.ip = k.ip and m.service = k.service)"
        );
        let rows: Vec<(String, String, String, Epoch, Epoch)> = tx.fetch_all(&sql, &params).await?;
        for (login, ip, service, first, last) in rows {
            if let Some(key) = chunk
                .iter()
                .find(|k| k.0 == login && k.1 == ip && k.2 == service)
            {
                found.insert((*key).clone(), (first, last));
            }
        }
    }
    Ok(found)
}

fn session_row(
    (login, ip, service): &SessionKey,
    first: Epoch,
    last: Epoch,
    count: i64,
) -> Vec<Value> {
    vec![
        login.into(),
        ip.into(),
        (*service).into(),
        first.into(),
        last.into(),
        count.into(),
    ]
}

async fn write_failures(tx: &mut Conn, events: &[Event]) -> Result<()> {
    let rows: Vec<Vec<Value>> = events
        .iter()
        .filter_map(|e| match e {
            Event::LoginFailed {
                at,
                service,
                user,
                ip,
                reason,
            } => Some(vec![
                (*at).into(),
                user.as_deref().into(),
                ip.to_string().into(),
                service.as_str().into(),
                reason.as_str().into(),
            ]),
            _ => None,
        })
        .collect();
    tx.insert_many(
        "login_failures",
        &["at", "login", "ip", "service", "reason"],
        &rows,
        "",
    )
    .await
}

async fn write_rejections(tx: &mut Conn, events: &[Event]) -> Result<()> {
    let row = |at: Epoch, kind: &str, ip: String, sender: &str, rcpt: &str, reply: &str| {
        vec![
            at.into(),
            kind.into(),
            ip.into(),
            sender.into(),
            rcpt.into(),
            reply.into(),
        ]
    };
    let rows: Vec<Vec<Value>> = events
        .iter()
        .filter_map(|e| match e {
            Event::RelayRejected {
                at,
                ip,
                sender,
                rcpt,
                reply,
            } => Some(row(*at, "relay", ip.to_string(), sender, rcpt, reply)),
            Event::Rejected {
                at,
                ip,
                sender,
                rcpt,
                reply,
            } => Some(row(*at, "other", ip.to_string(), sender, rcpt, reply)),
            Event::SmtpAuthFailed { at, ip, user } => Some(row(
                *at,
                "smtp_auth",
                ip.to_string(),
                user.as_deref().unwrap_or(""),
                "",
                "SASL authentication failed",
            )),
            _ => None,
        })
        .collect();
    tx.insert_many(
        "rejections",
        &["at", "kind", "ip", "sender", "rcpt", "reply"],
        &rows,
        "",
    )
    .await
}

async fn write_relays(tx: &mut Conn, events: &[Event]) -> Result<()> {
    // (minute, ip, sender) → (count, carrier, sample recipient)
    let mut agg: HashMap<(Epoch, String, &str), (i64, i64, &str)> = HashMap::new();
    for e in events {
        if let Event::Relayed {
            at,
            ip,
            sender,
            rcpt,
            ..
        } = e
        {
            let entry = agg
                .entry((at - at.rem_euclid(60), ip.to_string(), sender))
                .or_insert((0, 0, rcpt));
            entry.0 += 1;
            entry.1 += i64::from(is_carrier_address(rcpt));
        }
    }
    let rows: Vec<Vec<Value>> = agg
        .into_iter()
        .map(|((minute, ip, sender), (count, carrier, sample))| {
            vec![
                minute.into(),
                ip.into(),
                sender.into(),
                count.into(),
                carrier.into(),
                sample.into(),
            ]
        })
        .collect();
    tx.insert_many(
        "relays",
        &["minute", "ip", "sender", "count", "carrier", "sample_rcpt"],
        &rows,
        "on conflict (minute, ip, sender) do update set
             count = relays.count + excluded.count, carrier = relays.carrier + excluded.carrier",
    )
    .await
}

/// What each event counts as in `activity` (the one definition of the counts every page shows).
fn activity_kind(e: &Event) -> Option<&'static str> {
    match e {
        Event::Login { .. } => Some("mail_check"),
        Event::LoginFailed { .. } => Some("login_failed"),
        Event::RelayRejected { .. } => Some("relay_refused"),
        Event::Relayed { .. } => Some("relay_accepted"),
        _ => None,
    }
}

/// Adds the batch's events to the per-minute counts, in the batch's transaction.
async fn write_activity(tx: &mut Conn, events: &[Event]) -> Result<()> {
    let mut agg: HashMap<(Epoch, &'static str), i64> = HashMap::new();
    for e in events {
        if let Some(kind) = activity_kind(e) {
            let at = e.at();
            *agg.entry((at - at.rem_euclid(60), kind)).or_default() += 1;
        }
    }
    if agg.is_empty() {
        return Ok(());
    }
    // A batch spans a few minutes: a handful of rows, written in one statement (one round
    // trip; COPY through a temporary table costs more than it saves at this size).
    let mut sql = String::from("insert into activity (minute, kind, count) values ");
    let mut params: Vec<Value> = Vec::with_capacity(agg.len() * 3);
    for (i, ((minute, kind), count)) in agg.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let n = i * 3;
        sql.push_str(&format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
        params.extend([minute.into(), kind.into(), count.into()]);
    }
    sql.push_str(
        " on conflict (minute, kind) do update set count = activity.count + excluded.count",
    );
    tx.execute(&sql, &params).await?;
    Ok(())
}

/// The lengths of the address lists `write_login_relays` asks sessions for.
const IN_LIST: [usize; 4] = [8, 32, 128, 512];

/// How a relay was authorized, as `login_relays.method` names it.
pub const POP_BEFORE_SMTP: &str = "pop_before_smtp";
pub const SMTP_AUTH: &str = "smtp_auth";

/// Accepted relays per customer login and method (`login_relays`), counted at delivery: by SMTP
/// AUTH when the client had authenticated (its `sasl_username`); else by POP before SMTP for the
/// login whose mail check from the client's address held the grant when smtpd accepted the
/// message (t = `queued_at`) — a session from that address with a login in [t − W, t] (its
/// first login at or before t, its last at or after t − W), the latest if several. A relay no
/// session explains (mynetworks, a staff grant, a mail check in a source not read yet) is
/// nobody's. Sessions of this batch are already written.
async fn write_login_relays(tx: &mut Conn, window: i64, events: &[Event]) -> Result<()> {
    let relays: Vec<(Epoch, Epoch, String, Option<&str>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Relayed {
                at,
                queued_at,
                ip,
                sasl_user,
                ..
            } => Some((*at, *queued_at, ip.to_string(), sasl_user.as_deref())),
            _ => None,
        })
        .collect();
    if relays.is_empty() {
        return Ok(());
    }
    let ips: std::collections::BTreeSet<&str> = relays
        .iter()
        .filter(|r| r.3.is_none())
        .map(|r| r.2.as_str())
        .collect();
    let (from, to) = relays.iter().fold((Epoch::MAX, Epoch::MIN), |(f, t), r| {
        (f.min(r.1), t.max(r.1))
    });
    let mut sessions: HashMap<String, Vec<(String, Epoch, Epoch)>> = HashMap::new();
    let ips: Vec<&str> = ips.into_iter().collect();
    for chunk in ips.chunks(IN_LIST[IN_LIST.len() - 1]) {
        // A list of one of a few lengths (the last address repeated), so the statement is
        // prepared once per length, not once per batch.
        let len = IN_LIST
            .iter()
            .copied()
            .find(|&n| n >= chunk.len())
            .unwrap_or(chunk.len());
        let list: Vec<String> = (0..len).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "select ip, login, first_seen, last_seen from sessions
             where last_seen >= $1 and first_seen <= $2 and ip in ({})",
            list.join(", ")
        );
        let mut params = vec![Value::Int(from - window), Value::Int(to)];
        params.extend(chunk.iter().map(|ip| Value::from(*ip)));
        let last = chunk[chunk.len() - 1];
        params.resize(len + 2, Value::from(last));
        let rows: Vec<(String, String, Epoch, Epoch)> = tx.fetch_all(&sql, &params).await?;
        for (ip, login, first, last) in rows {
            sessions.entry(ip).or_default().push((login, first, last));
        }
    }
    // (minute, login, method) → (count, first, last)
    let mut agg: HashMap<(Epoch, String, &str), (i64, Epoch, Epoch)> = HashMap::new();
    for (at, queued_at, ip, sasl_user) in &relays {
        let t = *queued_at;
        let (login, method) = match sasl_user {
            Some(user) => (user.to_string(), SMTP_AUTH),
            None => {
                let holder = sessions.get(ip).and_then(|s| {
                    s.iter()
                        .filter(|(_, first, last)| *first <= t && *last >= t - window)
                        .max_by_key(|(login, _, last)| ((*last).min(t), login.clone()))
                });
                match holder {
                    Some((login, _, _)) => (login.clone(), POP_BEFORE_SMTP),
                    None => continue,
                }
            }
        };
        let e = agg
            .entry((at - at.rem_euclid(60), login, method))
            .or_insert((0, *at, *at));
        e.0 += 1;
        e.1 = e.1.min(*at);
        e.2 = e.2.max(*at);
    }
    let rows: Vec<Vec<Value>> = agg
        .into_iter()
        .map(|((minute, login, method), (count, first, last))| {
            vec![
                minute.into(),
                login.into(),
                method.into(),
                count.into(),
                first.into(),
                last.into(),
            ]
        })
        .collect();
    tx.insert_many(
        "login_relays",
        &["minute", "login", "method", "count", "first_at", "last_at"],
        &rows,
        "on conflict (minute, login, method) do update set
             count = login_relays.count + excluded.count,
             first_at = case when excluded.first_at < login_relays.first_at
                             then excluded.first_at else login_relays.first_at end,
             last_at = case when excluded.last_at > login_relays.last_at
                            then excluded.last_at else login_relays.last_at end",
    )
    .await
}

async fn write_source(tx: &mut Conn, b: &Commit<'_>) -> Result<()> {
    let last_event = b.events.iter().map(Event::at).max();
    let first_event = b.events.iter().map(Event::at).min();
    let c = b.counts;
    tx.execute(
        "insert into sources (name, state, lines, events, skipped, malformed, last_event_at,
                              updated_at, error, first_event_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, null, $9)
         on conflict (name) do update set
             state = excluded.state,
             lines = sources.lines + excluded.lines,
             events = sources.events + excluded.events,
             skipped = sources.skipped + excluded.skipped,
             malformed = sources.malformed + excluded.malformed,
             last_event_at = case when sources.last_event_at is null
                                       or excluded.last_event_at > sources.last_event_at
                                  then excluded.last_event_at else sources.last_event_at end,
             first_event_at = case when sources.first_event_at is null
                                        or excluded.first_event_at < sources.first_event_at
                                   then excluded.first_event_at else sources.first_event_at end,
             updated_at = excluded.updated_at, error = null",
        &[
            b.source.into(),
            b.state.into(),
            c.lines.into(),
            c.events.into(),
            c.skipped.into(),
            c.malformed.into(),
            last_event.into(),
            b.now.into(),
            first_event.into(),
        ],
    )
    .await?;
    let Some(update) = b.file else { return Ok(()) };
    let f = update.file;
    let changed = match update.previous {
        None => tx.execute(
            "insert into source_files (source, fp_hash, fp_len, pos, done_at, updated_at)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (source, fp_hash, fp_len) do nothing",
            &[
                b.source.into(),
                f.fp_hash.into(),
                f.fp_len.into(),
                f.pos.into(),
                f.done.then_some(b.now).into(),
                b.now.into(),
            ],
        ).await?,
        Some(p) => tx.execute(
            "update source_files set fp_hash = $1, fp_len = $2, pos = $3, done_at = $4, updated_at = $5
             where source = $6 and fp_hash = $7 and fp_len = $8 and pos = $9 and done_at is null",
            &[
                f.fp_hash.into(),
                f.fp_len.into(),
                f.pos.into(),
                f.done.then_some(b.now).into(),
                b.now.into(),
                b.source.into(),
                p.fp_hash.into(),
                p.fp_len.into(),
                p.pos.into(),
            ],
        ).await?,
    };
    if changed != 1 {
        return Err(super::StoreError::Conflict(format!(
            "{}: the file position moved since this batch was read",
            b.source
        )));
    }
    Ok(())
}

/// A source's stored position and counters.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct SourceStatus {
    pub name: String,
    #[serde(skip)]
    pub state: String,
    pub lines: i64,
    pub events: i64,
    pub skipped: i64,
    pub malformed: i64,
    pub last_event_at: Option<Epoch>,
    pub updated_at: Epoch,
    pub error: Option<String>,
}

pub async fn source(conn: &mut Conn, name: &str) -> Result<Option<SourceStatus>> {
    Ok(sources_where(conn, "where name = $1", &[name.into()])
        .await?
        .into_iter()
        .next())
}

pub async fn all_sources(conn: &mut Conn) -> Result<Vec<SourceStatus>> {
    sources_where(conn, "order by name", &[]).await
}

async fn sources_where(
    conn: &mut Conn,
    clause: &str,
    params: &[Value],
) -> Result<Vec<SourceStatus>> {
    conn.fetch_all(
        &format!(
            "select name, state, lines, events, skipped, malformed, last_event_at, updated_at,
                    error from sources {clause}"
        ),
        params,
    )
    .await
}

/// Every file of `source` read so far, done or not.
pub async fn files(conn: &mut Conn, source: &str) -> Result<Vec<FilePos>> {
    let rows: Vec<(i64, i64, i64, Option<Epoch>)> = conn
        .fetch_all(
            "select fp_hash, fp_len, pos, done_at from source_files where source = $1",
            &[source.into()],
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|(fp_hash, fp_len, pos, done_at)| FilePos {
            fp_hash,
            fp_len,
            pos,
            done: done_at.is_some(),
        })
        .collect())
}

/// Records read or write trouble on a source for the dashboard, without moving its position.
pub async fn set_source_error(
    conn: &mut Conn,
    source: &str,
    error: &str,
    now: Epoch,
) -> Result<()> {
    conn.execute(
        "insert into sources (name, updated_at, error) values ($1, $2, $3)
         on conflict (name) do update set error = excluded.error, updated_at = excluded.updated_at",
        &[source.into(), now.into(), error.into()],
    )
    .await?;
    Ok(())
}

/// The earliest event time of any source: before it, the store knows nothing.
pub async fn logs_since(conn: &mut Conn) -> Result<Option<Epoch>> {
    conn.scalar("select min(first_event_at) from sources", &[])
        .await
}
