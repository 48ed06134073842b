//! The relay-authorization stores an ISP already runs, read the way Postfix reads them, and
//! followed into `relay_store_entries`:
//!
//! - `postfix-map`: a Postfix lookup table (`btree:/etc/drac/dracd` for DRAC,
//!   `hash:/etc/postfix/pop-before-smtp` for pop-before-smtp, `lmdb:`, `cdb:`, `texthash:`),
//!   listed with `postmap -s` — Postfix's own reader, so every table type and byte order
//!   Postfix understands is read exactly as Postfix reads it. Postfix relays for an address
//!   while the table holds it with an OK-like value (access(5): `OK`, `RELAY`, or all digits —
//!   DRAC writes the login time), whatever that time says; so that is what is recorded.
//! - `sql`: a PostgreSQL, MySQL/MariaDB or SQLite table (a post-login script's), through a
//!   configured query returning the address, a time and optionally the login; SQLite is opened
//!   read-only.
//!
//! Reads never lock the writer out (postmap and the query only read). A read that fails is
//! retried at the next turn and changes nothing; a map that reads empty right after it changed
//! is read again before it counts as empty, so a half-written map is never taken for "nobody".

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context, anyhow, bail};
use serde::Serialize;

use crate::config::{RelayStoreConfig, RelayStoreKind, StoreTime};
use crate::domain::{ClientIp, Epoch};
use crate::store::{self, Db, relay_store};

/// One address a store holds, as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The address in relaydesk's form (`::ffff:a.b.c.d` is `a.b.c.d`).
    pub ip: String,
    pub value: String,
    pub login: Option<String>,
    pub began_at: Option<Epoch>,
}

/// What one read found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Addresses held with an OK-like value, one each.
    pub entries: Vec<Entry>,
    /// Keys that are no single address (networks, domains) or values that grant nothing
    /// (`REJECT`, `DUNNO`): Postfix may act on them, but they grant no one relay.
    pub other: usize,
}

