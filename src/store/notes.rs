//! Helpdesk notes on a customer login: free text from staff, shown on the customer page.

use serde::Serialize;

use super::{Conn, Result, Value};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct Note {
    pub id: i64,
    pub login: String,
    pub body: String,
    pub created_by: String,
    pub created_at: Epoch,
}

pub async fn add(conn: &mut Conn, login: &str, body: &str, by: &str, now: Epoch) -> Result<()> {
    conn.execute(
        "insert into notes (login, body, created_by, created_at) values ($1, $2, $3, $4)",
        &[login.into(), body.into(), by.into(), now.into()],
    )
    .await?;
    Ok(())
}

/// A login's notes, newest first.
pub async fn for_login(conn: &mut Conn, login: &str, limit: i64) -> Result<Vec<Note>> {
    conn.fetch_all(
        "select id, login, body, created_by, created_at from notes
         where login = $1 order by created_at desc, id desc limit $2",
        &[login.into(), Value::Int(limit)],
    )
    .await
}
