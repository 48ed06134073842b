//! Command-line reports: NDJSON and aligned tables of what the store holds. Times are shown in
//! the configured zone; machine output (`parse`) uses UTC.

use std::io::{self, Write};

use serde::Serialize;

/// How the CLI prints records.
#[derive(Debug, Clone, Copy, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Ndjson,
    /// RFC 4180, with a header line (spreadsheets, mailings).
    Csv,
}

/// Treats a closed pipe (`| head`) as success.
fn print_ok(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
use crate::config::Config;
use crate::domain::{ClientIp, Epoch, Event};
use crate::explain;
use crate::store::{self, Db, history, rejections};
use crate::time::{local_rfc3339, rfc3339_utc};

fn json_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(io::Error::from)
}

/// Decimal digits of `n`, without the formatting machinery.
fn write_u64(out: &mut impl Write, mut n: u64) -> io::Result<()> {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.write_all(&digits[i..])
}

/// `,"name":"value"` (or `null`).
fn field(out: &mut impl Write, name: &str, value: Option<&str>) -> io::Result<()> {
    out.write_all(b",\"")?;
    out.write_all(name.as_bytes())?;
    out.write_all(b"\":")?;
    match value {
        Some(v) => json_str(out, v),
        None => out.write_all(b"null"),
    }
}

/// `,"ip":"a.b.c.d"`: an address needs no escaping.
fn ip_field(out: &mut impl Write, ip: &ClientIp) -> io::Result<()> {
    out.write_all(b",\"ip\":\"")?;
    ip.write_text(out)?;
    out.write_all(b"\"")
}

/// One `parse` record: `{"line":N,"kind":K,"at":RFC3339,...}`. Hot path of `parse` (§10): no
/// allocation per record.
pub fn write_event(
    out: &mut impl Write,
    line: u64,
    event: &Event,
    _config: &Config,
) -> io::Result<()> {
    out.write_all(b"{\"line\":")?;
    write_u64(out, line)?;
    out.write_all(b",\"kind\":\"")?;
    out.write_all(event.kind().as_bytes())?;
    out.write_all(b"\",\"at\":\"")?;
    out.write_all(&rfc3339_utc(event.at()))?;
    out.write_all(b"\"")?;
    match event {
        Event::Login {
            service, user, ip, ..
        } => {
            field(out, "service", Some(service.as_str()))?;
            field(out, "user", Some(user))?;
            ip_field(out, ip)?;
        }
        Event::LoginFailed {
            service,
            user,
            ip,
            reason,
            ..
        } => {
            field(out, "service", Some(service.as_str()))?;
            field(out, "user", user.as_deref())?;
            ip_field(out, ip)?;
            field(out, "reason", Some(reason.as_str()))?;
        }
        Event::RelayRejected {
            ip,
            sender,
            rcpt,
            reply,
            ..
        }
        | Event::Rejected {
            ip,
            sender,
            rcpt,
            reply,
            ..
        } => {
            ip_field(out, ip)?;
            field(out, "sender", Some(sender))?;
            field(out, "rcpt", Some(rcpt))?;
            field(out, "reply", Some(reply))?;
        }
        Event::SmtpAuthFailed { ip, user, .. } => {
            ip_field(out, ip)?;
            field(out, "user", user.as_deref())?;
        }
        Event::SmtpAuth { ip, user, .. } => {
            ip_field(out, ip)?;
            field(out, "user", Some(user))?;
        }
        Event::QueueClient {
            queue_id,
            ip,
            sasl_user,
            ..
        } => {
            field(out, "queue_id", Some(queue_id))?;
            ip_field(out, ip)?;
            if let Some(u) = sasl_user {
                field(out, "sasl_user", Some(u))?;
            }
        }
        Event::QueueFrom {
            queue_id, sender, ..
        } => {
            field(out, "queue_id", Some(queue_id))?;
            field(out, "sender", Some(sender))?;
        }
        Event::QueueTo {
            queue_id,
            rcpt,
            status,
            local,
            ..
        } => {
            field(out, "queue_id", Some(queue_id))?;
            field(out, "rcpt", Some(rcpt))?;
            field(out, "status", Some(status.as_str()))?;
            out.write_all(if *local {
                b",\"local\":true"
            } else {
                b",\"local\":false"
            })?;
        }
        Event::QueueRemoved { queue_id, .. } => field(out, "queue_id", Some(queue_id))?,
        Event::Relayed {
            ip, sender, rcpt, ..
        } => {
            ip_field(out, ip)?;
            field(out, "sender", Some(sender))?;
            field(out, "rcpt", Some(rcpt))?;
        }
    }
    out.write_all(b"}\n")
}