/// Whether an access(5) result lets the client relay: `OK`, `RELAY`, any all-digit value
/// (DRAC's login time; access(5) treats a number as OK), case as Postfix ignores it.
pub fn grants(value: &str) -> bool {
    let v = value.trim();
    v.eq_ignore_ascii_case("ok")
        || v.eq_ignore_ascii_case("relay")
        || (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

/// `postmap -s` output: `key<TAB>value` per line (a trailing NUL, as some writers store keys,
/// is not part of the key).
pub fn parse_postmap(text: &str) -> Reading {
    let mut held: HashMap<String, Entry> = HashMap::new();
    let mut other = 0;
    for line in text.lines() {
        let line = line.trim_end_matches(['\r', '\0']);
        if line.is_empty() {
            continue;
        }
        let (key, value) = line
            .split_once(['\t', ' '])
            .map_or((line, ""), |(k, v)| (k, v.trim()));
        let key = key.trim_end_matches('\0');
        let value = value.trim_end_matches('\0');
        match ClientIp::parse_lenient(key) {
            Some(ip) if grants(value) => {
                let began_at = value
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                    .then(|| value.parse::<Epoch>().ok())
                    .flatten();
                let ip = ip.to_string();
                held.insert(
                    ip.clone(),
                    Entry {
                        ip,
                        value: value.to_string(),
                        login: None,
                        began_at,
                    },
                );
            }
            _ => other += 1,
        }
    }
    let mut entries: Vec<Entry> = held.into_values().collect();
    entries.sort_by(|a, b| a.ip.cmp(&b.ip));
    Reading { entries, other }
}

/// The files behind a Postfix table, whose change means "read again": `hash:` and `btree:`
/// keep `NAME.db`, `lmdb:` `NAME.lmdb`, `cdb:` `NAME.cdb`; `texthash:` is the file itself.
fn map_files(map: &str) -> Vec<PathBuf> {
    let (kind, name) = map.split_once(':').unwrap_or(("", map));
    let suffix = match kind {
        "hash" | "btree" => ".db",
        "lmdb" => ".lmdb",
        "cdb" => ".cdb",
        "dbm" | "sdbm" => ".pag",
        _ => "",
    };
    vec![
        PathBuf::from(format!("{name}{suffix}")),
        PathBuf::from(name),
    ]
}

/// The latest modification of the files behind `map`, as (seconds, nanoseconds, length).
fn map_stamp(map: &str) -> Option<(SystemTime, u64)> {
    map_files(map)
        .into_iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .filter_map(|m| Some((m.modified().ok()?, m.len())))
        .max()
}

/// How long one read may take before it counts as failed.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads `store` once.
pub async fn read(store: &RelayStoreConfig) -> anyhow::Result<Reading> {
    match store.kind {
        RelayStoreKind::PostfixMap => read_map(store).await,
        RelayStoreKind::Sql => read_sql(store).await,
    }
}

async fn read_map(store: &RelayStoreConfig) -> anyhow::Result<Reading> {
    let mut command = tokio::process::Command::new(&store.postmap);
    if !store.postfix_config.is_empty() {
        command.arg("-c").arg(&store.postfix_config);
    }
    command
        .arg("-s")
        .arg(&store.map)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(READ_TIMEOUT, command.output())
        .await
        .map_err(|_| anyhow!("postmap -s {} took over {READ_TIMEOUT:?}", store.map))?
        .with_context(|| format!("cannot run {}", store.postmap))?;
    if !out.status.success() {
        bail!(
            "postmap -s {}: {}",
            store.map,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(parse_postmap(&String::from_utf8_lossy(&out.stdout)))
}

/// A row's address (text), time (Unix seconds: an integer of any width, or digits as text)
/// and login (text, optional column).
macro_rules! columns {
    ($row:expr) => {{
        let r = $row;
        let address: String = r.try_get(0)?;
        let at = r
            .try_get::<Option<i64>, _>(1)
            .ok()
            .flatten()
            .or_else(|| r.try_get::<Option<i32>, _>(1).ok().flatten().map(i64::from))
            .or_else(|| {
                r.try_get::<Option<String>, _>(1)
                    .ok()
                    .flatten()
                    .and_then(|t| t.trim().parse().ok())
            });
        let login = r.try_get::<Option<String>, _>(2).ok().flatten();
        Ok((address, at, login))
    }};
}

/// A store's query, ended after `READ_TIMEOUT`.
async fn within<T>(
    query: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> anyhow::Result<T> {
    Ok(tokio::time::timeout(READ_TIMEOUT, query)
        .await
        .map_err(|_| anyhow!("the query took over {READ_TIMEOUT:?}"))??)
}

async fn read_sql(store: &RelayStoreConfig) -> anyhow::Result<Reading> {
    use sqlx::Row;
    let rows: Vec<(String, Option<i64>, Option<String>)> = if store.url.starts_with("sqlite:") {
        use sqlx::ConnectOptions;
        let options: sqlx::sqlite::SqliteConnectOptions = store.url.parse()?;
        let mut conn = options
            .read_only(true)
            .create_if_missing(false)
            .connect()
            .await?;
        let rows = within(sqlx::query(&store.query).fetch_all(&mut conn)).await?;
        rows.iter()
            .map(|r| columns!(r))
            .collect::<Result<_, sqlx::Error>>()?
    } else if let Some(rest) = store
        .url
        .strip_prefix("mysql:")
        .or_else(|| store.url.strip_prefix("mariadb:"))
    {
        use sqlx::ConnectOptions;
        let options: sqlx::mysql::MySqlConnectOptions = format!("mysql:{rest}").parse()?;
        let mut conn = options.connect().await?;
        let rows = within(sqlx::query(&store.query).fetch_all(&mut conn)).await?;
        // MySQL's UNIX_TIMESTAMP() and INT UNSIGNED columns are unsigned.
        rows.iter()
            .map(|r| {
                let (address, at, login): (String, Option<i64>, Option<String>) =
                    columns!(r).map_err(|e: sqlx::Error| e)?;
                let at = at.or_else(|| {
                    r.try_get::<Option<u64>, _>(1)
                        .ok()
                        .flatten()
                        .and_then(|t| i64::try_from(t).ok())
                        .or_else(|| r.try_get::<Option<u32>, _>(1).ok().flatten().map(i64::from))
                });
                Ok((address, at, login))
            })
            .collect::<Result<_, sqlx::Error>>()?
    } else {
        use sqlx::ConnectOptions;
        let options: sqlx::postgres::PgConnectOptions = store.url.parse()?;
        let mut conn = options.connect().await?;
        let rows = within(sqlx::query(&store.query).fetch_all(&mut conn)).await?;
        rows.iter()
            .map(|r| columns!(r))
            .collect::<Result<_, sqlx::Error>>()?
    };
    let now = chrono::Utc::now().timestamp();
    let mut held: HashMap<String, Entry> = HashMap::new();
    let mut other = 0;
    for (address, at, login) in rows {
        let Some(ip) = ClientIp::parse_lenient(address.trim()) else {
            other += 1;
            continue;
        };
        let (value, began_at) = match (store.time_is, at) {
            (StoreTime::Expires, Some(t)) if t < now => {
                other += 1;
                continue;
            }
            (StoreTime::Expires, Some(t)) => (format!("until {t}"), None),
            (_, Some(t)) => (t.to_string(), Some(t)),
            (_, None) => ("held".to_string(), None),
        };
        let ip = ip.to_string();
        let keep = held.get(&ip).is_none_or(|e| e.began_at < began_at);
        if keep {
            held.insert(
                ip.clone(),
                Entry {
                    ip,
                    value,
                    login: login.filter(|l| !l.trim().is_empty()),
                    began_at,
                },
            );
        }
    }
    let mut entries: Vec<Entry> = held.into_values().collect();
    entries.sort_by(|a, b| a.ip.cmp(&b.ip));
    Ok(Reading { entries, other })
}

/// What one reading changes in what `open` recorded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Addresses the store did not hold before.
    pub added: Vec<relay_store::New>,
    /// Rows whose value changed (DRAC rewrites the time at each login): id and new value.
    pub changed: Vec<(i64, relay_store::New)>,
    /// Rows of addresses the store no longer holds.
    pub gone: Vec<i64>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.gone.is_empty()
    }
}

/// The changes one reading makes to what `open` recorded.
pub fn changes(open: &[relay_store::Held], reading: &Reading) -> Changes {
    let was: HashMap<&str, &relay_store::Held> = open.iter().map(|h| (h.ip.as_str(), h)).collect();
    let now: HashMap<&str, &Entry> = reading.entries.iter().map(|e| (e.ip.as_str(), e)).collect();
    let mut out = Changes::default();
    for e in &reading.entries {
        match was.get(e.ip.as_str()) {
            Some(h) if h.value == e.value && h.login == e.login => {}
            Some(h) => out.changed.push((h.id, new(e))),
            None => out.added.push(new(e)),
        }
    }
    for h in open {
        if !now.contains_key(h.ip.as_str()) {
            out.gone.push(h.id);
        }
    }
    out
}

fn new(e: &Entry) -> relay_store::New {
    relay_store::New {
        ip: e.ip.clone(),
        value: e.value.clone(),
        login: e.login.clone(),
        began_at: e.began_at,
    }
}

/// How often a map file's modification is looked at.
const STAT_EVERY: Duration = Duration::from_millis(500);

/// Follows `config` into the store for as long as the task runs: reads it when its file
/// changes and every `interval`, records what changed, and announces the change so every
/// node's grant index follows.
pub async fn follow(db: Db, config: RelayStoreConfig) -> std::io::Result<()> {
    let name = config.display_name();
    let mut stamp = None;
    let mut last_read: Option<tokio::time::Instant> = None;
    let mut held_before = 0usize;
    loop {
        let now_stamp = match config.kind {
            RelayStoreKind::PostfixMap => map_stamp(&config.map),
            RelayStoreKind::Sql => None,
        };
        let due =
            last_read.is_none_or(|t| t.elapsed() >= Duration::from_secs(config.interval.0 as u64));
        if now_stamp != stamp || due {
            let changed = now_stamp != stamp;
            match read_settled(&config, changed, held_before).await {
                Ok(reading) => {
                    let now = chrono::Utc::now().timestamp();
                    match record(&db, &name, &reading, now).await {
                        Ok(held) => {
                            stamp = now_stamp;
                            last_read = Some(tokio::time::Instant::now());
                            held_before = held;
                        }
                        Err(e) => {
                            tracing::warn!(store = %name, error = %e, "cannot record the relay store's reading; retrying")
                        }
                    }
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    tracing::warn!(store = %name, %error, "cannot read the relay store; keeping what it held");
                    last_read = Some(tokio::time::Instant::now());
                    let now = chrono::Utc::now().timestamp();
                    if let Ok(mut c) = db.conn().await {
                        let _ = relay_store::record_status(&mut c, &name, now, None, Some(&error))
                            .await;
                    }
                }
            }
        }
        tokio::time::sleep(STAT_EVERY).await;
    }
}

/// A read, made twice when a map that just changed reads empty after holding entries: a
/// writer that truncates and rewrites its map is then caught between the two.
async fn read_settled(
    config: &RelayStoreConfig,
    changed: bool,
    held_before: usize,
) -> anyhow::Result<Reading> {
    let reading = read(config).await?;
    if reading.entries.is_empty() && changed && held_before > 0 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let again = read(config).await?;
        if !again.entries.is_empty() {
            return Ok(again);
        }
        // Empty twice, and the files unchanged between the two: the store is empty.
        let before = map_stamp(&config.map);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if map_stamp(&config.map) != before {
            bail!("the map is being rewritten");
        }
        return Ok(again);
    }
    Ok(reading)
}

/// Records one reading of store `name` at `now` in one transaction (its open rows, their
/// changes and the read); returns how many addresses it holds.
pub async fn record(db: &Db, name: &str, reading: &Reading, now: Epoch) -> store::Result<usize> {
    let mut conn = db.conn().await?;
    let mut tx = conn.begin().await?;
    let open = relay_store::open(&mut tx, name).await?;
    let c = changes(&open, reading);
    relay_store::record_read(&mut tx, name, now, &c.added, &c.changed, &c.gone).await?;
    relay_store::record_status(&mut tx, name, now, Some(reading.entries.len() as i64), None)
        .await?;
    if !c.is_empty() {
        store::changes::notify(&mut tx, store::changes::Change::Authorization).await?;
    }
    tx.commit().await?;
    Ok(reading.entries.len())
}

/// What a disagreement between the relay store and the mail checks is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A successful mail check the store never held the address for (after the grace): the
    /// relay daemon missed the login (its hook is down, its log pattern no longer matches).
    MissedLogin,
    /// The store held an address with no mail check from it behind the entry: granted by
    /// something else.
    NoCheck,
    /// The store held an address more than five minutes (or the grace) past the window after
    /// its last mail check: the daemon's expiry is not running.
    Outlived,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::MissedLogin => "missed_login",
            FindingKind::NoCheck => "no_check",
            FindingKind::Outlived => "outlived",
        }
    }
}

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub ip: String,
    /// The mail check's login (missed_login, outlived).
    pub login: Option<String>,
    /// The store (no_check, outlived).
    pub store: Option<String>,
    /// When: the missed check, the entry's first read, or when it should have ended.
    pub at: Epoch,
    /// outlived: how long the entry was held after its last mail check, in seconds.
    pub held_after_check: Option<i64>,
}

