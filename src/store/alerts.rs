//! Abuse alerts: opened by the detector, extended while the burst goes on, acknowledged by staff.

use serde::Serialize;

use super::{Conn, Result};
use crate::abuse::Burst;
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub first: Epoch,
    pub last: Epoch,
    pub count: i64,
    pub carrier: i64,
    pub samples: Vec<String>,
    pub ips: Vec<String>,
    pub opened_at: Epoch,
    pub acked_at: Option<Epoch>,
    pub acked_by: Option<String>,
    pub auto_blocked: bool,
}

const COLUMNS: &str = "id, kind, subject, first_at, last_at, count, carrier, samples, ips, opened_at, \
                       acked_at, acked_by, auto_blocked";

/// An alert as stored: samples and addresses as JSON lists, the auto-block flag as 0 or 1.
#[derive(sqlx::FromRow)]
struct AlertRow {
    id: i64,
    kind: String,
    subject: String,
    first_at: Epoch,
    last_at: Epoch,
    count: i64,
    carrier: i64,
    samples: String,
    ips: String,
    opened_at: Epoch,
    acked_at: Option<Epoch>,
    acked_by: Option<String>,
    auto_blocked: i64,
}

impl From<AlertRow> for Alert {
    fn from(r: AlertRow) -> Self {
        let list = |s: &str| serde_json::from_str(s).unwrap_or_default();
        Alert {
            id: r.id,
            kind: r.kind,
            subject: r.subject,
            first: r.first_at,
            last: r.last_at,
            count: r.count,
            carrier: r.carrier,
            samples: list(&r.samples),
            ips: list(&r.ips),
            opened_at: r.opened_at,
            acked_at: r.acked_at,
            acked_by: r.acked_by,
            auto_blocked: r.auto_blocked != 0,
        }
    }
}

/// Records a burst: extends the subject's alert if it is still open and the burst continues it
/// (within `gap` seconds), else opens a new one. Returns the alert id and whether it is new.
pub async fn record(conn: &mut Conn, burst: &Burst, gap: i64, now: Epoch) -> Result<(i64, bool)> {
    let samples = serde_json::to_string(&burst.samples).unwrap_or_else(|_| "[]".into());
    let ips = serde_json::to_string(&burst.ips).unwrap_or_else(|_| "[]".into());
    let open: Option<(i64,)> = conn
        .fetch_optional(
            "select id from alerts where kind = $1 and subject = $2 and acked_at is null
           and last_at >= $3 order by last_at desc limit 1",
            &[
                burst.kind.as_str().into(),
                burst.subject.as_str().into(),
                (burst.first - gap).into(),
            ],
        )
        .await?;
    if let Some((id,)) = open {
        conn.execute(
            "update alerts set
                 last_at = case when last_at > $1 then last_at else $1 end,
                 count = case when count > $2 then count else $2 end,
                 carrier = case when carrier > $3 then carrier else $3 end,
                 samples = $4, ips = $5
             where id = $6",
            &[
                burst.last.into(),
                burst.count.into(),
                burst.carrier.into(),
                samples.into(),
                ips.into(),
                id.into(),
            ],
        )
        .await?;
        return Ok((id, false));
    }
    let row: Option<(i64,)> = conn.fetch_optional(
        "insert into alerts (kind, subject, first_at, last_at, count, carrier, samples, ips, opened_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id",
        &[
            burst.kind.as_str().into(),
            burst.subject.as_str().into(),
            burst.first.into(),
            burst.last.into(),
            burst.count.into(),
            burst.carrier.into(),
            samples.into(),
            ips.into(),
            now.into(),
        ],
    ).await?;
    let id = row.map(|(id,)| id).unwrap_or_default();
    Ok((id, true))
}

pub async fn mark_auto_blocked(conn: &mut Conn, id: i64) -> Result<()> {
    conn.execute(
        "update alerts set auto_blocked = 1 where id = $1",
        &[id.into()],
    )
    .await?;
    Ok(())
}

/// Alerts, newest first; only unacknowledged ones when `open_only`.
pub async fn list(conn: &mut Conn, open_only: bool, limit: i64) -> Result<Vec<Alert>> {
    let filter = if open_only {
        "where acked_at is null"
    } else {
        ""
    };
    let rows: Vec<AlertRow> = conn
        .fetch_all(
            &format!(
                "select {COLUMNS} from alerts {filter} order by last_at desc, id desc limit $1"
            ),
            &[limit.into()],
        )
        .await?;
    Ok(rows.into_iter().map(Alert::from).collect())
}

/// Alerts about one address (`kind` ip) or login (`kind` login), newest first.
pub async fn about(conn: &mut Conn, kind: &str, subject: &str, limit: i64) -> Result<Vec<Alert>> {
    let rows: Vec<AlertRow> = conn
        .fetch_all(
            &format!(
                "select {COLUMNS} from alerts where kind = $1 and subject = $2
                 order by last_at desc limit $3"
            ),
            &[kind.into(), subject.into(), limit.into()],
        )
        .await?;
    Ok(rows.into_iter().map(Alert::from).collect())
}

/// How many alerts are not yet acknowledged.
pub async fn count_open(conn: &mut Conn) -> Result<i64> {
    Ok(conn
        .scalar("select count(*) from alerts where acked_at is null", &[])
        .await?
        .unwrap_or(0))
}

/// Acknowledges an alert; false when there is no such open alert.
pub async fn acknowledge(conn: &mut Conn, id: i64, by: &str, now: Epoch) -> Result<bool> {
    let n = conn
        .execute(
            "update alerts set acked_at = $1, acked_by = $2 where id = $3 and acked_at is null",
            &[now.into(), by.into(), id.into()],
        )
        .await?;
    Ok(n > 0)
}