/// Which relay rejections to report; `None` fields do not filter.
#[derive(Debug, Default)]
pub struct RejectionQuery {
    pub since: Option<Epoch>,
    pub until: Option<Epoch>,
    pub ip: Option<ClientIp>,
    pub login: Option<String>,
    /// At most this many, oldest first.
    pub limit: Option<i64>,
}

/// One `rejections` record (§8).
#[derive(Debug, Serialize)]
pub struct RejectionRecord {
    pub at: String,
    pub ip: String,
    pub sender: String,
    pub rcpt: String,
    pub login: Option<String>,
    pub cause: Option<String>,
    pub evidence: Option<serde_json::Value>,
}

/// The relay rejections `query` selects, each diagnosed: the records of the CLI's NDJSON and
/// of `GET /api/v1/rejections` alike.
pub async fn rejection_records(
    conn: &mut store::Conn,
    config: &Config,
    query: &RejectionQuery,
) -> store::Result<Vec<RejectionRecord>> {
    let filter = rejections::Filter {
        kind: Some("relay".into()),
        ip: query.ip.map(|ip| ip.to_string()),
        senders: query
            .login
            .as_ref()
            .map(|login| explain::candidate_senders(login, config)),
        since: query.since,
        until: query.until,
        limit: query.limit,
    };
    let rows = rejections::list(conn, &filter).await?;
    let logs_since = store::ingest::logs_since(conn).await?;
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let d = explain::diagnose_rejection(conn, config, &r, logs_since).await?;
        records.push(RejectionRecord {
            at: local_rfc3339(r.at, config.timezone.0),
            ip: r.ip,
            sender: r.sender,
            rcpt: r.rcpt,
            login: d.login.clone(),
            cause: Some(d.cause.as_str().to_string()),
            evidence: Some(evidence_json(&d.evidence, config)),
        });
    }
    Ok(records)
}

pub async fn rejections(
    db: &Db,
    config: &Config,
    query: &RejectionQuery,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let records = rejection_records(&mut db.conn().await?, config, query).await?;
    if records.is_empty() {
        // Said on stderr: the output stays a clean (empty) table or NDJSON stream.
        eprintln!(
            "no relay rejections in {} for that period",
            crate::config::redact_url(&config.database.url)
        );
    }
    let cells = |r: &RejectionRecord| {
        vec![
            r.at.clone(),
            r.ip.clone(),
            r.sender.clone(),
            r.rcpt.clone(),
            r.login.clone().unwrap_or("-".into()),
            r.cause.clone().unwrap_or("-".into()),
        ]
    };
    let headers = ["AT", "IP", "SENDER", "RECIPIENT", "LOGIN", "CAUSE"];
    print_ok(write_records(
        out,
        format,
        records.into_iter(),
        cells,
        &headers,
    ))
}

/// The evidence of a diagnosis as JSON, its times in RFC 3339.
pub fn evidence_json(found: &crate::diagnose::Found, config: &Config) -> serde_json::Value {
    let mut value = serde_json::to_value(found).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        for (key, v) in map.iter_mut() {
            if key.ends_with("_at")
                && let Some(t) = v.as_i64()
            {
                *v = local_rfc3339(t, config.timezone.0).into();
            }
        }
    }
    value
}

/// Whose history: a login's, or an address's.
pub enum Who {
    Login(String),
    Ip(ClientIp),
}

/// One `history` record: a session (consecutive logins) or a failed login.
#[derive(Debug, Serialize)]
pub struct HistoryRecord {
    /// `session` or `login_failed`.
    pub kind: &'static str,
    pub first: String,
    pub last: String,
    pub login: Option<String>,
    pub ip: String,
    pub service: String,
    pub count: i64,
    pub reason: Option<String>,
}