/// The disagreements in `[from, to]` between mail checks and store entries (each with the
/// checks and entries around the period), judged with `window` and `grace`; reads say up to
/// when the stores were read, so a check newer than the last read is not yet a miss.
pub fn findings(
    checks: &[relay_store::Checks],
    entries: &[relay_store::Held],
    (read_from, read_until): (Epoch, Epoch),
    window: i64,
    grace: i64,
    from: Epoch,
    to: Epoch,
) -> Vec<Finding> {
    let mut by_ip: HashMap<&str, Vec<&relay_store::Held>> = HashMap::new();
    for e in entries {
        by_ip.entry(e.ip.as_str()).or_default().push(e);
    }
    let mut checks_by_ip: HashMap<&str, Vec<&relay_store::Checks>> = HashMap::new();
    for c in checks {
        checks_by_ip.entry(c.ip.as_str()).or_default().push(c);
    }
    let held_for = |ip: &str, t: Epoch| {
        by_ip.get(ip).is_some_and(|es| {
            // DRAC's own time says when the entry began, even before relaydesk first read it.
            es.iter().any(|e| {
                e.began_at.unwrap_or(e.first_seen).min(e.first_seen) <= t + grace
                    && e.gone_at.is_none_or(|g| g > t)
            })
        })
    };
    let mut out = Vec::new();
    for c in checks {
        let missed = [c.first_seen, c.last_seen]
            .into_iter()
            .filter(|t| (from..=to).contains(t) && *t >= read_from && t + grace <= read_until)
            .find(|t| !held_for(&c.ip, *t));
        if let Some(at) = missed {
            out.push(Finding {
                kind: FindingKind::MissedLogin,
                ip: c.ip.clone(),
                login: Some(c.login.clone()),
                store: None,
                at,
                held_after_check: None,
            });
        }
    }
    for e in entries {
        let ip_checks = checks_by_ip
            .get(e.ip.as_str())
            .map_or(&[][..], Vec::as_slice);
        let began = e.began_at.unwrap_or(e.first_seen).min(e.first_seen);
        if (from..=to).contains(&e.first_seen) {
            let behind = ip_checks
                .iter()
                .any(|c| c.first_seen <= e.first_seen + grace && c.last_seen + window >= began);
            if !behind {
                out.push(Finding {
                    kind: FindingKind::NoCheck,
                    ip: e.ip.clone(),
                    login: e.login.clone(),
                    store: Some(e.store.clone()),
                    at: e.first_seen,
                    held_after_check: None,
                });
            }
        }
        let end = e.gone_at.unwrap_or(read_until);
        let last_check = ip_checks
            .iter()
            .filter(|c| c.first_seen <= end)
            .map(|c| c.last_seen.min(end))
            .max();
        let since = last_check.map_or(began, |c| c.max(began));
        // Daemons sweep their expiries every minute or few: five minutes' slack at least.
        let due = since + window + grace.max(300);
        if end > due && (from..=to).contains(&due) {
            out.push(Finding {
                kind: FindingKind::Outlived,
                ip: e.ip.clone(),
                login: ip_checks
                    .iter()
                    .filter(|c| c.first_seen <= end)
                    .max_by_key(|c| c.last_seen)
                    .map(|c| c.login.clone()),
                store: Some(e.store.clone()),
                at: due,
                held_after_check: Some(end - since),
            });
        }
    }
    out.sort_by(|a, b| (a.at, &a.ip).cmp(&(b.at, &b.ip)));
    out
}

