//! Deleting history past its retention (§5). Every statement is idempotent, so any number of
//! nodes may run it.

use super::{Conn, Result};
use crate::config::RetentionConfig;
use crate::domain::Epoch;

/// Rows deleted, per table.
pub async fn purge(
    conn: &mut Conn,
    now: Epoch,
    r: &RetentionConfig,
) -> Result<Vec<(&'static str, u64)>> {
    let events = now - r.events.0;
    let sessions = now - r.sessions.0;
    let records = now - r.records.0;
    let statements: [(&str, &str, Epoch); 15] = [
        (
            "login_failures",
            "delete from login_failures where at < $1",
            events,
        ),
        ("rejections", "delete from rejections where at < $1", events),
        (
            "policy_decisions",
            "delete from policy_decisions where at < $1",
            events,
        ),
        ("relays", "delete from relays where minute < $1", events),
        // Counts name nobody: kept as long as the records the dashboards are read beside.
        (
            "activity",
            "delete from activity where minute < $1",
            records,
        ),
        (
            "login_relays",
            "delete from login_relays where minute < $1",
            sessions,
        ),
        (
            "sessions",
            "delete from sessions where last_seen < $1",
            sessions,
        ),
        ("alerts", "delete from alerts where last_at < $1", records),
        // Addresses the relay store held: IP history, kept as long as sessions.
        (
            "relay_store_entries",
            "delete from relay_store_entries where gone_at < $1",
            sessions,
        ),
        (
            "grants",
            "delete from grants where expires_at < $1",
            records,
        ),
        ("blocks", "delete from blocks where lifted_at < $1", records),
        (
            "suspensions",
            "delete from suspensions where lifted_at < $1",
            records,
        ),
        ("notes", "delete from notes where created_at < $1", records),
        ("audit", "delete from audit where at < $1", records),
        (
            "signin_failures",
            "delete from signin_failures where at < $1",
            events,
        ),
    ];
    let mut tx = conn.begin().await?;
    let mut deleted = Vec::with_capacity(statements.len());
    for (table, sql, before) in statements {
        deleted.push((table, tx.execute(sql, &[before.into()]).await?));
    }
    tx.commit().await?;
    Ok(deleted)
}

/// Retention as `serve` runs it hourly and `relaydesk prune` at once: history older than
/// `retention.anonymize_after` anonymized, then what is past its retention deleted. Rows
/// changed per table, anonymized first.
pub async fn prune(
    conn: &mut Conn,
    now: Epoch,
    r: &RetentionConfig,
) -> Result<(Vec<(&'static str, u64)>, Vec<(&'static str, u64)>)> {
    let anonymized = if r.anonymize_after.0 > 0 {
        let key = super::privacy::site_key(conn, "anonymize").await?;
        let a = super::privacy::Anonymizer::new(key);
        super::privacy::anonymize(conn, now - r.anonymize_after.0, &a).await?
    } else {
        Vec::new()
    };
    let deleted = purge(conn, now, r).await?;
    Ok((anonymized, deleted))
}
