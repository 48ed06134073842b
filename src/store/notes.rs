//! Helpdesk notes on a customer login: free text from staff, shown on the customer page.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    pub id: i64,
    pub login: String,
    pub body: String,
    pub created_by: String,
    pub created_at: Epoch,
}

pub fn add(conn: &mut dyn Conn, login: &str, body: &str, by: &str, now: Epoch) -> Result<()> {
    conn.execute(
        "insert into notes (login, body, created_by, created_at) values ($1, $2, $3, $4)",
        &[login.into(), body.into(), by.into(), now.into()],
    )?;
    Ok(())
}

/// A login's notes, newest first.
pub fn for_login(conn: &mut dyn Conn, login: &str, limit: i64) -> Result<Vec<Note>> {
    conn.query(
        "select id, login, body, created_by, created_at from notes
         where login = $1 order by created_at desc, id desc limit $2",
        &[login.into(), Value::Int(limit)],
    )?
    .iter()
    .map(|r| {
        Ok(Note {
            id: r.int(0)?,
            login: r.text(1)?,
            body: r.text(2)?,
            created_by: r.text(3)?,
            created_at: r.int(4)?,
        })
    })
    .collect()
}