/// Most checks and entries one findings report reads: a month of a large ISP stays bounded.
pub const FINDINGS_ROWS: i64 = 200_000;

/// The findings of `[from, to]` from the store, with `grace` seconds for the relay daemon.
pub async fn findings_between(
    conn: &mut store::Conn,
    stores: &[String],
    window: i64,
    grace: i64,
    from: Epoch,
    to: Epoch,
) -> store::Result<Vec<Finding>> {
    let checks =
        relay_store::checks_between(conn, from - window, to + grace, FINDINGS_ROWS).await?;
    let entries =
        relay_store::between(conn, from - window - grace, to + grace, FINDINGS_ROWS).await?;
    let reads: Vec<relay_store::Read> = relay_store::reads(conn)
        .await?
        .into_iter()
        .filter(|r| stores.is_empty() || stores.contains(&r.store))
        .collect();
    // A store that was never read judges nothing; the stalest store bounds what is judged.
    let Some(read_until) = reads.iter().map(|r| r.read_at).min() else {
        return Ok(Vec::new());
    };
    let read_from = reads
        .iter()
        .map(|r| r.first_read_at)
        .max()
        .unwrap_or(read_until);
    Ok(findings(
        &checks,
        &entries,
        (read_from, read_until),
        window,
        grace,
        from,
        to,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disagreements_between_checks_and_the_store() {
        const W: i64 = 1800;
        let check = |ip: &str, login: &str, first, last| relay_store::Checks {
            ip: ip.into(),
            login: login.into(),
            first_seen: first,
            last_seen: last,
        };
        let entry = |id, ip: &str, began: Option<i64>, first, last, gone| relay_store::Held {
            id,
            store: "drac".into(),
            ip: ip.into(),
            value: "x".into(),
            login: None,
            began_at: began,
            first_seen: first,
            last_seen: last,
            gone_at: gone,
        };
        let checks = [
            // Taken by the store within the grace: agreement.
            check("192.0.2.1", "taro", 1000, 1000),
            // Never taken: missed.
            check("192.0.2.2", "hanako", 1100, 1100),
            // Checked every few minutes for an hour; the entry stays: agreement.
            check("192.0.2.3", "jiro", 1000, 4600),
            // Too recent for the last read to judge.
            check("192.0.2.9", "saburo", 9950, 9950),
        ];
        let entries = [
            entry(1, "192.0.2.1", Some(1000), 1003, 2900, Some(2900)),
            entry(2, "192.0.2.3", None, 1002, 5000, Some(5000)),
            // No check behind it.
            entry(3, "198.51.100.7", None, 2000, 2100, Some(2100)),
            // DRAC's time of a check at 1000, held until 9000: outlived.
            entry(4, "192.0.2.4", Some(1000), 1001, 9000, None),
        ];
        let mut checks = checks.to_vec();
        checks.push(check("192.0.2.4", "shiro", 1000, 1000));
        let found = findings(&checks, &entries, (0, 9960), W, 60, 0, 10_000);
        let kinds: Vec<(&str, &str)> = found
            .iter()
            .map(|f| (f.kind.as_str(), f.ip.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("missed_login", "192.0.2.2"),
                ("no_check", "198.51.100.7"),
                ("outlived", "192.0.2.4")
            ]
        );
        let outlived = found.last().unwrap();
        assert_eq!(
            outlived.held_after_check,
            Some(8960),
            "held until the last read"
        );
        assert_eq!(outlived.login.as_deref(), Some("shiro"));
    }

    #[test]
    fn access_results_that_let_a_client_relay() {
        for v in ["OK", "ok", "RELAY", "1765000000", " 42 "] {
            assert!(grants(v), "{v}");
        }
        for v in ["REJECT", "DUNNO", "", "OKAY", "12a", "PERMIT", "550 no"] {
            assert!(!grants(v), "{v}");
        }
    }

    #[test]
    fn postmap_listing_is_read_as_postfix_reads_it() {
        let text = "203.0.113.5\t1765000000\n2001:DB8::5\tok\n192.0.2.1\tREJECT\n\
                    192.168.1\tOK\n::ffff:198.51.100.7\tOK\n198.51.100.8\0\t1765000100\0\n\n";
        let r = parse_postmap(text);
        let ips: Vec<&str> = r.entries.iter().map(|e| e.ip.as_str()).collect();
        assert_eq!(
            ips,
            ["198.51.100.7", "198.51.100.8", "2001:db8::5", "203.0.113.5"]
        );
        assert_eq!(r.other, 2, "REJECT and a network grant nobody");
        let drac = r.entries.iter().find(|e| e.ip == "203.0.113.5").unwrap();
        assert_eq!(drac.began_at, Some(1_765_000_000));
        let pbs = r.entries.iter().find(|e| e.ip == "2001:db8::5").unwrap();
        assert_eq!((pbs.value.as_str(), pbs.began_at), ("ok", None));
    }

    #[test]
    fn a_new_time_for_an_address_rewrites_its_entry() {
        let held = |id, ip: &str, value: &str| relay_store::Held {
            id,
            store: "m".into(),
            ip: ip.into(),
            value: value.into(),
            login: None,
            began_at: None,
            first_seen: 0,
            last_seen: 0,
            gone_at: None,
        };
        let open = [held(1, "203.0.113.5", "100"), held(2, "203.0.113.6", "ok")];
        let reading = parse_postmap("203.0.113.5\t200\n203.0.113.7\tok\n");
        let c = changes(&open, &reading);
        assert_eq!(c.gone, [2]);
        let changed: Vec<(i64, &str)> = c
            .changed
            .iter()
            .map(|(id, n)| (*id, n.value.as_str()))
            .collect();
        assert_eq!(
            changed,
            [(1, "200")],
            "a new login time rewrites the row, not a new one"
        );
        let ips: Vec<&str> = c.added.iter().map(|n| n.ip.as_str()).collect();
        assert_eq!(ips, ["203.0.113.7"]);
        assert!(changes(&open[1..], &parse_postmap("203.0.113.6\tok\n")).is_empty());
    }

    #[test]
    fn the_files_behind_a_table() {
        assert_eq!(
            map_files("btree:/etc/drac/dracd")[0],
            PathBuf::from("/etc/drac/dracd.db")
        );
        assert_eq!(
            map_files("texthash:/etc/postfix/x")[0],
            PathBuf::from("/etc/postfix/x")
        );
    }
}
