//! Who relays how (the way off POP before SMTP): accepted relays per customer login and method
//! from `login_relays`, written at commit by `ingest::write_login_relays`, and the per-day
//! series by method. The period is whole minutes: a relay counts when its minute is in
//! [since, until].

use serde::Serialize;

use super::ingest::{POP_BEFORE_SMTP, SMTP_AUTH};
use super::{Conn, Result, Value};
use crate::domain::Epoch;

/// One login's accepted relays in the period, by method; first and last are `None` without any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoginMethods {
    pub login: String,
    pub pop_before_smtp: i64,
    pub smtp_auth: i64,
    pub first_pop_before_smtp: Option<Epoch>,
    pub last_pop_before_smtp: Option<Epoch>,
    pub first_smtp_auth: Option<Epoch>,
    pub last_smtp_auth: Option<Epoch>,
}

impl LoginMethods {
    /// `pop_before_smtp`, `smtp_auth` or `mixed`.
    pub fn kind(&self) -> &'static str {
        match (self.pop_before_smtp > 0, self.smtp_auth > 0) {
            (true, true) => "mixed",
            (true, false) => POP_BEFORE_SMTP,
            _ => SMTP_AUTH,
        }
    }
}

fn minute(t: Epoch) -> Epoch {
    t - t.rem_euclid(60)
}

/// Every login with an accepted relay in [since, until], by login.
pub async fn per_login(conn: &mut Conn, since: Epoch, until: Epoch) -> Result<Vec<LoginMethods>> {
    let rows: Vec<(String, String, i64, Epoch, Epoch)> = conn
        .fetch_all(
            "select login, method, cast(sum(count) as bigint), min(first_at), max(last_at) from login_relays
             where minute >= $1 and minute <= $2
             group by login, method order by login, method",
            &[Value::Int(minute(since)), Value::Int(until)],
        )
        .await?;
    let mut out: Vec<LoginMethods> = Vec::new();
    for (login, method, count, first, last) in rows {
        if out.last().is_none_or(|l| l.login != login) {
            out.push(LoginMethods {
                login: login.clone(),
                ..LoginMethods::default()
            });
        }
        let Some(l) = out.last_mut() else { continue };
        if method == SMTP_AUTH {
            l.smtp_auth = count;
            l.first_smtp_auth = Some(first);
            l.last_smtp_auth = Some(last);
        } else {
            l.pop_before_smtp = count;
            l.first_pop_before_smtp = Some(first);
            l.last_pop_before_smtp = Some(last);
        }
    }
    Ok(out)
}

/// Accepted relays per hour and method in [since, until]: `(hour, pop_before_smtp, smtp_auth)`,
/// hours with relays only, oldest first. Pages sum them into days in their zone.
pub async fn per_hour(
    conn: &mut Conn,
    since: Epoch,
    until: Epoch,
) -> Result<Vec<(Epoch, i64, i64)>> {
    let rows: Vec<(Epoch, String, i64)> = conn
        .fetch_all(
            "select minute - minute % 3600 as hour, method, cast(sum(count) as bigint) from login_relays
             where minute >= $1 and minute <= $2
             group by minute - minute % 3600, method order by 1",
            &[Value::Int(minute(since)), Value::Int(until)],
        )
        .await?;
    let mut out: Vec<(Epoch, i64, i64)> = Vec::new();
    for (hour, method, count) in rows {
        if out.last().is_none_or(|h| h.0 != hour) {
            out.push((hour, 0, 0));
        }
        if let Some(h) = out.last_mut() {
            if method == SMTP_AUTH {
                h.2 += count;
            } else {
                h.1 += count;
            }
        }
    }
    Ok(out)
}

/// Does `login` relay by POP before SMTP since `since`? (The nudge toward SMTP AUTH.)
pub async fn relies_on_pop_before_smtp(conn: &mut Conn, login: &str, since: Epoch) -> Result<bool> {
    conn.exists(
        "select 1 from login_relays where login = $1 and minute >= $2 and method = $3 limit 1",
        &[
            login.into(),
            Value::Int(minute(since)),
            POP_BEFORE_SMTP.into(),
        ],
    )
    .await
}