/// `who`'s sessions and failed logins active in [since, until], newest first, at most `limit`
/// of each: the records of the CLI's `history` and of `GET /api/v1/history` alike.
pub async fn history_records(
    conn: &mut store::Conn,
    config: &Config,
    who: &Who,
    since: Epoch,
    until: Epoch,
    limit: i64,
) -> store::Result<Vec<HistoryRecord>> {
    let (sessions, failures) = match who {
        Who::Login(login) => (
            history::sessions_for_login(conn, login, since, until, limit).await?,
            history::failures(conn, Some(login), None, since, until, limit).await?,
        ),
        Who::Ip(ip) => {
            let ip = ip.to_string();
            (
                history::sessions_for_ip(conn, &ip, since, until, limit).await?,
                history::failures(conn, None, Some(&ip), since, until, limit).await?,
            )
        }
    };
    let mut records: Vec<(Epoch, HistoryRecord)> = sessions
        .into_iter()
        .map(|s| {
            (
                s.last_seen,
                HistoryRecord {
                    kind: "session",
                    first: local_rfc3339(s.first_seen, config.timezone.0),
                    last: local_rfc3339(s.last_seen, config.timezone.0),
                    login: Some(s.login),
                    ip: s.ip,
                    service: s.service,
                    count: s.logins,
                    reason: None,
                },
            )
        })
        .chain(failures.into_iter().map(|f| {
            (
                f.at,
                HistoryRecord {
                    kind: "login_failed",
                    first: local_rfc3339(f.at, config.timezone.0),
                    last: local_rfc3339(f.at, config.timezone.0),
                    login: f.login,
                    ip: f.ip,
                    service: f.service,
                    count: 1,
                    reason: Some(f.reason),
                },
            )
        }))
        .collect();
    records.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(records.into_iter().map(|(_, r)| r).collect())
}

pub async fn history(
    db: &Db,
    config: &Config,
    who: &Who,
    since: Epoch,
    until: Epoch,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    const LIMIT: i64 = 10_000;
    let records = history_records(&mut db.conn().await?, config, who, since, until, LIMIT).await?;
    print_ok(write_records(
        out,
        format,
        records.into_iter(),
        |r| {
            vec![
                r.kind.to_string(),
                r.first.clone(),
                r.last.clone(),
                r.login.clone().unwrap_or("-".into()),
                r.ip.clone(),
                r.service.clone(),
                r.count.to_string(),
                r.reason.clone().unwrap_or_default(),
            ]
        },
        &[
            "KIND", "FIRST", "LAST", "LOGIN", "IP", "SERVICE", "COUNT", "REASON",
        ],
    ))
}

/// One `alerts` record (§8).
#[derive(Debug, Serialize)]
pub struct AlertRecord {
    pub id: i64,
    pub subject: String,
    pub kind: String,
    pub first: String,
    pub last: String,
    pub count: i64,
    /// Share of attempts aimed at mobile-carrier domains, 0–1.
    pub carrier_share: f64,
    pub samples: Vec<String>,
    pub ips: Vec<String>,
    pub acknowledged: bool,
    pub auto_blocked: bool,
}

/// A stored alert as the CLI's NDJSON and `GET /api/v1/alerts` show it.
pub fn alert_record(a: store::alerts::Alert, config: &Config) -> AlertRecord {
    AlertRecord {
        id: a.id,
        subject: a.subject,
        kind: a.kind,
        first: local_rfc3339(a.first, config.timezone.0),
        last: local_rfc3339(a.last, config.timezone.0),
        count: a.count,
        carrier_share: if a.count > 0 {
            (a.carrier as f64 / a.count as f64 * 1000.0).round() / 1000.0
        } else {
            0.0
        },
        samples: a.samples,
        ips: a.ips,
        acknowledged: a.acked_at.is_some(),
        auto_blocked: a.auto_blocked,
    }
}

pub async fn alerts(
    db: &Db,
    config: &Config,
    all: bool,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let rows = store::alerts::list(&mut db.conn().await?, !all, 1000).await?;
    let records = rows.into_iter().map(|a| alert_record(a, config));
    let cells = |r: &AlertRecord| {
        vec![
            r.id.to_string(),
            r.kind.clone(),
            r.subject.clone(),
            r.first.clone(),
            r.last.clone(),
            r.count.to_string(),
            format!("{:.0}%", r.carrier_share * 100.0),
            r.samples.first().cloned().unwrap_or_default(),
        ]
    };
    let headers = [
        "ID", "KIND", "SUBJECT", "FIRST", "LAST", "COUNT", "CARRIER", "SAMPLE",
    ];
    print_ok(write_records(out, format, records, cells, &headers))
}

