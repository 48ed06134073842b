//! Signed-in browser sessions. The store keeps a hash of each cookie value, never the value.

use super::{Conn, Result};
use crate::domain::Epoch;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredSession {
    pub kind: String,
    pub subject: String,
    pub csrf: String,
    pub created_at: Epoch,
    pub seen_at: Epoch,
    pub expires_at: Epoch,
}

pub async fn create(conn: &mut Conn, id_hash: &str, s: &StoredSession) -> Result<()> {
    conn.execute(
        "insert into web_sessions (id_hash, kind, subject, csrf, created_at, seen_at, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7)",
        &[
            id_hash.into(),
            s.kind.as_str().into(),
            s.subject.as_str().into(),
            s.csrf.as_str().into(),
            s.created_at.into(),
            s.seen_at.into(),
            s.expires_at.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, id_hash: &str) -> Result<Option<StoredSession>> {
    conn.fetch_optional(
        "select kind, subject, csrf, created_at, seen_at, expires_at from web_sessions where id_hash = $1",
        &[id_hash.into()],
    )
    .await
}

pub async fn touch(conn: &mut Conn, id_hash: &str, now: Epoch) -> Result<()> {
    conn.execute(
        "update web_sessions set seen_at = $1 where id_hash = $2",
        &[now.into(), id_hash.into()],
    )
    .await?;
    Ok(())
}

pub async fn delete(conn: &mut Conn, id_hash: &str) -> Result<()> {
    conn.execute(
        "delete from web_sessions where id_hash = $1",
        &[id_hash.into()],
    )
    .await?;
    Ok(())
}

/// Ends every session of one customer or staff member ("sign out everywhere"); returns how many.
pub async fn delete_all(conn: &mut Conn, kind: &str, subject: &str) -> Result<u64> {
    conn.execute(
        "delete from web_sessions where kind = $1 and subject = $2",
        &[kind.into(), subject.into()],
    )
    .await
}

/// Forgets sessions past their absolute timeout or idle longer than `idle`.
pub async fn delete_stale(conn: &mut Conn, now: Epoch, idle: i64) -> Result<u64> {
    conn.execute(
        "delete from web_sessions where expires_at < $1 or seen_at < $2",
        &[now.into(), (now - idle).into()],
    )
    .await
}

/// Remembers the second-factor secret a session was shown (the only one enrolment accepts).
pub async fn set_pending_totp(conn: &mut Conn, id_hash: &str, secret: Option<&str>) -> Result<()> {
    conn.execute(
        "update web_sessions set pending_totp = $1 where id_hash = $2",
        &[secret.into(), id_hash.into()],
    )
    .await?;
    Ok(())
}

/// The second-factor secret a session was last shown, if any.
pub async fn pending_totp(conn: &mut Conn, id_hash: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> = conn
        .fetch_optional(
            "select pending_totp from web_sessions where id_hash = $1",
            &[id_hash.into()],
        )
        .await?;
    Ok(row.and_then(|(s,)| s))
}
