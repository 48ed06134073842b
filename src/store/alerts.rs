//! Abuse alerts: opened by the detector, extended while the burst goes on, acknowledged by staff.

use serde::Serialize;

use super::{Conn, Result, Row};
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

fn alert(r: &Row) -> Result<Alert> {
    let list =
        |i| -> Result<Vec<String>> { Ok(serde_json::from_str(&r.text(i)?).unwrap_or_default()) };
    Ok(Alert {
        id: r.int(0)?,
        kind: r.text(1)?,
        subject: r.text(2)?,
        first: r.int(3)?,
        last: r.int(4)?,
        count: r.int(5)?,
        carrier: r.int(6)?,
        samples: list(7)?,
        ips: list(8)?,
        opened_at: r.int(9)?,
        acked_at: r.opt_int(10)?,
        acked_by: r.opt_text(11)?,
        auto_blocked: r.int(12)? != 0,
    })
}

/// Records a burst: extends the subject's alert if it is still open and the burst continues it
/// (within `gap` seconds), else opens a new one. Returns the alert id and whether it is new.
pub fn record(conn: &mut dyn Conn, burst: &Burst, gap: i64, now: Epoch) -> Result<(i64, bool)> {
    let samples = serde_json::to_string(&burst.samples).unwrap_or_else(|_| "[]".into());
    let ips = serde_json::to_string(&burst.ips).unwrap_or_else(|_| "[]".into());
    let open = conn.query_one(
        "select id from alerts where kind = $1 and subject = $2 and acked_at is null
           and last_at >= $3 order by last_at desc limit 1",
        &[
            burst.kind.as_str().into(),
            burst.subject.as_str().into(),
            (burst.first - gap).into(),
        ],
    )?;
    if let Some(row) = open {
        let id = row.int(0)?;
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
        )?;
        return Ok((id, false));
    }
    let row = conn.query_one(
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
    )?;
    let id = row.map(|r| r.int(0)).transpose()?.unwrap_or_default();
    Ok((id, true))
}

pub fn mark_auto_blocked(conn: &mut dyn Conn, id: i64) -> Result<()> {
    conn.execute(
        "update alerts set auto_blocked = 1 where id = $1",
        &[id.into()],
    )?;
    Ok(())
}

/// Alerts, newest first; only unacknowledged ones when `open_only`.
pub fn list(conn: &mut dyn Conn, open_only: bool, limit: i64) -> Result<Vec<Alert>> {
    let filter = if open_only {
        "where acked_at is null"
    } else {
        ""
    };
    conn.query(
        &format!("select {COLUMNS} from alerts {filter} order by last_at desc, id desc limit $1"),
        &[limit.into()],
    )?
    .iter()
    .map(alert)
    .collect()
}

/// How many alerts are not yet acknowledged.
pub fn count_open(conn: &mut dyn Conn) -> Result<i64> {
    conn.query_one("select count(*) from alerts where acked_at is null", &[])?
        .map_or(Ok(0), |r| r.int(0))
}

/// Acknowledges an alert; false when there is no such open alert.
pub fn acknowledge(conn: &mut dyn Conn, id: i64, by: &str, now: Epoch) -> Result<bool> {
    let n = conn.execute(
        "update alerts set acked_at = $1, acked_by = $2 where id = $3 and acked_at is null",
        &[now.into(), by.into(), id.into()],
    )?;
    Ok(n > 0)
}