/// Writes records as NDJSON, or as a table with aligned columns.
fn write_records<R: Serialize>(
    out: &mut impl Write,
    format: Format,
    records: impl Iterator<Item = R>,
    cells: impl Fn(&R) -> Vec<String>,
    headers: &[&str],
) -> io::Result<()> {
    match format {
        Format::Ndjson => {
            for r in records {
                serde_json::to_writer(&mut *out, &r)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            write_csv_line(out, headers.iter().map(|h| h.to_ascii_lowercase()))?;
            for r in records {
                write_csv_line(out, cells(&r).into_iter())?;
            }
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = records
                .map(|r| {
                    cells(&r)
                        .into_iter()
                        .map(|c| crate::domain::one_line(&c))
                        .collect()
                })
                .collect();
            let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
            for row in &rows {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(cell.chars().count());
                }
            }
            let header: Vec<String> = headers.iter().map(|h| h.to_string()).collect();
            for row in std::iter::once(&header).chain(&rows) {
                let line: Vec<String> = row
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:<w$}"))
                    .collect();
                writeln!(out, "{}", line.join("  ").trim_end())?;
            }
        }
    }
    Ok(())
}

/// One CSV line: control and bidirectional characters written visibly (`domain::shown`),
/// fields quoted where they hold a comma, quote or line break (RFC 4180), and a field a
/// spreadsheet might run as a formula prefixed with `'`: one that starts with `=`, `+`, `-`,
/// `@`, their full-width forms, or any space (spreadsheets skip leading space, NBSP and the
/// ideographic space before they look for a formula).
fn write_csv_line(out: &mut impl Write, cells: impl Iterator<Item = String>) -> io::Result<()> {
    let mut first = true;
    for cell in cells {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        let cell = crate::domain::shown(&cell).into_owned();
        let risky = cell.starts_with(|c: char| {
            matches!(
                c,
                '=' | '+' | '-' | '@' | '\u{FF1D}' | '\u{FF0B}' | '\u{FF0D}' | '\u{FF20}'
            ) || c.is_whitespace()
        });
        let cell = if risky { format!("'{cell}") } else { cell };
        if cell.contains([',', '"', '\n', '\r']) {
            write!(out, "\"{}\"", cell.replace('"', "\"\""))?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(b"\r\n")
}

/// One `relay-methods` record: a login's accepted relays by method, times in RFC 3339.
#[derive(Debug, Serialize)]
pub struct RelayMethodsRecord {
    pub login: String,
    /// `pop_before_smtp`, `smtp_auth` or `mixed`.
    pub uses: &'static str,
    pub pop_before_smtp: i64,
    pub smtp_auth: i64,
    pub first_pop_before_smtp: Option<String>,
    pub last_pop_before_smtp: Option<String>,
    pub first_smtp_auth: Option<String>,
    pub last_smtp_auth: Option<String>,
}

impl RelayMethodsRecord {
    pub fn new(m: &store::relay_methods::LoginMethods, config: &Config) -> Self {
        let t = |at: Option<Epoch>| at.map(|at| local_rfc3339(at, config.timezone.0));
        RelayMethodsRecord {
            login: m.login.clone(),
            uses: m.kind(),
            pop_before_smtp: m.pop_before_smtp,
            smtp_auth: m.smtp_auth,
            first_pop_before_smtp: t(m.first_pop_before_smtp),
            last_pop_before_smtp: t(m.last_pop_before_smtp),
            first_smtp_auth: t(m.first_smtp_auth),
            last_smtp_auth: t(m.last_smtp_auth),
        }
    }
}

/// Relays on one day (in the configured zone) by method.
#[derive(Debug, Serialize)]
pub struct RelayMethodsDay {
    pub day: String,
    pub pop_before_smtp: i64,
    pub smtp_auth: i64,
}

/// How many logins relay by SMTP AUTH only, by both, by POP before SMTP only.
#[derive(Debug, Default, Serialize)]
pub struct RelayMethodsSummary {
    pub smtp_auth_only: usize,
    pub mixed: usize,
    pub pop_before_smtp_only: usize,
}

/// The relay-methods report as the API and the staff page give it.
#[derive(Debug, Serialize)]
pub struct RelayMethodsReport {
    pub since: String,
    pub until: String,
    pub summary: RelayMethodsSummary,
    pub days: Vec<RelayMethodsDay>,
    pub logins: Vec<RelayMethodsRecord>,
}

/// Days shown at most (the page's chart, the API's series).
const MAX_DAYS: usize = 400;

pub async fn relay_methods_report(
    conn: &mut store::Conn,
    config: &Config,
    since: Epoch,
    until: Epoch,
) -> store::Result<RelayMethodsReport> {
    let logins = store::relay_methods::per_login(conn, since, until).await?;
    let hours = store::relay_methods::per_hour(conn, since, until).await?;
    let zone = config.timezone.0;
    let day_of = |t: Epoch| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.with_timezone(&zone).format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    let mut days: Vec<RelayMethodsDay> = Vec::new();
    let mut add_day = |day: String| {
        if days.len() < MAX_DAYS && days.last().is_none_or(|d: &RelayMethodsDay| d.day != day) {
            days.push(RelayMethodsDay {
                day,
                pop_before_smtp: 0,
                smtp_auth: 0,
            });
        }
    };
    // Every local day from `since`'s to `until`'s, at most MAX_DAYS of them: steps of 20 hours
    // meet every day even across a 25-hour one, and stop at the cap whatever the range.
    let mut t = since;
    for _ in 0..MAX_DAYS * 6 / 5 + 1 {
        if t > until {
            break;
        }
        add_day(day_of(t));
        t = t.saturating_add(20 * 3600);
    }
    add_day(day_of(until));
    for (hour, pop, auth) in hours {
        let day = day_of(hour.max(since));
        if let Some(d) = days.iter_mut().find(|d| d.day == day) {
            d.pop_before_smtp += pop;
            d.smtp_auth += auth;
        }
    }
    let mut summary = RelayMethodsSummary::default();
    for l in &logins {
        match l.kind() {
            "mixed" => summary.mixed += 1,
            "smtp_auth" => summary.smtp_auth_only += 1,
            _ => summary.pop_before_smtp_only += 1,
        }
    }
    Ok(RelayMethodsReport {
        since: local_rfc3339(since, zone),
        until: local_rfc3339(until, zone),
        summary,
        days,
        logins: logins
            .iter()
            .map(|m| RelayMethodsRecord::new(m, config))
            .collect(),
    })
}

/// `relay-methods`: per login, the accepted relays by POP before SMTP and by SMTP AUTH in
/// [since, until], with the first and last of each.
pub async fn relay_methods(
    db: &Db,
    config: &Config,
    since: Epoch,
    until: Epoch,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let rows = store::relay_methods::per_login(&mut db.conn().await?, since, until).await?;
    print_ok(write_relay_methods(&rows, config, format, out))
}

/// `rows` as `relay-methods` prints them: a table, NDJSON or CSV.
pub fn write_relay_methods(
    rows: &[store::relay_methods::LoginMethods],
    config: &Config,
    format: Format,
    out: &mut impl Write,
) -> io::Result<()> {
    let cells = |r: &RelayMethodsRecord| {
        let t = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        vec![
            r.login.clone(),
            r.uses.to_string(),
            r.pop_before_smtp.to_string(),
            t(&r.last_pop_before_smtp),
            r.smtp_auth.to_string(),
            t(&r.last_smtp_auth),
        ]
    };
    let headers = [
        "LOGIN",
        "USES",
        "POP_BEFORE_SMTP",
        "LAST_POP_BEFORE_SMTP",
        "SMTP_AUTH",
        "LAST_SMTP_AUTH",
    ];
    write_records(
        out,
        format,
        rows.iter().map(|m| RelayMethodsRecord::new(m, config)),
        cells,
        &headers,
    )
}

/// One `check-store` record: a disagreement between the ISP's relay store and the mail
/// checks, its time in RFC 3339.
#[derive(Debug, Serialize)]
pub struct StoreFindingRecord {
    pub at: String,
    /// `missed_login`, `no_check` or `outlived`.
    pub kind: &'static str,
    pub ip: String,
    pub login: Option<String>,
    pub store: Option<String>,
    /// outlived: seconds the entry was held after its last mail check.
    pub held_after_check: Option<i64>,
}

/// `relaydesk check-store`: the findings of `[since, until]`, each as a record; a summary line
/// on stderr.
pub async fn check_store(
    db: &Db,
    config: &Config,
    since: Epoch,
    until: Epoch,
    grace: i64,
    format: Format,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let mut conn = db.conn().await?;
    let reads = store::relay_store::reads(&mut conn).await?;
    let found = crate::relay_store::findings_between(
        &mut conn,
        &[],
        config.relay.window.0,
        grace,
        since,
        until,
    )
    .await?;
    drop(conn);
    let zone = config.timezone.0;
    let records = found.iter().map(|f| StoreFindingRecord {
        at: local_rfc3339(f.at, zone),
        kind: f.kind.as_str(),
        ip: f.ip.clone(),
        login: f.login.clone(),
        store: f.store.clone(),
        held_after_check: f.held_after_check,
    });
    let cells = |r: &StoreFindingRecord| {
        let t = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        vec![
            r.at.clone(),
            r.kind.to_string(),
            r.ip.clone(),
            t(&r.login),
            t(&r.store),
            r.held_after_check
                .map_or_else(|| "-".into(), |s| format!("{}m", s / 60)),
        ]
    };
    let headers = [
        "TIME",
        "FINDING",
        "IP",
        "LOGIN",
        "STORE",
        "HELD_AFTER_CHECK",
    ];
    print_ok(write_records(out, format, records, cells, &headers))?;
    let count = |k: crate::relay_store::FindingKind| found.iter().filter(|f| f.kind == k).count();
    use crate::relay_store::FindingKind as K;
    if reads.is_empty() {
        eprintln!("no relay store has been read yet: configure [[relay.stores]] and run serve");
    } else {
        eprintln!(
            "{} missed logins, {} entries with no mail check, {} outlived the window; {}",
            count(K::MissedLogin),
            count(K::NoCheck),
            count(K::Outlived),
            reads
                .iter()
                .map(|r| match &r.error {
                    Some(e) => format!(
                        "{} failed at {} ({e})",
                        r.store,
                        local_rfc3339(r.read_at, zone)
                    ),
                    None => format!(
                        "{} read at {} holding {}",
                        r.store,
                        local_rfc3339(r.read_at, zone),
                        r.held
                    ),
                })
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for text in [
            "0.0.0.0",
            "10.0.0.9",
            "192.0.2.25",
            "255.255.255.255",
            "100.64.1.10",
            "2001:db8::7",
        ] {
            let ip: ClientIp = text.parse().unwrap();
            let mut out = Vec::new();
            ip_field(&mut out, &ip).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), format!(",\"ip\":\"{ip}\""));
        }
    }

    #[test]
    fn csv_quotes_what_needs_it_and_defuses_formulas() {
        let mut out = Vec::new();
        write_csv_line(
            &mut out,
            ["taro", "a,b", "say \"hi\"", "=HYPERLINK(1)", "-"]
                .iter()
                .map(|s| s.to_string()),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "taro,\"a,b\",\"say \"\"hi\"\"\",'=HYPERLINK(1),'-\r\n"
        );
        let mut out = Vec::new();
        let cells = [
            " =1+1",
            "\u{a0}=1",
            "\u{FF1D}SUM(A1)",
            "\u{3000}@x",
            "a\u{202E}b",
            "c\rd",
        ];
        write_csv_line(&mut out, cells.iter().map(|s| s.to_string())).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "' =1+1,'\u{a0}=1,'\u{FF1D}SUM(A1),'\u{3000}@x,a[U+202E]b,c[U+000D]d\r\n"
        );
    }

    #[test]
    fn parse_records_are_one_json_object_per_line() {
        use crate::domain::{DeliveryStatus, FailReason, Service};
        let config = Config::default();
        let ip: ClientIp = "2001:db8::7".parse().unwrap();
        let mut out = Vec::new();
        let events = [
            Event::LoginFailed {
                at: 0,
                service: Service::Imap,
                user: None,
                ip,
                reason: FailReason::UnknownUser,
            },
            Event::QueueTo {
                at: 1_773_346_321,
                queue_id: "4A1B2C3D4E".into(),
                rcpt: "a\"b@example.net".into(),
                status: DeliveryStatus::Deferred,
                local: false,
            },
        ];
        for (n, event) in events.iter().enumerate() {
            write_event(
                &mut out,
                18_446_744_073_709_551_615 - n as u64,
                event,
                &config,
            )
            .unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"line":18446744073709551615,"kind":"login_failed","at":"1970-01-01T00:00:00Z","service":"imap","user":null,"ip":"2001:db8::7","reason":"unknown_user"}"#,
                r#"{"line":18446744073709551614,"kind":"queue_to","at":"2026-03-12T20:12:01Z","queue_id":"4A1B2C3D4E","rcpt":"a\"b@example.net","status":"deferred","local":false}"#,
            ]
        );
        for line in lines {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
